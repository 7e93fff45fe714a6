/*
 * Helper for the process tests: prints its pid, parent pid, blocked signals
 * and arguments, then exits with the status given in argv[1] (default 0).
 *
 *   helper_exit [STATUS [ARGS...]]
 *
 * Output (one line each):
 *   helper_exit: pid=N ppid=N sigmask=HEX
 *   helper_exit: argv[i]=TEXT          (TEXT cut to 60 characters)
 * where bit n-1 of sigmask is set if signal n (1..64) is blocked.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	sigset_t set;
	unsigned long long mask = 0;

	sigprocmask(SIG_BLOCK, NULL, &set);
	for (int s = 1; s <= 64; s++)
		if (s < NSIG && sigismember(&set, s) == 1)
			mask |= 1ULL << (s - 1);
	printf("helper_exit: pid=%d ppid=%d sigmask=%llx\n", (int)getpid(), (int)getppid(), mask);
	for (int i = 0; i < argc; i++)
		printf("helper_exit: argv[%d]=%.60s\n", i, argv[i]);
	fflush(stdout);
	return argc > 1 ? atoi(argv[1]) : 0;
}
