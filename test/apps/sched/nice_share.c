/*
 * Nice values share the CPU: two CPU-bound children pinned to one CPU,
 * at nice 0 and nice 10, get about 91 % and 9 % of it (Linux's weights
 * 1024 and 110); two at nice 0 share evenly; a SCHED_IDLE child gets a
 * tiny share next to a nice-0 one. Shares are measured in CPU time.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define SPIN_NS 1000000000LL

/* Each child spins until the common deadline, then reports its CPU time. */
static volatile long long *cpu_ns;

static long long process_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static pid_t spinner(int slot, int nice_value, int policy, long long deadline)
{
	pid_t p = fork();
	if (p == 0) {
		struct sched_param sp = { 0 };
		if (policy != SCHED_OTHER)
			syscall(SYS_sched_setscheduler, 0, policy, &sp);
		setpriority(PRIO_PROCESS, 0, nice_value);
		while (now_ns() < deadline)
			;
		cpu_ns[slot] = process_cpu_ns();
		_exit(0);
	}
	return p;
}

/* The share of the second child, in percent. */
static double share(int nice_a, int nice_b, int policy_b)
{
	long long deadline = now_ns() + SPIN_NS;
	pid_t a, b;

	cpu_ns[0] = cpu_ns[1] = 0;
	a = spinner(0, nice_a, SCHED_OTHER, deadline);
	b = spinner(1, nice_b, policy_b, deadline);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	if (cpu_ns[0] + cpu_ns[1] == 0)
		return -1;
	INFO("CPU time: %lld ms and %lld ms", cpu_ns[0] / 1000000, cpu_ns[1] / 1000000);
	return 100.0 * (double)cpu_ns[1] / (double)(cpu_ns[0] + cpu_ns[1]);
}

int main(void)
{
	cpu_set_t set;
	double s;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CHECK(sched_setaffinity(0, sizeof set, &set) == 0, "pinned to CPU 0");
	cpu_ns = shared_alloc(2 * sizeof *cpu_ns);

	s = share(0, 0, SCHED_OTHER);
	CHECK(s > 35 && s < 65, "nice 0 and nice 0 share evenly (%.1f %%)", s);
	s = share(0, 10, SCHED_OTHER);
	CHECK(s > 2 && s < 25, "nice 0 and nice 10: the nice-10 child gets about 9 %% (%.1f %%)", s);
	s = share(0, 5, SCHED_OTHER);
	CHECK(s > 12 && s < 40, "nice 0 and nice 5: the nice-5 child gets about 25 %% (%.1f %%)", s);
	s = share(0, 0, SCHED_IDLE);
	CHECK(s >= 0 && s < 10, "nice 0 and SCHED_IDLE: the idle child gets a tiny share (%.1f %%)", s);
	return check_exit();
}
