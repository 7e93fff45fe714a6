/*
 * The memory devices: a 1 MiB read of /dev/zero, /dev/full, /dev/urandom
 * and /dev/random returns the whole count at once (dd bs=1M relies on it),
 * /dev/full refuses writes with ENOSPC, /dev/null swallows writes and
 * reads as end of file; seeks on them succeed and report where Linux
 * says.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"

#define MIB (1 << 20)

static int all_zero(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

int main(void)
{
	char *buf = malloc(2 * MIB);
	int fd;
	struct iovec iov[2];
	long v;

	memset(buf, 0x55, 2 * MIB);
	fd = open("/dev/zero", O_RDONLY);
	CHECK(read(fd, buf, MIB) == MIB, "1 MiB from /dev/zero in one read");
	CHECK(all_zero(buf, MIB), "all zeros");
	CHECK(pread(fd, buf, MIB, 12345) == MIB, "pread of 1 MiB");
	iov[0].iov_base = buf;
	iov[0].iov_len = 700000;
	iov[1].iov_base = buf + 700000;
	iov[1].iov_len = 700000;
	CHECK(readv(fd, iov, 2) == 1400000, "readv of 1.4 MB");
	v = lseek(fd, 100, SEEK_SET);
	CHECK(v == 0, "lseek on /dev/zero reports 0 (%ld)", v);
	CHECK(write(open("/dev/zero", O_WRONLY), buf, 100) == 100, "writes to /dev/zero vanish");
	close(fd);

	fd = open("/dev/full", O_RDWR);
	memset(buf, 0x55, MIB);
	CHECK(read(fd, buf, MIB) == MIB && all_zero(buf, MIB), "1 MiB of zeros from /dev/full");
	CHECK_ERRNO(write(fd, "x", 1), ENOSPC, "writing /dev/full");
	CHECK_ERRNO(write(fd, buf, 0), ENOSPC, "even 0 bytes");
	close(fd);

	fd = open("/dev/urandom", O_RDONLY);
	memset(buf, 0, MIB);
	CHECK(read(fd, buf, MIB) == MIB, "1 MiB from /dev/urandom in one read");
	CHECK(!all_zero(buf + MIB - 64, 64), "random to the end");
	close(fd);
	fd = open("/dev/random", O_RDWR);
	CHECK(read(fd, buf, MIB) == MIB, "1 MiB from /dev/random in one read");
	CHECK(write(fd, buf, 64) == 64, "writing /dev/random is accepted");
	close(fd);

	fd = open("/dev/null", O_RDWR);
	CHECK(read(fd, buf, MIB) == 0, "/dev/null reads as end of file");
	CHECK(write(fd, buf, 2 * MIB) == 2 * MIB, "and takes 2 MiB in one write");
	v = lseek(fd, 4096, SEEK_SET);
	CHECK(v == 0, "lseek on /dev/null reports 0 (%ld)", v);
	close(fd);
	return check_exit();
}
