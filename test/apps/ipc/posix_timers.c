/*
 * POSIX timers: timer_create(2), timer_settime(2), timer_gettime(2),
 * timer_getoverrun(2), timer_delete(2), through the raw system calls
 * (timer ids are ints for the kernel):
 * - no sigevent: SIGALRM with the timer id as value; SIGEV_SIGNAL with
 *   a value (SI_TIMER, si_timerid, si_value); SIGEV_NONE (only read back);
 *   SIGEV_THREAD_ID to another thread; SIGEV_THREAD (signals the process);
 * - the clocks: REALTIME (also absolute), MONOTONIC, BOOTTIME, TAI, the
 *   CPU-time clocks (also as clock_getcpuclockid ids, of the process, a
 *   thread, a child), EOPNOTSUPP for the raw and coarse clocks, EINVAL
 *   for the rest;
 * - periodic timers and overruns (si_overrun = timer_getoverrun), and the
 *   timer's signal read through a signalfd (ssi_tid, ssi_overrun); a
 *   timer whose signal is ignored signals again once it is handled;
 * - the old setting, disarming, the errors (EINVAL, EFAULT);
 * - RLIMIT_SIGPENDING bounds the number of timers (EAGAIN);
 * - timers are not inherited by fork and are deleted by execve.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define MS 1000000LL

/* The kernel's struct sigevent (64 bytes). */
struct ksigevent {
	uint64_t value;
	int signo;
	int notify;
	int tid;
	int pad[11];
};

/* Not in musl's headers. */
#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif
#define CPUCLOCK_SCHED 2
#define MAKE_PROCESS_CPUCLOCK(pid, clock) ((int)(~(unsigned)(pid) << 3) | (clock))
#define MAKE_THREAD_CPUCLOCK(tid, clock) (MAKE_PROCESS_CPUCLOCK(tid, clock) | 4)

static long tcreate(int clock, struct ksigevent *ev, int *id)
{
	return syscall(SYS_timer_create, clock, ev, id);
}

static long tset(int id, int flags, long long value, long long interval, struct itimerspec *old)
{
	struct itimerspec s = {
		.it_value = { value / 1000000000LL, value % 1000000000LL },
		.it_interval = { interval / 1000000000LL, interval % 1000000000LL },
	};
	return syscall(SYS_timer_settime, id, flags, &s, old);
}

static long long ns(struct timespec t)
{
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long left(int id, long long *interval)
{
	struct itimerspec s;
	if (syscall(SYS_timer_gettime, id, &s) != 0)
		return -1;
	if (interval)
		*interval = ns(s.it_interval);
	return ns(s.it_value);
}

static long long cpu_ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return ns(t);
}

static struct ksigevent sev(int notify, int signo, uint64_t value)
{
	struct ksigevent e;
	memset(&e, 0, sizeof e);
	e.notify = notify;
	e.signo = signo;
	e.value = value;
	return e;
}

/* Waits for `s` (blocked) up to 5 s. */
static int wait_sig(int s, siginfo_t *info)
{
	sigset_t set;
	struct timespec t = { 5, 0 };
	sigemptyset(&set);
	sigaddset(&set, s);
	return sigtimedwait(&set, info, &t);
}

static volatile sig_atomic_t cpu_fired, hups;

static void on_hup(int s)
{
	(void)s;
	hups++;
}

static void on_prof(int s)
{
	(void)s;
	cpu_fired = 1;
}

static int thread_tid;
static volatile int thread_got;
static int start_pipe[2];

static void *waiter(void *arg)
{
	(void)arg;
	siginfo_t info;
	thread_tid = syscall(SYS_gettid);
	write(start_pipe[1], "x", 1);
	if (wait_sig(SIGUSR2, &info) == SIGUSR2 && info.si_code == SI_TIMER)
		thread_got = 1;
	return NULL;
}

static void burn_until(volatile sig_atomic_t *flag, long long limit_ns)
{
	long long t0 = now_ns();
	while (!*flag && now_ns() - t0 < limit_ns)
		;
}

