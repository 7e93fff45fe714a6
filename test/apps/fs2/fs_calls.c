/*
 * Older and newer file calls: creat, the legacy getdents (struct
 * linux_dirent, type in the last byte), fadvise64, utime, utimes,
 * futimesat and fchmodat2, with their error paths.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#include "check.h"

struct old_dirent {
	unsigned long d_ino;
	unsigned long d_off;
	unsigned short d_reclen;
	char d_name[];
};

int main(void)
{
	char dir[] = "/tmp/fs_calls_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CHECK(chdir(dir) == 0, "chdir");

	/* creat */
	int fd = syscall(SYS_creat, "f", 0640);
	CHECK(fd >= 0, "creat a new file");
	CHECK(write(fd, "hello", 5) == 5, "creat gives a writable descriptor");
	char c;
	CHECK_ERRNO(read(fd, &c, 1), EBADF, "and not a readable one");
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY, "O_WRONLY");
	close(fd);
	struct stat st;
	CHECK(stat("f", &st) == 0 && (st.st_mode & 0777) == (0640 & ~022 & 0777),
	      "mode from creat and the umask");
	fd = syscall(SYS_creat, "f", 0600);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "creat truncates");
	close(fd);
	CHECK_ERRNO(syscall(SYS_creat, "nodir/f", 0600), ENOENT, "creat in a missing directory");
	CHECK_ERRNO(syscall(SYS_creat, ".", 0600), EISDIR, "creat on a directory");
	CHECK(mkdir("sub", 0755) == 0 && symlink("f", "lnk") == 0, "a directory and a link");

	/* legacy getdents */
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	char buf[512];
	long n = syscall(SYS_getdents, dfd, buf, sizeof buf);
	CHECK(n > 0, "getdents reads the directory");
	int seen = 0, types_ok = 1;
	for (long off = 0; off < n;) {
		struct old_dirent *d = (void *)(buf + off);
		unsigned char type = buf[off + d->d_reclen - 1];
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0 ||
		    strcmp(d->d_name, "sub") == 0)
			types_ok &= type == DT_DIR;
		else if (strcmp(d->d_name, "f") == 0)
			types_ok &= type == DT_REG;
		else if (strcmp(d->d_name, "lnk") == 0)
			types_ok &= type == DT_LNK;
		else
			types_ok = 0;
		types_ok &= d->d_reclen % 8 == 0;
		seen++;
		off += d->d_reclen;
	}
	CHECK(seen == 5, "five entries (%d)", seen);
	CHECK(types_ok, "each with its type in the last byte");
	CHECK(syscall(SYS_getdents, dfd, buf, sizeof buf) == 0, "then the end");
	lseek(dfd, 0, SEEK_SET);
	CHECK_ERRNO(syscall(SYS_getdents, dfd, buf, 10), EINVAL, "a buffer too small for one entry");
	CHECK_ERRNO(syscall(SYS_getdents, dfd, (void *)8, sizeof buf), EFAULT, "a bad buffer");
	fd = open("f", O_RDONLY);
	CHECK_ERRNO(syscall(SYS_getdents, fd, buf, sizeof buf), ENOTDIR, "getdents on a file");
	CHECK_ERRNO(syscall(SYS_getdents, 999, buf, sizeof buf), EBADF, "getdents on a bad fd");

	/* fadvise64 */
	CHECK(syscall(SYS_fadvise64, fd, 0L, 0L, 0L) == 0, "fadvise NORMAL");
	CHECK(syscall(SYS_fadvise64, fd, 0L, 100L, 4L) == 0, "fadvise DONTNEED");
	CHECK(syscall(SYS_fadvise64, fd, -1L, 0L, 5L) == 0, "fadvise NOREUSE at -1");
	CHECK_ERRNO(syscall(SYS_fadvise64, fd, 0L, 0L, 6L), EINVAL, "fadvise advice 6");
	CHECK_ERRNO(syscall(SYS_fadvise64, fd, 0L, -1L, 0L), EINVAL, "fadvise length -1");
	CHECK(syscall(SYS_fadvise64, dfd, 0L, 0L, 0L) == 0, "fadvise on a directory");
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	CHECK_ERRNO(syscall(SYS_fadvise64, p[0], 0L, 0L, 9L), ESPIPE,
		    "fadvise on a pipe: ESPIPE before the advice");
	CHECK_ERRNO(syscall(SYS_fadvise64, 999, 0L, 0L, 9L), EBADF, "fadvise on a bad fd");
	int opath = open("f", O_PATH);
	CHECK_ERRNO(syscall(SYS_fadvise64, opath, 0L, 0L, 0L), EBADF, "fadvise on O_PATH");
	close(opath);
	close(p[0]);
	close(p[1]);
	close(fd);

	/* utime, utimes, futimesat */
	struct utimbuf ub = { 1000, 2000 };
	CHECK(syscall(SYS_utime, "f", &ub) == 0, "utime");
	CHECK(stat("f", &st) == 0 && st.st_atime == 1000 && st.st_mtime == 2000,
	      "utime set both times");
	struct timeval tv[2] = { { 3000, 500000 }, { 4000, 250000 } };
	CHECK(syscall(SYS_utimes, "f", tv) == 0, "utimes");
	CHECK(stat("f", &st) == 0 && st.st_atime == 3000 && st.st_atim.tv_nsec == 500000000 &&
		      st.st_mtime == 4000 && st.st_mtim.tv_nsec == 250000000,
	      "utimes set microseconds");
	tv[1].tv_usec = 1000000;
	CHECK_ERRNO(syscall(SYS_utimes, "f", tv), EINVAL, "utimes tv_usec 1000000");
	tv[1].tv_usec = -1;
	CHECK_ERRNO(syscall(SYS_utimes, "f", tv), EINVAL, "utimes tv_usec -1");
	tv[1].tv_usec = 0;
	CHECK(syscall(SYS_futimesat, dfd, "f", tv) == 0, "futimesat relative to a dirfd");
	CHECK(stat("f", &st) == 0 && st.st_mtime == 4000 && st.st_mtim.tv_nsec == 0,
	      "futimesat set the times");
	CHECK(syscall(SYS_utimes, "f", NULL) == 0, "utimes(NULL) is now");
	CHECK(stat("f", &st) == 0 && st.st_mtime > 1000000, "the time is now");
	CHECK(syscall(SYS_utime, "f", NULL) == 0, "utime(NULL) is now");
	CHECK_ERRNO(syscall(SYS_utime, "missing", &ub), ENOENT, "utime on a missing file");
	CHECK_ERRNO(syscall(SYS_utimes, "f", (void *)8), EFAULT, "utimes bad pointer");
	CHECK_ERRNO(syscall(SYS_futimesat, 999, "f", tv), EBADF, "futimesat bad dirfd");
	fd = open("f", O_RDONLY);
	CHECK(syscall(SYS_futimesat, fd, NULL, tv) == 0, "futimesat with a NULL path uses the fd");
	close(fd);

	/* fchmodat2 */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
	CHECK(syscall(SYS_fchmodat2, AT_FDCWD, "f", 0604, 0) == 0, "fchmodat2");
	CHECK(stat("f", &st) == 0 && (st.st_mode & 07777) == 0604, "mode set");
	CHECK(syscall(SYS_fchmodat2, AT_FDCWD, "lnk", 0600, 0) == 0, "fchmodat2 follows a link");
	CHECK(stat("f", &st) == 0 && (st.st_mode & 07777) == 0600, "the target changed");
	CHECK_ERRNO(syscall(SYS_fchmodat2, AT_FDCWD, "lnk", 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP,
		    "fchmodat2 NOFOLLOW on a link: EOPNOTSUPP");
	CHECK(syscall(SYS_fchmodat2, AT_FDCWD, "f", 0640, AT_SYMLINK_NOFOLLOW) == 0,
	      "fchmodat2 NOFOLLOW on a file");
	CHECK_ERRNO(syscall(SYS_fchmodat2, AT_FDCWD, "f", 0600, 0x1), EINVAL, "fchmodat2 bad flag");
	CHECK_ERRNO(syscall(SYS_fchmodat2, AT_FDCWD, "", 0600, 0), ENOENT, "empty path");
	fd = open("f", O_RDONLY);
	CHECK(syscall(SYS_fchmodat2, fd, "", 0644, AT_EMPTY_PATH) == 0, "AT_EMPTY_PATH");
	CHECK(stat("f", &st) == 0 && (st.st_mode & 07777) == 0644, "set through the fd");
	close(fd);
	CHECK_ERRNO(syscall(SYS_fchmodat2, AT_FDCWD, "missing", 0600, 0), ENOENT, "missing file");

	close(dfd);
	unlink("lnk");
	unlink("f");
	rmdir("sub");
	CHECK(chdir("/") == 0 && rmdir(dir) == 0, "all removed");
	return check_exit();
}
