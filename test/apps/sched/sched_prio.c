/*
 * Nice values (getpriority/setpriority for a process, a process group and
 * a user, nice()), CPU affinity, getcpu, I/O priorities, personality, and
 * the scheduling fields of /proc/PID/stat.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define BAD_PTR ((void *)16)

/* <linux/ioprio.h> and <linux/personality.h>, not in every libc. */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_WHO_PGRP 2
#define IOPRIO_WHO_USER 3
#define IOPRIO_CLASS_NONE 0
#define IOPRIO_CLASS_RT 1
#define IOPRIO_CLASS_BE 2
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO(class, data) (((class) << 13) | (data))
#define ADDR_NO_RANDOMIZE_ 0x0040000

#define OTHER_UID 54321

static long raw_getprio(long which, long who)
{
	return syscall(SYS_getpriority, which, who);
}

static long raw_setprio(long which, long who, long nice)
{
	return syscall(SYS_setpriority, which, who, nice);
}

static long ioprio_get(long which, long who)
{
	return syscall(SYS_ioprio_get, which, who);
}

static long ioprio_set(long which, long who, long prio)
{
	return syscall(SYS_ioprio_set, which, who, prio);
}

static pid_t dead_pid(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
}

/* A child that waits to be killed, optionally in its own process group
 * and as another user. */
/* A child that sleeps in group `pgid` (if >= 0) as `uid` (if nonzero);
 * returns once the child is set up (with several CPUs, the next call may
 * otherwise run before this child changed its uid). */
static pid_t sleeper(pid_t pgid, uid_t uid)
{
	int ready[2];
	char c = 0;
	if (pipe(ready) != 0)
		return -1;
	pid_t p = fork();
	if (p == 0) {
		close(ready[0]);
		if (pgid >= 0)
			setpgid(0, pgid);
		if (uid)
			setuid(uid);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		close(ready[1]);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pgid >= 0)
		setpgid(p, pgid);
	if (read(ready[0], &c, 1) != 1)
		p = -1;
	close(ready[0]);
	return p;
}

