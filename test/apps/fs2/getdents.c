/*
 * Reading directories:
 * - getdents64 (raw) with a 256-byte buffer over a directory of 50 files
 *   and one subdirectory: several calls, every name once, "." and "..",
 *   d_type right, 0 at the end;
 * - EINVAL for a buffer too small for one entry, ENOTDIR on a file;
 * - opendir/readdir sees the same names; rewinddir starts over.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define N 50

struct kdirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static char dir[64];

static char *P(const char *name)
{
	static char bufs[4][PATH_MAX];
	static int i;
	char *b = bufs[i++ & 3];
	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

/* Index of "fNN", N for "sub", -1 otherwise. */
static int name_index(const char *s)
{
	if (strcmp(s, "sub") == 0)
		return N;
	if (s[0] != 'f' || !s[1])
		return -1;
	char *end;
	long v = strtol(s + 1, &end, 10);
	if (*end || v < 0 || v >= N)
		return -1;
	return (int)v;
}

int main(void)
{
	char name[32];
	int seen[N + 1] = { 0 };
	int dots = 0, dotdots = 0, unknown = 0, badtype = 0, badino = 0;
	int fd;

	strcpy(dir, "/tmp/gdntXXXXXX");
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return check_exit();
	}
	int created = 0;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		fd = open(P(name), O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			created++;
			close(fd);
		}
	}
	CHECK(created == N, "created %d files", created);
	CHECK(mkdir(P("sub"), 0755) == 0, "mkdir sub");

	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open the directory");
	char small[10];
	CHECK_ERRNO(syscall(SYS_getdents64, dfd, small, sizeof(small)), EINVAL, "getdents64 with a 10-byte buffer -> EINVAL");

	union {
		char b[256];
		uint64_t align;
	} u;
	int calls = 0, total = 0, bad_reclen = 0;
	long n;
	for (;;) {
		n = syscall(SYS_getdents64, dfd, u.b, sizeof(u.b));
		if (n <= 0)
			break;
		calls++;
		for (long off = 0; off < n;) {
			struct kdirent64 *d = (struct kdirent64 *)(u.b + off);
			if (d->d_reclen == 0 || off + d->d_reclen > n || d->d_reclen % 8) {
				bad_reclen = 1;
				break;
			}
			total++;
			if (d->d_ino == 0)
				badino++;
			if (strcmp(d->d_name, ".") == 0) {
				dots++;
				if (d->d_type != DT_DIR)
					badtype++;
			} else if (strcmp(d->d_name, "..") == 0) {
				dotdots++;
				if (d->d_type != DT_DIR)
					badtype++;
			} else {
				int idx = name_index(d->d_name);
				if (idx < 0) {
					unknown++;
				} else {
					seen[idx]++;
					if (d->d_type != (idx == N ? DT_DIR : DT_REG))
						badtype++;
				}
			}
			off += d->d_reclen;
		}
		if (bad_reclen || calls > 1000)
			break;
	}
	CHECK(n == 0, "getdents64 returns 0 at the end");
	CHECK(!bad_reclen, "d_reclen values are sane (non-zero, 8-aligned, inside the buffer)");
	CHECK(calls > 1, "a 256-byte buffer needed %d calls", calls);
	CHECK(total == N + 3, "%d entries (want %d)", total, N + 3);
	CHECK(dots == 1 && dotdots == 1, "\".\" and \"..\" once each");
	int once = 1;
	for (int i = 0; i <= N; i++)
		if (seen[i] != 1)
			once = 0;
	CHECK(once, "every created name appears exactly once");
	CHECK(unknown == 0, "no unexpected names (%d)", unknown);
	CHECK(badtype == 0, "d_type is DT_REG for files and DT_DIR for dirs (%d wrong)", badtype);
	CHECK(badino == 0, "no zero d_ino");
	CHECK(syscall(SYS_getdents64, dfd, u.b, sizeof(u.b)) == 0, "again at the end: 0");

	/* rewind with lseek */
	CHECK(lseek(dfd, 0, SEEK_SET) == 0, "lseek(dirfd, 0, SEEK_SET)");
	n = syscall(SYS_getdents64, dfd, u.b, sizeof(u.b));
	CHECK(n > 0, "after rewinding, getdents64 returns entries again (%ld)", n);
	close(dfd);

	/* ENOTDIR on a file */
	fd = open(P("f0"), O_RDONLY);
	CHECK_ERRNO(syscall(SYS_getdents64, fd, u.b, sizeof(u.b)), ENOTDIR, "getdents64 on a file -> ENOTDIR");
	close(fd);
	CHECK_ERRNO(syscall(SYS_getdents64, 9999, u.b, sizeof(u.b)), EBADF, "getdents64 on a bad fd -> EBADF");

	/* opendir / readdir */
	memset(seen, 0, sizeof(seen));
	DIR *dp = opendir(dir);
	CHECK(dp != NULL, "opendir");
	int count = 0, ok_names = 1;
	struct dirent *de;
	if (dp) {
		errno = 0;
		while ((de = readdir(dp)) != NULL) {
			count++;
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
				int idx = name_index(de->d_name);
				if (idx < 0)
					ok_names = 0;
				else
					seen[idx]++;
			}
		}
		CHECK(errno == 0, "readdir ends without error");
		once = 1;
		for (int i = 0; i <= N; i++)
			if (seen[i] != 1)
				once = 0;
		CHECK(count == N + 3 && ok_names && once, "readdir sees every name once (%d entries)", count);
		rewinddir(dp);
		count = 0;
		while (readdir(dp))
			count++;
		CHECK(count == N + 3, "after rewinddir: %d entries again", count);
		closedir(dp);
	}

	/* an empty directory has just "." and ".." */
	dp = opendir(P("sub"));
	count = 0;
	if (dp) {
		while (readdir(dp))
			count++;
		closedir(dp);
	}
	CHECK(count == 2, "empty dir lists 2 entries");

	/* removed entries disappear */
	for (int i = 0; i < N; i += 2) {
		snprintf(name, sizeof(name), "f%d", i);
		unlink(P(name));
	}
	dp = opendir(dir);
	count = 0;
	if (dp) {
		while (readdir(dp))
			count++;
		closedir(dp);
	}
	CHECK(count == N / 2 + 3, "after removing half: %d entries", count);

	for (int i = 1; i < N; i += 2) {
		snprintf(name, sizeof(name), "f%d", i);
		unlink(P(name));
	}
	rmdir(P("sub"));
	CHECK(rmdir(dir) == 0, "scratch dir removed");
	return check_exit();
}
