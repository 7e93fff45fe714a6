/*
 * Helpers for the smp/ tests (header only, with check.h).
 *
 *   smp_cpus(cpus, max)   the CPUs this process may run on (its affinity
 *                         mask), in increasing order; returns how many
 *   smp_need_two(n)       the check every smp test makes: at least 2 CPUs
 *   pin_self(cpu)         sched_setaffinity of the calling thread to one
 *                         CPU; 0 or -1 with errno
 *   smp_watchdog(secs)    after secs seconds, prints a failed check and
 *                         the summary and exits 1: a kernel that loses a
 *                         wake-up or never migrates a thread makes the
 *                         test fail instead of hang until the runner's
 *                         timeout
 *   spin_ns(ns)           busy-waits (no system call but the clock's)
 */
#ifndef TEST_APPS_SMPUTIL_H
#define TEST_APPS_SMPUTIL_H

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define SMP_MAX_CPUS 1024

__attribute__((unused))
static int smp_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) == -1)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

__attribute__((unused))
static void smp_need_two(int n)
{
	CHECK(n >= 2, "needs at least 2 CPUs: this process may run on %d", n);
}

__attribute__((unused))
static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set);
}

static int smp_watchdog_secs_;

static void smp_watchdog_fire_(int sig)
{
	char msg[160];
	int len = snprintf(msg, sizeof msg,
			   "FAIL: the test did not finish within %d s (watchdog)\n"
			   "%d of %d checks FAILED\n",
			   smp_watchdog_secs_, check_failed_ + 1, check_total_ + 1);
	if (write(1, msg, (size_t)len) < 0)
		_exit(2);
	_exit(1);
}

__attribute__((unused))
static void smp_watchdog(int secs)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = smp_watchdog_fire_;
	sigaction(SIGALRM, &sa, NULL);
	smp_watchdog_secs_ = secs;
	alarm((unsigned)secs);
}

__attribute__((unused))
static long long smp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((unused))
static void spin_ns(long long ns)
{
	long long end = smp_now_ns() + ns;
	while (smp_now_ns() < end)
		;
}

#endif /* TEST_APPS_SMPUTIL_H */
