/*
 * mremap of a range that wraps around the end of the address space fails
 * at once.
 *
 * Found by the fuzzer (a worker stalled inside the call):
 * mremap(0xfffffffffffff000, 0x7ffff000, 0x1d56, 0) did not return for
 * minutes; old_addr + old_len wraps past 2^64, the wrapped range matched
 * the stack mapping and the kernel went on to unmap [0x1000, 0x7fffe000),
 * the program's own code and data (with a smaller old_len it "succeeds"
 * and the caller dies at its next instruction). Linux fails it right away
 * (EFAULT: there is no mapping there; EINVAL for some other layouts).
 *
 * The calls run in a child that gets 3 s before SIGKILL and must be gone
 * within 10 s of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

struct call {
	unsigned long old_addr, old_len, new_len, flags, new_addr;
};

static const struct call calls[] = {
	{ 0xfffffffffffff000UL, 0x7ffff000UL, 0x1d56UL, 0, 0 },
	{ 0xfffffffffffff000UL, 0x2000UL, 0x1000UL, 0, 0 },
	{ 0xffff800000000000UL, 0x1000UL, 0x2000UL, MREMAP_MAYMOVE, 0 },
	{ 0x7ffffffff000UL, 0x100000000UL, 0x1000UL, 0, 0 },
};

int main(void)
{
	for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		const struct call *c = &calls[i];
		pid_t pid = fork();
		if (pid == 0) {
			long r = syscall(SYS_mremap, c->old_addr, c->old_len, c->new_len, c->flags,
					 c->new_addr);
			_exit(r == -1 && (errno == EFAULT || errno == EINVAL) ? 0 : 1);
		}
		int st = 0, done = 0;
		for (int t = 0; t < 130 && !done; t++) {
			if (t == 30)
				kill(pid, SIGKILL);
			if (waitpid(pid, &st, WNOHANG) == pid)
				done = 1;
			else
				sleep_ms(100);
		}
		CHECK(done && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "mremap(%#lx, %#lx, %#lx, %#lx) fails with EFAULT or EINVAL within 3 s%s",
		      c->old_addr, c->old_len, c->new_len, c->flags,
		      !done ? " (the child survived SIGKILL)" :
		      WIFSIGNALED(st) ? " (it was still running: killed)" : "");
	}
	return check_exit();
}
