/*
 * Readiness:
 * - poll on a pipe: POLLOUT on the write end, no POLLIN until a write,
 *   POLLHUP once the writer closes, timeout 0 and a 50 ms timeout;
 * - select and ppoll on pipes;
 * - epoll: ADD/MOD/DEL with a pipe and an eventfd, the data field,
 *   EPOLLONESHOT, errors;
 * - eventfd: the counter, EFD_SEMAPHORE, EAGAIN with EFD_NONBLOCK;
 * - a child writing to a pipe wakes a parent blocked in poll.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

int main(void)
{
	int p[2];
	char buf[64];
	struct pollfd pfd[2];

	/* poll on a pipe */
	CHECK(pipe(p) == 0, "pipe");
	pfd[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = p[1], .events = POLLOUT };
	int r = poll(pfd, 2, 0);
	CHECK(r == 1 && pfd[0].revents == 0 && pfd[1].revents == POLLOUT, "empty pipe: only the write end is ready (POLLOUT)");
	CHECK(poll(pfd, 1, 0) == 0, "poll(read end, timeout 0) = 0");
	long long t0 = now_ns();
	r = poll(pfd, 1, 50);
	long long dt = now_ns() - t0;
	CHECK(r == 0 && dt >= 50000000LL, "poll with a 50 ms timeout returns 0 after %lld ms", dt / 1000000);
	CHECK(write(p[1], "abc", 3) == 3, "write 3 bytes");
	r = poll(pfd, 1, 0);
	CHECK(r == 1 && pfd[0].revents == POLLIN, "after a write: POLLIN");
	CHECK(read(p[0], buf, sizeof(buf)) == 3, "read them");
	CHECK(poll(pfd, 1, 0) == 0, "drained: not readable");
	struct pollfd neg = { .fd = -1, .events = POLLIN, .revents = 123 };
	CHECK(poll(&neg, 1, 0) == 0 && neg.revents == 0, "a negative fd is ignored, revents 0");
	struct pollfd badfd = { .fd = 999, .events = POLLIN };
	CHECK(poll(&badfd, 1, 0) == 1 && badfd.revents == POLLNVAL, "a closed fd gives POLLNVAL");

	/* select */
	fd_set rs, ws;
	struct timeval tv = { 0, 0 };
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(p[0], &rs);
	FD_SET(p[1], &ws);
	r = select(p[1] + 1, &rs, &ws, NULL, &tv);
	CHECK(r == 1 && !FD_ISSET(p[0], &rs) && FD_ISSET(p[1], &ws), "select: only the write end is ready");
	CHECK(write(p[1], "x", 1) == 1, "write 1 byte");
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	tv = (struct timeval){ 0, 0 };
	r = select(p[0] + 1, &rs, NULL, NULL, &tv);
	CHECK(r == 1 && FD_ISSET(p[0], &rs), "select: read end readable after a write");
	read(p[0], buf, 1);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	tv = (struct timeval){ 0, 20000 };
	t0 = now_ns();
	r = select(p[0] + 1, &rs, NULL, NULL, &tv);
	CHECK(r == 0 && now_ns() - t0 >= 20000000LL, "select with a 20 ms timeout returns 0");

	/* ppoll */
	struct timespec ts = { 0, 0 };
	sigset_t mask;
	sigemptyset(&mask);
	pfd[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	CHECK(ppoll(pfd, 1, &ts, &mask) == 0, "ppoll on an empty pipe, zero timeout: 0");
	write(p[1], "y", 1);
	CHECK(ppoll(pfd, 1, NULL, &mask) == 1 && (pfd[0].revents & POLLIN), "ppoll: POLLIN after a write");
	read(p[0], buf, 1);

	/* POLLHUP */
	close(p[1]);
	pfd[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	r = poll(pfd, 1, 0);
	CHECK(r == 1 && (pfd[0].revents & POLLHUP), "writer closed: POLLHUP (revents %#x)", pfd[0].revents);
	CHECK(read(p[0], buf, 1) == 0, "and read gives EOF");
	close(p[0]);

	/* eventfd counter */
	int efd = eventfd(0, EFD_NONBLOCK);
	CHECK(efd >= 0, "eventfd(0, EFD_NONBLOCK)");
	uint64_t v = 0;
	CHECK_ERRNO(read(efd, &v, 8), EAGAIN, "read on a zero counter -> EAGAIN");
	v = 3;
	CHECK(write(efd, &v, 8) == 8, "write 3");
	v = 4;
	CHECK(write(efd, &v, 8) == 8, "write 4");
	v = 0;
	CHECK(read(efd, &v, 8) == 8 && v == 7, "read returns the sum 7 (%llu)", (unsigned long long)v);
	CHECK_ERRNO(read(efd, &v, 8), EAGAIN, "and resets the counter");
	CHECK_ERRNO(read(efd, &v, 4), EINVAL, "read of 4 bytes -> EINVAL");
	v = UINT64_MAX;
	CHECK_ERRNO(write(efd, &v, 8), EINVAL, "write of 2^64-1 -> EINVAL");

	int sfd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	CHECK(sfd >= 0, "eventfd(2, EFD_SEMAPHORE)");
	v = 0;
	CHECK(read(sfd, &v, 8) == 8 && v == 1, "semaphore read gives 1");
	CHECK(read(sfd, &v, 8) == 8 && v == 1, "second read gives 1");
	CHECK_ERRNO(read(sfd, &v, 8), EAGAIN, "third read -> EAGAIN");
	close(sfd);

	/* epoll */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC, "epoll_create1(EPOLL_CLOEXEC)");
	CHECK(pipe(p) == 0, "pipe");
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1111222233334444ULL };
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "EPOLL_CTL_ADD pipe read end");
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 77 };
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0, "EPOLL_CTL_ADD eventfd");
	CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), EEXIST, "adding it twice -> EEXIST");
	CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT, "MOD of an fd not added -> ENOENT");
	CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL, "adding the epoll fd to itself -> EINVAL");
	struct epoll_event out[4];
	CHECK(epoll_wait(ep, out, 4, 0) == 0, "nothing ready yet");
	t0 = now_ns();
	CHECK(epoll_wait(ep, out, 4, 30) == 0 && now_ns() - t0 >= 30000000LL, "epoll_wait with a 30 ms timeout returns 0");
	write(p[1], "z", 1);
	r = epoll_wait(ep, out, 4, 0);
	CHECK(r == 1 && out[0].data.u64 == 0x1111222233334444ULL && (out[0].events & EPOLLIN),
	      "pipe readable: its data field comes back");
	v = 5;
	write(efd, &v, 8);
	r = epoll_wait(ep, out, 4, 0);
	int got_pipe = 0, got_efd = 0;
	for (int i = 0; i < r; i++) {
		if (out[i].data.u64 == 77)
			got_efd = 1;
		if (out[i].data.u64 == 0x1111222233334444ULL)
			got_pipe = 1;
	}
	CHECK(r == 2 && got_pipe && got_efd, "both ready (level-triggered): %d events", r);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 88 };
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev) == 0, "EPOLL_CTL_MOD eventfd with new data");
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0, "EPOLL_CTL_DEL pipe");
	r = epoll_wait(ep, out, 4, 0);
	CHECK(r == 1 && out[0].data.u64 == 88, "only the eventfd remains, with the new data");
	CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT, "DEL again -> ENOENT");

	/* EPOLLONESHOT */
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 99 };
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev) == 0, "MOD eventfd to EPOLLONESHOT");
	r = epoll_wait(ep, out, 4, 0);
	CHECK(r == 1 && out[0].data.u64 == 99, "oneshot: reported once");
	CHECK(epoll_wait(ep, out, 4, 0) == 0, "oneshot: then disabled although still readable");
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev) == 0 && epoll_wait(ep, out, 4, 0) == 1, "MOD re-arms it");
	read(efd, &v, 8);
	close(efd);
	read(p[0], buf, 1);

	/* a child wakes a parent blocked in poll and in epoll_wait */
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 5 };
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	pid_t c = fork();
	if (c == 0) {
		sleep_ms(30);
		write(p[1], "w", 1);
		sleep_ms(30);
		write(p[1], "v", 1);
		_exit(0);
	}
	pfd[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	t0 = now_ns();
	r = poll(pfd, 1, 5000);
	CHECK(r == 1 && (pfd[0].revents & POLLIN), "blocked poll woken by the child's write (%lld ms)", (now_ns() - t0) / 1000000);
	CHECK(read(p[0], buf, 1) == 1 && buf[0] == 'w', "read the child's byte");
	r = epoll_wait(ep, out, 4, 5000);
	CHECK(r == 1 && out[0].data.u64 == 5, "blocked epoll_wait woken by the child's second write");
	int status;
	CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exited 0");
	close(p[0]);
	close(p[1]);
	close(ep);
	return check_exit();
}