int main(int argc, char **argv)
{
	int id, id2;
	siginfo_t info;
	struct ksigevent ev;
	sigset_t block;

	if (argc > 3 && !strcmp(argv[1], "after-exec")) {
		CHECK(atoi(argv[3]) == 0, "no check failed before execve");
		/* A timer of the old image must be gone. */
		CHECK_ERRNO(left(atoi(argv[2]), NULL), EINVAL, "after execve the timer is deleted");
		return check_exit();
	}

	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGRTMIN);
	CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0, "block SIGALRM, SIGUSR1, SIGUSR2, SIGRTMIN");

	/* No sigevent: SIGALRM, value = id. */
	CHECK(tcreate(CLOCK_MONOTONIC, NULL, &id) == 0 && id >= 0, "timer_create(MONOTONIC, NULL): id %d", id);
	CHECK(left(id, NULL) == 0, "a new timer is disarmed");
	long long t0 = now_ns();
	CHECK(tset(id, 0, 20 * MS, 0, NULL) == 0, "settime: one-shot 20 ms");
	long long l = left(id, NULL);
	CHECK(l > 0 && l <= 20 * MS, "gettime: time left in (0, 20 ms]");
	CHECK(wait_sig(SIGALRM, &info) == SIGALRM, "SIGALRM arrives");
	CHECK(now_ns() - t0 >= 20 * MS, "after 20 ms");
	CHECK(info.si_code == SI_TIMER && info.si_timerid == id && info.si_value.sival_int == id &&
	      info.si_overrun == 0, "SI_TIMER, si_timerid and si_value are the id, no overrun");
	CHECK(left(id, NULL) == 0, "an expired one-shot timer is disarmed");
	CHECK(syscall(SYS_timer_delete, id) == 0, "timer_delete");
	CHECK_ERRNO(syscall(SYS_timer_delete, id), EINVAL, "deleting it again -> EINVAL");

	/* SIGEV_SIGNAL with a value, on the real-time clock, absolute. */
	ev = sev(SIGEV_SIGNAL, SIGUSR1, 0x1234567890ULL);
	CHECK(tcreate(CLOCK_REALTIME, &ev, &id) == 0, "SIGEV_SIGNAL SIGUSR1 on CLOCK_REALTIME");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	t0 = now_ns();
	CHECK(tset(id, TIMER_ABSTIME, ns(now) + 30 * MS, 0, NULL) == 0, "TIMER_ABSTIME: now + 30 ms");
	CHECK(wait_sig(SIGUSR1, &info) == SIGUSR1 && info.si_code == SI_TIMER &&
	      info.si_value.sival_ptr == (void *)0x1234567890ULL && info.si_timerid == id,
	      "SIGUSR1 with the sigev_value");
	CHECK(now_ns() - t0 >= 25 * MS, "about 30 ms later (%lld ms)", (now_ns() - t0) / MS);

	/* Periodic: overruns while the signal is pending. */
	t0 = now_ns();
	CHECK(tset(id, 0, 5 * MS, 5 * MS, NULL) == 0, "every 5 ms");
	sleep_ms(60);
	CHECK(wait_sig(SIGUSR1, &info) == SIGUSR1, "the signal is pending");
	long long el = now_ns() - t0;
	long long expect = el / (5 * MS) - 1;
	CHECK(info.si_overrun >= expect - 3 && info.si_overrun <= expect + 1,
	      "si_overrun %d after %lld ms (about %lld)", info.si_overrun, el / MS, expect);
	CHECK(syscall(SYS_timer_getoverrun, id) == info.si_overrun, "timer_getoverrun agrees");
	long long iv;
	l = left(id, &iv);
	CHECK(iv == 5 * MS && l > 0 && l <= 5 * MS, "gettime: interval 5 ms, next within 5 ms");
	CHECK(wait_sig(SIGUSR1, &info) == SIGUSR1 && info.si_overrun <= 2,
	      "the next signal comes with few overruns (%d)", info.si_overrun);

	/* The old setting, and disarming. */
	struct itimerspec old;
	CHECK(tset(id, 0, 0, 0, &old) == 0 && ns(old.it_interval) == 5 * MS && ns(old.it_value) > 0,
	      "disarm: the old setting comes back");
	CHECK(left(id, &iv) == 0 && iv == 0, "disarmed");
	struct timespec zero = { 0, 0 };
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	while (sigtimedwait(&one, &info, &zero) > 0)
		;
	sleep_ms(20);
	CHECK(sigtimedwait(&one, &info, &zero) == -1, "no signal once disarmed");

	/* The timer's signal through a signalfd. */
	int sfd = signalfd(-1, &one, SFD_NONBLOCK);
	CHECK(tset(id, 0, 5 * MS, 5 * MS, NULL) == 0, "every 5 ms, read through a signalfd");
	sleep_ms(40);
	struct signalfd_siginfo ssi;
	CHECK(read(sfd, &ssi, sizeof ssi) == sizeof ssi && ssi.ssi_signo == SIGUSR1 &&
	      ssi.ssi_code == SI_TIMER && ssi.ssi_tid == (uint32_t)id && ssi.ssi_overrun >= 3 &&
	      ssi.ssi_ptr == 0x1234567890ULL,
	      "signalfd: SI_TIMER, ssi_tid, ssi_overrun %u, ssi_ptr", ssi.ssi_overrun);
	syscall(SYS_timer_delete, id);
	close(sfd);

	/* SIGEV_NONE: only timer_gettime. */
	ev = sev(SIGEV_NONE, 0, 0);
	CHECK(tcreate(CLOCK_BOOTTIME, &ev, &id) == 0, "SIGEV_NONE on CLOCK_BOOTTIME");
	CHECK(tset(id, 0, 20 * MS, 10 * MS, NULL) == 0, "armed: 20 ms, then every 10 ms");
	sleep_ms(55);
	l = left(id, &iv);
	CHECK(l > 0 && l <= 10 * MS && iv == 10 * MS, "gettime follows the periods (%lld us left)", l / 1000);
	CHECK(sigtimedwait(&block, &info, &zero) == -1, "and no signal");
	CHECK(tset(id, 0, 10 * MS, 0, NULL) == 0, "one-shot 10 ms");
	sleep_ms(20);
	CHECK(left(id, NULL) == 0, "expired: 0 left");
	syscall(SYS_timer_delete, id);

	/* SIGEV_THREAD_ID: another thread gets it. */
	pipe(start_pipe);
	pthread_t th;
	pthread_create(&th, NULL, waiter, NULL);
	char c;
	read(start_pipe[0], &c, 1);
	ev = sev(SIGEV_SIGNAL | SIGEV_THREAD_ID, SIGUSR2, 7);
	ev.tid = thread_tid;
	CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id) == 0, "SIGEV_THREAD_ID to another thread");
	CHECK(tset(id, 0, 10 * MS, 0, NULL) == 0, "one-shot 10 ms");
	pthread_join(th, NULL);
	CHECK(thread_got, "that thread took the SI_TIMER signal");
	sigset_t pend;
	sigpending(&pend);
	CHECK(!sigismember(&pend, SIGUSR2), "the main thread did not get it");
	syscall(SYS_timer_delete, id);
	ev.tid = getpid();
	ev.signo = SIGRTMIN;
	CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id) == 0, "SIGEV_THREAD_ID to the main thread (SIGRTMIN)");
	tset(id, 0, MS, 0, NULL);
	CHECK(wait_sig(SIGRTMIN, &info) == SIGRTMIN && info.si_value.sival_int == 7, "it arrives");
	syscall(SYS_timer_delete, id);
	ev = sev(2 /* SIGEV_THREAD */, SIGUSR2, 9);
	CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id) == 0, "SIGEV_THREAD is accepted (the process is signalled)");
	tset(id, 0, MS, 0, NULL);
	CHECK(wait_sig(SIGUSR2, &info) == SIGUSR2 && info.si_value.sival_int == 9, "it arrives");
	syscall(SYS_timer_delete, id);

	/* Clocks and sigevents that are refused. */
	CHECK(tcreate(CLOCK_TAI, NULL, &id) == 0, "CLOCK_TAI has timers");
	syscall(SYS_timer_delete, id);
	CHECK_ERRNO(tcreate(CLOCK_MONOTONIC_RAW, NULL, &id), EOPNOTSUPP, "CLOCK_MONOTONIC_RAW -> EOPNOTSUPP");
	CHECK_ERRNO(tcreate(CLOCK_REALTIME_COARSE, NULL, &id), EOPNOTSUPP, "CLOCK_REALTIME_COARSE -> EOPNOTSUPP");
	CHECK_ERRNO(tcreate(10, NULL, &id), EINVAL, "clock 10 -> EINVAL");
	CHECK_ERRNO(tcreate(100, NULL, &id), EINVAL, "clock 100 -> EINVAL");
	CHECK_ERRNO(tcreate(-1, NULL, &id), EINVAL, "clock -1 (CPU clock 3) -> EINVAL");
	CHECK_ERRNO(tcreate(MAKE_PROCESS_CPUCLOCK(999999, CPUCLOCK_SCHED), NULL, &id), EINVAL,
	            "CPU clock of a process that does not exist -> EINVAL");
	CHECK_ERRNO(tcreate(100, (void *)8, &id), EFAULT, "unreadable sigevent -> EFAULT (first)");
	CHECK_ERRNO(tcreate(CLOCK_MONOTONIC, NULL, (void *)8), EFAULT, "unwritable id -> EFAULT");
	ev = sev(77, SIGUSR1, 0);
	CHECK_ERRNO(tcreate(CLOCK_MONOTONIC, &ev, &id), EINVAL, "sigev_notify 77 -> EINVAL");
	ev = sev(SIGEV_SIGNAL, 0, 0);
	CHECK_ERRNO(tcreate(CLOCK_MONOTONIC, &ev, &id), EINVAL, "SIGEV_SIGNAL with signal 0 -> EINVAL");
	ev = sev(SIGEV_SIGNAL, 65, 0);
	CHECK_ERRNO(tcreate(CLOCK_MONOTONIC, &ev, &id), EINVAL, "SIGEV_SIGNAL with signal 65 -> EINVAL");
	ev = sev(SIGEV_SIGNAL | SIGEV_THREAD_ID, SIGUSR1, 0);
	ev.tid = 1;
	CHECK_ERRNO(tcreate(CLOCK_MONOTONIC, &ev, &id), EINVAL, "SIGEV_THREAD_ID to another process -> EINVAL");
	ev = sev(SIGEV_NONE, 0, 0);
	CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id) == 0, "SIGEV_NONE needs no signal");

	/* Errors of the other calls. */
	struct itimerspec bad = { .it_value = { 0, 1000000000 } };
	CHECK_ERRNO(syscall(SYS_timer_settime, id, 0, &bad, NULL), EINVAL, "tv_nsec 1e9 -> EINVAL");
	bad = (struct itimerspec){ .it_value = { -1, 0 } };
	CHECK_ERRNO(syscall(SYS_timer_settime, id, 0, &bad, NULL), EINVAL, "negative time -> EINVAL");
	CHECK_ERRNO(syscall(SYS_timer_settime, id, 0, NULL, NULL), EINVAL, "no new setting -> EINVAL");
	CHECK_ERRNO(syscall(SYS_timer_settime, id, 0, (void *)8, NULL), EFAULT, "unreadable setting -> EFAULT");
	CHECK_ERRNO(tset(123456, 0, MS, 0, NULL), EINVAL, "settime of no timer -> EINVAL");
	CHECK_ERRNO(left(123456, NULL), EINVAL, "gettime of no timer -> EINVAL");
	CHECK_ERRNO(syscall(SYS_timer_gettime, id, (void *)8), EFAULT, "gettime to a bad pointer -> EFAULT");
	CHECK_ERRNO(syscall(SYS_timer_getoverrun, 123456), EINVAL, "getoverrun of no timer -> EINVAL");
	CHECK_ERRNO(syscall(SYS_timer_delete, -1), EINVAL, "delete of timer -1 -> EINVAL");
	syscall(SYS_timer_delete, id);

	/* An ignored signal: the timer rests until the disposition changes. */
	signal(SIGHUP, SIG_IGN);
	ev = sev(SIGEV_SIGNAL, SIGHUP, 0);
	CHECK(tcreate(CLOCK_MONOTONIC, &ev, &id) == 0 && tset(id, 0, 5 * MS, 5 * MS, NULL) == 0,
	      "every 5 ms with SIGHUP, which is ignored");
	sleep_ms(30);
	struct sigaction hup = { .sa_handler = on_hup };
	CHECK(sigaction(SIGHUP, &hup, NULL) == 0, "a handler for SIGHUP");
	sleep_ms(50);
	CHECK(hups >= 2, "the timer signals again (%d signals in 50 ms)", (int)hups);
	syscall(SYS_timer_delete, id);

	/* CPU-time clocks: they follow CPU time, not real time. */
	struct sigaction sa = { .sa_handler = on_prof };
	sigaction(SIGPROF, &sa, NULL);
	ev = sev(SIGEV_SIGNAL, SIGPROF, 0);
	CHECK(tcreate(CLOCK_PROCESS_CPUTIME_ID, &ev, &id) == 0, "CLOCK_PROCESS_CPUTIME_ID");
	long long c0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	CHECK(tset(id, 0, 30 * MS, 0, NULL) == 0, "30 ms of CPU time");
	sleep_ms(100);
	CHECK(!cpu_fired, "sleeping 100 ms uses no CPU time: not expired");
	burn_until(&cpu_fired, 20000 * MS);
	long long used = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
	CHECK(cpu_fired && used >= 30 * MS, "expires after 30 ms of CPU time (%lld ms used)", used / MS);
	syscall(SYS_timer_delete, id);
	cpu_fired = 0;
	CHECK(tcreate(CLOCK_THREAD_CPUTIME_ID, &ev, &id) == 0, "CLOCK_THREAD_CPUTIME_ID");
	c0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	tset(id, 0, 20 * MS, 0, NULL);
	burn_until(&cpu_fired, 20000 * MS);
	used = cpu_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	CHECK(cpu_fired && used >= 20 * MS, "expires after 20 ms of the thread's CPU time (%lld ms)", used / MS);
	syscall(SYS_timer_delete, id);
	CHECK(tcreate(MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED), NULL, &id) == 0 &&
	      tcreate(MAKE_THREAD_CPUCLOCK(0, CPUCLOCK_SCHED), NULL, &id2) == 0,
	      "CPU clock ids of this process and thread (as glibc makes them)");
	syscall(SYS_timer_delete, id);
	syscall(SYS_timer_delete, id2);
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	clockid_t cc;
	CHECK(clock_getcpuclockid(child, &cc) == 0 && tcreate(cc, NULL, &id) == 0,
	      "a timer on a child's CPU clock");
	syscall(SYS_timer_delete, id);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	/* Not inherited by fork; RLIMIT_SIGPENDING bounds them. */
	CHECK(tcreate(CLOCK_MONOTONIC, NULL, &id) == 0, "a timer before fork");
	child = fork();
	if (child == 0) {
		if (left(id, NULL) != -1 || errno != EINVAL)
			_exit(1);
		struct rlimit rl = { 8, 8 };
		setrlimit(RLIMIT_SIGPENDING, &rl);
		int n = 0, t;
		while (n < 100 && tcreate(CLOCK_MONOTONIC, NULL, &t) == 0)
			n++;
		_exit(n <= 8 && errno == EAGAIN ? 0 : 2);
	}
	int st;
	waitpid(child, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the child has no timers, and RLIMIT_SIGPENDING 8 allows at most 8 (EAGAIN) (status %#x)", st);

	/* Many armed timers, then exit and exec delete them. */
	for (int i = 0; i < 200; i++) {
		ev = sev(SIGEV_SIGNAL, SIGUSR1, i);
		if (tcreate(i % 2 ? CLOCK_MONOTONIC : CLOCK_REALTIME, &ev, &id2) == 0)
			tset(id2, 0, 1 + i, 1 + i, NULL);
	}
	child = fork();
	if (child == 0) {
		for (int i = 0; i < 100; i++) {
			ev = sev(SIGEV_SIGNAL, SIGUSR1, i);
			if (tcreate(CLOCK_MONOTONIC, &ev, &id2) == 0)
				tset(id2, 0, 1, 1, NULL);
		}
		_exit(3);
	}
	waitpid(child, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "a child with 100 armed 1 ns timers exits");
	tset(id, 0, 1000 * MS, 0, NULL);
	char idbuf[16];
	snprintf(idbuf, sizeof idbuf, "%d", id);
	char failed[16];
	snprintf(failed, sizeof failed, "%d", check_failed_);
	char *args[] = { argv[0], "after-exec", idbuf, failed, NULL };
	fflush(stdout);
	/* Pending timer signals are discarded; the mask stays across execve. */
	signal(SIGUSR1, SIG_IGN);
	execv(argv[0], args);
	CHECK(0, "execv");
	return check_exit();
}
