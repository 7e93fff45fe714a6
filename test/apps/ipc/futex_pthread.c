/*
 * Futexes through the C library: what pthreads build on shared, PI and
 * robust futexes. Built with musl and with glibc (futex_pthread-glibc),
 * whose mutexes use the kernel differently (glibc lists every robust
 * mutex for the kernel; musl walks private ones itself at thread exit and
 * registers its list with the kernel only for process-shared ones).
 *
 *  - PTHREAD_PRIO_INHERIT mutexes: 4 threads add to a counter exactly N
 *    times each; trylock gives EBUSY and timedlock ETIMEDOUT while another
 *    thread holds it; an error-checking one relocked gives EDEADLK, a
 *    normal one relocked with a timeout times out (the kernel refused the
 *    lock with EDEADLK); unlocking one held by another thread gives EPERM.
 *  - Robust mutexes, plain and PI: the owner thread exits holding it, a
 *    child process holding one in MAP_SHARED memory _exit()s or is
 *    SIGKILLed, with and without a waiter already blocked on it: the next
 *    locker gets EOWNERDEAD, pthread_mutex_consistent() makes it usable
 *    again; unlocked without being made consistent, the next lock gives
 *    ENOTRECOVERABLE.
 *  - A robust mutex whose owner execs: the child locks one, then execs
 *    this program with "exec-image R H" (the new image writes to fd R,
 *    waits for EOF on fd H and exits 0); the parent gets EOWNERDEAD while
 *    the child still runs the new image, so it was the exec that
 *    released it.
 *  - Process-shared mutex, condition variable and barrier in MAP_SHARED
 *    memory, between the parent and 3 forked children: a counter with
 *    exact totals, a token passed round in a fixed order, barrier rounds.
 *
 * Every lock has a timeout (pthread_mutex_timedlock, pthread_cond_timedwait)
 * and children and barrier waits run under alarm(), so a kernel bug fails
 * the test instead of hanging it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define LOCK_TIMEOUT_MS 20000 /* generous: the guest runs under emulation */
#define NTHREADS 4
#define INCREMENTS 2000
#define NPROCS 4 /* the parent and 3 children */
#define PROC_INCREMENTS 500
#define ROUNDS 30
#define BARRIER_ROUNDS 20
#define CHILD_ALARM 60

/* pthread functions return an error number: check it like errno. */
#define CHECK_RC(expr, want, ...)                                       \
	do {                                                            \
		int rc_ = (expr);                                       \
		if (rc_ != (want))                                      \
			fprintf(stdout, "  (returned %d %s)\n", rc_, strerror(rc_)); \
		check_report_(rc_ == (want), rc_, __VA_ARGS__);         \
	} while (0)

static struct timespec deadline_ms(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int tlock_ms(pthread_mutex_t *m, long ms)
{
	struct timespec ts = deadline_ms(ms);

	return pthread_mutex_timedlock(m, &ts);
}

static int tlock(pthread_mutex_t *m)
{
	return tlock_ms(m, LOCK_TIMEOUT_MS);
}

enum { PLAIN = 0, PI = 1, ROBUST = 2, PSHARED = 4, ERRCHECK = 8 };

static int init_mutex(pthread_mutex_t *m, int flags)
{
	pthread_mutexattr_t a;
	int r;

	pthread_mutexattr_init(&a);
	if ((r = pthread_mutexattr_settype(&a, flags & ERRCHECK ? PTHREAD_MUTEX_ERRORCHECK
							       : PTHREAD_MUTEX_NORMAL)))
		goto out;
	if ((flags & PI) && (r = pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT)))
		goto out;
	if ((flags & ROBUST) && (r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)))
		goto out;
	if ((flags & PSHARED) && (r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)))
		goto out;
	r = pthread_mutex_init(m, &a);
out:
	pthread_mutexattr_destroy(&a);
	return r;
}

static const char *kind_name(int flags)
{
	return flags & PI ? "robust PI" : "robust";
}

/* Waits up to ms for *flag to become nonzero. */
static int wait_flag(atomic_int *flag, long ms)
{
	long long end = now_ns() + ms * 1000000LL;

	while (!atomic_load(flag)) {
		if (now_ns() > end)
			return 0;
		sleep_ms(2);
	}
	return 1;
}

