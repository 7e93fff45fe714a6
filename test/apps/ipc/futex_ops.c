/*
 * Futexes at the system-call level, as Linux keys and checks them:
 *  - a futex in shared memory works between processes, also when the
 *    waker maps the memory at another address or has unmapped its view;
 *  - private-flag and shared-flag operations on private memory, and
 *    private operations from two processes, do not meet;
 *  - FUTEX_WAKE_OP, FUTEX_CMP_REQUEUE, futex_waitv;
 *  - PI futexes: owner tid in the word, FUTEX_WAITERS, hand-over on
 *    unlock, EDEADLK, EPERM, ESRCH, timeouts, FUTEX_CMP_REQUEUE_PI;
 *  - robust lists: a thread that exits holding a futex leaves
 *    FUTEX_OWNER_DIED and wakes a waiter; get/set_robust_list checks.
 * Every blocking call has a timeout, so a kernel bug fails a check
 * instead of hanging the test.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* <linux/futex.h>, which musl's headers do not carry. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI 12
#define FUTEX_LOCK_PI2 13
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_LOCK_PI_PRIVATE (FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_UNLOCK_PI_PRIVATE (FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_TRYLOCK_PI_PRIVATE (FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_REQUEUE_PI_PRIVATE (FUTEX_WAIT_REQUEUE_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PI_PRIVATE (FUTEX_CMP_REQUEUE_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_LOCK_PI2_PRIVATE (FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG)
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_OR 2
#define FUTEX_OP_ANDN 3
#define FUTEX_OP_XOR 4
#define FUTEX_OP_OPARG_SHIFT 8
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_GT 4
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK 0x3fffffffu
#define FUTEX_32 2
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

struct robust_list {
	struct robust_list *next;
};

struct robust_list_head {
	struct robust_list list;
	long futex_offset;
	struct robust_list *list_op_pending;
};

struct waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

static long futex(void *addr, int op, uint32_t val, const void *ts_or_val2, void *addr2,
		  uint32_t val3)
{
	return syscall(SYS_futex, addr, op, val, ts_or_val2, addr2, val3);
}

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static struct timespec rel_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	return t;
}

static struct timespec abs_ms(clockid_t clock, long ms)
{
	struct timespec t;
	clock_gettime(clock, &t);
	t.tv_nsec += (ms % 1000) * 1000000L;
	t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000L;
	t.tv_nsec %= 1000000000L;
	return t;
}

static void sleep_ms(long ms)
{
	struct timespec t = rel_ms(ms);
	nanosleep(&t, NULL);
}

/* Wakes `addr` (with `op`) until one waiter is found or ~3 s pass. */
static long wake_when_waiting(void *addr, int op)
{
	for (int i = 0; i < 300; i++) {
		long r = futex(addr, op, 1, NULL, NULL, 0);
		if (r != 0)
			return r;
		sleep_ms(10);
	}
	return 0;
}

/* ------------------------------------------------ shared across fork */

