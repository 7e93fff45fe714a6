/*
 * The kernel reads a futex word whole, even while another CPU changes it.
 *
 * A writer thread, pinned to one CPU, flips a word between 0x00000000 and
 * 0xffffffff as fast as it can. A reader, pinned to another, calls
 * FUTEX_WAIT_PRIVATE on the word with a zero timeout, expecting each of
 * the six values that only a torn read (some bytes before the change,
 * some after) could produce. Linux reads the word with one 4-byte load, so
 * every call returns EAGAIN; a kernel that copied the word byte by byte
 * would sometimes find the expected value and sleep (ETIMEDOUT). A PI
 * lock built on such a read saw a "dead owner" made of the low byte of
 * one tid and the high bytes of another, and failed with ESRCH.
 *
 * Runs for 3 s (at least 20,000 calls).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "smputil.h"

#define FUTEX_WAIT_PRIVATE 128

#define RUN_NS 3000000000LL
#define MIN_CALLS 20000L

static uint32_t word;
static volatile int stop;
static int cpus[SMP_MAX_CPUS];
static long flips;

static void *writer(void *arg)
{
	(void)arg;
	pin_self(cpus[1]);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		__atomic_store_n(&word, 0xffffffffu, __ATOMIC_RELAXED);
		__atomic_store_n(&word, 0u, __ATOMIC_RELAXED);
		flips++;
	}
	return NULL;
}

int main(void)
{
	static const uint32_t torn[] = {
		0x000000ffu, 0x0000ffffu, 0x00ffffffu,
		0xffffff00u, 0xffff0000u, 0xff000000u,
	};
	int n = smp_cpus(cpus, SMP_MAX_CPUS);

	smp_need_two(n);
	if (n < 2)
		return check_exit();
	smp_watchdog(60);
	CHECK(pin_self(cpus[0]) == 0, "reader pinned to CPU %d", cpus[0]);

	pthread_t t;
	CHECK(pthread_create(&t, NULL, writer, NULL) == 0, "writer started");

	struct timespec zero = { 0, 0 };
	long calls = 0, eagain = 0, timedout = 0, other = 0;
	long long end = smp_now_ns() + RUN_NS;
	while (calls < MIN_CALLS || smp_now_ns() < end) {
		uint32_t expect = torn[calls % 6];
		long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, expect, &zero, NULL, 0);
		calls++;
		if (r == -1 && errno == EAGAIN)
			eagain++;
		else if (r == -1 && errno == ETIMEDOUT)
			timedout++;
		else
			other++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);

	INFO("%ld FUTEX_WAIT calls while the writer flipped the word %ld times", calls, flips);
	CHECK(flips > 0, "the writer ran alongside the reader");
	CHECK(timedout == 0 && other == 0,
	      "every call found the word whole (EAGAIN): %ld EAGAIN, %ld saw a torn value (ETIMEDOUT), %ld other",
	      eagain, timedout, other);
	return check_exit();
}
