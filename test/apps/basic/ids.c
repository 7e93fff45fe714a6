/*
 * Process identity and basic "what system is this" queries.
 *
 * The checks do not assume we run as PID 1 (this must also pass natively on
 * Linux), only values that hold everywhere.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int ts_less(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int main(void)
{
	pid_t pid = getpid();
	CHECK(pid > 0, "getpid() = %d > 0", (int)pid);
	long tid = syscall(SYS_gettid);
	CHECK(tid == pid, "gettid() = %ld == getpid() (single-threaded)", tid);
	pid_t ppid = getppid();
	CHECK(ppid >= 0, "getppid() = %d >= 0", (int)ppid);

	uid_t uid = getuid(), euid = geteuid();
	gid_t gid = getgid(), egid = getegid();
	CHECK(uid == euid, "getuid() = %u == geteuid() = %u", (unsigned)uid, (unsigned)euid);
	CHECK(gid == egid, "getgid() = %u == getegid() = %u", (unsigned)gid, (unsigned)egid);

	struct utsname u;
	CHECK(uname(&u) == 0, "uname()");
	CHECK(strcmp(u.sysname, "Linux") == 0, "uname sysname = \"%s\" is Linux", u.sysname);
	CHECK(strcmp(u.machine, "x86_64") == 0, "uname machine = \"%s\" is x86_64", u.machine);
	INFO("uname: release=\"%s\" nodename=\"%s\"", u.release, u.nodename);

	unsigned char rnd[32];
	memset(rnd, 0, sizeof(rnd));
	ssize_t got = getrandom(rnd, sizeof(rnd), 0);
	CHECK(got == 32, "getrandom(32 bytes) = %zd", got);
	int nonzero = 0;
	for (int i = 0; i < 32; i++)
		nonzero |= rnd[i];
	CHECK(nonzero, "getrandom bytes are not all zero");

	/* CLOCK_MONOTONIC never goes back and advances while we spin. */
	struct timespec t0, t1, prev;
	CHECK(clock_gettime(CLOCK_MONOTONIC, &t0) == 0, "clock_gettime(MONOTONIC)");
	prev = t0;
	int backwards = 0;
	long spins = 0;
	for (; spins < 200000000L; spins++) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (ts_less(&t1, &prev))
			backwards = 1;
		prev = t1;
		if (ts_less(&t0, &t1) && spins > 1000)
			break;
	}
	CHECK(!backwards, "CLOCK_MONOTONIC never went backwards");
	CHECK(ts_less(&t0, &t1), "CLOCK_MONOTONIC advanced (%lld.%09ld -> %lld.%09ld after %ld reads)",
	      (long long)t0.tv_sec, t0.tv_nsec, (long long)t1.tv_sec, t1.tv_nsec, spins);
	CHECK(t1.tv_nsec >= 0 && t1.tv_nsec < 1000000000L, "tv_nsec in range");

	struct timeval tv;
	CHECK(gettimeofday(&tv, NULL) == 0, "gettimeofday()");
	CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "tv_usec = %ld in range", (long)tv.tv_usec);

	cpu_set_t set;
	CPU_ZERO(&set);
	CHECK(sched_getaffinity(0, sizeof(set), &set) == 0, "sched_getaffinity()");
	CHECK(CPU_COUNT(&set) >= 1, "affinity mask has %d CPU(s)", CPU_COUNT(&set));

	char cwd[PATH_MAX];
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd()");
	CHECK(cwd[0] == '/', "getcwd = \"%s\" is absolute", cwd);

	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_STACK, &rl) == 0, "getrlimit(RLIMIT_STACK)");
	CHECK(rl.rlim_cur > 0, "RLIMIT_STACK cur = %llu > 0", (unsigned long long)rl.rlim_cur);
	struct { uint64_t cur, max; } rl64 = { 0, 0 };
	CHECK(syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &rl64) == 0,
	      "prlimit64(0, RLIMIT_STACK, NULL, &old)");
	CHECK(rl64.cur > 0 && rl64.cur <= rl64.max, "prlimit64 cur = %llu, max = %llu",
	      (unsigned long long)rl64.cur, (unsigned long long)rl64.max);

	/*
	 * TCGETS on stdout: 0 on a terminal, ENOTTY on anything else. The
	 * buffer is larger than the kernel's struct termios (36 bytes).
	 */
	unsigned char tbuf[128];
	errno = 0;
	int r = ioctl(1, TCGETS, tbuf);
	int e = errno;
	CHECK(r == 0 || (r == -1 && e == ENOTTY), "ioctl(1, TCGETS) = %d (%s)", r,
	      r == 0 ? "stdout is a terminal" : "stdout is not a terminal");

	/*
	 * An unknown ioctl fails with ENOTTY on Linux whatever stdout is, never
	 * EINVAL: the tty layer turns -ENOIOCTLCMD into -ENOTTY, and so does
	 * vfs_ioctl() for pipes, regular files and /dev/null. Verified natively
	 * with stdout on a pty, a pipe, a regular file and /dev/null.
	 */
	CHECK_ERRNO(ioctl(1, 0x12345678, 0), ENOTTY, "ioctl(1, 0x12345678) -> ENOTTY");
	CHECK_ERRNO(ioctl(1000, TCGETS, tbuf), EBADF, "ioctl(bad fd, TCGETS) -> EBADF");

	return check_exit();
}
