/*
 * File basics on a file that is certainly present: this program itself,
 * opened through argv[0] (run it by absolute path).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_statx
#define SYS_statx 332
#endif

/* The kernel's struct statx (musl 1.2.3 headers do not provide it). */
struct kstatx_ts {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
struct kstatx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, spare0;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct kstatx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t spare[14];
};
#define KSTATX_TYPE 0x1U
#define KSTATX_MODE 0x2U
#define KSTATX_SIZE 0x200U
#define KSTATX_BASIC_STATS 0x7ffU

int main(int argc, char **argv)
{
	(void)argc;
	const char *self = argv[0];
	unsigned char buf[64];

	int fd = open(self, O_RDONLY);
	CHECK(fd >= 0, "open(\"%s\", O_RDONLY) = %d", self, fd);
	if (fd < 0)
		return check_exit();
	CHECK(read(fd, buf, 4) == 4 && memcmp(buf, "\177ELF", 4) == 0, "read ELF magic");

	/* lseek */
	CHECK(lseek(fd, 0, SEEK_CUR) == 4, "lseek(0, SEEK_CUR) = 4 after reading 4 bytes");
	CHECK(lseek(fd, 1, SEEK_SET) == 1, "lseek(1, SEEK_SET) = 1");
	CHECK(read(fd, buf, 3) == 3 && memcmp(buf, "ELF", 3) == 0, "read at offset 1 gives \"ELF\"");
	CHECK(lseek(fd, 12, SEEK_CUR) == 16, "lseek(12, SEEK_CUR) = 16");
	CHECK(lseek(fd, -12, SEEK_CUR) == 4, "lseek(-12, SEEK_CUR) = 4");
	off_t end = lseek(fd, 0, SEEK_END);
	CHECK(end > 64, "lseek(0, SEEK_END) = %lld", (long long)end);
	CHECK(read(fd, buf, sizeof(buf)) == 0, "read at EOF returns 0");
	CHECK(lseek(fd, -4, SEEK_END) == end - 4, "lseek(-4, SEEK_END) = size - 4");
	CHECK(read(fd, buf, sizeof(buf)) == 4, "read near EOF returns the 4 remaining bytes");
	CHECK_ERRNO(lseek(fd, -1, SEEK_SET), EINVAL, "lseek(-1, SEEK_SET) -> EINVAL");
	CHECK_ERRNO(lseek(fd, 0, 12345), EINVAL, "lseek with a bad whence -> EINVAL");
	CHECK(lseek(fd, end + 100, SEEK_SET) == end + 100, "lseek past EOF is allowed");
	CHECK(read(fd, buf, 4) == 0, "read past EOF returns 0");

	/* pread does not move the offset. */
	CHECK(lseek(fd, 8, SEEK_SET) == 8, "lseek(8, SEEK_SET)");
	CHECK(pread(fd, buf, 4, 0) == 4 && memcmp(buf, "\177ELF", 4) == 0, "pread at 0");
	CHECK(lseek(fd, 0, SEEK_CUR) == 8, "offset unchanged by pread");

	/* fstat */
	struct stat st;
	CHECK(fstat(fd, &st) == 0, "fstat");
	CHECK(S_ISREG(st.st_mode), "S_ISREG(st_mode = %o)", (unsigned)st.st_mode);
	CHECK(st.st_size == end, "st_size = %lld == SEEK_END offset", (long long)st.st_size);
	CHECK(st.st_mode & 0111, "file is executable");

	/* dup shares the file offset. */
	int fd2 = dup(fd);
	CHECK(fd2 >= 0 && fd2 != fd, "dup = %d", fd2);
	CHECK(lseek(fd2, 2, SEEK_SET) == 2 && lseek(fd, 0, SEEK_CUR) == 2,
	      "dup'd descriptors share the offset");
	CHECK(close(fd2) == 0, "close(dup)");

	/* readv scatters into several buffers. */
	unsigned char a[4], b[12];
	struct iovec riov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "rewind");
	CHECK(readv(fd, riov, 2) == 16, "readv 4 + 12 bytes");
	CHECK(memcmp(a, "\177ELF", 4) == 0 && b[0] == 2 /* ELFCLASS64 */, "readv data is the ELF ident");
	CHECK(close(fd) == 0, "close");

	/* stat / newfstatat / statx */
	CHECK(stat("/", &st) == 0 && S_ISDIR(st.st_mode), "stat(\"/\") is a directory");
	CHECK(syscall(SYS_newfstatat, AT_FDCWD, "/", &st, 0) == 0 && S_ISDIR(st.st_mode),
	      "newfstatat(AT_FDCWD, \"/\") is a directory");
	struct stat st2;
	CHECK(stat(self, &st2) == 0 && S_ISREG(st2.st_mode) && st2.st_size == end,
	      "stat(argv[0]) agrees with fstat");
	struct kstatx sx;
	memset(&sx, 0, sizeof(sx));
	CHECK(syscall(SYS_statx, AT_FDCWD, self, 0, KSTATX_BASIC_STATS, &sx) == 0, "statx(argv[0])");
	CHECK((sx.stx_mask & (KSTATX_TYPE | KSTATX_MODE | KSTATX_SIZE)) ==
	      (KSTATX_TYPE | KSTATX_MODE | KSTATX_SIZE), "statx mask has TYPE|MODE|SIZE");
	CHECK(S_ISREG(sx.stx_mode) && (int64_t)sx.stx_size == (int64_t)end,
	      "statx: regular file of size %llu", (unsigned long long)sx.stx_size);
	memset(&sx, 0, sizeof(sx));
	CHECK(syscall(SYS_statx, AT_FDCWD, "/", 0, KSTATX_BASIC_STATS, &sx) == 0 && S_ISDIR(sx.stx_mode),
	      "statx(\"/\") is a directory");

	/* Errors */
	CHECK_ERRNO(open("/no/such/file", O_RDONLY), ENOENT, "open(missing) -> ENOENT");
	CHECK_ERRNO(open("/definitely-missing", O_RDONLY), ENOENT, "open(/definitely-missing) -> ENOENT");
	CHECK_ERRNO(stat("/definitely-missing", &st), ENOENT, "stat(missing) -> ENOENT");
	CHECK_ERRNO(close(1000), EBADF, "close(1000) -> EBADF");
	CHECK_ERRNO(close(-1), EBADF, "close(-1) -> EBADF");
	CHECK_ERRNO(read(1000, buf, 1), EBADF, "read(1000) -> EBADF");
	CHECK_ERRNO(fstat(1000, &st), EBADF, "fstat(1000) -> EBADF");
	char lbuf[64];
	CHECK_ERRNO(readlink(self, lbuf, sizeof(lbuf)), EINVAL, "readlink(regular file) -> EINVAL");
	CHECK_ERRNO(open(self, O_RDONLY | O_DIRECTORY), ENOTDIR, "open(file, O_DIRECTORY) -> ENOTDIR");
	int dfd = open("/", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open(\"/\", O_DIRECTORY)");
	if (dfd >= 0) {
		CHECK_ERRNO(read(dfd, buf, 1), EISDIR, "read(directory) -> EISDIR");
		close(dfd);
	}

	/* openat(AT_FDCWD, ...) */
	fd = openat(AT_FDCWD, self, O_RDONLY);
	CHECK(fd >= 0, "openat(AT_FDCWD, argv[0])");
	if (fd >= 0) {
		CHECK(read(fd, buf, 4) == 4 && memcmp(buf, "\177ELF", 4) == 0, "read via openat fd");
		CHECK_ERRNO(write(fd, "x", 1), EBADF, "write to an O_RDONLY fd -> EBADF");
		close(fd);
	}

	/* writev gathers to stdout. */
	static const char w1[] = "writev: part one, ";
	static const char w2[] = "part two\n";
	struct iovec wiov[2] = { { (void *)w1, sizeof(w1) - 1 }, { (void *)w2, sizeof(w2) - 1 } };
	fflush(stdout);
	ssize_t wn = writev(1, wiov, 2);
	CHECK(wn == (ssize_t)(sizeof(w1) - 1 + sizeof(w2) - 1), "writev to stdout = %zd", wn);

	return check_exit();
}
