/*
 * Job control signals on a child:
 * - SIGSTOP -> waitpid(WUNTRACED) reports WIFSTOPPED, WSTOPSIG == SIGSTOP;
 * - SIGCONT -> waitpid(WCONTINUED) reports WIFCONTINUED;
 * - SIGTSTP with the default action stops too;
 * - a stopped child killed with SIGKILL reports WIFSIGNALED;
 * - SIGCHLD reaches the parent for a stop, not with SA_NOCLDSTOP;
 * - waitid(WSTOPPED/WCONTINUED): CLD_STOPPED / CLD_CONTINUED.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

static volatile sig_atomic_t chld_hits;
static volatile int chld_code;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	chld_hits++;
	chld_code = si->si_code;
}

static void set_chld(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_chld;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
}

static pid_t spawn_looper(void)
{
	pid_t c = fork();
	if (c == 0) {
		for (;;)
			sleep_ms(10);
	}
	return c;
}

/* Waits (up to ~5 s) for the SIGCHLD count to reach n. */
static int wait_chld(int n)
{
	for (int i = 0; i < 500 && chld_hits < n; i++)
		sleep_ms(10);
	return chld_hits >= n;
}

int main(void)
{
	int st = 0;
	pid_t c, r;

	set_chld(0);

	/* SIGSTOP / SIGCONT with waitpid */
	c = spawn_looper();
	CHECK(c > 0, "fork a looping child");
	chld_hits = 0;
	CHECK(kill(c, SIGSTOP) == 0, "kill(SIGSTOP)");
	r = waitpid(c, &st, WUNTRACED);
	CHECK(r == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "waitpid(WUNTRACED): WIFSTOPPED, WSTOPSIG == SIGSTOP (status %#x)", st);
	CHECK(wait_chld(1) && chld_code == CLD_STOPPED, "SIGCHLD for the stop, si_code CLD_STOPPED (%d SIGCHLDs, code %d)", (int)chld_hits, chld_code);
	CHECK(waitpid(c, &st, WUNTRACED | WNOHANG) == 0, "the stop is reported only once");
	chld_hits = 0;
	CHECK(kill(c, SIGCONT) == 0, "kill(SIGCONT)");
	r = waitpid(c, &st, WCONTINUED);
	CHECK(r == c && WIFCONTINUED(st), "waitpid(WCONTINUED): WIFCONTINUED (status %#x)", st);
	CHECK(wait_chld(1) && chld_code == CLD_CONTINUED, "SIGCHLD for the continue, si_code CLD_CONTINUED (%d SIGCHLDs, code %d)", (int)chld_hits, chld_code);
	CHECK(waitpid(c, &st, WCONTINUED | WNOHANG) == 0, "the continue is reported only once");

	/* SIGTSTP default action stops */
	CHECK(kill(c, SIGTSTP) == 0, "kill(SIGTSTP)");
	r = waitpid(c, &st, WUNTRACED);
	CHECK(r == c && WIFSTOPPED(st) && WSTOPSIG(st) == SIGTSTP, "SIGTSTP stops it, WSTOPSIG == SIGTSTP");

	/* SIGKILL on a stopped child */
	CHECK(kill(c, SIGKILL) == 0, "kill(SIGKILL) the stopped child");
	r = waitpid(c, &st, 0);
	CHECK(r == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "WIFSIGNALED, WTERMSIG == SIGKILL");

	/* SIGTERM to a stopped child is held until SIGCONT */
	c = spawn_looper();
	kill(c, SIGSTOP);
	waitpid(c, &st, WUNTRACED);
	kill(c, SIGTERM);
	sleep_ms(20);
	CHECK(waitpid(c, &st, WNOHANG) == 0, "SIGTERM to a stopped child: it does not die yet");
	kill(c, SIGCONT);
	r = waitpid(c, &st, 0);
	CHECK(r == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "after SIGCONT it dies of SIGTERM");

	/* waitid */
	c = spawn_looper();
	siginfo_t si;
	kill(c, SIGSTOP);
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, c, &si, WSTOPPED) == 0, "waitid(WSTOPPED)");
	CHECK(si.si_pid == c && si.si_signo == SIGCHLD && si.si_code == CLD_STOPPED && si.si_status == SIGSTOP,
	      "si_code CLD_STOPPED, si_status SIGSTOP (code %d status %d)", si.si_code, si.si_status);
	kill(c, SIGCONT);
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, c, &si, WCONTINUED) == 0, "waitid(WCONTINUED)");
	CHECK(si.si_pid == c && si.si_code == CLD_CONTINUED && si.si_status == SIGCONT,
	      "si_code CLD_CONTINUED, si_status SIGCONT (code %d status %d)", si.si_code, si.si_status);
	kill(c, SIGSTOP);
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, c, &si, WSTOPPED | WNOWAIT) == 0 && si.si_code == CLD_STOPPED, "waitid(WNOWAIT) peeks at the stop");
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, c, &si, WSTOPPED | WNOHANG) == 0 && si.si_pid == c && si.si_code == CLD_STOPPED,
	      "and it is still there for the next waitid");
	kill(c, SIGKILL);
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, c, &si, WEXITED) == 0 && si.si_code == CLD_KILLED && si.si_status == SIGKILL,
	      "waitid(WEXITED): CLD_KILLED, si_status SIGKILL");

	/* SA_NOCLDSTOP */
	set_chld(SA_NOCLDSTOP);
	c = spawn_looper();
	chld_hits = 0;
	kill(c, SIGSTOP);
	r = waitpid(c, &st, WUNTRACED);
	CHECK(r == c && WIFSTOPPED(st), "child stopped");
	sleep_ms(30);
	CHECK(chld_hits == 0, "SA_NOCLDSTOP: no SIGCHLD for the stop");
	kill(c, SIGCONT);
	r = waitpid(c, &st, WCONTINUED);
	sleep_ms(30);
	CHECK(r == c && WIFCONTINUED(st) && chld_hits == 0, "SA_NOCLDSTOP: no SIGCHLD for the continue either");
	kill(c, SIGKILL);
	waitpid(c, &st, 0);
	CHECK(wait_chld(1) && chld_code == CLD_KILLED, "but SIGCHLD for the death, CLD_KILLED (%d SIGCHLDs, code %d)", (int)chld_hits, chld_code);

	return check_exit();
}