static int exit_status_ok(pid_t pid, int *status)
{
	if (waitpid(pid, status, 0) != pid)
		return 0;
	return WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

/* ------------------------------------------------------------- PI mutexes */

static pthread_mutex_t pi_mutex;
static volatile long pi_counter;
static long pi_counts[NTHREADS];

static void *pi_adder(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct timespec end = deadline_ms(LOCK_TIMEOUT_MS * 3);

	for (int i = 0; i < INCREMENTS; i++) {
		if (pthread_mutex_timedlock(&pi_mutex, &end) != 0)
			return (void *)1;
		long v = pi_counter; /* a lost update shows a broken lock */
		if (i % 64 == 0)
			sched_yield();
		pi_counter = v + 1;
		pi_counts[id]++;
		if (pthread_mutex_unlock(&pi_mutex) != 0)
			return (void *)2;
	}
	return NULL;
}

/* An owner thread: locks, says so, waits to be released, exits holding it. */
struct holder {
	pthread_mutex_t *m;
	atomic_int locked;
	atomic_int release;
	int rc;
};

static void *hold_and_exit(void *arg)
{
	struct holder *h = arg;

	h->rc = tlock(h->m);
	atomic_store(&h->locked, 1);
	wait_flag(&h->release, LOCK_TIMEOUT_MS);
	return NULL;
}

/* A waiter thread: locks; after EOWNERDEAD makes it consistent; unlocks. */
struct waiter {
	pthread_mutex_t *m;
	atomic_int done;
	int rc, consistent_rc, unlock_rc;
};

static void *wait_and_recover(void *arg)
{
	struct waiter *w = arg;

	w->consistent_rc = w->unlock_rc = -1;
	w->rc = tlock(w->m);
	if (w->rc == EOWNERDEAD)
		w->consistent_rc = pthread_mutex_consistent(w->m);
	if (w->rc == 0 || w->rc == EOWNERDEAD)
		w->unlock_rc = pthread_mutex_unlock(w->m);
	atomic_store(&w->done, 1);
	return NULL;
}

/* Checks a waiter's outcome after its lock's owner died. */
static void check_waiter(struct waiter *w, const char *name, const char *what)
{
	CHECK_RC(w->rc, EOWNERDEAD, "%s (waiter blocked): %s -> EOWNERDEAD", name, what);
	if (w->rc == EOWNERDEAD) {
		CHECK_RC(w->consistent_rc, 0, "%s: waiter makes it consistent", name);
		CHECK_RC(w->unlock_rc, 0, "%s: waiter unlocks", name);
	}
}

struct contender {
	pthread_mutex_t *m;
	int errcheck;
	int try_rc, short_rc, unlock_rc, long_rc;
	atomic_int tried;
};

static void *contend(void *arg)
{
	struct contender *c = arg;

	c->try_rc = pthread_mutex_trylock(c->m);
	c->short_rc = tlock_ms(c->m, 100);
	/* Undefined for a normal mutex: only asked of an error-checking one. */
	if (c->errcheck)
		c->unlock_rc = pthread_mutex_unlock(c->m);
	atomic_store(&c->tried, 1);
	c->long_rc = tlock(c->m);
	if (c->long_rc == 0)
		pthread_mutex_unlock(c->m);
	return NULL;
}

static void test_pi(void)
{
	pthread_t t[NTHREADS];
	int created = 0, failures = 0;
	pthread_mutex_t m;

	CHECK_RC(init_mutex(&pi_mutex, PI), 0, "PI mutex: init with PTHREAD_PRIO_INHERIT");
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, pi_adder, (void *)(intptr_t)i) == 0)
			created++;
	for (int i = 0; i < created; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		if (ret)
			failures++;
	}
	CHECK(created == NTHREADS && failures == 0,
	      "PI mutex: %d threads locked and unlocked %d times each (%d failed)",
	      created, INCREMENTS, failures);
	int counts_ok = 1;
	for (int i = 0; i < NTHREADS; i++)
		counts_ok &= pi_counts[i] == INCREMENTS;
	CHECK(pi_counter == (long)NTHREADS * INCREMENTS && counts_ok,
	      "PI mutex: counter %ld == %d, each thread counted %d", pi_counter,
	      NTHREADS * INCREMENTS, INCREMENTS);
	CHECK_RC(pthread_mutex_destroy(&pi_mutex), 0, "PI mutex: destroy after use");

	/* Held by this thread: another's trylock and timedlock fail, its
	 * unlock is refused, and its lock succeeds once released. */
	for (int ec = 0; ec <= 1; ec++) {
		const char *name = ec ? "errorcheck PI mutex" : "PI mutex";
		struct contender c = { .m = &m, .errcheck = ec };
		pthread_t th;

		init_mutex(&m, PI | (ec ? ERRCHECK : 0));
		CHECK_RC(tlock(&m), 0, "%s: lock", name);
		if (pthread_create(&th, NULL, contend, &c) != 0) {
			CHECK(0, "%s: pthread_create", name);
			continue;
		}
		int tried = wait_flag(&c.tried, LOCK_TIMEOUT_MS);
		sleep_ms(50);
		CHECK_RC(pthread_mutex_unlock(&m), 0, "%s: owner unlocks", name);
		pthread_join(th, NULL);
		CHECK(tried, "%s: other thread tried", name);
		CHECK_RC(c.try_rc, EBUSY, "%s: trylock by another thread -> EBUSY", name);
		CHECK_RC(c.short_rc, ETIMEDOUT, "%s: timedlock (100 ms) by another thread -> ETIMEDOUT", name);
		if (ec)
			CHECK_RC(c.unlock_rc, EPERM, "%s: unlock by a non-owner -> EPERM", name);
		CHECK_RC(c.long_rc, 0, "%s: the other thread gets it once unlocked", name);
		CHECK_RC(pthread_mutex_trylock(&m), 0, "%s: free again: trylock", name);
		CHECK_RC(pthread_mutex_unlock(&m), 0, "%s: unlock", name);
		pthread_mutex_destroy(&m);
	}

	/* Relocking: EDEADLK from an error-checking mutex; a normal one
	 * (the kernel refuses with EDEADLK) waits out its timeout. */
	init_mutex(&m, PI | ERRCHECK);
	CHECK_RC(tlock(&m), 0, "errorcheck PI mutex: lock");
	CHECK_RC(tlock(&m), EDEADLK, "errorcheck PI mutex: relock -> EDEADLK");
	CHECK_RC(pthread_mutex_unlock(&m), 0, "errorcheck PI mutex: unlock");
	CHECK_RC(pthread_mutex_unlock(&m), EPERM, "errorcheck PI mutex: unlock when unlocked -> EPERM");
	pthread_mutex_destroy(&m);

	init_mutex(&m, PI);
	CHECK_RC(tlock(&m), 0, "PI mutex: lock");
	long long t0 = now_ns();
	CHECK_RC(tlock_ms(&m, 200), ETIMEDOUT, "PI mutex: relock with a 200 ms timeout -> ETIMEDOUT");
	INFO("relock gave up after %lld ms", (now_ns() - t0) / 1000000);
	CHECK_RC(pthread_mutex_unlock(&m), 0, "PI mutex: unlock after the failed relock");
	CHECK_RC(tlock(&m), 0, "PI mutex: lock again");
	CHECK_RC(pthread_mutex_unlock(&m), 0, "PI mutex: unlock");
	pthread_mutex_destroy(&m);
}