static void reap(pid_t p)
{
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

static volatile long thread_tid;
static volatile int thread_go;

static void *thread_main(void *arg)
{
	(void)arg;
	thread_tid = syscall(SYS_gettid);
	while (!thread_go)
		sched_yield();
	return NULL;
}

static void nice_values(void)
{
	pid_t dead = dead_pid();
	pid_t a, b;
	pthread_t t;

	CHECK(raw_getprio(PRIO_PROCESS, 0) == 20, "raw getpriority: 20 - nice = 20");
	CHECK(getpriority(PRIO_PROCESS, 0) == 0, "libc getpriority: 0");
	CHECK_ERRNO(raw_getprio(3, 0), EINVAL, "getpriority(which 3)");
	CHECK_ERRNO(raw_getprio(-1, 0), EINVAL, "getpriority(which -1)");
	CHECK_ERRNO(raw_setprio(3, 0, 0), EINVAL, "setpriority(which 3)");
	CHECK_ERRNO(raw_getprio(PRIO_PROCESS, dead), ESRCH, "getpriority(dead pid)");
	CHECK_ERRNO(raw_getprio(PRIO_PROCESS, -1), ESRCH, "getpriority(pid -1)");
	CHECK_ERRNO(raw_setprio(PRIO_PROCESS, dead, 0), ESRCH, "setpriority(dead pid)");
	CHECK_ERRNO(raw_setprio(PRIO_PROCESS, -1, 0), ESRCH, "setpriority(pid -1)");
	CHECK_ERRNO(raw_getprio(PRIO_PGRP, dead), ESRCH, "getpriority(empty process group)");
	CHECK_ERRNO(raw_getprio(PRIO_USER, OTHER_UID + 8), ESRCH, "getpriority(user without processes)");
	CHECK_ERRNO(raw_setprio(PRIO_USER, OTHER_UID + 8, 0), ESRCH, "setpriority(user without processes)");

	CHECK(setpriority(PRIO_PROCESS, 0, 25) == 0 && getpriority(PRIO_PROCESS, 0) == 19, "nice 25 clamps to 19");
	CHECK(raw_getprio(PRIO_PROCESS, getpid()) == 1, "raw: 20 - 19 = 1");
	CHECK(setpriority(PRIO_PROCESS, 0, -25) == 0 && getpriority(PRIO_PROCESS, 0) == -20,
	      "nice -25 clamps to -20 (privileged)");
	CHECK(raw_getprio(PRIO_PROCESS, 0) == 40, "raw: 20 + 20 = 40");
	CHECK(setpriority(PRIO_PROCESS, 0, 0) == 0, "nice 0");
	errno = 0;
	CHECK(nice(3) == 3 && errno == 0 && getpriority(PRIO_PROCESS, 0) == 3, "nice(3): 3");
	CHECK(nice(-1) == 2 && getpriority(PRIO_PROCESS, 0) == 2, "nice(-1): 2");
	CHECK(setpriority(PRIO_PROCESS, 0, 0) == 0, "nice 0");

	/* Per thread. */
	pthread_create(&t, NULL, thread_main, NULL);
	while (!thread_tid)
		sched_yield();
	CHECK(setpriority(PRIO_PROCESS, thread_tid, 6) == 0, "nice 6 for the thread by tid");
	CHECK(getpriority(PRIO_PROCESS, thread_tid) == 6, "the thread has nice 6");
	CHECK(getpriority(PRIO_PROCESS, 0) == 0, "the caller keeps nice 0");
	thread_go = 1;
	pthread_join(t, NULL);

	/* Process groups. */
	a = sleeper(0, 0);
	b = sleeper(a, 0);
	CHECK(setpriority(PRIO_PGRP, a, 5) == 0, "setpriority(PRIO_PGRP, 5)");
	CHECK(getpriority(PRIO_PROCESS, a) == 5 && getpriority(PRIO_PROCESS, b) == 5, "both members: nice 5");
	CHECK(setpriority(PRIO_PROCESS, b, 8) == 0 && getpriority(PRIO_PGRP, a) == 5,
	      "getpriority(PRIO_PGRP): the least nice");
	CHECK(getpriority(PRIO_PROCESS, 0) == 0, "the caller is not in the group");
	reap(a);
	reap(b);

	/* Users: every process whose real uid matches. */
	a = sleeper(-1, OTHER_UID);
	b = sleeper(-1, OTHER_UID);
	for (int i = 0; i < 200 && (raw_getprio(PRIO_USER, OTHER_UID) < 0); i++)
		usleep(10000);
	CHECK(setpriority(PRIO_USER, OTHER_UID, 7) == 0, "setpriority(PRIO_USER, 7)");
	CHECK(getpriority(PRIO_PROCESS, a) == 7 && getpriority(PRIO_PROCESS, b) == 7, "both processes: nice 7");
	CHECK(setpriority(PRIO_PROCESS, a, 9) == 0 && getpriority(PRIO_USER, OTHER_UID) == 7,
	      "getpriority(PRIO_USER): the least nice");
	reap(a);
	reap(b);
}

static int unprivileged_nice(void)
{
	pid_t parent = getppid();

	CHECK(setuid(OTHER_UID) == 0, "setuid");
	CHECK(setpriority(PRIO_PROCESS, 0, 5) == 0, "raising nice is allowed");
	CHECK_ERRNO(setpriority(PRIO_PROCESS, 0, 4), EACCES, "lowering nice: EACCES");
	CHECK_ERRNO(nice(-1), EPERM, "nice(-1): EPERM (libc maps EACCES)");
	CHECK(setpriority(PRIO_PROCESS, 0, 5) == 0, "the same nice is allowed");
	CHECK_ERRNO(setpriority(PRIO_PROCESS, parent, 10), EPERM, "root's process: EPERM");
	CHECK_ERRNO(setpriority(PRIO_PROCESS, parent, -10), EPERM, "root's process, lower nice: EPERM first");
	CHECK(getpriority(PRIO_PROCESS, parent) == 0, "reading root's nice is allowed");
	CHECK_ERRNO(ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO(IOPRIO_CLASS_RT, 0)), EPERM, "ioprio RT: EPERM");
	CHECK_ERRNO(ioprio_set(4, 0, IOPRIO(IOPRIO_CLASS_RT, 0)), EPERM, "ioprio RT, bad which: EPERM first");
	CHECK(ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO(IOPRIO_CLASS_BE, 0)) == 0, "ioprio BE 0 is allowed");
	CHECK_ERRNO(ioprio_set(IOPRIO_WHO_PROCESS, parent, IOPRIO(IOPRIO_CLASS_BE, 0)), EPERM,
		    "ioprio of root's process: EPERM");
	{
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		CHECK_ERRNO(sched_setaffinity(parent, sizeof set, &set), EPERM, "affinity of root's process: EPERM");
	}
	return check_exit();
}

