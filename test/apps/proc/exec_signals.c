/*
 * Signal state across execve: with SIGUSR1 caught, SIGUSR2 ignored, SIGINT
 * blocked (and one SIGINT pending), /test/proc/sigcheck must find SIGUSR1
 * reset to SIG_DFL, SIGUSR2 still ignored, SIGINT still blocked and pending.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "guestpath.h"

extern char **environ;

static void handler(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	const char *sigcheck = guest_path("/test/proc/sigcheck");
	struct sigaction sa;
	sigset_t set;
	int status = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "SIGUSR1 -> handler");
	sa.sa_handler = SIG_IGN;
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0, "SIGUSR2 -> SIG_IGN");
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "block SIGINT");

	pid_t pid = fork();
	if (pid == 0) {
		char *const sargv[] = { (char *)sigcheck, NULL };
		raise(SIGINT);	/* stays pending: blocked */
		execve(sigcheck, sargv, environ);
		_exit(127);
	}
	CHECK(pid > 0, "fork");
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "sigcheck's checks held in the exec'd program (status word %#x)", status);
	CHECK(sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == handler,
	      "the parent's own handler is unchanged");
	return check_exit();
}
