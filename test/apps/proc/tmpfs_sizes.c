/*
 * Sizes and blocks as tmpfs reports them (what du and ls -s read): a
 * directory is 40 bytes plus 20 per entry and has no blocks; a file has
 * 8 blocks (512 bytes) per page it holds, none for holes; a short
 * symbolic link has its length and no blocks.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "check.h"

#define TMPFS_MAGIC 0x01021994

static long long size_of(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static long long blocks_of(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0 ? (long long)st.st_blocks : -1;
}

int main(void)
{
	struct statfs sf;
	const char *base = "/tmp";
	char dir[128], p[160];
	int fd;

	if (statfs(base, &sf) != 0 || sf.f_type != TMPFS_MAGIC)
		base = "/dev/shm";
	CHECK(statfs(base, &sf) == 0 && sf.f_type == TMPFS_MAGIC, "%s is a tmpfs", base);
	snprintf(dir, sizeof dir, "%s/tmpfs_sizes.%d", base, getpid());
	CHECK(mkdir(dir, 0755) == 0, "mkdir");
	CHECK(size_of(dir) == 40 && blocks_of(dir) == 0, "an empty directory: 40 bytes, 0 blocks (%lld)",
	      size_of(dir));
	snprintf(p, sizeof p, "%s/a", dir);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0 && write(fd, "hello\n", 6) == 6, "a file of 6 bytes");
	CHECK(size_of(dir) == 60, "one entry: 60 bytes (%lld)", size_of(dir));
	CHECK(blocks_of(p) == 8, "the file holds one page: 8 blocks (%lld)", blocks_of(p));
	CHECK(ftruncate(fd, 1 << 20) == 0 && blocks_of(p) == 8, "a hole adds no blocks");
	CHECK(pwrite(fd, "x", 1, 5000) == 1 && blocks_of(p) == 16, "a second page: 16 blocks");
	close(fd);
	snprintf(p, sizeof p, "%s/bb", dir);
	CHECK(symlink("abc", p) == 0, "a symlink");
	CHECK(blocks_of(p) == 0, "a short symlink has no blocks");
	snprintf(p, sizeof p, "%s/sub", dir);
	CHECK(mkdir(p, 0755) == 0, "a subdirectory");
	CHECK(size_of(dir) == 100, "three entries: 100 bytes (%lld)", size_of(dir));
	CHECK(unlink(strcat(strcpy(p, dir), "/bb")) == 0 && size_of(dir) == 80,
	      "removing an entry takes 20 off");

	snprintf(p, sizeof p, "rm -rf %s", dir);
	CHECK(system(p) == 0, "clean up");
	return check_exit();
}
