/*
 * RLIMIT_AS and RLIMIT_DATA as Linux counts them: RLIMIT_AS limits all
 * mapped memory (mmap, brk, mremap fail with ENOMEM past it, whatever the
 * protection); RLIMIT_DATA limits private writable mappings and the heap,
 * not read-only or shared ones (mprotect making memory data counts too).
 * MAP_FIXED over a mapping replaces it
 * without counting it twice.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define MIB (1024L * 1024L)

static long anon(long len, int prot, int flags)
{
	return syscall(SYS_mmap, 0, len, prot, flags | MAP_ANONYMOUS, -1, 0);
}

static void as_checks(void)
{
	struct rlimit rl = {256 * MIB, RLIM_INFINITY};
	CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "RLIMIT_AS = 256 MiB");
	CHECK_ERRNO(anon(512 * MIB, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE), ENOMEM,
		    "512 MiB PROT_NONE: ENOMEM");
	CHECK_ERRNO(anon(512 * MIB, PROT_READ, MAP_SHARED), ENOMEM, "512 MiB shared: ENOMEM");
	long a = anon(64 * MIB, PROT_NONE, MAP_PRIVATE);
	CHECK(a != -1, "64 MiB fits");
	CHECK(syscall(SYS_mmap, a, 64 * MIB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		      -1, 0) == a, "MAP_FIXED over it: the replaced part is not counted twice");
	CHECK_ERRNO(syscall(SYS_mremap, a, 64 * MIB, 512 * MIB, MREMAP_MAYMOVE, 0), ENOMEM,
		    "mremap growing past it: ENOMEM");
	long b = syscall(SYS_mremap, a, 64 * MIB, 96 * MIB, MREMAP_MAYMOVE, 0);
	CHECK(b != -1, "mremap growing within it");
	long brk0 = syscall(SYS_brk, 0);
	CHECK(syscall(SYS_brk, brk0 + 512 * MIB) == brk0, "brk past it fails (break unchanged)");
	CHECK(syscall(SYS_brk, brk0 + MIB) == brk0 + MIB, "brk within it");
	CHECK(syscall(SYS_brk, brk0) == brk0, "brk back");
	munmap((void *)b, 96 * MIB);
	rl.rlim_cur = 128 * MIB;
	CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "lower it to 128 MiB");
	CHECK_ERRNO(anon(160 * MIB, PROT_READ, MAP_PRIVATE), ENOMEM, "160 MiB: ENOMEM");
	rl.rlim_cur = RLIM_INFINITY;
	CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "raise the soft limit again");
	a = anon(512 * MIB, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
	CHECK(a != -1, "512 MiB PROT_NONE maps now");
	munmap((void *)a, 512 * MIB);
}

static void data_checks(void)
{
	struct rlimit rl = {64 * MIB, RLIM_INFINITY};
	CHECK(setrlimit(RLIMIT_DATA, &rl) == 0, "RLIMIT_DATA = 64 MiB");
	CHECK_ERRNO(anon(128 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE), ENOMEM,
		    "128 MiB private writable: ENOMEM");
	CHECK_ERRNO(anon(128 * MIB, PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE), ENOMEM,
		    "with MAP_NORESERVE too");
	long r = anon(128 * MIB, PROT_READ, MAP_PRIVATE);
	CHECK(r != -1, "128 MiB private read-only: not data");
	long s = anon(128 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED);
	CHECK(s != -1, "128 MiB shared writable: not data");
	long d = anon(16 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	CHECK(d != -1, "16 MiB private writable fits");
	CHECK_ERRNO(syscall(SYS_mremap, d, 16 * MIB, 128 * MIB, MREMAP_MAYMOVE, 0), ENOMEM,
		    "mremap of data past it: ENOMEM");
	long r2 = syscall(SYS_mremap, r, 128 * MIB, 160 * MIB, MREMAP_MAYMOVE, 0);
	CHECK(r2 != -1, "mremap of read-only memory past it");
	CHECK_ERRNO(mprotect((void *)r2, 160 * MIB, PROT_READ | PROT_WRITE), ENOMEM,
		    "mprotect making read-only memory writable past it: ENOMEM");
	CHECK(mprotect((void *)r2, 16 * MIB, PROT_READ | PROT_WRITE) == 0,
	      "mprotect of a part within it");
	CHECK(mprotect((void *)s, 128 * MIB, PROT_READ | PROT_WRITE) == 0,
	      "mprotect of shared memory: not data");
	long brk0 = syscall(SYS_brk, 0);
	CHECK(syscall(SYS_brk, brk0 + 128 * MIB) == brk0, "brk past it fails");
	CHECK(syscall(SYS_brk, brk0 + MIB) == brk0 + MIB, "brk within it");
	syscall(SYS_brk, brk0);
	munmap((void *)r2, 160 * MIB);
	munmap((void *)s, 128 * MIB);
	munmap((void *)d, 16 * MIB);
}

/* Each part in a child, so its limits stay there. */
static void in_child(void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		fn();
		_exit(check_failed_ ? 1 : 0);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's checks held");
}

int main(void)
{
	in_child(as_checks);
	in_child(data_checks);
	return check_exit();
}
