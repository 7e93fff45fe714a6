/*
 * Process details Linux programs rely on:
 *  - the alternate signal stack is inherited by fork, not by new threads;
 *  - AT_EXECFN is the path string given to execve, unresolved;
 *  - prctl: PR_GET/SET_DUMPABLE (0 or 1), PR_GET/SET_NO_NEW_PRIVS (set
 *    once, never cleared, inherited), unknown options EINVAL;
 *  - unshare of CLONE_FILES, CLONE_FS and CLONE_SYSVSEM works (a private
 *    copy of the descriptor table: a child sharing the old one no longer
 *    sees the caller's new descriptors), unknown flags are EINVAL;
 *  - exec unshares the descriptor table: a CLONE_FILES child that execs
 *    does not close the parent's close-on-exec descriptors.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static stack_t thread_ss;

static void *read_altstack(void *arg)
{
	sigaltstack(NULL, &thread_ss);
	return NULL;
}

static int exec_true(void *arg)
{
	char *args[] = { "true", NULL };
	execv("/bin/true", args);
	execv("/usr/bin/true", args);
	_exit(127);
}

static int shares_files(void *arg)
{
	/* Wait until the parent unshared and opened a descriptor. */
	usleep(200000);
	int fd = *(volatile int *)arg;
	_exit(fcntl(fd, F_GETFD) == -1 && errno == EBADF ? 0 : 1);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "execfn") == 0) {
		const char *fn = (const char *)getauxval(AT_EXECFN);
		return fn && strcmp(fn, "/proc/self/exe") == 0 ? 0 : 3;
	}

	/* sigaltstack across fork and threads */
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 };
	CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack set");
	pid_t c = fork();
	if (c == 0) {
		stack_t got;
		sigaltstack(NULL, &got);
		_exit(got.ss_sp == alt && got.ss_size == sizeof alt && !(got.ss_flags & SS_DISABLE) ? 0 : 1);
	}
	int st;
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child inherits the alternate stack");
	pthread_t t;
	pthread_create(&t, NULL, read_altstack, NULL);
	pthread_join(t, NULL);
	CHECK(thread_ss.ss_flags & SS_DISABLE, "a new thread has none");

	/* AT_EXECFN */
	c = fork();
	if (c == 0) {
		char *args[] = { argv[0], "execfn", NULL };
		execv("/proc/self/exe", args);
		_exit(4);
	}
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "AT_EXECFN is the path given to execve (%d)",
	      WEXITSTATUS(st));

	/* prctl */
	CHECK(prctl(PR_GET_DUMPABLE) == 1, "PR_GET_DUMPABLE is 1");
	CHECK(prctl(PR_SET_DUMPABLE, 0) == 0 && prctl(PR_GET_DUMPABLE) == 0, "PR_SET_DUMPABLE 0");
	CHECK_ERRNO(prctl(PR_SET_DUMPABLE, 2), EINVAL, "PR_SET_DUMPABLE 2 is EINVAL");
	CHECK(prctl(PR_SET_DUMPABLE, 1) == 0 && prctl(PR_GET_DUMPABLE) == 1, "PR_SET_DUMPABLE 1");
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "PR_GET_NO_NEW_PRIVS is 0");
	CHECK_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), EINVAL, "PR_SET_NO_NEW_PRIVS 2 is EINVAL");
	CHECK_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL,
		    "PR_SET_NO_NEW_PRIVS with a nonzero argument is EINVAL");
	c = fork();
	if (c == 0) {
		int ok = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
			 prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
		pid_t g = fork();
		if (g == 0)
			_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
		int gs;
		waitpid(g, &gs, 0);
		_exit(ok && WIFEXITED(gs) && WEXITSTATUS(gs) == 0 ? 0 : 1);
	}
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "PR_SET_NO_NEW_PRIVS sticks and is inherited");
	CHECK_ERRNO(prctl(0x7fff1234, 0, 0, 0, 0), EINVAL, "an unknown prctl option is EINVAL");

	/* unshare */
	CHECK(unshare(CLONE_FS) == 0, "unshare(CLONE_FS)");
	CHECK(unshare(CLONE_SYSVSEM) == 0, "unshare(CLONE_SYSVSEM)");
	CHECK_ERRNO(unshare(0x4), EINVAL, "unshare of an unknown flag is EINVAL");
	static volatile int new_fd = -1;
	enum { STACK = 64 * 1024 };
	char *stack = malloc(STACK);
	c = clone(shares_files, stack + STACK, CLONE_VM | CLONE_FILES | SIGCHLD, (void *)&new_fd);
	CHECK(c > 0, "a child sharing the descriptor table");
	CHECK(unshare(CLONE_FILES) == 0, "unshare(CLONE_FILES)");
	new_fd = open("/dev/null", O_RDONLY);
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "after unshare the child does not see the caller's new descriptor");
	/* exec unshares the table */
	{
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		char *stk = malloc(STACK);
		pid_t k = clone(exec_true, stk + STACK, CLONE_VM | CLONE_FILES | CLONE_VFORK | SIGCHLD, NULL);
		int ks;
		waitpid(k, &ks, 0);
		CHECK(k > 0 && WIFEXITED(ks) && WEXITSTATUS(ks) == 0, "a CLONE_FILES child ran true");
		CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC,
		      "its exec left the parent's close-on-exec descriptor open");
		close(fd);
	}
	return check_exit();
}
