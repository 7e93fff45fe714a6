/*
 * System V semaphores between processes: children sleeping in semop and
 * woken by their parent (their operations done on their behalf before the
 * waker's call returns), GETNCNT/GETZCNT counting sleepers, SEM_UNDO
 * adjustments applied when a process exits (also when killed; capped to
 * 0..SEMVMX; not inherited by fork; kept across execve; cleared by
 * SETVAL), and sleeps ended by a signal (EINTR, never restarted) and by
 * IPC_RMID (EIDRM).
 *
 * Run as `sem_procs`; it re-executes itself as `sem_procs exit-now`.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>

#include "ipcutil.h"

static int sem_add(int id, int num, int delta, int flags)
{
	struct sembuf op = { (unsigned short)num, (short)delta, (short)flags };
	return semop(id, &op, 1);
}

static int val(int id, int num)
{
	return semctl(id, num, GETVAL);
}

static void on_signal(int s)
{
	(void)s;
}

/* A child that sleeps in semop(num, delta) and exits 0 if the call ends
 * with `expect` (0: success). */
static pid_t sleeper(int id, int num, int delta, int expect)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
		int r = sem_add(id, num, delta, 0);
		int e = errno;
		if (expect == 0)
			_exit(r == 0 ? 0 : 10 + e);
		_exit(r == -1 && e == expect ? 0 : 100 + (r == 0 ? 0 : e));
	}
	return pid;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exit-now") == 0)
		return 0;
	ipc_isolate();

	int id = semget(IPC_PRIVATE, 8, 0600);
	CHECK(id >= 0, "semget 8 semaphores");
	volatile int *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	/* Three children pass a gate their parent opens. */
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			if (sem_add(id, 0, -1, 0) != 0)
				_exit(1);
			__sync_fetch_and_add(counter, 1);
			_exit(sem_add(id, 1, 1, 0) == 0 ? 0 : 2);
		}
	}
	CHECK(wait_until(semctl(id, 0, GETNCNT) == 3, 10000), "GETNCNT: 3 children wait at the gate");
	CHECK(*counter == 0 && val(id, 1) == 0, "none has passed");
	CHECK(sem_add(id, 0, 3, 0) == 0, "the parent opens the gate (+3)");
	CHECK(val(id, 0) == 0 && semctl(id, 0, GETNCNT) == 0,
	      "the sleepers' operations are done before semop returns (value %d)", val(id, 0));
	CHECK(sem_add(id, 1, -3, 0) == 0, "the parent waits for all three to be done");
	CHECK(*counter == 3, "all three passed (%d)", *counter);
	int ok = 1;
	for (int i = 0; i < 3; i++)
		ok &= wait_status(kids[i]) == 0;
	CHECK(ok, "the children exited 0");

	/* GETZCNT: a child waits for zero. */
	semctl(id, 2, SETVAL, (union semun){ .val = 1 });
	pid_t z = sleeper(id, 2, 0, 0);
	CHECK(wait_until(semctl(id, 2, GETZCNT) == 1, 10000), "GETZCNT: one child waits for zero");
	CHECK(semctl(id, 2, GETNCNT) == 0, "GETNCNT 0 meanwhile");
	semctl(id, 2, SETVAL, (union semun){ .val = 0 });
	CHECK(wait_status(z) == 0 && semctl(id, 2, GETZCNT) == 0, "SETVAL 0 wakes it");

	/* Sleepers are served as values allow, not strictly in order. */
	pid_t two = sleeper(id, 3, -2, 0);
	CHECK(wait_until(semctl(id, 3, GETNCNT) == 1, 10000), "a child waits for 2");
	pid_t one = sleeper(id, 3, -1, 0);
	CHECK(wait_until(semctl(id, 3, GETNCNT) == 2, 10000), "another waits for 1");
	sem_add(id, 3, 1, 0);
	CHECK(wait_status(one) == 0 && semctl(id, 3, GETNCNT) == 1, "+1 serves the second");
	sem_add(id, 3, 2, 0);
	CHECK(wait_status(two) == 0 && val(id, 3) == 0, "+2 serves the first");

	/* SEM_UNDO at exit. */
	semctl(id, 4, SETVAL, (union semun){ .val = 0 });
	pid_t c = fork();
	if (c == 0) {
		sem_add(id, 4, 2, SEM_UNDO);
		sem_add(id, 4, 1, 0);
		_exit(0);
	}
	CHECK(wait_status(c) == 0 && val(id, 4) == 1, "a child's +2 with SEM_UNDO is undone at exit (%d)", val(id, 4));
	CHECK(semctl(id, 4, GETPID) == c, "GETPID is the exited child");

	int go[2], ready[2];
	char b;
	/* Capped at SEMVMX. */
	semctl(id, 5, SETVAL, (union semun){ .val = 5 });
	pipe(go);
	pipe(ready);
	c = fork();
	if (c == 0) {
		sem_add(id, 5, -5, SEM_UNDO);
		write(ready[1], "r", 1);
		read(go[0], &b, 1);
		_exit(0);
	}
	read(ready[0], &b, 1);
	sem_add(id, 5, 32765, 0);
	write(go[1], "g", 1);
	CHECK(wait_status(c) == 0 && val(id, 5) == 32767, "an undo past SEMVMX stops there (%d)", val(id, 5));
	/* Capped at 0. */
	semctl(id, 5, SETVAL, (union semun){ .val = 0 });
	c = fork();
	if (c == 0) {
		sem_add(id, 5, 3, SEM_UNDO);
		write(ready[1], "r", 1);
		read(go[0], &b, 1);
		_exit(0);
	}
	read(ready[0], &b, 1);
	sem_add(id, 5, -2, 0);
	write(go[1], "g", 1);
	CHECK(wait_status(c) == 0 && val(id, 5) == 0, "an undo below 0 stops there (%d)", val(id, 5));
	/* SETVAL clears it. */
	c = fork();
	if (c == 0) {
		sem_add(id, 5, 4, SEM_UNDO);
		write(ready[1], "r", 1);
		read(go[0], &b, 1);
		_exit(0);
	}
	read(ready[0], &b, 1);
	semctl(id, 5, SETVAL, (union semun){ .val = 10 });
	write(go[1], "g", 1);
	CHECK(wait_status(c) == 0 && val(id, 5) == 10, "SETVAL drops other processes' adjustments (%d)", val(id, 5));

	/* Not inherited by fork; kept across execve. */
	semctl(id, 6, SETVAL, (union semun){ .val = 0 });
	c = fork();
	if (c == 0) {
		sem_add(id, 6, 1, SEM_UNDO);
		pid_t g = fork();
		if (g == 0)
			_exit(0);
		int st = wait_status(g);
		_exit(st == 0 && val(id, 6) == 1 ? 0 : 1);
	}
	CHECK(wait_status(c) == 0, "a forked child's exit does not undo its parent's operation");
	CHECK(val(id, 6) == 0, "the parent's own exit does");
	c = fork();
	if (c == 0) {
		sem_add(id, 6, 1, SEM_UNDO);
		char *args[] = { argv[0], "exit-now", NULL };
		execv(argv[0], args);
		_exit(127);
	}
	CHECK(wait_status(c) == 0 && val(id, 6) == 0, "an adjustment survives execve and is undone at exit (%d)",
	      val(id, 6));

	/* A lock held with SEM_UNDO is released when its holder is killed. */
	semctl(id, 7, SETVAL, (union semun){ .val = 1 });
	c = fork();
	if (c == 0) {
		sem_add(id, 7, -1, SEM_UNDO);
		write(ready[1], "r", 1);
		pause();
		_exit(0);
	}
	read(ready[0], &b, 1);
	pid_t waiter = sleeper(id, 7, -1, 0);
	CHECK(wait_until(semctl(id, 7, GETNCNT) == 1, 10000), "a second child waits for the lock");
	kill(c, SIGKILL);
	CHECK(WIFSIGNALED(wait_status(c)), "the holder is killed");
	CHECK(wait_status(waiter) == 0 && val(id, 7) == 0, "its undo hands the lock to the waiter");

	/* A signal ends the sleep with EINTR, even with SA_RESTART. */
	semctl(id, 0, SETVAL, (union semun){ .val = 0 });
	pid_t s = sleeper(id, 0, -1, EINTR);
	CHECK(wait_until(semctl(id, 0, GETNCNT) == 1, 10000), "a child sleeps in semop");
	kill(s, SIGUSR1);
	int st = wait_status(s);
	CHECK(st == 0, "a handled signal ends semop with EINTR (status %#x)", st);
	CHECK(semctl(id, 0, GETNCNT) == 0 && val(id, 0) == 0, "the interrupted call left no trace");

	/* SIGKILL ends a sleeper too. */
	s = sleeper(id, 0, -1, 0);
	CHECK(wait_until(semctl(id, 0, GETNCNT) == 1, 10000), "a child sleeps in semop");
	kill(s, SIGKILL);
	st = wait_status(s);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && semctl(id, 0, GETNCNT) == 0,
	      "SIGKILL ends it; it no longer counts");

	/* Removing the set wakes sleepers with EIDRM. */
	s = sleeper(id, 0, -1, EIDRM);
	pid_t s0 = sleeper(id, 5, 0, EIDRM);
	CHECK(wait_until(semctl(id, 0, GETNCNT) == 1 && semctl(id, 5, GETZCNT) == 1, 10000),
	      "two children sleep in semop");
	CHECK(semctl(id, 0, IPC_RMID) == 0, "IPC_RMID");
	st = wait_status(s);
	CHECK(st == 0, "the sleeper gets EIDRM (status %#x)", st);
	st = wait_status(s0);
	CHECK(st == 0, "the wait-for-zero sleeper too (status %#x)", st);

	/* An undo for a removed set is dropped quietly. */
	int gone = semget(IPC_PRIVATE, 1, 0600);
	c = fork();
	if (c == 0) {
		sem_add(gone, 0, 1, SEM_UNDO);
		write(ready[1], "r", 1);
		read(go[0], &b, 1);
		_exit(0);
	}
	read(ready[0], &b, 1);
	semctl(gone, 0, IPC_RMID);
	write(go[1], "g", 1);
	CHECK(wait_status(c) == 0, "a child exits with an adjustment for a removed set");
	return check_exit();
}
