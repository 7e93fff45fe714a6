/*
 * Scheduling policies and their parameters: sched_setscheduler,
 * sched_getscheduler, sched_setparam, sched_getparam, sched_setattr,
 * sched_getattr and sched_rr_get_interval, with every error case, per
 * thread, inherited across fork and threads, SCHED_RESET_ON_FORK, and the
 * permission rules for an unprivileged user.
 *
 * Raw syscalls throughout: musl's wrappers of the sched_* policy calls
 * return ENOSYS without calling the kernel.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
#define SCHED_DEADLINE_ 6
#define SCHED_FLAG_RESET_ON_FORK_ 1

struct attr {
	uint32_t size;
	uint32_t policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
	uint8_t extra[16];
};

#define BAD_PTR ((void *)16)

static long setsched(long pid, long policy, const void *p)
{
	return syscall(SYS_sched_setscheduler, pid, policy, p);
}

static long getsched(long pid)
{
	return syscall(SYS_sched_getscheduler, pid);
}

static long setparam(long pid, const void *p)
{
	return syscall(SYS_sched_setparam, pid, p);
}

static long getparam(long pid, void *p)
{
	return syscall(SYS_sched_getparam, pid, p);
}

static long setattr(long pid, void *a, long flags)
{
	return syscall(SYS_sched_setattr, pid, a, flags);
}

static long getattr(long pid, void *a, long size, long flags)
{
	return syscall(SYS_sched_getattr, pid, a, size, flags);
}

static int prio_of(long pid)
{
	struct sched_param p = { .sched_priority = -1 };
	if (getparam(pid, &p) != 0)
		return -1;
	return p.sched_priority;
}

static int set(long pid, int policy, int prio)
{
	struct sched_param p = { .sched_priority = prio };
	return (int)setsched(pid, policy, &p);
}

/* A pid that belongs to nobody: a child that has been reaped. */
static pid_t dead_pid(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
}

