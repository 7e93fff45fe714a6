/*
 * clone3(2) used the ways libcs use it:
 * 1. a fork-like child (exit_signal SIGCHLD) that exits 9, with
 *    CLONE_PARENT_SETTID storing the child's tid in the parent;
 * 2. CLONE_VM|CLONE_VFORK on a separate stack, as glibc's posix_spawn does:
 *    the child writes the parent's memory and execs helper_exit 11; the
 *    parent resumes after the exec, and CLONE_CHILD_SETTID wrote the tid;
 * 3. the same, with the child returning 4 instead of exec'ing.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "guestpath.h"
#include "rawclone.h"

extern char **environ;

static volatile int marker;
static char stack[64 * 1024] __attribute__((aligned(16)));
static const char *helper;

static int child_exec(void *arg)
{
	char *const hargv[] = { (char *)helper, (char *)arg, NULL };
	marker = 1;
	syscall(SYS_execve, helper, hargv, environ);
	marker = 2;
	return 127;
}

static int child_return(void *arg)
{
	marker = 3;
	return 4;
}

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	helper = guest_path("/test/proc/helper_exit");
	struct raw_clone_args a;
	int status = 0;
	volatile int ptid = 0, ctid = 0;

	/* 1 */
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_PARENT_SETTID;
	a.parent_tid = (uint64_t)(uintptr_t)&ptid;
	a.exit_signal = SIGCHLD;
	long pid = raw_clone3_exit(&a, sizeof(a), 9);
	CHECK(pid > 0, "clone3(CLONE_PARENT_SETTID, SIGCHLD) = %ld", pid);
	CHECK(ptid == pid, "CLONE_PARENT_SETTID stored %d", ptid);
	CHECK(waitpid((pid_t)pid, &status, 0) == pid, "waitpid (plain, no __WCLONE)");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 9, "child exited 9 (status word %#x)", status);

	/* 1b: the size of the first version is enough */
	memset(&a, 0, sizeof(a));
	a.exit_signal = SIGCHLD;
	pid = raw_clone3_exit(&a, RAW_CLONE_ARGS_SIZE_VER0, 8);
	CHECK(pid > 0 && waitpid((pid_t)pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 8, "clone3 with size 64: child exited 8 (status word %#x)", status);

	/* 2 */
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_VM | CLONE_VFORK | CLONE_CHILD_SETTID;
	a.child_tid = (uint64_t)(uintptr_t)&ctid;
	a.exit_signal = SIGCHLD;
	a.stack = (uint64_t)(uintptr_t)stack;
	a.stack_size = sizeof(stack);
	marker = 0;
	pid = raw_clone3_fn(&a, sizeof(a), child_exec, "11");
	CHECK(pid > 0, "clone3(CLONE_VM|CLONE_VFORK, own stack) = %ld", pid);
	CHECK(marker == 1, "parent resumed after the child's execve (marker %d)", marker);
	CHECK(ctid == pid, "CLONE_CHILD_SETTID stored %d in the shared memory", ctid);
	CHECK(waitpid((pid_t)pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 11, "helper exited 11 (status word %#x)", status);

	/* 3 */
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_VM | CLONE_VFORK;
	a.exit_signal = SIGCHLD;
	a.stack = (uint64_t)(uintptr_t)stack;
	a.stack_size = sizeof(stack);
	marker = 0;
	pid = raw_clone3_fn(&a, sizeof(a), child_return, NULL);
	CHECK(pid > 0, "clone3(CLONE_VM|CLONE_VFORK) = %ld", pid);
	CHECK(marker == 3, "child's write is visible once the parent resumes (marker %d)", marker);
	CHECK(waitpid((pid_t)pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 4,
	      "child exited 4 (status word %#x)", status);
	return check_exit();
}