/* ------------------------------------------------------- robust, threads */

/* The owner thread exits holding the mutex, with or without a waiter. */
static void robust_thread_exit(int flags, int with_waiter)
{
	const char *name = kind_name(flags);
	pthread_mutex_t m;
	struct holder owner = { .m = &m };
	struct waiter waiter = { .m = &m };
	pthread_t to, tw;

	CHECK_RC(init_mutex(&m, flags), 0, "%s mutex: init", name);
	if (pthread_create(&to, NULL, hold_and_exit, &owner) != 0) {
		CHECK(0, "pthread_create");
		return;
	}
	wait_flag(&owner.locked, LOCK_TIMEOUT_MS);
	CHECK_RC(owner.rc, 0, "%s: owner thread locks", name);
	if (with_waiter) {
		if (pthread_create(&tw, NULL, wait_and_recover, &waiter) != 0) {
			CHECK(0, "pthread_create");
			with_waiter = 0;
		} else {
			sleep_ms(200); /* let it block on the lock */
			CHECK(!atomic_load(&waiter.done), "%s: waiter blocks while the owner lives", name);
		}
	}
	atomic_store(&owner.release, 1);
	pthread_join(to, NULL); /* the owner returned holding the mutex */
	if (with_waiter) {
		pthread_join(tw, NULL);
		check_waiter(&waiter, name, "owner thread exited holding it");
	} else {
		int rc = tlock(&m);
		CHECK_RC(rc, EOWNERDEAD, "%s (no waiter): owner thread exited holding it -> EOWNERDEAD", name);
		if (rc == EOWNERDEAD) {
			CHECK_RC(pthread_mutex_consistent(&m), 0, "%s: pthread_mutex_consistent", name);
			CHECK_RC(pthread_mutex_unlock(&m), 0, "%s: unlock", name);
		}
	}
	CHECK_RC(tlock(&m), 0, "%s: usable again: lock", name);
	CHECK_RC(pthread_mutex_unlock(&m), 0, "%s: unlock", name);
	pthread_mutex_destroy(&m);
}

