/*
 * sethostname and setdomainname: the name shows in uname() and in
 * /proc/sys/kernel/hostname and domainname, which also set it; a length
 * above 64 (or negative) is EINVAL, a bad pointer EFAULT, a process
 * without privilege gets EPERM first. On a host the test runs in a UTS
 * namespace of its own; in the guest it restores the names at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	long n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	long n = write(fd, text, strlen(text));
	close(fd);
	return n == (long)strlen(text) ? 0 : -1;
}

static void as_nobody(void)
{
	CHECK(setgid(65534) == 0 && setuid(65534) == 0, "become nobody");
	CHECK_ERRNO(sethostname("x", 1), EPERM, "sethostname: EPERM");
	CHECK_ERRNO(syscall(SYS_sethostname, (void *)8, 100), EPERM, "EPERM before EINVAL and EFAULT");
	CHECK_ERRNO(setdomainname("x", 1), EPERM, "setdomainname: EPERM");
	CHECK_ERRNO(open("/proc/sys/kernel/hostname", O_WRONLY), EACCES,
		    "/proc/sys/kernel/hostname not writable: EACCES");
	char buf[128];
	CHECK(read_file("/proc/sys/kernel/hostname", buf, sizeof(buf)) > 0, "but readable");
}

int main(void)
{
	struct utsname u0, u;
	CHECK(uname(&u0) == 0, "uname");
	int guest = strstr(u0.release, "framekernel") != NULL;
	if (unshare(CLONE_NEWUTS) != 0 && !guest) {
		CHECK(0, "a UTS namespace of its own on a host");
		return check_exit();
	}
	char buf[128];

	CHECK(sethostname("testhost", 8) == 0, "sethostname(\"testhost\")");
	CHECK(uname(&u) == 0 && strcmp(u.nodename, "testhost") == 0, "uname shows it");
	CHECK(read_file("/proc/sys/kernel/hostname", buf, sizeof(buf)) == 9 &&
	      strcmp(buf, "testhost\n") == 0, "/proc/sys/kernel/hostname shows it");
	CHECK(gethostname(buf, sizeof(buf)) == 0 && strcmp(buf, "testhost") == 0, "gethostname");
	CHECK(sethostname("abcdefgh", 3) == 0 && uname(&u) == 0 &&
	      strcmp(u.nodename, "abc") == 0, "only len bytes are taken");
	char long_name[80];
	memset(long_name, 'n', sizeof(long_name));
	CHECK(sethostname(long_name, 64) == 0 && uname(&u) == 0 && strlen(u.nodename) == 64,
	      "64 bytes is the most");
	CHECK_ERRNO(sethostname(long_name, 65), EINVAL, "65 bytes: EINVAL");
	CHECK_ERRNO(syscall(SYS_sethostname, long_name, -1), EINVAL, "negative length: EINVAL");
	CHECK_ERRNO(syscall(SYS_sethostname, (void *)8, 65), EINVAL, "EINVAL before EFAULT");
	CHECK_ERRNO(syscall(SYS_sethostname, (void *)8, 4), EFAULT, "bad pointer: EFAULT");
	CHECK(uname(&u) == 0 && strlen(u.nodename) == 64, "failed calls left the name");
	CHECK(sethostname("", 0) == 0 && uname(&u) == 0 && u.nodename[0] == 0, "empty name");

	CHECK(write_file("/proc/sys/kernel/hostname", "fromproc\n") == 0,
	      "write /proc/sys/kernel/hostname");
	CHECK(uname(&u) == 0 && strcmp(u.nodename, "fromproc") == 0, "uname shows it");
	char longer[100];
	memset(longer, 'p', 70);
	longer[70] = 0;
	CHECK(write_file("/proc/sys/kernel/hostname", longer) == 0 && uname(&u) == 0 &&
	      strlen(u.nodename) == 64, "a longer write keeps 64 bytes");

	CHECK(setdomainname("example.org", 11) == 0, "setdomainname");
	CHECK(uname(&u) == 0 && strcmp(u.domainname, "example.org") == 0, "uname shows it");
	CHECK(read_file("/proc/sys/kernel/domainname", buf, sizeof(buf)) == 12 &&
	      strcmp(buf, "example.org\n") == 0, "/proc/sys/kernel/domainname shows it");
	CHECK_ERRNO(setdomainname(long_name, 65), EINVAL, "setdomainname 65 bytes: EINVAL");
	CHECK_ERRNO(syscall(SYS_setdomainname, (void *)8, 4), EFAULT, "setdomainname: EFAULT");
	CHECK(write_file("/proc/sys/kernel/domainname", "other.net") == 0 && uname(&u) == 0 &&
	      strcmp(u.domainname, "other.net") == 0, "write /proc/sys/kernel/domainname");

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		as_nobody();
		_exit(check_failed_ ? 1 : 0);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the unprivileged checks held");

	CHECK(sethostname(u0.nodename, strlen(u0.nodename)) == 0 &&
	      setdomainname(u0.domainname, strlen(u0.domainname)) == 0, "restore the names");
	return check_exit();
}
