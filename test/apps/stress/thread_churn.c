/*
 * Thread churn: create and join 10,000 threads in batches of 100, each with
 * a 32 KiB stack, every thread touching its stack and the FPU/SSE registers
 * (so that lazily switched FPU state and freshly reused kernel stacks are
 * exercised) and moving overlapping memory backwards with memmove (musl's
 * runs `std; rep movsb`, so timer interrupts and page faults arrive with the
 * direction flag set). This is the pattern that once crashed the kernel in
 * the FPU restore on the way to user mode: the kernel ran with the user's
 * DF, and its own copies went backwards over a task's saved context.
 *
 *   thread_churn [TOTAL [BATCH]]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"

static volatile double sink;
/* Called through a pointer so that the compiler keeps libc's memmove. */
static void *(*volatile move_memory)(void *, const void *, size_t) = memmove;

static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	volatile char buf[16384];
	double x = (double)id;

	memset((char *)buf, (int)(id & 0xff), sizeof(buf));
	for (int i = 0; i < 8; i++)
		move_memory((char *)buf + 64, (char *)buf, sizeof(buf) - 64);
	/* Backwards into fresh pages: each page fault enters with DF set. */
	char *fresh = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fresh == MAP_FAILED)
		return (void *)0;
	move_memory(fresh + 64, fresh, 65536 - 64);
	munmap(fresh, 65536);
	for (int i = 0; i < 50; i++)
		x = x * 1.0000001 + 0.5;
	sink = x;
	if (buf[100] != (char)(id & 0xff))
		return (void *)0;
	return (void *)(id + 1);
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 10000;
	long batch = argc > 2 ? atol(argv[2]) : 100;
	pthread_attr_t attr;
	pthread_t *t = calloc(batch, sizeof(*t));
	long created = 0, joined = 0, bad = 0, create_errors = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 32 * 1024);
	for (long done = 0; done < total; done += batch) {
		long n = 0;
		for (long i = 0; i < batch && done + i < total; i++) {
			int e = pthread_create(&t[n], &attr, worker, (void *)(uintptr_t)(done + i));
			if (e) {
				create_errors++;
				continue;
			}
			n++;
			created++;
		}
		for (long i = 0; i < n; i++) {
			void *ret;
			if (pthread_join(t[i], &ret) == 0) {
				joined++;
				if (ret == 0)
					bad++;
			}
		}
	}
	CHECK(create_errors == 0, "pthread_create never failed (%ld failures)", create_errors);
	CHECK(created == total, "created %ld threads", created);
	CHECK(joined == created, "joined %ld threads", joined);
	CHECK(bad == 0, "every thread saw its own stack and returned its value (%ld bad)", bad);
	return check_exit();
}
