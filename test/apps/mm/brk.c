/*
 * The program break: grow in steps, touch every page, shrink, grow again.
 *
 * Raw SYS_brk is used throughout: musl's brk()/sbrk() refuse to move the
 * break. The kernel call returns the new break on success and the current
 * (unchanged) break on failure. We never go below the break we started with,
 * so libc's own heap is left alone.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define PAGE 4096UL
#define STEP (64 * 1024UL)
#define TOTAL (1024 * 1024UL)

static uintptr_t sys_brk(uintptr_t addr)
{
	return (uintptr_t)syscall(SYS_brk, addr);
}

static int pages_zero(uintptr_t from, uintptr_t to)
{
	for (uintptr_t a = from; a < to; a += PAGE) {
		const volatile unsigned char *c = (const unsigned char *)a;
		if (c[0] || c[PAGE / 2] || c[PAGE - 1])
			return 0;
	}
	return 1;
}

int main(void)
{
	/* Print once first so that any buffer libc allocates for stdout exists. */
	printf("brk test\n");
	fflush(stdout);

	uintptr_t start = sys_brk(0);
	CHECK(start != 0 && start != (uintptr_t)-1, "brk(0) = %#lx", (unsigned long)start);
	CHECK(sys_brk(0) == start, "brk(0) again returns the same break");
	uintptr_t base = (start + PAGE - 1) & ~(PAGE - 1);

	/* Grow in 64 KiB steps up to 1 MiB, touching every new page. */
	int grew = 1, zero = 1;
	for (uintptr_t off = STEP; off <= TOTAL; off += STEP) {
		uintptr_t want = base + off;
		if (sys_brk(want) != want) {
			grew = 0;
			break;
		}
		if (!pages_zero(base + off - STEP, want))
			zero = 0;
		for (uintptr_t a = base + off - STEP; a < want; a += PAGE) {
			((volatile unsigned char *)a)[0] = 0xaa;
			((volatile unsigned char *)a)[PAGE - 1] = 0xbb;
		}
	}
	CHECK(grew, "grew the break by 1 MiB in 64 KiB steps");
	CHECK(zero, "freshly extended pages read zero");
	if (!grew)
		return check_exit();
	int held = 1;
	for (uintptr_t a = base; a < base + TOTAL; a += PAGE)
		if (((volatile unsigned char *)a)[0] != 0xaa ||
		    ((volatile unsigned char *)a)[PAGE - 1] != 0xbb)
			held = 0;
	CHECK(held, "writes to every page hold");
	CHECK(sys_brk(0) == base + TOTAL, "brk(0) reports the new break");

	/* Invalid requests leave the break alone and return it. */
	CHECK(sys_brk(4096) == base + TOTAL, "brk(0x1000) (below the heap) returns the current break");
	CHECK(sys_brk((uintptr_t)&main) == base + TOTAL,
	      "brk(&main) (inside the text) returns the current break");
	CHECK(sys_brk(0x7ffffffff000UL) == base + TOTAL,
	      "brk(huge, over the stack) returns the current break");

	/* Shrink to 256 KiB, grow back: the re-grown part is zero again. */
	CHECK(sys_brk(base + TOTAL / 4) == base + TOTAL / 4, "shrink the break to +256 KiB");
	CHECK(sys_brk(0) == base + TOTAL / 4, "brk(0) reports the shrunk break");
	CHECK(sys_brk(base + TOTAL) == base + TOTAL, "grow the break back to +1 MiB");
	int kept = 1;
	for (uintptr_t a = base; a < base + TOTAL / 4; a += PAGE)
		if (((volatile unsigned char *)a)[0] != 0xaa)
			kept = 0;
	CHECK(kept, "pages below the shrink point kept their contents");
	CHECK(pages_zero(base + TOTAL / 4, base + TOTAL),
	      "re-grown pages read zero (old contents discarded)");
	((volatile unsigned char *)(base + TOTAL - 1))[0] = 1;
	CHECK(((volatile unsigned char *)(base + TOTAL - 1))[0] == 1, "re-grown pages are writable");

	/* An unaligned break is accepted and reported as asked. */
	CHECK(sys_brk(base + 100) == base + 100, "brk(base + 100) (unaligned) succeeds");
	CHECK(sys_brk(start) == start, "restore the original break");
	return check_exit();
}
