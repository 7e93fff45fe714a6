/*
 * PR_SET_PDEATHSIG: a child C of an intermediate process I asks for SIGUSR1
 * when its parent dies; I then exits and C's handler runs. C reports through
 * shared memory, as it is no longer our child. Also PR_GET_PDEATHSIG, an
 * invalid signal (EINVAL), and that fork() does not pass the setting on.
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

struct shared {
	volatile int ready;		/* C has set its pdeathsig */
	volatile int get_sig;		/* PR_GET_PDEATHSIG in C */
	volatile int grandchild_sig;	/* PR_GET_PDEATHSIG in C's own child */
	volatile int got;		/* signal number the handler saw */
	volatile int ppid_before, ppid_after, ppid_in_handler, done;
};

static struct shared *sh;

static void on_usr1(int sig)
{
	/* Linux re-parents before it sends the signal. */
	sh->ppid_in_handler = getppid();
	sh->got = sig;
}

int main(void)
{
	int status = -1, sig = -1;

	sh = shared_alloc(sizeof(*sh));
	CHECK(sh != NULL, "shared memory");
	if (!sh)
		return check_exit();
	CHECK(prctl(PR_GET_PDEATHSIG, (unsigned long)&sig) == 0 && sig == 0,
	      "PR_GET_PDEATHSIG is 0 by default (%d)", sig);
	CHECK_ERRNO(prctl(PR_SET_PDEATHSIG, 100UL), EINVAL, "PR_SET_PDEATHSIG(100) -> EINVAL");

	pid_t i = fork();
	if (i == 0) {
		pid_t c = fork();
		if (c == 0) {
			struct sigaction sa;
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = on_usr1;
			sigaction(SIGUSR1, &sa, NULL);
			pid_t parent = getppid();
			prctl(PR_SET_PDEATHSIG, (unsigned long)SIGUSR1);
			int s = -1;
			prctl(PR_GET_PDEATHSIG, (unsigned long)&s);
			sh->get_sig = s;
			pid_t g = fork();
			if (g == 0) {
				int gs = -1;
				prctl(PR_GET_PDEATHSIG, (unsigned long)&gs);
				sh->grandchild_sig = gs;
				_exit(0);
			}
			waitpid(g, NULL, 0);
			sh->ppid_before = parent;
			sh->ready = 1;
			long long t0 = now_ns();
			while (!sh->got && now_ns() - t0 < 10000000000LL)
				sleep_ms(1);
			sh->ppid_after = getppid();
			sh->done = 1;
			_exit(0);
		}
		long long t0 = now_ns();
		while (!sh->ready && now_ns() - t0 < 10000000000LL)
			sleep_ms(1);
		_exit(c > 0 ? 0 : 1);
	}
	CHECK(i > 0, "fork() the intermediate = %d", (int)i);
	CHECK(waitpid(i, &status, 0) == i && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "intermediate exited 0 (status word %#x)", status);
	long long t0 = now_ns();
	while (!sh->done && now_ns() - t0 < 15000000000LL)
		sleep_ms(1);
	CHECK(sh->done, "the grandchild finished");
	CHECK(sh->get_sig == SIGUSR1, "PR_GET_PDEATHSIG after setting = %d", sh->get_sig);
	CHECK(sh->grandchild_sig == 0, "fork() clears it in the new child (%d)", sh->grandchild_sig);
	CHECK(sh->ppid_before == i, "its parent was the intermediate (%d)", sh->ppid_before);
	CHECK(sh->got == SIGUSR1, "SIGUSR1 arrived when the parent died (got %d)", sh->got);
	CHECK(sh->ppid_after != i, "and it was re-parented (ppid now %d)", sh->ppid_after);
	CHECK(sh->ppid_in_handler != i && sh->ppid_in_handler > 0,
	      "already when the handler ran (ppid %d there)", sh->ppid_in_handler);
	/* If we are init, the orphan came to us. */
	while (waitpid(-1, &status, WNOHANG) > 0)
		;
	return check_exit();
}
