/*
 * Interrupted system calls:
 * - read() on an empty pipe interrupted by a handler without SA_RESTART
 *   returns -1/EINTR; with SA_RESTART it is restarted and returns the data
 *   written afterwards;
 * - nanosleep interrupted: EINTR and the remaining time filled in;
 * - sigsuspend: -1/EINTR after the handler ran, the old mask restored;
 * - sigtimedwait: takes a blocked pending signal, EAGAIN on timeout;
 * - pause(): -1/EINTR after a handler.
 * The interrupting signals come from a child process.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

static volatile sig_atomic_t hits;

static void handler(int sig)
{
	hits++;
}

static void install(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/*
 * A child that sends sig to the parent after delay_ms, then (if wfd >= 0)
 * writes "data" to wfd after another delay_ms. With repeat set it keeps
 * sending sig every delay_ms until stop() (so a slow parent that was not
 * blocked yet at the first signal still gets interrupted).
 */
static int stop_pipe[2] = { -1, -1 };

static pid_t poke_(int sig, long delay_ms, int wfd, int repeat)
{
	pid_t parent = getpid();
	if (repeat && pipe(stop_pipe) != 0)
		return -1;
	pid_t c = fork();
	if (c == 0) {
		char b;
		sleep_ms(delay_ms);
		kill(parent, sig);
		if (wfd >= 0) {
			sleep_ms(delay_ms);
			if (write(wfd, "data", 4) != 4)
				_exit(1);
		}
		if (repeat) {
			close(stop_pipe[1]);
			for (int i = 0; i < 200; i++) {
				fd_set rs;
				FD_ZERO(&rs);
				FD_SET(stop_pipe[0], &rs);
				struct timeval tv = { 0, delay_ms * 1000 };
				if (select(stop_pipe[0] + 1, &rs, NULL, NULL, &tv) != 0)
					break;
				kill(parent, sig);
			}
			(void)read(stop_pipe[0], &b, 1);
		}
		_exit(0);
	}
	if (repeat)
		close(stop_pipe[0]);
	return c;
}

static pid_t poke(int sig, long delay_ms, int wfd)
{
	return poke_(sig, delay_ms, wfd, 0);
}

static pid_t poke_repeat(int sig, long delay_ms)
{
	return poke_(sig, delay_ms, -1, 1);
}

static void stop(void)
{
	close(stop_pipe[1]);
	stop_pipe[1] = -1;
}

static int reap(pid_t c)
{
	int st;
	return waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void)
{
	int p[2];
	char buf[16];
	ssize_t n;
	pid_t c;

	/* read without SA_RESTART */
	install(SIGUSR1, 0);
	CHECK(pipe(p) == 0, "pipe");
	hits = 0;
	c = poke_repeat(SIGUSR1, 50);
	errno = 0;
	n = read(p[0], buf, sizeof(buf));
	int e = errno;
	stop();
	CHECK(n == -1 && e == EINTR, "read without SA_RESTART -> -1/EINTR (n=%zd errno=%d)", n, e);
	CHECK(hits >= 1, "the handler ran");
	CHECK(reap(c), "child done");

	/* read with SA_RESTART */
	install(SIGUSR1, SA_RESTART);
	hits = 0;
	c = poke(SIGUSR1, 50, p[1]);
	n = read(p[0], buf, sizeof(buf));
	CHECK(n == 4 && memcmp(buf, "data", 4) == 0, "read with SA_RESTART restarted and got the later data (n=%zd)", n);
	CHECK(hits == 1, "the handler ran once");
	CHECK(reap(c), "child done");
	close(p[0]);
	close(p[1]);

	/* nanosleep */
	install(SIGUSR1, SA_RESTART);
	hits = 0;
	c = poke_repeat(SIGUSR1, 50);
	struct timespec req = { 5, 0 }, rem = { 0, 0 };
	long long t0 = now_ns();
	errno = 0;
	int r = nanosleep(&req, &rem);
	e = errno;
	stop();
	long long dt = now_ns() - t0;
	CHECK(r == -1 && e == EINTR, "nanosleep interrupted -> EINTR even with SA_RESTART");
	CHECK(dt < 4000000000LL, "it returned early (%lld ms)", dt / 1000000);
	CHECK(rem.tv_sec > 0 && rem.tv_sec <= 5 && (rem.tv_sec < 5 || rem.tv_nsec == 0) && rem.tv_sec * 1000000000LL + rem.tv_nsec < 5000000000LL,
	      "remaining time filled in (%lld.%09ld s)", (long long)rem.tv_sec, rem.tv_nsec);
	CHECK(reap(c), "child done");

	/* sigsuspend */
	sigset_t block, old, cur, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	hits = 0;
	c = poke(SIGUSR1, 30, -1);
	sigemptyset(&waitmask);
	sigaddset(&waitmask, SIGUSR2);
	errno = 0;
	r = sigsuspend(&waitmask);
	e = errno;
	CHECK(r == -1 && e == EINTR, "sigsuspend -> -1/EINTR");
	CHECK(hits == 1, "the handler ran during sigsuspend");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(sigismember(&cur, SIGUSR1) && sigismember(&cur, SIGUSR2), "the mask before sigsuspend is back");
	CHECK(reap(c), "child done");

	/* sigsuspend with the signal already pending returns at once */
	hits = 0;
	raise(SIGUSR1);
	CHECK(hits == 0, "SIGUSR1 is blocked and pending");
	r = sigsuspend(&waitmask);
	CHECK(r == -1 && hits == 1, "sigsuspend with it pending returns after the handler");

	/* sigtimedwait */
	siginfo_t si;
	struct timespec tmo = { 0, 20 * 1000000 };
	t0 = now_ns();
	CHECK_ERRNO(sigtimedwait(&block, &si, &tmo), EAGAIN, "sigtimedwait with nothing pending -> EAGAIN");
	CHECK(now_ns() - t0 >= 20000000LL, "after waiting the 20 ms timeout");
	hits = 0;
	raise(SIGUSR2);
	tmo = (struct timespec){ 1, 0 };
	memset(&si, 0, sizeof(si));
	r = sigtimedwait(&block, &si, &tmo);
	CHECK(r == SIGUSR2 && si.si_signo == SIGUSR2 && hits == 0, "sigtimedwait takes a pending SIGUSR2 without the handler");
	c = poke(SIGUSR1, 30, -1);
	tmo = (struct timespec){ 5, 0 };
	memset(&si, 0, sizeof(si));
	r = sigtimedwait(&block, &si, &tmo);
	CHECK(r == SIGUSR1 && si.si_pid == c && si.si_code == SI_USER, "sigtimedwait waits for the child's SIGUSR1 (si_pid ok)");
	CHECK(reap(c), "child done");
	sigset_t pend;
	sigpending(&pend);
	CHECK(!sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2), "nothing left pending");
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* pause */
	install(SIGUSR2, 0);
	hits = 0;
	c = poke_repeat(SIGUSR2, 30);
	errno = 0;
	r = pause();
	e = errno;
	stop();
	CHECK(r == -1 && e == EINTR && hits >= 1, "pause -> -1/EINTR after the handler");
	CHECK(reap(c), "child done");

	return check_exit();
}
