/*
 * A change to the address space made on one CPU reaches the TLB of
 * another at once (a TLB shootdown). Thread B, pinned to CPU 1, reads
 * 4 pages in a tight loop; thread A, on CPU 0, waits until B has read them
 * many times (so that CPU 1 caches their translations), then
 *   - mprotect(PROT_NONE): B gets SIGSEGV (SEGV_ACCERR) in the region;
 *   - munmap: B gets SIGSEGV (SEGV_MAPERR);
 *   - madvise(MADV_DONTNEED): B reads zeros, not the old data;
 *   - mremap to another address: B gets SIGSEGV (SEGV_MAPERR) at the old
 *     one, and A finds the data at the new one;
 * 50 rounds each. When the call has returned, A says so in a flag; B reads
 * that flag before each pass over the pages, and a pass that starts after
 * it and still reads the old data is a stale translation: an error, with
 * no timing involved. A round in which B has no answer within 2 s fails
 * too. B's SIGSEGV handler records the fault and siglongjmps.
 * Before each kind, A makes the same call on pages it has just read
 * itself and reads them again, so that a kernel that gets the call wrong
 * even on one CPU is told apart from one that misses the other CPU.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "smputil.h"

#define PAGE 4096
#define NPAGES 4
#define SIZE (NPAGES * PAGE)
#define ROUNDS 50
#define WARM_ITERATIONS 1000
#define ANSWER_NS 2000000000LL

enum kind { K_MPROTECT, K_MUNMAP, K_DONTNEED, K_MREMAP, NKINDS };
static const char *const kind_names[NKINDS] = { "mprotect(PROT_NONE)", "munmap",
						"madvise(MADV_DONTNEED)", "mremap" };

/* What B found in a round. */
enum answer { A_NONE, A_FAULT, A_ZEROS, A_STALE, A_GAVE_UP };

/* Written by A before it starts a round; read by B after it sees the
 * round number. */
static volatile unsigned long *region;
static enum kind kind;
static unsigned long pattern;

/* The protocol: A sets `round` to start one, `done` once its call has
 * returned, `give_up` if B did not answer in time; B counts its passes in
 * `passes` and answers in `answer` (with `answered` = the round). */
static int round_no, done, give_up, answered, stop;
static long passes;
static enum answer answer;
static int b_pin_rc;

static sigjmp_buf b_jump, a_jump;
static __thread sigjmp_buf *jump_to; /* the faulting thread's */
static void *fault_addr;
static int fault_code;
static long long fault_ns;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	fault_addr = si->si_addr;
	fault_code = si->si_code;
	fault_ns = smp_now_ns();
	siglongjmp(*jump_to, 1);
}

static void b_answer(int r, enum answer a)
{
	answer = a;
	__atomic_store_n(&answered, r, __ATOMIC_RELEASE);
}

/* One pass over the pages: true if every word read was zero, in *old
 * whether any held the old data. */
static int read_pages(volatile unsigned long *p, int *old)
{
	int zeros = 1;
	*old = 0;
	for (int i = 0; i < NPAGES; i++) {
		unsigned long v = p[i * (PAGE / sizeof(long)) + (i * 61) % (PAGE / sizeof(long))];
		zeros &= v == 0;
		*old |= v == pattern;
	}
	return zeros;
}

static void *reader(void *arg)
{
	int cpu = *(int *)arg;
	static int seen; /* static: kept across siglongjmp */

	b_pin_rc = pin_self(cpu);
	jump_to = &b_jump;
	for (;;) {
		int r;
		while ((r = __atomic_load_n(&round_no, __ATOMIC_ACQUIRE)) == seen) {
			if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
				return NULL;
			sched_yield();
		}
		seen = r;
		volatile unsigned long *p = region;
		enum kind k = kind;
		if (sigsetjmp(b_jump, 1)) {
			b_answer(r, A_FAULT);
			continue;
		}
		for (;;) {
			int after = __atomic_load_n(&done, __ATOMIC_ACQUIRE) == r, old;
			int zeros = read_pages(p, &old);
			__atomic_store_n(&passes, passes + 1, __ATOMIC_RELEASE);
			if (after && k == K_DONTNEED && zeros) {
				b_answer(r, A_ZEROS);
				break;
			}
			if (after) {
				b_answer(r, A_STALE);
				break;
			}
			if (__atomic_load_n(&give_up, __ATOMIC_ACQUIRE) == r) {
				b_answer(r, A_GAVE_UP);
				break;
			}
		}
	}
}