static void affinity(void)
{
	unsigned long mask[4] = { 0, 0, 0, 0 };
	long n;
	cpu_set_t set;
	unsigned cpu = 99, node = 99;

	n = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
	/* Linux returns the size of its CPU masks: 8 bytes up to 64 CPUs
	 * (nr_cpu_ids), more on kernels built with fixed-size masks. */
	CHECK(n >= 8 && n % 8 == 0 && n <= (long)sizeof mask && (mask[0] & 1),
	      "getaffinity: a multiple of 8 bytes, CPU 0 in it (%ld, %#lx)", n, mask[0]);
	CHECK(syscall(SYS_sched_getaffinity, 0, 8, mask) == 8, "getaffinity(len 8)");
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 0, mask), EINVAL, "getaffinity(len 0)");
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 4, mask), EINVAL, "getaffinity(len 4)");
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 12, mask), EINVAL, "getaffinity(len 12)");
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 8, BAD_PTR), EFAULT, "getaffinity(bad pointer)");
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, -1, 8, mask), ESRCH, "getaffinity(pid -1)");
	CHECK_ERRNO(syscall(SYS_sched_getaffinity, dead_pid(), 8, mask), ESRCH, "getaffinity(dead pid)");

	mask[0] = 1;
	CHECK(syscall(SYS_sched_setaffinity, 0, 8, mask) == 0, "setaffinity(CPU 0)");
	mask[0] = 0;
	CHECK(syscall(SYS_sched_getaffinity, 0, 8, mask) == 8 && mask[0] == 1, "getaffinity: CPU 0 only");
	mask[0] = 1;
	CHECK(syscall(SYS_sched_setaffinity, 0, 4, mask) == 0, "setaffinity(len 4)");
	CHECK(syscall(SYS_sched_setaffinity, 0, sizeof mask, mask) == 0, "setaffinity(len 32)");
	mask[0] = 1UL << 63;
	CHECK_ERRNO(syscall(SYS_sched_setaffinity, 0, 8, mask), EINVAL, "setaffinity(CPU 63 only)");
	mask[0] = 0;
	CHECK_ERRNO(syscall(SYS_sched_setaffinity, 0, 8, mask), EINVAL, "setaffinity(empty)");
	mask[0] = 1;
	CHECK_ERRNO(syscall(SYS_sched_setaffinity, 0, 0, mask), EINVAL, "setaffinity(len 0)");
	CHECK_ERRNO(syscall(SYS_sched_setaffinity, 0, 8, BAD_PTR), EFAULT, "setaffinity(bad pointer)");
	CHECK_ERRNO(syscall(SYS_sched_setaffinity, -1, 8, mask), ESRCH, "setaffinity(pid -1)");
	CHECK_ERRNO(syscall(SYS_sched_setaffinity, dead_pid(), 8, BAD_PTR), EFAULT,
		    "setaffinity(dead pid, bad pointer): EFAULT first");
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CHECK(sched_setaffinity(0, sizeof set, &set) == 0, "libc sched_setaffinity(CPU 0)");

	CHECK(syscall(SYS_getcpu, &cpu, &node, NULL) == 0 && cpu == 0 && node == 0, "getcpu: CPU 0, node 0");
	CHECK(syscall(SYS_getcpu, NULL, NULL, NULL) == 0, "getcpu(NULL, NULL)");
	CHECK(syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 && cpu == 0, "getcpu(cpu only)");
	CHECK_ERRNO(syscall(SYS_getcpu, BAD_PTR, NULL, NULL), EFAULT, "getcpu(bad cpu pointer)");
	CHECK_ERRNO(syscall(SYS_getcpu, NULL, BAD_PTR, NULL), EFAULT, "getcpu(bad node pointer)");
}

