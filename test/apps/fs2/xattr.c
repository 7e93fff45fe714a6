/*
 * Extended attributes on tmpfs: user.*, trusted.* and security.*; the
 * l and f variants; ENODATA, ERANGE (small buffers, long or empty
 * names; size 0 asks for the length), E2BIG, EOPNOTSUPP for other name
 * spaces and for files that keep none (a pipe), XATTR_CREATE and
 * XATTR_REPLACE, user.* only on regular files and directories, and the
 * permission rules for an unprivileged user. Runs on a tmpfs of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"

static int has_name(const char *list, long n, const char *name)
{
	for (long i = 0; i < n; i += strlen(list + i) + 1)
		if (strcmp(list + i, name) == 0)
			return 1;
	return 0;
}

static void unprivileged(void)
{
	char buf[512];
	CHECK(setuid(1000) == 0, "become uid 1000");
	CHECK_ERRNO(setxattr("f", "user.a", "2", 1, 0), EACCES, "user.* set without write permission");
	CHECK(getxattr("f", "user.a", buf, sizeof buf) == 1, "user.* get with read permission");
	CHECK_ERRNO(removexattr("f", "user.a"), EACCES, "user.* remove without write permission");
	CHECK_ERRNO(getxattr("f", "trusted.t", buf, sizeof buf), ENODATA, "trusted.* get: ENODATA");
	CHECK_ERRNO(setxattr("f", "trusted.t", "1", 1, 0), EPERM, "trusted.* set: EPERM");
	CHECK_ERRNO(removexattr("f", "trusted.t"), EPERM, "trusted.* remove: EPERM");
	long n = listxattr("f", buf, sizeof buf);
	CHECK(n > 0 && has_name(buf, n, "user.a") && !has_name(buf, n, "trusted.t"),
	      "the list hides trusted.*");
	CHECK_ERRNO(setxattr("sticky", "user.s", "2", 1, 0), EPERM,
		    "user.* on another's sticky directory: EPERM");
	CHECK(getxattr("sticky", "user.s", buf, sizeof buf) == 1, "but it can be read");
}

int main(void)
{
	char dir[] = "/tmp/xattr_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CHECK(mount("tmpfs", dir, "tmpfs", 0, NULL) == 0, "mount a tmpfs");
	CHECK(chdir(dir) == 0, "chdir");
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0, "a file");
	CHECK(mkdir("d", 0755) == 0 && symlink("f", "l") == 0 && mkfifo("fifo", 0644) == 0,
	      "a directory, a symlink and a FIFO");

	char buf[512];
	static char big[65537];
	memset(big, 'v', sizeof big);
	char longname[300];
	memset(longname, 'n', sizeof longname);
	memcpy(longname, "user.", 5);
	longname[256] = 0;

	CHECK(setxattr("f", "user.a", "1", 1, 0) == 0, "set user.a");
	CHECK_ERRNO(setxattr("f", "user.a", "1", 1, XATTR_CREATE), EEXIST, "XATTR_CREATE on existing");
	CHECK_ERRNO(setxattr("f", "user.b", "1", 1, XATTR_REPLACE), ENODATA,
		    "XATTR_REPLACE on missing");
	CHECK_ERRNO(setxattr("f", "user.a", "1", 1, XATTR_CREATE | XATTR_REPLACE), EEXIST,
		    "CREATE|REPLACE on existing");
	CHECK_ERRNO(setxattr("f", "user.a", "1", 1, 4), EINVAL, "unknown flag");
	CHECK_ERRNO(setxattr("missing", "user.a", "1", 1, 4), EINVAL, "flags before the path");
	CHECK_ERRNO(setxattr("missing", longname, "1", 1, 0), ERANGE, "name before the path");
	CHECK_ERRNO(setxattr("missing", "user.a", big, 65537, 0), E2BIG, "size before the path");
	CHECK_ERRNO(setxattr("missing", "user.a", "1", 1, 0), ENOENT, "missing file");
	CHECK_ERRNO(setxattr("f", longname, "1", 1, 0), ERANGE, "a 256-byte name");
	longname[255] = 0;
	CHECK(setxattr("f", longname, "1", 1, 0) == 0, "a 255-byte name");
	CHECK_ERRNO(setxattr("f", "", "1", 1, 0), ERANGE, "an empty name");
	CHECK_ERRNO(setxattr("f", "user.", "1", 1, 0), EINVAL, "a bare prefix");
	CHECK_ERRNO(setxattr("f", "foo.a", "1", 1, 0), EOPNOTSUPP, "an unknown name space");
	CHECK_ERRNO(setxattr("f", "system.x", "1", 1, 0), EOPNOTSUPP, "system.*");
	CHECK_ERRNO(setxattr("f", "noprefix", "1", 1, 0), EOPNOTSUPP, "no prefix");
	CHECK(setxattr("f", "user.big", big, 65536, 0) == 0, "a 64 KiB value");
	CHECK(setxattr("f", "user.empty", "", 0, 0) == 0, "an empty value");
	CHECK(getxattr("f", "user.empty", NULL, 0) == 0, "reads back empty");
	CHECK(setxattr("f", "trusted.t", "tv", 2, 0) == 0, "set trusted.t");
	CHECK(setxattr("f", "security.s", "sv", 2, 0) == 0, "set security.s");
	CHECK_ERRNO(setxattr("f", (char *)8, "1", 1, 0), EFAULT, "bad name pointer");
	CHECK_ERRNO(setxattr("f", "user.a", (char *)8, 10, 0), EFAULT, "bad value pointer");

	CHECK(getxattr("f", "user.a", NULL, 0) == 1, "size 0 gives the length");
	CHECK(getxattr("f", "user.big", NULL, 0) == 65536, "the 64 KiB length");
	CHECK(getxattr("f", "trusted.t", buf, 2) == 2 && memcmp(buf, "tv", 2) == 0, "get trusted.t");
	CHECK_ERRNO(getxattr("f", "trusted.t", buf, 1), ERANGE, "a buffer too small");
	CHECK_ERRNO(getxattr("f", "user.zz", buf, 2), ENODATA, "a missing attribute");
	CHECK_ERRNO(getxattr("f", "foo.zz", buf, 2), EOPNOTSUPP, "get in an unknown name space");
	CHECK_ERRNO(getxattr("f", "", buf, 2), ERANGE, "get an empty name");
	CHECK_ERRNO(getxattr("f", "user.a", (char *)8, 10), EFAULT, "get into a bad buffer");
	CHECK(getxattr("f", "user.a", buf, 100000) == 1, "a huge buffer is fine");

	long need = listxattr("f", NULL, 0);
	long want = 7 + 256 + 9 + 11 + 10 + 11;
	CHECK(need == want, "list length %ld (want %ld)", need, want);
	CHECK_ERRNO(listxattr("f", buf, 3), ERANGE, "list into a small buffer");
	long n = listxattr("f", buf, sizeof buf);
	CHECK(n == need && has_name(buf, n, "user.a") && has_name(buf, n, "trusted.t") &&
		      has_name(buf, n, "security.s") && has_name(buf, n, longname),
	      "the list has every name");

	CHECK(setxattr("l", "user.a", "L", 1, 0) == 0, "setxattr follows a symlink");
	CHECK(getxattr("f", "user.a", buf, sizeof buf) == 1 && buf[0] == 'L', "the file got it");
	CHECK_ERRNO(lsetxattr("l", "user.a", "1", 1, 0), EPERM, "user.* on a symlink: EPERM");
	CHECK_ERRNO(lgetxattr("l", "user.a", buf, 10), ENODATA, "user.* get on a symlink: ENODATA");
	CHECK(lsetxattr("l", "trusted.l", "1", 1, 0) == 0, "trusted.* on a symlink");
	CHECK(lgetxattr("l", "trusted.l", buf, 10) == 1, "read back from the symlink");
	CHECK(llistxattr("l", buf, sizeof buf) == 10, "the symlink's list");
	CHECK(setxattr("d", "user.d", "1", 1, 0) == 0, "user.* on a directory");
	CHECK_ERRNO(setxattr("fifo", "user.d", "1", 1, 0), EPERM, "user.* on a FIFO: EPERM");
	CHECK_ERRNO(getxattr("fifo", "user.d", buf, 10), ENODATA, "user.* get on a FIFO: ENODATA");
	CHECK(setxattr("fifo", "trusted.d", "1", 1, 0) == 0, "trusted.* on a FIFO");

	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	CHECK_ERRNO(fsetxattr(p[0], "user.d", "1", 1, 0), EPERM, "user.* on a pipe: EPERM");
	CHECK_ERRNO(fsetxattr(p[0], "trusted.d", "1", 1, 0), EOPNOTSUPP,
		    "trusted.* on a pipe: EOPNOTSUPP");
	CHECK_ERRNO(fgetxattr(p[0], "trusted.d", buf, 1), EOPNOTSUPP, "get on a pipe");
	CHECK(flistxattr(p[0], buf, 10) == 0, "a pipe's list is empty");
	close(p[0]);
	close(p[1]);

	CHECK_ERRNO(setxattr("/dev/null", "user.d", "1", 1, 0), EPERM, "user.* on a device: EPERM");
	CHECK(setxattr("/dev/null", "trusted.xattr_test", "1", 1, 0) == 0, "trusted.* on /dev/null");
	CHECK(getxattr("/dev/null", "trusted.xattr_test", buf, 10) == 1, "read back");
	CHECK(removexattr("/dev/null", "trusted.xattr_test") == 0, "and removed");
	int mfd = syscall(SYS_memfd_create, "x", 0);
	CHECK(mfd >= 0 && fsetxattr(mfd, "user.m", "M", 1, 0) == 0, "user.* on a memfd");
	CHECK(fgetxattr(mfd, "user.m", buf, 10) == 1 && buf[0] == 'M', "read back from the memfd");
	close(mfd);

	CHECK(fsetxattr(fd, "user.f", "F", 1, 0) == 0, "fsetxattr");
	CHECK(fgetxattr(fd, "user.f", buf, 10) == 1 && buf[0] == 'F', "fgetxattr");
	int op = open("f", O_PATH);
	CHECK_ERRNO(fgetxattr(op, "user.f", buf, 10), EBADF, "fgetxattr on O_PATH");
	CHECK_ERRNO(fsetxattr(op, "user.f", "1", 1, 0), EBADF, "fsetxattr on O_PATH");
	CHECK_ERRNO(fremovexattr(op, "user.f"), EBADF, "fremovexattr on O_PATH");
	CHECK_ERRNO(fgetxattr(999, "user.f", buf, 10), EBADF, "fgetxattr on a bad fd");
	close(op);
	CHECK(fremovexattr(fd, "user.f") == 0, "fremovexattr");
	CHECK_ERRNO(removexattr("f", "user.f"), ENODATA, "remove it again");
	CHECK_ERRNO(removexattr("f", "foo.f"), EOPNOTSUPP, "remove in an unknown name space");
	CHECK(removexattr("f", "user.big") == 0, "remove the big one");
	CHECK_ERRNO(getxattr("f", "user.big", NULL, 0), ENODATA, "gone");
	CHECK(lremovexattr("l", "trusted.l") == 0, "lremovexattr");

	/* Many attributes: bounded, never a crash. */
	int i, err = 0;
	for (i = 0; i < 64; i++) {
		char nm[32];
		snprintf(nm, sizeof nm, "user.m%d", i);
		if (setxattr("d", nm, big, 16384, 0) < 0) {
			err = errno;
			break;
		}
	}
	CHECK(i == 64, "64 attributes of 16 KiB (stopped at %d, errno %d)", i, err);

	/* As another user. */
	CHECK(mkdir("sticky", 01777) == 0 && setxattr("sticky", "user.s", "1", 1, 0) == 0,
	      "a sticky directory with an attribute");
	CHECK(fchmod(fd, 0644) == 0, "the file is 0644");
	pid_t c = fork();
	if (c == 0) {
		unprivileged();
		_exit(check_exit());
	}
	int status;
	CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the unprivileged checks passed");

	close(fd);
	CHECK(chdir("/") == 0 && umount(dir) == 0 && rmdir(dir) == 0, "unmounted and removed");
	return check_exit();
}
