/*
 * fork takes a consistent copy of memory that another CPU keeps writing.
 * A writer thread on CPU 1 fills a 256-page private anonymous buffer with
 * generation numbers, over and over: pass g stores g into every word,
 * page 0 to page 255, word by word, and then stores g into `completed`.
 * Meanwhile the main thread, on CPU 0, forks 200 times.
 *
 * What Linux guarantees: fork write-protects the parent's pages and
 * flushes the other CPUs' TLBs; until the flush the writer may still
 * store through its old translations, into the frames the child now
 * shares, and afterwards its first store faults and waits for fork to
 * finish. Either way the stores that reach the child are a prefix of the
 * writer's stores, in order (x86 makes stores visible in program order).
 * A page may be torn (the writer was in the middle of it), so each child
 * checks only what a prefix implies:
 *   - read in the writer's order, the words never increase, and they are
 *     all `completed` or `completed + 1` (the pass in progress);
 *   - `completed` is at least what the parent read just before forking
 *     (the copy is not older than the fork);
 *   - the copy does not change afterwards: read again over 2 ms while the
 *     writer goes on, it is identical (no store leaks through a stale
 *     translation into a page the child owns).
 * The writer reads each pass back when it completes it: it must find its
 * own stores (none lost to a copy made before its CPU stopped writing to
 * the old frame), and after the forks the parent's buffer holds the last
 * pass everywhere.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"
#include "smputil.h"

#define PAGE 4096
#define NPAGES 256
#define WORDS (NPAGES * PAGE / sizeof(unsigned long))
#define FORKS 200
#define STABLE_NS 2000000LL

/* Child exit statuses. */
enum {
	SNAP_WHOLE = 0,     /* every word is `completed` */
	SNAP_MID_PASS = 1,  /* a pass was in progress: a prefix of it is there */
	SNAP_INCREASES = 2, /* a later word is newer than an earlier one */
	SNAP_RANGE = 3,     /* a word outside completed..completed+1 */
	SNAP_OLD = 4,       /* completed is older than before the fork */
	SNAP_CHANGED = 5,   /* the copy changed after fork returned */
};

static volatile unsigned long *buf;
static unsigned long completed;   /* the last pass written in full */
static int stop;
static long lost_stores;          /* words a pass did not find on reading back */
static int writer_pin_rc;

static void *writer(void *arg)
{
	writer_pin_rc = pin_self(*(int *)arg);
	for (unsigned long g = 1; !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); g++) {
		for (size_t i = 0; i < WORDS; i++)
			buf[i] = g;
		__atomic_store_n(&completed, g, __ATOMIC_RELEASE);
		for (size_t i = 0; i < WORDS; i++)
			lost_stores += buf[i] != g;
	}
	return NULL;
}

static unsigned long checksum(void)
{
	unsigned long h = 1469598103934665603UL;
	for (size_t i = 0; i < WORDS; i++)
		h = (h ^ buf[i]) * 1099511628211UL;
	return h;
}

/* In the child: what its copy looks like (see the statuses above). */
static int check_snapshot(unsigned long before)
{
	unsigned long done = __atomic_load_n(&completed, __ATOMIC_ACQUIRE);
	unsigned long prev = buf[0];
	int status = SNAP_WHOLE;

	if (done < before)
		return SNAP_OLD;
	for (size_t i = 0; i < WORDS; i++) {
		unsigned long v = buf[i];
		if (v > prev)
			return SNAP_INCREASES;
		if (v != done && v != done + 1)
			return SNAP_RANGE;
		if (v != done)
			status = SNAP_MID_PASS;
		prev = v;
	}
	unsigned long sum = checksum();
	long long end = smp_now_ns() + STABLE_NS;
	do {
		if (checksum() != sum)
			return SNAP_CHANGED;
	} while (smp_now_ns() < end);
	return status;
}

int main(void)
{
	int cpus[SMP_MAX_CPUS];
	int n = smp_cpus(cpus, SMP_MAX_CPUS);
	int w_cpu = n >= 2 ? cpus[1] : cpus[0];
	int counts[6] = { 0 }, other = 0, forked = 0;
	pthread_t w;

	smp_watchdog(50);
	smp_need_two(n);
	buf = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		CHECK(0, "mmap %d pages", NPAGES);
		return check_exit();
	}
	CHECK(pin_self(cpus[0]) == 0, "the forking thread pinned to CPU %d", cpus[0]);
	CHECK(pthread_create(&w, NULL, writer, &w_cpu) == 0, "started the writer");
	while (__atomic_load_n(&completed, __ATOMIC_ACQUIRE) < 2)
		sched_yield();

	unsigned long first = __atomic_load_n(&completed, __ATOMIC_ACQUIRE);
	long long t0 = now_ns();
	for (int i = 0; i < FORKS; i++) {
		unsigned long before = __atomic_load_n(&completed, __ATOMIC_ACQUIRE);
		pid_t pid = fork();
		if (pid == 0)
			_exit(check_snapshot(before));
		if (pid < 0)
			continue;
		forked++;
		int status;
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) <= 5)
			counts[WEXITSTATUS(status)]++;
		else
			other++;
	}
	unsigned long last_seen = __atomic_load_n(&completed, __ATOMIC_ACQUIRE);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(w, NULL);

	INFO("%d forks in %lld ms; the writer went from pass %lu to %lu", forked,
	     (now_ns() - t0) / 1000000, first, completed);
	INFO("children: %d whole passes, %d mid-pass, %d increasing, %d out of range, %d older, "
	     "%d changed, %d other",
	     counts[SNAP_WHOLE], counts[SNAP_MID_PASS], counts[SNAP_INCREASES], counts[SNAP_RANGE],
	     counts[SNAP_OLD], counts[SNAP_CHANGED], other);
	CHECK(writer_pin_rc == 0, "the writer was pinned to CPU %d", w_cpu);
	CHECK(forked == FORKS, "forked %d times", forked);
	CHECK(last_seen > first, "the writer made progress during the forks (%lu passes)",
	      last_seen - first);
	CHECK(counts[SNAP_INCREASES] == 0, "no copy had a later word newer than an earlier one (%d did)",
	      counts[SNAP_INCREASES]);
	CHECK(counts[SNAP_RANGE] == 0,
	      "every word of every copy was its last completed pass or the next (%d copies not)",
	      counts[SNAP_RANGE]);
	CHECK(counts[SNAP_OLD] == 0, "no copy was older than the fork (%d were)", counts[SNAP_OLD]);
	CHECK(counts[SNAP_CHANGED] == 0, "no copy changed after fork returned (%d did)",
	      counts[SNAP_CHANGED]);
	CHECK(other == 0, "every child exited normally (%d did not)", other);
	CHECK(lost_stores == 0, "the writer found all its stores on reading back (%ld lost)",
	      lost_stores);
	int whole = 1;
	for (size_t i = 0; i < WORDS; i++)
		whole &= buf[i] == completed;
	CHECK(whole, "the parent's buffer holds pass %lu everywhere", completed);
	return check_exit();
}
