/*
 * The limits on processes, as Linux has them:
 *  - /proc/sys/kernel/pid_max (32768 by default) and threads-max are
 *    readable numbers; root may write them, out-of-range or non-numeric
 *    values are EINVAL, and others may not open them for writing;
 *  - with pid_max lowered, fork fails with EAGAIN once the pids below it
 *    are used, and works again when they are freed; new pids stay below
 *    it (they wrap around);
 *  - RLIMIT_NPROC: setrlimit cannot raise the hard limit without
 *    privilege (EPERM), soft above hard is EINVAL.
 *
 * Writing the tunables changes the whole system, so that part runs only on
 * this kernel (uname release "*-framekernel"), never on a host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static long read_number(const char *path)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Writes `text`; returns 0 or the errno of the open or the write. */
static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	int err = write(fd, text, strlen(text)) < 0 ? errno : 0;
	close(fd);
	return err;
}

int main(void)
{
	long pid_max = read_number("/proc/sys/kernel/pid_max");
	long threads_max = read_number("/proc/sys/kernel/threads-max");
	CHECK(pid_max >= 301, "pid_max is a number (%ld)", pid_max);
	CHECK(threads_max >= 20, "threads-max is a number (%ld)", threads_max);

	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur > 0, "RLIMIT_NPROC %lu/%lu",
	      (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
	struct rlimit bad = { 10, 5 };
	CHECK_ERRNO(setrlimit(RLIMIT_NPROC, &bad), EINVAL, "setrlimit with soft above hard: EINVAL");
	pid_t c = fork();
	if (c == 0) {
		struct rlimit low = { 100, 100 }, high = { 100, 200 };
		int ok = setrlimit(RLIMIT_NPROC, &low) == 0 && setuid(65534) == 0;
		errno = 0;
		int r = setrlimit(RLIMIT_NPROC, &high);
		_exit(ok && r == -1 && errno == EPERM ? 0 : 1);
	}
	int st;
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "raising the hard limit unprivileged: EPERM");

	c = fork();
	if (c == 0) {
		if (setuid(65534) != 0)
			_exit(2);
		_exit(write_text("/proc/sys/kernel/pid_max", "40000") == EACCES ? 0 : 1);
	}
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "an unprivileged write to pid_max: EACCES");

	struct utsname u;
	uname(&u);
	if (!strstr(u.release, "framekernel")) {
		INFO("not this kernel: the tunables are not written");
		return check_exit();
	}
	CHECK(pid_max == 32768, "pid_max defaults to 32768 (%ld)", pid_max);
	CHECK(write_text("/proc/sys/kernel/pid_max", "100") == EINVAL, "pid_max 100 (below 301): EINVAL");
	CHECK(write_text("/proc/sys/kernel/pid_max", "many") == EINVAL, "pid_max \"many\": EINVAL");
	CHECK(write_text("/proc/sys/kernel/threads-max", "5") == EINVAL, "threads-max 5: EINVAL");
	char text[32];
	snprintf(text, sizeof text, "%ld\n", threads_max);
	CHECK(write_text("/proc/sys/kernel/threads-max", text) == 0, "threads-max written back");

	/* A low pid_max: forks fail with EAGAIN once its pids are used. A
	 * descriptor kept open sees the new value when read again from 0. */
	int kept = open("/proc/sys/kernel/pid_max", O_RDONLY);
	CHECK(write_text("/proc/sys/kernel/pid_max", "400") == 0 &&
		      read_number("/proc/sys/kernel/pid_max") == 400,
	      "pid_max set to 400");
	char again[32] = "";
	ssize_t got = pread(kept, again, sizeof again - 1, 0);
	CHECK(got > 0 && atol(again) == 400, "pread from 0 of a kept /proc file gives the new value (%s)",
	      got > 0 ? again : "nothing");
	close(kept);
	static pid_t kids[1000];
	int made = 0, err = 0;
	int above = 0;
	while (made < 1000) {
		pid_t k = fork();
		if (k == 0) {
			pause();
			_exit(0);
		}
		if (k < 0) {
			err = errno;
			break;
		}
		above += k >= 400;
		kids[made++] = k;
	}
	CHECK(made > 0 && made < 400 && err == EAGAIN, "fork fails with EAGAIN below pid_max (%d forks, %s)", made,
	      strerror(err));
	CHECK(above == 0, "every new pid is below pid_max");
	for (int i = 0; i < made; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	c = fork();
	if (c == 0)
		_exit(0);
	CHECK(c > 0 && c < 400, "the freed pids are used again (pid %d)", (int)c);
	waitpid(c, NULL, 0);
	snprintf(text, sizeof text, "%ld", pid_max);
	CHECK(write_text("/proc/sys/kernel/pid_max", text) == 0, "pid_max restored");
	return check_exit();
}
