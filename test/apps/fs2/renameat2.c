/*
 * renameat2 flags on tmpfs: RENAME_NOREPLACE (EEXIST), RENAME_EXCHANGE
 * (an atomic swap of two entries, also a file with a directory, across
 * directories), RENAME_WHITEOUT (a character device 0:0 left at the old
 * name), and invalid combinations (EINVAL), in Linux's order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check.h"

#define NOREPLACE 1
#define EXCHANGE 2
#define WHITEOUT 4

static long rn(const char *a, const char *b, unsigned flags)
{
	return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		close(fd);
	}
}

static int holds(const char *path, const char *text)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	return n == (ssize_t)strlen(text) && memcmp(buf, text, n) == 0;
}

int main(void)
{
	char dir[] = "/tmp/renameat2_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CHECK(chdir(dir) == 0, "chdir");
	put("a", "A");
	put("b", "B");
	CHECK(mkdir("d", 0755) == 0 && mkdir("e", 0755) == 0, "two directories");
	put("d/in", "IN");

	CHECK_ERRNO(rn("a", "b", 8), EINVAL, "unknown flag");
	CHECK_ERRNO(rn("a", "b", NOREPLACE | EXCHANGE), EINVAL, "NOREPLACE|EXCHANGE");
	CHECK_ERRNO(rn("a", "b", WHITEOUT | EXCHANGE), EINVAL, "WHITEOUT|EXCHANGE");
	CHECK_ERRNO(rn("missing", "b", 8), EINVAL, "flags are checked before the names");

	CHECK_ERRNO(rn("a", "b", NOREPLACE), EEXIST, "NOREPLACE onto a file");
	CHECK_ERRNO(rn("a", "d", NOREPLACE), EEXIST, "NOREPLACE onto a directory");
	CHECK_ERRNO(rn("missing", "b", NOREPLACE), ENOENT, "NOREPLACE from a missing name");
	CHECK_ERRNO(rn("a", "..", NOREPLACE), EEXIST, "NOREPLACE onto ..");
	CHECK(holds("a", "A") && holds("b", "B"), "nothing moved");
	CHECK(rn("a", "c", NOREPLACE) == 0, "NOREPLACE onto a free name");
	CHECK(holds("c", "A") && access("a", F_OK) == -1, "moved");
	CHECK(rn("c", "a", NOREPLACE) == 0, "and back");

	CHECK(rn("a", "b", EXCHANGE) == 0, "EXCHANGE two files");
	CHECK(holds("a", "B") && holds("b", "A"), "their contents swapped");
	CHECK_ERRNO(rn("a", "missing", EXCHANGE), ENOENT, "EXCHANGE with a missing name");
	CHECK_ERRNO(rn("missing", "a", EXCHANGE), ENOENT, "EXCHANGE from a missing name");
	CHECK(rn("a", "a", EXCHANGE) == 0, "EXCHANGE a name with itself");

	struct stat st;
	CHECK(stat(".", &st) == 0 && st.st_nlink == 4, "the directory has 4 links");
	CHECK(rn("a", "e/x", 0) == 0, "a file into e");
	CHECK(rn("d", "e/x", EXCHANGE) == 0, "EXCHANGE a directory with a file in another directory");
	CHECK(stat("d", &st) == 0 && S_ISREG(st.st_mode) && holds("d", "B"),
	      "d is now the file");
	CHECK(stat("e/x", &st) == 0 && S_ISDIR(st.st_mode) && holds("e/x/in", "IN"),
	      "e/x is now the directory");
	CHECK(stat(".", &st) == 0 && st.st_nlink == 3, "the top lost a subdirectory link");
	CHECK(stat("e", &st) == 0 && st.st_nlink == 3, "e gained one");
	CHECK(stat("e/x/..", &st) == 0 && st.st_ino == (stat("e", &st), st.st_ino),
	      "the moved directory's .. is e");
	CHECK_ERRNO(rn("e", "e/x/in", EXCHANGE), EINVAL,
		    "EXCHANGE a directory into its own subtree");
	CHECK(rn("e/x", "d", EXCHANGE) == 0, "EXCHANGE back");
	CHECK(stat("d/in", &st) == 0 && holds("e/x", "B"), "back as before");
	CHECK_ERRNO(rn("b/", "d", EXCHANGE), ENOTDIR, "a trailing slash on a file");

	CHECK(rn("b", "w", WHITEOUT) == 0, "WHITEOUT");
	CHECK(holds("w", "A"), "the file moved");
	CHECK(lstat("b", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0),
	      "a whiteout (char 0:0) is left at the old name");
	CHECK_ERRNO(rn("missing", "z", WHITEOUT), ENOENT, "WHITEOUT from a missing name");

	unlink("b");
	unlink("w");
	unlink("d/in");
	rmdir("d");
	unlink("e/x");
	rmdir("e");
	CHECK(chdir("/") == 0 && rmdir(dir) == 0, "all removed");
	return check_exit();
}
