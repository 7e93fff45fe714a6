/*
 * File semantics as Linux has them on tmpfs: truncate times, relatime,
 * read-only mounts (EROFS for every change), device nodes made by mknod,
 * link to a directory, readlinkat on an O_PATH symlink, getcwd of a
 * removed directory, statfs magic numbers, statx's mount id, lseek on
 * /proc files, and O_APPEND writers that never lose or tear a line.
 * Runs on a tmpfs of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_statx
#define SYS_statx 332
#endif

/* The kernel's struct statx, up to stx_mnt_id (musl's headers lack it). */
struct kstatx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, spare0;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	uint64_t times[8];
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t stx_mnt_id;
	uint64_t spare[13];
};
#define KSTATX_MNT_ID 0x1000U

static int kstatx(const char *path, struct kstatx *x)
{
	return syscall(SYS_statx, AT_FDCWD, path, 0, KSTATX_MNT_ID, x);
}

static long magic_of_fd(int fd)
{
	struct statfs s;
	return fstatfs(fd, &s) == 0 ? (long)s.f_type : -1;
}

static long magic_of(const char *path)
{
	struct statfs s;
	return statfs(path, &s) == 0 ? (long)s.f_type : -1;
}

static void set_times(const char *path, long atime, long mtime)
{
	struct timespec ts[2] = { { atime, 0 }, { mtime, 0 } };
	utimensat(AT_FDCWD, path, ts, 0);
}

static void appender(const char *path, char tag)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	char line[16];
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(line, sizeof line, "%c%04d-xxxxxxx\n", tag, i);
		if (write(fd, line, n) != n)
			_exit(1);
	}
	_exit(0);
}

static void read_only_checks(const char *dir)
{
	int w = open("file", O_WRONLY);
	CHECK_ERRNO(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), EBUSY,
		    "remount read-only with a file open for writing: EBUSY");
	close(w);
	CHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0, "remount read-only");
	struct statfs sf;
	CHECK(statfs(".", &sf) == 0 && (sf.f_flags & ST_RDONLY), "statfs shows ST_RDONLY");
	char b;
	int fd = open("file", O_RDONLY);
	CHECK(fd >= 0 && read(fd, &b, 1) == 1, "reading still works");
	CHECK_ERRNO(open("file", O_WRONLY), EROFS, "open for writing");
	CHECK_ERRNO(open("file", O_RDONLY | O_TRUNC), EROFS, "open O_TRUNC");
	CHECK_ERRNO(open("new", O_CREAT | O_RDONLY, 0644), EROFS, "create");
	int fd2 = open("file", O_CREAT | O_RDONLY, 0644);
	CHECK(fd2 >= 0, "O_CREAT of an existing file for reading");
	close(fd2);
	CHECK_ERRNO(syscall(SYS_creat, "new", 0644), EROFS, "creat");
	CHECK_ERRNO(mkdir("newdir", 0755), EROFS, "mkdir");
	CHECK_ERRNO(mkdir("sub", 0755), EEXIST, "mkdir of an existing name: EEXIST first");
	CHECK_ERRNO(mknod("fifo2", S_IFIFO | 0644, 0), EROFS, "mknod");
	CHECK_ERRNO(unlink("file"), EROFS, "unlink");
	CHECK_ERRNO(unlink("missing"), EROFS, "unlink of a missing name: EROFS");
	CHECK_ERRNO(rmdir("sub"), EROFS, "rmdir");
	CHECK_ERRNO(rename("file", "file2"), EROFS, "rename");
	CHECK_ERRNO(link("file", "file2"), EROFS, "link");
	CHECK_ERRNO(symlink("file", "sl2"), EROFS, "symlink");
	CHECK_ERRNO(chmod("file", 0600), EROFS, "chmod");
	CHECK_ERRNO(chown("file", 1, 1), EROFS, "chown");
	CHECK_ERRNO(utimensat(AT_FDCWD, "file", NULL, 0), EROFS, "utimensat");
	CHECK_ERRNO(truncate("file", 0), EROFS, "truncate");
	CHECK_ERRNO(setxattr("file", "user.a", "1", 1, 0), EROFS, "setxattr");
	CHECK_ERRNO(removexattr("file", "user.a"), EROFS, "removexattr");
	CHECK(getxattr("file", "user.x", NULL, 0) == 1, "getxattr still works");
	CHECK(open("/dev/null", O_WRONLY) >= 0, "devices elsewhere are writable");
	CHECK(mount(NULL, dir, NULL, MS_REMOUNT, NULL) == 0, "remount read-write");
	fd2 = open("file", O_WRONLY);
	CHECK(fd2 >= 0, "writable again");
	close(fd2);
	close(fd);
}

