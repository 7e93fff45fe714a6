/*
 * Epoll nesting is bounded.
 *
 * Found while narrowing the fuzzer's epoll hang: a chain of epoll fds, each
 * watching the previous one, was accepted to any length, and polling the
 * head recursed once per link in the kernel (EpollFile::collect) until the
 * kernel stack overflowed: "KERNEL PANIC: unhandled double fault in kernel
 * mode". Linux refuses the add that would nest deeper than 5 levels
 * (EPOLL_MAX_NESTS) with ELOOP.
 */
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"

#define CHAIN 1000

int main(void)
{
	struct rlimit rl = { 4096, 4096 };
	setrlimit(RLIMIT_NOFILE, &rl);

	int prev = -1, n = 0, err = 0;
	for (int i = 0; i < CHAIN; i++) {
		int e = epoll_create1(0);
		if (e < 0) {
			err = errno;
			break;
		}
		if (prev >= 0) {
			struct epoll_event ev = { .events = EPOLLIN };
			if (epoll_ctl(e, EPOLL_CTL_ADD, prev, &ev) != 0) {
				err = errno;
				close(e);
				break;
			}
		}
		prev = e;
		n++;
	}
	INFO("built a chain of %d epoll fds", n);
	CHECK(n < CHAIN && err == ELOOP, "a too deep epoll chain is refused with ELOOP");
	CHECK(n <= 6, "  at a depth of at most 6 (Linux: 5)");

	/* Whatever was accepted must be safe to poll. */
	struct pollfd pfd = { .fd = prev, .events = POLLIN };
	CHECK(poll(&pfd, 1, 0) == 0, "polling the head of the chain returns (nothing ready)");
	return check_exit();
}
