/*
 * shell-init: the last step of the default /init.
 *
 * Runs PID 1's duties for an interactive system on the console:
 *   - starts the given command (normally `/bin/sh -l`) in a new session
 *     whose controlling terminal is /dev/console, so the shell has job
 *     control;
 *   - reaps every process re-parented to it;
 *   - powers off on busybox's `poweroff` (SIGUSR2), `halt` (SIGUSR1) and
 *     `reboot` (SIGTERM), as busybox init would;
 *   - when the shell exits, exits with its status, which ends the machine
 *     (the kernel reports PID 1's status to the host).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t shutdown_signal;

static void on_signal(int sig)
{
	shutdown_signal = sig;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: shell-init COMMAND [ARG...]\n");
		return 2;
	}

	/* Without SA_RESTART, so that waitpid below returns on these. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	pid_t shell = fork();
	if (shell < 0) {
		perror("shell-init: fork");
		return 1;
	}
	if (shell == 0) {
		signal(SIGUSR1, SIG_DFL);
		signal(SIGUSR2, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		setsid();
		int fd = open("/dev/console", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
			ioctl(0, TIOCSCTTY, 1);
		}
		execv(argv[1], argv + 1);
		perror("shell-init: exec");
		_exit(127);
	}

	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (shutdown_signal) {
			sync();
			reboot(shutdown_signal == SIGTERM ? RB_AUTOBOOT :
			       shutdown_signal == SIGUSR1 ? RB_HALT_SYSTEM : RB_POWER_OFF);
		}
		if (pid == shell)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (pid < 0 && errno == ECHILD)
			return 0;
	}
}
