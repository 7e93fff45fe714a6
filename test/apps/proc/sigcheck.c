/*
 * Helper for exec_signals: checks the signal state that execve() must give
 * a new program whose parent had SIGUSR1 caught, SIGUSR2 ignored and SIGINT
 * blocked: caught signals are reset to SIG_DFL, ignored ones stay ignored,
 * and the signal mask is kept. Exits 0 if all held.
 */
#include <signal.h>
#include <stdio.h>

#include "check.h"

static int disposition(int sig, struct sigaction *sa)
{
	return sigaction(sig, NULL, sa);
}

int main(void)
{
	struct sigaction sa;
	sigset_t set;

	CHECK(disposition(SIGUSR1, &sa) == 0 && sa.sa_handler == SIG_DFL,
	      "sigcheck: SIGUSR1 (caught before exec) is SIG_DFL");
	CHECK(disposition(SIGUSR2, &sa) == 0 && sa.sa_handler == SIG_IGN,
	      "sigcheck: SIGUSR2 (ignored before exec) is still SIG_IGN");
	CHECK(disposition(SIGTERM, &sa) == 0 && sa.sa_handler == SIG_DFL,
	      "sigcheck: SIGTERM is SIG_DFL");
	CHECK(sigprocmask(SIG_BLOCK, NULL, &set) == 0, "sigcheck: sigprocmask(query)");
	CHECK(sigismember(&set, SIGINT) == 1, "sigcheck: SIGINT is still blocked");
	CHECK(sigismember(&set, SIGUSR1) == 0, "sigcheck: SIGUSR1 is not blocked");
	CHECK(sigismember(&set, SIGUSR2) == 0, "sigcheck: SIGUSR2 is not blocked");
	sigset_t pending;
	CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGINT) == 1,
	      "sigcheck: SIGINT sent before exec is still pending");
	return check_exit();
}
