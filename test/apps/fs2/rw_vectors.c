/*
 * Positioned vector I/O: preadv, pwritev, preadv2, pwritev2 (raw calls,
 * with the split lo/hi offset of the x86-64 syscall: the high word is
 * ignored on 64-bit), their flags as Linux treats them on tmpfs, and
 * pwrite on an O_APPEND descriptor (it appends: a Linux quirk).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"

#ifndef RWF_HIPRI
#define RWF_HIPRI 0x01
#define RWF_DSYNC 0x02
#define RWF_SYNC 0x04
#define RWF_NOWAIT 0x08
#define RWF_APPEND 0x10
#endif

static long preadv2_(int fd, struct iovec *iov, int n, long off, int flags)
{
	return syscall(SYS_preadv2, fd, iov, n, off, 0L, flags);
}

static long pwritev2_(int fd, struct iovec *iov, int n, long off, int flags)
{
	return syscall(SYS_pwritev2, fd, iov, n, off, 0L, flags);
}

static off_t pos(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

int main(void)
{
	char path[] = "/tmp/rw_vectors_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	CHECK(write(fd, "0123456789", 10) == 10, "write 10 bytes");

	char a[3], b[4];
	struct iovec iov[2] = { { a, sizeof a }, { b, sizeof b } };
	long n = syscall(SYS_preadv, fd, iov, 2, 2L, 0L);
	CHECK(n == 7 && memcmp(a, "234", 3) == 0 && memcmp(b, "5678", 4) == 0,
	      "preadv at 2 scatters 7 bytes");
	CHECK(pos(fd) == 10, "preadv leaves the position");
	n = syscall(SYS_preadv, fd, iov, 2, 1L, 1L);
	CHECK(n == 7 && memcmp(a, "123", 3) == 0, "the high offset word is ignored");
	n = syscall(SYS_preadv, fd, iov, 2, 8L, 0L);
	CHECK(n == 2 && memcmp(a, "89", 2) == 0, "preadv near the end is short");
	CHECK(syscall(SYS_preadv, fd, iov, 2, 10L, 0L) == 0, "preadv at the end: 0");
	CHECK_ERRNO(syscall(SYS_preadv, fd, iov, 2, -1L, 0L), EINVAL, "preadv at -1");
	CHECK_ERRNO(syscall(SYS_preadv, 999, iov, 2, -1L, 0L), EINVAL,
		    "preadv: the offset is checked before the descriptor");
	CHECK_ERRNO(syscall(SYS_preadv, 999, iov, 2, 0L, 0L), EBADF, "preadv on a bad fd");
	CHECK_ERRNO(syscall(SYS_preadv, fd, iov, 1025, 0L, 0L), EINVAL, "preadv: 1025 buffers");
	CHECK_ERRNO(syscall(SYS_preadv, fd, (void *)8, 1, 0L, 0L), EFAULT, "preadv: bad vector");
	CHECK(syscall(SYS_preadv, fd, iov, 0, 0L, 0L) == 0, "preadv of no buffers: 0");

	memcpy(a, "abc", 3);
	memcpy(b, "defg", 4);
	n = syscall(SYS_pwritev, fd, iov, 2, 5L, 0L);
	CHECK(n == 7 && pos(fd) == 10, "pwritev at 5 writes 7, position kept");
	char buf[32] = { 0 };
	CHECK(pread(fd, buf, sizeof buf, 0) == 12 && memcmp(buf, "01234abcdefg", 12) == 0,
	      "pwritev gathered at the offset and grew the file");
	CHECK_ERRNO(syscall(SYS_pwritev, fd, iov, 2, -5L, 0L), EINVAL, "pwritev at -5");

	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	CHECK_ERRNO(syscall(SYS_preadv, p[0], iov, 2, 0L, 0L), ESPIPE, "preadv on a pipe");
	CHECK_ERRNO(syscall(SYS_pwritev, p[1], iov, 2, 0L, 0L), ESPIPE, "pwritev on a pipe");
	int ro = open(path, O_RDONLY);
	CHECK_ERRNO(syscall(SYS_pwritev, ro, iov, 2, 0L, 0L), EBADF, "pwritev on O_RDONLY");

	/* The v2 calls: offset -1 is the file position, which then moves. */
	CHECK(lseek(fd, 3, SEEK_SET) == 3, "seek to 3");
	n = preadv2_(fd, iov, 2, -1, 0);
	CHECK(n == 7 && memcmp(a, "34a", 3) == 0 && pos(fd) == 10,
	      "preadv2 at -1 reads at the position and moves it");
	n = preadv2_(fd, iov, 2, 0, 0);
	CHECK(n == 7 && memcmp(a, "012", 3) == 0 && pos(fd) == 10,
	      "preadv2 at 0 leaves the position");
	CHECK_ERRNO(preadv2_(fd, iov, 2, -2, 0), EINVAL, "preadv2 at -2");
	CHECK_ERRNO(pwritev2_(fd, iov, 2, -2, 0), EINVAL, "pwritev2 at -2");
	CHECK_ERRNO(preadv2_(fd, iov, 2, 0, 0x40000000), EOPNOTSUPP, "preadv2: unknown flag");
	CHECK_ERRNO(pwritev2_(fd, iov, 2, 0, 0x80000000), EOPNOTSUPP, "pwritev2: unknown flag");
	CHECK_ERRNO(preadv2_(999, iov, 2, 0, 0x40000000), EBADF,
		    "preadv2: the descriptor is checked before the flags");
	CHECK(preadv2_(fd, iov, 2, 0, RWF_HIPRI) == 7, "preadv2 RWF_HIPRI");
	memcpy(a, "abc", 3);
	CHECK(pwritev2_(fd, iov, 1, 0, RWF_DSYNC) == 3, "pwritev2 RWF_DSYNC");
	CHECK(pwritev2_(fd, iov, 1, 0, RWF_SYNC | RWF_HIPRI) == 3, "pwritev2 RWF_SYNC|RWF_HIPRI");
	CHECK(preadv2_(fd, iov, 2, 0, RWF_NOWAIT) == 7, "preadv2 RWF_NOWAIT on tmpfs reads");
	CHECK_ERRNO(pwritev2_(fd, iov, 1, 0, RWF_NOWAIT), EOPNOTSUPP,
		    "pwritev2 RWF_NOWAIT on tmpfs: EOPNOTSUPP");
	CHECK(preadv2_(fd, iov, 2, 0, RWF_APPEND) == 7, "preadv2 RWF_APPEND is ignored");

	/* RWF_APPEND writes at the end whatever the offset. */
	memcpy(a, "XYZ", 3);
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "seek to 0");
	n = pwritev2_(fd, iov, 1, 0, RWF_APPEND);
	CHECK(n == 3 && pos(fd) == 0, "pwritev2 RWF_APPEND at 0, position kept");
	CHECK(pread(fd, buf, sizeof buf, 0) == 15 && memcmp(buf + 12, "XYZ", 3) == 0 &&
		      memcmp(buf, "abc", 3) == 0,
	      "RWF_APPEND wrote at the end");
	n = pwritev2_(fd, iov, 1, -1, RWF_APPEND);
	CHECK(n == 3 && pos(fd) == 18, "pwritev2 RWF_APPEND at -1 moves the position to the end");
	n = pwritev2_(fd, iov, 1, -1, 0);
	CHECK(n == 3 && pos(fd) == 21, "pwritev2 at -1 writes at the position");

	/* Pipes: the v2 calls at -1 work; at an offset ESPIPE. */
	CHECK(pwritev2_(p[1], iov, 1, -1, 0) == 3, "pwritev2 at -1 on a pipe");
	CHECK(preadv2_(p[0], iov, 1, -1, 0) == 3 && memcmp(a, "XYZ", 3) == 0,
	      "preadv2 at -1 on a pipe");
	CHECK_ERRNO(preadv2_(p[0], iov, 1, 0, 0), ESPIPE, "preadv2 at 0 on a pipe");
	CHECK_ERRNO(preadv2_(p[0], iov, 1, -1, RWF_NOWAIT), EAGAIN,
		    "preadv2 RWF_NOWAIT on an empty pipe");

	/* pwrite on O_APPEND appends (Linux ignores the offset). */
	int ap = open(path, O_WRONLY | O_APPEND);
	CHECK(ap >= 0, "open O_APPEND");
	CHECK(pwrite(ap, "!", 1, 0) == 1, "pwrite at 0 on O_APPEND");
	CHECK(pread(fd, buf, 1, 0) == 1 && buf[0] == 'a', "offset 0 was not written");
	CHECK(pread(fd, buf, sizeof buf, 21) == 1 && buf[0] == '!', "it went to the end");
	CHECK(lseek(ap, 0, SEEK_CUR) == 0, "pwrite kept the position");
	memcpy(a, "app", 3);
	CHECK(syscall(SYS_pwritev, ap, iov, 1, 0L, 0L) == 3, "pwritev at 0 on O_APPEND");
	CHECK(pread(fd, buf, sizeof buf, 22) == 3 && memcmp(buf, "app", 3) == 0,
	      "pwritev appended too");

	close(ap);
	close(ro);
	close(p[0]);
	close(p[1]);
	close(fd);
	unlink(path);
	return check_exit();
}
