/*
 * Wall-clock scaling across CPUs. N worker processes start together, each
 * doing a fixed amount of one kind of work; the time until the last one
 * has finished is the figure:
 *
 *   fork    fork + _exit + waitpid, 500 times
 *   fault   mmap 8 MiB of private anonymous memory, write one byte to
 *           every page, munmap; 8 times (16384 page faults)
 *   pipe    one-byte round trips with a partner process of its own over
 *           two pipes, 5000 times
 *
 * Each figure is the best of 3 runs, printed as
 *
 *   BENCH scale_<kind>_<N> <ms> ms
 *
 * for N = 1 and N = the number of CPUs this process may use (or the
 * N given as arguments: `scale 1 2 4`). With perfect scaling the N-worker
 * time equals the one-worker time, N times the work done in it; the
 * speed-up of N over 1 is N x t(1) / t(N). BENCH_SCALE in the environment
 * scales the amounts (as in bench.c). Ends with "BENCH done"; as PID 1
 * (a benchmark boot) it then powers the machine off. Workers are not
 * pinned: placing them is part of what is measured.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MIB (1UL << 20)
#define RUNS 3

static long forks = 500, fault_maps = 8, round_trips = 5000;
static const size_t fault_size = 8 * MIB;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int reap(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int work_fork(void)
{
	for (long i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0 || reap(pid))
			return -1;
	}
	return 0;
}

static int work_fault(void)
{
	for (long i = 0; i < fault_maps; i++) {
		volatile char *p = mmap(NULL, fault_size, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		for (size_t off = 0; off < fault_size; off += PAGE)
			p[off] = 1;
		munmap((void *)p, fault_size);
	}
	return 0;
}

/* The pipe partner is forked before the start, so that only the round
 * trips are timed: `pipe_setup` makes it, `work_pipe` plays. */
static int to_partner[2], from_partner[2];
static pid_t partner;

static int pipe_setup(void)
{
	char c;
	if (pipe(to_partner) == -1 || pipe(from_partner) == -1)
		return -1;
	partner = fork();
	if (partner == 0) {
		close(to_partner[1]);
		close(from_partner[0]);
		while (read(to_partner[0], &c, 1) == 1)
			if (write(from_partner[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(to_partner[0]);
	close(from_partner[1]);
	return partner < 0 ? -1 : 0;
}

static int work_pipe(void)
{
	char c = 'x';
	for (long i = 0; i < round_trips; i++)
		if (write(to_partner[1], &c, 1) != 1 || read(from_partner[0], &c, 1) != 1)
			return -1;
	close(to_partner[1]);
	close(from_partner[0]);
	return reap(partner);
}

struct kind {
	const char *name;
	int (*setup)(void);
	int (*work)(void);
};

static const struct kind kinds[] = {
	{ "fork", NULL, work_fork },
	{ "fault", NULL, work_fault },
	{ "pipe", pipe_setup, work_pipe },
};

/* One run of `n` workers; the wall time in ns from the start signal to
 * the last exit, or -1. */
static long long run(const struct kind *k, int n)
{
	int ready[2], go[2], failed = 0;
	pid_t pids[256];
	char c;

	if (n > 256)
		return -1;

	if (pipe(ready) == -1 || pipe(go) == -1)
		return -1;
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(ready[0]);
			close(go[1]);
			int ok = !k->setup || k->setup() == 0;
			if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 0)
				_exit(1);
			_exit(ok && k->work() == 0 ? 0 : 1);
		}
		if (pids[i] < 0) {
			n = i; /* release and reap those started */
			failed = 1;
			break;
		}
	}
	close(ready[1]);
	close(go[0]);
	for (int i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1)
			failed = 1;
	long long t0 = now_ns();
	close(go[1]); /* every worker's read returns 0: start */
	for (int i = 0; i < n; i++)
		failed |= reap(pids[i]) != 0;
	long long dt = now_ns() - t0;
	close(ready[0]);
	return failed ? -1 : dt;
}

static long scaled(long n)
{
	const char *s = getenv("BENCH_SCALE");
	if (s && *s && atof(s) > 0)
		n = (long)(n * atof(s));
	return n < 1 ? 1 : n;
}

int main(int argc, char **argv)
{
	int counts[64], ncounts = 0, failed = 0;
	cpu_set_t set;

	for (int i = 1; i < argc && ncounts < 64; i++) {
		int n = atoi(argv[i]);
		if (n < 1 || n > 256) {
			fprintf(stderr, "usage: scale [N...]   (1 <= N <= 256)\n");
			return 2;
		}
		counts[ncounts++] = n;
	}
	if (ncounts == 0) {
		int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
		counts[ncounts++] = 1;
		if (cpus > 1)
			counts[ncounts++] = cpus > 256 ? 256 : cpus;
	}
	forks = scaled(forks);
	fault_maps = scaled(fault_maps);
	round_trips = scaled(round_trips);

	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		for (int i = 0; i < ncounts; i++) {
			long long best = -1;
			for (int r = 0; r < RUNS; r++) {
				long long t = run(&kinds[k], counts[i]);
				if (t < 0) {
					fprintf(stderr, "scale: %s with %d workers failed\n", kinds[k].name,
						counts[i]);
					failed = 1;
					break;
				}
				if (best < 0 || t < best)
					best = t;
			}
			if (best >= 0)
				printf("BENCH scale_%s_%d %.1f ms\n", kinds[k].name, counts[i],
				       (double)best / 1e6);
			fflush(stdout);
		}
	}
	printf("BENCH done\n");
	fflush(stdout);
	/* As the first program of a benchmark boot, power the machine off so
	 * that Linux, too, ends QEMU instead of panicking when init exits. */
	if (getpid() == 1) {
		sync();
		reboot(RB_POWER_OFF);
	}
	return failed;
}
