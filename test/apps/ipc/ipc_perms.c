/*
 * System V IPC permission checks: root makes semaphore sets, segments and
 * queues with various modes, owners and groups, and a child that has
 * become uid/gid 65534 tries them: EACCES where the mode bits (owner,
 * group or other, for the owner or creator, the owner's or creator's
 * group, or others) deny the access, EPERM for IPC_SET/IPC_RMID by
 * someone who is neither owner nor creator, for SHM_LOCK without
 * RLIMIT_MEMLOCK, and for raising msg_qbytes past msgmnb; *_STAT_ANY
 * needs no permission. The IPC sysctls are root's to write.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <sys/resource.h>

#include "ipcutil.h"

#define NOBODY 65534

static void set_owner(int kind, int id, uid_t uid, gid_t gid, mode_t mode)
{
	if (kind == 's') {
		struct semid_ds ds;
		semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds });
		ds.sem_perm.uid = uid;
		ds.sem_perm.gid = gid;
		ds.sem_perm.mode = mode;
		semctl(id, 0, IPC_SET, (union semun){ .buf = &ds });
	} else if (kind == 'm') {
		struct shmid_ds ds;
		shmctl(id, IPC_STAT, &ds);
		ds.shm_perm.uid = uid;
		ds.shm_perm.gid = gid;
		ds.shm_perm.mode = mode;
		shmctl(id, IPC_SET, &ds);
	} else {
		struct msqid_ds ds;
		msgctl(id, IPC_STAT, &ds);
		ds.msg_perm.uid = uid;
		ds.msg_perm.gid = gid;
		ds.msg_perm.mode = mode;
		msgctl(id, IPC_SET, &ds);
	}
}

struct msg {
	long type;
	char text[8];
};

int main(void)
{
	ipc_isolate();
	key_t ka = test_key(1), kb = test_key(2);

	/* Root's objects. */
	int semA = semget(ka, 1, IPC_CREAT | 0600);            /* root only */
	int semB = semget(kb, 1, IPC_CREAT | 0644);            /* others read */
	int semC = semget(IPC_PRIVATE, 1, 0600);               /* group 65534 rw */
	int semD = semget(IPC_PRIVATE, 1, 0600);               /* owned by 65534 */
	set_owner('s', semC, 0, NOBODY, 0660);
	set_owner('s', semD, NOBODY, 0, 0600);
	int shmA = shmget(ka, 4096, IPC_CREAT | 0600);
	int shmB = shmget(kb, 4096, IPC_CREAT | 0644);
	int shmD = shmget(IPC_PRIVATE, 4096, 0600);
	int shmBig = shmget(IPC_PRIVATE, 128 * 1024, 0600);
	set_owner('m', shmD, NOBODY, 0, 0600);
	set_owner('m', shmBig, NOBODY, 0, 0600);
	int msgA = msgget(ka, IPC_CREAT | 0600);
	int msgB = msgget(kb, IPC_CREAT | 0622);               /* others write only */
	int msgD = msgget(IPC_PRIVATE, 0600);
	set_owner('q', msgD, NOBODY, 0, 0600);
	CHECK(semA >= 0 && semB >= 0 && semC >= 0 && semD >= 0 && shmA >= 0 && shmB >= 0 && shmD >= 0 &&
	      shmBig >= 0 && msgA >= 0 && msgB >= 0 && msgD >= 0, "root made its objects");
	struct msg m = { 1, "x" };
	msgsnd(msgA, &m, 1, 0);
	msgsnd(msgB, &m, 1, 0);
	fflush(stdout);

	pid_t c = fork();
	if (c == 0) {
		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
			CHECK(0, "become uid/gid 65534");
			_exit(check_exit());
		}
		struct sembuf op = { 0, 1, 0 };
		struct semid_ds sds;
		unsigned short vals[1] = { 1 };

		/* semaphores */
		CHECK(semget(ka, 0, 0) == semA, "semget asking no access finds a root-only set");
		CHECK_ERRNO(semget(ka, 0, 0400), EACCES, "semget asking read of a 0600 set -> EACCES");
		CHECK_ERRNO(semget(ka, 0, 0200), EACCES, "semget asking write -> EACCES");
		CHECK_ERRNO(semctl(semA, 0, GETVAL), EACCES, "GETVAL -> EACCES");
		CHECK_ERRNO(semctl(semA, 0, GETNCNT), EACCES, "GETNCNT -> EACCES");
		CHECK_ERRNO(semctl(semA, 0, GETALL, (union semun){ .array = vals }), EACCES, "GETALL -> EACCES");
		CHECK_ERRNO(semctl(semA, 0, IPC_STAT, (union semun){ .buf = &sds }), EACCES, "IPC_STAT -> EACCES");
		CHECK_ERRNO(semctl(semA % 32768, 0, SEM_STAT, (union semun){ .buf = &sds }), EACCES, "SEM_STAT -> EACCES");
		CHECK(semctl(semA % 32768, 0, SEM_STAT_ANY, (union semun){ .buf = &sds }) == semA,
		      "SEM_STAT_ANY needs no permission");
		CHECK_ERRNO(semctl(semA, 0, SETVAL, (union semun){ .val = 1 }), EACCES, "SETVAL -> EACCES");
		CHECK_ERRNO(semctl(semA, 0, SETALL, (union semun){ .array = vals }), EACCES, "SETALL -> EACCES");
		CHECK_ERRNO(semop(semA, &op, 1), EACCES, "semop -> EACCES");
		CHECK_ERRNO(semctl(semA, 0, IPC_SET, (union semun){ .buf = &sds }), EPERM, "IPC_SET -> EPERM");
		CHECK_ERRNO(semctl(semA, 0, IPC_RMID), EPERM, "IPC_RMID -> EPERM");
		CHECK(semget(kb, 0, 0444) == semB, "semget asking read of a 0644 set");
		CHECK_ERRNO(semget(kb, 0, 0600), EACCES, "... asking write -> EACCES");
		CHECK(semctl(semB, 0, GETVAL) == 0, "GETVAL of a 0644 set");
		struct sembuf zero = { 0, 0, IPC_NOWAIT };
		CHECK(semop(semB, &zero, 1) == 0, "waiting for zero needs only read");
		CHECK_ERRNO(semop(semB, &op, 1), EACCES, "changing it -> EACCES");
		CHECK(semop(semC, &op, 1) == 0 && semctl(semC, 0, SETVAL, (union semun){ .val = 3 }) == 0,
		      "group 65534 with mode 0660: semop and SETVAL");
		CHECK_ERRNO(semctl(semC, 0, IPC_RMID), EPERM, "group access does not allow IPC_RMID -> EPERM");
		CHECK(semctl(semD, 0, GETVAL) == 0 && semop(semD, &op, 1) == 0, "the owner (not creator) uses it");
		CHECK(semctl(semD, 0, IPC_STAT, (union semun){ .buf = &sds }) == 0 && sds.sem_perm.uid == NOBODY &&
		      sds.sem_perm.cuid == 0, "owner 65534, creator root");
		sds.sem_perm.mode = 0640;
		CHECK(semctl(semD, 0, IPC_SET, (union semun){ .buf = &sds }) == 0, "the owner may IPC_SET");
		CHECK(semctl(semD, 0, IPC_RMID) == 0, "and IPC_RMID");
		int mine = semget(IPC_PRIVATE, 1, 0600);
		CHECK(mine >= 0, "a set of its own");
		semctl(mine, 0, IPC_STAT, (union semun){ .buf = &sds });
		sds.sem_perm.uid = 0;
		CHECK(semctl(mine, 0, IPC_SET, (union semun){ .buf = &sds }) == 0, "given away to root");
		CHECK(semctl(mine, 0, GETVAL) == 0, "its creator keeps the owner's access");
		CHECK(semctl(mine, 0, IPC_RMID) == 0, "and may remove it");

		/* shared memory */
		struct shmid_ds mds;
		CHECK_ERRNO((long)shmat(shmA, NULL, 0), EACCES, "shmat of a 0600 segment -> EACCES");
		CHECK_ERRNO((long)shmat(shmA, NULL, SHM_RDONLY), EACCES, "... even read-only -> EACCES");
		CHECK_ERRNO(shmget(ka, 0, 0400), EACCES, "shmget asking read -> EACCES");
		CHECK_ERRNO(shmctl(shmA, IPC_STAT, &mds), EACCES, "IPC_STAT -> EACCES");
		CHECK(shmctl(shmA % 32768, SHM_STAT_ANY, &mds) == shmA, "SHM_STAT_ANY needs no permission");
		CHECK_ERRNO(shmctl(shmA, IPC_RMID, NULL), EPERM, "IPC_RMID -> EPERM");
		CHECK_ERRNO(shmctl(shmA, SHM_LOCK, NULL), EPERM, "SHM_LOCK -> EPERM");
		CHECK_ERRNO(shmctl(shmA, SHM_UNLOCK, NULL), EPERM, "SHM_UNLOCK -> EPERM");
		char *p = shmat(shmB, NULL, SHM_RDONLY);
		CHECK(p != (void *)-1, "shmat read-only of a 0644 segment");
		shmdt(p);
		CHECK_ERRNO((long)shmat(shmB, NULL, 0), EACCES, "read-write -> EACCES");
		CHECK_ERRNO((long)shmat(shmB, NULL, SHM_RDONLY | SHM_EXEC), EACCES, "executable -> EACCES");
		struct rlimit rl = { 64 * 1024, 64 * 1024 };
		CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "RLIMIT_MEMLOCK 64 KiB");
		CHECK(shmctl(shmD, SHM_LOCK, NULL) == 0, "the owner may lock 4 KiB");
		CHECK_ERRNO(shmctl(shmBig, SHM_LOCK, NULL), ENOMEM, "but not 128 KiB -> ENOMEM");
		CHECK(shmctl(shmD, SHM_UNLOCK, NULL) == 0, "SHM_UNLOCK");
		rl = (struct rlimit){ 0, 0 };
		setrlimit(RLIMIT_MEMLOCK, &rl);
		CHECK_ERRNO(shmctl(shmD, SHM_LOCK, NULL), EPERM, "with RLIMIT_MEMLOCK 0 -> EPERM");
		CHECK(shmctl(shmD, SHM_UNLOCK, NULL) == 0, "SHM_UNLOCK needs no limit");
		CHECK(shmctl(shmD, IPC_RMID, NULL) == 0 && shmctl(shmBig, IPC_RMID, NULL) == 0,
		      "the owner may IPC_RMID");

		/* message queues */
		struct msqid_ds qds;
		CHECK_ERRNO(msgsnd(msgA, &m, 1, IPC_NOWAIT), EACCES, "msgsnd to a 0600 queue -> EACCES");
		CHECK_ERRNO(msgrcv(msgA, &m, 8, 0, IPC_NOWAIT), EACCES, "msgrcv -> EACCES");
		CHECK_ERRNO(msgctl(msgA, IPC_STAT, &qds), EACCES, "IPC_STAT -> EACCES");
		CHECK(msgctl(msgA % 32768, MSG_STAT_ANY, &qds) == msgA && qds.msg_qnum == 1,
		      "MSG_STAT_ANY needs no permission");
		CHECK_ERRNO(msgctl(msgA, IPC_SET, &qds), EPERM, "IPC_SET -> EPERM");
		CHECK_ERRNO(msgctl(msgA, IPC_RMID, NULL), EPERM, "IPC_RMID -> EPERM");
		CHECK(msgsnd(msgB, &m, 1, IPC_NOWAIT) == 0, "msgsnd to a 0622 queue");
		CHECK_ERRNO(msgrcv(msgB, &m, 8, 0, IPC_NOWAIT), EACCES, "msgrcv from it -> EACCES");
		CHECK(msgctl(msgD, IPC_STAT, &qds) == 0, "the owner reads its queue's state");
		long mnb = sysctl_read("msgmnb");
		qds.msg_qbytes = mnb + 1;
		CHECK_ERRNO(msgctl(msgD, IPC_SET, &qds), EPERM, "raising msg_qbytes past msgmnb -> EPERM");
		qds.msg_qbytes = mnb / 2;
		CHECK(msgctl(msgD, IPC_SET, &qds) == 0, "lowering it is allowed");
		qds.msg_qbytes = mnb;
		CHECK(msgctl(msgD, IPC_SET, &qds) == 0, "and raising it up to msgmnb");
		CHECK(msgctl(msgD, IPC_RMID, NULL) == 0, "the owner may IPC_RMID");

		/* sysctls */
		CHECK(sysctl_read("msgmax") > 0, "/proc/sys/kernel/msgmax is readable");
		CHECK_ERRNO(sysctl_write("msgmax", "100"), EACCES, "but not writable -> EACCES");
		CHECK_ERRNO(sysctl_write("sem", "1 2 3 4"), EACCES, "nor is sem -> EACCES");
		_exit(check_exit());
	}
	int st = wait_status(c);
	CHECK(st == 0, "the unprivileged child's checks held (status %#x)", st);
	CHECK_ERRNO(semctl(semD, 0, GETVAL), EINVAL, "the child removed the set it owned");
	CHECK(semctl(semC, 0, GETVAL) == 3, "and changed the group's set");
	CHECK(semctl(semA, 0, IPC_RMID) == 0 && semctl(semB, 0, IPC_RMID) == 0 && semctl(semC, 0, IPC_RMID) == 0 &&
	      shmctl(shmA, IPC_RMID, NULL) == 0 && shmctl(shmB, IPC_RMID, NULL) == 0 &&
	      msgctl(msgA, IPC_RMID, NULL) == 0 && msgctl(msgB, IPC_RMID, NULL) == 0, "root removes the rest");
	return check_exit();
}