static void errors(void)
{
	struct sched_param p = { .sched_priority = 1 };
	struct sched_param zero = { .sched_priority = 0 };
	pid_t dead = dead_pid();

	CHECK(getsched(0) == SCHED_OTHER, "a new process is SCHED_OTHER");
	CHECK(getsched(getpid()) == SCHED_OTHER, "pid = own pid");
	CHECK_ERRNO(getsched(-1), EINVAL, "getscheduler(-1)");
	CHECK_ERRNO(getsched(dead), ESRCH, "getscheduler(dead pid)");

	CHECK(prio_of(0) == 0, "getparam: priority 0");
	CHECK_ERRNO(getparam(0, NULL), EINVAL, "getparam(NULL)");
	CHECK_ERRNO(getparam(-1, &p), EINVAL, "getparam(-1)");
	CHECK_ERRNO(getparam(-1, NULL), EINVAL, "getparam(-1, NULL)");
	CHECK_ERRNO(getparam(dead, &p), ESRCH, "getparam(dead pid)");
	CHECK_ERRNO(getparam(0, BAD_PTR), EFAULT, "getparam(bad pointer)");
	CHECK_ERRNO(getparam(dead, BAD_PTR), ESRCH, "getparam(dead pid, bad pointer): ESRCH first");

	CHECK_ERRNO(setsched(0, -1, &p), EINVAL, "setscheduler(policy -1)");
	CHECK_ERRNO(setsched(0, 4, &zero), EINVAL, "setscheduler(policy 4)");
	CHECK_ERRNO(setsched(0, 99, &zero), EINVAL, "setscheduler(policy 99)");
	CHECK_ERRNO(setsched(0, SCHED_DEADLINE_, &zero), EINVAL, "setscheduler(SCHED_DEADLINE, no params)");
	CHECK_ERRNO(setsched(0, SCHED_FIFO, NULL), EINVAL, "setscheduler(NULL param)");
	CHECK_ERRNO(setsched(-1, SCHED_FIFO, &p), EINVAL, "setscheduler(pid -1)");
	CHECK_ERRNO(setsched(-1, SCHED_FIFO, BAD_PTR), EINVAL, "setscheduler(pid -1, bad pointer)");
	CHECK_ERRNO(setsched(0, SCHED_FIFO, BAD_PTR), EFAULT, "setscheduler(bad pointer)");
	CHECK_ERRNO(setsched(dead, SCHED_FIFO, BAD_PTR), EFAULT, "setscheduler(dead pid, bad pointer): EFAULT first");
	CHECK_ERRNO(setsched(dead, SCHED_FIFO, &p), ESRCH, "setscheduler(dead pid)");
	CHECK_ERRNO(setsched(dead, 99, &p), ESRCH, "setscheduler(dead pid, bad policy): ESRCH first");
	CHECK_ERRNO(set(0, SCHED_FIFO, 0), EINVAL, "FIFO priority 0");
	CHECK_ERRNO(set(0, SCHED_FIFO, 100), EINVAL, "FIFO priority 100");
	CHECK_ERRNO(set(0, SCHED_RR, -1), EINVAL, "RR priority -1");
	CHECK_ERRNO(set(0, SCHED_OTHER, 1), EINVAL, "OTHER priority 1");
	CHECK_ERRNO(set(0, SCHED_BATCH, 1), EINVAL, "BATCH priority 1");
	CHECK_ERRNO(set(0, SCHED_IDLE, 1), EINVAL, "IDLE priority 1");
	CHECK_ERRNO(set(0, SCHED_OTHER | 0x100, 0), EINVAL, "policy with an unknown high bit");

	CHECK_ERRNO(setparam(0, NULL), EINVAL, "setparam(NULL)");
	CHECK_ERRNO(setparam(-1, &zero), EINVAL, "setparam(-1)");
	CHECK_ERRNO(setparam(0, BAD_PTR), EFAULT, "setparam(bad pointer)");
	CHECK_ERRNO(setparam(dead, &zero), ESRCH, "setparam(dead pid)");
	CHECK_ERRNO(setparam(0, &p), EINVAL, "setparam(1) for SCHED_OTHER");
	CHECK(setparam(0, &zero) == 0, "setparam(0) for SCHED_OTHER");

	CHECK(syscall(SYS_sched_get_priority_max, SCHED_FIFO) == 99, "priority max FIFO 99");
	CHECK(syscall(SYS_sched_get_priority_min, SCHED_RR) == 1, "priority min RR 1");
	CHECK(syscall(SYS_sched_get_priority_max, SCHED_OTHER) == 0, "priority max OTHER 0");
	CHECK(syscall(SYS_sched_get_priority_min, SCHED_IDLE) == 0, "priority min IDLE 0");
	CHECK_ERRNO(syscall(SYS_sched_get_priority_max, 4), EINVAL, "priority max of policy 4");
	CHECK_ERRNO(syscall(SYS_sched_get_priority_min, -1), EINVAL, "priority min of policy -1");
}

static void policies(void)
{
	struct sched_param p;
	struct timespec ts;

	CHECK(set(0, SCHED_FIFO, 10) == 0, "set FIFO 10");
	CHECK(getsched(0) == SCHED_FIFO && prio_of(0) == 10, "reads FIFO 10");
	p.sched_priority = 20;
	CHECK(setparam(0, &p) == 0 && prio_of(0) == 20, "setparam 20 keeps FIFO");
	p.sched_priority = 0;
	CHECK_ERRNO(setparam(0, &p), EINVAL, "setparam(0) for FIFO");
	CHECK(syscall(SYS_sched_rr_get_interval, 0, &ts) == 0 && ts.tv_sec == 0 && ts.tv_nsec == 0,
	      "rr interval of FIFO: 0 (%ld.%09ld)", (long)ts.tv_sec, ts.tv_nsec);
	CHECK(set(0, SCHED_RR, 5) == 0 && getsched(0) == SCHED_RR && prio_of(0) == 5, "set RR 5");
	CHECK(syscall(SYS_sched_rr_get_interval, 0, &ts) == 0 && ts.tv_sec == 0 && ts.tv_nsec == 100000000,
	      "rr interval of RR: 100 ms (%ld.%09ld)", (long)ts.tv_sec, ts.tv_nsec);
	CHECK(set(0, SCHED_BATCH, 0) == 0 && getsched(0) == SCHED_BATCH && prio_of(0) == 0, "set BATCH");
	CHECK(set(0, SCHED_IDLE, 0) == 0 && getsched(0) == SCHED_IDLE, "set IDLE");
	CHECK(set(0, SCHED_OTHER, 0) == 0 && getsched(0) == SCHED_OTHER, "back to OTHER");
	/* Linux reports the fair slice in whole jiffies: 0 when it is shorter. */
	CHECK(syscall(SYS_sched_rr_get_interval, 0, &ts) == 0 && ts.tv_sec == 0 && ts.tv_nsec >= 0 &&
		      ts.tv_nsec <= 100000000,
	      "rr interval of OTHER: the fair slice (%ld.%09ld)", (long)ts.tv_sec, ts.tv_nsec);
	CHECK_ERRNO(syscall(SYS_sched_rr_get_interval, -1, &ts), EINVAL, "rr interval of pid -1");
	CHECK_ERRNO(syscall(SYS_sched_rr_get_interval, dead_pid(), &ts), ESRCH, "rr interval of a dead pid");
	CHECK_ERRNO(syscall(SYS_sched_rr_get_interval, 0, BAD_PTR), EFAULT, "rr interval to a bad pointer");
}

