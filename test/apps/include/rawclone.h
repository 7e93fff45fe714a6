/*
 * Raw clone(2) and clone3(2) for x86-64, without libc wrappers.
 *
 * Both return the raw kernel result: the child's tid, or -errno. Where the
 * child starts running the C code of the caller could not be trusted (a
 * shared address space without a stack of its own), use the *_exit
 * variants: their child exits at once with SYS_exit(code) without touching
 * memory, so an unexpected success does not corrupt the caller.
 *
 *   raw_clone_exit(flags, stack, ptid, ctid, tls, code)
 *   raw_clone3_exit(args, size, code)
 *   raw_clone3_fn(args, size, fn, arg)   the child runs fn(arg) on the
 *       stack given in args and exits (SYS_exit) with its return value
 */
#ifndef TEST_APPS_RAWCLONE_H
#define TEST_APPS_RAWCLONE_H

#include <stddef.h>
#include <stdint.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct raw_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;
	uint64_t set_tid_size;
	uint64_t cgroup;
};

#define RAW_CLONE_ARGS_SIZE_VER0 64

__attribute__((unused))
static long raw_clone_exit(unsigned long flags, void *stack, int *ptid, int *ctid,
			   unsigned long tls, int code)
{
	register unsigned long r10 __asm__("r10") = (unsigned long)ctid;
	register unsigned long r8 __asm__("r8") = tls;
	register unsigned long r9 __asm__("r9") = (unsigned long)code;
	long ret;

	__asm__ volatile(
		"syscall\n\t"
		"test %%rax, %%rax\n\t"
		"jnz 1f\n\t"
		"mov %%r9, %%rdi\n\t"
		"mov $60, %%eax\n\t"
		"syscall\n\t"
		"hlt\n"
		"1:"
		: "=a"(ret)
		: "0"(56L), "D"(flags), "S"(stack), "d"(ptid), "r"(r10), "r"(r8), "r"(r9)
		: "rcx", "r11", "memory");
	return ret;
}

__attribute__((unused))
static long raw_clone3_exit(void *args, size_t size, int code)
{
	register unsigned long r9 __asm__("r9") = (unsigned long)code;
	long ret;

	__asm__ volatile(
		"syscall\n\t"
		"test %%rax, %%rax\n\t"
		"jnz 1f\n\t"
		"mov %%r9, %%rdi\n\t"
		"mov $60, %%eax\n\t"
		"syscall\n\t"
		"hlt\n"
		"1:"
		: "=a"(ret)
		: "0"(435L), "D"(args), "S"(size), "r"(r9)
		: "rcx", "r11", "memory");
	return ret;
}

__attribute__((unused))
static long raw_clone3_fn(struct raw_clone_args *args, size_t size, int (*fn)(void *), void *arg)
{
	register unsigned long r12 __asm__("r12") = (unsigned long)fn;
	register unsigned long r13 __asm__("r13") = (unsigned long)arg;
	long ret;

	/* The child starts with rsp = stack + stack_size (16-byte aligned). */
	__asm__ volatile(
		"syscall\n\t"
		"test %%rax, %%rax\n\t"
		"jnz 1f\n\t"
		"xor %%ebp, %%ebp\n\t"
		"mov %%r13, %%rdi\n\t"
		"call *%%r12\n\t"
		"mov %%eax, %%edi\n\t"
		"mov $60, %%eax\n\t"
		"syscall\n\t"
		"hlt\n"
		"1:"
		: "=a"(ret)
		: "0"(435L), "D"(args), "S"(size), "r"(r12), "r"(r13)
		: "rcx", "r11", "memory");
	return ret;
}

#endif /* TEST_APPS_RAWCLONE_H */
