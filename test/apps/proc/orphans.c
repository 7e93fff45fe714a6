/*
 * Re-parenting of orphans: a child forks a grandchild and exits; the
 * grandchild polls getppid() until it changes and reports old and new
 * parent through a pipe. The new parent is init (pid 1) or a "child
 * subreaper" ancestor, so the rule checked is: the new ppid differs from the
 * old one, and if this test was started by pid 1 (as in the guest under the
 * runner) it must be 1.
 *
 * If this program is itself pid 1 (booted as init), it forks the real test
 * and reaps whatever comes to it (the orphan among it) until the test ends.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

static int run_test(void)
{
	int by_init = getppid() == 1;
	int fds[2], status = -1;
	int report[3] = { 0, 0, 0 };

	INFO("started by pid %d%s", (int)getppid(), by_init ? " (init)" : "");
	CHECK(pipe(fds) == 0, "pipe");
	pid_t c = fork();
	if (c == 0) {
		int ready[2];
		if (pipe(ready) == -1)
			_exit(2);
		pid_t g = fork();
		if (g == 0) {
			int r[3];
			char ch = 'r';
			close(fds[0]);
			close(ready[0]);
			r[0] = getppid();
			if (write(ready[1], &ch, 1) != 1)
				_exit(3);
			close(ready[1]);
			long long t0 = now_ns();
			while (getppid() == r[0] && now_ns() - t0 < 10000000000LL)
				sleep_ms(1);
			r[1] = getppid();
			r[2] = getpid();
			if (write(fds[1], r, sizeof(r)) != sizeof(r))
				_exit(4);
			_exit(0);
		}
		char ch;
		close(ready[1]);
		/* Exit only once the grandchild has seen us as its parent. */
		if (g < 0 || read(ready[0], &ch, 1) != 1)
			_exit(5);
		_exit(0);
	}
	close(fds[1]);
	CHECK(c > 0, "fork() = %d", (int)c);
	CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child exited 0 after forking the grandchild (status word %#x)", status);
	ssize_t n = read(fds[0], report, sizeof(report));
	close(fds[0]);
	CHECK(n == sizeof(report), "grandchild reported (%zd bytes)", n);
	INFO("grandchild %d: ppid %d -> %d", report[2], report[0], report[1]);
	CHECK(report[0] == c, "grandchild's first parent was the child (%d)", report[0]);
	CHECK(report[1] != report[0] && report[1] > 0, "its parent changed once the child exited (now %d)",
	      report[1]);
	if (by_init)
		CHECK(report[1] == 1, "started by init: the orphan went to init (pid 1)");
	return check_exit();
}

int main(void)
{
	if (getpid() != 1)
		return run_test();

	/* We are init: run the test in a child and reap everything. */
	pid_t test = fork();
	if (test == 0)
		_exit(run_test());
	for (;;) {
		int status;
		pid_t w = wait(&status);
		if (w == -1)
			return 1;
		if (w == test)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
}
