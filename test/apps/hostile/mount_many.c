/*
 * Thousands of mounts do not slow path lookup down for everyone: 5000
 * bind mounts stacked on one directory and spread over 1000 others, then
 * 200 lookups of a path of 1000 components (every step asks whether it
 * crosses a mount point, or leaves one) take well under two seconds; `..`
 * out of the stack ends (each bind stacked there is mounted on its own
 * root); unmounting by path takes the right mount off.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define STACKED 4000
#define SPREAD 1000

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void)
{
	/* On a Linux host: a private mount namespace, so nothing leaks. */
	if (unshare(CLONE_NEWNS) == 0)
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	char dir[] = "/tmp/mountsXXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CHECK(mount("tmpfs", dir, "tmpfs", 0, NULL) == 0, "a tmpfs to work in");
	char path[4096], src[128];
	snprintf(src, sizeof src, "%s/src", dir);
	CHECK(mkdir(src, 0755) == 0, "a source directory");
	snprintf(path, sizeof path, "%s/src/file", dir);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	snprintf(path, sizeof path, "%s/src/x", dir);
	mkdir(path, 0755);

	int ok = 1;
	double t0 = now();
	char stack[128];
	snprintf(stack, sizeof stack, "%s/stack", dir);
	mkdir(stack, 0755);
	for (int i = 0; ok && i < STACKED; i++)
		ok = mount(src, stack, NULL, MS_BIND, NULL) == 0;
	CHECK(ok, "%d bind mounts stacked on one directory", STACKED);
	for (int i = 0; ok && i < SPREAD; i++) {
		snprintf(path, sizeof path, "%s/d%d", dir, i);
		ok = mkdir(path, 0755) == 0 && mount(src, path, NULL, MS_BIND, NULL) == 0;
	}
	CHECK(ok, "and %d on directories of their own (%.1f s)", SPREAD, now() - t0);

	/* dir/stack/x/../x/../.../file: 1000 components, each a step into
	 * or out of a directory. */
	int n = snprintf(path, sizeof path, "%s/stack", dir);
	for (int i = 0; i < 500 && n < (int)sizeof path - 16; i++)
		n += snprintf(path + n, sizeof path - n, "/x/..");
	snprintf(path + n, sizeof path - n, "/file");
	t0 = now();
	struct stat st;
	int found = 1;
	for (int i = 0; i < 200; i++)
		found &= stat(path, &st) == 0 && S_ISREG(st.st_mode);
	double dt = now() - t0;
	CHECK(found, "a path of 1000 components through the stacked mounts resolves");
	CHECK(dt < 2.0, "200 lookups of it take %.3f s", dt);
	struct stat top, up;
	snprintf(path, sizeof path, "%s/stack/..", dir);
	CHECK(stat(dir, &top) == 0 && stat(path, &up) == 0 && up.st_ino == top.st_ino,
	      "stack/.. leads out of the mounts to the directory above");

	ok = 1;
	for (int i = 0; ok && i < STACKED; i++)
		ok = umount(stack) == 0;
	CHECK(ok, "the stacked mounts come off one by one");
	CHECK_ERRNO(umount(stack), EINVAL, "then the directory is no mount point");
	ok = 1;
	for (int i = 0; ok && i < SPREAD; i++) {
		snprintf(path, sizeof path, "%s/d%d", dir, i);
		ok = umount(path) == 0 && rmdir(path) == 0;
	}
	CHECK(ok, "the others too");
	CHECK(umount(dir) == 0 && rmdir(dir) == 0, "the tmpfs goes");
	return check_exit();
}
