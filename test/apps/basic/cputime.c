/*
 * cputime: CPU-time clocks count time spent running, not sleeping:
 * CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID advance during a
 * busy loop and (almost) not during nanosleep; times() and getrusage()
 * agree; a reaped child's time shows up in RUSAGE_CHILDREN.
 */
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long long ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void spin(long long dur_ns)
{
	long long end = ns(CLOCK_MONOTONIC) + dur_ns;
	while (ns(CLOCK_MONOTONIC) < end)
		;
}

int main(void)
{
	long long p0 = ns(CLOCK_PROCESS_CPUTIME_ID), t0 = ns(CLOCK_THREAD_CPUTIME_ID);
	spin(200000000LL);
	long long p1 = ns(CLOCK_PROCESS_CPUTIME_ID), t1 = ns(CLOCK_THREAD_CPUTIME_ID);
	CHECK(p1 - p0 >= 150000000LL, "process CPU time grew by %lld ms while busy", (p1 - p0) / 1000000);
	CHECK(t1 - t0 >= 150000000LL, "thread CPU time grew by %lld ms while busy", (t1 - t0) / 1000000);

	struct timespec d = {0, 300000000};
	nanosleep(&d, NULL);
	long long p2 = ns(CLOCK_PROCESS_CPUTIME_ID);
	CHECK(p2 - p1 < 100000000LL, "sleeping 300 ms costs little CPU time (%lld ms)", (p2 - p1) / 1000000);

	struct tms tm;
	CHECK(times(&tm) != (clock_t)-1, "times()");
	CHECK(tm.tms_utime + tm.tms_stime >= 15, "times(): %ld user + %ld system ticks",
	      (long)tm.tms_utime, (long)tm.tms_stime);

	pid_t c = fork();
	if (c == 0) {
		spin(200000000LL);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	struct rusage ru;
	CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0, "getrusage(RUSAGE_CHILDREN)");
	long long child_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	CHECK(child_us >= 150000, "the reaped child's CPU time is counted (%lld ms)", child_us / 1000);
	CHECK(getrusage(RUSAGE_SELF, &ru) == 0, "getrusage(RUSAGE_SELF)");
	return check_exit();
}
