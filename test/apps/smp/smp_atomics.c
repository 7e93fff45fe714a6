/*
 * Memory shared between CPUs stays coherent, and sleeping on one CPU is
 * woken from another. One thread per CPU (at least 2), each pinned:
 *   - 1,000,000 __atomic_fetch_add each on one counter: the total is exact
 *     and every thread saw the values it got increase;
 *   - a mutex built on raw futex calls (FUTEX_WAIT_PRIVATE and
 *     FUTEX_WAKE_PRIVATE; Drepper's three-state lock) guards a plain
 *     counter: 200,000 lock/increment/unlock each (or as many as fit in
 *     15 s, at least 10,000) give an exact total;
 *   - two threads on different CPUs play ping-pong with a pthread mutex
 *     and condition variable, 100,000 rounds or as many as fit in 10 s
 *     (each move wakes the other CPU; a TCG guest manages a few thousand
 *     a second), at least 1,000: strictly in turn, no round lost.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "smputil.h"

/* From <linux/futex.h>, which musl's headers do not carry. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

#define ADDS 1000000L
#define LOCKS 200000L
#define LOCK_NS 15000000000LL
#define MIN_LOCKS 10000L
#define PINGS 100000L
#define PING_NS 10000000000LL
#define MIN_PINGS 1000L
#define MAX_THREADS 64

struct worker {
	pthread_t thread;
	int cpu;
	int pin_rc;
	long bad;   /* fetch_add values that did not increase; turns out of order */
	long waits; /* FUTEX_WAIT calls */
	long locks; /* lock/unlock pairs done */
};

static int ncpus_;
static const int *cpus_;

static void pin_worker(struct worker *w)
{
	w->pin_rc = pin_self(w->cpu);
}

/* Starts `t` workers running `fn`, pinned round-robin, and joins them;
 * returns how many started. */
static int run_workers(struct worker *w, int t, void *(*fn)(void *))
{
	int started = 0;

	for (int i = 0; i < t; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].cpu = cpus_[i % ncpus_];
		if (pthread_create(&w[i].thread, NULL, fn, &w[i]) == 0)
			started++;
		else
			w[i].pin_rc = -2;
	}
	for (int i = 0; i < t; i++)
		if (w[i].pin_rc != -2)
			pthread_join(w[i].thread, NULL);
	return started;
}

static int all_pinned(const struct worker *w, int t)
{
	int ok = 1;
	for (int i = 0; i < t; i++)
		ok &= w[i].pin_rc == 0;
	return ok;
}

/* Part 1: fetch-and-add. */

static long shared_counter;

static void *adder(void *arg)
{
	struct worker *w = arg;
	long prev = -1;

	pin_worker(w);
	for (long i = 0; i < ADDS; i++) {
		long got = __atomic_fetch_add(&shared_counter, 1, __ATOMIC_SEQ_CST);
		w->bad += got <= prev;
		prev = got;
	}
	return NULL;
}

/* Part 2: a futex mutex. 0 unlocked, 1 locked, 2 locked with waiters. */

static int lock_word;
static long plain_counter;
static long long lock_deadline;

