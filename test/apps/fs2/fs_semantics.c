/*
 * File system semantics on a scratch directory under /tmp:
 * - open flags: O_CREAT|O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY on a file,
 *   O_NOFOLLOW on a symlink, O_CLOEXEC, O_PATH;
 * - mkdir/rmdir/unlink errors, rename over a file and into a subdirectory,
 *   link counts;
 * - truncate/ftruncate, pread/pwrite, SEEK_DATA/SEEK_HOLE;
 * - chmod/fchmod, umask, utimensat, statfs, ENAMETOOLONG;
 * - relative paths, openat with a directory fd, AT_EMPTY_PATH, faccessat,
 *   getcwd after chdir/fchdir.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

static char dir[64];

static char *P(const char *name)
{
	static char bufs[4][PATH_MAX];
	static int i;
	char *b = bufs[i++ & 3];
	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static ssize_t read_file(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sz - 1);
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

int main(void)
{
	char buf[256];
	struct stat st;
	int fd;

	strcpy(dir, "/tmp/fssemXXXXXX");
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return check_exit();
	}
	umask(022);

	/* O_CREAT|O_EXCL */
	fd = open(P("a"), O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0, "open(O_CREAT|O_EXCL) on a new name");
	CHECK(write(fd, "hello world", 11) == 11, "write 11 bytes");
	close(fd);
	CHECK_ERRNO(open(P("a"), O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST, "O_CREAT|O_EXCL on an existing file -> EEXIST");

	/* O_TRUNC */
	fd = open(P("a"), O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "O_TRUNC empties the file");
	CHECK(write(fd, "abc", 3) == 3, "write \"abc\"");
	close(fd);

	/* O_APPEND */
	fd = open(P("a"), O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && lseek(fd, 0, SEEK_SET) == 0 && write(fd, "def", 3) == 3, "O_APPEND write after lseek(0)");
	close(fd);
	CHECK(read_file(P("a"), buf, sizeof(buf)) == 6 && strcmp(buf, "abcdef") == 0, "O_APPEND wrote at the end: \"%s\"", buf);

	/* O_DIRECTORY, O_NOFOLLOW */
	CHECK_ERRNO(open(P("a"), O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a file -> ENOTDIR");
	CHECK(symlink("a", P("lnk")) == 0, "symlink lnk -> a");
	CHECK_ERRNO(open(P("lnk"), O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a symlink -> ELOOP");

	/* O_CLOEXEC */
	fd = open(P("a"), O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "O_CLOEXEC shows as FD_CLOEXEC");
	close(fd);
	fd = open(P("a"), O_RDONLY);
	CHECK(fd >= 0 && fcntl(fd, F_GETFD) == 0, "no O_CLOEXEC: F_GETFD is 0");
	close(fd);

	/* O_PATH */
	fd = open(P("a"), O_PATH);
	CHECK(fd >= 0, "open(O_PATH)");
	CHECK(fstat(fd, &st) == 0 && st.st_size == 6 && S_ISREG(st.st_mode), "fstat on an O_PATH fd works");
	CHECK_ERRNO(read(fd, buf, 1), EBADF, "read on an O_PATH fd -> EBADF");
	close(fd);

	/* mkdir / rmdir / unlink */
	CHECK(mkdir(P("d"), 0755) == 0, "mkdir d");
	CHECK_ERRNO(mkdir(P("d"), 0755), EEXIST, "mkdir of an existing dir -> EEXIST");
	CHECK(write_file(P("d/f"), "x") == 0, "create d/f");
	CHECK_ERRNO(rmdir(P("d")), ENOTEMPTY, "rmdir of a non-empty dir -> ENOTEMPTY");
	CHECK_ERRNO(unlink(P("d")), EISDIR, "unlink of a dir -> EISDIR");
	CHECK_ERRNO(rmdir(P("a")), ENOTDIR, "rmdir of a file -> ENOTDIR");

	/* rename */
	CHECK(write_file(P("r1"), "one") == 0 && write_file(P("r2"), "two") == 0, "create r1, r2");
	CHECK(rename(P("r1"), P("r2")) == 0, "rename r1 over r2");
	CHECK(read_file(P("r2"), buf, sizeof(buf)) == 3 && strcmp(buf, "one") == 0, "r2 now has r1's content");
	CHECK_ERRNO(access(P("r1"), F_OK), ENOENT, "r1 is gone");
	CHECK(mkdir(P("d/sub"), 0755) == 0, "mkdir d/sub");
	CHECK_ERRNO(rename(P("d"), P("d/sub/d")), EINVAL, "rename a dir into its own subdir -> EINVAL");

	/* link counts */
	CHECK(stat(P("r2"), &st) == 0 && st.st_nlink == 1, "new file: st_nlink 1");
	CHECK(link(P("r2"), P("r3")) == 0, "link r2 r3");
	CHECK(stat(P("r2"), &st) == 0 && st.st_nlink == 2, "after link: st_nlink 2 (%ld)", (long)st.st_nlink);
	struct stat st3;
	CHECK(stat(P("r3"), &st3) == 0 && st3.st_ino == st.st_ino, "both names have the same inode");
	CHECK(unlink(P("r2")) == 0 && stat(P("r3"), &st) == 0 && st.st_nlink == 1, "after unlink: st_nlink 1");
	CHECK(stat(P("d"), &st) == 0 && st.st_nlink == 3, "dir with one subdir: st_nlink 3 (%ld)", (long)st.st_nlink);

	/* truncate / ftruncate */
	CHECK(truncate(P("a"), 100) == 0 && stat(P("a"), &st) == 0 && st.st_size == 100, "truncate grows to 100");
	fd = open(P("a"), O_RDWR);
	memset(buf, 'x', sizeof(buf));
	CHECK(pread(fd, buf, 100, 0) == 100, "pread 100 bytes");
	int zeros = 1;
	for (int i = 6; i < 100; i++)
		if (buf[i])
			zeros = 0;
	CHECK(memcmp(buf, "abcdef", 6) == 0 && zeros, "grown part reads as zeros");
	CHECK(ftruncate(fd, 3) == 0 && fstat(fd, &st) == 0 && st.st_size == 3, "ftruncate shrinks to 3");
	CHECK(pread(fd, buf, 10, 0) == 3 && memcmp(buf, "abc", 3) == 0, "only 3 bytes remain");
	CHECK_ERRNO(ftruncate(fd, -1), EINVAL, "ftruncate(-1) -> EINVAL");

	/* pread / pwrite */
	CHECK(pwrite(fd, "XY", 2, 10) == 2, "pwrite at offset 10");
	CHECK(lseek(fd, 0, SEEK_CUR) == 0, "pwrite does not move the offset");
	CHECK(fstat(fd, &st) == 0 && st.st_size == 12, "size is 12 after pwrite at 10");
	CHECK(pread(fd, buf, 12, 0) == 12 && buf[3] == 0 && buf[9] == 0 && memcmp(buf + 10, "XY", 2) == 0,
	      "gap reads as zeros, data at 10");

	/* SEEK_DATA / SEEK_HOLE */
	off_t d = lseek(fd, 0, SEEK_DATA);
	off_t h = lseek(fd, 0, SEEK_HOLE);
	CHECK(d == 0, "SEEK_DATA from 0 = 0 (%lld)", (long long)d);
	CHECK(h > 0 && h <= 12, "SEEK_HOLE from 0 in (0, 12] (%lld)", (long long)h);
	CHECK_ERRNO(lseek(fd, 12, SEEK_DATA), ENXIO, "SEEK_DATA at EOF -> ENXIO");
	close(fd);

	/* chmod / fchmod / umask */
	CHECK(chmod(P("a"), 0600) == 0 && stat(P("a"), &st) == 0 && (st.st_mode & 07777) == 0600, "chmod 0600");
	fd = open(P("a"), O_RDONLY);
	CHECK(fchmod(fd, 0751) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0751, "fchmod 0751");
	close(fd);
	mode_t old = umask(077);
	CHECK(old == 022, "umask returns the previous mask");
	fd = creat(P("um"), 0666);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600, "creat(0666) under umask 077 gives 0600 (%o)",
	      st.st_mode & 0777);
	close(fd);
	umask(022);
	CHECK(mkdir(P("umd"), 0777) == 0 && stat(P("umd"), &st) == 0 && (st.st_mode & 0777) == 0755,
	      "mkdir(0777) under umask 022 gives 0755");

	/* utimensat */
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1200000000, 5000 } };
	CHECK(utimensat(AT_FDCWD, P("a"), ts, 0) == 0, "utimensat with explicit times");
	CHECK(stat(P("a"), &st) == 0 && st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789 &&
		      st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 5000,
	      "stat shows the atime and mtime set");
	struct timespec omit[2] = { { 0, UTIME_OMIT }, { 1300000000, 0 } };
	CHECK(utimensat(AT_FDCWD, P("a"), omit, 0) == 0 && stat(P("a"), &st) == 0 &&
		      st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 1300000000,
	      "UTIME_OMIT keeps atime");

	/* statfs */
	struct statfs sfs;
	CHECK(statfs(dir, &sfs) == 0 && sfs.f_bsize > 0, "statfs succeeds (f_bsize %ld)", (long)sfs.f_bsize);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(fstatfs(fd, &sfs) == 0, "fstatfs succeeds");

	/* ENAMETOOLONG */
	char longname[320];
	memset(longname, 'n', 300);
	longname[300] = 0;
	CHECK_ERRNO(open(P(longname), O_RDONLY | O_CREAT, 0644), ENAMETOOLONG, "300-char component -> ENAMETOOLONG");
	static char longpath[5100];
	strcpy(longpath, dir);
	size_t len = strlen(longpath);
	while (len < 5000) {
		memcpy(longpath + len, "/./x", 4);
		len += 4;
	}
	longpath[len] = 0;
	CHECK_ERRNO(open(longpath, O_RDONLY), ENAMETOOLONG, "5000-char path -> ENAMETOOLONG");

	/* openat with a dirfd, relative paths */
	int dfd = open(P("d"), O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open d O_DIRECTORY");
	int f2 = openat(dfd, "f", O_RDONLY);
	CHECK(f2 >= 0 && read(f2, buf, 10) == 1 && buf[0] == 'x', "openat(dfd, \"f\") reads d/f");
	close(f2);
	f2 = openat(dfd, "./sub/../../a", O_RDONLY);
	CHECK(f2 >= 0, "openat(dfd, \"./sub/../../a\")");
	CHECK(f2 >= 0 && fstat(f2, &st) == 0 && (st.st_mode & 0777) == 0751, "and it is a");
	close(f2);
	CHECK(fstatat(dfd, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode), "fstatat(dfd, \"\", AT_EMPTY_PATH) is a dir");
	CHECK_ERRNO(fstatat(dfd, "", &st, 0), ENOENT, "fstatat(dfd, \"\") without AT_EMPTY_PATH -> ENOENT");
	CHECK(faccessat(dfd, "f", R_OK | W_OK, 0) == 0, "faccessat(dfd, \"f\", R_OK|W_OK)");
	CHECK_ERRNO(faccessat(dfd, "nope", F_OK, 0), ENOENT, "faccessat on a missing name -> ENOENT");

	/* getcwd after chdir / fchdir */
	char cwd[PATH_MAX], want[PATH_MAX];
	CHECK(chdir(dir) == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, dir) == 0, "chdir + getcwd = %s", cwd);
	CHECK(chdir("d/sub/..") == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, P("d")) == 0, "chdir(\"d/sub/..\") -> %s",
	      cwd);
	CHECK(read_file("./f", buf, sizeof(buf)) == 1, "relative open of ./f after chdir");
	CHECK(read_file("../d/./sub/../f", buf, sizeof(buf)) == 1, "relative open of ../d/./sub/../f");
	CHECK(chdir("/") == 0 && fchdir(dfd) == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, P("d")) == 0,
	      "fchdir + getcwd = %s", cwd);
	snprintf(want, sizeof(want), "%s", dir);
	CHECK(chdir("..") == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, want) == 0, "chdir(\"..\") -> %s", cwd);
	close(dfd);
	close(fd);
	chdir("/");

	/* cleanup */
	unlink(P("d/f"));
	rmdir(P("d/sub"));
	rmdir(P("d"));
	rmdir(P("umd"));
	unlink(P("a"));
	unlink(P("lnk"));
	unlink(P("r3"));
	unlink(P("um"));
	CHECK(rmdir(dir) == 0, "scratch dir removed");
	return check_exit();
}
