/*
 * arch_prctl(ARCH_SET_FS) with an address user space may not
 * use (non-canonical, in the kernel half, or at or above TASK_SIZE_MAX)
 * fails with EPERM, as on Linux, and leaves the base unchanged: the kernel
 * once kept whatever FS base the previous thread had loaded instead.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

/* TASK_SIZE_MAX on x86-64 with 4-level paging. */
#define TASK_SIZE_MAX 0x7ffffffff000ul

/* A system call that touches no memory of its own (libc's wrapper may use
 * thread-local storage, which a test FS base would break). */
static inline long raw2(long nr, unsigned long a, unsigned long b)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static unsigned long get(int code)
{
	unsigned long v = 0;
	syscall(SYS_arch_prctl, code, &v);
	return v;
}

int main(void)
{
	unsigned long fs = get(ARCH_GET_FS);
	const unsigned long bad[] = { TASK_SIZE_MAX, 0x800000000000ul, 0x8000000000000000ul,
				      0xffff800000000000ul, 0xffffffff80000000ul, ~0ul };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_ERRNO(syscall(SYS_arch_prctl, ARCH_SET_FS, bad[i]), EPERM, "ARCH_SET_FS %#lx",
			    bad[i]);
		CHECK(get(ARCH_GET_FS) == fs, "the FS base is unchanged");
	}
	/* The highest allowed base works (set and restored without touching
	 * thread-local storage in between). */
	unsigned long got = 0;
	long r = raw2(SYS_arch_prctl, ARCH_SET_FS, TASK_SIZE_MAX - 1);
	raw2(SYS_arch_prctl, ARCH_GET_FS, (unsigned long)&got);
	raw2(SYS_arch_prctl, ARCH_SET_FS, fs);
	CHECK(r == 0 && got == TASK_SIZE_MAX - 1, "ARCH_SET_FS just below TASK_SIZE_MAX (%#lx)", got);
	CHECK_ERRNO(syscall(SYS_arch_prctl, 0x1234, 0), EINVAL, "an unknown code is EINVAL");
	CHECK_ERRNO(syscall(SYS_arch_prctl, ARCH_GET_FS, (void *)8), EFAULT,
		    "ARCH_GET_FS to an unmapped pointer is EFAULT");
	return check_exit();
}
