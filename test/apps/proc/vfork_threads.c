/*
 * vfork() suspends only the calling thread: while the vfork child sleeps
 * 100 ms, a second thread of the parent keeps incrementing a counter. The
 * child (sharing the memory) samples the counter before and after its sleep.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

static atomic_long counter;
static atomic_int stop;
static volatile long sample_before, sample_after;

static void *spin(void *arg)
{
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&counter, 1);
		/* Give a single CPU to the others now and then. */
		if ((atomic_load(&counter) & 1023) == 0)
			sched_yield();
	}
	return arg;
}

int main(void)
{
	pthread_t t;
	int status = 0;

	CHECK(pthread_create(&t, NULL, spin, NULL) == 0, "pthread_create");
	long long t0 = now_ns();
	while (atomic_load(&counter) == 0 && now_ns() - t0 < 5000000000LL)
		sched_yield();
	CHECK(atomic_load(&counter) > 0, "the counting thread runs");

	pid_t pid = vfork();
	if (pid == 0) {
		sample_before = atomic_load(&counter);
		sleep_ms(100);
		sample_after = atomic_load(&counter);
		_exit(0);
	}
	CHECK(pid > 0, "vfork() = %d", (int)pid);
	CHECK(sample_after > sample_before,
	      "the counter advanced while the vfork child slept (%ld -> %ld)",
	      sample_before, sample_after);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child exited 0 (status word %#x)", status);
	atomic_store(&stop, 1);
	CHECK(pthread_join(t, NULL) == 0, "pthread_join");
	return check_exit();
}