static void attrs(void)
{
	struct attr a;
	pid_t dead = dead_pid();

	memset(&a, 0xff, sizeof a);
	CHECK(getattr(0, &a, 48, 0) == 0 && a.size == 48 && a.policy == SCHED_OTHER && a.nice == 0 &&
		      a.priority == 0 && a.flags == 0 && a.util_min == 0xffffffff,
	      "getattr(48): size 48, OTHER, nothing past 48 written");
	memset(&a, 0xff, sizeof a);
	CHECK(getattr(0, &a, sizeof a, 0) == 0 && a.size == 56 && a.extra[0] == 0 && a.extra[15] == 0,
	      "getattr(72): size 56 (%u), the rest zeroed", a.size);
	CHECK_ERRNO(getattr(0, &a, 47, 0), EINVAL, "getattr(size 47)");
	CHECK_ERRNO(getattr(0, &a, 4097, 0), EINVAL, "getattr(size 4097)");
	CHECK_ERRNO(getattr(0, &a, 48, 1), EINVAL, "getattr(flags 1)");
	CHECK_ERRNO(getattr(0, NULL, 48, 0), EINVAL, "getattr(NULL)");
	CHECK_ERRNO(getattr(-1, &a, 48, 0), EINVAL, "getattr(pid -1)");
	CHECK_ERRNO(getattr(dead, &a, 48, 0), ESRCH, "getattr(dead pid)");
	CHECK_ERRNO(getattr(0, BAD_PTR, 48, 0), EFAULT, "getattr(bad pointer)");
	CHECK_ERRNO(getattr(dead, &a, 47, 0), EINVAL, "getattr(dead pid, size 47): EINVAL first");

	memset(&a, 0, sizeof a);
	CHECK(setattr(0, &a, 0) == 0, "setattr(size 0 = 48, OTHER)");
	a.size = 48;
	a.nice = 5;
	CHECK(setattr(0, &a, 0) == 0 && getpriority(PRIO_PROCESS, 0) == 5, "setattr nice 5");
	a.nice = 100;
	CHECK(setattr(0, &a, 0) == 0 && getpriority(PRIO_PROCESS, 0) == 19, "setattr nice 100 clamps to 19");
	a.nice = 0;
	CHECK(setattr(0, &a, 0) == 0 && getpriority(PRIO_PROCESS, 0) == 0, "setattr nice 0");
	a.size = 40;
	CHECK_ERRNO(setattr(0, &a, 0), E2BIG, "setattr(size 40)");
	CHECK(a.size == 56, "size 56 written back (%u)", a.size);
	a.size = 4097;
	CHECK_ERRNO(setattr(0, &a, 0), E2BIG, "setattr(size 4097)");
	CHECK(a.size == 56, "size 56 written back (%u)", a.size);
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	CHECK(setattr(0, &a, 0) == 0, "setattr(size 72, zero tail)");
	a.extra[3] = 1;
	CHECK_ERRNO(setattr(0, &a, 0), E2BIG, "setattr(size 72, non-zero tail)");
	CHECK(a.size == 56, "size 56 written back (%u)", a.size);
	a.extra[3] = 0;
	a.size = 48;
	CHECK_ERRNO(setattr(0, &a, 1), EINVAL, "setattr(flags 1)");
	CHECK_ERRNO(setattr(0, NULL, 0), EINVAL, "setattr(NULL)");
	CHECK_ERRNO(setattr(-1, &a, 0), EINVAL, "setattr(pid -1)");
	CHECK_ERRNO(setattr(dead, &a, 0), ESRCH, "setattr(dead pid)");
	CHECK_ERRNO(setattr(0, BAD_PTR, 0), EFAULT, "setattr(bad pointer)");
	a.policy = (uint32_t)-1;
	CHECK_ERRNO(setattr(0, &a, 0), EINVAL, "setattr(policy -1)");
	CHECK_ERRNO(setattr(dead, &a, 0), EINVAL, "setattr(dead pid, policy -1): EINVAL first");
	a.policy = 4;
	CHECK_ERRNO(setattr(0, &a, 0), EINVAL, "setattr(policy 4)");
	a.policy = SCHED_OTHER;
	a.flags = 0x80;
	CHECK_ERRNO(setattr(0, &a, 0), EINVAL, "setattr(sched_flags 0x80)");
	a.flags = 0;
	a.policy = SCHED_FIFO;
	a.priority = 0;
	CHECK_ERRNO(setattr(0, &a, 0), EINVAL, "setattr(FIFO 0)");
	a.priority = 30;
	CHECK(setattr(0, &a, 0) == 0 && getsched(0) == SCHED_FIFO && prio_of(0) == 30, "setattr FIFO 30");
	memset(&a, 0xff, sizeof a);
	CHECK(getattr(0, &a, 48, 0) == 0 && a.policy == SCHED_FIFO && a.priority == 30 && a.nice == 0,
	      "getattr: FIFO 30 nice 0");
	memset(&a, 0, sizeof a);
	a.size = 48;
	a.flags = 8; /* SCHED_FLAG_KEEP_POLICY */
	a.priority = 40;
	a.policy = SCHED_OTHER;
	CHECK(setattr(0, &a, 0) == 0 && getsched(0) == SCHED_FIFO && prio_of(0) == 40,
	      "setattr KEEP_POLICY: FIFO 40");
	a.flags = SCHED_FLAG_RESET_ON_FORK_;
	a.policy = SCHED_RR;
	a.priority = 3;
	CHECK(setattr(0, &a, 0) == 0 && getsched(0) == (SCHED_RR | SCHED_RESET_ON_FORK),
	      "setattr RR with RESET_ON_FORK");
	memset(&a, 0, sizeof a);
	CHECK(getattr(0, &a, 48, 0) == 0 && a.policy == SCHED_RR && a.flags == 1 && a.priority == 3,
	      "getattr: RR 3, flag RESET_ON_FORK");
	memset(&a, 0, sizeof a);
	a.size = 48;
	a.policy = SCHED_IDLE;
	a.nice = 7;
	CHECK(setattr(0, &a, 0) == 0 && getsched(0) == SCHED_IDLE, "setattr IDLE");
	memset(&a, 0, sizeof a);
	CHECK(getattr(0, &a, 48, 0) == 0 && a.policy == SCHED_IDLE && a.nice == 0,
	      "getattr: IDLE, nice kept at 0 (%d)", a.nice);
	CHECK(set(0, SCHED_OTHER, 0) == 0, "back to OTHER");
}

