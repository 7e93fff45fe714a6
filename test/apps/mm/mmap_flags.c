/*
 * mmap argument checks in Linux's order, MAP_FIXED_NOREPLACE, MAP_32BIT,
 * fixed mappings below mmap_min_addr (EPERM without privilege),
 * MAP_SHARED_VALIDATE, and mappings of /dev/zero (private: anonymous
 * private memory; shared: anonymous shared memory, shared with a child
 * after fork).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

#define PAGE 4096L

static long raw_mmap(long addr, long len, long prot, long flags, long fd, long off)
{
	return syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int main(void)
{
	const char *path = "/tmp/mmap_flags.tmp";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 2 * PAGE) == 0, "make a 2-page file");
	int zfd = open("/dev/zero", O_RDWR);
	CHECK(zfd >= 0, "open /dev/zero");
	const int RW = PROT_READ | PROT_WRITE;
	const int ANON = MAP_PRIVATE | MAP_ANONYMOUS;

	/* The order of the checks. */
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_SHARED, 1000, 1), EINVAL,
		    "unaligned offset before the bad fd: EINVAL");
	CHECK_ERRNO(raw_mmap(0, 0, RW, 0, 1000, 0), EBADF,
		    "bad fd before zero length and missing type: EBADF");
	CHECK_ERRNO(raw_mmap(0, 0, RW, ANON, -1, 0), EINVAL, "zero length: EINVAL");
	CHECK_ERRNO(raw_mmap(0, 0, RW, MAP_ANONYMOUS, -1, 0), EINVAL,
		    "zero length, no type: EINVAL");
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, ANON, -1, 100), EINVAL,
		    "unaligned offset (anonymous): EINVAL");
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_PRIVATE, fd, 100), EINVAL,
		    "unaligned offset (file): EINVAL");
	CHECK_ERRNO(raw_mmap(0, -PAGE, RW, ANON, -1, 0), ENOMEM,
		    "length that wraps when rounded: ENOMEM");
	CHECK_ERRNO(raw_mmap(0, -PAGE - 1, RW, ANON, -1, 0), ENOMEM,
		    "huge length: ENOMEM");

	/* Map types. */
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_ANONYMOUS, -1, 0), EINVAL,
		    "neither MAP_PRIVATE nor MAP_SHARED: EINVAL");
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_ANONYMOUS | MAP_SHARED | MAP_PRIVATE, -1, 0),
		    EINVAL, "MAP_SHARED|MAP_PRIVATE is no type: EINVAL");
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_PRIVATE | 0x4, fd, 0), EINVAL,
		    "map type 0x6 on a file: EINVAL");
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0), EINVAL,
		    "shared anonymous MAP_GROWSDOWN: EINVAL");
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0), EINVAL,
		    "MAP_SHARED_VALIDATE anonymous: EINVAL");
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_SHARED_VALIDATE | 0x800000, fd, 0), EOPNOTSUPP,
		    "MAP_SHARED_VALIDATE with an unknown flag: EOPNOTSUPP");
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0), EOPNOTSUPP,
		    "MAP_SHARED_VALIDATE|MAP_SYNC on a RAM file: EOPNOTSUPP");
	long m = raw_mmap(0, PAGE, RW, MAP_SHARED | 0x800000, fd, 0);
	CHECK(m != -1, "MAP_SHARED ignores the unknown flag");
	munmap((void *)m, PAGE);
	m = raw_mmap(0, PAGE, RW, MAP_SHARED_VALIDATE | MAP_POPULATE, fd, 0);
	CHECK(m != -1, "MAP_SHARED_VALIDATE with a known flag maps");
	munmap((void *)m, PAGE);
	m = raw_mmap(0, PAGE, RW | 0x100, ANON, -1, 0);
	CHECK(m != -1, "mmap ignores unknown PROT bits (x86)");
	munmap((void *)m, PAGE);

	/* Offsets. */
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_PRIVATE, fd, -PAGE), EOVERFLOW,
		    "negative offset (file): EOVERFLOW");
	CHECK_ERRNO(raw_mmap(0, 2 * PAGE, RW, MAP_SHARED, fd, 0x7ffffffffffff000L), EOVERFLOW,
		    "offset + length past the largest file offset: EOVERFLOW");
	m = raw_mmap(0, 2 * PAGE, RW, MAP_SHARED, fd, 0x7ffffffffffe0000L);
	CHECK(m != -1, "offset + length just within it maps");
	munmap((void *)m, 2 * PAGE);
	CHECK_ERRNO(raw_mmap(0, PAGE, RW, MAP_PRIVATE, zfd, -PAGE), EOVERFLOW,
		    "negative offset (/dev/zero): EOVERFLOW");
	m = raw_mmap(0, PAGE, RW, ANON, -1, -PAGE);
	CHECK(m != -1, "negative offset (anonymous): ignored");
	munmap((void *)m, PAGE);

	/* MAP_FIXED_NOREPLACE and hints. */
	long a = raw_mmap(0, 3 * PAGE, RW, ANON, -1, 0);
	CHECK(a != -1 && munmap((void *)(a + PAGE), PAGE) == 0, "3 pages with a hole in the middle");
	CHECK_ERRNO(raw_mmap(a, 2 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), EEXIST,
		    "MAP_FIXED_NOREPLACE over a mapping: EEXIST");
	CHECK_ERRNO(raw_mmap(a + PAGE, 2 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), EEXIST,
		    "MAP_FIXED_NOREPLACE overlapping the end: EEXIST");
	CHECK(((char *)a)[0] == 0 && ((char *)a)[2 * PAGE] == 0, "the mappings are still there");
	CHECK_ERRNO(raw_mmap(a + 1, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), EINVAL,
		    "MAP_FIXED_NOREPLACE unaligned: EINVAL");
	CHECK_ERRNO(raw_mmap(0x7ffffffff000L, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), ENOMEM,
		    "MAP_FIXED_NOREPLACE past user space: ENOMEM");
	CHECK(raw_mmap(a + PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) == a + PAGE,
	      "MAP_FIXED_NOREPLACE into the hole: mapped exactly there");
	CHECK(munmap((void *)(a + PAGE), PAGE) == 0, "unmap it again");
	CHECK(raw_mmap(a + PAGE, PAGE, RW, ANON, -1, 0) == a + PAGE, "a free hint is taken");
	long b = raw_mmap(a, PAGE, RW, ANON, -1, 0);
	CHECK(b != -1 && b != a, "a taken hint is not: placed elsewhere");
	munmap((void *)b, PAGE);
	b = raw_mmap(0x800000000000L, PAGE, RW, ANON, -1, 0);
	CHECK(b != -1 && b < 0x800000000000L, "a hint above user space is ignored");
	munmap((void *)b, PAGE);
	munmap((void *)a, 3 * PAGE);

	/* Below mmap_min_addr (page 0 is below it everywhere): privileged only. */
	long lo = raw_mmap(0, PAGE, RW, ANON | MAP_FIXED, -1, 0);
	CHECK(lo == 0, "root: MAP_FIXED at address 0 maps");
	if (lo == 0) {
		/* Through a volatile, so the compiler does not see a null pointer. */
		volatile long base = lo;
		volatile char *page0 = (volatile char *)base;
		page0[1] = 1;
		CHECK(page0[1] == 1, "and page 0 is usable");
		munmap((void *)base, PAGE);
	}
	fflush(stdout);
	pid_t np = fork();
	if (np == 0) {
		int bad = setgid(65534) != 0 || setuid(65534) != 0;
		errno = 0;
		bad |= raw_mmap(0, PAGE, RW, ANON | MAP_FIXED, -1, 0) != -1 || errno != EPERM;
		errno = 0;
		bad |= raw_mmap(0, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) != -1 ||
		       errno != EPERM;
		long src = raw_mmap(0, PAGE, RW, ANON, -1, 0);
		errno = 0;
		bad |= syscall(SYS_mremap, src, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, 0) !=
			       -1 || errno != EPERM;
		_exit(bad);
	}
	int nst = -1;
	waitpid(np, &nst, 0);
	CHECK(WIFEXITED(nst) && WEXITSTATUS(nst) == 0,
	      "unprivileged: MAP_FIXED, MAP_FIXED_NOREPLACE and MREMAP_FIXED there: EPERM");

	/* MAP_32BIT: within the first 2 GiB. */
	int low = 1;
	long ms[4];
	for (int i = 0; i < 4; i++) {
		ms[i] = raw_mmap(0, 16 * PAGE, RW, ANON | MAP_32BIT, -1, 0);
		if (ms[i] == -1 || ms[i] + 16 * PAGE > 0x80000000L)
			low = 0;
	}
	CHECK(low, "MAP_32BIT mappings end below 2 GiB (first at %#lx)", ms[0]);
	((char *)ms[0])[0] = 1;
	CHECK(((char *)ms[0])[0] == 1, "MAP_32BIT memory is usable");
	for (int i = 0; i < 4; i++)
		munmap((void *)ms[i], 16 * PAGE);

	/* /dev/zero, private: zeroed, writable, private across fork. */
	char *zp = mmap(NULL, 4 * PAGE, RW, MAP_PRIVATE, zfd, 0);
	CHECK(zp != MAP_FAILED, "mmap /dev/zero private");
	CHECK(zp[0] == 0 && zp[4 * PAGE - 1] == 0, "reads zeros");
	zp[0] = 7;
	CHECK(zp[0] == 7, "writable");
	char *zs = mmap(NULL, 4 * PAGE, RW, MAP_SHARED, zfd, 0);
	CHECK(zs != MAP_FAILED, "mmap /dev/zero shared");
	CHECK(zs[0] == 0 && zs[3 * PAGE] == 0, "shared /dev/zero reads zeros");
	zs[0] = 1;
	pid_t pid = fork();
	if (pid == 0) {
		int ok = zp[0] == 7 && zs[0] == 1;
		zp[0] = 8;
		zs[0] = 2;
		zs[3 * PAGE] = 3;
		_exit(ok ? 0 : 1);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child sees both mappings");
	CHECK(zp[0] == 7, "private /dev/zero: the child's write is its own");
	CHECK(zs[0] == 2 && zs[3 * PAGE] == 3, "shared /dev/zero: the child's writes are seen");
	char *zs2 = mmap(NULL, PAGE, RW, MAP_SHARED, zfd, 0);
	CHECK(zs2 != MAP_FAILED && zs2[0] == 0, "each shared /dev/zero mapping is new memory");
	char buf[8] = {1};
	CHECK(read(zfd, buf, 8) == 8 && buf[0] == 0, "read(/dev/zero) still reads zeros");

	unlink(path);
	return check_exit();
}