static void shared_between_processes(void)
{
	uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*w = 0;
	pid_t c = fork();
	if (c == 0) {
		struct timespec t = rel_ms(5000);
		long r = futex(w, FUTEX_WAIT, 0, &t, NULL, 0);
		_exit(r == 0 ? 0 : 1);
	}
	CHECK(wake_when_waiting(w, FUTEX_WAKE) == 1, "FUTEX_WAKE in the parent wakes the child's waiter");
	int st;
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's FUTEX_WAIT returned 0");

	/* Private operations of two processes never meet. */
	c = fork();
	if (c == 0) {
		struct timespec t = rel_ms(300);
		long r = futex(w, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
		_exit(r == -1 && errno == ETIMEDOUT ? 0 : 1);
	}
	sleep_ms(50);
	long woke = futex(w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	woke += futex(w, FUTEX_WAKE, 1, NULL, NULL, 0);
	CHECK(woke == 0, "a private waiter in another process is not woken (%ld)", woke);
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the private waiter timed out");
	munmap(w, 4096);
}

static void shared_file_other_address(void)
{
	char path[] = "/tmp/futex_ops.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && ftruncate(fd, 8192) == 0, "a tmpfs file of two pages");
	unlink(path);
	uint32_t *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	a[1024 + 3] = 7;
	pid_t c = fork();
	if (c == 0) {
		struct timespec t = rel_ms(5000);
		long r = futex(&a[1024 + 3], FUTEX_WAIT, 7, &t, NULL, 0);
		_exit(r == 0 ? 0 : 1);
	}
	/* The waker drops its view and maps the second page alone, elsewhere. */
	sleep_ms(100);
	munmap(a, 8192);
	uint32_t *b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
	CHECK(b != MAP_FAILED && b[3] == 7, "the file's second page mapped at another address");
	CHECK(wake_when_waiting(&b[3], FUTEX_WAKE) == 1,
	      "a wake through another mapping at another offset meets the waiter");
	int st;
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the file waiter returned 0");
	munmap(b, 4096);
	close(fd);
}

static void shared_sysv_segment(void)
{
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	CHECK(id >= 0, "a System V segment");
	pid_t c = fork();
	if (c == 0) {
		uint32_t *w = shmat(id, NULL, 0);
		struct timespec t = rel_ms(5000);
		long r = w == (void *)-1 ? -1 : futex(&w[5], FUTEX_WAIT, 0, &t, NULL, 0);
		_exit(r == 0 ? 0 : 1);
	}
	uint32_t *w = shmat(id, NULL, 0);
	CHECK(w != (void *)-1, "attached in the parent");
	CHECK(wake_when_waiting(&w[5], FUTEX_WAKE) == 1,
	      "a wake through the parent's attachment meets the child's waiter");
	int st;
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the segment waiter returned 0");
	shmdt(w);
	shmctl(id, IPC_RMID, NULL);
}

/* -------------------------------------------- private memory, threads */

static uint32_t pword;
static volatile long thread_result;

static void *wait_private(void *arg)
{
	struct timespec t = rel_ms(3000);
	thread_result = futex(&pword, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
	return NULL;
}

static void private_and_shared_ops(void)
{
	pthread_t th;
	pword = 0;
	pthread_create(&th, NULL, wait_private, NULL);
	sleep_ms(100);
	CHECK(futex(&pword, FUTEX_WAKE, 1, NULL, NULL, 0) == 0,
	      "a shared-op wake does not meet a private-op waiter");
	CHECK(wake_when_waiting(&pword, FUTEX_WAKE_PRIVATE) == 1, "a private-op wake does");
	pthread_join(th, NULL);
	CHECK(thread_result == 0, "the private waiter returned 0");
}

/* ------------------------------------------------------------ wake op */

static uint32_t w1, w2;
static volatile int woken_count;

static void *wait_on(void *arg)
{
	struct timespec t = rel_ms(3000);
	uint32_t *w = arg;
	if (futex(w, FUTEX_WAIT_PRIVATE, *w, &t, NULL, 0) == 0)
		__sync_fetch_and_add(&woken_count, 1);
	return NULL;
}

#define OP(op, oparg, cmp, cmparg) \
	((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

static void wake_op(void)
{
	pthread_t a, b;
	w1 = 1;
	w2 = 5;
	woken_count = 0;
	pthread_create(&a, NULL, wait_on, &w1);
	pthread_create(&b, NULL, wait_on, &w2);
	sleep_ms(150);
	long r = futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2,
		       OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 5));
	CHECK(r == 2, "FUTEX_WAKE_OP wakes both when the old value passes (%ld)", r);
	CHECK(w2 == 8, "FUTEX_OP_ADD applied (%u)", w2);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK(woken_count == 2, "both waiters returned 0");

	r = futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2,
		  OP(FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_GT, 100));
	CHECK(r == 0 && w2 == 16, "FUTEX_OP_OPARG_SHIFT sets 1 << 4 (%u), no waiters", w2);
	w2 = 0xff;
	futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2, OP(FUTEX_OP_ANDN, 0xf, 0, 0));
	CHECK(w2 == 0xf0, "FUTEX_OP_ANDN (%#x)", w2);
	futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2, OP(FUTEX_OP_XOR, 0x11, 0, 0));
	CHECK(w2 == 0xe1, "FUTEX_OP_XOR (%#x)", w2);
	futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2, OP(FUTEX_OP_OR, -2, 0, 0));
	CHECK(w2 == 0xffffffffu, "FUTEX_OP_OR with a negative argument (%#x)", w2);
	w2 = 3;
	CHECK_ERRNO(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2, OP(5, 1, 0, 0)), ENOSYS,
		    "an unknown operation is ENOSYS");
	CHECK(w2 == 3, "and leaves the word alone");
	CHECK_ERRNO(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2, OP(FUTEX_OP_ADD, 1, 6, 0)),
		    ENOSYS, "an unknown comparison is ENOSYS");
	CHECK(w2 == 4, "after the operation was applied (%u)", w2);
	CHECK_ERRNO(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, (char *)&w2 + 1, 0), EINVAL,
		    "a misaligned second word is EINVAL");
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_ERRNO(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, ro, 0), EFAULT,
		    "a read-only second word is EFAULT");
	CHECK_ERRNO(futex(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, (void *)8, 0), EFAULT,
		    "an unmapped second word is EFAULT");
	munmap(ro, 4096);
}

