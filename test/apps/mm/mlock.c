/*
 * mlock, mlock2, munlock, mlockall and munlockall as Linux checks them:
 * flags (EINVAL), unmapped ranges (ENOMEM), locked pages populated,
 * RLIMIT_MEMLOCK for an unprivileged process (ENOMEM past it, EPERM when
 * it is 0, EAGAIN for MAP_LOCKED past it), locks not inherited by fork.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

#define PAGE 4096L

static long anon(long len, int prot)
{
	return (long)mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static int resident(long addr, long pages)
{
	unsigned char v[64];
	if (mincore((void *)addr, pages * PAGE, v) != 0)
		return -1;
	int n = 0;
	for (long i = 0; i < pages; i++)
		n += v[i] & 1;
	return n;
}

static void unprivileged(void)
{
	if (setgid(65534) != 0 || setuid(65534) != 0) {
		CHECK(0, "become nobody");
		return;
	}
	struct rlimit rl = {8 * PAGE, 8 * PAGE};
	CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "RLIMIT_MEMLOCK = 8 pages");
	long a = anon(16 * PAGE, PROT_READ | PROT_WRITE);
	CHECK(mlock((void *)a, 8 * PAGE) == 0, "mlock 8 pages: within the limit");
	CHECK(mlock((void *)a, 8 * PAGE) == 0, "again: locked pages are not counted twice");
	CHECK_ERRNO(mlock((void *)(a + 8 * PAGE), PAGE), ENOMEM, "one more page: ENOMEM");
	CHECK_ERRNO(mlock((void *)a, 16 * PAGE), ENOMEM, "16 pages: ENOMEM");
	CHECK_ERRNO(syscall(SYS_mlock, a, -PAGE), ENOMEM, "huge length: ENOMEM (the limit first)");
	CHECK_ERRNO(mlockall(MCL_CURRENT), ENOMEM, "mlockall(MCL_CURRENT) past the limit: ENOMEM");
	CHECK(munlock((void *)a, 4 * PAGE) == 0, "munlock 4 pages");
	CHECK(mlock((void *)(a + 8 * PAGE), 4 * PAGE) == 0, "4 other pages fit now");
	CHECK(mmap(NULL, 8 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0) ==
	      MAP_FAILED && errno == EAGAIN, "MAP_LOCKED past the limit: EAGAIN");
	CHECK(munlockall() == 0, "munlockall");
	rl.rlim_cur = 0;
	CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "RLIMIT_MEMLOCK = 0");
	CHECK_ERRNO(mlock((void *)a, PAGE), EPERM, "mlock: EPERM");
	CHECK_ERRNO(mlockall(MCL_FUTURE), EPERM, "mlockall: EPERM");
	CHECK(munlock((void *)a, PAGE) == 0, "munlock needs no limit");
}

int main(void)
{
	long a = anon(16 * PAGE, PROT_READ | PROT_WRITE);
	long hole = anon(8 * PAGE, PROT_NONE);
	CHECK(a != -1 && hole != -1 && munmap((void *)hole, 8 * PAGE) == 0,
	      "a mapping and a hole");

	/* mlock family checks. */
	CHECK_ERRNO(mlock((void *)hole, PAGE), ENOMEM, "mlock unmapped: ENOMEM");
	CHECK_ERRNO(mlock((void *)(hole + 7 * PAGE), 2 * PAGE), ENOMEM, "partly unmapped: ENOMEM");
	CHECK_ERRNO(munlock((void *)hole, PAGE), ENOMEM, "munlock unmapped: ENOMEM");
	CHECK(mlock((void *)hole, 0) == 0, "mlock of length 0: 0");
	CHECK_ERRNO(syscall(SYS_mlock2, a, PAGE, 2), EINVAL, "mlock2 unknown flag: EINVAL");
	CHECK_ERRNO(syscall(SYS_mlock2, hole, PAGE, 2), EINVAL, "flags before the range");
	CHECK_ERRNO(mlockall(0), EINVAL, "mlockall(0): EINVAL");
	CHECK_ERRNO(mlockall(8), EINVAL, "mlockall(unknown): EINVAL");
	CHECK_ERRNO(mlockall(MCL_ONFAULT), EINVAL, "mlockall(MCL_ONFAULT) alone: EINVAL");

	/* Locking populates. */
	CHECK(resident(a, 16) == 0, "fresh memory is not resident");
	CHECK(mlock((void *)(a + 1), PAGE) == 0, "mlock(unaligned address, 1 page)");
	CHECK(resident(a, 3) == 2, "both pages it touches are resident");
	CHECK(syscall(SYS_mlock2, a + 4 * PAGE, 2 * PAGE, MLOCK_ONFAULT) == 0,
	      "mlock2(MLOCK_ONFAULT)");
	CHECK(resident(a + 4 * PAGE, 2) == 0, "MLOCK_ONFAULT does not populate");
	CHECK(munlock((void *)a, 16 * PAGE) == 0, "munlock all of it");

	/* Locks are not inherited. */
	CHECK(mlock((void *)a, PAGE) == 0, "mlock a page");
	pid_t pid = fork();
	if (pid == 0)
		_exit(syscall(SYS_msync, a, PAGE, MS_INVALIDATE) == 0 ? 0 : 1);
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's copy is not locked");
	CHECK_ERRNO(syscall(SYS_msync, a, PAGE, MS_INVALIDATE), EBUSY, "the parent's is");
	CHECK(munlockall() == 0, "munlockall");

	/* mlockall(MCL_FUTURE): new mappings are locked and resident. */
	CHECK(mlockall(MCL_FUTURE) == 0, "mlockall(MCL_FUTURE)");
	long f = anon(4 * PAGE, PROT_READ | PROT_WRITE);
	CHECK(f != -1 && resident(f, 4) == 4, "a new mapping is resident");
	CHECK_ERRNO(syscall(SYS_msync, f, PAGE, MS_INVALIDATE), EBUSY, "and locked");
	CHECK(munlockall() == 0, "munlockall");
	CHECK(syscall(SYS_msync, f, PAGE, MS_INVALIDATE) == 0, "unlocked");
	long g = anon(4 * PAGE, PROT_READ | PROT_WRITE);
	CHECK(g != -1 && resident(g, 4) == 0, "MCL_FUTURE ended");
	long l = (long)mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED,
			    -1, 0);
	CHECK(l != -1 && resident(l, 2) == 2, "MAP_LOCKED populates");

	/* RLIMIT_MEMLOCK binds an unprivileged process. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		unprivileged();
		_exit(check_failed_ ? 1 : 0);
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the unprivileged child's checks held");
	return check_exit();
}