struct tally {
	int rounds, fault_ok, zeros, stale, gave_up, not_warm, wrong_fault, call_failed, data_moved;
	long long max_latency_ns;
};

/* Waits up to 2 s for `cond`; true if it came. */
#define WAIT_FOR(cond)                                                  \
	({                                                              \
		long long wait_end_ = smp_now_ns() + ANSWER_NS;         \
		int wait_ok_ = 0;                                       \
		while (!(wait_ok_ = (cond)) && smp_now_ns() < wait_end_) \
			sched_yield();                                  \
		wait_ok_;                                               \
	})

static void one_round(int r, enum kind k, struct tally *t)
{
	char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dest = NULL;
	int rc = -1;

	if (p == MAP_FAILED) {
		t->call_failed++;
		return;
	}
	pattern = 0x5a5a000000000000UL | (unsigned long)r;
	for (size_t i = 0; i < SIZE / sizeof(long); i++)
		((unsigned long *)p)[i] = pattern;
	if (k == K_MREMAP) {
		dest = mmap(NULL, SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (dest == MAP_FAILED) {
			t->call_failed++;
			munmap(p, SIZE);
			return;
		}
	}
	region = (volatile unsigned long *)p;
	kind = k;
	long start = __atomic_load_n(&passes, __ATOMIC_ACQUIRE);
	__atomic_store_n(&round_no, r, __ATOMIC_RELEASE);

	t->rounds++;
	if (!WAIT_FOR(__atomic_load_n(&passes, __ATOMIC_ACQUIRE) - start >= WARM_ITERATIONS))
		t->not_warm++;
	switch (k) {
	case K_MPROTECT:
		rc = mprotect(p, SIZE, PROT_NONE);
		break;
	case K_MUNMAP:
		rc = munmap(p, SIZE);
		break;
	case K_DONTNEED:
		rc = madvise(p, SIZE, MADV_DONTNEED);
		break;
	case K_MREMAP:
		rc = mremap(p, SIZE, SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, dest) == dest ? 0 : -1;
		break;
	default:
		break;
	}
	long long done_ns = smp_now_ns();
	__atomic_store_n(&done, r, __ATOMIC_RELEASE);
	if (rc != 0)
		t->call_failed++;

	if (!WAIT_FOR(__atomic_load_n(&answered, __ATOMIC_ACQUIRE) == r)) {
		__atomic_store_n(&give_up, r, __ATOMIC_RELEASE);
		/* B may be stuck in a fault that never ends: count it and go on
		 * only if it answers; otherwise the watchdog ends the test. */
		while (__atomic_load_n(&answered, __ATOMIC_ACQUIRE) != r)
			sched_yield();
	}
	switch (answer) {
	case A_FAULT: {
		int want = k == K_MPROTECT ? SEGV_ACCERR : SEGV_MAPERR;
		if (k == K_DONTNEED || fault_code != want || (char *)fault_addr < p ||
		    (char *)fault_addr >= p + SIZE)
			t->wrong_fault++;
		else
			t->fault_ok++;
		if (fault_ns - done_ns > t->max_latency_ns)
			t->max_latency_ns = fault_ns - done_ns;
		break;
	}
	case A_ZEROS:
		t->zeros++;
		break;
	case A_STALE:
		t->stale++;
		break;
	default:
		t->gave_up++;
		break;
	}

	if (k == K_DONTNEED) {
		int zero = 1;
		for (size_t i = 0; i < SIZE / sizeof(long); i++)
			zero &= ((unsigned long *)p)[i] == 0;
		t->data_moved += zero;
	}
	if (k == K_MREMAP) {
		int same = 1;
		for (size_t i = 0; i < SIZE / sizeof(long); i++)
			same &= ((unsigned long *)dest)[i] == pattern;
		t->data_moved += same;
		munmap(dest, SIZE);
	}
	if (k != K_MUNMAP && k != K_MREMAP)
		munmap(p, SIZE);
}

/* The call of kind `k` on pages A has just read; true if A's next read
 * then faults as it should (or reads zeros after MADV_DONTNEED). */
static int local_effect(enum kind k)
{
	char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dest = mmap(NULL, SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static volatile int faulted;
	int old;

	if (p == MAP_FAILED || dest == MAP_FAILED)
		return 0;
	pattern = 0x5a5a5a5a5a5a5a5aUL;
	for (size_t i = 0; i < SIZE / sizeof(long); i++)
		((unsigned long *)p)[i] = pattern;
	read_pages((volatile unsigned long *)p, &old);
	switch (k) {
	case K_MPROTECT:
		mprotect(p, SIZE, PROT_NONE);
		break;
	case K_MUNMAP:
		munmap(p, SIZE);
		break;
	case K_DONTNEED:
		madvise(p, SIZE, MADV_DONTNEED);
		break;
	case K_MREMAP:
		mremap(p, SIZE, SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
		break;
	default:
		break;
	}
	faulted = 0;
	jump_to = &a_jump;
	int zeros = 0;
	if (sigsetjmp(a_jump, 1))
		faulted = 1;
	else
		zeros = read_pages((volatile unsigned long *)p, &old);
	munmap(p, SIZE);
	munmap(dest, SIZE);
	return k == K_DONTNEED ? !faulted && zeros : faulted;
}

int main(void)
{
	int cpus[SMP_MAX_CPUS];
	int n = smp_cpus(cpus, SMP_MAX_CPUS);
	int b_cpu = n >= 2 ? cpus[1] : cpus[0];
	struct sigaction sa;
	pthread_t b;

	smp_watchdog(50);
	smp_need_two(n);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	CHECK(pin_self(cpus[0]) == 0, "thread A pinned to CPU %d", cpus[0]);
	CHECK(pthread_create(&b, NULL, reader, &b_cpu) == 0, "started thread B");

	int r = 0;
	for (enum kind k = 0; k < NKINDS; k++) {
		struct tally t;
		const char *name = kind_names[k];
		memset(&t, 0, sizeof t);
		CHECK(local_effect(k), "%s: on pages A has read, A's next read %s", name,
		      k == K_DONTNEED ? "gives zeros" : "faults");
		/* A kernel that never answers would take 4 s a round: give up
		 * the kind after 3 such rounds. */
		for (int i = 0; i < ROUNDS && t.gave_up + t.not_warm < 3; i++)
			one_round(++r, k, &t);
		INFO("%s: %d rounds, %d faults, %d zeros, %d stale, %d no answer, %d not warm, "
		     "longest fault %lld us after the call",
		     name, t.rounds, t.fault_ok, t.zeros, t.stale, t.gave_up, t.not_warm,
		     t.max_latency_ns / 1000);
		CHECK(t.call_failed == 0, "%s: every call succeeded (%d failed)", name, t.call_failed);
		CHECK(t.not_warm == 0, "%s: B read the pages %d times first in every round", name,
		      WARM_ITERATIONS);
		CHECK(t.stale == 0, "%s: B never read the old data after the call returned (%d rounds did)",
		      name, t.stale);
		CHECK(t.gave_up == 0, "%s: B answered within 2 s in every round", name);
		if (k == K_DONTNEED) {
			CHECK(t.zeros == ROUNDS, "%s: B read zeros in %d of %d rounds", name, t.zeros, ROUNDS);
			CHECK(t.data_moved == ROUNDS, "%s: A reads zeros too", name);
		} else {
			CHECK(t.fault_ok == ROUNDS, "%s: B got SIGSEGV (%s) in the region in %d of %d rounds",
			      name, k == K_MPROTECT ? "SEGV_ACCERR" : "SEGV_MAPERR", t.fault_ok, ROUNDS);
		}
		if (k == K_MREMAP)
			CHECK(t.data_moved == ROUNDS, "%s: the data is at the new address in %d of %d rounds",
			      name, t.data_moved, ROUNDS);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	CHECK(pthread_join(b, NULL) == 0, "B finished");
	CHECK(b_pin_rc == 0, "thread B was pinned to CPU %d", b_cpu);
	return check_exit();
}
