/*
 * setrlimit, getrlimit and prlimit64 as Linux checks them: soft above
 * hard is EINVAL, RLIMIT_NOFILE above nr_open EPERM, raising a hard limit
 * without privilege EPERM, lowering it is for good; prlimit's order
 * (EFAULT, ESRCH, EPERM, EINVAL) and its permission rule for other
 * processes (same real/effective/saved ids as the caller's real ids).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

struct rl64 {
	uint64_t cur, max;
};

static long prl(long pid, long res, struct rl64 *new, struct rl64 *old)
{
	return syscall(SYS_prlimit64, pid, res, new, old);
}

static unsigned long nr_open(void)
{
	unsigned long n = 1048576;
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");
	if (f) {
		if (fscanf(f, "%lu", &n) != 1)
			n = 1048576;
		fclose(f);
	}
	return n;
}

static int run_child(void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		fn();
		_exit(check_failed_ ? 1 : 0);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static pid_t parent_pid;
static volatile pid_t thread_tid;

static void *thread_main(void *arg)
{
	(void)arg;
	thread_tid = (pid_t)syscall(SYS_gettid);
	for (;;)
		pause();
	return NULL;
}

static void as_nobody(void)
{
	/* A root-owned sleeper to aim prlimit at after dropping privilege;
	 * nobody can neither kill it nor (Linux checks that too) send it a
	 * parent-death signal, so it ends once its parent is gone. */
	pid_t me = getpid();
	pid_t root_child = fork();
	if (root_child == 0) {
		while (getppid() == me)
			usleep(20000);
		_exit(0);
	}
	CHECK(setgid(65534) == 0 && setuid(65534) == 0, "become nobody");
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit(RLIMIT_NOFILE)");
	struct rlimit lower = {64, 128};
	CHECK(setrlimit(RLIMIT_NOFILE, &lower) == 0, "lower the hard limit to 128");
	struct rlimit raise = {64, 129};
	CHECK_ERRNO(setrlimit(RLIMIT_NOFILE, &raise), EPERM, "raise it again: EPERM");
	struct rlimit soft = {128, 128};
	CHECK(setrlimit(RLIMIT_NOFILE, &soft) == 0, "soft up to the hard limit");
	struct rlimit bad = {200, 150};
	CHECK_ERRNO(setrlimit(RLIMIT_NOFILE, &bad), EINVAL, "soft > hard: EINVAL before EPERM");
	struct rlimit big = {nr_open() + 1, nr_open() + 1};
	CHECK_ERRNO(setrlimit(RLIMIT_NOFILE, &big), EPERM, "above nr_open: EPERM");
	struct rl64 old, n = {16, 128};
	CHECK(prl(0, RLIMIT_NOFILE, &n, &old) == 0 && old.cur == 128 && old.max == 128,
	      "prlimit64 on itself, old value returned");
	n.max = 1000;
	CHECK_ERRNO(prl(0, RLIMIT_NOFILE, &n, NULL), EPERM, "prlimit64 raising: EPERM");
	CHECK_ERRNO(prl(parent_pid, RLIMIT_NOFILE, NULL, &old), EPERM,
		    "prlimit64 on a process of another user: EPERM (even to read)");
	CHECK_ERRNO(prl(root_child, RLIMIT_CORE, NULL, NULL), EPERM,
		    "prlimit64 on root's child: EPERM");
	pid_t mine = fork();
	if (mine == 0) {
		pause();
		_exit(0);
	}
	n.cur = 1000;
	n.max = 1000;
	CHECK(prl(mine, RLIMIT_FSIZE, &n, NULL) == 0, "prlimit64 on its own child");
	CHECK(prl(mine, RLIMIT_FSIZE, NULL, &old) == 0 && old.cur == 1000 && old.max == 1000,
	      "the child's limit changed");
	CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_max != 1000, "its own did not");
	kill(mine, SIGKILL);
	waitpid(mine, NULL, 0);
}

int main(void)
{
	parent_pid = getpid();
	struct rlimit rl;
	struct rl64 old, n;

	CHECK_ERRNO(getrlimit(99, &rl), EINVAL, "getrlimit(bad resource): EINVAL");
	CHECK_ERRNO(syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)8), EFAULT,
		    "getrlimit(bad pointer): EFAULT");
	CHECK_ERRNO(syscall(SYS_getrlimit, 99, (void *)8), EINVAL,
		    "getrlimit: the resource before the pointer");
	CHECK_ERRNO(syscall(SYS_setrlimit, 99, (void *)8), EFAULT,
		    "setrlimit: the pointer before the resource");
	CHECK(getrlimit(RLIMIT_STACK, &rl) == 0, "getrlimit(RLIMIT_STACK)");
	struct rlimit bad = {rl.rlim_cur == RLIM_INFINITY ? RLIM_INFINITY : rl.rlim_cur + 1,
			     rl.rlim_cur == RLIM_INFINITY ? 1 : rl.rlim_cur};
	CHECK_ERRNO(setrlimit(RLIMIT_STACK, &bad), EINVAL, "soft > hard: EINVAL");
	struct rlimit nof = {nr_open() + 1, nr_open() + 1};
	CHECK_ERRNO(setrlimit(RLIMIT_NOFILE, &nof), EPERM, "RLIMIT_NOFILE above nr_open: EPERM");
	nof.rlim_cur = 10;
	nof.rlim_max = 5;
	CHECK_ERRNO(setrlimit(RLIMIT_NOFILE, &nof), EINVAL, "soft > hard before nr_open");

	/* prlimit64's order. */
	CHECK_ERRNO(prl(0, RLIMIT_CORE, (void *)8, NULL), EFAULT, "bad new pointer: EFAULT");
	CHECK_ERRNO(prl(999999, 99, (void *)8, NULL), EFAULT, "EFAULT before ESRCH and EINVAL");
	CHECK_ERRNO(prl(999999, 99, NULL, NULL), ESRCH, "no such process: ESRCH before EINVAL");
	CHECK_ERRNO(prl(-1, RLIMIT_CORE, NULL, NULL), ESRCH, "negative pid: ESRCH");
	CHECK_ERRNO(prl(0, 99, NULL, &old), EINVAL, "bad resource: EINVAL");
	CHECK_ERRNO(prl(0, RLIMIT_CORE, NULL, (void *)8), EFAULT, "bad old pointer: EFAULT");
	CHECK(prl(0, RLIMIT_CORE, NULL, &old) == 0, "read RLIMIT_CORE");
	n.cur = 0;
	n.max = old.max;
	struct rl64 prev;
	CHECK(prl(getpid(), RLIMIT_CORE, &n, &prev) == 0 && prev.cur == old.cur &&
	      prev.max == old.max, "set it by pid, old value returned");
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0, "getrlimit sees it");
	n.cur = 2;
	n.max = 1;
	CHECK_ERRNO(prl(0, RLIMIT_CORE, &n, &prev), EINVAL, "prlimit64 soft > hard: EINVAL");

	pthread_t th;
	CHECK(pthread_create(&th, NULL, thread_main, NULL) == 0, "start a thread");
	while (!thread_tid)
		usleep(1000);
	CHECK(prl(thread_tid, RLIMIT_CORE, NULL, &old) == 0 && old.cur == 0,
	      "prlimit64 by a thread's id: its process's limits");

	CHECK(run_child(as_nobody), "the unprivileged checks held");
	return check_exit();
}
