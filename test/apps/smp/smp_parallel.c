/*
 * Threads really run at the same time, one per CPU. N threads (N = the
 * CPUs this process may use, at least 2) spin on CPU work, first unpinned
 * and then each pinned to its own CPU:
 *   - the process's CPU time (getrusage RUSAGE_SELF, user + system) is at
 *     least 0.75 N times the wall time (1.5 for N = 2), less what other
 *     processes used meanwhile (from /proc/stat; nothing in a guest that
 *     runs only this). No speed is asked for, so a loaded host does not
 *     break it: when a virtual CPU is descheduled, the guest's wall time
 *     and CPU time both go on, and natively the others' share is left out;
 *   - each thread sees its partner's counter advance by 1 to 64 between
 *     two of its own loop iterations at least 1000 times ("lockstep"). On
 *     one CPU the partner only advances while this thread is switched
 *     out, for a time slice of thousands of iterations; a virtual CPU
 *     that is descheduled stops its thread's counter the same way;
 *   - pinned, each thread only ever finds itself on its own CPU, and the
 *     threads together cover every CPU.
 * A phase spins in attempts of 0.5 s, up to 10, until the CPU-time ratio
 * holds in one and the lockstep counts are reached, so that a busy host
 * running the test natively still passes it; every attempt is printed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "smputil.h"

#define SPIN_NS 500000000LL
#define ATTEMPTS 10
#define LOCKSTEP 1000
#define LOCKSTEP_MAX_DELTA 64
#define MAX_THREADS 64

struct worker {
	_Alignas(64) unsigned long counter; /* written by this thread only */
	_Alignas(64) pthread_t thread;
	struct worker *partner;
	int pin_cpu; /* -1: not pinned */
	int pin_rc;
	long long deadline;
	unsigned long iterations;
	unsigned long lockstep;       /* over all attempts, as the next two */
	unsigned long long cpus_seen; /* CPUs 0..63 */
	int other_cpu_seen;           /* pinned, but found on another CPU */
	unsigned sink;
};

static void *spin(void *arg)
{
	struct worker *w = arg;
	unsigned x = 2463534242u;
	unsigned long last = 0;

	if (w->pin_cpu >= 0)
		w->pin_rc = pin_self(w->pin_cpu);
	for (;;) {
		for (int k = 0; k < 8; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		__atomic_store_n(&w->counter, w->counter + 1, __ATOMIC_RELAXED);
		unsigned long seen = __atomic_load_n(&w->partner->counter, __ATOMIC_RELAXED);
		w->lockstep += seen != last && seen - last <= LOCKSTEP_MAX_DELTA;
		last = seen;
		if (++w->iterations % 256 == 0) {
			int c = sched_getcpu();
			if (c >= 0 && c < 64)
				w->cpus_seen |= 1ULL << c;
			if (w->pin_cpu >= 0 && c != w->pin_cpu)
				w->other_cpu_seen = 1;
			if (smp_now_ns() >= w->deadline)
				break;
		}
	}
	w->sink = x;
	return NULL;
}

static long long tv_ns(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
}

static long long rusage_cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
}

/* The CPU time all processes have used (the "cpu" line of /proc/stat:
 * user, nice, system, irq, softirq and steal), or 0. */
