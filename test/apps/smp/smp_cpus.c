/*
 * Every way a program counts the CPUs agrees, and there are at least 2:
 * sysconf(_SC_NPROCESSORS_ONLN) and (_SC_NPROCESSORS_CONF), the popcount
 * of sched_getaffinity, the "processor" lines of /proc/cpuinfo, the "cpuN"
 * lines of /proc/stat, and /sys/devices/system/cpu/online (a list such as
 * "0-1"). getcpu and sched_getcpu name one of those CPUs, and the
 * affinity mask holds CPUs 0..N-1. Built with musl (whose sysconf counts
 * the affinity mask) and glibc (smp_cpus-glibc; its sysconf reads
 * /sys/devices/system/cpu).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "smputil.h"

/* Lines of PATH that start with PREFIX followed by a digit or, if
 * then_space, by blanks and a colon ("processor\t: 0"). */
static int count_lines(const char *path, const char *prefix, int then_space)
{
	char line[512];
	size_t len = strlen(prefix);
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, prefix, len) != 0)
			continue;
		const char *rest = line + len;
		if (then_space) {
			rest += strspn(rest, " \t");
			n += *rest == ':';
		} else {
			n += *rest >= '0' && *rest <= '9';
		}
	}
	fclose(f);
	return n;
}

/* The number of CPUs in a sysfs CPU list ("0-3,6\n"), or -1. */
static int parse_cpu_list(const char *s)
{
	int n = 0;

	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b = a;
		if (end == s)
			return -1;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a)
				return -1;
		}
		n += (int)(b - a + 1);
		s = end;
		if (*s == ',')
			s++;
	}
	return n;
}

int main(void)
{
	int cpus[SMP_MAX_CPUS];
	int n = smp_cpus(cpus, SMP_MAX_CPUS);
	long onln = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
	int cpuinfo = count_lines("/proc/cpuinfo", "processor", 1);
	int stat = count_lines("/proc/stat", "cpu", 0);

	smp_watchdog(30);
	INFO("affinity %d, ONLN %ld, CONF %ld, cpuinfo %d, stat %d", n, onln, conf, cpuinfo, stat);
	smp_need_two(n);
	CHECK(onln == n, "sysconf(_SC_NPROCESSORS_ONLN) = %ld, the affinity popcount", onln);
	CHECK(conf == n, "sysconf(_SC_NPROCESSORS_CONF) = %ld, the affinity popcount", conf);
	CHECK(cpuinfo == n, "/proc/cpuinfo has %d \"processor\" lines", cpuinfo);
	CHECK(stat == n, "/proc/stat has %d \"cpuN\" lines", stat);

	int contiguous = 1;
	for (int i = 0; i < n; i++)
		contiguous &= cpus[i] == i;
	CHECK(contiguous, "the affinity mask is CPUs 0..%d", n - 1);

	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	if (f) {
		char line[256] = "";
		int ok = fgets(line, sizeof line, f) != NULL;
		fclose(f);
		int online = ok ? parse_cpu_list(line) : -1;
		line[strcspn(line, "\n")] = '\0';
		CHECK(online == n, "/sys/devices/system/cpu/online \"%s\" lists %d CPUs", line, online);
	} else {
		INFO("no /sys/devices/system/cpu/online");
	}

	unsigned cpu = ~0u, node = ~0u;
	long r = syscall(SYS_getcpu, &cpu, &node, NULL);
	CHECK(r == 0 && cpu < (unsigned)n, "getcpu gives CPU %u (node %u), below %d", cpu, node, n);
	int c = sched_getcpu();
	CHECK(c >= 0 && c < n, "sched_getcpu gives CPU %d, below %d", c, n);
	return check_exit();
}
