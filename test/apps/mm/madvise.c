/*
 * madvise as Linux checks it: the advice first (EINVAL), then alignment
 * and length, then unmapped parts (ENOMEM); MADV_DONTNEED (zeros again for
 * private anonymous memory, the file's data again for a private file
 * mapping, EINVAL over locked memory), MADV_REMOVE (shared memory only),
 * MADV_DONTFORK and MADV_WIPEONFORK (and their undoing), MADV_POPULATE_*.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

#define PAGE 4096L

static long anon(long len, int prot, int flags)
{
	return (long)mmap(NULL, len, prot, flags | MAP_ANONYMOUS, -1, 0);
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

/* Runs fn in a child; returns its exit status. */
static int child_status(int (*fn)(long), long arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	int st = -1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int child_reads(long addr)
{
	return ((volatile char *)addr)[0];
}

static int child_maps(long addr)
{
	unsigned char v;
	return mincore((void *)addr, PAGE, &v) == 0 ? 1 : 2;
}

int main(void)
{
	const int RW = PROT_READ | PROT_WRITE;
	long a = anon(8 * PAGE, RW, MAP_PRIVATE);
	long hole = anon(8 * PAGE, PROT_NONE, MAP_PRIVATE);
	CHECK(a != -1 && hole != -1 && munmap((void *)hole, 8 * PAGE) == 0,
	      "a mapping and a hole");

	CHECK_ERRNO(madvise((void *)a, PAGE, 999), EINVAL, "unknown advice: EINVAL");
	CHECK_ERRNO(madvise((void *)a, PAGE, 5), EINVAL, "advice 5: EINVAL");
	CHECK_ERRNO(madvise((void *)a, PAGE, 7), EINVAL, "advice 7: EINVAL");
	CHECK_ERRNO(madvise((void *)(a + 1), PAGE, MADV_NORMAL), EINVAL, "unaligned: EINVAL");
	CHECK_ERRNO(madvise((void *)a, 0, 999), EINVAL, "advice checked before the length");
	CHECK_ERRNO(madvise((void *)hole, PAGE, 999), EINVAL, "advice checked before the range");
	CHECK(madvise((void *)a, 0, MADV_NORMAL) == 0, "length 0: 0");
	CHECK(madvise((void *)hole, 0, MADV_NORMAL) == 0, "length 0 unmapped: 0");
	CHECK_ERRNO(syscall(SYS_madvise, a, -PAGE, MADV_NORMAL), EINVAL, "wrapping length: EINVAL");
	CHECK_ERRNO(madvise((void *)hole, PAGE, MADV_NORMAL), ENOMEM, "unmapped: ENOMEM");
	CHECK_ERRNO(madvise((void *)(hole + 7 * PAGE), 2 * PAGE, MADV_WILLNEED), ENOMEM,
		    "partly unmapped: ENOMEM");
	CHECK_ERRNO(madvise((void *)hole, PAGE, MADV_DONTNEED), ENOMEM, "DONTNEED unmapped: ENOMEM");
	CHECK(madvise((void *)a, PAGE, MADV_WILLNEED) == 0, "MADV_WILLNEED");
	CHECK(madvise((void *)a, PAGE, MADV_SEQUENTIAL) == 0, "MADV_SEQUENTIAL");
	CHECK(madvise((void *)a, PAGE, MADV_RANDOM) == 0, "MADV_RANDOM");
	CHECK(madvise((void *)a, PAGE, MADV_COLD) == 0, "MADV_COLD");

	/* MADV_DONTNEED. */
	((char *)a)[0] = 5;
	((char *)a)[PAGE] = 6;
	CHECK(madvise((void *)a, PAGE, MADV_DONTNEED) == 0, "MADV_DONTNEED");
	CHECK(((char *)a)[0] == 0 && ((char *)a)[PAGE] == 6, "the page reads zeros again");
	CHECK(mlock((void *)a, PAGE) == 0, "mlock it");
	CHECK_ERRNO(madvise((void *)a, PAGE, MADV_DONTNEED), EINVAL, "MADV_DONTNEED locked: EINVAL");
	CHECK(munlock((void *)a, PAGE) == 0, "munlock it");
	const char *path = "/tmp/madvise.tmp";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "file", 4) == 4, "a small file");
	char *fp = mmap(NULL, PAGE, RW, MAP_PRIVATE, fd, 0);
	CHECK(fp != MAP_FAILED, "map it private");
	fp[0] = 'F';
	CHECK(madvise(fp, PAGE, MADV_DONTNEED) == 0 && fp[0] == 'f',
	      "MADV_DONTNEED on a private file mapping: the file's data again");
	char *fs = mmap(NULL, PAGE, RW, MAP_SHARED, fd, 0);
	fs[1] = 'I';
	CHECK(madvise(fs, PAGE, MADV_DONTNEED) == 0 && fs[1] == 'I',
	      "MADV_DONTNEED on a shared mapping keeps the data");

	/* MADV_REMOVE. */
	CHECK_ERRNO(madvise((void *)a, PAGE, MADV_REMOVE), EINVAL, "MADV_REMOVE on private: EINVAL");
	long sh = anon(2 * PAGE, RW, MAP_SHARED);
	((char *)sh)[0] = 1;
	((char *)sh)[PAGE] = 2;
	CHECK(madvise((void *)sh, PAGE, MADV_REMOVE) == 0, "MADV_REMOVE on shared memory");
	CHECK(((char *)sh)[0] == 0 && ((char *)sh)[PAGE] == 2, "that page reads zeros");

	/* MADV_DONTFORK / MADV_DOFORK. */
	long d = anon(2 * PAGE, RW, MAP_PRIVATE);
	((char *)d)[0] = 9;
	CHECK(madvise((void *)d, PAGE, MADV_DONTFORK) == 0, "MADV_DONTFORK");
	CHECK(child_status(child_maps, d) == 2, "the child does not have the region");
	CHECK(child_status(child_maps, d + PAGE) == 1, "but has the rest");
	CHECK(madvise((void *)d, PAGE, MADV_DOFORK) == 0 && child_status(child_reads, d) == 9,
	      "MADV_DOFORK: the child has it again");

	/* MADV_WIPEONFORK / MADV_KEEPONFORK. */
	long w = anon(2 * PAGE, RW, MAP_PRIVATE);
	((char *)w)[0] = 3;
	((char *)w)[PAGE] = 4;
	CHECK(madvise((void *)w, PAGE, MADV_WIPEONFORK) == 0, "MADV_WIPEONFORK");
	CHECK(child_status(child_reads, w) == 0, "the child reads zeros there");
	CHECK(child_status(child_reads, w + PAGE) == 4, "and the data elsewhere");
	CHECK(((char *)w)[0] == 3, "the parent keeps its data");
	CHECK(madvise((void *)w, PAGE, MADV_KEEPONFORK) == 0 && child_status(child_reads, w) == 3,
	      "MADV_KEEPONFORK: the child gets the data again");
	CHECK_ERRNO(madvise((void *)sh, PAGE, MADV_WIPEONFORK), EINVAL,
		    "MADV_WIPEONFORK on shared memory: EINVAL");
	CHECK_ERRNO(madvise(fp, PAGE, MADV_WIPEONFORK), EINVAL,
		    "MADV_WIPEONFORK on a file mapping: EINVAL");

	/* MADV_POPULATE_*. */
	long p = anon(4 * PAGE, RW, MAP_PRIVATE);
	CHECK(resident(p, 4) == 0, "fresh memory is not resident");
	CHECK(madvise((void *)p, 2 * PAGE, MADV_POPULATE_WRITE) == 0 && resident(p, 4) == 2,
	      "MADV_POPULATE_WRITE faults pages in");
	CHECK(madvise((void *)(p + 2 * PAGE), PAGE, MADV_POPULATE_READ) == 0,
	      "MADV_POPULATE_READ");
	hole = anon(PAGE, PROT_NONE, MAP_PRIVATE);
	munmap((void *)hole, PAGE);
	CHECK_ERRNO(madvise((void *)hole, PAGE, MADV_POPULATE_READ), ENOMEM,
		    "MADV_POPULATE_READ unmapped: ENOMEM");

	close(fd);
	unlink(path);
	return check_exit();
}