static long long machine_busy_ns(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int got = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			     &v[3], &v[4], &v[5], &v[6], &v[7])
		    : 0;
	if (f)
		fclose(f);
	if (got < 4)
		return 0;
	unsigned long long ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return (long long)(ticks * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

/* One run of `t` spinning threads: returns the CPU time they got as a
 * share of what the machine had free for them, t CPUs for the wall time
 * less what other processes used meanwhile. Idle, that is
 * CPU time / (t x wall time); a busy host running the test natively
 * leaves less. */
static double run(struct worker *w, int t, const int *cpus, int n, int pinned)
{
	int created = 0;
	long long busy0 = machine_busy_ns(), cpu0 = rusage_cpu_ns(), wall0 = smp_now_ns();

	for (int i = 0; i < t; i++) {
		/* Kept over the attempts. */
		unsigned long lockstep = w[i].lockstep;
		unsigned long long seen = w[i].cpus_seen;
		int other = w[i].other_cpu_seen;
		memset(&w[i], 0, sizeof w[i]);
		w[i].lockstep = lockstep;
		w[i].cpus_seen = seen;
		w[i].other_cpu_seen = other;
		w[i].partner = &w[(i + 1) % t];
		w[i].pin_cpu = pinned ? cpus[i % n] : -1;
		w[i].deadline = wall0 + SPIN_NS;
	}
	for (int i = 0; i < t; i++)
		created += pthread_create(&w[i].thread, NULL, spin, &w[i]) == 0;
	if (created != t) {
		CHECK(0, "created %d of %d threads", created, t);
		_exit(check_exit());
	}
	for (int i = 0; i < t; i++)
		pthread_join(w[i].thread, NULL);
	long long wall = smp_now_ns() - wall0, cpu = rusage_cpu_ns() - cpu0;
	long long others = machine_busy_ns() - busy0 - cpu;
	long long free_ns = t * wall - (others > 0 ? others : 0);
	double share = free_ns > 0 ? (double)cpu / (double)free_ns : 1.0;
	INFO("%s: %d threads, CPU time %lld ms in %lld ms: %.2f times the wall time; others used "
	     "%lld ms; share of the free CPU time %.2f",
	     pinned ? "pinned" : "unpinned", t, cpu / 1000000, wall / 1000000,
	     (double)cpu / (double)wall, others / 1000000, share);
	return share;
}

static void phase(const int *cpus, int n, int pinned)
{
	static struct worker w[MAX_THREADS];
	int t = n < 2 ? 2 : n > MAX_THREADS ? MAX_THREADS : n;
	double want = 0.75, share = 0;
	const char *name = pinned ? "pinned" : "unpinned";

	int lockstep_ok = 0;
	memset(w, 0, sizeof w);
	for (int attempt = 0; attempt < ATTEMPTS && (share < want || !lockstep_ok); attempt++) {
		double r = run(w, t, cpus, n, pinned);
		share = r > share ? r : share;
		lockstep_ok = 1;
		for (int i = 0; i < t; i++)
			lockstep_ok &= w[i].lockstep >= LOCKSTEP;
	}
	CHECK(share >= want,
	      "%s: the threads used %.0f %% of the free CPU time (at least 75 %%: %.2f x the wall "
	      "time when idle)",
	      name, 100 * share, want * t);
	for (int i = 0; i < t; i++)
		INFO("%s thread %d: %lu lockstep observations; CPUs seen %#llx", name, i, w[i].lockstep,
		     w[i].cpus_seen);
	CHECK(lockstep_ok, "%s: every thread saw its partner advance in lockstep %d times", name,
	      LOCKSTEP);
	if (!pinned)
		return;

	int pinned_ok = 0, stayed = 0;
	unsigned long long all = 0;
	for (int i = 0; i < t; i++) {
		pinned_ok += w[i].pin_rc == 0;
		stayed += w[i].pin_rc == 0 && !w[i].other_cpu_seen &&
			  w[i].cpus_seen == (w[i].pin_cpu < 64 ? 1ULL << w[i].pin_cpu : 0);
		all |= w[i].cpus_seen;
	}
	CHECK(pinned_ok == t, "pinned: %d of %d threads pinned to their CPU", pinned_ok, t);
	CHECK(stayed == t, "pinned: %d of %d threads only ran on their own CPU", stayed, t);
	unsigned long long want_all = 0;
	for (int i = 0; i < n && cpus[i] < 64; i++)
		want_all |= 1ULL << cpus[i];
	CHECK(all == want_all, "pinned: the threads ran on CPUs %#llx, every CPU (%#llx)", all,
	      want_all);
}

int main(void)
{
	int cpus[SMP_MAX_CPUS];
	int n = smp_cpus(cpus, SMP_MAX_CPUS);

	smp_watchdog(45);
	smp_need_two(n);
	phase(cpus, n, 0);
	phase(cpus, n, 1);
	return check_exit();
}
