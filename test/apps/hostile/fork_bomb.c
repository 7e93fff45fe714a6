/*
 * A fork bomb (`while (1) fork();`) must not take the system down:
 *  - fork fails with EAGAIN once a limit is reached: RLIMIT_NPROC for an
 *    unprivileged user, threads-max or pid_max for root;
 *  - while the bomb runs, other processes keep getting the CPU: this one
 *    sleeps 10 ms at a time and measures how late it wakes;
 *  - killing the bomb's process group ends all of it, and every page it
 *    used is free again (MemFree in /proc/meminfo back within 1 %).
 *
 * Each bomb runs in a session of its own, as if started from another
 * login (Linux shares the CPU between sessions first: autogroup).
 *
 * The unprivileged bomb runs everywhere (on a Linux host too: limited to
 * 64 processes of uid 65534, it is harmless). The root bomb, limited only
 * by the system's limits, runs only on this kernel (uname release
 * "*-framekernel"), never on a host.
 *
 *   fork_bomb [SECONDS]    how long each bomb runs (default 3)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

struct shared {
	atomic_long forks;
	atomic_long eagain;
	atomic_long other_errors;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long mem_free_kib(void)
{
	return meminfo_kib("MemFree");
}

static void bomb(struct shared *sh)
{
	for (;;) {
		pid_t p = fork();
		if (p > 0)
			atomic_fetch_add(&sh->forks, 1);
		else if (p < 0 && errno == EAGAIN)
			atomic_fetch_add(&sh->eagain, 1);
		else if (p < 0)
			atomic_fetch_add(&sh->other_errors, 1);
	}
}

/* Runs a bomb for `secs`; returns the process group it ran in. */
static pid_t run_bomb(struct shared *sh, double secs, int unprivileged, double *worst_wake)
{
	pid_t leader = fork();
	if (leader == 0) {
		/* A session of its own, as a bomb started from another login. */
		setsid();
		if (unprivileged) {
			struct rlimit rl = { 64, 64 };
			if (setrlimit(RLIMIT_NPROC, &rl) || setgid(65534) || setuid(65534))
				_exit(2);
		}
		bomb(sh);
	}
	*worst_wake = 0;
	double end = now_s() + secs;
	while (now_s() < end) {
		double t0 = now_s();
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		double late = now_s() - t0 - 0.010;
		if (late > *worst_wake)
			*worst_wake = late;
	}
	return leader;
}

/* Kills the group and waits until none of it is left (reaped by init or
 * by us); returns the seconds that took, or -1 after 60 s. */
static double kill_and_wait(pid_t pgid)
{
	double t0 = now_s();
	kill(-pgid, SIGKILL);
	long reaped = 0;
	double report = t0 + 5;
	while (now_s() - t0 < 60) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			reaped++;
		if (now_s() > report) {
			INFO("still waiting after %.0f s (%ld reaped here)", now_s() - t0, reaped);
			report += 5;
		}
		if (kill(-pgid, 0) == -1 && errno == ESRCH)
			return now_s() - t0;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3;
	/* As init, nobody has mounted /proc for us. */
	if (access("/proc/meminfo", R_OK) != 0) {
		mkdir("/proc", 0555);
		mount("proc", "/proc", "proc", 0, NULL);
	}
	struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct utsname u;
	uname(&u);
	int on_this_kernel = strstr(u.release, "framekernel") != NULL;
	/* Reap the bomb's orphans ourselves where that is possible. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	double worst;
	pid_t g = run_bomb(sh, secs, 1, &worst);
	CHECK(atomic_load(&sh->eagain) > 0, "unprivileged bomb: fork failed with EAGAIN at RLIMIT_NPROC (%ld forks, %ld EAGAIN)",
	      atomic_load(&sh->forks), atomic_load(&sh->eagain));
	CHECK(atomic_load(&sh->other_errors) == 0, "no other fork error (%ld)", atomic_load(&sh->other_errors));
	CHECK(worst < 1.0, "a sleeper kept waking on time (at worst %.3f s late)", worst);
	double took = kill_and_wait(g);
	CHECK(took >= 0, "killing the group ended the bomb (%.2f s)", took);

	if (!on_this_kernel) {
		INFO("not this kernel: the root bomb is not run");
		return check_exit();
	}

	long free_before = mem_free_kib();
	atomic_store(&sh->forks, 0);
	atomic_store(&sh->eagain, 0);
	g = run_bomb(sh, secs, 0, &worst);
	INFO("root bomb: %ld forks, %ld EAGAIN", atomic_load(&sh->forks), atomic_load(&sh->eagain));
	CHECK(atomic_load(&sh->eagain) > 0, "root bomb: fork failed with EAGAIN at threads-max or pid_max");
	CHECK(atomic_load(&sh->other_errors) == 0, "no other fork error (%ld)", atomic_load(&sh->other_errors));
	CHECK(worst < 1.0, "a sleeper kept waking on time (at worst %.3f s late)", worst);
	took = kill_and_wait(g);
	CHECK(took >= 0, "killing the group ended the bomb (%.2f s)", took);
	long free_after = mem_free_kib();
	for (int i = 0; i < 50 && free_after < free_before - free_before / 100; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		free_after = mem_free_kib();
	}
	CHECK(free_after >= free_before - free_before / 100,
	      "all memory came back: MemFree %ld kB before, %ld kB after", free_before, free_after);
	return check_exit();
}
