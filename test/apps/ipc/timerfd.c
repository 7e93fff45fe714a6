/*
 * timerfd_create(2), timerfd_settime(2), timerfd_gettime(2):
 * - creation: clocks, TFD_NONBLOCK and TFD_CLOEXEC, EINVAL for other
 *   clocks and flags, EPERM for an alarm clock without privilege;
 * - reads of 8 bytes: EINVAL if smaller, EAGAIN when nothing expired and
 *   non-blocking, a blocking read waits (and a handled signal ends it
 *   with EINTR);
 * - one-shot and periodic timers, expiration counts (also missed periods
 *   of an absolute time in the past), TFD_TIMER_ABSTIME on the monotonic
 *   and real-time clocks, the old setting, disarming;
 * - settime/gettime errors: EINVAL, EBADF, EFAULT;
 * - poll and epoll (edge-triggered: an event per expiration that follows
 *   a read; none while expirations wait unread);
 * - closing armed timers, and a 1 ns period.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define MS 1000000LL

static volatile sig_atomic_t alarms;

static void on_alarm(int s)
{
	(void)s;
	alarms++;
}

static struct itimerspec spec(long long value_ns, long long interval_ns)
{
	struct itimerspec s = {
		.it_value = { value_ns / 1000000000LL, value_ns % 1000000000LL },
		.it_interval = { interval_ns / 1000000000LL, interval_ns % 1000000000LL },
	};
	return s;
}

static long long ns(struct timespec t)
{
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

int main(void)
{
	uint64_t n = 0;
	struct itimerspec s, old;

	/* Creation. */
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	CHECK(fd >= 0, "timerfd_create(CLOCK_MONOTONIC, NONBLOCK|CLOEXEC)");
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "TFD_CLOEXEC sets FD_CLOEXEC");
	CHECK((fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDWR),
	      "TFD_NONBLOCK: O_RDWR|O_NONBLOCK");
	int rt = timerfd_create(CLOCK_REALTIME, 0);
	CHECK(rt >= 0 && fcntl(rt, F_GETFD) == 0, "timerfd_create(CLOCK_REALTIME, 0)");
	int bt = timerfd_create(CLOCK_BOOTTIME, 0);
	CHECK(bt >= 0, "timerfd_create(CLOCK_BOOTTIME, 0)");
	close(bt);
	CHECK_ERRNO(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL, "CPU-time clock -> EINVAL");
	CHECK_ERRNO(timerfd_create(CLOCK_MONOTONIC_RAW, 0), EINVAL, "CLOCK_MONOTONIC_RAW -> EINVAL");
	CHECK_ERRNO(timerfd_create(100, 0), EINVAL, "clock 100 -> EINVAL");
	CHECK_ERRNO(timerfd_create(-1, 0), EINVAL, "clock -1 -> EINVAL");
	CHECK_ERRNO(timerfd_create(CLOCK_MONOTONIC, 1), EINVAL, "unknown flag -> EINVAL");
	pid_t child = fork();
	if (child == 0) {
		/* Without privilege, alarm clocks need CAP_WAKE_ALARM. */
		if (setresuid(65534, 65534, 65534) != 0)
			_exit(2);
		_exit(timerfd_create(CLOCK_BOOTTIME_ALARM, 0) == -1 && errno == EPERM ? 0 : 1);
	}
	int st;
	waitpid(child, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unprivileged CLOCK_BOOTTIME_ALARM -> EPERM");

	/* Reads of a disarmed timer. */
	CHECK_ERRNO(read(fd, &n, 8), EAGAIN, "disarmed, non-blocking: EAGAIN");
	CHECK_ERRNO(read(fd, &n, 4), EINVAL, "read of 4 bytes -> EINVAL");
	CHECK_ERRNO(write(fd, &n, 8), EINVAL, "write -> EINVAL");
	memset(&s, 0xff, sizeof s);
	CHECK(timerfd_gettime(fd, &s) == 0 && ns(s.it_value) == 0 && ns(s.it_interval) == 0,
	      "gettime of a disarmed timer: zeros");
	CHECK(!readable(fd, 0), "disarmed: not readable");

	/* One-shot. */
	s = spec(50 * MS, 0);
	long long t0 = now_ns();
	CHECK(timerfd_settime(fd, 0, &s, NULL) == 0, "settime: one-shot in 50 ms");
	CHECK(timerfd_gettime(fd, &s) == 0 && ns(s.it_value) > 0 && ns(s.it_value) <= 50 * MS &&
	      ns(s.it_interval) == 0, "gettime: time left in (0, 50 ms], no interval");
	CHECK(!readable(fd, 0), "not readable before it expires");
	CHECK(readable(fd, 2000), "poll: readable when it expires");
	CHECK(now_ns() - t0 >= 50 * MS, "not before 50 ms (%lld ms)", (now_ns() - t0) / MS);
	CHECK(read(fd, &n, 8) == 8 && n == 1, "read: 1 expiration (%llu)", (unsigned long long)n);
	CHECK_ERRNO(read(fd, &n, 8), EAGAIN, "then EAGAIN");
	CHECK(timerfd_gettime(fd, &s) == 0 && ns(s.it_value) == 0, "an expired one-shot is disarmed");
	CHECK(read(fd, &n, 16) == -1 && errno == EAGAIN, "a 16-byte buffer is fine (EAGAIN)");

	/* Periodic: the count follows the time. */
	s = spec(20 * MS, 20 * MS);
	t0 = now_ns();
	CHECK(timerfd_settime(fd, 0, &s, NULL) == 0, "settime: every 20 ms");
	sleep_ms(110);
	long long el = now_ns() - t0;
	CHECK(read(fd, &n, 8) == 8, "read the count");
	long long expect = el / (20 * MS);
	CHECK((long long)n >= expect - 1 && (long long)n <= expect + 1,
	      "%llu expirations in %lld ms (expected about %lld)", (unsigned long long)n, el / MS, expect);
	CHECK(timerfd_gettime(fd, &s) == 0 && ns(s.it_interval) == 20 * MS && ns(s.it_value) > 0 &&
	      ns(s.it_value) <= 20 * MS, "gettime: interval 20 ms, next within 20 ms");

	/* The old setting, and disarming. */
	struct itimerspec zero = spec(0, 0);
	CHECK(timerfd_settime(fd, 0, &zero, &old) == 0 && ns(old.it_interval) == 20 * MS &&
	      ns(old.it_value) > 0, "disarm: the old setting comes back");
	CHECK(timerfd_gettime(fd, &s) == 0 && ns(s.it_value) == 0 && ns(s.it_interval) == 0,
	      "disarmed: zeros");
	s = spec(1 * MS, 1 * MS);
	timerfd_settime(fd, 0, &s, NULL);
	sleep_ms(20);
	timerfd_settime(fd, 0, &zero, NULL);
	CHECK_ERRNO(read(fd, &n, 8), EAGAIN, "setting the timer forgets unread expirations");

	/* Absolute times. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	s = spec(ns(now) + 30 * MS, 0);
	CHECK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, NULL) == 0, "ABSTIME: monotonic now + 30 ms");
	CHECK(readable(fd, 2000) && read(fd, &n, 8) == 8 && n == 1, "expires once");
	clock_gettime(CLOCK_MONOTONIC, &now);
	s = spec(ns(now) - 95 * MS, 10 * MS);
	CHECK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, NULL) == 0,
	      "ABSTIME 95 ms in the past, every 10 ms");
	CHECK(read(fd, &n, 8) == 8 && n >= 10 && n <= 11,
	      "the missed periods count: %llu expirations (10)", (unsigned long long)n);
	timerfd_settime(fd, 0, &zero, NULL);
	clock_gettime(CLOCK_REALTIME, &now);
	s = spec(ns(now) + 30 * MS, 0);
	CHECK(timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &s, NULL) == 0,
	      "ABSTIME|CANCEL_ON_SET: real-time now + 30 ms");
	t0 = now_ns();
	CHECK(read(rt, &n, 8) == 8 && n == 1, "a blocking read waits for it");
	CHECK(now_ns() - t0 >= 15 * MS, "(it waited %lld ms)", (now_ns() - t0) / MS);

	/* Errors of settime and gettime. */
	s = spec(MS, 0);
	CHECK_ERRNO(timerfd_settime(fd, 4, &s, NULL), EINVAL, "unknown settime flag -> EINVAL");
	s.it_value.tv_nsec = 1000000000;
	CHECK_ERRNO(timerfd_settime(fd, 0, &s, NULL), EINVAL, "tv_nsec 1e9 -> EINVAL");
	s = spec(MS, 0);
	s.it_interval.tv_sec = -1;
	CHECK_ERRNO(timerfd_settime(fd, 0, &s, NULL), EINVAL, "negative interval -> EINVAL");
	s = spec(MS, 0);
	int p[2];
	pipe(p);
	CHECK_ERRNO(timerfd_settime(p[0], 0, &s, NULL), EINVAL, "settime on a pipe -> EINVAL");
	CHECK_ERRNO(timerfd_gettime(p[0], &s), EINVAL, "gettime on a pipe -> EINVAL");
	CHECK_ERRNO(timerfd_settime(999, 0, &s, NULL), EBADF, "settime on a closed fd -> EBADF");
	CHECK_ERRNO(timerfd_gettime(999, &s), EBADF, "gettime on a closed fd -> EBADF");
	CHECK_ERRNO(syscall(SYS_timerfd_settime, fd, 0, NULL, NULL), EFAULT, "new setting NULL -> EFAULT");
	CHECK_ERRNO(syscall(SYS_timerfd_gettime, fd, (void *)8), EFAULT, "gettime to a bad pointer -> EFAULT");
	CHECK_ERRNO(syscall(SYS_timerfd_settime, 999, 4, &s, NULL), EINVAL,
	            "bad flags are found before a bad fd (EINVAL)");

	/* A blocking read interrupted by a handled signal. */
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	s = spec(10000 * MS, 0);
	timerfd_settime(rt, 0, &s, NULL);
	struct itimerval it = { .it_value = { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_ERRNO(read(rt, &n, 8), EINTR, "blocking read, SIGALRM handled -> EINTR");
	CHECK(alarms == 1, "the handler ran");

	/* epoll, level- and edge-triggered. */
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 }, out[2];
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl ADD timerfd");
	CHECK(epoll_wait(ep, out, 2, 0) == 0, "disarmed: no event");
	s = spec(20 * MS, 0);
	timerfd_settime(fd, 0, &s, NULL);
	CHECK(epoll_wait(ep, out, 2, 2000) == 1 && out[0].data.u32 == 1 && out[0].events == EPOLLIN,
	      "level-triggered: EPOLLIN when it expires");
	CHECK(epoll_wait(ep, out, 2, 0) == 1, "and again while unread");
	read(fd, &n, 8);
	CHECK(epoll_wait(ep, out, 2, 0) == 0, "read: no event");
	ev.events = EPOLLIN | EPOLLET;
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0, "EPOLL_CTL_MOD to EPOLLET");
	s = spec(20 * MS, 20 * MS);
	timerfd_settime(fd, 0, &s, NULL);
	CHECK(epoll_wait(ep, out, 2, 2000) == 1, "edge-triggered: the first expiration");
	CHECK(epoll_wait(ep, out, 2, 0) == 0, "not again at once");
	CHECK(epoll_wait(ep, out, 2, 70) == 0, "nor for later expirations while unread");
	CHECK(read(fd, &n, 8) == 8 && n >= 3, "%llu expirations unread", (unsigned long long)n);
	CHECK(epoll_wait(ep, out, 2, 2000) == 1, "after the read, the next expiration is an event");
	timerfd_settime(fd, 0, &zero, NULL);
	close(ep);

	/* Armed timers closed, and a 1 ns period. */
	for (int i = 0; i < 100; i++) {
		int t = timerfd_create(CLOCK_MONOTONIC, 0);
		s = spec(1 + i % 3, 1);
		timerfd_settime(t, 0, &s, NULL);
		close(t);
	}
	sleep_ms(10);
	CHECK(1, "100 armed timers closed");
	s = spec(1, 1);
	timerfd_settime(fd, 0, &s, NULL);
	sleep_ms(10);
	CHECK(read(fd, &n, 8) == 8 && n > 1000, "1 ns period: %llu expirations in 10 ms",
	      (unsigned long long)n);
	close(fd);
	close(rt);
	return check_exit();
}
