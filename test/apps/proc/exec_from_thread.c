/*
 * execve() from a second thread: the other threads (here the main thread,
 * busy looping) are killed, and the process, with the same pid, becomes the
 * new program. A forked child does this; helper_exit 21 reports its pid on
 * a pipe and exits 21.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "guestpath.h"
#include "procutil.h"

static const char *helper;
static volatile long exec_tid;

static void *do_exec(void *arg)
{
	char *const hargv[] = { (char *)helper, "21", NULL };
	exec_tid = syscall(SYS_gettid);
	sleep_ms(20);
	execve(helper, hargv, environ);
	_exit(126);
}

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	helper = guest_path("/test/proc/helper_exit");
	int fds[2], status = -1;

	CHECK(pipe(fds) == 0, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		close(fds[0]);
		dup2(fds[1], 1);
		if (pthread_create(&t, NULL, do_exec, NULL) != 0)
			_exit(125);
		long long t0 = now_ns();
		for (volatile unsigned long i = 0;; i++)
			if ((i & 0xffff) == 0 && now_ns() - t0 > 20000000000LL)
				_exit(124);
	}
	close(fds[1]);
	char out[4096];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(out) - 1 && (n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid(child)");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 21,
	      "the process became helper_exit 21 (status word %#x)", status);
	int hpid = 0;
	const char *line = strstr(out, "helper_exit: pid=");
	CHECK(line && sscanf(line, "helper_exit: pid=%d", &hpid) == 1 && hpid == pid,
	      "the new program runs with the process's pid %d (got %d)", (int)pid, hpid);
	CHECK(strstr(out, "argv[1]=21") != NULL, "helper got its arguments");
	return check_exit();
}