/* Not made consistent: unlocking leaves the mutex unrecoverable. */
static void robust_not_recoverable(pthread_mutex_t *m, int flags, const char *where)
{
	const char *name = kind_name(flags);
	int rc = tlock(m);

	CHECK_RC(rc, EOWNERDEAD, "%s %s: owner gone -> EOWNERDEAD", name, where);
	if (rc != EOWNERDEAD)
		return;
	CHECK_RC(pthread_mutex_unlock(m), 0, "%s %s: unlock without making it consistent", name, where);
	CHECK_RC(tlock(m), ENOTRECOVERABLE, "%s %s: next lock -> ENOTRECOVERABLE", name, where);
	CHECK_RC(pthread_mutex_trylock(m), ENOTRECOVERABLE, "%s %s: trylock -> ENOTRECOVERABLE", name, where);
}

static void robust_thread_unrecoverable(int flags)
{
	pthread_mutex_t m;
	struct holder owner = { .m = &m };
	pthread_t to;

	init_mutex(&m, flags);
	if (pthread_create(&to, NULL, hold_and_exit, &owner) != 0) {
		CHECK(0, "pthread_create");
		return;
	}
	atomic_store(&owner.release, 1);
	pthread_join(to, NULL);
	robust_not_recoverable(&m, flags, "(thread)");
	pthread_mutex_destroy(&m);
}

/* ----------------------------------------------------- robust, processes */

struct shared {
	pthread_mutex_t m;
	pthread_mutex_t pm;
	pthread_cond_t cond;
	pthread_barrier_t barrier;
	long counter;
	long counts[NPROCS];
	int turn;
	long handoffs;
	int order[NPROCS * ROUNDS];
	atomic_long arrivals;
	atomic_long serial;
	atomic_int bad;
};

static struct shared *sh;

enum death { DIE_EXIT, DIE_KILL, DIE_EXEC };

static const char *death_name(enum death d)
{
	return d == DIE_EXIT ? "_exit()s" : d == DIE_KILL ? "is SIGKILLed" : "execs";
}

static const char *self_path;

/*
 * A child locks sh->m and dies holding it as `death` says. With a waiter,
 * a thread of the parent is already blocked in pthread_mutex_timedlock
 * when it does; without one, the parent locks once the death is over.
 * Not to recover: the parent unlocks without making it consistent.
 */
