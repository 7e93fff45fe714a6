/*
 * mremap: MREMAP_FIXED (with MREMAP_MAYMOVE; overlapping ranges EINVAL),
 * MREMAP_DONTUNMAP (the old range stays mapped and reads zeros, Linux
 * 5.7+), and the errors in Linux's order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define PAGE 4096L
#define MAYMOVE MREMAP_MAYMOVE
#define FIXED MREMAP_FIXED
#define DONTUNMAP MREMAP_DONTUNMAP

static long rmremap(long old, long old_len, long new_len, long flags, long new_addr)
{
	return syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

static long anon(long len)
{
	return (long)mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* A free range of len bytes (mapped, then unmapped). */
static long hole(long len)
{
	long h = anon(len);
	munmap((void *)h, len);
	return h;
}

int main(void)
{
	long a = anon(16 * PAGE);
	CHECK(a != -1, "map 16 pages");
	for (int i = 0; i < 16; i++)
		((char *)a)[i * PAGE] = (char)(i + 1);

	/* Flag checks come first. */
	CHECK_ERRNO(rmremap(a, PAGE, PAGE, 8, 0), EINVAL, "unknown flag: EINVAL");
	CHECK_ERRNO(rmremap(a, PAGE, PAGE, FIXED, a + 20 * PAGE), EINVAL,
		    "MREMAP_FIXED without MREMAP_MAYMOVE: EINVAL");
	CHECK_ERRNO(rmremap(a, PAGE, PAGE, DONTUNMAP, 0), EINVAL,
		    "MREMAP_DONTUNMAP without MREMAP_MAYMOVE: EINVAL");
	CHECK_ERRNO(rmremap(a, PAGE, 2 * PAGE, DONTUNMAP | MAYMOVE, 0), EINVAL,
		    "MREMAP_DONTUNMAP with a new size: EINVAL");
	CHECK_ERRNO(rmremap(a + 1, PAGE, PAGE, MAYMOVE, 0), EINVAL, "unaligned address: EINVAL");
	CHECK_ERRNO(rmremap(a, PAGE, 0, MAYMOVE, 0), EINVAL, "new size 0: EINVAL");
	long far = hole(64 * PAGE);
	CHECK_ERRNO(rmremap(far, PAGE, 2 * PAGE, MAYMOVE, 0), EFAULT, "unmapped address: EFAULT");
	CHECK_ERRNO(rmremap(a, 32 * PAGE, 40 * PAGE, MAYMOVE, 0), EFAULT,
		    "old range past the region: EFAULT");
	CHECK_ERRNO(rmremap(0x7ffffffff000L, 2 * PAGE, PAGE, 0, 0), EFAULT,
		    "range past user space: EFAULT");
	CHECK_ERRNO(rmremap(a + 8 * PAGE, 0, PAGE, MAYMOVE, 0), EINVAL,
		    "old size 0 of a private mapping: EINVAL");

	/* MREMAP_FIXED target checks. */
	CHECK_ERRNO(rmremap(a, PAGE, PAGE, MAYMOVE | FIXED, far + 1), EINVAL,
		    "unaligned target: EINVAL");
	CHECK_ERRNO(rmremap(a, 2 * PAGE, 2 * PAGE, MAYMOVE | FIXED, a + PAGE), EINVAL,
		    "target overlapping the source's end: EINVAL");
	CHECK_ERRNO(rmremap(a + PAGE, 2 * PAGE, 2 * PAGE, MAYMOVE | FIXED, a), EINVAL,
		    "target overlapping the source's start: EINVAL");
	CHECK_ERRNO(rmremap(a, 2 * PAGE, 2 * PAGE, MAYMOVE | FIXED, 0x7fffffffe000L), EINVAL,
		    "target past user space: EINVAL");
	CHECK_ERRNO(rmremap(a, 2 * PAGE, 2 * PAGE, MAYMOVE | FIXED, -8192L), EINVAL,
		    "target wrapping: EINVAL");
	CHECK(((char *)a)[0] == 1 && ((char *)a)[PAGE] == 2, "failed calls left the source alone");

	/* MREMAP_FIXED moves, replacing what is at the target. */
	long t = anon(4 * PAGE);
	((char *)t)[0] = 'T';
	long r = rmremap(a, 2 * PAGE, 2 * PAGE, MAYMOVE | FIXED, t);
	CHECK(r == t, "MREMAP_FIXED onto a mapping: moved there");
	CHECK(((char *)t)[0] == 1 && ((char *)t)[PAGE] == 2, "the data moved along");
	CHECK(((char *)t)[2 * PAGE] == 0, "the rest of the old target is still mapped");
	unsigned char v;
	CHECK_ERRNO(mincore((void *)a, PAGE, &v), ENOMEM, "the source is unmapped");
	r = rmremap(a + 2 * PAGE, 2 * PAGE, 4 * PAGE, MAYMOVE | FIXED, far);
	CHECK(r == far && ((char *)far)[0] == 3 && ((char *)far)[PAGE] == 4 &&
	      ((char *)far)[3 * PAGE] == 0, "MREMAP_FIXED growing into a hole");
	r = rmremap(a + 4 * PAGE, 2 * PAGE, PAGE, MAYMOVE | FIXED, far + 8 * PAGE);
	CHECK(r == far + 8 * PAGE && ((char *)r)[0] == 5, "MREMAP_FIXED shrinking");
	CHECK_ERRNO(mincore((void *)(a + 5 * PAGE), PAGE, &v), ENOMEM, "the cut-off tail is unmapped");
	r = rmremap(a + 6 * PAGE, PAGE, PAGE, MAYMOVE | FIXED, a + 7 * PAGE);
	CHECK(r == a + 7 * PAGE && ((char *)r)[0] == 7, "MREMAP_FIXED to the adjacent page");

	/* MREMAP_DONTUNMAP. */
	long src = a + 10 * PAGE;
	((char *)src)[1] = 'd';
	r = rmremap(src, 2 * PAGE, 2 * PAGE, MAYMOVE | DONTUNMAP, 0);
	CHECK(r != -1 && r != src, "MREMAP_DONTUNMAP moves");
	CHECK(((char *)r)[0] == 11 && ((char *)r)[1] == 'd' && ((char *)r)[PAGE] == 12,
	      "the pages moved");
	CHECK(mincore((void *)src, 2 * PAGE, &v) == 0, "the old range stays mapped");
	CHECK(((char *)src)[0] == 0 && ((char *)src)[PAGE] == 0, "and reads zeros");
	((char *)src)[0] = 'n';
	CHECK(((char *)r)[0] == 11, "new writes to the old range are separate");
	long dst = hole(4 * PAGE);
	r = rmremap(a + 12 * PAGE, PAGE, PAGE, MAYMOVE | DONTUNMAP | FIXED, dst);
	CHECK(r == dst && ((char *)dst)[0] == 13 && ((char *)(a + 12 * PAGE))[0] == 0,
	      "MREMAP_DONTUNMAP with MREMAP_FIXED");
	long sh = (long)mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	((char *)sh)[0] = 's';
	r = rmremap(sh, PAGE, PAGE, MAYMOVE | DONTUNMAP, 0);
	CHECK(r != -1 && ((char *)r)[0] == 's', "MREMAP_DONTUNMAP of shared memory");

	/* Plain moves and in-place changes still work. */
	long g = anon(PAGE);
	((char *)g)[0] = 'g';
	long g2 = rmremap(g, PAGE, 64 * PAGE, MAYMOVE, 0);
	CHECK(g2 != -1 && ((char *)g2)[0] == 'g' && ((char *)g2)[63 * PAGE] == 0, "grow");
	CHECK(rmremap(g2, 64 * PAGE, PAGE, 0, 0) == g2, "shrink in place");
	return check_exit();
}
