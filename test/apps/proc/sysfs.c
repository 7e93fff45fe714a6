/*
 * The minimal sysfs at /sys: the CPU lists that nproc and
 * sysconf(_SC_NPROCESSORS_ONLN) read, cpu0, /sys/kernel/mm, attribute
 * files (size 4096, read-only even for root) and a tree that only the
 * kernel changes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "check.h"

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);

	buf[n < 0 ? 0 : n] = 0;
	if (fd >= 0)
		close(fd);
	return buf;
}

int main(void)
{
	struct statfs sf;
	struct stat st;
	char want[32];
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	DIR *d;
	struct dirent *e;
	int devices = 0, kernel = 0;

	CHECK(statfs("/sys", &sf) == 0 && sf.f_type == 0x62656572, "/sys is a sysfs");
	CHECK(n >= 1, "sysconf(_SC_NPROCESSORS_ONLN) = %ld", n);
	if (n == 1)
		snprintf(want, sizeof want, "0\n");
	else
		snprintf(want, sizeof want, "0-%ld\n", n - 1);
	CHECK(strcmp(slurp("/sys/devices/system/cpu/online"), want) == 0, "cpu/online is %s",
	      slurp("/sys/devices/system/cpu/online"));
	CHECK(strcmp(slurp("/sys/devices/system/cpu/possible"), want) == 0, "cpu/possible");
	CHECK(strcmp(slurp("/sys/devices/system/cpu/present"), want) == 0, "cpu/present");
	CHECK(sysconf(_SC_NPROCESSORS_CONF) == n, "_SC_NPROCESSORS_CONF agrees");
	CHECK(stat("/sys/devices/system/cpu/cpu0", &st) == 0 && S_ISDIR(st.st_mode), "cpu0/");
	CHECK(strcmp(slurp("/sys/devices/system/cpu/cpu0/topology/core_id"), "0\n") == 0,
	      "cpu0/topology/core_id");
	CHECK(stat("/sys/kernel/mm", &st) == 0 && S_ISDIR(st.st_mode), "/sys/kernel/mm/");

	CHECK(stat("/sys/devices/system/cpu/online", &st) == 0, "stat an attribute");
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0444, "mode 0444 (%o)", st.st_mode);
	CHECK(st.st_size == 4096 && st.st_blocks == 0, "size 4096, no blocks");
	CHECK(stat("/sys/devices/system/cpu", &st) == 0 && S_ISDIR(st.st_mode) &&
	      (st.st_mode & 07777) == 0755 && st.st_size == 0, "a directory: 0755, size 0");

	CHECK_ERRNO(open("/sys/devices/system/cpu/online", O_WRONLY), EACCES,
		    "a read-only attribute is not opened for writing, even by root");
	CHECK_ERRNO(mkdir("/sys/foo", 0755), EPERM, "mkdir");
	CHECK_ERRNO(open("/sys/foo", O_CREAT | O_WRONLY, 0644), EACCES, "creating a file");
	CHECK_ERRNO(unlink("/sys/devices/system/cpu/online"), EPERM, "unlink");
	CHECK_ERRNO(open("/sys/nonexistent", O_RDONLY), ENOENT, "a missing name");

	d = opendir("/sys");
	CHECK(d != NULL, "opendir /sys");
	while (d && (e = readdir(d))) {
		devices |= strcmp(e->d_name, "devices") == 0 && e->d_type == DT_DIR;
		kernel |= strcmp(e->d_name, "kernel") == 0 && e->d_type == DT_DIR;
	}
	if (d)
		closedir(d);
	CHECK(devices && kernel, "/sys lists devices/ and kernel/");
	CHECK(chdir("/sys/devices/system/cpu/cpu0") == 0 && chdir("../../..") == 0 &&
	      stat("system", &st) == 0, ".. inside sysfs");
	return check_exit();
}
