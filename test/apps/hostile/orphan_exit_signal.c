/*
 * A reparented child reports its exit with SIGCHLD, whatever exit signal
 * it was created with.
 *
 * Found by the fuzzer: a worker made a child with clone(SIGFPE, ...) and
 * died; the orphan went to PID 1, and its exit sent SIGFPE to PID 1,
 * killing init. Linux resets the exit signal to SIGCHLD when a child is
 * reparented ("we don't want people slaying init").
 *
 * This process is a child subreaper (or init). A middle child creates a
 * grandchild with exit signal SIGUSR1 and exits; the grandchild comes to
 * us. Case 1: the grandchild exits after the reparenting; case 2: it is
 * already a zombie when the middle child exits.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t got_usr1, got_chld;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1++;
}

static void on_chld(int sig)
{
	(void)sig;
	got_chld++;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Returns the grandchild's pid as reaped by us, or -1. */
static pid_t run_case(long grandchild_ms, long middle_ms)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t middle = fork();
	if (middle == 0) {
		/* fork-like clone with SIGUSR1 as the exit signal */
		long gc = syscall(SYS_clone, (long)SIGUSR1, 0L, 0L, 0L, 0L);
		if (gc == 0) {
			sleep_ms(grandchild_ms);
			_exit(7);
		}
		pid_t g = (pid_t)gc;
		if (write(p[1], &g, sizeof g) != sizeof g)
			_exit(1);
		sleep_ms(middle_ms);
		_exit(0);
	}
	pid_t gc = -1;
	if (read(p[0], &gc, sizeof gc) != sizeof gc)
		gc = -1;
	close(p[0]);
	close(p[1]);
	int st;
	waitpid(middle, &st, 0);
	/* the grandchild is ours now; wait for it (any exit signal) */
	pid_t got = -1;
	for (int i = 0; i < 100 && got <= 0; i++) {
		got = waitpid(gc, &st, WNOHANG | __WALL);
		if (got <= 0)
			sleep_ms(50);
	}
	if (got == gc && !(WIFEXITED(st) && WEXITSTATUS(st) == 7))
		return -1;
	return got;
}

int main(void)
{
	if (getpid() != 1)
		CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) == 0, "become a child subreaper");
	struct sigaction sa = { 0 };
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);

	got_usr1 = got_chld = 0;
	pid_t gc = run_case(300, 0);
	sleep_ms(100);
	CHECK(gc > 0, "case 1: the orphaned grandchild was reaped by us");
	CHECK(got_usr1 == 0, "case 1: its exit did not send us its exit signal SIGUSR1");
	CHECK(got_chld > 0, "case 1: we got SIGCHLD");

	got_usr1 = got_chld = 0;
	gc = run_case(0, 300);
	sleep_ms(100);
	CHECK(gc > 0, "case 2: the zombie grandchild was reaped by us");
	CHECK(got_usr1 == 0, "case 2: its reparenting did not send us SIGUSR1");
	return check_exit();
}
