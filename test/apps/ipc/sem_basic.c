/*
 * System V semaphores in one process: semget's keys and flags, semctl's
 * commands (GETVAL, SETVAL, GETALL, SETALL, GETPID, GETNCNT, GETZCNT,
 * IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, SEM_INFO, SEM_STAT,
 * SEM_STAT_ANY), semop's atomicity, IPC_NOWAIT, SEM_UNDO's range,
 * semtimedop's timeout, and the errors: EINVAL, ENOENT, EEXIST, E2BIG,
 * EFBIG, ERANGE, EAGAIN, EFAULT.
 */
#define _GNU_SOURCE
#include "ipcutil.h"

#define BAD ((void *)16)

static long semop_raw(int id, struct sembuf *ops, size_t n)
{
	return syscall(SYS_semop, id, ops, n);
}

static long semtimedop_raw(int id, struct sembuf *ops, size_t n, const struct timespec *ts)
{
	return syscall(SYS_semtimedop, id, ops, n, ts);
}

static long ms_since(struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(void)
{
	ipc_isolate();
	key_t key = test_key(1);
	long semmsl = sysctl_read("sem");

	/* semget */
	CHECK_ERRNO(semget(IPC_PRIVATE, 0, 0600), EINVAL, "semget nsems 0 -> EINVAL");
	CHECK_ERRNO(semget(IPC_PRIVATE, -1, 0600), EINVAL, "semget nsems -1 -> EINVAL");
	CHECK_ERRNO(semget(IPC_PRIVATE, (int)semmsl + 1, 0600), EINVAL,
		    "semget nsems SEMMSL+1 (%ld) -> EINVAL", semmsl + 1);
	int id = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(id >= 0, "semget(key, 3, IPC_CREAT|IPC_EXCL) = %d", id);
	CHECK_ERRNO(semget(key, 3, IPC_CREAT | IPC_EXCL | 0600), EEXIST,
		    "semget existing key with IPC_CREAT|IPC_EXCL -> EEXIST");
	CHECK(semget(key, 3, IPC_CREAT | 0600) == id, "semget existing key with IPC_CREAT finds it");
	CHECK(semget(key, 0, 0) == id, "semget(key, 0, 0) finds it");
	CHECK(semget(key, 2, 0) == id, "semget with fewer semaphores finds it");
	CHECK_ERRNO(semget(key, 4, 0), EINVAL, "semget asking more semaphores than the set has -> EINVAL");
	CHECK_ERRNO(semget(test_key(2), 1, 0600), ENOENT, "semget unknown key without IPC_CREAT -> ENOENT");
	int priv = semget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600);
	int priv2 = semget(IPC_PRIVATE, 1, 0600);
	CHECK(priv >= 0 && priv2 >= 0 && priv != priv2 && priv != id,
	      "IPC_PRIVATE always makes a new set (%d, %d)", priv, priv2);

	/* IPC_STAT of a fresh set */
	struct semid_ds ds;
	memset(&ds, 0xff, sizeof ds);
	CHECK(semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }) == 0, "IPC_STAT");
	CHECK(ds.sem_nsems == 3, "sem_nsems = 3 (%lu)", (unsigned long)ds.sem_nsems);
	CHECK((ds.sem_perm.mode & 0777) == 0600, "mode 0600 (%o)", ds.sem_perm.mode);
	CHECK(ds.sem_perm.uid == geteuid() && ds.sem_perm.cuid == geteuid() &&
	      ds.sem_perm.gid == getegid() && ds.sem_perm.cgid == getegid(),
	      "owner and creator are the caller");
	CHECK(ds.sem_perm.__key == key, "key recorded");
	CHECK(ds.sem_otime == 0 && ds.sem_ctime > 0, "otime 0, ctime set (%ld)", (long)ds.sem_ctime);
	CHECK_ERRNO(raw_semctl(id, 0, IPC_STAT, (unsigned long)BAD), EFAULT, "IPC_STAT to a bad buffer -> EFAULT");

	/* GETVAL / SETVAL / GETPID */
	CHECK(semctl(id, 0, GETVAL) == 0, "a new semaphore is 0");
	CHECK(semctl(id, 1, SETVAL, (union semun){ .val = 5 }) == 0, "SETVAL 5");
	CHECK(semctl(id, 1, GETVAL) == 5, "GETVAL 5");
	CHECK(semctl(id, 1, GETPID) == getpid(), "GETPID is the caller after SETVAL");
	CHECK(semctl(id, 0, GETPID) == 0, "GETPID 0 before any operation");
	CHECK(raw_semctl(id, 2, SETVAL, 0x100000007UL) == 0 && semctl(id, 2, GETVAL) == 7,
	      "SETVAL takes the int of the argument");
	CHECK_ERRNO(semctl(id, 1, SETVAL, (union semun){ .val = 32768 }), ERANGE, "SETVAL 32768 -> ERANGE");
	CHECK_ERRNO(semctl(id, 1, SETVAL, (union semun){ .val = -1 }), ERANGE, "SETVAL -1 -> ERANGE");
	CHECK(semctl(id, 1, SETVAL, (union semun){ .val = 32767 }) == 0, "SETVAL 32767 (SEMVMX)");
	CHECK_ERRNO(semctl(id, 3, GETVAL), EINVAL, "GETVAL semnum 3 of 3 -> EINVAL");
	CHECK_ERRNO(semctl(id, -1, GETVAL), EINVAL, "GETVAL semnum -1 -> EINVAL");
	CHECK_ERRNO(semctl(id, 3, SETVAL, (union semun){ .val = 1 }), EINVAL, "SETVAL semnum 3 -> EINVAL");
	CHECK(semctl(id, 0, GETNCNT) == 0 && semctl(id, 0, GETZCNT) == 0, "GETNCNT, GETZCNT 0");

	/* SETALL / GETALL */
	unsigned short vals[3] = { 1, 2, 3 }, got[3] = { 9, 9, 9 };
	CHECK(semctl(id, 0, SETALL, (union semun){ .array = vals }) == 0, "SETALL {1,2,3}");
	CHECK(semctl(id, 0, GETALL, (union semun){ .array = got }) == 0 &&
	      got[0] == 1 && got[1] == 2 && got[2] == 3, "GETALL {%d,%d,%d}", got[0], got[1], got[2]);
	unsigned short big[3] = { 1, 40000, 3 };
	CHECK_ERRNO(semctl(id, 0, SETALL, (union semun){ .array = big }), ERANGE, "SETALL with 40000 -> ERANGE");
	CHECK(semctl(id, 1, GETVAL) == 2, "a failed SETALL changes nothing");
	CHECK_ERRNO(raw_semctl(id, 0, SETALL, (unsigned long)BAD), EFAULT, "SETALL from a bad buffer -> EFAULT");
	CHECK_ERRNO(raw_semctl(id, 0, GETALL, (unsigned long)BAD), EFAULT, "GETALL to a bad buffer -> EFAULT");

	/* semop */
	struct sembuf op[3];
	op[0] = (struct sembuf){ 0, -1, 0 };
	CHECK(semop(id, op, 1) == 0 && semctl(id, 0, GETVAL) == 0, "semop -1 on 1 -> 0");
	CHECK(semctl(id, 0, GETPID) == getpid(), "GETPID is the caller after semop");
	CHECK(semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }) == 0 && ds.sem_otime > 0,
	      "sem_otime set by semop");
	op[0] = (struct sembuf){ 0, -1, IPC_NOWAIT };
	CHECK_ERRNO(semop(id, op, 1), EAGAIN, "semop -1 on 0 with IPC_NOWAIT -> EAGAIN");
	op[0] = (struct sembuf){ 1, 0, IPC_NOWAIT };
	CHECK_ERRNO(semop(id, op, 1), EAGAIN, "wait-for-zero on 2 with IPC_NOWAIT -> EAGAIN");
	op[0] = (struct sembuf){ 0, 0, 0 };
	CHECK(semop(id, op, 1) == 0, "wait-for-zero on 0 returns at once");
	/* atomicity: the second operation would block, so the first is undone */
	op[0] = (struct sembuf){ 1, 5, 0 };
	op[1] = (struct sembuf){ 0, -1, IPC_NOWAIT };
	CHECK_ERRNO(semop(id, op, 2), EAGAIN, "semop {+5 on #1, -1 on #0} -> EAGAIN");
	CHECK(semctl(id, 1, GETVAL) == 2, "... and #1 is unchanged");
	/* several operations on one semaphore add up, in order */
	op[0] = (struct sembuf){ 2, 4, 0 };
	op[1] = (struct sembuf){ 2, -6, 0 };
	op[2] = (struct sembuf){ 2, 1, 0 };
	CHECK(semop(id, op, 3) == 0 && semctl(id, 2, GETVAL) == 2, "{+4, -6, +1} on 3 -> 2");
	op[0] = (struct sembuf){ 2, -3, IPC_NOWAIT };
	op[1] = (struct sembuf){ 2, 3, 0 };
	CHECK_ERRNO(semop(id, op, 2), EAGAIN, "{-3, +3} on 2 blocks on the first");
	op[0] = (struct sembuf){ 3, 1, 0 };
	CHECK_ERRNO(semop(id, op, 1), EFBIG, "semop on semaphore 3 of 3 -> EFBIG");
	CHECK_ERRNO(semop_raw(id, op, 0), EINVAL, "semop with 0 operations -> EINVAL");
	CHECK_ERRNO(semop_raw(id, op, 501), E2BIG, "semop with 501 operations (> SEMOPM) -> E2BIG");
	CHECK_ERRNO(semop_raw(id, NULL, 1), EFAULT, "semop from NULL -> EFAULT");
	CHECK_ERRNO(semop_raw(-1, NULL, 1), EFAULT, "semop reads the operations before checking the id");
	op[0] = (struct sembuf){ 0, 1, 0 };
	CHECK_ERRNO(semop_raw(-1, op, 1), EINVAL, "semop on id -1 -> EINVAL");
	CHECK_ERRNO(semop_raw(id + 1000 * 32768, op, 1), EINVAL, "semop on an unused id -> EINVAL");
	CHECK(semctl(id, 0, SETVAL, (union semun){ .val = 32760 }) == 0, "SETVAL 32760");
	op[0] = (struct sembuf){ 0, 8, 0 };
	CHECK_ERRNO(semop(id, op, 1), ERANGE, "semop past SEMVMX -> ERANGE");
	op[0] = (struct sembuf){ 0, 7, 0 };
	CHECK(semop(id, op, 1) == 0 && semctl(id, 0, GETVAL) == 32767, "semop up to SEMVMX");

	/* SEM_UNDO adjustments are bounded like values */
	CHECK(semctl(id, 0, SETVAL, (union semun){ .val = 0 }) == 0, "SETVAL 0");
	op[0] = (struct sembuf){ 0, 32767, SEM_UNDO };
	CHECK(semop(id, op, 1) == 0, "semop +32767 with SEM_UNDO (adjustment -32767)");
	op[0] = (struct sembuf){ 0, -32767, 0 };
	CHECK(semop(id, op, 1) == 0, "semop -32767 without undo");
	op[0] = (struct sembuf){ 0, 2, SEM_UNDO };
	CHECK_ERRNO(semop(id, op, 1), ERANGE, "an adjustment below -32768 -> ERANGE");
	op[0] = (struct sembuf){ 0, 1, SEM_UNDO };
	CHECK(semop(id, op, 1) == 0, "an adjustment of -32768 is allowed");
	CHECK(semctl(id, 0, SETVAL, (union semun){ .val = 0 }) == 0, "SETVAL clears the adjustment");
	op[0] = (struct sembuf){ 0, 2, SEM_UNDO };
	CHECK(semop(id, op, 1) == 0, "... so +2 with SEM_UNDO works again");
	CHECK(semctl(id, 0, SETVAL, (union semun){ .val = 0 }) == 0, "SETVAL 0");

	/* semtimedop */
	struct timespec ts = { 0, 100 * 1000000 }, t0;
	op[0] = (struct sembuf){ 0, -1, 0 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_ERRNO(semtimedop_raw(id, op, 1, &ts), EAGAIN, "semtimedop 100 ms on 0 -> EAGAIN");
	long waited = ms_since(&t0);
	CHECK(waited >= 90, "... after the timeout (%ld ms)", waited);
	ts = (struct timespec){ 0, 0 };
	CHECK_ERRNO(semtimedop_raw(id, op, 1, &ts), EAGAIN, "semtimedop with a zero timeout -> EAGAIN");
	ts = (struct timespec){ 0, 1000000000 };
	CHECK_ERRNO(semtimedop_raw(id, op, 1, &ts), EINVAL, "semtimedop tv_nsec 1e9 -> EINVAL");
	ts = (struct timespec){ -1, 0 };
	CHECK_ERRNO(semtimedop_raw(id, op, 1, &ts), EINVAL, "semtimedop tv_sec -1 -> EINVAL");
	CHECK_ERRNO(semtimedop_raw(id, op, 0, BAD), EFAULT, "semtimedop reads the timeout first -> EFAULT");
	op[0] = (struct sembuf){ 0, 1, 0 };
	ts = (struct timespec){ 1, 0 };
	CHECK(semtimedop_raw(id, op, 1, &ts) == 0 && semctl(id, 0, GETVAL) == 1,
	      "semtimedop that need not wait");
	CHECK(semtimedop_raw(id, op, 1, NULL) == 0 && semctl(id, 0, GETVAL) == 2,
	      "semtimedop with no timeout");

	/* IPC_SET */
	semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds });
	time_t ctime0 = ds.sem_ctime;
	ds.sem_perm.mode = 0640 | 0170000;
	CHECK(semctl(id, 0, IPC_SET, (union semun){ .buf = &ds }) == 0, "IPC_SET mode 0640");
	CHECK(semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }) == 0 && (ds.sem_perm.mode & 07777) == 0640,
	      "only the permission bits change (%o)", ds.sem_perm.mode);
	CHECK(ds.sem_ctime >= ctime0, "ctime updated");
	ds.sem_perm.uid = (uid_t)-1;
	CHECK_ERRNO(semctl(id, 0, IPC_SET, (union semun){ .buf = &ds }), EINVAL, "IPC_SET uid -1 -> EINVAL");
	CHECK_ERRNO(raw_semctl(id, 0, IPC_SET, (unsigned long)BAD), EFAULT, "IPC_SET from a bad buffer -> EFAULT");

	/* IPC_INFO, SEM_INFO, SEM_STAT */
	struct seminfo si;
	int max_index = semctl(0, 0, IPC_INFO, (union semun){ .__buf = &si });
	CHECK(max_index >= id % 32768, "IPC_INFO returns the highest index in use (%d)", max_index);
	CHECK(si.semmsl == semmsl && si.semvmx == 32767 && si.semopm == 500 && si.semusz == 20,
	      "IPC_INFO: semmsl %d semvmx %d semopm %d semusz %d", si.semmsl, si.semvmx, si.semopm, si.semusz);
	CHECK(semctl(0, 0, SEM_INFO, (union semun){ .__buf = &si }) == max_index, "SEM_INFO returns the same");
	CHECK(si.semusz >= 3 && si.semaem >= 5, "SEM_INFO: %d sets, %d semaphores in use", si.semusz, si.semaem);
	CHECK_ERRNO(raw_semctl(0, 0, IPC_INFO, (unsigned long)BAD), EFAULT, "IPC_INFO to a bad buffer -> EFAULT");
	CHECK(semctl(id % 32768, 0, SEM_STAT, (union semun){ .buf = &ds }) == id && ds.sem_nsems == 3,
	      "SEM_STAT by index returns the id");
	CHECK(semctl(id % 32768, 0, SEM_STAT_ANY, (union semun){ .buf = &ds }) == id, "SEM_STAT_ANY too");
	CHECK_ERRNO(semctl(32767, 0, SEM_STAT, (union semun){ .buf = &ds }), EINVAL, "SEM_STAT of a free index -> EINVAL");
	CHECK(semctl(32768 + id % 32768, 0, SEM_STAT, (union semun){ .buf = &ds }) == id,
	      "SEM_STAT takes the index modulo 32768");

	/* bad commands and ids */
	CHECK_ERRNO(raw_semctl(id, 0, 99, 0), EINVAL, "semctl command 99 -> EINVAL");
	CHECK_ERRNO(raw_semctl(id, 0, IPC_STAT | 0x100, (unsigned long)&ds), EINVAL,
		    "IPC_64 is not a flag on x86-64 -> EINVAL");
	CHECK_ERRNO(raw_semctl(-1, 0, IPC_INFO, (unsigned long)&si), EINVAL, "semctl id -1 -> EINVAL");

	/* IPC_RMID, and ids are not reused at once */
	CHECK(semctl(id, 0, IPC_RMID) == 0, "IPC_RMID");
	CHECK_ERRNO(semctl(id, 0, GETVAL), EINVAL, "GETVAL of a removed set -> EINVAL");
	CHECK_ERRNO(semctl(id, 0, IPC_RMID), EINVAL, "IPC_RMID twice -> EINVAL");
	CHECK_ERRNO(semget(key, 1, 0600), ENOENT, "the key is free again");
	int id2 = semget(key, 1, IPC_CREAT | 0600);
	CHECK(id2 >= 0 && id2 != id, "a new set with that key gets a new id (%d, was %d)", id2, id);
	CHECK_ERRNO(semctl(id, 0, GETVAL), EINVAL, "the old id still names nothing");
	CHECK(semctl(id2, 0, IPC_RMID) == 0 && semctl(priv, 0, IPC_RMID) == 0 &&
	      semctl(priv2, 0, IPC_RMID) == 0, "cleanup");
	return check_exit();
}
