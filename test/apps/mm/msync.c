/*
 * msync: flag and alignment checks (EINVAL), unmapped or wrapping ranges
 * (ENOMEM), MS_INVALIDATE over locked pages (EBUSY); data written through
 * a MAP_SHARED file mapping is what read() sees, and stays in the file
 * after munmap and a new open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define PAGE 4096L

static long rmsync(long addr, long len, long flags)
{
	return syscall(SYS_msync, addr, len, flags);
}

int main(void)
{
	long a = (long)mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long hole = (long)mmap(NULL, 8 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != -1 && hole != -1 && munmap((void *)hole, 8 * PAGE) == 0,
	      "a mapping and a hole");

	CHECK_ERRNO(rmsync(a, PAGE, MS_ASYNC | MS_SYNC), EINVAL, "MS_ASYNC|MS_SYNC: EINVAL");
	CHECK_ERRNO(rmsync(a, PAGE, 8), EINVAL, "unknown flag: EINVAL");
	CHECK_ERRNO(rmsync(a + 1, PAGE, MS_SYNC), EINVAL, "unaligned address: EINVAL");
	CHECK_ERRNO(rmsync(hole, PAGE, MS_SYNC | MS_ASYNC), EINVAL,
		    "bad flags checked before the range");
	CHECK_ERRNO(rmsync(hole + 1, PAGE, MS_SYNC), EINVAL, "alignment checked before the range");
	CHECK_ERRNO(rmsync(hole, PAGE, MS_SYNC), ENOMEM, "unmapped range: ENOMEM");
	CHECK_ERRNO(rmsync(hole + 6 * PAGE, 3 * PAGE, MS_ASYNC), ENOMEM,
		    "partly unmapped range: ENOMEM");
	CHECK_ERRNO(rmsync(a, -PAGE, MS_SYNC), ENOMEM, "wrapping length: ENOMEM");
	CHECK_ERRNO(rmsync(0x800000000000L, PAGE, MS_SYNC), ENOMEM, "past user space: ENOMEM");
	CHECK(rmsync(hole, 0, MS_SYNC) == 0, "zero length: 0, even unmapped");
	CHECK(rmsync(a, 0, 0) == 0, "no flags, zero length");
	CHECK(rmsync(a, 100, 0) == 0, "no flags");
	CHECK(rmsync(a, 4 * PAGE, MS_ASYNC) == 0, "MS_ASYNC on anonymous memory");
	CHECK(rmsync(a, PAGE, MS_INVALIDATE) == 0, "MS_INVALIDATE unlocked");
	CHECK(mlock((void *)a, PAGE) == 0, "mlock the first page");
	CHECK_ERRNO(rmsync(a, 2 * PAGE, MS_INVALIDATE), EBUSY, "MS_INVALIDATE over it: EBUSY");
	CHECK_ERRNO(rmsync(a, PAGE, MS_INVALIDATE | MS_SYNC), EBUSY, "with MS_SYNC too: EBUSY");
	CHECK(rmsync(a, PAGE, MS_SYNC) == 0, "MS_SYNC over locked memory is fine");
	CHECK(rmsync(a + PAGE, PAGE, MS_INVALIDATE) == 0, "MS_INVALIDATE next to it is fine");
	CHECK(munlock((void *)a, PAGE) == 0, "munlock");
	CHECK(rmsync(a, PAGE, MS_INVALIDATE) == 0, "MS_INVALIDATE after munlock");

	/* Write-back of a shared file mapping. */
	const char *path = "/tmp/msync.tmp";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 2 * PAGE) == 0, "a 2-page file");
	char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "map it shared");
	memcpy(m + 10, "hello", 5);
	memcpy(m + PAGE + 1, "world", 5);
	char buf[8] = {0};
	CHECK(pread(fd, buf, 5, 10) == 5 && memcmp(buf, "hello", 5) == 0,
	      "read() sees the write before msync");
	CHECK(msync(m, 2 * PAGE, MS_SYNC) == 0, "msync(MS_SYNC)");
	CHECK(msync(m, 2 * PAGE, MS_ASYNC | MS_INVALIDATE) == 0, "msync(MS_ASYNC|MS_INVALIDATE)");
	CHECK(pwrite(fd, "HELLO", 5, 10) == 5 && memcmp(m + 10, "HELLO", 5) == 0,
	      "the mapping sees write()");
	CHECK(munmap(m, 2 * PAGE) == 0 && close(fd) == 0, "unmap and close");
	fd = open(path, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK(fd >= 0 && pread(fd, buf, 5, PAGE + 1) == 5 && memcmp(buf, "world", 5) == 0,
	      "reopened: the data is in the file");
	m = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED && memcmp(m + 10, "HELLO", 5) == 0, "and in a new mapping");
	close(fd);
	unlink(path);
	return check_exit();
}
