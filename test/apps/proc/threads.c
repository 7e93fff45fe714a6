/*
 * pthreads: 8 threads each add 1 to a shared counter 10000 times under a
 * mutex; then the same 8 threads pass a token around a ring 200 times with a
 * mutex and a condition variable (each waits for its turn and hands over to
 * the next); join returns each thread's value. Built with musl and with
 * glibc (threads-glibc).
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define NTHREADS 8
#define INCREMENTS 10000
#define ROUNDS 200

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static long handoffs;
static int order_errors;
static int last_holder = NTHREADS - 1;
static long tids[NTHREADS];

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;

	tids[id] = syscall(SYS_gettid);
	for (int i = 0; i < INCREMENTS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	for (int r = 0; r < ROUNDS; r++) {
		pthread_mutex_lock(&lock);
		while (turn != id)
			pthread_cond_wait(&turn_changed, &lock);
		if (last_holder != (id + NTHREADS - 1) % NTHREADS)
			order_errors++;
		last_holder = id;
		handoffs++;
		turn = (id + 1) % NTHREADS;
		pthread_cond_broadcast(&turn_changed);
		pthread_mutex_unlock(&lock);
	}
	return (void *)(intptr_t)(id * 3 + 1);
}

int main(void)
{
	pthread_t t[NTHREADS];
	int created = 0, joined = 0, values_ok = 1;

	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0)
			created++;
	CHECK(created == NTHREADS, "created %d threads", created);
	for (int i = 0; i < created; i++) {
		void *ret = NULL;
		if (pthread_join(t[i], &ret) == 0)
			joined++;
		if ((intptr_t)ret != i * 3 + 1)
			values_ok = 0;
	}
	CHECK(joined == created, "joined %d threads", joined);
	CHECK(values_ok, "pthread_join returned each thread's value");
	CHECK(counter == (long)NTHREADS * INCREMENTS, "counter = %ld == %d", counter,
	      NTHREADS * INCREMENTS);
	CHECK(handoffs == (long)NTHREADS * ROUNDS, "token handed over %ld times", handoffs);
	CHECK(order_errors == 0, "the token went round the ring in order (%d errors)", order_errors);
	int distinct = 1;
	long me = syscall(SYS_gettid);
	for (int i = 0; i < NTHREADS; i++) {
		if (tids[i] <= 0 || tids[i] == me)
			distinct = 0;
		for (int j = 0; j < i; j++)
			if (tids[i] == tids[j])
				distinct = 0;
	}
	CHECK(distinct, "every thread had its own tid, different from the main thread's");
	CHECK(me == getpid(), "main thread's tid == pid");
	return check_exit();
}
