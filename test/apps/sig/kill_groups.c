/*
 * Who a signal reaches:
 * - setpgid into new groups; kill(-pgid) and killpg reach every member of
 *   that group and nobody else; kill(0) reaches the caller's own group;
 * - kill(-1) (sent from an unprivileged uid, so that it cannot touch the
 *   rest of the system) reaches that uid's other processes, not the caller
 *   and not a root process;
 * - kill(pid, 0) checks existence: 0 for a live child and for a zombie,
 *   ESRCH once reaped; signals to a zombie succeed;
 * - tgkill to one thread; ESRCH with the wrong tgid.
 *
 * The members block SIGUSR1/SIGUSR2 and report each one they take with
 * sigwaitinfo as two bytes (tag, signal) on a pipe.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define OTHER_UID 54321

static int ready[2], report[2];
static sigset_t usr;

static pid_t member(int tag, pid_t join)
{
	pid_t c = fork();
	if (c == 0) {
		if (join >= 0 && setpgid(0, join) != 0)
			_exit(2);
		char r = 'R';
		if (write(ready[1], &r, 1) != 1)
			_exit(3);
		for (;;) {
			siginfo_t si;
			int s = sigwaitinfo(&usr, &si);
			if (s > 0) {
				char msg[2] = { (char)tag, (char)s };
				if (write(report[1], msg, 2) != 2)
					_exit(4);
			}
		}
	}
	if (c > 0 && join >= 0)
		setpgid(c, join); /* also from the parent: no race */
	char r;
	if (c > 0 && read(ready[0], &r, 1) != 1)
		return -1;
	return c;
}

/*
 * Collects reports for sig: waits until `want` arrived (up to 5 s), then
 * 50 ms more for unexpected extras. Returns a bit mask of the tags.
 */
static unsigned collect(int sig, int want, int *count)
{
	unsigned mask = 0;
	int n = 0, others = 0;
	long long deadline = now_ns() + 5000000000LL;
	for (;;) {
		long long left = n >= want ? 50 : (deadline - now_ns()) / 1000000;
		if (left <= 0)
			break;
		struct pollfd p = { .fd = report[0], .events = POLLIN };
		if (poll(&p, 1, (int)left) <= 0)
			break;
		char msg[2];
		if (read(report[0], msg, 2) != 2)
			break;
		if (msg[1] == sig) {
			mask |= 1u << msg[0];
			n++;
		} else {
			others++;
		}
	}
	*count = n + others;
	return mask;
}

static int taken(int sig)
{
	sigset_t one;
	struct timespec zero = { 0, 0 };
	sigemptyset(&one);
	sigaddset(&one, sig);
	return sigtimedwait(&one, NULL, &zero) == sig;
}

static volatile pid_t thread_tid;
static volatile int thread_got;

static void *thread_main(void *arg)
{
	thread_tid = (pid_t)syscall(SYS_gettid);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, SIGUSR2);
	siginfo_t si;
	struct timespec tmo = { 5, 0 };
	if (sigtimedwait(&one, &si, &tmo) == SIGUSR2)
		thread_got = si.si_code == SI_TKILL ? 1 : 2;
	return NULL;
}

