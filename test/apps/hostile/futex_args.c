/*
 * futex(2) argument checks, as Linux makes them:
 *  - a misaligned address: EINVAL (wake and wait, private or shared);
 *  - a shared (non-private) op on an unmapped or PROT_NONE page, or on a
 *    file mapping past the end of the file: EFAULT; a private FUTEX_WAKE
 *    looks at no page and returns 0;
 *  - FUTEX_WAIT on a kernel address: EFAULT; on a PROT_NONE page: EFAULT;
 *  - FUTEX_REQUEUE/FUTEX_CMP_REQUEUE with a negative count: EINVAL;
 *  - an unknown op: ENOSYS; FUTEX_WAIT_BITSET/WAKE_BITSET with bitset 0:
 *    EINVAL; a timeout with tv_nsec out of range: EINVAL;
 *  - FUTEX_WAKE with count 0 still wakes one waiter (Linux's loop wakes
 *    before it compares).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* From linux/futex.h (musl's headers do not carry it). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)

static long futex(void *addr, int op, uint32_t val, const void *timeout, void *addr2, uint32_t val3)
{
	return syscall(SYS_futex, addr, op, val, timeout, addr2, val3);
}

static uint32_t word = 0;
static volatile int waiting;

static void *waiter(void *arg)
{
	waiting = 1;
	futex(&word, FUTEX_WAIT, 0, NULL, NULL, 0);
	return NULL;
}

int main(void)
{
	char *page = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED, "mmap");
	uint32_t *ok = (uint32_t *)page;
	char *none = page + 4096;
	mprotect(none, 4096, PROT_NONE);
	char *unmapped = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(unmapped, 4096);

	CHECK_ERRNO(futex(page + 1, FUTEX_WAKE, 1, NULL, NULL, 0), EINVAL, "FUTEX_WAKE misaligned");
	CHECK_ERRNO(futex(page + 2, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), EINVAL,
		    "FUTEX_WAKE_PRIVATE misaligned");
	CHECK_ERRNO(futex(page + 1, FUTEX_WAIT, 0, NULL, NULL, 0), EINVAL, "FUTEX_WAIT misaligned");
	CHECK_ERRNO(futex(unmapped, FUTEX_WAKE, 1, NULL, NULL, 0), EFAULT, "FUTEX_WAKE unmapped");
	CHECK(futex(unmapped, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0,
	      "FUTEX_WAKE_PRIVATE unmapped returns 0");
	CHECK_ERRNO(futex(none, FUTEX_WAKE, 1, NULL, NULL, 0), EFAULT, "FUTEX_WAKE on PROT_NONE");
	CHECK_ERRNO(futex(none, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT, "FUTEX_WAIT on PROT_NONE");
	CHECK_ERRNO(futex(none, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EFAULT,
		    "FUTEX_WAIT_PRIVATE on PROT_NONE");
	CHECK_ERRNO(futex((void *)0xffff800000000000UL, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT,
		    "FUTEX_WAIT on a kernel address");
	CHECK_ERRNO(futex((void *)0xffff800000000000UL, FUTEX_WAKE, 1, NULL, NULL, 0), EFAULT,
		    "FUTEX_WAKE on a kernel address");
	CHECK_ERRNO(futex(ok, FUTEX_WAIT, 1, NULL, NULL, 0), EAGAIN, "FUTEX_WAIT with a stale value");
	struct timespec bad = { 0, 1000000000 };
	CHECK_ERRNO(futex(ok, FUTEX_WAIT, 0, &bad, NULL, 0), EINVAL, "FUTEX_WAIT with tv_nsec = 1e9");
	struct timespec neg = { -1, 0 };
	CHECK_ERRNO(futex(ok, FUTEX_WAIT, 0, &neg, NULL, 0), EINVAL, "FUTEX_WAIT with tv_sec = -1");

	CHECK_ERRNO(futex(ok, FUTEX_CMP_REQUEUE, 1, (void *)(uintptr_t)-1, ok + 1, 0), EINVAL,
		    "FUTEX_CMP_REQUEUE with a negative requeue count");
	CHECK_ERRNO(futex(ok, FUTEX_CMP_REQUEUE, -1, (void *)1, ok + 1, 0), EINVAL,
		    "FUTEX_CMP_REQUEUE with a negative wake count");
	CHECK_ERRNO(futex(ok, FUTEX_REQUEUE, 1, (void *)(uintptr_t)-5, ok + 1, 0), EINVAL,
		    "FUTEX_REQUEUE with a negative requeue count");
	CHECK_ERRNO(futex(ok, FUTEX_CMP_REQUEUE, 1, (void *)1, page + 5, 0), EINVAL,
		    "FUTEX_CMP_REQUEUE to a misaligned address");
	CHECK_ERRNO(futex(ok, FUTEX_CMP_REQUEUE, 1, (void *)1, unmapped, 0), EFAULT,
		    "FUTEX_CMP_REQUEUE to an unmapped address");
	CHECK(futex(ok, FUTEX_CMP_REQUEUE, 1, (void *)1, ok + 1, 0) == 0,
	      "FUTEX_CMP_REQUEUE with no waiters returns 0");
	CHECK_ERRNO(futex(ok, FUTEX_CMP_REQUEUE, 1, (void *)1, ok + 1, 7), EAGAIN,
		    "FUTEX_CMP_REQUEUE with a stale value");

	CHECK_ERRNO(futex(ok, 99, 0, NULL, NULL, 0), ENOSYS, "an unknown op");
	CHECK_ERRNO(futex(ok, FUTEX_WAIT_BITSET, 0, NULL, NULL, 0), EINVAL, "FUTEX_WAIT_BITSET with bitset 0");
	CHECK_ERRNO(futex(ok, FUTEX_WAKE_BITSET, 1, NULL, NULL, 0), EINVAL, "FUTEX_WAKE_BITSET with bitset 0");

	/* A file mapping beyond the end of its (one-byte) file. */
	char path[] = "/tmp/futex_args_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1, "a one-byte file");
	char *fmap = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(fmap != MAP_FAILED, "map two pages of it");
	CHECK(futex(fmap, FUTEX_WAKE, 1, NULL, NULL, 0) == 0, "FUTEX_WAKE in the file's page");
	CHECK_ERRNO(futex(fmap + 4096, FUTEX_WAKE, 1, NULL, NULL, 0), EFAULT,
		    "FUTEX_WAKE past the end of the file");
	CHECK_ERRNO(futex(fmap + 4096, FUTEX_WAIT, 0, NULL, NULL, 0), EFAULT,
		    "FUTEX_WAIT past the end of the file");
	unlink(path);

	/* FUTEX_WAKE with a count of 0 wakes one waiter. */
	pthread_t t;
	pthread_create(&t, NULL, waiter, NULL);
	while (!waiting)
		usleep(1000);
	long woken = 0;
	for (int i = 0; i < 200 && woken == 0; i++) {
		usleep(5000);
		woken = futex(&word, FUTEX_WAKE, 0, NULL, NULL, 0);
	}
	CHECK(woken == 1, "FUTEX_WAKE with count 0 woke %ld waiter", woken);
	pthread_join(t, NULL);
	return check_exit();
}
