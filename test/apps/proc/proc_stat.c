/*
 * CPU accounting as /proc shows it: /proc/stat (cpu and cpu0 lines with
 * real user/system/idle ticks, ctxt, btime, processes, procs_running),
 * /proc/uptime (idle time), /proc/loadavg (load averages that follow a
 * busy task, running/total, last pid), /proc/self/stat's utime, and the
 * /proc/self/status fields: ids, Groups, SigQ, context switch counts.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static char *slurp(const char *path)
{
	static char buf[16384];
	int fd = open(path, O_RDONLY);
	ssize_t n, total = 0;

	buf[0] = 0;
	if (fd < 0)
		return buf;
	while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0)
		total += n;
	buf[total] = 0;
	close(fd);
	return buf;
}

struct cpu {
	unsigned long long v[10];
	int fields;
};

static struct cpu cpu_line(const char *prefix)
{
	struct cpu c = {0};
	char *s = strstr(slurp("/proc/stat"), prefix);

	if (s)
		c.fields = sscanf(s + strlen(prefix), "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
				  &c.v[0], &c.v[1], &c.v[2], &c.v[3], &c.v[4], &c.v[5], &c.v[6],
				  &c.v[7], &c.v[8], &c.v[9]);
	return c;
}

static unsigned long long stat_value(const char *key)
{
	char *s = strstr(slurp("/proc/stat"), key);
	unsigned long long v = 0;

	if (s)
		sscanf(s + strlen(key), "%llu", &v);
	return v;
}

static long status_value(const char *key)
{
	char *s = strstr(slurp("/proc/self/status"), key);
	long v = -1;

	if (s)
		sscanf(s + strlen(key), "%ld", &v);
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile unsigned long sink;

static void busy(double seconds)
{
	double end = now() + seconds;

	while (now() < end)
		for (int i = 0; i < 10000; i++)
			sink += i;
}

static unsigned long utime_ticks(void)
{
	char *s = strrchr(slurp("/proc/self/stat"), ')');
	unsigned long utime = 0;

	/* Field 14 is the 12th after the command name. */
	if (s)
		sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu", &utime);
	return utime;
}

int main(void)
{
	struct cpu a, b, a0;
	unsigned long long ctxt, procs, btime;
	double up, idle, up2, idle2, l1, l5, l15;
	int running, total, last, n;
	long vol;
	unsigned long ut;
	struct timespec ts = {0, 20 * 1000 * 1000};
	char *s;
	pid_t pid;

	a = cpu_line("cpu  ");
	a0 = cpu_line("\ncpu0 ");
	CHECK(a.fields == 10, "the cpu line has 10 numbers");
	CHECK(a0.fields == 10, "there is a cpu0 line with 10 numbers");
	CHECK(strstr(slurp("/proc/stat"), "\nintr ") != NULL && strstr(slurp("/proc/stat"), "\nctxt ") != NULL,
	      "intr and ctxt lines");

	/* Busy in user mode: the user ticks grow. */
	ut = utime_ticks();
	busy(0.4);
	b = cpu_line("cpu  ");
	CHECK(b.v[0] >= a.v[0] + 5, "user time grew while busy (%llu -> %llu)", a.v[0], b.v[0]);
	CHECK(utime_ticks() >= ut + 5, "and so did this process's utime (%lu -> %lu)", ut,
	      utime_ticks());
	CHECK(b.v[3] >= a.v[3], "idle time never goes back");

	/* Sleeping: voluntary switches, and the machine's switch count. */
	ctxt = stat_value("\nctxt ");
	vol = status_value("\nvoluntary_ctxt_switches:\t");
	for (int i = 0; i < 5; i++)
		nanosleep(&ts, NULL);
	CHECK(stat_value("\nctxt ") >= ctxt + 5, "ctxt counts switches (%llu -> %llu)", ctxt,
	      stat_value("\nctxt "));
	CHECK(status_value("\nvoluntary_ctxt_switches:\t") >= vol + 5,
	      "each sleep is a voluntary switch (%ld -> %ld)", vol,
	      status_value("\nvoluntary_ctxt_switches:\t"));
	CHECK(status_value("\nnonvoluntary_ctxt_switches:\t") >= 0, "nonvoluntary_ctxt_switches");

	/* Forks are counted. */
	procs = stat_value("\nprocesses ");
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	CHECK(stat_value("\nprocesses ") >= procs + 1, "processes counts forks");
	CHECK(stat_value("\nprocs_running ") >= 1, "procs_running counts the reader");
	CHECK(strstr(slurp("/proc/stat"), "\nprocs_blocked ") != NULL, "procs_blocked");

	/* /proc/uptime, and btime + uptime is now. */
	n = sscanf(slurp("/proc/uptime"), "%lf %lf", &up, &idle);
	CHECK(n == 2 && up > 0 && idle >= 0, "uptime: %.2f s up, %.2f s idle", up, idle);
	btime = stat_value("\nbtime ");
	CHECK(llabs((long long)(btime + up) - (long long)time(NULL)) <= 2, "btime + uptime is now");
	nanosleep(&ts, NULL);
	n = sscanf(slurp("/proc/uptime"), "%lf %lf", &up2, &idle2);
	CHECK(n == 2 && up2 >= up && idle2 >= idle, "both only grow");

	/* The load average follows a task that keeps the CPU busy for more
	 * than one 5-second sample. */
	busy(5.5);
	s = slurp("/proc/loadavg");
	n = sscanf(s, "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &running, &total, &last);
	CHECK(n == 6, "loadavg has six fields: %s", s);
	CHECK(l1 > 0, "the 1-minute load is above 0 after 5.5 s busy (%.2f)", l1);
	CHECK(running >= 1 && total >= running, "running/total threads (%d/%d)", running, total);
	CHECK(last >= pid || last < 300, "last pid (%d, child was %d)", last, pid);
	{
		int d1, f1;
		CHECK(sscanf(s, "%d.%2d ", &d1, &f1) == 2 && s[strcspn(s, ".") + 3] == ' ',
		      "loads have two decimals");
	}

	/* The ids and the other status lines. */
	{
		char want[128];
		struct rlimit rl;

		snprintf(want, sizeof want, "\nUid:\t%d\t%d\t%d\t%d\n", getuid(), geteuid(), geteuid(),
			 geteuid());
		CHECK(strstr(slurp("/proc/self/status"), want) != NULL, "Uid has 4 ids");
		s = strstr(slurp("/proc/self/status"), "\nGroups:\t");
		CHECK(s && strchr(s + 1, '\n') && strchr(s + 1, '\n')[-1] == ' ',
		      "Groups ends with a space");
		getrlimit(RLIMIT_SIGPENDING, &rl);
		snprintf(want, sizeof want, "/%lu\n", (unsigned long)rl.rlim_cur);
		s = strstr(slurp("/proc/self/status"), "\nSigQ:\t");
		CHECK(s && strncmp(strchr(s, '/'), want, strlen(want)) == 0,
		      "SigQ's limit is RLIMIT_SIGPENDING");
		s = slurp("/proc/self/status");
		CHECK(strstr(s, "\nCpus_allowed_list:\t") && strstr(s, "\nMems_allowed_list:\t0\n") &&
		      strstr(s, "\nSeccomp_filters:\t0\n") && strstr(s, "\nState:\tR (running)\n"),
		      "Cpus_allowed_list, Mems_allowed_list, Seccomp_filters, State");
	}
	return check_exit();
}
