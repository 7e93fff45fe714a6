/*
 * fork, exit and wait on every CPU at once. One worker process per CPU
 * (at least 2), pinned there, runs 500 rounds concurrently with the
 * others; each round forks two children that exit with random statuses
 * (in every other round the second child first moves itself to the next
 * CPU, so that its exit wakes its parent from afar) and reaps them with
 * waitpid(-1):
 *   - every child is reaped once, with exactly the status it exited with;
 *   - no child is lost: each worker reaps as many as it forked, and then
 *     waitpid(-1, WNOHANG) fails with ECHILD (no zombie, no stray child);
 *   - the workers themselves exit 0, and nothing is left to reap after.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"
#include "smputil.h"

#define ROUNDS 500
#define PER_ROUND 2
#define MAX_WORKERS 64

struct tally {
	int go; /* in the first tally: set once every worker is forked */
	int pin_rc;
	long forked;
	long reaped;
	long wrong_status; /* reaped with another status than it exited with */
	long unknown;      /* a pid this round did not fork */
	long fork_errors;
	long wait_errors;
	int leftover_errno; /* of the final waitpid(-1, WNOHANG) */
	long leftover_ret;
};

static unsigned next_random(unsigned *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void worker(struct tally *t, int *go, int cpu, int next_cpu, unsigned seed)
{
	t->pin_rc = pin_self(cpu);
	while (!__atomic_load_n(go, __ATOMIC_ACQUIRE))
		sched_yield();
	for (int round = 0; round < ROUNDS; round++) {
		pid_t pids[PER_ROUND];
		int want[PER_ROUND], pending = 0;

		for (int k = 0; k < PER_ROUND; k++) {
			want[k] = (int)(next_random(&seed) & 255);
			pids[k] = fork();
			if (pids[k] == 0) {
				if (k == 1 && round % 2)
					pin_self(next_cpu);
				_exit(want[k]);
			}
			if (pids[k] < 0) {
				t->fork_errors++;
				continue;
			}
			t->forked++;
			pending++;
		}
		while (pending > 0) {
			int status;
			pid_t p = waitpid(-1, &status, 0);
			if (p == -1) {
				if (errno == EINTR)
					continue;
				t->wait_errors++;
				break;
			}
			pending--;
			t->reaped++;
			int k = 0;
			while (k < PER_ROUND && pids[k] != p)
				k++;
			if (k == PER_ROUND) {
				t->unknown++;
				continue;
			}
			pids[k] = 0;
			t->wrong_status += !WIFEXITED(status) || WEXITSTATUS(status) != want[k];
		}
	}
	errno = 0;
	t->leftover_ret = waitpid(-1, NULL, WNOHANG);
	t->leftover_errno = errno;
}

int main(void)
{
	int cpus[SMP_MAX_CPUS];
	int n = smp_cpus(cpus, SMP_MAX_CPUS);
	int w = n < 2 ? 2 : n > MAX_WORKERS ? MAX_WORKERS : n;
	struct tally *t = shared_alloc(MAX_WORKERS * sizeof *t);
	pid_t pids[MAX_WORKERS];
	long long t0 = now_ns();

	smp_watchdog(50);
	smp_need_two(n);
	if (!t) {
		CHECK(0, "shared memory for the tallies");
		return check_exit();
	}
	for (int i = 0; i < w; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			worker(&t[i], &t[0].go, cpus[i % n], cpus[(i + 1) % n], 2654435761u * (unsigned)(i + 1));
			_exit(0);
		}
	}
	__atomic_store_n(&t[0].go, 1, __ATOMIC_RELEASE);
	int exited = 0;
	for (int i = 0; i < w; i++) {
		int status;
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			exited++;
	}
	INFO("%d workers x %d rounds x %d children in %lld ms", w, ROUNDS, PER_ROUND,
	     (now_ns() - t0) / 1000000);
	CHECK(exited == w, "%d of %d workers exited 0", exited, w);

	long forked = 0, reaped = 0, wrong = 0, unknown = 0, errors = 0;
	int pinned = 0, clean = 0;
	for (int i = 0; i < w; i++) {
		INFO("worker %d (CPU %d): forked %ld, reaped %ld, wrong status %ld, unknown %ld, "
		     "fork errors %ld, wait errors %ld",
		     i, cpus[i % n], t[i].forked, t[i].reaped, t[i].wrong_status, t[i].unknown,
		     t[i].fork_errors, t[i].wait_errors);
		pinned += t[i].pin_rc == 0;
		forked += t[i].forked;
		reaped += t[i].reaped;
		wrong += t[i].wrong_status;
		unknown += t[i].unknown;
		errors += t[i].fork_errors + t[i].wait_errors;
		clean += t[i].leftover_ret == -1 && t[i].leftover_errno == ECHILD;
	}
	CHECK(pinned == w, "every worker pinned to its CPU");
	CHECK(forked == (long)w * ROUNDS * PER_ROUND, "%ld children forked", forked);
	CHECK(errors == 0, "no fork or wait failed (%ld)", errors);
	CHECK(reaped == forked, "%ld children reaped: none lost", reaped);
	CHECK(unknown == 0, "waitpid(-1) only returned children of the round (%ld others)", unknown);
	CHECK(wrong == 0, "every status was the one exited with (%ld wrong)", wrong);
	CHECK(clean == w, "then waitpid(-1, WNOHANG) gave ECHILD in %d of %d workers", clean, w);
	CHECK_ERRNO(waitpid(-1, NULL, WNOHANG), ECHILD, "nothing left to reap at the top");
	return check_exit();
}
