/*
 * Epoll instances must not watch each other in a loop.
 *
 * Found by the fuzzer (a worker stuck in poll(..., timeout 0) that was
 * still there 10 s after SIGKILL): with epoll fds A and B,
 * epoll_ctl(A, ADD, B) and then epoll_ctl(B, ADD, A) both succeeded, and a
 * poll or epoll_wait on A then never returned and could not be killed.
 * Linux refuses the second add with ELOOP.
 *
 * The loop is built and polled in children, which are SIGKILLed if they do
 * not finish within 3 s and must then be gone within 10 s.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* The child's wait status, or -1 if SIGKILL did not end it within 10 s. */
static int wait_or_kill(pid_t pid)
{
	int st = 0;
	for (int i = 0; i < 130; i++) {
		if (i == 30)
			kill(pid, SIGKILL);
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		sleep_ms(100);
	}
	return -1;
}

/* In a child: builds A -> B -> A (the second add may fail), then waits on A.
 * Exits 0 if the second add failed with ELOOP, 1 if it succeeded and the
 * wait returned. */
static void child(int use_epoll_wait)
{
	int a = epoll_create1(0), b = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	if (a < 0 || b < 0 || epoll_ctl(a, EPOLL_CTL_ADD, b, &ev) != 0)
		_exit(2);
	if (epoll_ctl(b, EPOLL_CTL_ADD, a, &ev) != 0)
		_exit(errno == ELOOP ? 0 : 3);
	if (use_epoll_wait) {
		epoll_wait(a, &ev, 1, 0);
	} else {
		struct pollfd pfd = { .fd = a, .events = POLLIN };
		poll(&pfd, 1, 0);
	}
	_exit(1);
}

int main(void)
{
	int a = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	CHECK_ERRNO(epoll_ctl(a, EPOLL_CTL_ADD, a, &ev), EINVAL, "an epoll fd cannot watch itself");
	int a2 = dup(a);
	CHECK_ERRNO(epoll_ctl(a, EPOLL_CTL_ADD, a2, &ev), EINVAL,
		    "nor itself through another descriptor (found by the fuzzer: poll then deadlocked)");

	for (int w = 0; w < 2; w++) {
		pid_t pid = fork();
		if (pid == 0)
			child(w);
		int st = wait_or_kill(pid);
		CHECK(st != -1, "%s on an epoll loop: the child is gone within 10 s of SIGKILL",
		      w ? "epoll_wait" : "poll");
		CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "  and epoll_ctl refused to close the loop with ELOOP");
	}
	return check_exit();
}
