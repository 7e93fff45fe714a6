/*
 * Time details: clock_nanosleep tells invalid clocks (EINVAL) from valid
 * ones it cannot sleep on (EOPNOTSUPP), and sleeps on the process's CPU
 * clock until its threads used that much; setitimer's ITIMER_VIRTUAL and
 * ITIMER_PROF count the process's CPU time and send SIGVTALRM and SIGPROF
 * (not while it sleeps; not inherited by fork), with EFAULT on both
 * pointers and EINVAL for bad timevals or timers, in Linux's order;
 * epoll_wait with a zero timeout returns at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t vtalrm, prof;

static void on_signal(int sig)
{
	if (sig == SIGVTALRM)
		vtalrm++;
	else if (sig == SIGPROF)
		prof++;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Burns CPU until *flag reaches n or `limit` seconds pass. */
static void spin_until(volatile sig_atomic_t *flag, int n, double limit)
{
	double end = now_s() + limit;
	while (*flag < n && now_s() < end)
		for (volatile int i = 0; i < 10000; i++)
			;
}

static volatile int spinning = 1;

static void *spinner(void *arg)
{
	(void)arg;
	while (spinning)
		;
	return NULL;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long cns(long clock, long flags, const struct timespec *req)
{
	return syscall(SYS_clock_nanosleep, clock, flags, req, NULL);
}

int main(void)
{
	struct timespec short_ts = {0, 1000};

	/* clock_nanosleep. */
	CHECK(cns(CLOCK_MONOTONIC, 0, &short_ts) == 0, "CLOCK_MONOTONIC");
	CHECK(cns(CLOCK_REALTIME, 0, &short_ts) == 0, "CLOCK_REALTIME");
	CHECK(cns(CLOCK_BOOTTIME, 0, &short_ts) == 0, "CLOCK_BOOTTIME");
	CHECK(cns(CLOCK_TAI, 0, &short_ts) == 0, "CLOCK_TAI");
	CHECK_ERRNO(cns(CLOCK_MONOTONIC_RAW, 0, &short_ts), EOPNOTSUPP,
		    "CLOCK_MONOTONIC_RAW: EOPNOTSUPP");
	CHECK_ERRNO(cns(CLOCK_REALTIME_COARSE, 0, &short_ts), EOPNOTSUPP,
		    "CLOCK_REALTIME_COARSE: EOPNOTSUPP");
	CHECK_ERRNO(cns(CLOCK_MONOTONIC_COARSE, 0, &short_ts), EOPNOTSUPP,
		    "CLOCK_MONOTONIC_COARSE: EOPNOTSUPP");
	CHECK_ERRNO(cns(CLOCK_THREAD_CPUTIME_ID, 0, &short_ts), EOPNOTSUPP,
		    "CLOCK_THREAD_CPUTIME_ID: EOPNOTSUPP");
	CHECK_ERRNO(cns(10, 0, &short_ts), EINVAL, "clock 10 (none): EINVAL");
	CHECK_ERRNO(cns(12, 0, &short_ts), EINVAL, "clock 12 (none): EINVAL");
	CHECK_ERRNO(cns(99, 0, &short_ts), EINVAL, "clock 99: EINVAL");
	CHECK_ERRNO(cns(-2, 0, &short_ts), EINVAL, "own thread's CPU clock by id: EINVAL");
	CHECK_ERRNO(cns(99, 0, (void *)8), EINVAL, "the clock before the pointer");
	CHECK_ERRNO(cns(CLOCK_MONOTONIC_RAW, 0, (void *)8), EOPNOTSUPP,
		    "EOPNOTSUPP before the pointer");
	CHECK_ERRNO(cns(CLOCK_MONOTONIC, 0, (void *)8), EFAULT, "bad request: EFAULT");
	struct timespec bad = {0, 1000000000};
	CHECK_ERRNO(cns(CLOCK_MONOTONIC, 0, &bad), EINVAL, "tv_nsec of 1e9: EINVAL");
	CHECK(cns(CLOCK_MONOTONIC, 0xfe, &short_ts) == 0, "unknown flag bits are ignored");

	/* Sleeping on the process's CPU clock: until its threads used that. */
	pthread_t th;
	CHECK(pthread_create(&th, NULL, spinner, NULL) == 0, "a thread that spins");
	struct timespec cpu_ts = {0, 200 * 1000 * 1000};
	double c0 = cpu_s();
	CHECK(cns(CLOCK_PROCESS_CPUTIME_ID, 0, &cpu_ts) == 0,
	      "clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 200 ms)");
	double used = cpu_s() - c0;
	CHECK(used >= 0.2, "it returned after 200 ms of CPU time (%.3f s)", used);
	clockid_t pclock;
	CHECK(clock_getcpuclockid(0, &pclock) == 0, "clock_getcpuclockid");
	struct timespec abs_ts;
	clock_gettime(pclock, &abs_ts);
	abs_ts.tv_nsec += 100 * 1000 * 1000;
	if (abs_ts.tv_nsec >= 1000000000) {
		abs_ts.tv_sec++;
		abs_ts.tv_nsec -= 1000000000;
	}
	CHECK(cns(pclock, TIMER_ABSTIME, &abs_ts) == 0, "TIMER_ABSTIME on the process's clock id");
	struct timespec after;
	clock_gettime(pclock, &after);
	CHECK(after.tv_sec > abs_ts.tv_sec ||
	      (after.tv_sec == abs_ts.tv_sec && after.tv_nsec >= abs_ts.tv_nsec),
	      "it returned once that CPU time was reached");
	spinning = 0;
	pthread_join(th, NULL);

	/* setitimer/getitimer checks. */
	struct itimerval iv = {{0, 0}, {0, 1000000}}, old;
	CHECK_ERRNO(syscall(SYS_setitimer, ITIMER_VIRTUAL, &iv, NULL), EINVAL,
		    "tv_usec of 1e6: EINVAL");
	struct itimerval neg = {{-1, 0}, {1, 0}};
	CHECK_ERRNO(syscall(SYS_setitimer, ITIMER_PROF, &neg, NULL), EINVAL,
		    "negative interval: EINVAL");
	CHECK_ERRNO(syscall(SYS_setitimer, 3, NULL, NULL), EINVAL, "timer 3: EINVAL");
	CHECK_ERRNO(syscall(SYS_setitimer, -1, NULL, NULL), EINVAL, "timer -1: EINVAL");
	CHECK_ERRNO(syscall(SYS_setitimer, 3, (void *)8, NULL), EFAULT,
		    "the new value is read before the timer is checked");
	CHECK_ERRNO(syscall(SYS_setitimer, 5, &iv, NULL), EINVAL, "bad timeval, bad timer: EINVAL");
	CHECK_ERRNO(syscall(SYS_setitimer, ITIMER_VIRTUAL, (void *)8, NULL), EFAULT,
		    "bad new pointer: EFAULT");
	CHECK_ERRNO(syscall(SYS_getitimer, 3, (void *)8), EINVAL, "getitimer(3): EINVAL first");
	CHECK_ERRNO(syscall(SYS_getitimer, ITIMER_VIRTUAL, (void *)8), EFAULT,
		    "getitimer bad pointer: EFAULT");
	struct itimerval big = {{0, 0}, {100, 0}};
	CHECK_ERRNO(syscall(SYS_setitimer, ITIMER_PROF, &big, (void *)8), EFAULT,
		    "bad old pointer: EFAULT");
	CHECK(getitimer(ITIMER_PROF, &old) == 0 && old.it_value.tv_sec >= 99 &&
	      old.it_value.tv_sec <= 100, "the timer was set all the same (%ld s)",
	      (long)old.it_value.tv_sec);
	struct itimerval zero = {{0, 0}, {0, 0}};
	CHECK(setitimer(ITIMER_PROF, &zero, &old) == 0 && old.it_value.tv_sec >= 99,
	      "disarm it; old value returned");
	CHECK(getitimer(ITIMER_PROF, &old) == 0 && old.it_value.tv_sec == 0 &&
	      old.it_value.tv_usec == 0, "disarmed");

	/* Delivery. */
	signal(SIGVTALRM, on_signal);
	signal(SIGPROF, on_signal);
	struct itimerval v = {{0, 0}, {0, 200000}};
	CHECK(setitimer(ITIMER_VIRTUAL, &v, NULL) == 0, "ITIMER_VIRTUAL 200 ms");
	usleep(400000);
	CHECK(vtalrm == 0, "sleeping uses no CPU time: no SIGVTALRM yet");
	CHECK(getitimer(ITIMER_VIRTUAL, &old) == 0 && old.it_value.tv_usec > 100000,
	      "most of it is left (%ld us)", (long)old.it_value.tv_usec);
	pid_t pid = fork();
	if (pid == 0) {
		struct itimerval c;
		_exit(getitimer(ITIMER_VIRTUAL, &c) == 0 && c.it_value.tv_sec == 0 &&
		      c.it_value.tv_usec == 0 ? 0 : 1);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child has no itimer");
	spin_until(&vtalrm, 1, 30);
	CHECK(vtalrm == 1, "SIGVTALRM after the CPU time");
	CHECK(getitimer(ITIMER_VIRTUAL, &old) == 0 && old.it_value.tv_sec == 0 &&
	      old.it_value.tv_usec == 0, "a one-shot timer is disarmed after");

	struct itimerval p = {{0, 50000}, {0, 50000}};
	CHECK(setitimer(ITIMER_PROF, &p, NULL) == 0, "ITIMER_PROF every 50 ms");
	spin_until(&prof, 3, 30);
	CHECK(prof >= 3, "SIGPROF again and again (%d)", (int)prof);
	CHECK(getitimer(ITIMER_PROF, &old) == 0 && old.it_interval.tv_usec == 50000,
	      "the interval stays");
	CHECK(setitimer(ITIMER_PROF, &zero, NULL) == 0, "disarm ITIMER_PROF");

	/* epoll_wait with a zero timeout. */
	int ep = epoll_create1(0);
	struct epoll_event ev[4];
	double t0 = now_s();
	int n = epoll_wait(ep, ev, 4, 0);
	double took = now_s() - t0;
	CHECK(n == 0 && took < 0.5, "epoll_wait(timeout 0) with nothing ready: 0 at once (%.3f s)",
	      took);
	int fds[2];
	CHECK(pipe(fds) == 0 && write(fds[1], "x", 1) == 1, "a pipe with data");
	struct epoll_event in = {.events = EPOLLIN, .data.u32 = 7};
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &in) == 0, "watch it");
	CHECK(epoll_wait(ep, ev, 4, 0) == 1 && ev[0].data.u32 == 7,
	      "epoll_wait(timeout 0) reports what is ready");
	return check_exit();
}