/* ------------------------------------------------------------ requeue */

static void requeue(void)
{
	pthread_t t[3];
	w1 = 0;
	w2 = 0;
	woken_count = 0;
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, wait_on, &w1);
	sleep_ms(200);
	CHECK_ERRNO(futex(&w1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &w2, 9), EAGAIN,
		    "FUTEX_CMP_REQUEUE with a changed word is EAGAIN");
	CHECK_ERRNO(futex(&w1, FUTEX_CMP_REQUEUE_PRIVATE, -1, (void *)1, &w2, 0), EINVAL,
		    "a negative wake count is EINVAL");
	long r = futex(&w1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &w2, 0);
	CHECK(r == 2, "wakes one and moves one (%ld)", r);
	sleep_ms(50);
	CHECK(futex(&w2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0) == 1, "the moved waiter is on w2");
	CHECK(futex(&w1, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0) == 1, "the last one is still on w1");
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK(woken_count == 3, "all three returned 0");
}

/* ---------------------------------------------------------- futex_waitv */

static struct waitv wv[2];
static volatile long waitv_result, waitv_errno;

static void *do_waitv(void *arg)
{
	struct timespec t = abs_ms(CLOCK_MONOTONIC, 3000);
	waitv_result = syscall(SYS_futex_waitv, wv, 2, 0, &t, CLOCK_MONOTONIC);
	waitv_errno = errno;
	return NULL;
}

static void waitv(void)
{
	static uint32_t a, b;
	a = 1;
	b = 2;
	wv[0] = (struct waitv){ .val = 1, .uaddr = (uintptr_t)&a, .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG };
	wv[1] = (struct waitv){ .val = 2, .uaddr = (uintptr_t)&b, .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG };
	pthread_t th;
	pthread_create(&th, NULL, do_waitv, NULL);
	CHECK(wake_when_waiting(&b, FUTEX_WAKE_PRIVATE) == 1, "a wake of the second word");
	pthread_join(th, NULL);
	CHECK(waitv_result == 1, "futex_waitv returns the index of the woken word (%ld)", waitv_result);
	CHECK(futex(&a, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0, "and left the first queue");

	struct timespec t = abs_ms(CLOCK_MONOTONIC, 50);
	b = 3;
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 0, &t, CLOCK_MONOTONIC), EAGAIN,
		    "a word not holding its value is EAGAIN");
	b = 2;
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 0, &t, CLOCK_MONOTONIC), ETIMEDOUT,
		    "a past deadline is ETIMEDOUT");
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 1, &t, CLOCK_MONOTONIC), EINVAL, "flags is EINVAL");
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 0, 0, &t, CLOCK_MONOTONIC), EINVAL, "no words is EINVAL");
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 129, 0, &t, CLOCK_MONOTONIC), EINVAL,
		    "129 words is EINVAL");
	CHECK_ERRNO(syscall(SYS_futex_waitv, NULL, 2, 0, &t, CLOCK_MONOTONIC), EINVAL,
		    "a NULL array is EINVAL");
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 0, &t, CLOCK_BOOTTIME), EINVAL,
		    "CLOCK_BOOTTIME is EINVAL");
	CHECK_ERRNO(syscall(SYS_futex_waitv, (void *)8, 2, 0, &t, CLOCK_MONOTONIC), EFAULT,
		    "an unmapped array is EFAULT");
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 0, (void *)8, CLOCK_MONOTONIC), EFAULT,
		    "an unmapped timeout is EFAULT");
	wv[1].flags = FUTEX_PRIVATE_FLAG;
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 0, &t, CLOCK_MONOTONIC), EINVAL,
		    "a word without FUTEX_32 is EINVAL");
	wv[1].flags = FUTEX_32 | 0x100;
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 0, &t, CLOCK_MONOTONIC), EINVAL,
		    "unknown word flags are EINVAL");
	wv[1].flags = FUTEX_32;
	wv[1].reserved = 1;
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 0, &t, CLOCK_MONOTONIC), EINVAL,
		    "a reserved field is EINVAL");
	wv[1].reserved = 0;
	wv[1].val = 1ull << 32;
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 0, &t, CLOCK_MONOTONIC), EINVAL,
		    "a value wider than the word is EINVAL");
	wv[1].val = 2;
	wv[1].uaddr = (uintptr_t)&b + 2;
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 0, &t, CLOCK_MONOTONIC), EINVAL,
		    "a misaligned word is EINVAL");
	wv[1].uaddr = 8;
	CHECK_ERRNO(syscall(SYS_futex_waitv, wv, 2, 0, &t, CLOCK_MONOTONIC), EFAULT,
		    "an unmapped shared word is EFAULT");
}

