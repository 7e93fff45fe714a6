/*
 * Symbolic links:
 * - symlink/readlink: no terminating NUL, truncation to bufsiz, EINVAL on a
 *   non-link;
 * - lstat vs stat; a dangling link (ENOENT on open, lstat fine);
 * - a loop a -> b -> a gives ELOOP; a chain of 40 links resolves, 41 gives
 *   ELOOP (Linux follows at most 40);
 * - a link to a directory, with a trailing slash;
 * - fstatat with AT_SYMLINK_NOFOLLOW, readlinkat with a dirfd;
 * - relative targets are resolved relative to the link's directory.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int main(void)
{
	char buf[256], name[32], target[32];
	struct stat st, lst;
	int fd;

	strcpy(dir, "/tmp/symlXXXXXX");
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return check_exit();
	}

	fd = open(P("file"), O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && write(fd, "content", 7) == 7, "create file with 7 bytes");
	close(fd);

	/* symlink / readlink */
	CHECK(symlink("file", P("l1")) == 0, "symlink l1 -> file");
	CHECK_ERRNO(symlink("other", P("l1")), EEXIST, "symlink over an existing name -> EEXIST");
	memset(buf, 'Z', sizeof(buf));
	ssize_t n = readlink(P("l1"), buf, sizeof(buf));
	CHECK(n == 4 && memcmp(buf, "file", 4) == 0, "readlink gives \"file\" (%zd bytes)", n);
	CHECK(buf[4] == 'Z', "readlink does not write a NUL");
	memset(buf, 'Z', sizeof(buf));
	n = readlink(P("l1"), buf, 2);
	CHECK(n == 2 && memcmp(buf, "fi", 2) == 0 && buf[2] == 'Z', "readlink truncates to bufsiz 2");
	CHECK_ERRNO(readlink(P("file"), buf, sizeof(buf)), EINVAL, "readlink on a regular file -> EINVAL");
	CHECK_ERRNO(readlink(P("missing"), buf, sizeof(buf)), ENOENT, "readlink on a missing name -> ENOENT");

	/* lstat vs stat */
	CHECK(stat(P("l1"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 7, "stat follows the link");
	CHECK(lstat(P("l1"), &lst) == 0 && S_ISLNK(lst.st_mode) && lst.st_size == 4, "lstat sees a link of size 4");
	CHECK(st.st_ino != lst.st_ino, "link and target have different inodes");
	fd = open(P("l1"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 7 && memcmp(buf, "content", 7) == 0, "open through the link reads the file");
	close(fd);

	/* dangling */
	CHECK(symlink("nowhere", P("dang")) == 0, "symlink dang -> nowhere");
	CHECK_ERRNO(open(P("dang"), O_RDONLY), ENOENT, "open of a dangling link -> ENOENT");
	CHECK_ERRNO(stat(P("dang"), &st), ENOENT, "stat of a dangling link -> ENOENT");
	CHECK(lstat(P("dang"), &lst) == 0 && S_ISLNK(lst.st_mode), "lstat of a dangling link works");
	fd = open(P("dang"), O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && access(P("nowhere"), F_OK) == 0, "O_CREAT through a dangling link creates its target");
	close(fd);
	unlink(P("nowhere"));

	/* loop */
	CHECK(symlink("b", P("a")) == 0 && symlink("a", P("b")) == 0, "symlinks a -> b -> a");
	CHECK_ERRNO(open(P("a"), O_RDONLY), ELOOP, "open of a loop -> ELOOP");
	CHECK_ERRNO(stat(P("a"), &st), ELOOP, "stat of a loop -> ELOOP");
	CHECK(lstat(P("a"), &lst) == 0, "lstat of a loop works");

	/* chain: c0 -> file, ck -> c(k-1) */
	int made = 1;
	for (int k = 0; k <= 40; k++) {
		snprintf(name, sizeof(name), "c%d", k);
		if (k == 0)
			strcpy(target, "file");
		else
			snprintf(target, sizeof(target), "c%d", k - 1);
		if (symlink(target, P(name)) != 0)
			made = 0;
	}
	CHECK(made, "made a chain of 41 links c0..c40");
	fd = open(P("c39"), O_RDONLY);
	CHECK(fd >= 0, "open through 40 links works");
	close(fd);
	CHECK(stat(P("c39"), &st) == 0 && st.st_size == 7, "stat through 40 links works");
	CHECK_ERRNO(open(P("c40"), O_RDONLY), ELOOP, "open through 41 links -> ELOOP");

	/* link to a directory */
	CHECK(mkdir(P("dir"), 0755) == 0, "mkdir dir");
	fd = open(P("dir/inner"), O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0, "create dir/inner");
	close(fd);
	CHECK(symlink("dir", P("dl")) == 0, "symlink dl -> dir");
	CHECK(stat(P("dl/"), &st) == 0 && S_ISDIR(st.st_mode), "stat(\"dl/\") is the directory");
	CHECK(lstat(P("dl/"), &st) == 0 && S_ISDIR(st.st_mode), "lstat(\"dl/\") follows because of the slash");
	CHECK(lstat(P("dl"), &st) == 0 && S_ISLNK(st.st_mode), "lstat(\"dl\") is the link");
	CHECK(access(P("dl/inner"), F_OK) == 0, "dl/inner is reachable");
	CHECK_ERRNO(stat(P("l1/"), &st), ENOTDIR, "stat(\"l1/\") (link to a file) -> ENOTDIR");
	CHECK_ERRNO(rmdir(P("dl")), ENOTDIR, "rmdir of a link to a directory -> ENOTDIR");

	/* *at variants */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open the scratch dir");
	CHECK(fstatat(dfd, "l1", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode), "fstatat(AT_SYMLINK_NOFOLLOW) sees the link");
	CHECK(fstatat(dfd, "l1", &st, 0) == 0 && S_ISREG(st.st_mode), "fstatat(0) follows it");
	memset(buf, 0, sizeof(buf));
	CHECK(readlinkat(dfd, "dl", buf, sizeof(buf)) == 3 && strcmp(buf, "dir") == 0, "readlinkat(dfd, \"dl\") = \"dir\"");
	CHECK(symlinkat("../file", dfd, "dir/up") == 0, "symlinkat(\"../file\", dfd, \"dir/up\")");

	/* relative targets */
	fd = open(P("dir/up"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 7, "dir/up -> ../file resolves relative to dir/");
	close(fd);
	CHECK(symlink("inner", P("dir/rel")) == 0, "symlink dir/rel -> inner");
	CHECK(stat(P("dir/rel"), &st) == 0 && S_ISREG(st.st_mode), "dir/rel finds dir/inner");
	CHECK(chdir(P("dir")) == 0, "chdir dir");
	CHECK(stat("../dl/rel", &st) == 0 && S_ISREG(st.st_mode), "../dl/rel: link inside a linked dir");
	CHECK(chdir("/") == 0, "chdir /");
	CHECK(symlink(P("file"), P("abs")) == 0 && stat(P("abs"), &st) == 0 && st.st_size == 7, "absolute target");

	/* unlink removes the link, not the target */
	CHECK(unlink(P("l1")) == 0 && access(P("file"), F_OK) == 0, "unlink of a link keeps the target");

	/* cleanup */
	close(dfd);
	const char *names[] = { "dir/up", "dir/rel", "dir/inner", "dl", "dang", "a", "b", "abs", "file" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(P(names[i]));
	for (int k = 0; k <= 40; k++) {
		snprintf(name, sizeof(name), "c%d", k);
		unlink(P(name));
	}
	rmdir(P("dir"));
	CHECK(rmdir(dir) == 0, "scratch dir removed");
	return check_exit();
}
