/*
 * mprotect(PROT_NONE) on pages that are already mapped: every access
 * faults (SIGSEGV with SEGV_ACCERR, the mapping exists), the contents
 * survive, and giving access back shows them again; in a forked child
 * too; a page table entry that holds a frame without access is freed
 * with the mapping.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static sigjmp_buf env;
static volatile int code;
static volatile uintptr_t addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	code = si->si_code;
	addr = (uintptr_t)si->si_addr;
	siglongjmp(env, 1);
}

/* Reads *p; returns the si_code of the SIGSEGV it raised, or 0. */
static int read_faults(volatile char *p)
{
	code = 0;
	if (sigsetjmp(env, 1) == 0) {
		char c = *p;
		(void)c;
		return 0;
	}
	return code;
}

static int write_faults(volatile char *p)
{
	code = 0;
	if (sigsetjmp(env, 1) == 0) {
		*p = 1;
		return 0;
	}
	return code;
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	long page = sysconf(_SC_PAGESIZE);
	size_t len = 4 * page;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap 4 pages");
	for (size_t i = 0; i < len; i++)
		p[i] = (char)(i * 7 + 3);

	CHECK(mprotect(p, len, PROT_NONE) == 0, "mprotect(PROT_NONE) of touched pages");
	CHECK(read_faults(p + page) == SEGV_ACCERR, "a read faults with SEGV_ACCERR (si_code %d)", code);
	CHECK(addr == (uintptr_t)(p + page), "si_addr is the address read");
	CHECK(write_faults(p + 2 * page) == SEGV_ACCERR, "a write faults with SEGV_ACCERR");
	CHECK(write(-1, p, 1) == -1 && errno == EBADF, "(descriptor checked first)");
	int fds[2];
	CHECK(pipe(fds) == 0, "pipe");
	CHECK(write(fds[1], p, 16) == -1 && errno == EFAULT, "the kernel cannot read it either: EFAULT");

	pid_t pid = fork();
	if (pid == 0) {
		int ok = read_faults(p) == SEGV_ACCERR;
		ok &= mprotect(p, len, PROT_READ) == 0;
		for (size_t i = 0; i < len; i++)
			ok &= p[i] == (char)(i * 7 + 3);
		_exit(ok ? 0 : 1);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child faults too, then sees the contents");

	CHECK(mprotect(p + page, page, PROT_READ) == 0, "read access back on one page");
	int same = 1;
	for (long i = 0; i < page; i++)
		same &= p[page + i] == (char)((page + i) * 7 + 3);
	CHECK(same, "its contents survived");
	CHECK(read_faults(p) == SEGV_ACCERR, "its neighbours still fault");
	CHECK(write_faults(p + page) == SEGV_ACCERR, "a write to the read-only page faults");
	CHECK(mprotect(p, len, PROT_READ | PROT_WRITE) == 0, "all access back");
	same = 1;
	for (size_t i = 0; i < len; i++)
		same &= p[i] == (char)(i * 7 + 3);
	CHECK(same, "every page kept its contents");
	p[0] = 42;
	CHECK(p[0] == 42, "writable again");

	CHECK(mprotect(p, len, PROT_NONE) == 0, "PROT_NONE again");
	CHECK(munmap(p, len) == 0, "munmap of PROT_NONE pages");
	CHECK(read_faults(p) == SEGV_MAPERR, "now the address is unmapped: SEGV_MAPERR");

	/* Repeated: a leak of the frames held without access shows as a
	 * failed mmap long before the end. */
	int all = 1;
	for (int round = 0; round < 2000 && all; round++) {
		char *q = mmap(NULL, 64 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q == MAP_FAILED) {
			all = 0;
			break;
		}
		memset(q, round, 64 * page);
		all &= mprotect(q, 64 * page, PROT_NONE) == 0;
		all &= munmap(q, 64 * page) == 0;
	}
	CHECK(all, "2000 rounds of 256 KiB made PROT_NONE and unmapped");
	return check_exit();
}