int main(void)
{
	int n, st;
	unsigned m;

	/* Be our own process group so that kill(0) stays among our children. */
	if (getpgrp() != getpid())
		setpgid(0, 0);
	CHECK(getpgrp() == getpid(), "we lead our own process group");

	sigemptyset(&usr);
	sigaddset(&usr, SIGUSR1);
	sigaddset(&usr, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr, NULL);
	if (pipe(ready) || pipe(report)) {
		CHECK(0, "pipes");
		return check_exit();
	}

	/* group G = {m1, m2}; m3 stays in our group */
	pid_t m1 = member(1, 0);
	CHECK(m1 > 0 && getpgid(m1) == m1, "m1 leads a new group");
	pid_t g = m1;
	pid_t m2 = member(2, g);
	CHECK(m2 > 0 && getpgid(m2) == g, "m2 joined m1's group");
	pid_t m3 = member(3, -1);
	CHECK(m3 > 0 && getpgid(m3) == getpid(), "m3 is in our group");
	CHECK_ERRNO(setpgid(m3, 999999), EPERM, "setpgid to a group not in our session -> EPERM");

	CHECK(kill(-g, SIGUSR1) == 0, "kill(-pgid, SIGUSR1)");
	m = collect(SIGUSR1, 2, &n);
	CHECK(m == ((1u << 1) | (1u << 2)) && n == 2, "reached m1 and m2 only (mask %#x, %d reports)", m, n);
	CHECK(!taken(SIGUSR1), "and not us");

	CHECK(killpg(g, SIGUSR2) == 0, "killpg(pgid, SIGUSR2)");
	m = collect(SIGUSR2, 2, &n);
	CHECK(m == ((1u << 1) | (1u << 2)) && n == 2, "killpg reached m1 and m2 only (mask %#x)", m);

	CHECK(kill(0, SIGUSR1) == 0, "kill(0, SIGUSR1)");
	m = collect(SIGUSR1, 1, &n);
	CHECK(m == (1u << 3) && n == 1, "kill(0) reached m3 in our group only (mask %#x)", m);
	CHECK(taken(SIGUSR1), "and us too (it was pending)");
	CHECK_ERRNO(kill(-999999, SIGUSR1), ESRCH, "kill(-nonexistent pgid) -> ESRCH");
	CHECK_ERRNO(killpg(999999, SIGUSR1), ESRCH, "killpg(nonexistent) -> ESRCH");

	/* existence checks, zombies */
	CHECK(kill(m1, 0) == 0, "kill(pid, 0) on a live child -> 0");
	CHECK_ERRNO(kill(m1, 65), EINVAL, "kill with signal 65 -> EINVAL");
	kill(m1, SIGKILL);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, m1, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == m1, "m1 is a zombie now (waitid WNOWAIT)");
	CHECK(kill(m1, SIGTERM) == 0, "kill(zombie, SIGTERM) -> 0");
	CHECK(kill(m1, 0) == 0, "kill(zombie, 0) -> 0");
	CHECK(kill(-g, 0) == 0, "the group with a zombie leader still exists for kill");
	CHECK(waitpid(m1, &st, 0) == m1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "reap m1 (SIGKILL)");
	CHECK_ERRNO(kill(m1, 0), ESRCH, "kill(reaped pid, 0) -> ESRCH");
	kill(m2, SIGKILL);
	kill(m3, SIGKILL);
	waitpid(m2, &st, 0);
	waitpid(m3, &st, 0);
	CHECK_ERRNO(kill(-g, 0), ESRCH, "kill(-pgid, 0) once the group is empty -> ESRCH");

	/* kill(-1) from an unprivileged uid */
	pid_t x = fork();
	if (x == 0) {
		setpgid(0, 0);
		if (setresgid(OTHER_UID, OTHER_UID, OTHER_UID) || setresuid(OTHER_UID, OTHER_UID, OTHER_UID))
			_exit(100);
		pid_t a = member(4, -1), b = member(5, 0);
		if (a <= 0 || b <= 0)
			_exit(1);
		if (kill(-1, SIGUSR1) != 0)
			_exit(2);
		/* wait until both took it, then see we did not get it ourselves */
		int k = 0;
		m = collect(SIGUSR1, 2, &k);
		int self = taken(SIGUSR1);
		kill(a, SIGKILL);
		kill(b, SIGKILL);
		waitpid(a, &st, 0);
		waitpid(b, &st, 0);
		_exit((m == ((1u << 4) | (1u << 5)) ? 0 : 4) | (self ? 8 : 0));
	}
	CHECK(waitpid(x, &st, 0) == x && WIFEXITED(st), "kill(-1) sender exited");
	st = WEXITSTATUS(st);
	if (st == 100) {
		INFO("cannot change uid (not root): kill(-1) part skipped");
	} else {
		CHECK(!(st & 3), "sender set up its two children and kill(-1) returned 0 (status %d)", st);
		CHECK(!(st & 4), "kill(-1) reached both of the sender's processes in other groups");
		CHECK(!(st & 8), "kill(-1) did not reach the sender itself");
		CHECK(!taken(SIGUSR1), "kill(-1) from another uid did not reach us (root)");
	}

	/* tgkill */
	pthread_t t;
	CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0, "pthread_create");
	while (!thread_tid)
		sleep_ms(1);
	CHECK(thread_tid != getpid(), "thread tid %d differs from the pid", (int)thread_tid);
	CHECK_ERRNO(syscall(SYS_tgkill, getpid() + 100000, thread_tid, SIGUSR2), ESRCH, "tgkill with a wrong tgid -> ESRCH");
	CHECK(syscall(SYS_tgkill, getpid(), thread_tid, SIGUSR2) == 0, "tgkill(pid, tid, SIGUSR2)");
	pthread_join(t, NULL);
	CHECK(thread_got == 1, "the thread took it with si_code SI_TKILL (%d)", thread_got);
	CHECK(!taken(SIGUSR2), "the main thread did not get it");
	CHECK(syscall(SYS_tgkill, getpid(), getpid(), 0) == 0, "tgkill(pid, pid, 0) -> 0");
	CHECK_ERRNO(syscall(SYS_tgkill, getpid(), 0, SIGUSR2), EINVAL, "tgkill with tid 0 -> EINVAL");

	return check_exit();
}
