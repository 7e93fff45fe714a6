/*
 * Many timers that nobody waits for must cost next to nothing, and timers
 * must go away with what they belong to:
 * - 2000 POSIX timers with a 1 ns period and a blocked signal, and 200
 *   timerfds with a 1 ns period never read: a 20 ms sleep still takes
 *   about 20 ms, and the overrun count is huge;
 * - threads with SIGEV_THREAD_ID timers on themselves (1 ms period, a
 *   handler) exit while the timers run;
 * - children with armed timers and timerfds are killed (SIGKILL) or exit.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define MS 1000000LL

struct ksigevent {
	uint64_t value;
	int signo;
	int notify;
	int tid;
	int pad[11];
};

#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

static int make_timer(int signo, int notify, int tid, long long value, long long interval)
{
	struct ksigevent ev;
	int id;
	memset(&ev, 0, sizeof ev);
	ev.signo = signo;
	ev.notify = notify;
	ev.tid = tid;
	if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id) != 0)
		return -1;
	struct itimerspec s = { { interval / 1000000000LL, interval % 1000000000LL },
				{ value / 1000000000LL, value % 1000000000LL } };
	if (syscall(SYS_timer_settime, id, 0, &s, NULL) != 0)
		return -1;
	return id;
}

static volatile int ticks[8];

static void on_usr2(int s)
{
	(void)s;
	int tid = syscall(SYS_gettid);
	ticks[tid % 8]++;
}

static void *ticking_thread(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	int id = make_timer(SIGUSR2, 0 | SIGEV_THREAD_ID, syscall(SYS_gettid), MS, MS);
	sleep_ms(20);
	/* Exits with the timer still armed. */
	return (void *)(intptr_t)(id >= 0);
}

int main(void)
{
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	struct rlimit rl = { 4096, 4096 };
	setrlimit(RLIMIT_SIGPENDING, &rl);

	/* Timers nobody waits for. */
	int made = 0, first = -1;
	for (int i = 0; i < 2000; i++) {
		int id = make_timer(SIGUSR1, 0, 0, 1, 1);
		if (id >= 0) {
			made++;
			if (first < 0)
				first = id;
		}
	}
	CHECK(made == 2000, "2000 timers with a 1 ns period and a blocked signal (%d)", made);
	int tfds = 0;
	for (int i = 0; i < 200; i++) {
		int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
		struct itimerspec s = { { 0, 1 }, { 0, 1 } };
		if (t >= 0 && timerfd_settime(t, 0, &s, NULL) == 0)
			tfds++;
	}
	CHECK(tfds == 200, "200 timerfds with a 1 ns period, never read");
	long long t0 = now_ns();
	sleep_ms(20);
	long long el = now_ns() - t0;
	CHECK(el < 2000 * MS, "a 20 ms sleep takes %lld ms", el / MS);
	siginfo_t info;
	struct timespec zero = { 0, 0 };
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	CHECK(sigtimedwait(&one, &info, &zero) == SIGUSR1 && info.si_overrun > 1000,
	      "one pending SIGUSR1 with a huge overrun count (%d)", info.si_overrun);

	/* Threads with timers of their own that exit. */
	struct sigaction sa = { .sa_handler = on_usr2 };
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t th[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, ticking_thread, NULL);
	int ok = 1;
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(th[i], &r);
		ok &= r != NULL;
	}
	CHECK(ok, "8 threads armed SIGEV_THREAD_ID timers and exited");
	int sum = 0;
	for (int i = 0; i < 8; i++)
		sum += ticks[i];
	CHECK(sum > 8, "their timers signalled them (%d signals)", sum);
	sleep_ms(20);
	CHECK(1, "nothing happens once they are gone");

	/* Children with armed timers, killed or exiting. */
	for (int round = 0; round < 10; round++) {
		pid_t c = fork();
		if (c == 0) {
			for (int i = 0; i < 100; i++) {
				make_timer(SIGUSR1, 0, 0, 1 + i, 1 + i);
				int t = timerfd_create(CLOCK_REALTIME, 0);
				struct itimerspec s = { { 0, 1 }, { 0, 1 } };
				timerfd_settime(t, 0, &s, NULL);
			}
			if (round % 2)
				_exit(0);
			for (;;)
				pause();
		}
		if (round % 2 == 0) {
			sleep_ms(5);
			kill(c, SIGKILL);
		}
		int st;
		waitpid(c, &st, 0);
		ok &= round % 2 ? WIFEXITED(st) : WIFSIGNALED(st);
	}
	CHECK(ok, "10 children with 100 timers and 100 timerfds each exited or were killed");
	CHECK(syscall(SYS_timer_delete, first) == 0, "our timers are still there");
	return check_exit();
}
