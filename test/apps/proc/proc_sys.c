/*
 * /proc/sys files programs read: kernel/{tainted,core_pattern,ngroups_max,
 * osrelease,ostype,version,dmesg_restrict,pid_max,threads-max},
 * fs/{nr_open,file-max,file-nr,pipe-max-size}, vm/{overcommit_memory,
 * overcommit_ratio}; out-of-range writes fail with EINVAL and change
 * nothing. (Valid writes only write back the value that is there.)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
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

static long number(const char *path)
{
	char *s = slurp(path), *end;
	long v = strtol(s, &end, 10);

	return (end != s && *end == '\n' && end[1] == 0) ? v : -1;
}

static int write_str(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -1 : 0;
}

int main(void)
{
	struct utsname u;
	char want[256];
	long fmax, policy;
	unsigned long a, b, c;

	uname(&u);
	CHECK(number("/proc/sys/kernel/tainted") >= 0, "tainted is a number");
	CHECK(strlen(slurp("/proc/sys/kernel/core_pattern")) >= 2 &&
	      slurp("/proc/sys/kernel/core_pattern")[strlen(slurp("/proc/sys/kernel/core_pattern")) - 1] == '\n',
	      "core_pattern is a line");
	CHECK(number("/proc/sys/kernel/ngroups_max") == 65536, "ngroups_max 65536");
	snprintf(want, sizeof want, "%s\n", u.release);
	CHECK(strcmp(slurp("/proc/sys/kernel/osrelease"), want) == 0, "osrelease is uname's");
	CHECK(strcmp(slurp("/proc/sys/kernel/ostype"), "Linux\n") == 0, "ostype Linux");
	snprintf(want, sizeof want, "%s\n", u.version);
	CHECK(strcmp(slurp("/proc/sys/kernel/version"), want) == 0, "version is uname's");
	CHECK(number("/proc/sys/kernel/pid_max") > 300, "pid_max");
	CHECK(number("/proc/sys/kernel/threads-max") > 0, "threads-max");
	CHECK(number("/proc/sys/kernel/dmesg_restrict") == 0 ||
	      number("/proc/sys/kernel/dmesg_restrict") == 1, "dmesg_restrict 0 or 1");

	CHECK(number("/proc/sys/fs/nr_open") == 1048576, "nr_open 1048576");
	fmax = number("/proc/sys/fs/file-max");
	CHECK(fmax >= 8192, "file-max at least NR_FILE (%ld)", fmax);
	CHECK(sscanf(slurp("/proc/sys/fs/file-nr"), "%lu\t%lu\t%lu\n", &a, &b, &c) == 3 && a >= 3 &&
	      b == 0 && (long)c == fmax, "file-nr: open, 0, file-max (%lu %lu %lu)", a, b, c);
	CHECK(number("/proc/sys/fs/pipe-max-size") >= 4096, "pipe-max-size");

	policy = number("/proc/sys/vm/overcommit_memory");
	CHECK(policy >= 0 && policy <= 2, "overcommit_memory is 0, 1 or 2 (%ld)", policy);
	CHECK(number("/proc/sys/vm/overcommit_ratio") >= 0, "overcommit_ratio");
	if (geteuid() == 0) {
		CHECK_ERRNO(write_str("/proc/sys/vm/overcommit_memory", "3"), EINVAL,
			    "overcommit_memory 3");
		CHECK_ERRNO(write_str("/proc/sys/vm/overcommit_memory", "-1"), EINVAL,
			    "overcommit_memory -1");
		CHECK(number("/proc/sys/vm/overcommit_memory") == policy, "unchanged");
		snprintf(want, sizeof want, "%ld", policy);
		CHECK(write_str("/proc/sys/vm/overcommit_memory", want) == 0, "writing it back");
		CHECK_ERRNO(write_str("/proc/sys/kernel/dmesg_restrict", "2"), EINVAL,
			    "dmesg_restrict 2");
	}
	return check_exit();
}
