/*
 * /proc/meminfo counts the RAM file systems' pages as Shmem (and Cached),
 * as Linux counts tmpfs: writing 32 MiB to a tmpfs file raises both by
 * about that much, and removing the file gives it back.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static long meminfo_kib(const char *key)
{
	char buf[8192];
	int fd = open("/proc/meminfo", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

#define MIB 32

int main(void)
{
	char dir[] = "/tmp/shmemXXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CHECK(mount("tmpfs", dir, "tmpfs", 0, NULL) == 0, "mount a tmpfs");
	char path[64];
	snprintf(path, sizeof path, "%s/f", dir);

	long shmem0 = meminfo_kib("Shmem:"), cached0 = meminfo_kib("Cached:");
	CHECK(shmem0 >= 0 && cached0 >= 0, "Shmem %ld kB, Cached %ld kB", shmem0, cached0);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	static char chunk[1 << 20];
	memset(chunk, 'x', sizeof chunk);
	int ok = fd >= 0;
	for (int i = 0; ok && i < MIB; i++)
		ok = write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk;
	CHECK(ok, "write %d MiB to a tmpfs file", MIB);
	close(fd);
	long shmem1 = meminfo_kib("Shmem:"), cached1 = meminfo_kib("Cached:");
	long want = MIB * 1024L;
	CHECK(shmem1 - shmem0 >= want - 4096 && shmem1 - shmem0 <= want + 8192,
	      "Shmem grew by about %ld kB (by %ld)", want, shmem1 - shmem0);
	CHECK(cached1 - cached0 >= want - 4096, "Cached grew too (by %ld)", cached1 - cached0);
	CHECK(unlink(path) == 0, "unlink");
	long shmem2 = meminfo_kib("Shmem:");
	CHECK(shmem1 - shmem2 >= want - 4096, "and shrank by as much when it went (by %ld)",
	      shmem1 - shmem2);
	CHECK(umount(dir) == 0 && rmdir(dir) == 0, "unmount");
	return check_exit();
}
