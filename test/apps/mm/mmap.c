/*
 * mmap/munmap/mprotect/mremap basics, error cases and a private file
 * mapping. Error cases use raw syscall() so that libc cannot filter them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096UL
#define MIB (1024UL * 1024UL)

static long raw_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	return syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	(void)argc;
	unsigned char vec[4];

	/* Anonymous 1 MiB: zero-filled, writable, page aligned. */
	unsigned char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap 1 MiB anonymous RW at %p", (void *)p);
	if (p == MAP_FAILED)
		return check_exit();
	CHECK(((uintptr_t)p & (PAGE - 1)) == 0, "mapping is page aligned");
	CHECK(all_bytes(p, MIB, 0), "fresh anonymous memory reads zero");
	for (size_t i = 0; i < MIB; i += PAGE)
		p[i] = (unsigned char)(i / PAGE + 1), p[i + PAGE - 1] = 0x5a;
	int held = 1;
	for (size_t i = 0; i < MIB; i += PAGE)
		if (p[i] != (unsigned char)(i / PAGE + 1) || p[i + PAGE - 1] != 0x5a)
			held = 0;
	CHECK(held, "writes to every page hold");
	CHECK(mincore(p, PAGE, vec) == 0, "mincore on a mapped page succeeds");

	/* mprotect to read-only and back. */
	CHECK(mprotect(p, MIB, PROT_READ) == 0, "mprotect(PROT_READ)");
	CHECK(p[0] == 1 && p[PAGE] == 2, "still readable after PROT_READ");
	CHECK(mprotect(p, MIB, PROT_READ | PROT_WRITE) == 0, "mprotect back to RW");
	p[0] = 0x77;
	CHECK(p[0] == 0x77, "writable again");
	/* Raw syscall: musl's mprotect() rounds the address down itself. */
	CHECK_ERRNO(syscall(SYS_mprotect, p + 1, PAGE, PROT_READ), EINVAL,
		    "mprotect(unaligned address) -> EINVAL");

	/* munmap: the range is gone. */
	CHECK(munmap(p, MIB) == 0, "munmap 1 MiB");
	CHECK_ERRNO(mincore(p, PAGE, vec), ENOMEM, "mincore on the unmapped range -> ENOMEM");
	void *q = mmap(p, MIB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(q == (void *)p, "MAP_FIXED_NOREPLACE at the old address succeeds (%p)", q);
	if (q == (void *)p) {
		CHECK(all_bytes(p, MIB, 0), "the new mapping reads zero (old data gone)");
		CHECK_ERRNO(raw_mmap(p + PAGE, PAGE, PROT_READ,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
			    EEXIST, "MAP_FIXED_NOREPLACE over a live mapping -> EEXIST");
		CHECK(munmap(p, MIB) == 0, "munmap it again");
	}
	CHECK(munmap(p, MIB) == 0, "munmap of an already unmapped range succeeds");

	/* Argument errors. */
	CHECK_ERRNO(raw_mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL,
		    "mmap without PRIVATE or SHARED -> EINVAL");
	CHECK_ERRNO(raw_mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL,
		    "mmap length 0 -> EINVAL");
	CHECK_ERRNO(raw_mmap((void *)0x10000001UL, PAGE, PROT_READ,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL,
		    "mmap MAP_FIXED at an unaligned address -> EINVAL");
	CHECK_ERRNO(raw_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, -1, 0), EBADF,
		    "file mmap with fd -1 -> EBADF");
	CHECK_ERRNO(syscall(SYS_munmap, (void *)0x10000001UL, PAGE), EINVAL,
		    "munmap at an unaligned address -> EINVAL");
	CHECK_ERRNO(syscall(SYS_munmap, (void *)0x10000000UL, 0), EINVAL,
		    "munmap length 0 -> EINVAL");

	/* mremap: grow with MREMAP_MAYMOVE keeps contents. */
	unsigned char *r = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r != MAP_FAILED, "mmap 4 pages for mremap");
	/* Block the space right after it so that growing in place is impossible. */
	void *blocker = mmap(r + 4 * PAGE, PAGE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	for (size_t i = 0; i < 4 * PAGE; i++)
		r[i] = (unsigned char)(i * 7 + 3);
	unsigned char *g = mremap(r, 4 * PAGE, 64 * PAGE, MREMAP_MAYMOVE);
	CHECK(g != MAP_FAILED, "mremap 4 -> 64 pages with MREMAP_MAYMOVE (%p -> %p)",
	      (void *)r, (void *)g);
	if (g != MAP_FAILED) {
		int same = 1;
		for (size_t i = 0; i < 4 * PAGE; i++)
			if (g[i] != (unsigned char)(i * 7 + 3))
				same = 0;
		CHECK(same, "old contents preserved after mremap");
		CHECK(all_bytes(g + 4 * PAGE, 60 * PAGE, 0), "grown part reads zero");
		g[64 * PAGE - 1] = 1;
		CHECK(g[64 * PAGE - 1] == 1, "grown part is writable");
		if (blocker != MAP_FAILED && g != r)
			CHECK_ERRNO(mincore(r, PAGE, vec), ENOMEM,
				    "old range is unmapped after the move");
		munmap(g, 64 * PAGE);
	}
	if (blocker != MAP_FAILED)
		munmap(blocker, PAGE);

	/* Private file mapping of this program. */
	int fd = open(argv[0], O_RDONLY);
	CHECK(fd >= 0, "open(argv[0] = \"%s\")", argv[0]);
	if (fd >= 0) {
		unsigned char *f = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE, fd, 0);
		CHECK(f != MAP_FAILED, "mmap file MAP_PRIVATE RW");
		if (f != MAP_FAILED) {
			CHECK(memcmp(f, "\177ELF", 4) == 0, "file mapping starts with \\x7fELF");
			f[0] = 'X';
			CHECK(f[0] == 'X', "private file mapping is writable");
			unsigned char hdr[4];
			CHECK(pread(fd, hdr, 4, 0) == 4 && memcmp(hdr, "\177ELF", 4) == 0,
			      "writing the private mapping does not change the file");
			munmap(f, 2 * PAGE);
		}
		unsigned char *f2 = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
		CHECK(f2 != MAP_FAILED && memcmp(f2, "\177ELF", 4) == 0,
		      "mmap file MAP_SHARED read-only shows \\x7fELF");
		if (f2 != MAP_FAILED)
			munmap(f2, PAGE);
		CHECK_ERRNO(raw_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL,
			    "file mmap at an unaligned offset -> EINVAL");
		CHECK_ERRNO(raw_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES,
			    "MAP_SHARED PROT_WRITE of an O_RDONLY file -> EACCES");
		close(fd);
	}

	/* MAP_FIXED over the middle of a mapping replaces just that part. */
	unsigned char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap 3 pages");
	if (m != MAP_FAILED) {
		memset(m, 0xaa, 3 * PAGE);
		void *mid = mmap(m + PAGE, PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		CHECK(mid == m + PAGE, "MAP_FIXED over the middle page returns that address");
		CHECK(all_bytes(m + PAGE, PAGE, 0), "middle page replaced (reads zero)");
		CHECK(all_bytes(m, PAGE, 0xaa) && all_bytes(m + 2 * PAGE, PAGE, 0xaa),
		      "neighbouring pages untouched");
		/* Unmapping a hole in the middle leaves the sides mapped. */
		CHECK(munmap(m + PAGE, PAGE) == 0, "munmap the middle page");
		CHECK(mincore(m, PAGE, vec) == 0 && mincore(m + 2 * PAGE, PAGE, vec) == 0,
		      "outer pages still mapped");
		CHECK_ERRNO(mincore(m + PAGE, PAGE, vec), ENOMEM, "middle page gone");
		munmap(m, 3 * PAGE);
	}

	return check_exit();
}
