/*
 * Init cannot be killed from user space (Linux's SIGNAL_UNKILLABLE):
 *
 *  - a signal whose disposition in init is the default is dropped, SIGKILL
 *    and SIGSTOP included; one init handles is delivered;
 *  - clone(CLONE_PARENT | SIGSEGV) by a child of init makes a sibling whose
 *    exit still sends init SIGCHLD (the caller's own exit signal), and
 *    CLONE_PARENT from init itself is EINVAL;
 *  - an orphan re-parented to init has its exit signal reset to SIGCHLD.
 *
 * Where it runs decides what it can check:
 *  - as PID 1 (booted as init), or as PID 1 of a new PID namespace (on a
 *    Linux host, run as root), it checks everything, as init;
 *  - as a child of PID 1 (the guest's test runner, which handles none of
 *    these signals) it signals PID 1 and checks that PID 1 survives.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t got[65];

static void record(int s)
{
	got[s]++;
}

static void catch(int s)
{
	struct sigaction sa = { .sa_handler = record };
	sigaction(s, &sa, NULL);
}

/* A fork-like clone with exit signal `exit_sig` and extra `flags`. */
static pid_t clone_with(unsigned long flags, int exit_sig)
{
	return syscall(SYS_clone, flags | (unsigned long)exit_sig, 0, 0, 0, 0);
}

/* Sends init the signals it must ignore, then one it handles. */
static void signal_init(pid_t init, int handled)
{
	int sigs[] = { SIGTERM, SIGKILL, SIGSTOP, SIGINT, SIGHUP, SIGUSR1, SIGSEGV, SIGQUIT };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		kill(init, sigs[i]);
	if (handled)
		kill(init, handled);
}

/* Reaps children until `pid` has been reaped; returns its status. */
static int reap(pid_t pid)
{
	int st = -1;
	for (;;) {
		int s;
		pid_t r = waitpid(-1, &s, 0);
		if (r == pid)
			st = s;
		if (r == pid || (r < 0 && errno == ECHILD))
			return st;
	}
}

/* The whole check, run by a process that is PID 1 of its namespace. */
static int as_init(void)
{
	catch(SIGCHLD);
	catch(SIGSEGV);
	catch(SIGUSR2);
	catch(SIGPWR);

	/* Signals from a child: only SIGUSR2 (handled) arrives. */
	pid_t c = fork();
	if (c == 0) {
		signal_init(1, SIGUSR2);
		_exit(0);
	}
	reap(c);
	for (int i = 0; i < 100 && !got[SIGUSR2]; i++)
		usleep(10000);
	CHECK(got[SIGUSR2] == 1, "init got the signal it handles (SIGUSR2)");
	CHECK(1, "init survived SIGTERM, SIGKILL, SIGSTOP, SIGINT, SIGHUP, SIGUSR1, SIGSEGV, SIGQUIT");

	/* CLONE_PARENT from init: EINVAL. */
	errno = 0;
	pid_t r = clone_with(CLONE_PARENT, SIGCHLD);
	if (r == 0)
		_exit(0);
	CHECK(r == -1 && errno == EINVAL, "clone(CLONE_PARENT) from init fails with EINVAL");

	/* CLONE_PARENT | SIGSEGV from a child: the sibling's exit sends SIGCHLD. */
	got[SIGCHLD] = got[SIGSEGV] = 0;
	int fds[2];
	if (pipe(fds) != 0)
		return 1;
	c = fork();
	if (c == 0) {
		pid_t s = clone_with(CLONE_PARENT, SIGSEGV);
		if (s == 0) {
			char ch;
			/* Wait until the creator is reaped so only our exit is seen. */
			close(fds[1]);
			if (read(fds[0], &ch, 1) < 0)
				_exit(3);
			_exit(7);
		}
		_exit(s > 0 ? 0 : 1);
	}
	close(fds[0]);
	int st = reap(c);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "clone(CLONE_PARENT | SIGSEGV) from a child of init");
	got[SIGCHLD] = got[SIGSEGV] = 0;
	close(fds[1]);
	st = 0;
	pid_t sib = waitpid(-1, &st, 0);
	for (int i = 0; i < 100 && !got[SIGCHLD] && !got[SIGSEGV]; i++)
		usleep(10000);
	CHECK(sib > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 7, "init reaped the sibling (status %#x)", st);
	CHECK(got[SIGCHLD] >= 1 && got[SIGSEGV] == 0,
	      "its exit sent init SIGCHLD (%d), not SIGSEGV (%d)", (int)got[SIGCHLD], (int)got[SIGSEGV]);

	/* An orphan made with exit signal SIGPWR: re-parented, it sends SIGCHLD. */
	if (pipe(fds) != 0)
		return 1;
	c = fork();
	if (c == 0) {
		pid_t g = clone_with(0, SIGPWR);
		if (g == 0) {
			char ch;
			close(fds[1]);
			if (read(fds[0], &ch, 1) < 0)
				_exit(3);
			_exit(5);
		}
		_exit(g > 0 ? 0 : 1);
	}
	close(fds[0]);
	st = reap(c);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "made an orphan with exit signal SIGPWR");
	got[SIGCHLD] = got[SIGPWR] = 0;
	close(fds[1]);
	st = 0;
	pid_t orphan = waitpid(-1, &st, 0);
	for (int i = 0; i < 100 && !got[SIGCHLD] && !got[SIGPWR]; i++)
		usleep(10000);
	CHECK(orphan > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 5, "init reaped the orphan (status %#x)", st);
	CHECK(got[SIGCHLD] >= 1 && got[SIGPWR] == 0,
	      "the orphan's exit sent init SIGCHLD (%d), not SIGPWR (%d)", (int)got[SIGCHLD], (int)got[SIGPWR]);
	return check_exit();
}

int main(void)
{
	if (getpid() == 1)
		return as_init();

	if (getppid() == 1) {
		/* Under the guest's runner: it handles none of these signals. */
		signal_init(1, 0);
		usleep(100000);
		CHECK(kill(1, 0) == 0, "PID 1 survived SIGTERM, SIGKILL, SIGSTOP, SIGINT, SIGHUP, SIGUSR1, SIGSEGV, SIGQUIT");
		return check_exit();
	}

	/* Elsewhere: be init of a new PID namespace if allowed. */
	if (unshare(CLONE_NEWPID) != 0) {
		INFO("not PID 1 and no PID namespace (%s): nothing to check", strerror(errno));
		return check_exit();
	}
	pid_t c = fork();
	if (c == 0)
		_exit(as_init());
	int st;
	waitpid(c, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
