/*
 * The direction flag (RFLAGS.DF) is user state: a program that executes
 * `std` must not change how the kernel works. With DF set, this program
 * write-faults in 64 MiB of fresh anonymous pages, one byte per page (every
 * fault enters the kernel with DF set), then spins with DF set across timer
 * interrupts. Every page must read as zeros apart from the byte written,
 * and the kernel must still fork and exec afterwards.
 *
 * Linux clears DF on every kernel entry; a kernel that does not zeroes the
 * page *below* each new frame (`rep stos` runs backwards) and hands out
 * frames with stale contents.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "guestpath.h"

#define SIZE (64UL << 20)
#define PAGE 4096UL

/* Writes 1 to the first byte of each of `n` pages from `p`, with DF set. */
static void touch_pages_with_df(char *p, unsigned long n)
{
	__asm__ volatile(
		"std\n"
		"1:\n"
		"movb $1, (%0)\n"
		"add %2, %0\n"
		"dec %1\n"
		"jnz 1b\n"
		"cld\n"
		: "+r"(p), "+r"(n)
		: "r"(PAGE)
		: "memory", "cc");
}

/* Spins `iterations` times with DF set (timer interrupts arrive meanwhile). */
static void spin_with_df(unsigned long iterations)
{
	__asm__ volatile(
		"std\n"
		"1:\n"
		"dec %0\n"
		"jnz 1b\n"
		"cld\n"
		: "+r"(iterations)
		:
		: "cc");
}

/* Memory freed by a child, so that the frames we get next are recycled. */
static void dirty_and_free_memory(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *q = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q == MAP_FAILED)
			_exit(1);
		memset(q, 0xa5, SIZE);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	dirty_and_free_memory();

	char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap 64 MiB");
	if (p == MAP_FAILED)
		return check_exit();

	touch_pages_with_df(p, SIZE / PAGE);
	unsigned long bad_pages = 0;
	for (unsigned long off = 0; off < SIZE; off += PAGE) {
		const uint64_t *w = (const uint64_t *)(p + off);
		int bad = p[off] != 1;
		for (unsigned long i = 1; i < PAGE / 8 && !bad; i++)
			bad = w[i] != 0;
		/* The first word holds the byte written; the rest is zero. */
		bad |= (w[0] & ~0xffUL) != 0;
		bad_pages += bad;
	}
	CHECK(bad_pages == 0, "every page faulted in with DF set reads zero (%lu bad of %lu)",
	      bad_pages, SIZE / PAGE);

	spin_with_df(50UL * 1000 * 1000);
	CHECK(1, "spun with DF set across timer interrupts");

	pid_t pid = fork();
	if (pid == 0) {
		char *args[] = { "helper_exit", "7", NULL };
		execv(guest_path("/test/proc/helper_exit"), args);
		_exit(99);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "fork and exec still work (status %#x)", st);
	return check_exit();
}
