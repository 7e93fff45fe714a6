/*
 * Invalid clone(2) and clone3(2) requests, rejected exactly as Linux does.
 * Every case here fails with the errno shown before any permission check,
 * so the result does not depend on privileges. The calls are made raw; had
 * one succeeded, its child would exit at once without touching memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "rawclone.h"

static long child_stack[1024];

/* -1 with errno, like a libc call, reaping any unexpected child. */
static long do_clone(unsigned long flags)
{
	long r = raw_clone_exit(flags, child_stack + 1024, NULL, NULL, 0, 0);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	int st;
	waitpid((pid_t)r, &st, __WALL | WNOHANG);
	return r;
}

static long do_clone3(struct raw_clone_args *a, size_t size)
{
	long r = raw_clone3_exit(a, size, 0);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	int st;
	waitpid((pid_t)r, &st, __WALL | WNOHANG);
	return r;
}

static struct raw_clone_args args3(uint64_t flags, uint64_t exit_signal)
{
	struct raw_clone_args a;
	memset(&a, 0, sizeof(a));
	a.flags = flags;
	a.exit_signal = exit_signal;
	return a;
}

int main(void)
{
	const unsigned long S = SIGCHLD;
	int ptid = 0;

	/* clone(2) */
	CHECK_ERRNO(do_clone(CLONE_SIGHAND | S), EINVAL, "clone(CLONE_SIGHAND without CLONE_VM)");
	CHECK_ERRNO(do_clone(CLONE_THREAD | S), EINVAL, "clone(CLONE_THREAD alone)");
	CHECK_ERRNO(do_clone(CLONE_THREAD | CLONE_VM | S), EINVAL,
		    "clone(CLONE_THREAD|CLONE_VM without CLONE_SIGHAND)");
	CHECK_ERRNO(do_clone(CLONE_THREAD | CLONE_SIGHAND | S), EINVAL,
		    "clone(CLONE_THREAD|CLONE_SIGHAND without CLONE_VM)");
	CHECK_ERRNO(do_clone(CLONE_FS | CLONE_NEWNS | S), EINVAL, "clone(CLONE_FS|CLONE_NEWNS)");
	CHECK_ERRNO(do_clone(CLONE_FS | CLONE_NEWUSER | S), EINVAL, "clone(CLONE_FS|CLONE_NEWUSER)");
	CHECK_ERRNO(do_clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWPID), EINVAL,
		    "clone(CLONE_THREAD|CLONE_SIGHAND|CLONE_VM|CLONE_NEWPID)");
	CHECK_ERRNO(do_clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWUSER), EINVAL,
		    "clone(CLONE_THREAD|CLONE_SIGHAND|CLONE_VM|CLONE_NEWUSER)");
	{
		long r = raw_clone_exit(CLONE_PIDFD | CLONE_PARENT_SETTID | S, NULL, &ptid, NULL, 0, 0);
		if (r > 0)
			waitpid((pid_t)r, NULL, 0);
		CHECK(r == -EINVAL, "clone(CLONE_PIDFD|CLONE_PARENT_SETTID) -> EINVAL (got %ld)", r);
	}
	{
		long r = raw_clone_exit(CLONE_PIDFD | CLONE_DETACHED | S, NULL, &ptid, NULL, 0, 0);
		if (r > 0)
			waitpid((pid_t)r, NULL, 0);
		CHECK(r == -EINVAL, "clone(CLONE_PIDFD|CLONE_DETACHED) -> EINVAL (got %ld)", r);
	}

	/* clone3(2): the size of struct clone_args */
	struct raw_clone_args a = args3(0, SIGCHLD);
	CHECK_ERRNO(do_clone3(&a, 0), EINVAL, "clone3(size 0)");
	CHECK_ERRNO(do_clone3(&a, RAW_CLONE_ARGS_SIZE_VER0 - 1), EINVAL, "clone3(size 63 < 64)");
	CHECK_ERRNO(do_clone3(&a, 32), EINVAL, "clone3(size 32)");
	{
		static union { struct raw_clone_args a; char bytes[8192]; } big;
		memset(&big, 0, sizeof(big));
		big.a.exit_signal = SIGCHLD;
		CHECK_ERRNO(do_clone3(&big.a, 4097), E2BIG, "clone3(size 4097 > page size)");
		big.bytes[4000] = 1;
		CHECK_ERRNO(do_clone3(&big.a, 4096), E2BIG,
			    "clone3(size 4096 with a nonzero byte past the known struct)");
	}
	CHECK_ERRNO(do_clone3(NULL, sizeof(a)), EFAULT, "clone3(NULL args)");

	/* clone3(2): flags and fields */
	a = args3(1ULL << 40, SIGCHLD);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(unknown flag bit 40)");
	a = args3(1ULL << 63, SIGCHLD);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(unknown flag bit 63)");
	a = args3(SIGCHLD, 0);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(exit signal in flags, CSIGNAL bits)");
	a = args3(0, 65);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(exit_signal 65)");
	a = args3(0, (1ULL << 32) | SIGCHLD);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(exit_signal with high bits)");
	a = args3(CLONE_SIGHAND, SIGCHLD);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(CLONE_SIGHAND without CLONE_VM)");
	a = args3(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, SIGCHLD);
	a.stack = (uint64_t)(uintptr_t)child_stack;
	a.stack_size = sizeof(child_stack);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(CLONE_THREAD with an exit_signal)");
	a = args3(CLONE_PARENT, SIGCHLD);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(CLONE_PARENT with an exit_signal)");
	a = args3(CLONE_VM | CLONE_SIGHAND | CLONE_CLEAR_SIGHAND, SIGCHLD);
	a.stack = (uint64_t)(uintptr_t)child_stack;
	a.stack_size = sizeof(child_stack);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(CLONE_SIGHAND|CLONE_CLEAR_SIGHAND)");
	a = args3(0, SIGCHLD);
	a.stack = (uint64_t)(uintptr_t)child_stack;
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(stack without stack_size)");
	a = args3(0, SIGCHLD);
	a.stack_size = sizeof(child_stack);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(stack_size without stack)");
	a = args3(0, SIGCHLD);
	a.set_tid_size = 1;
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(set_tid_size 1 without set_tid)");
	{
		static pid_t tids[40];
		a = args3(0, SIGCHLD);
		a.set_tid = (uint64_t)(uintptr_t)tids;
		a.set_tid_size = 40;
		CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(set_tid_size 40 > 32 levels)");
	}
	a = args3(CLONE_FS | CLONE_NEWNS, SIGCHLD);
	CHECK_ERRNO(do_clone3(&a, sizeof(a)), EINVAL, "clone3(CLONE_FS|CLONE_NEWNS)");

	int st;
	CHECK_ERRNO(waitpid(-1, &st, __WALL | WNOHANG), ECHILD, "no child was created");
	return check_exit();
}