static void robust_child_death(int flags, enum death death, int with_waiter, int recover)
{
	const char *name = kind_name(flags);
	int ready[2], hold[2];
	struct waiter waiter = { .m = &sh->m };
	pthread_t tw;
	int status = 0, rc = -1;
	pid_t pid;
	char c;

	CHECK_RC(init_mutex(&sh->m, flags | PSHARED), 0, "%s shared mutex: init", name);
	if (pipe(ready) || pipe(hold)) {
		CHECK(0, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		alarm(CHILD_ALARM);
		close(ready[0]);
		close(hold[1]);
		if (tlock(&sh->m) != 0)
			_exit(3);
		if (write(ready[1], "L", 1) != 1)
			_exit(4);
		if (death == DIE_KILL) {
			for (;;)
				pause();
		}
		if (read(hold[0], &c, 1) != 1)
			_exit(5);
		if (death == DIE_EXEC) {
			char rfd[16], hfd[16];
			snprintf(rfd, sizeof rfd, "%d", ready[1]);
			snprintf(hfd, sizeof hfd, "%d", hold[0]);
			execl(self_path, self_path, "exec-image", rfd, hfd, (char *)NULL);
			_exit(6);
		}
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	CHECK(pid > 0 && read(ready[0], &c, 1) == 1, "%s: child %d locked the shared mutex", name, (int)pid);

	if (with_waiter) {
		if (pthread_create(&tw, NULL, wait_and_recover, &waiter) != 0) {
			CHECK(0, "pthread_create");
			with_waiter = 0;
		} else {
			sleep_ms(200); /* let it block on the lock */
			CHECK(!atomic_load(&waiter.done), "%s: parent's thread blocks while the child holds it", name);
		}
	}

	/* The death. */
	if (death == DIE_KILL)
		kill(pid, SIGKILL);
	else if (write(hold[1], "D", 1) != 1)
		CHECK(0, "write to the child");
	if (death == DIE_EXEC) {
		/* The new image says it runs, then waits for EOF. */
		CHECK(read(ready[0], &c, 1) == 1 && c == 'R', "%s: child exec'd", name);
	} else {
		waitpid(pid, &status, 0);
		if (death == DIE_KILL)
			CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			      "%s: child killed by SIGKILL (status %#x)", name, status);
		else
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "%s: child exited 0 (status %#x)", name, status);
	}

	if (with_waiter) {
		pthread_join(tw, NULL);
		check_waiter(&waiter, name, death == DIE_EXEC ? "child holding it execs"
			     : death == DIE_KILL ? "child holding it is SIGKILLed"
						 : "child holding it _exit()s");
	} else if (recover) {
		rc = tlock(&sh->m);
		CHECK_RC(rc, EOWNERDEAD, "%s (no waiter): child holding it %s -> EOWNERDEAD",
			 name, death_name(death));
		if (rc == EOWNERDEAD) {
			CHECK_RC(pthread_mutex_consistent(&sh->m), 0, "%s: pthread_mutex_consistent", name);
			CHECK_RC(pthread_mutex_unlock(&sh->m), 0, "%s: unlock", name);
		}
	} else {
		robust_not_recoverable(&sh->m, flags, "(process)");
	}

	if (death == DIE_EXEC) {
		/* Released by the exec itself, not by an exit. */
		CHECK(waitpid(pid, &status, WNOHANG) == 0,
		      "%s: the child still runs its new image after the mutex was released", name);
		close(hold[1]);
		hold[1] = -1;
		CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: the new image exited 0 (status %#x)", name, status);
	}
	close(ready[0]);
	if (hold[1] >= 0)
		close(hold[1]);

	if (recover) {
		CHECK_RC(tlock(&sh->m), 0, "%s: usable again: lock", name);
		CHECK_RC(pthread_mutex_unlock(&sh->m), 0, "%s: unlock", name);
	}
	pthread_mutex_destroy(&sh->m);
}

/* The image a DIE_EXEC child execs: says it runs on ready_fd, waits for
 * EOF on hold_fd, exits 0. */
static int exec_image(const char *ready_fd, const char *hold_fd)
{
	char c;

	alarm(CHILD_ALARM);
	if (write(atoi(ready_fd), "R", 1) != 1)
		return 2;
	while (read(atoi(hold_fd), &c, 1) > 0)
		;
	return 0;
}

/* ------------------------------------------ process-shared mutex, cond */

static int proc_participant(int me)
{
	struct timespec ts;
	int rc;

	for (int i = 0; i < PROC_INCREMENTS; i++) {
		if (tlock(&sh->pm) != 0)
			return 10;
		long v = sh->counter;
		if (i % 64 == 0)
			sched_yield();
		sh->counter = v + 1;
		sh->counts[me]++;
		pthread_mutex_unlock(&sh->pm);
	}
	for (int r = 0; r < ROUNDS; r++) {
		if (tlock(&sh->pm) != 0)
			return 11;
		ts = deadline_ms(LOCK_TIMEOUT_MS);
		while (sh->turn != me) {
			rc = pthread_cond_timedwait(&sh->cond, &sh->pm, &ts);
			if (rc != 0 && sh->turn != me) {
				pthread_mutex_unlock(&sh->pm);
				return 12;
			}
		}
		sh->order[sh->handoffs++] = me;
		sh->turn = (me + 1) % NPROCS;
		pthread_cond_broadcast(&sh->cond);
		pthread_mutex_unlock(&sh->pm);
	}
	for (int r = 0; r < BARRIER_ROUNDS; r++) {
		atomic_fetch_add(&sh->arrivals, 1);
		rc = pthread_barrier_wait(&sh->barrier);
		if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
			atomic_fetch_add(&sh->serial, 1);
		else if (rc != 0)
			return 13;
		if (atomic_load(&sh->arrivals) != (long)NPROCS * (r + 1))
			atomic_fetch_add(&sh->bad, 1);
		rc = pthread_barrier_wait(&sh->barrier);
		if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
			atomic_fetch_add(&sh->serial, 1);
		else if (rc != 0)
			return 14;
	}
	return 0;
}

static void test_process_shared(void)
{
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	pthread_barrierattr_t ba;
	pid_t pids[NPROCS - 1];
	int forked = 0, children_ok = 0, status;

	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	CHECK_RC(pthread_mutex_init(&sh->pm, &ma), 0, "shared mutex: init");
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	CHECK_RC(pthread_cond_init(&sh->cond, &ca), 0, "shared condition variable: init");
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	CHECK_RC(pthread_barrier_init(&sh->barrier, &ba, NPROCS), 0, "shared barrier: init");

	for (int i = 1; i < NPROCS; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(CHILD_ALARM);
			_exit(proc_participant(i));
		}
		if (pid > 0)
			pids[forked++] = pid;
	}
	alarm(CHILD_ALARM); /* the barrier has no timeout */
	int mine = proc_participant(0);
	alarm(0);
	for (int i = 0; i < forked; i++) {
		if (exit_status_ok(pids[i], &status))
			children_ok++;
		else
			INFO("child %d: status %#x", (int)pids[i], status);
	}
	CHECK(forked == NPROCS - 1 && children_ok == forked && mine == 0,
	      "%d forked children and the parent finished (parent %d)", children_ok, mine);

	int counts_ok = 1;
	for (int i = 0; i < NPROCS; i++)
		counts_ok &= sh->counts[i] == PROC_INCREMENTS;
	CHECK(sh->counter == (long)NPROCS * PROC_INCREMENTS && counts_ok,
	      "shared mutex: counter %ld == %d, each process counted %d", sh->counter,
	      NPROCS * PROC_INCREMENTS, PROC_INCREMENTS);
	int order_ok = sh->handoffs == (long)NPROCS * ROUNDS;
	for (int i = 0; order_ok && i < NPROCS * ROUNDS; i++)
		order_ok = sh->order[i] == i % NPROCS;
	CHECK(order_ok, "shared condition variable: %ld turns taken in order 0,1,2,3,... (%d expected)",
	      sh->handoffs, NPROCS * ROUNDS);
	CHECK(atomic_load(&sh->arrivals) == (long)NPROCS * BARRIER_ROUNDS && atomic_load(&sh->bad) == 0,
	      "shared barrier: %d rounds, every process saw all arrivals (%ld, %d mismatches)",
	      BARRIER_ROUNDS, (long)atomic_load(&sh->arrivals), atomic_load(&sh->bad));
	CHECK(atomic_load(&sh->serial) == 2 * BARRIER_ROUNDS,
	      "shared barrier: one PTHREAD_BARRIER_SERIAL_THREAD per wait (%ld of %d)",
	      (long)atomic_load(&sh->serial), 2 * BARRIER_ROUNDS);

	pthread_barrier_destroy(&sh->barrier);
	pthread_cond_destroy(&sh->cond);
	pthread_mutex_destroy(&sh->pm);
	pthread_barrierattr_destroy(&ba);
	pthread_condattr_destroy(&ca);
	pthread_mutexattr_destroy(&ma);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "exec-image") == 0)
		return exec_image(argv[2], argv[3]);
	self_path = argv[0];
	signal(SIGPIPE, SIG_IGN);

	sh = shared_alloc(sizeof(*sh));
	if (!sh) {
		CHECK(0, "mmap MAP_SHARED");
		return check_exit();
	}

	test_pi();

	for (int flags = ROBUST; flags <= (ROBUST | PI); flags += PI) {
		robust_thread_exit(flags, 0);
		robust_thread_exit(flags, 1);
		robust_thread_unrecoverable(flags);
		robust_child_death(flags, DIE_EXIT, 0, 1);
		robust_child_death(flags, DIE_EXIT, 1, 1);
		robust_child_death(flags, DIE_KILL, 0, 1);
		robust_child_death(flags, DIE_KILL, 1, 1);
		robust_child_death(flags, DIE_EXEC, 0, 1);
		robust_child_death(flags, DIE_EXEC, 1, 1);
		robust_child_death(flags, DIE_EXIT, 0, 0);
	}

	test_process_shared();
	return check_exit();
}
