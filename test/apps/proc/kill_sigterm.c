/*
 * kill() and tgkill():
 * - SIGTERM with the default action kills a child: WTERMSIG == SIGTERM;
 * - with a handler installed the child survives and exits normally;
 * - kill(pid, 0) probes; a reaped pid gives ESRCH; invalid signal EINVAL;
 * - tgkill() delivers to the chosen thread (the handler runs there);
 *   tgkill with the wrong thread group gives ESRCH.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

static volatile long handled_in;
static volatile long worker_tid;
static volatile int stop;
static volatile int got_term;

static void on_usr1(int sig)
{
	handled_in = syscall(SYS_gettid);
}

static void on_term(int sig)
{
	got_term = 1;
}

static void *worker(void *arg)
{
	worker_tid = syscall(SYS_gettid);
	while (!stop && !handled_in)
		sleep_ms(1);
	return NULL;
}

static pid_t waiting_child(int *p, int with_handler)
{
	pid_t c = fork();
	if (c == 0) {
		char ch;
		if (with_handler) {
			struct sigaction sa;
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = on_term;
			sigaction(SIGTERM, &sa, NULL);
		}
		close(p[1]);
		ch = 'r';
		if (write(p[2], &ch, 1) != 1)
			_exit(3);
		while (!got_term && read(p[0], &ch, 1) != 0)
			;
		_exit(got_term ? 4 : 0);
	}
	return c;
}

int main(void)
{
	int p[3], ready[2], status = -1;
	char ch;

	/* default action */
	CHECK(pipe(p) == 0 && pipe(ready) == 0, "pipes");
	p[2] = ready[1];
	pid_t c = waiting_child(p, 0);
	CHECK(c > 0 && read(ready[0], &ch, 1) == 1, "child %d is running", (int)c);
	CHECK(kill(c, 0) == 0, "kill(child, 0) probes it");
	CHECK(kill(c, SIGTERM) == 0, "kill(child, SIGTERM)");
	CHECK(waitpid(c, &status, 0) == c && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
	      "child died of SIGTERM (status word %#x)", status);
	CHECK_ERRNO(kill(c, 0), ESRCH, "kill(reaped pid, 0) -> ESRCH");
	CHECK_ERRNO(kill(c, SIGTERM), ESRCH, "kill(reaped pid, SIGTERM) -> ESRCH");

	/* caught */
	c = waiting_child(p, 1);
	CHECK(c > 0 && read(ready[0], &ch, 1) == 1, "child with a SIGTERM handler is running");
	CHECK(kill(c, SIGTERM) == 0, "kill(child, SIGTERM)");
	CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 4,
	      "its handler ran and it exited 4 (status word %#x)", status);
	close(p[0]);
	close(p[1]);
	close(ready[0]);
	close(ready[1]);
	CHECK_ERRNO(kill(getpid(), 65), EINVAL, "kill(self, 65) -> EINVAL");

	/* tgkill */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "SIGUSR1 handler");
	pthread_t t;
	CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
	long long t0 = now_ns();
	while (!worker_tid && now_ns() - t0 < 5000000000LL)
		sleep_ms(1);
	/* Block SIGUSR1 here, so that only the worker could take it anyway. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	CHECK_ERRNO(syscall(SYS_tgkill, getpid() + 100000, worker_tid, SIGUSR1), ESRCH,
		    "tgkill(wrong tgid, tid) -> ESRCH");
	CHECK(handled_in == 0, "nothing delivered by the failed tgkill");
	CHECK(syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1) == 0, "tgkill(pid, worker tid, SIGUSR1)");
	t0 = now_ns();
	while (!handled_in && now_ns() - t0 < 5000000000LL)
		sleep_ms(1);
	CHECK(handled_in == worker_tid, "the handler ran in the worker thread (tid %ld, want %ld)",
	      (long)handled_in, (long)worker_tid);
	stop = 1;
	pthread_join(t, NULL);
	CHECK_ERRNO(syscall(SYS_tgkill, getpid(), worker_tid, 0), ESRCH, "tgkill(exited thread, 0) -> ESRCH");
	return check_exit();
}
