/*
 * System V IPC under contention: processes that create, use and remove
 * the same semaphore set, segment and queue at once, so that every call
 * may find its object gone (EINVAL), removed under it (EIDRM) or just
 * made. Only those errors may appear, nothing may hang, and at the end no
 * segment is left attached and every object can be removed.
 */
#define _GNU_SOURCE
#include <signal.h>

#include "ipcutil.h"

#define WORKERS 4
#define ROUNDS 300

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245 + 12345;
	return *s >> 16;
}

/* Exit status: 0, or 100 + the unexpected errno. */
static int allowed(int e)
{
	return e == EINVAL || e == EIDRM || e == EAGAIN || e == ENOENT || e == ENOMSG || e == EEXIST;
}

#define TRY(call)                                               \
	do {                                                    \
		if ((long)(call) == -1 && !allowed(errno))      \
			_exit(100 + errno);                     \
	} while (0)

static void sem_worker(key_t key, unsigned seed)
{
	for (int i = 0; i < ROUNDS; i++) {
		int id = semget(key, 2, IPC_CREAT | 0600);
		if (id < 0) {
			TRY(id);
			continue;
		}
		struct sembuf ops[2] = { { 0, 1, SEM_UNDO }, { 1, (short)(rnd(&seed) % 2 ? 1 : -1), IPC_NOWAIT } };
		TRY(semop(id, ops, 1 + rnd(&seed) % 2));
		struct timespec ts = { 0, 1000000 };
		struct sembuf wait0 = { 0, -1, 0 };
		TRY(semtimedop(id, &wait0, 1, &ts));
		TRY(semctl(id, 1, SETVAL, (union semun){ .val = (int)(rnd(&seed) % 3) }));
		if (rnd(&seed) % 8 == 0)
			TRY(semctl(id, 0, IPC_RMID));
	}
	_exit(0);
}

static void shm_worker(key_t key, unsigned seed)
{
	for (int i = 0; i < ROUNDS; i++) {
		int id = shmget(key, 8192, IPC_CREAT | 0600);
		if (id < 0) {
			TRY(id);
			continue;
		}
		char *p = shmat(id, NULL, 0);
		if (p == (void *)-1) {
			TRY(-1);
			continue;
		}
		p[rnd(&seed) % 8192] = 1;
		if (rnd(&seed) % 4 == 0) {
			pid_t c = fork();
			if (c == 0)
				_exit((p[1] = 2) == 2 ? 0 : 1);
			if (c > 0)
				waitpid(c, NULL, 0);
		}
		if (rnd(&seed) % 8 == 0)
			TRY(shmctl(id, IPC_RMID, NULL));
		if (shmdt(p) != 0)
			_exit(99);
	}
	_exit(0);
}

static void msg_worker(key_t key, unsigned seed)
{
	struct {
		long type;
		char text[128];
	} m;
	for (int i = 0; i < ROUNDS; i++) {
		int id = msgget(key, IPC_CREAT | 0600);
		if (id < 0) {
			TRY(id);
			continue;
		}
		m.type = 1 + rnd(&seed) % 3;
		TRY(msgsnd(id, &m, rnd(&seed) % sizeof m.text, IPC_NOWAIT));
		TRY(msgrcv(id, &m, sizeof m.text, -(long)(rnd(&seed) % 4), IPC_NOWAIT | MSG_NOERROR));
		if (rnd(&seed) % 16 == 0)
			TRY(msgctl(id, IPC_RMID, NULL));
	}
	_exit(0);
}

int main(void)
{
	ipc_isolate();
	key_t key = test_key(1);
	pid_t kids[3 * WORKERS];
	int n = 0;
	for (int w = 0; w < WORKERS; w++) {
		void (*fns[3])(key_t, unsigned) = { sem_worker, shm_worker, msg_worker };
		for (int f = 0; f < 3; f++) {
			pid_t c = fork();
			if (c == 0)
				fns[f](key, 1 + w * 3 + f);
			kids[n++] = c;
		}
	}
	/* A receiver that sleeps until the queue is removed under it. */
	int q = msgget(key, IPC_CREAT | 0600);
	pid_t sleeper = fork();
	if (sleeper == 0) {
		struct {
			long type;
			char text[8];
		} m;
		for (;;) {
			if (msgrcv(q, &m, sizeof m.text, 99, 0) == -1)
				_exit(errno == EIDRM || errno == EINVAL ? 0 : 1);
		}
	}

	int bad = 0;
	for (int i = 0; i < n; i++) {
		int st = wait_status(kids[i]);
		if (st != 0) {
			INFO("worker %d ended with status %#x", i, st);
			bad++;
		}
	}
	CHECK(bad == 0, "%d workers raced on one set, segment and queue; only EINVAL/EIDRM/EAGAIN/ENOENT/ENOMSG", n);
	msgctl(q, IPC_RMID, NULL);
	CHECK(wait_status(sleeper) == 0, "a receiver sleeping on a removed queue ends");

	int sem = semget(key, 0, 0), shm = shmget(key, 0, 0), msg = msgget(key, 0);
	struct shmid_ds ds;
	CHECK(shm < 0 || (shmctl(shm, IPC_STAT, &ds) == 0 && ds.shm_nattch == 0), "the segment, if any, is detached");
	CHECK((sem < 0 || semctl(sem, 0, IPC_RMID) == 0) && (shm < 0 || shmctl(shm, IPC_RMID, NULL) == 0) &&
	      (msg < 0 || msgctl(msg, IPC_RMID, NULL) == 0), "what is left can be removed");
	struct shm_info usage;
	shmctl(0, SHM_INFO, (struct shmid_ds *)&usage);
	INFO("segments left in the system: %d", usage.__used_ids);
	return check_exit();
}