static long futex(int *addr, int op, int val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

static void futex_lock(struct worker *w)
{
	int c = 0;
	if (__atomic_compare_exchange_n(&lock_word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	if (c != 2)
		c = __atomic_exchange_n(&lock_word, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		w->waits++;
		futex(&lock_word, FUTEX_WAIT_PRIVATE, 2);
		c = __atomic_exchange_n(&lock_word, 2, __ATOMIC_ACQUIRE);
	}
}

static void futex_unlock(void)
{
	if (__atomic_exchange_n(&lock_word, 0, __ATOMIC_RELEASE) == 2)
		futex(&lock_word, FUTEX_WAKE_PRIVATE, 1);
}

static void *locker(void *arg)
{
	struct worker *w = arg;

	pin_worker(w);
	for (w->locks = 0; w->locks < LOCKS; w->locks++) {
		if (w->locks % 1024 == 0 && smp_now_ns() > lock_deadline)
			break;
		futex_lock(w);
		plain_counter++;
		futex_unlock();
	}
	return NULL;
}

/* Part 3: ping-pong with a mutex and a condition variable. */

static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int pp_turn;   /* whose turn: 0 or 1 */
static int pp_over;   /* set by the player who moves after the deadline */
static long pp_moves; /* moves made, both players */
static int pp_index;
static long long pp_deadline;

static void *player(void *arg)
{
	struct worker *w = arg;
	int me = __atomic_fetch_add(&pp_index, 1, __ATOMIC_RELAXED);

	pin_worker(w);
	pthread_mutex_lock(&pp_lock);
	for (;;) {
		while (pp_turn != me && !pp_over)
			pthread_cond_wait(&pp_cond, &pp_lock);
		if (pp_over)
			break;
		w->bad += pp_moves % 2 != me;
		pp_moves++;
		if (pp_moves == 2 * PINGS || (pp_moves % 64 == 0 && smp_now_ns() > pp_deadline))
			pp_over = 1;
		pp_turn = !me;
		pthread_cond_signal(&pp_cond);
	}
	pthread_mutex_unlock(&pp_lock);
	return NULL;
}

int main(void)
{
	static struct worker w[MAX_THREADS];
	int cpus[SMP_MAX_CPUS];
	int n = smp_cpus(cpus, SMP_MAX_CPUS);
	int t = n < 2 ? 2 : n > MAX_THREADS ? MAX_THREADS : n;
	long bad = 0, waits = 0;
	long long t0;

	smp_watchdog(50);
	smp_need_two(n);
	ncpus_ = n;
	cpus_ = cpus;

	t0 = smp_now_ns();
	CHECK(run_workers(w, t, adder) == t, "started %d adders", t);
	CHECK(all_pinned(w, t), "each adder pinned to its CPU");
	for (int i = 0; i < t; i++)
		bad += w[i].bad;
	CHECK(shared_counter == t * ADDS, "%d x %ld fetch_add: counter %ld", t, ADDS, shared_counter);
	CHECK(bad == 0, "each thread's fetch_add results increased (%ld did not)", bad);
	INFO("fetch_add: %lld ms", (smp_now_ns() - t0) / 1000000);

	t0 = smp_now_ns();
	lock_deadline = t0 + LOCK_NS;
	CHECK(run_workers(w, t, locker) == t, "started %d lockers", t);
	CHECK(all_pinned(w, t), "each locker pinned to its CPU");
	long locks = 0, fewest = LOCKS;
	for (int i = 0; i < t; i++) {
		waits += w[i].waits;
		locks += w[i].locks;
		fewest = w[i].locks < fewest ? w[i].locks : fewest;
	}
	CHECK(fewest >= MIN_LOCKS, "each locker locked at least %ld times (fewest %ld of %ld)", MIN_LOCKS,
	      fewest, LOCKS);
	CHECK(plain_counter == locks, "%ld futex lock/unlock pairs: counter %ld", locks, plain_counter);
	CHECK(lock_word == 0, "the futex lock is free at the end (%d)", lock_word);
	INFO("futex mutex: %lld ms, %ld FUTEX_WAIT calls", (smp_now_ns() - t0) / 1000000, waits);

	t0 = smp_now_ns();
	pp_deadline = t0 + PING_NS;
	CHECK(run_workers(w, 2, player) == 2, "started 2 players");
	CHECK(all_pinned(w, 2), "the players are pinned to CPUs %d and %d", w[0].cpu, w[1].cpu);
	bad = w[0].bad + w[1].bad;
	CHECK(pp_moves >= 2 * MIN_PINGS && pp_moves % 2 == 0,
	      "condvar ping-pong: %ld rounds (at least %ld)", pp_moves / 2, MIN_PINGS);
	CHECK(bad == 0, "the players moved strictly in turn (%ld out of turn)", bad);
	INFO("ping-pong: %lld ms", (smp_now_ns() - t0) / 1000000);
	return check_exit();
}