static volatile int thread_policy = -1, thread_prio = -1;
static volatile long thread_tid;
static volatile int thread_go;

static void *thread_main(void *arg)
{
	(void)arg;
	thread_policy = (int)getsched(0);
	thread_prio = prio_of(0);
	thread_tid = syscall(SYS_gettid);
	/* Sleeps: spinning at a higher real-time priority than the main
	 * thread would keep it from ever running on one CPU. */
	while (!thread_go)
		usleep(1000);
	return NULL;
}

static void inheritance(void)
{
	pthread_t t;
	int status;
	pid_t c;

	/* Threads inherit; the policy is per thread. */
	CHECK(set(0, SCHED_RR, 7) == 0, "set RR 7");
	pthread_create(&t, NULL, thread_main, NULL);
	while (!thread_tid)
		sched_yield();
	CHECK(thread_policy == SCHED_RR && thread_prio == 7, "a new thread inherits RR 7");
	CHECK(set(thread_tid, SCHED_FIFO, 9) == 0, "set the thread (by tid) to FIFO 9");
	CHECK(getsched(thread_tid) == SCHED_FIFO && prio_of(thread_tid) == 9, "the thread is FIFO 9");
	CHECK(getsched(0) == SCHED_RR && prio_of(0) == 7, "the caller is still RR 7");
	thread_go = 1;
	pthread_join(t, NULL);
	CHECK_ERRNO(getsched(thread_tid), ESRCH, "the thread's tid is gone after join");

	/* fork inherits. */
	c = fork();
	if (c == 0)
		_exit(getsched(0) == SCHED_RR && prio_of(0) == 7 ? 0 : 1);
	waitpid(c, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child inherits RR 7");

	/* SCHED_RESET_ON_FORK: the child is SCHED_OTHER, nice 0, without the flag. */
	CHECK(set(0, SCHED_RR | SCHED_RESET_ON_FORK, 7) == 0, "set RR 7 | RESET_ON_FORK");
	CHECK(getsched(0) == (SCHED_RR | SCHED_RESET_ON_FORK), "getscheduler shows the flag");
	c = fork();
	if (c == 0)
		_exit(getsched(0) == SCHED_OTHER && prio_of(0) == 0 ? 0 : 1);
	waitpid(c, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reset on fork: the child is OTHER 0");
	{
		struct sched_param p = { .sched_priority = 8 };
		CHECK(setparam(0, &p) == 0 && getsched(0) == (SCHED_RR | SCHED_RESET_ON_FORK),
		      "setparam keeps the flag");
	}

	/* A negative nice is reset, a positive one is kept. */
	CHECK(set(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0) == 0 && setpriority(PRIO_PROCESS, 0, -5) == 0,
	      "OTHER | RESET_ON_FORK, nice -5");
	c = fork();
	if (c == 0)
		_exit(getpriority(PRIO_PROCESS, 0) == 0 && getsched(0) == SCHED_OTHER ? 0 : 1);
	waitpid(c, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reset on fork: nice -5 becomes 0");
	CHECK(setpriority(PRIO_PROCESS, 0, 3) == 0, "nice 3");
	c = fork();
	if (c == 0)
		_exit(getpriority(PRIO_PROCESS, 0) == 3 ? 0 : 1);
	waitpid(c, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reset on fork: nice 3 is kept");
	CHECK(set(0, SCHED_OTHER, 0) == 0 && setpriority(PRIO_PROCESS, 0, 0) == 0, "back to OTHER, nice 0");
}

/* Runs in a child: what an unprivileged user may do. */
static int unprivileged(void)
{
	struct attr a;
	struct sched_param p;

	CHECK(set(0, SCHED_FIFO, 10) == 0, "as root: FIFO 10");
	CHECK(setuid(54321) == 0, "setuid(54321)");
	CHECK(getsched(0) == SCHED_FIFO, "still FIFO");
	p.sched_priority = 11;
	CHECK_ERRNO(setparam(0, &p), EPERM, "raising the RT priority: EPERM");
	p.sched_priority = 5;
	CHECK(setparam(0, &p) == 0 && prio_of(0) == 5, "lowering the RT priority is allowed");
	CHECK_ERRNO(set(0, SCHED_RR, 5), EPERM, "changing FIFO to RR: EPERM");
	CHECK(set(0, SCHED_OTHER, 0) == 0, "leaving RT for OTHER is allowed");
	CHECK_ERRNO(set(0, SCHED_FIFO, 1), EPERM, "OTHER to FIFO: EPERM");
	CHECK_ERRNO(set(0, SCHED_RR, 1), EPERM, "OTHER to RR: EPERM");
	CHECK(set(0, SCHED_BATCH, 0) == 0, "OTHER to BATCH is allowed");
	memset(&a, 0, sizeof a);
	a.size = 48;
	a.nice = -1;
	CHECK_ERRNO(setattr(0, &a, 0), EPERM, "setattr nice -1: EPERM");
	a.nice = 4;
	CHECK(setattr(0, &a, 0) == 0 && getpriority(PRIO_PROCESS, 0) == 4, "setattr nice 4 is allowed");
	a.nice = 2;
	CHECK_ERRNO(setattr(0, &a, 0), EPERM, "setattr nice 4 -> 2: EPERM");
	CHECK(set(0, SCHED_IDLE, 0) == 0, "to IDLE is allowed");
	CHECK_ERRNO(set(0, SCHED_OTHER, 0), EPERM, "IDLE back to OTHER: EPERM");
	CHECK_ERRNO(set(0, SCHED_BATCH, 0), EPERM, "IDLE to BATCH: EPERM");
	CHECK(set(0, SCHED_IDLE | SCHED_RESET_ON_FORK, 0) == 0, "setting RESET_ON_FORK is allowed");
	CHECK_ERRNO(set(0, SCHED_IDLE, 0), EPERM, "clearing RESET_ON_FORK: EPERM");
	CHECK_ERRNO(set(getppid(), SCHED_OTHER, 0), EPERM, "changing root's process: EPERM");
	CHECK(getsched(getppid()) == SCHED_OTHER, "reading root's process is allowed");
	CHECK_ERRNO(set(dead_pid(), SCHED_OTHER, 0), ESRCH, "unknown pid: ESRCH before EPERM");

	/* RLIMIT_RTPRIO lets an unprivileged user use RT priorities up to it;
	 * raising the hard limit needs CAP_SYS_RESOURCE, which a host test
	 * may lack. */
	return check_exit();
}

static int rtprio_limit(void)
{
	struct rlimit rl = { 10, 10 };
	struct sched_param p;

	if (setrlimit(RLIMIT_RTPRIO, &rl) != 0) {
		INFO("cannot raise RLIMIT_RTPRIO (no CAP_SYS_RESOURCE): skipped");
		return check_exit();
	}
	rl.rlim_cur = rl.rlim_max = 20;
	setrlimit(RLIMIT_NICE, &rl);
	CHECK(setuid(54321) == 0, "setuid(54321)");
	CHECK(set(0, SCHED_FIFO, 10) == 0, "RLIMIT_RTPRIO 10: FIFO 10 is allowed");
	p.sched_priority = 11;
	CHECK_ERRNO(setparam(0, &p), EPERM, "RLIMIT_RTPRIO 10: 11 is not");
	CHECK(set(0, SCHED_RR, 2) == 0, "RLIMIT_RTPRIO 10: FIFO to RR is allowed");
	CHECK(set(0, SCHED_OTHER, 0) == 0 && setpriority(PRIO_PROCESS, 0, 5) == 0, "OTHER, nice 5");
	CHECK(setpriority(PRIO_PROCESS, 0, 0) == 0, "RLIMIT_NICE 20: nice 0 is allowed");
	CHECK_ERRNO(setpriority(PRIO_PROCESS, 0, -1), EACCES, "RLIMIT_NICE 20: nice -1 is not");
	CHECK(set(0, SCHED_IDLE, 0) == 0 && set(0, SCHED_OTHER, 0) == 0,
	      "RLIMIT_NICE 20: IDLE back to OTHER is allowed");
	return check_exit();
}

static void in_child(int (*f)(void), const char *what)
{
	int status;
	pid_t c;

	fflush(stdout);
	c = fork();
	if (c == 0) {
		check_total_ = check_failed_ = 0;
		_exit(f());
	}
	waitpid(c, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", what);
}

int main(void)
{
	cpu_set_t set;

	/* One CPU, as the kernel under test has: what runs when is the same. */
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CHECK(sched_setaffinity(0, sizeof set, &set) == 0, "pinned to CPU 0");
	errors();
	policies();
	attrs();
	inheritance();
	in_child(unprivileged, "unprivileged user");
	in_child(rtprio_limit, "RLIMIT_RTPRIO and RLIMIT_NICE");
	return check_exit();
}
