/*
 * signalfd(2):
 * - signalfd4 and the legacy signalfd: creation, SFD_NONBLOCK and
 *   SFD_CLOEXEC, a new mask on an existing descriptor;
 * - errors: EINVAL (mask size, flags, not a signalfd, short read, write),
 *   EBADF, EFAULT, EAGAIN when nothing is pending;
 * - reading signalfd_siginfo: tkill (SI_TKILL), kill (SI_USER), sigqueue
 *   (SI_QUEUE with its value), SIGCHLD (CLD_EXITED and the status),
 *   several signals in one read, a buffer for 1.5 records;
 * - readiness with poll and epoll, a blocking read woken by a child's
 *   kill, and interrupted by a handled signal (EINTR).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int s)
{
	(void)s;
	alarms++;
}

/* The raw system call: musl's wrapper fills in the mask size itself. */
static long raw_signalfd4(int fd, const void *mask, size_t size, int flags)
{
	return syscall(SYS_signalfd4, fd, mask, size, flags);
}

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int main(void)
{
	sigset_t mask, none;
	struct signalfd_siginfo si[2];
	uint64_t raw_mask;

	sigemptyset(&none);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGCHLD);
	CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0, "block SIGUSR1 and SIGCHLD");

	/* Creation and errors. */
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	CHECK(fd >= 0, "signalfd(-1, {USR1, CHLD}, NONBLOCK|CLOEXEC)");
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "SFD_CLOEXEC sets FD_CLOEXEC");
	CHECK((fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDWR),
	      "SFD_NONBLOCK: O_RDWR|O_NONBLOCK");
	raw_mask = 1ULL << (SIGUSR1 - 1);
	CHECK_ERRNO(raw_signalfd4(-1, &raw_mask, 4, 0), EINVAL, "mask size 4 -> EINVAL");
	CHECK_ERRNO(raw_signalfd4(-1, &raw_mask, 16, 0), EINVAL, "mask size 16 -> EINVAL");
	CHECK_ERRNO(raw_signalfd4(-1, &raw_mask, 8, 1), EINVAL, "unknown flag -> EINVAL");
	CHECK_ERRNO(raw_signalfd4(-1, (void *)8, 8, 0), EFAULT, "unreadable mask -> EFAULT");
	CHECK_ERRNO(raw_signalfd4(999, &raw_mask, 8, 0), EBADF, "closed descriptor -> EBADF");
	CHECK_ERRNO(raw_signalfd4(-2, &raw_mask, 8, 0), EBADF, "descriptor -2 -> EBADF");
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	CHECK_ERRNO(raw_signalfd4(p[0], &raw_mask, 8, 0), EINVAL, "a pipe is not a signalfd -> EINVAL");
	int legacy = syscall(SYS_signalfd, -1, &raw_mask, 8);
	CHECK(legacy >= 0 && fcntl(legacy, F_GETFD) == 0, "legacy signalfd: a descriptor, no FD_CLOEXEC");
	CHECK_ERRNO(syscall(SYS_signalfd, -1, &raw_mask, 7), EINVAL, "legacy signalfd, mask size 7 -> EINVAL");
	close(legacy);

	CHECK_ERRNO(read(fd, si, sizeof si[0]), EAGAIN, "nothing pending, non-blocking -> EAGAIN");
	CHECK(!readable(fd), "nothing pending: not readable");
	CHECK_ERRNO(read(fd, si, 64), EINVAL, "read of 64 bytes -> EINVAL");
	CHECK_ERRNO(write(fd, si, sizeof si[0]), EINVAL, "write -> EINVAL");

	/* tkill: SI_TKILL, the sender's pid and uid. */
	CHECK(raise(SIGUSR1) == 0, "raise(SIGUSR1), blocked");
	CHECK(readable(fd), "pending: POLLIN");
	memset(si, 0, sizeof si);
	CHECK(read(fd, si, sizeof si[0]) == (ssize_t)sizeof si[0], "read one signalfd_siginfo (128 bytes)");
	CHECK(si[0].ssi_signo == SIGUSR1 && si[0].ssi_code == SI_TKILL,
	      "ssi_signo SIGUSR1, ssi_code SI_TKILL (%u, %d)", si[0].ssi_signo, si[0].ssi_code);
	CHECK(si[0].ssi_pid == (uint32_t)getpid() && si[0].ssi_uid == getuid(),
	      "ssi_pid and ssi_uid are the sender's");
	sigset_t pend;
	sigpending(&pend);
	CHECK(!sigismember(&pend, SIGUSR1), "the signal was taken: no longer pending");
	CHECK(!readable(fd), "and the descriptor is not readable");

	/* A new mask for the same descriptor. */
	sigaddset(&mask, SIGUSR2);
	CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0, "block SIGUSR2 too");
	CHECK(kill(getpid(), SIGUSR2) == 0, "kill(self, SIGUSR2)");
	CHECK(!readable(fd), "SIGUSR2 is not in the mask: not readable");
	CHECK(signalfd(fd, &mask, 0) == fd, "signalfd(fd, {USR1, USR2, CHLD}) returns fd");
	CHECK(readable(fd), "now SIGUSR2 makes it readable");
	CHECK(read(fd, si, sizeof si[0]) == (ssize_t)sizeof si[0] && si[0].ssi_signo == SIGUSR2 &&
	      si[0].ssi_code == SI_USER, "kill: SIGUSR2 with SI_USER");
	CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, "the flags of the descriptor stay");

	/* sigqueue: SI_QUEUE and the value. */
	union sigval val = { .sival_int = 4242 };
	CHECK(sigqueue(getpid(), SIGUSR1, val) == 0, "sigqueue(self, SIGUSR1, 4242)");
	CHECK(read(fd, si, sizeof si[0]) == (ssize_t)sizeof si[0] && si[0].ssi_code == SI_QUEUE &&
	      si[0].ssi_int == 4242 && si[0].ssi_ptr == 4242,
	      "sigqueue: SI_QUEUE, ssi_int and ssi_ptr 4242 (%d, %d)", si[0].ssi_code, si[0].ssi_int);

	/* Several signals in one read, lowest first. */
	raise(SIGUSR2);
	raise(SIGUSR1);
	CHECK(read(fd, si, sizeof si) == (ssize_t)sizeof si && si[0].ssi_signo == SIGUSR1 &&
	      si[1].ssi_signo == SIGUSR2, "two pending, one read of 256 bytes: USR1 then USR2");
	raise(SIGUSR2);
	raise(SIGUSR1);
	CHECK(read(fd, si, sizeof si[0] * 3 / 2) == (ssize_t)sizeof si[0] && si[0].ssi_signo == SIGUSR1,
	      "a buffer of 1.5 records: one record");
	CHECK(read(fd, si, sizeof si) == (ssize_t)sizeof si[0] && si[0].ssi_signo == SIGUSR2,
	      "the other one is still pending");

	/* SIGCHLD: the child's pid and exit status. */
	pid_t child = fork();
	if (child == 0)
		_exit(7);
	struct pollfd pw = { .fd = fd, .events = POLLIN };
	CHECK(poll(&pw, 1, 5000) == 1, "SIGCHLD arrives (poll)");
	CHECK(read(fd, si, sizeof si[0]) == (ssize_t)sizeof si[0] && si[0].ssi_signo == SIGCHLD &&
	      si[0].ssi_code == CLD_EXITED && si[0].ssi_pid == (uint32_t)child && si[0].ssi_status == 7,
	      "SIGCHLD: CLD_EXITED, the child's pid, status 7 (code %d, status %d)", si[0].ssi_code,
	      si[0].ssi_status);
	waitpid(child, NULL, 0);

	/* epoll. */
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 5 }, out;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl ADD signalfd");
	CHECK(epoll_wait(ep, &out, 1, 0) == 0, "epoll: nothing yet");
	raise(SIGUSR1);
	CHECK(epoll_wait(ep, &out, 1, 1000) == 1 && out.data.u32 == 5 && (out.events & EPOLLIN),
	      "epoll: readable once SIGUSR1 is pending");
	read(fd, si, sizeof si[0]);
	CHECK(epoll_wait(ep, &out, 1, 0) == 0, "epoll: drained");
	close(ep);

	/* A blocking read, woken by a signal from a child. */
	int bfd = signalfd(-1, &mask, 0);
	CHECK(bfd >= 0, "a blocking signalfd");
	pid_t parent = getpid();
	child = fork();
	if (child == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	long long t0 = now_ns();
	CHECK(read(bfd, si, sizeof si[0]) == (ssize_t)sizeof si[0] && si[0].ssi_signo == SIGUSR1 &&
	      si[0].ssi_pid == (uint32_t)child, "blocking read returns the child's SIGUSR1");
	CHECK(now_ns() - t0 >= 40000000LL, "after the child's delay");
	waitpid(child, NULL, 0);
	read(fd, si, sizeof si); /* the child's SIGCHLD */

	/* Interrupted by a handled signal that is not in the mask. */
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_value = { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_ERRNO(read(bfd, si, sizeof si[0]), EINTR, "blocking read, SIGALRM handled -> EINTR");
	CHECK(alarms == 1, "the handler ran");
	close(bfd);

	/* The signals stay pending for the usual delivery once unblocked. */
	raise(SIGUSR2);
	signal(SIGUSR2, SIG_IGN);
	sigpending(&pend);
	CHECK(!sigismember(&pend, SIGUSR2), "ignoring SIGUSR2 discards it");
	CHECK(!readable(fd), "and the signalfd is not readable");
	sigprocmask(SIG_SETMASK, &none, NULL);
	close(fd);
	return check_exit();
}
