/*
 * How threads end a process:
 * 1. a thread calls exit(5) while the others loop: the whole process ends
 *    with status 5;
 * 2. the same with a raw SYS_exit_group(6);
 * 3. a thread leaving with pthread_exit(), and another with a raw SYS_exit,
 *    leave the process running; even the main thread's pthread_exit() does:
 *    the last thread then calls exit(8), and the process status is 8;
 * 4. when every thread leaves with SYS_exit(0) (the main thread first), the
 *    process ends with status 0. (Which code wins when the threads give
 *    different ones has changed between Linux versions, so both give 0.
 *    Raw system calls: musl
 *    1.2.3 cannot pthread_exit() the main thread of a forked child and then
 *    end the last thread with pthread_exit(); it waits on a stale lock.)
 * Progress of the child processes is reported through shared memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

struct shared {
	volatile int t1_done, t2_done, main_after_t1, main_after_t2, last_running;
};

static struct shared *sh;

static void *loop_forever(void *arg)
{
	for (;;)
		sleep_ms(1);
	return arg;
}

static void *exit_process(void *arg)
{
	sleep_ms(20);
	if (arg)
		syscall(SYS_exit_group, 6);
	exit(5);
}

static int run_exit_case(int raw)
{
	pthread_t t;
	for (int i = 0; i < 3; i++)
		pthread_create(&t, NULL, loop_forever, NULL);
	pthread_create(&t, NULL, exit_process, raw ? (void *)1 : NULL);
	for (;;)
		sleep_ms(1);
	return 0;
}

static void *leave_pthread_exit(void *arg)
{
	sh->t1_done = 1;
	pthread_exit(NULL);
}

static void *leave_sys_exit(void *arg)
{
	sh->t2_done = 1;
	syscall(SYS_exit, 0);
	return NULL;
}

static void *last_thread(void *arg)
{
	sleep_ms(50);
	sh->last_running = 1;
	if (arg)
		syscall(SYS_exit, 0);
	exit(8);
}

static int run_pthread_exit_case(int all_raw)
{
	pthread_t t;
	pthread_create(&t, NULL, leave_pthread_exit, NULL);
	pthread_join(t, NULL);
	sh->main_after_t1 = 1;
	if (!all_raw) {
		pthread_create(&t, NULL, leave_sys_exit, NULL);
		for (int i = 0; i < 5000 && !sh->t2_done; i++)
			sleep_ms(1);
		sleep_ms(20);
		sh->main_after_t2 = 1;
	}
	pthread_create(&t, NULL, last_thread, all_raw ? (void *)1 : NULL);
	if (all_raw)
		syscall(SYS_exit, 0);
	pthread_exit(NULL);
}

static int child_status(int (*fn)(int), int arg)
{
	int status = -1;
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

int main(void)
{
	int st;

	sh = shared_alloc(sizeof(*sh));
	CHECK(sh != NULL, "shared memory");
	if (!sh)
		return check_exit();

	st = child_status(run_exit_case, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5, "exit(5) in a thread: process status 5 (status word %#x)", st);
	st = child_status(run_exit_case, 1);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 6,
	      "SYS_exit_group(6) in a thread: process status 6 (status word %#x)", st);

	st = child_status(run_pthread_exit_case, 0);
	CHECK(sh->t1_done && sh->main_after_t1, "process ran on after a thread's pthread_exit()");
	CHECK(sh->t2_done && sh->main_after_t2, "process ran on after a thread's SYS_exit");
	CHECK(sh->last_running, "a thread ran on after the main thread's pthread_exit()");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 8,
	      "the last thread's exit(8) is the process status (status word %#x)", st);

	sh->last_running = sh->t1_done = sh->main_after_t1 = 0;
	st = child_status(run_pthread_exit_case, 1);
	CHECK(sh->t1_done && sh->main_after_t1, "process ran on after a thread's pthread_exit()");
	CHECK(sh->last_running, "a thread ran on after the main thread's SYS_exit");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "all threads left with SYS_exit (main thread first): status 0 (status word %#x)", st);
	return check_exit();
}
