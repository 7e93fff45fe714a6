/*
 * kill() with the id of a thread that is not the leader signals its whole
 * process, as on Linux (pids and tids are looked up alike); the id of a
 * thread that has ended is ESRCH.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

static volatile pid_t worker_tid;
static volatile sig_atomic_t got;
static volatile int stop;

static void on_usr1(int s)
{
	got++;
}

static void *worker(void *arg)
{
	worker_tid = (pid_t)syscall(SYS_gettid);
	while (!stop)
		usleep(1000);
	return NULL;
}

int main(void)
{
	signal(SIGUSR1, on_usr1);
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	while (!worker_tid)
		usleep(1000);
	CHECK(worker_tid != getpid(), "the worker is not the leader (%d)", (int)worker_tid);
	CHECK(kill(worker_tid, SIGUSR1) == 0, "kill(worker's tid)");
	for (int i = 0; i < 2000 && !got; i++)
		usleep(1000);
	CHECK(got == 1, "the process got the signal");
	pid_t gone = worker_tid;
	stop = 1;
	pthread_join(t, NULL);
	usleep(10000);
	CHECK_ERRNO(kill(gone, 0), ESRCH, "kill of an ended thread's id is ESRCH");
	return check_exit();
}
