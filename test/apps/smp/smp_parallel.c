/*
 * Threads really run at the same time, one per CPU. N threads (N = the
 * CPUs this process may use, at least 2) spin on CPU work for 1 s of wall
 * time, first unpinned and then each pinned to its own CPU:
 *   - the process's CPU time (getrusage RUSAGE_SELF, user + system) is at
 *     least 0.75 N times the wall time (1.5 for N = 2). No speed is
 *     asked for, so a loaded host does not break it: when a virtual CPU
 *     is descheduled, the guest's wall time and CPU time both go on;
 *   - each thread sees its partner's counter move between two of its own
 *     loop iterations in at least 1 % of them (on one CPU that happens
 *     only at context switches, a few hundred times a second);
 *   - pinned, each thread only ever finds itself on its own CPU, and the
 *     threads together cover every CPU.
 * A phase that falls short of the CPU-time ratio is tried again, up to 5
 * times in all, so that a busy host running the test natively does not
 * fail it; every attempt is printed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "smputil.h"

#define SPIN_NS 1000000000LL
#define ATTEMPTS 5
#define MAX_THREADS 64

struct worker {
	_Alignas(64) unsigned long counter; /* written by this thread only */
	_Alignas(64) pthread_t thread;
	struct worker *partner;
	int pin_cpu; /* -1: not pinned */
	int pin_rc;
	long long deadline;
	unsigned long iterations;
	unsigned long partner_moved;
	unsigned long long cpus_seen; /* CPUs 0..63 */
	int other_cpu_seen;
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
		for (int k = 0; k < 64; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		__atomic_store_n(&w->counter, w->counter + 1, __ATOMIC_RELAXED);
		unsigned long seen = __atomic_load_n(&w->partner->counter, __ATOMIC_RELAXED);
		w->partner_moved += seen != last;
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

/* One run of `t` spinning threads; returns the CPU-time/wall-time ratio,
 * or -1 if a thread could not be started. */
static double run(struct worker *w, int t, const int *cpus, int n, int pinned)
{
	int created = 0;
	long long cpu0 = rusage_cpu_ns(), wall0 = smp_now_ns();

	for (int i = 0; i < t; i++) {
		memset(&w[i], 0, sizeof w[i]);
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
	INFO("%s: %d threads, CPU time %lld ms in %lld ms of wall time: ratio %.2f",
	     pinned ? "pinned" : "unpinned", t, cpu / 1000000, wall / 1000000,
	     (double)cpu / (double)wall);
	return (double)cpu / (double)wall;
}

static void phase(const int *cpus, int n, int pinned)
{
	static struct worker w[MAX_THREADS];
	int t = n < 2 ? 2 : n > MAX_THREADS ? MAX_THREADS : n;
	double want = 0.75 * t, ratio = 0;
	const char *name = pinned ? "pinned" : "unpinned";

	for (int attempt = 0; attempt < ATTEMPTS && ratio < want; attempt++)
		ratio = run(w, t, cpus, n, pinned);
	CHECK(ratio >= want, "%s: CPU time is %.2f times the wall time, at least %.2f", name, ratio,
	      want);

	int overlapping = 0;
	for (int i = 0; i < t; i++) {
		INFO("%s thread %d: partner moved in %lu of %lu iterations; CPUs seen %#llx", name, i,
		     w[i].partner_moved, w[i].iterations, w[i].cpus_seen);
		overlapping += w[i].partner_moved * 100 >= w[i].iterations && w[i].iterations > 0;
	}
	CHECK(overlapping == t, "%s: every thread saw its partner progress in >= 1 %% of its iterations",
	      name);
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