static void ioprio(void)
{
	pid_t a, b, c;
	int status;

	/* A new process's is "none" (0), but this one may have inherited
	 * another from its parent. */
	CHECK(ioprio_set(IOPRIO_WHO_PROCESS, 0, 0) == 0 && ioprio_get(IOPRIO_WHO_PROCESS, 0) == 0,
	      "ioprio none (0)");
	CHECK_ERRNO(ioprio_get(0, 0), EINVAL, "ioprio_get(which 0)");
	CHECK_ERRNO(ioprio_get(4, 0), EINVAL, "ioprio_get(which 4)");
	CHECK_ERRNO(ioprio_get(IOPRIO_WHO_PROCESS, -1), ESRCH, "ioprio_get(pid -1)");
	CHECK_ERRNO(ioprio_get(IOPRIO_WHO_PROCESS, dead_pid()), ESRCH, "ioprio_get(dead pid)");
	CHECK_ERRNO(ioprio_get(IOPRIO_WHO_USER, OTHER_UID + 8), ESRCH, "ioprio_get(user without processes)");

	CHECK(ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO(IOPRIO_CLASS_BE, 7)) == 0, "ioprio BE 7");
	CHECK(ioprio_get(IOPRIO_WHO_PROCESS, 0) == IOPRIO(IOPRIO_CLASS_BE, 7), "reads BE 7");
	CHECK(ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO(IOPRIO_CLASS_IDLE, 0)) == 0 &&
		      ioprio_get(IOPRIO_WHO_PROCESS, getpid()) == IOPRIO(IOPRIO_CLASS_IDLE, 0),
	      "ioprio IDLE");
	CHECK(ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO(IOPRIO_CLASS_RT, 3)) == 0 &&
		      ioprio_get(IOPRIO_WHO_PROCESS, 0) == IOPRIO(IOPRIO_CLASS_RT, 3),
	      "ioprio RT 3 (privileged)");
	CHECK_ERRNO(ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO(IOPRIO_CLASS_NONE, 1)), EINVAL, "class none, level 1");
	CHECK_ERRNO(ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO(4, 0)), EINVAL, "class 4");
	CHECK_ERRNO(ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO(7, 0)), EINVAL, "class 7");
	CHECK_ERRNO(ioprio_set(IOPRIO_WHO_PROCESS, 0, -1), EINVAL, "ioprio -1");
	CHECK_ERRNO(ioprio_set(0, 0, 0), EINVAL, "ioprio_set(which 0)");
	CHECK_ERRNO(ioprio_set(4, 0, 0), EINVAL, "ioprio_set(which 4)");
	CHECK_ERRNO(ioprio_set(4, 0, -1), EINVAL, "ioprio_set(which 4, bad ioprio)");
	CHECK_ERRNO(ioprio_set(IOPRIO_WHO_PROCESS, -1, 0), ESRCH, "ioprio_set(pid -1)");
	CHECK_ERRNO(ioprio_set(IOPRIO_WHO_PROCESS, dead_pid(), 0), ESRCH, "ioprio_set(dead pid)");
	CHECK_ERRNO(ioprio_set(IOPRIO_WHO_PROCESS, dead_pid(), -1), EINVAL, "ioprio_set(dead pid, bad ioprio)");

	/* Inherited across fork. */
	CHECK(ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO(IOPRIO_CLASS_BE, 2)) == 0, "ioprio BE 2");
	c = fork();
	if (c == 0)
		_exit(ioprio_get(IOPRIO_WHO_PROCESS, 0) == IOPRIO(IOPRIO_CLASS_BE, 2) ? 0 : 1);
	waitpid(c, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child inherits BE 2");
	CHECK(ioprio_set(IOPRIO_WHO_PROCESS, 0, 0) == 0 && ioprio_get(IOPRIO_WHO_PROCESS, 0) == 0, "back to none");

	/* A group: the best of its members, "none" counting as BE 4. */
	a = sleeper(0, 0);
	b = sleeper(a, 0);
	CHECK(ioprio_get(IOPRIO_WHO_PGRP, a) == IOPRIO(IOPRIO_CLASS_BE, 4), "group of two 'none': BE 4");
	CHECK(ioprio_set(IOPRIO_WHO_PROCESS, b, IOPRIO(IOPRIO_CLASS_BE, 6)) == 0 &&
		      ioprio_get(IOPRIO_WHO_PGRP, a) == IOPRIO(IOPRIO_CLASS_BE, 4),
	      "none and BE 6: BE 4");
	CHECK(ioprio_set(IOPRIO_WHO_PGRP, a, IOPRIO(IOPRIO_CLASS_BE, 1)) == 0 &&
		      ioprio_get(IOPRIO_WHO_PROCESS, a) == IOPRIO(IOPRIO_CLASS_BE, 1) &&
		      ioprio_get(IOPRIO_WHO_PROCESS, b) == IOPRIO(IOPRIO_CLASS_BE, 1),
	      "ioprio_set(PGRP) sets every member");
	CHECK(ioprio_set(IOPRIO_WHO_PROCESS, b, IOPRIO(IOPRIO_CLASS_RT, 5)) == 0 &&
		      ioprio_get(IOPRIO_WHO_PGRP, a) == IOPRIO(IOPRIO_CLASS_RT, 5),
	      "BE 1 and RT 5: RT 5");
	reap(a);
	reap(b);
	a = sleeper(-1, OTHER_UID);
	for (int i = 0; i < 200 && (raw_getprio(PRIO_USER, OTHER_UID) < 0); i++)
		usleep(10000);
	CHECK(ioprio_set(IOPRIO_WHO_USER, OTHER_UID, IOPRIO(IOPRIO_CLASS_IDLE, 0)) == 0 &&
		      ioprio_get(IOPRIO_WHO_USER, OTHER_UID) == IOPRIO(IOPRIO_CLASS_IDLE, 0),
	      "ioprio by user");
	reap(a);
}