int main(void)
{
	char dir[] = "/tmp/fs_misc_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CHECK(mount("tmpfs", dir, "tmpfs", 0, NULL) == 0, "mount a tmpfs");
	CHECK(chdir(dir) == 0, "chdir");
	struct stat a, b;
	char buf0[512];

	/* truncate and ftruncate set mtime and ctime, even to the same size. */
	int fd = open("file", O_CREAT | O_RDWR, 0644);
	CHECK(write(fd, "abc", 3) == 3, "a 3-byte file");
	set_times("file", 1000, 1000);
	CHECK(truncate("file", 3) == 0 && stat("file", &b) == 0 && b.st_mtime > 1000,
	      "truncate to the same size sets mtime");
	set_times("file", 1000, 1000);
	stat("file", &a);
	CHECK(ftruncate(fd, 1) == 0 && stat("file", &b) == 0 && b.st_mtime > 1000 &&
		      b.st_size == 1,
	      "ftruncate sets mtime");
	CHECK(b.st_ctim.tv_sec > a.st_ctim.tv_sec ||
		      (b.st_ctim.tv_sec == a.st_ctim.tv_sec && b.st_ctim.tv_nsec >= a.st_ctim.tv_nsec),
	      "and ctime");

	/* relatime: a read updates atime when it is not after mtime. */
	char c;
	set_times("file", 1000, 2000);
	CHECK(pread(fd, &c, 1, 0) == 1 && stat("file", &b) == 0 && b.st_atime > 2000,
	      "a read updates an atime older than mtime");
	long future = time(NULL) + 1000;
	set_times("file", future, 2000);
	CHECK(pread(fd, &c, 1, 0) == 1 && stat("file", &b) == 0 && b.st_atime == future,
	      "a read leaves a recent atime after mtime and ctime");
	CHECK(setxattr("file", "user.x", "1", 1, 0) == 0, "an attribute for later");
	CHECK(mkdir("listed", 0755) == 0, "a directory to list");
	set_times("listed", 1000, 2000);
	int lfd = open("listed", O_RDONLY | O_DIRECTORY);
	CHECK(lfd >= 0 && syscall(SYS_getdents64, lfd, buf0, sizeof buf0) > 0 &&
		      stat("listed", &b) == 0 && b.st_atime > 2000,
	      "listing a directory updates its old atime");
	close(lfd);
	rmdir("listed");

	/* A directory's mtime and ctime move when its entries change. */
	CHECK(mkdir("times", 0755) == 0 && mkdir("times2", 0755) == 0, "two directories");
	set_times("times", 1000, 1000);
	int tf = open("times/x", O_CREAT | O_WRONLY, 0644);
	close(tf);
	CHECK(stat("times", &b) == 0 && b.st_mtime > 1000 && b.st_ctime > 1000,
	      "creating an entry sets the directory's mtime and ctime");
	set_times("times", 1000, 1000);
	set_times("times2", 1000, 1000);
	CHECK(rename("times/x", "times2/y") == 0, "rename across directories");
	CHECK(stat("times", &b) == 0 && b.st_mtime > 1000, "the old directory's mtime moved");
	CHECK(stat("times2", &b) == 0 && b.st_mtime > 1000, "the new directory's mtime moved");
	set_times("times2", 1000, 1000);
	CHECK(link("times2/y", "times2/z") == 0 && stat("times2", &b) == 0 && b.st_mtime > 1000,
	      "link sets the directory's mtime");
	set_times("times2", 1000, 1000);
	CHECK(unlink("times2/y") == 0 && stat("times2", &b) == 0 && b.st_mtime > 1000,
	      "unlink sets the directory's mtime");
	set_times("times2/z", 1000, 1000);
	stat("times2/z", &a);
	CHECK(link("times2/z", "times2/w") == 0 && stat("times2/z", &b) == 0 &&
		      (b.st_ctim.tv_sec > a.st_ctim.tv_sec ||
		       (b.st_ctim.tv_sec == a.st_ctim.tv_sec && b.st_ctim.tv_nsec > a.st_ctim.tv_nsec)),
	      "link sets the file's ctime");
	set_times("times", 1000, 1000);
	CHECK(mkdir("times/sub", 0755) == 0 && rmdir("times/sub") == 0 && stat("times", &b) == 0 &&
		      b.st_mtime > 1000,
	      "mkdir and rmdir set the directory's mtime");
	unlink("times2/z");
	unlink("times2/w");
	rmdir("times");
	rmdir("times2");

	/* link to a directory */
	CHECK(mkdir("sub", 0755) == 0, "a directory");
	CHECK_ERRNO(link("sub", "sub2"), EPERM, "link to a directory: EPERM");
	CHECK_ERRNO(link("sub", "file"), EEXIST, "onto an existing name: EEXIST first");
	CHECK_ERRNO(link("missing", "sub"), ENOENT, "from a missing name: ENOENT first");

	/* readlinkat with an empty path */
	CHECK(symlink("the-target", "sl") == 0, "a symlink");
	int sfd = open("sl", O_PATH | O_NOFOLLOW);
	char buf[256];
	long n = readlinkat(sfd, "", buf, sizeof buf);
	CHECK(n == 10 && memcmp(buf, "the-target", 10) == 0, "readlinkat(O_PATH symlink, \"\")");
	CHECK_ERRNO(readlinkat(fd, "", buf, sizeof buf), ENOENT, "readlinkat(file fd, \"\")");
	CHECK_ERRNO(readlinkat(AT_FDCWD, "", buf, sizeof buf), ENOENT, "readlinkat(AT_FDCWD, \"\")");
	close(sfd);

	/* getcwd of a removed directory */
	CHECK(mkdir("gone", 0755) == 0 && chdir("gone") == 0 && rmdir("../gone") == 0,
	      "the working directory removed");
	CHECK_ERRNO(syscall(SYS_getcwd, buf, sizeof buf), ENOENT, "getcwd: ENOENT");
	CHECK(chdir(dir) == 0, "back");

	/* mknod of devices by root */
	CHECK(mknod("null", S_IFCHR | 0666, makedev(1, 3)) == 0, "mknod a character device");
	CHECK(stat("null", &b) == 0 && S_ISCHR(b.st_mode) && b.st_rdev == makedev(1, 3),
	      "it is char 1:3");
	int nfd = open("null", O_RDWR);
	CHECK(nfd >= 0 && write(nfd, "xyz", 3) == 3 && read(nfd, buf, 3) == 0,
	      "it opens as /dev/null");
	close(nfd);
	CHECK(mknod("zero", S_IFCHR | 0666, makedev(1, 5)) == 0, "mknod char 1:5");
	nfd = open("zero", O_RDONLY);
	buf[0] = 1;
	CHECK(nfd >= 0 && read(nfd, buf, 4) == 4 && buf[0] == 0, "it reads zeros");
	close(nfd);
	CHECK(mknod("blk", S_IFBLK | 0600, makedev(60, 0)) == 0, "mknod a block device");
	CHECK(stat("blk", &b) == 0 && S_ISBLK(b.st_mode) && b.st_rdev == makedev(60, 0),
	      "it is block 60:0");
	CHECK_ERRNO(open("blk", O_RDONLY), ENXIO, "a block device that does not exist: ENXIO");
	CHECK_ERRNO(mknod("null", S_IFCHR | 0666, makedev(1, 3)), EEXIST, "mknod over a name");
	pid_t child = fork();
	if (child == 0) {
		if (setuid(1000) != 0)
			_exit(2);
		_exit(mknod("null2", S_IFCHR | 0666, makedev(1, 3)) == -1 && errno == EPERM ? 0 : 1);
	}
	int status;
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "mknod of a device by a user: EPERM");

	/* statfs magic numbers */
	CHECK(magic_of(".") == 0x01021994, "tmpfs: TMPFS_MAGIC");
	CHECK(magic_of("/proc") == 0x9fa0, "proc: PROC_SUPER_MAGIC");
	CHECK(magic_of("/dev") == 0x01021994, "devtmpfs: TMPFS_MAGIC");
	struct statfs devs;
	CHECK(statfs("/dev", &devs) == 0 && devs.f_blocks > 0 && devs.f_files > 0 &&
		      devs.f_bfree <= devs.f_blocks,
	      "devtmpfs has a size, as df shows it (%llu blocks, %llu inodes)",
	      (unsigned long long)devs.f_blocks, (unsigned long long)devs.f_files);
	CHECK(magic_of("/dev/null") == 0x01021994, "a device node in devtmpfs");
	long pts = magic_of("/dev/pts");
	CHECK(pts == 0x1cd1 || pts == 0x01021994, "/dev/pts: devpts (or no devpts mounted)");
	int p[2];
	CHECK(pipe(p) == 0, "a pipe");
	CHECK(magic_of_fd(p[0]) == 0x50495045, "fstatfs of a pipe: PIPEFS_MAGIC");
	int so = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(magic_of_fd(so) == 0x534f434b, "fstatfs of a socket: SOCKFS_MAGIC");
	int ev = eventfd(0, 0);
	CHECK(magic_of_fd(ev) == 0x09041934, "fstatfs of an eventfd: ANON_INODE_FS_MAGIC");
	CHECK_ERRNO(fstatfs(999, (struct statfs *)buf), EBADF, "fstatfs of a bad fd");
	int ptm = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(ptm >= 0 && grantpt(ptm) == 0 && unlockpt(ptm) == 0, "a pseudo-terminal");
	int pts_fd = open(ptsname(ptm), O_RDWR | O_NOCTTY);
	CHECK(pts_fd >= 0, "open the slave %s", ptsname(ptm));
	CHECK(magic_of_fd(ptm) == 0x01021994, "fstatfs of the master (/dev/ptmx): TMPFS_MAGIC");
	CHECK(magic_of_fd(pts_fd) == 0x1cd1, "fstatfs of the slave: DEVPTS_SUPER_MAGIC");
	struct stat pst;
	CHECK(fstat(pts_fd, &pst) == 0 && mknod("slave", S_IFCHR | 0600, pst.st_rdev) == 0,
	      "mknod a node with the slave's number");
	CHECK_ERRNO(open("slave", O_RDWR | O_NOCTTY), EIO,
		    "a pty slave opens only through devpts: EIO elsewhere");
	unlink("slave");
	close(pts_fd);
	close(ptm);
	int zfd = open("/dev/zero", O_RDONLY);
	CHECK(magic_of_fd(zfd) == 0x01021994, "fstatfs of /dev/zero: TMPFS_MAGIC");
	close(zfd);
	close(so);
	close(ev);

	/* statx's mount id */
	struct kstatx x1, x2, x3;
	CHECK(kstatx("file", &x1) == 0 && (x1.stx_mask & KSTATX_MNT_ID), "statx reports STATX_MNT_ID");
	CHECK(kstatx("sub", &x2) == 0 && x2.stx_mnt_id == x1.stx_mnt_id,
	      "the same id within one mount");
	CHECK(kstatx("/proc/self", &x3) == 0 &&
		      x3.stx_mnt_id != x1.stx_mnt_id,
	      "another id in another mount");
	FILE *mi = fopen("/proc/self/mountinfo", "r");
	if (mi) {
		int found = 0;
		char line[1024];
		while (fgets(line, sizeof line, mi)) {
			unsigned id;
			char mp[512];
			if (sscanf(line, "%u %*u %*s %*s %511s", &id, mp) == 2 && strcmp(mp, dir) == 0)
				found = id == x1.stx_mnt_id;
		}
		fclose(mi);
		CHECK(found, "the id is the mount's in /proc/self/mountinfo");
	} else {
		INFO("no /proc/self/mountinfo");
	}

	/* lseek on /proc files */
	int pf = open("/proc/self/status", O_RDONLY);
	CHECK(pf >= 0, "open /proc/self/status");
	char first[16] = { 0 }, again[16] = { 0 };
	CHECK(read(pf, first, 10) == 10, "read 10 bytes");
	CHECK(lseek(pf, 2, SEEK_SET) == 2, "SEEK_SET 2");
	CHECK(read(pf, again, 4) == 4 && memcmp(again, first + 2, 4) == 0, "reads from there");
	CHECK(lseek(pf, -3, SEEK_CUR) == 3, "SEEK_CUR -3");
	CHECK(read(pf, again, 2) == 2 && memcmp(again, first + 3, 2) == 0, "reads from there");
	CHECK_ERRNO(lseek(pf, -100, SEEK_SET), EINVAL, "a negative position");
	CHECK_ERRNO(lseek(pf, 0, SEEK_END), EINVAL, "SEEK_END: EINVAL");
	CHECK(lseek(pf, 0, SEEK_SET) == 0 && read(pf, again, 10) == 10 &&
		      memcmp(again, first, 10) == 0,
	      "back to the start");
	CHECK(lseek(pf, 1 << 20, SEEK_SET) == 1 << 20 && read(pf, again, 4) == 0,
	      "past the end reads nothing");
	close(pf);
	int pd = open("/proc", O_RDONLY | O_DIRECTORY);
	CHECK(pd >= 0 && lseek(pd, 0, SEEK_SET) == 0, "lseek on the /proc directory");
	close(pd);

	/* Two processes appending 1000 lines each through O_APPEND. */
	int af = open("log", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	close(af);
	pid_t w1 = fork();
	if (w1 == 0)
		appender("log", 'A');
	pid_t w2 = fork();
	if (w2 == 0)
		appender("log", 'B');
	int s1, s2;
	waitpid(w1, &s1, 0);
	waitpid(w2, &s2, 0);
	CHECK(WIFEXITED(s1) && WEXITSTATUS(s1) == 0 && WIFEXITED(s2) && WEXITSTATUS(s2) == 0,
	      "both appenders finished");
	FILE *lf = fopen("log", "r");
	int lines = 0, good = 0, next_a = 0, next_b = 0;
	char line[64];
	while (lf && fgets(line, sizeof line, lf)) {
		lines++;
		int k;
		if (strlen(line) == 14 && sscanf(line + 1, "%4d", &k) == 1 &&
		    memcmp(line + 5, "-xxxxxxx\n", 9) == 0) {
			if (line[0] == 'A' && k == next_a)
				next_a++, good++;
			else if (line[0] == 'B' && k == next_b)
				next_b++, good++;
		}
	}
	if (lf)
		fclose(lf);
	CHECK(lines == 2000 && good == 2000, "2000 whole lines, each writer's in order (%d, %d)",
	      lines, good);
	CHECK(stat("log", &b) == 0 && b.st_size == 2000 * 14, "nothing lost");

	/* Linux refuses to make a file system with files open for writing
	 * read-only (EBUSY): close them first. */
	close(fd);
	read_only_checks(dir);

	close(p[0]);
	close(p[1]);
	CHECK(chdir("/") == 0 && umount(dir) == 0 && rmdir(dir) == 0, "unmounted and removed");
	return check_exit();
}