/* --------------------------------------------------------------- PI */

static uint32_t pi;
static volatile long pi_result, pi_errno;
static volatile uint32_t pi_seen;
static volatile pid_t pi_tid;

static void *lock_pi_thread(void *arg)
{
	struct timespec t = abs_ms(CLOCK_REALTIME, 3000);
	pi_tid = tid();
	pi_result = futex(&pi, FUTEX_LOCK_PI_PRIVATE, 0, &t, NULL, 0);
	pi_errno = errno;
	pi_seen = pi;
	if (pi_result == 0)
		futex(&pi, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

static void *trylock_pi_thread(void *arg)
{
	pi_result = futex(&pi, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	pi_errno = errno;
	if (pi_result == 0)
		return NULL;
	pi_result = futex(&pi, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == -1 ? -errno : 0;
	return NULL;
}

static void pi_futexes(void)
{
	pthread_t th;
	pi = 0;
	CHECK(futex(&pi, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0, "FUTEX_LOCK_PI on a free word");
	CHECK(pi == (uint32_t)tid(), "the word holds the owner's tid");
	CHECK_ERRNO(futex(&pi, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EDEADLK,
		    "locking it again is EDEADLK");
	CHECK_ERRNO(futex(&pi, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EDEADLK,
		    "trylock by the owner is EDEADLK");
	pthread_create(&th, NULL, trylock_pi_thread, NULL);
	pthread_join(th, NULL);
	CHECK(pi_result == -1 && pi_errno == EAGAIN, "trylock by another thread is EAGAIN");

	/* Contended: the waiter sets FUTEX_WAITERS and is handed the lock. */
	pthread_create(&th, NULL, lock_pi_thread, NULL);
	for (int i = 0; i < 300 && !(pi & FUTEX_WAITERS); i++)
		sleep_ms(10);
	CHECK(pi == ((uint32_t)tid() | FUTEX_WAITERS), "a waiter sets FUTEX_WAITERS (%#x)", pi);
	CHECK(futex(&pi, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0, "FUTEX_UNLOCK_PI");
	pthread_join(th, NULL);
	CHECK(pi_result == 0, "the waiter got the lock");
	CHECK((pi_seen & FUTEX_TID_MASK) == (uint32_t)pi_tid, "handed over: the word named the waiter");
	CHECK(pi == 0, "and after its unlock the word is 0 (%#x)", pi);

	CHECK_ERRNO(futex(&pi, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM,
		    "unlocking a free PI futex is EPERM");
	pi = (uint32_t)tid() + 1;
	pthread_create(&th, NULL, trylock_pi_thread, NULL);
	pthread_join(th, NULL);
	pi = (uint32_t)tid();
	pthread_create(&th, NULL, trylock_pi_thread, NULL);
	pthread_join(th, NULL);
	CHECK(pi_result == -1 && pi_errno == EAGAIN, "trylock of a held PI futex is EAGAIN");

	/* A dead owner that nobody marked: ESRCH. */
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	waitpid(c, NULL, 0);
	pi = (uint32_t)c;
	CHECK_ERRNO(futex(&pi, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH,
		    "locking a PI futex whose owner is gone is ESRCH");
	/* FUTEX_OWNER_DIED with no owner: taken, the bit kept. */
	pi = FUTEX_OWNER_DIED;
	CHECK(futex(&pi, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0 &&
		      pi == (FUTEX_OWNER_DIED | (uint32_t)tid()),
	      "a free word with FUTEX_OWNER_DIED is taken and keeps the bit (%#x)", pi);
	pi = 0;

	struct timespec t;
	pi = (uint32_t)tid();
	/* Lock by the owner is EDEADLK even with a timeout. */
	t = abs_ms(CLOCK_REALTIME, 100);
	CHECK_ERRNO(futex(&pi, FUTEX_LOCK_PI_PRIVATE, 0, &t, NULL, 0), EDEADLK,
		    "EDEADLK comes before the timeout");
	pi = 0;
	CHECK_ERRNO(futex(&pi, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 0, &t, NULL, 0), ENOSYS,
		    "FUTEX_WAIT with FUTEX_CLOCK_REALTIME is ENOSYS");
	CHECK_ERRNO(futex(&pi, FUTEX_LOCK_PI | FUTEX_CLOCK_REALTIME, 0, &t, NULL, 0), ENOSYS,
		    "FUTEX_LOCK_PI with FUTEX_CLOCK_REALTIME is ENOSYS");
	CHECK_ERRNO(futex((char *)&pi + 1, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EINVAL,
		    "a misaligned PI futex is EINVAL");
}

static pid_t timeout_holder_tid;
static uint32_t tw;

static void *hold_then_wait(void *arg)
{
	futex(&tw, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	timeout_holder_tid = tid();
	sleep_ms(600);
	futex(&tw, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

static void pi_timeouts(void)
{
	pthread_t th;
	tw = 0;
	pthread_create(&th, NULL, hold_then_wait, NULL);
	while (!timeout_holder_tid)
		sleep_ms(5);
	struct timespec t = abs_ms(CLOCK_REALTIME, 100);
	CHECK_ERRNO(futex(&tw, FUTEX_LOCK_PI_PRIVATE, 0, &t, NULL, 0), ETIMEDOUT,
		    "FUTEX_LOCK_PI times out on CLOCK_REALTIME");
	t = abs_ms(CLOCK_MONOTONIC, 100);
	CHECK_ERRNO(futex(&tw, FUTEX_LOCK_PI2_PRIVATE, 0, &t, NULL, 0), ETIMEDOUT,
		    "FUTEX_LOCK_PI2 times out on CLOCK_MONOTONIC");
	CHECK((tw & FUTEX_TID_MASK) == (uint32_t)timeout_holder_tid, "the holder still owns it");
	t = abs_ms(CLOCK_MONOTONIC, 3000);
	CHECK(futex(&tw, FUTEX_LOCK_PI2_PRIVATE, 0, &t, NULL, 0) == 0 &&
		      (tw & FUTEX_TID_MASK) == (uint32_t)tid(),
	      "and hands it over when it unlocks (%#x)", tw);
	futex(&tw, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	pthread_join(th, NULL);
}

/* -------------------------------------------------------- requeue PI */

static uint32_t cond, mutex;
static volatile long rq_result, rq_errno;
static volatile pid_t rq_tid;

static void *wait_requeue_pi(void *arg)
{
	struct timespec t = abs_ms(CLOCK_MONOTONIC, 3000);
	rq_tid = tid();
	rq_result = futex(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, &t, &mutex, 0);
	rq_errno = errno;
	if (rq_result == 0)
		futex(&mutex, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

static void requeue_pi(void)
{
	cond = 0;
	mutex = 0;
	struct timespec t = abs_ms(CLOCK_MONOTONIC, 50);
	CHECK_ERRNO(futex(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, &t, &cond, 0), EINVAL,
		    "FUTEX_WAIT_REQUEUE_PI onto itself is EINVAL");
	CHECK_ERRNO(futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, (void *)1, &mutex, 0), EINVAL,
		    "FUTEX_CMP_REQUEUE_PI waking two is EINVAL");
	CHECK_ERRNO(futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &cond, 0), EINVAL,
		    "FUTEX_CMP_REQUEUE_PI onto itself is EINVAL");
	CHECK_ERRNO(futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &mutex, 5), EAGAIN,
		    "FUTEX_CMP_REQUEUE_PI with a changed word is EAGAIN");

	pthread_t th;
	pthread_create(&th, NULL, wait_requeue_pi, NULL);
	sleep_ms(150);
	CHECK_ERRNO(futex(&cond, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), EINVAL,
		    "FUTEX_WAKE of a requeue-PI waiter is EINVAL");
	long r = futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &mutex, 0);
	CHECK(r == 1, "FUTEX_CMP_REQUEUE_PI gives the free lock to the waiter (%ld)", r);
	pthread_join(th, NULL);
	CHECK(rq_result == 0, "the waiter returns 0, owning the PI futex (errno %ld)", rq_errno);
	CHECK(mutex == 0, "and unlocked it (%#x)", mutex);

	/* With the lock held, the waiter is moved to wait for it. */
	CHECK(futex(&mutex, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0, "lock the PI futex");
	pthread_create(&th, NULL, wait_requeue_pi, NULL);
	sleep_ms(150);
	r = futex(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &mutex, 0);
	CHECK(r == 1, "FUTEX_CMP_REQUEUE_PI moves the waiter (%ld)", r);
	CHECK(mutex == ((uint32_t)tid() | FUTEX_WAITERS), "the PI futex now has waiters (%#x)", mutex);
	CHECK(futex(&mutex, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0, "unlock hands it over");
	pthread_join(th, NULL);
	CHECK(rq_result == 0, "the requeued waiter got the lock");
}

/* ------------------------------------------------------------ robust */

struct robust_entry {
	struct robust_entry *next;
	uint32_t word;
};

static struct robust_list_head rhead;
static struct robust_entry rentry;

static void *die_holding(void *arg)
{
	rentry.word = (uint32_t)tid();
	rentry.next = (struct robust_entry *)&rhead;
	rhead.list.next = (struct robust_list *)&rentry;
	rhead.futex_offset = offsetof(struct robust_entry, word);
	rhead.list_op_pending = NULL;
	syscall(SYS_set_robust_list, &rhead, sizeof rhead);
	struct robust_list_head *h;
	size_t len;
	syscall(SYS_get_robust_list, 0, &h, &len);
	thread_result = (h == &rhead && len == sizeof rhead);
	sleep_ms(200);
	return NULL; /* the thread exits holding the futex */
}

static void robust(void)
{
	pthread_t th;
	thread_result = 0;
	rentry.word = 0;
	pthread_create(&th, NULL, die_holding, NULL);
	while (!rentry.word)
		sleep_ms(5);
	uint32_t owner = rentry.word;
	/* Wait (shared op, as the kernel wakes) for the owner's death. */
	struct timespec t = rel_ms(3000);
	rentry.word |= FUTEX_WAITERS;
	long r = futex(&rentry.word, FUTEX_WAIT, owner | FUTEX_WAITERS, &t, NULL, 0);
	CHECK(r == 0 || errno == EAGAIN, "the waiter is woken when the owner dies");
	for (int i = 0; i < 300 && !(rentry.word & FUTEX_OWNER_DIED); i++)
		sleep_ms(10);
	CHECK(rentry.word == (FUTEX_OWNER_DIED | FUTEX_WAITERS),
	      "the word is FUTEX_OWNER_DIED | FUTEX_WAITERS (%#x)", rentry.word);
	CHECK(thread_result == 1, "get_robust_list(0) gave the thread's head and length");
	pthread_join(th, NULL);

	CHECK_ERRNO(syscall(SYS_set_robust_list, &rhead, sizeof rhead - 1), EINVAL,
		    "set_robust_list with a wrong length is EINVAL");
	struct robust_list_head *h;
	size_t len;
	CHECK_ERRNO(syscall(SYS_get_robust_list, 0x3fffffff, &h, &len), ESRCH,
		    "get_robust_list of no such thread is ESRCH");
	CHECK_ERRNO(syscall(SYS_get_robust_list, 0, (void *)8, &len), EFAULT,
		    "get_robust_list to an unmapped pointer is EFAULT");
	CHECK(syscall(SYS_get_robust_list, getpid(), &h, &len) == 0 && len == sizeof rhead,
	      "get_robust_list of the main thread");

	/* A child process dying holding a futex in shared memory. */
	uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t c = fork();
	if (c == 0) {
		static struct robust_list_head ch;
		struct robust_entry *e = (struct robust_entry *)(w + 2);
		e->word = (uint32_t)getpid();
		e->next = (struct robust_entry *)&ch;
		ch.list.next = (struct robust_list *)e;
		ch.futex_offset = offsetof(struct robust_entry, word);
		syscall(SYS_set_robust_list, &ch, sizeof ch);
		pause();
		_exit(0);
	}
	struct robust_entry *e = (struct robust_entry *)(w + 2);
	while (e->word != (uint32_t)c)
		sleep_ms(5);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	CHECK(e->word == FUTEX_OWNER_DIED, "a SIGKILLed process's futex is FUTEX_OWNER_DIED (%#x)",
	      e->word);
	munmap(w, 4096);
}

int main(void)
{
	shared_between_processes();
	shared_file_other_address();
	shared_sysv_segment();
	private_and_shared_ops();
	wake_op();
	requeue();
	waitv();
	pi_futexes();
	pi_timeouts();
	requeue_pi();
	robust();
	return check_exit();
}