static void personality_(void)
{
	int status;
	pid_t c;

	CHECK(syscall(SYS_personality, 0xffffffffUL) == 0, "personality: PER_LINUX");
	CHECK(syscall(SYS_personality, ADDR_NO_RANDOMIZE_) == 0, "set ADDR_NO_RANDOMIZE: returns the old 0");
	CHECK(syscall(SYS_personality, 0xffffffffUL) == ADDR_NO_RANDOMIZE_, "query: ADDR_NO_RANDOMIZE");
	c = fork();
	if (c == 0)
		_exit(syscall(SYS_personality, 0xffffffffUL) == ADDR_NO_RANDOMIZE_ ? 0 : 1);
	waitpid(c, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a forked child inherits it");
	CHECK(syscall(SYS_personality, 0x1234) == ADDR_NO_RANDOMIZE_, "set an unknown personality 0x1234");
	CHECK(syscall(SYS_personality, 0xffffffffUL) == 0x1234, "kept as given");
	CHECK(syscall(SYS_personality, 0xfffffffeUL) == 0x1234, "set 0xfffffffe");
	CHECK(syscall(SYS_personality, 0x1ffffffffUL) == 0xfffffffeUL, "only 32 bits count: a query");
	CHECK(syscall(SYS_personality, 0) == 0xfffffffeUL, "back to PER_LINUX");
	CHECK(syscall(SYS_personality, 0xffffffffUL) == 0, "PER_LINUX");
}

/* Fields 18, 19, 40 and 41 of /proc/self/stat. */
static int stat_fields(long *prio, long *nice, long *rt, long *policy)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n;
	char *p;
	long v[52];
	int i;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	p += 2;
	/* p is at field 3 (state): skip it. */
	p = strchr(p, ' ');
	for (i = 4; i <= 41 && p; i++) {
		char *end;
		v[i] = strtol(p, &end, 10);
		p = end;
	}
	if (i <= 41)
		return -1;
	*prio = v[18];
	*nice = v[19];
	*rt = v[40];
	*policy = v[41];
	return 0;
}

static void proc_stat(void)
{
	long prio = -99, nice_ = -99, rt = -99, policy = -99;
	struct sched_param sp = { .sched_priority = 10 };

	CHECK(stat_fields(&prio, &nice_, &rt, &policy) == 0 && prio == 20 && nice_ == 0 && rt == 0 && policy == 0,
	      "stat: priority 20, nice 0, rt 0, policy 0 (%ld %ld %ld %ld)", prio, nice_, rt, policy);
	setpriority(PRIO_PROCESS, 0, 5);
	CHECK(stat_fields(&prio, &nice_, &rt, &policy) == 0 && prio == 25 && nice_ == 5 && rt == 0 && policy == 0,
	      "stat at nice 5: 25 5 0 0 (%ld %ld %ld %ld)", prio, nice_, rt, policy);
	syscall(SYS_sched_setscheduler, 0, SCHED_FIFO | 0x40000000, &sp);
	CHECK(stat_fields(&prio, &nice_, &rt, &policy) == 0 && prio == -11 && nice_ == 5 && rt == 10 && policy == 1,
	      "stat at FIFO 10: -11 5 10 1 (%ld %ld %ld %ld)", prio, nice_, rt, policy);
	sp.sched_priority = 0;
	syscall(SYS_sched_setscheduler, 0, SCHED_IDLE, &sp);
	CHECK(stat_fields(&prio, &nice_, &rt, &policy) == 0 && prio == 25 && nice_ == 5 && rt == 0 && policy == 5,
	      "stat at IDLE: 25 5 0 5 (%ld %ld %ld %ld)", prio, nice_, rt, policy);
	syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp);
	setpriority(PRIO_PROCESS, 0, 0);
}

int main(void)
{
	int status;
	pid_t c;

	nice_values();
	affinity();
	ioprio();
	personality_();
	proc_stat();

	fflush(stdout);
	c = fork();
	if (c == 0) {
		check_total_ = check_failed_ = 0;
		_exit(unprivileged_nice());
	}
	waitpid(c, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unprivileged user");
	return check_exit();
}
