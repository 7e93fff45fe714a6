/*
 * epoll modes and checks:
 * - EPOLLET: a pipe's read end is reported once per write (not again
 *   after a partial read), its write end once per read that makes room;
 *   an eventfd once per write;
 * - EPOLLONESHOT: one report until EPOLL_CTL_MOD re-arms; polling the
 *   epoll descriptor itself consumes nothing;
 * - EPOLLEXCLUSIVE: accepted with EPOLL_CTL_ADD, EINVAL with MOD, with
 *   other flags, on an epoll descriptor;
 * - ELOOP for cycles, EPERM for regular files, directories and memfds,
 *   the order of the checks (EFAULT, EBADF, EPERM, EINVAL);
 * - POLLRDNORM/POLLWRNORM from pipes and epoll descriptors (not from an
 *   eventfd, as on Linux);
 * - epoll_pwait2: a timespec timeout, NULL (no timeout), EINVAL, EFAULT,
 *   its signal mask (a signal it unblocks interrupts it and its handler
 *   runs); the sigsetsize of epoll_pwait; maxevents and events checks.
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#ifndef EPOLLEXCLUSIVE
#define EPOLLEXCLUSIVE (1U << 28)
#endif

static long pwait2(int ep, struct epoll_event *ev, int max, const struct timespec *t,
		   const sigset_t *mask, size_t size)
{
	return syscall(SYS_epoll_pwait2, ep, ev, max, t, mask, size);
}

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static int ready(int ep)
{
	struct epoll_event out[8];
	return epoll_wait(ep, out, 8, 0);
}

static volatile sig_atomic_t usr1;

static void on_usr1(int s)
{
	(void)s;
	usr1++;
}

int main(int argc, char **argv)
{
	char buf[65536];
	struct epoll_event out[8];
	uint64_t v;
	(void)argc;

	/* EPOLLET on a pipe's read end. */
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	int ep = epoll_create1(0);
	CHECK(add(ep, p[0], EPOLLIN | EPOLLET, 1) == 0, "ADD read end, EPOLLIN|EPOLLET");
	CHECK(ready(ep) == 0, "empty: nothing");
	write(p[1], "ab", 2);
	CHECK(epoll_wait(ep, out, 8, 1000) == 1 && out[0].events == EPOLLIN, "a write: one event");
	CHECK(ready(ep) == 0, "not again while nothing new arrives");
	write(p[1], "c", 1);
	CHECK(ready(ep) == 1, "another write: a new event, though it was readable already");
	CHECK(read(p[0], buf, 1) == 1, "read 1 of 3 bytes");
	CHECK(ready(ep) == 0, "a partial read is no new event");
	read(p[0], buf, sizeof buf);
	CHECK(ready(ep) == 0, "drained: nothing");
	write(p[1], "d", 1);
	CHECK(ready(ep) == 1, "a write after draining: an event");
	read(p[0], buf, sizeof buf);
	close(ep);

	/* EPOLLET on the write end. */
	ep = epoll_create1(0);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	CHECK(add(ep, p[1], EPOLLOUT | EPOLLET, 2) == 0, "ADD write end, EPOLLOUT|EPOLLET");
	CHECK(ready(ep) == 1, "writable: one event");
	CHECK(ready(ep) == 0, "not again");
	write(p[1], "x", 1);
	CHECK(ready(ep) == 0, "a write is no writing event");
	while (write(p[1], buf, sizeof buf) > 0)
		;
	CHECK(ready(ep) == 0, "full: nothing");
	CHECK(read(p[0], buf, 8192) == 8192, "read 8 KiB");
	CHECK(ready(ep) == 1, "room again: an event");
	while (read(p[0], buf, sizeof buf) == (ssize_t)sizeof buf)
		;
	close(ep);

	/* EPOLLET on an eventfd. */
	int efd = eventfd(0, EFD_NONBLOCK);
	ep = epoll_create1(0);
	CHECK(add(ep, efd, EPOLLIN | EPOLLET, 3) == 0, "ADD eventfd, EPOLLIN|EPOLLET");
	v = 1;
	write(efd, &v, 8);
	CHECK(ready(ep) == 1 && ready(ep) == 0, "a write: one event");
	write(efd, &v, 8);
	CHECK(ready(ep) == 1, "a second write: another");
	close(ep);

	/* EPOLLONESHOT. */
	ep = epoll_create1(0);
	CHECK(add(ep, efd, EPOLLIN | EPOLLONESHOT, 4) == 0, "ADD eventfd, EPOLLIN|EPOLLONESHOT");
	struct pollfd pe = { .fd = ep, .events = POLLIN | POLLRDNORM };
	CHECK(poll(&pe, 1, 0) == 1 && pe.revents == (POLLIN | POLLRDNORM),
	      "polling the epoll descriptor: POLLIN|POLLRDNORM");
	CHECK(ready(ep) == 1, "polling it consumed nothing: one event");
	CHECK(ready(ep) == 0, "then disabled");
	write(efd, &v, 8);
	CHECK(ready(ep) == 0, "even after a new write");
	CHECK(poll(&pe, 1, 0) == 0, "and the epoll descriptor is not readable");
	CHECK(mod(ep, efd, EPOLLIN | EPOLLONESHOT, 5) == 0, "EPOLL_CTL_MOD re-arms it");
	CHECK(epoll_wait(ep, out, 8, 0) == 1 && out[0].data.u64 == 5, "one event with the new data");
	CHECK(ready(ep) == 0, "then disabled again");
	read(efd, &v, 8);
	close(ep);

	/* EPOLLEXCLUSIVE. */
	ep = epoll_create1(0);
	int ep2 = epoll_create1(0);
	CHECK(add(ep, efd, EPOLLIN | EPOLLEXCLUSIVE, 6) == 0, "ADD with EPOLLEXCLUSIVE");
	CHECK_ERRNO(mod(ep, efd, EPOLLIN, 6), EINVAL, "MOD of an exclusive interest -> EINVAL");
	CHECK_ERRNO(mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 6), EINVAL,
	            "MOD with EPOLLEXCLUSIVE -> EINVAL (before ENOENT)");
	CHECK_ERRNO(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 6), EINVAL,
	            "EPOLLEXCLUSIVE with EPOLLONESHOT -> EINVAL");
	CHECK_ERRNO(add(ep, ep2, EPOLLIN | EPOLLEXCLUSIVE, 6), EINVAL, "EPOLLEXCLUSIVE on an epoll fd -> EINVAL");
	CHECK(add(ep, p[0], EPOLLIN | EPOLLOUT | EPOLLET | EPOLLEXCLUSIVE, 7) == 0,
	      "EPOLLEXCLUSIVE with EPOLLET and EPOLLOUT is fine");
	write(efd, &v, 8);
	CHECK(epoll_wait(ep, out, 8, 0) == 1 && out[0].data.u64 == 6, "an exclusive interest is reported");
	read(efd, &v, 8);
	close(ep);

	/* Cycles. */
	ep = epoll_create1(0);
	CHECK(add(ep, ep2, EPOLLIN, 8) == 0, "an epoll fd watches another");
	CHECK_ERRNO(add(ep2, ep, EPOLLIN, 9), ELOOP, "the reverse closes a cycle -> ELOOP");
	int chain[7];
	chain[0] = epoll_create1(0);
	int depth_err = 0, i;
	for (i = 1; i < 7; i++) {
		chain[i] = epoll_create1(0);
		if (add(chain[i], chain[i - 1], EPOLLIN, 0) != 0) {
			depth_err = errno;
			break;
		}
	}
	CHECK(depth_err == ELOOP && i == 5, "nesting deeper than 5 -> ELOOP (at link %d)", i);

	/* Files that cannot be polled, and the order of the checks. */
	int reg = open(argv[0], O_RDONLY);
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	int mfd = syscall(SYS_memfd_create, "m", 0);
	CHECK_ERRNO(add(ep, reg, EPOLLIN, 0), EPERM, "a regular file -> EPERM");
	CHECK_ERRNO(add(ep, dir, EPOLLIN, 0), EPERM, "a directory -> EPERM");
	CHECK_ERRNO(add(ep, mfd, EPOLLIN, 0), EPERM, "a memfd -> EPERM");
	CHECK_ERRNO(add(reg, dir, EPOLLIN, 0), EPERM, "EPERM for the target comes before EINVAL for epfd");
	CHECK_ERRNO(add(p[1], p[0], EPOLLIN, 0), EINVAL, "epfd not an epoll fd -> EINVAL");
	CHECK_ERRNO(add(ep, 999, EPOLLIN, 0), EBADF, "closed target -> EBADF");
	CHECK_ERRNO(epoll_ctl(ep, 99, p[0], NULL), EFAULT, "unknown op with no event: EFAULT first");
	struct epoll_event ev = { .events = EPOLLIN };
	CHECK_ERRNO(epoll_ctl(ep, 99, p[0], &ev), EINVAL, "unknown op -> EINVAL");
	CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], (void *)8), EFAULT, "unreadable event -> EFAULT");
	CHECK(add(ep, p[0], EPOLLIN, 0) == 0 && epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0,
	      "DEL needs no event");
	close(reg);
	close(dir);
	close(mfd);

	/* POLLRDNORM and POLLWRNORM. */
	write(p[1], "r", 1);
	struct pollfd pp[2] = { { .fd = p[0], .events = POLLRDNORM }, { .fd = p[1], .events = POLLWRNORM } };
	CHECK(poll(pp, 2, 0) == 2 && pp[0].revents == POLLRDNORM && pp[1].revents == POLLWRNORM,
	      "pipe: POLLRDNORM and POLLWRNORM (%#x, %#x)", pp[0].revents, pp[1].revents);
	CHECK(add(ep2, p[0], EPOLLRDNORM, 10) == 0 && epoll_wait(ep2, out, 8, 0) == 1 &&
	      out[0].events == EPOLLRDNORM, "epoll with EPOLLRDNORM only: EPOLLRDNORM");
	epoll_ctl(ep2, EPOLL_CTL_DEL, p[0], NULL);
	read(p[0], buf, 1);
	write(efd, &v, 8);
	struct pollfd pf = { .fd = efd, .events = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM };
	CHECK(poll(&pf, 1, 0) == 1 && pf.revents == (POLLIN | POLLOUT), "an eventfd: POLLIN|POLLOUT only (%#x)",
	      pf.revents);
	read(efd, &v, 8);

	/* epoll_pwait2. */
	int e3 = epoll_create1(0);
	add(e3, p[0], EPOLLIN, 11);
	struct timespec t = { 0, 20000000 };
	long long t0 = now_ns();
	CHECK(pwait2(e3, out, 8, &t, NULL, 0) == 0 && now_ns() - t0 >= 20000000LL,
	      "epoll_pwait2 with a 20 ms timeout: 0 after 20 ms");
	t = (struct timespec){ 0, 0 };
	CHECK(pwait2(e3, out, 8, &t, NULL, 0) == 0, "a zero timeout: 0 at once");
	write(p[1], "w", 1);
	CHECK(pwait2(e3, out, 8, NULL, NULL, 0) == 1 && out[0].data.u64 == 11, "no timeout, ready: 1");
	read(p[0], buf, 1);
	t = (struct timespec){ 0, 1000000000 };
	CHECK_ERRNO(pwait2(e3, out, 8, &t, NULL, 0), EINVAL, "tv_nsec 1e9 -> EINVAL");
	t = (struct timespec){ -1, 0 };
	CHECK_ERRNO(pwait2(e3, out, 8, &t, NULL, 0), EINVAL, "negative timeout -> EINVAL");
	CHECK_ERRNO(pwait2(e3, out, 8, (void *)8, NULL, 0), EFAULT, "unreadable timeout -> EFAULT");
	sigset_t blocked, open_mask, now_mask;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	sigemptyset(&open_mask);
	t = (struct timespec){ 0, 0 };
	CHECK_ERRNO(pwait2(e3, out, 8, &t, &open_mask, 4), EINVAL, "sigsetsize 4 -> EINVAL");
	CHECK_ERRNO(syscall(SYS_epoll_pwait, e3, out, 8, 0, &open_mask, 7), EINVAL,
	            "epoll_pwait with sigsetsize 7 -> EINVAL");
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	pid_t parent = getpid(), child = fork();
	if (child == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	t = (struct timespec){ 10, 0 };
	CHECK_ERRNO(pwait2(e3, out, 8, &t, &open_mask, 8), EINTR,
	            "a signal only the temporary mask lets in interrupts it (EINTR)");
	CHECK(usr1 == 1, "and its handler ran");
	sigprocmask(SIG_BLOCK, NULL, &now_mask);
	CHECK(sigismember(&now_mask, SIGUSR1), "then the old mask is back");
	waitpid(child, NULL, 0);

	/* maxevents and events. */
	CHECK_ERRNO(epoll_wait(e3, out, 0, 0), EINVAL, "maxevents 0 -> EINVAL");
	CHECK_ERRNO(epoll_wait(e3, out, 0x7fffffff, 0), EINVAL, "maxevents INT_MAX -> EINVAL");
	CHECK_ERRNO(epoll_wait(e3, (void *)0xffffffffffff0000ULL, 8, 0), EFAULT, "events in kernel space -> EFAULT");
	CHECK_ERRNO(epoll_wait(p[0], out, 8, 0), EINVAL, "not an epoll fd -> EINVAL");
	return check_exit();
}
