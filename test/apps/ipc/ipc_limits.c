/*
 * The System V IPC limits in /proc/sys/kernel (sem, shmmax, shmall,
 * shmmni, msgmax, msgmnb, msgmni): Linux's defaults, the same figures in
 * IPC_INFO, and root's changes taking effect: EINVAL past SEMMSL, SHMMAX,
 * MSGMAX; ENOSPC past SEMMNS, SEMMNI, SHMALL, SHMMNI, MSGMNI; E2BIG past
 * SEMOPM; MSGMNB as new queues' size. Bad values are refused (EINVAL, or
 * ERANGE for SEMMNI, as Linux). Everything is restored at the end.
 */
#define _GNU_SOURCE
#include "ipcutil.h"

#define PAGE 4096UL

static const char *names[] = { "sem", "shmmax", "shmall", "shmmni", "msgmax", "msgmnb", "msgmni" };
static char saved[7][128];

static void sysctl_text(const char *name, char *buf, size_t size)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	buf[0] = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
}

static int setf(const char *name, const char *fmt, long a, long b, long c, long d)
{
	char text[128];
	snprintf(text, sizeof text, fmt, a, b, c, d);
	return sysctl_write(name, text);
}

int main(void)
{
	ipc_isolate();
	for (int i = 0; i < 7; i++)
		sysctl_text(names[i], saved[i], sizeof saved[i]);
	char t[128];

	/* Linux's defaults, and IPC_INFO agrees. */
	CHECK(!strcmp(saved[0], "32000\t1024000000\t500\t32000\n"), "sem: 32000 1024000000 500 32000");
	CHECK(!strcmp(saved[1], "18446744073692774399\n") && !strcmp(saved[2], "18446744073692774399\n"),
	      "shmmax, shmall: ULONG_MAX - 2^24");
	CHECK(!strcmp(saved[3], "4096\n") && !strcmp(saved[4], "8192\n") && !strcmp(saved[5], "16384\n") &&
	      !strcmp(saved[6], "32000\n"), "shmmni 4096, msgmax 8192, msgmnb 16384, msgmni 32000");
	struct seminfo si;
	struct shminfo shi;
	struct msginfo mi;
	semctl(0, 0, IPC_INFO, (union semun){ .__buf = &si });
	shmctl(0, IPC_INFO, (struct shmid_ds *)&shi);
	msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
	CHECK(si.semmsl == 32000 && si.semmns == 1024000000 && si.semopm == 500 && si.semmni == 32000,
	      "semctl IPC_INFO has the same");
	CHECK(shi.shmmax == 18446744073692774399UL && shi.shmall == 18446744073692774399UL && shi.shmmni == 4096,
	      "shmctl IPC_INFO has the same");
	CHECK(mi.msgmax == 8192 && mi.msgmnb == 16384 && mi.msgmni == 32000, "msgctl IPC_INFO has the same");

	/* msgmax, msgmnb, msgmni */
	int q = msgget(IPC_PRIVATE, 0600);
	struct { long type; char text[256]; } m = { 1, { 0 } };
	CHECK(sysctl_write("msgmax", "100") == 0 && sysctl_read("msgmax") == 100, "msgmax 100");
	CHECK_ERRNO(msgsnd(q, &m, 101, IPC_NOWAIT), EINVAL, "a 101-byte message -> EINVAL");
	CHECK(msgsnd(q, &m, 100, IPC_NOWAIT) == 0, "a 100-byte one is fine");
	CHECK(sysctl_write("msgmnb", "1000") == 0, "msgmnb 1000");
	int q2 = msgget(IPC_PRIVATE, 0600);
	struct msqid_ds qds;
	msgctl(q2, IPC_STAT, &qds);
	CHECK(qds.msg_qbytes == 1000, "a new queue holds msgmnb bytes (%lu)", (unsigned long)qds.msg_qbytes);
	msgctl(q, IPC_STAT, &qds);
	CHECK(qds.msg_qbytes == 16384, "an older one keeps its size");
	msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
	CHECK(setf("msgmni", "%ld", mi.msgpool, 0, 0, 0) == 0, "msgmni = queues in use (%d)", mi.msgpool);
	CHECK_ERRNO(msgget(IPC_PRIVATE, 0600), ENOSPC, "one queue more -> ENOSPC");
	CHECK(msgget(test_key(1), 0) == -1 && errno == ENOENT, "looking up a key still works");
	CHECK(setf("msgmni", "%ld", mi.msgpool + 1, 0, 0, 0) == 0 && msgget(IPC_PRIVATE, 0600) >= 0,
	      "one more allowed, one more made");
	CHECK_ERRNO(sysctl_write("msgmni", "32769"), EINVAL, "msgmni 32769 -> EINVAL");
	CHECK_ERRNO(sysctl_write("msgmni", "-1"), EINVAL, "msgmni -1 -> EINVAL");
	CHECK(sysctl_write("msgmni", "32768") == 0, "msgmni 32768 is the most");
	CHECK_ERRNO(sysctl_write("msgmax", "abc"), EINVAL, "msgmax abc -> EINVAL");
	CHECK_ERRNO(sysctl_write("msgmax", "+5"), EINVAL, "msgmax +5 -> EINVAL");
	CHECK_ERRNO(sysctl_write("msgmnb", "2147483648"), EINVAL, "msgmnb 2^31 -> EINVAL");
	CHECK(sysctl_read("msgmax") == 100 && sysctl_read("msgmnb") == 1000, "refused writes change nothing");

	/* shmmax, shmall, shmmni */
	CHECK(sysctl_write("shmmax", "8192") == 0, "shmmax 8192");
	CHECK_ERRNO(shmget(IPC_PRIVATE, 8193, 0600), EINVAL, "an 8193-byte segment -> EINVAL");
	int s1 = shmget(IPC_PRIVATE, 8192, 0600);
	CHECK(s1 >= 0, "an 8192-byte one is fine");
	struct shm_info usage;
	shmctl(0, SHM_INFO, (struct shmid_ds *)&usage);
	CHECK(setf("shmall", "%ld", usage.shm_tot + 1, 0, 0, 0) == 0, "shmall = pages in use + 1 (%lu)",
	      usage.shm_tot + 1);
	CHECK_ERRNO(shmget(IPC_PRIVATE, PAGE + 1, 0600), ENOSPC, "a 2-page segment -> ENOSPC");
	int s2 = shmget(IPC_PRIVATE, PAGE, 0600);
	CHECK(s2 >= 0, "a 1-page one fits");
	CHECK_ERRNO(shmget(IPC_PRIVATE, 1, 0600), ENOSPC, "and then nothing more -> ENOSPC");
	shmctl(s2, IPC_RMID, NULL);
	CHECK(shmget(IPC_PRIVATE, 1, 0600) >= 0, "removing one gives its pages back");
	sysctl_write("shmall", saved[2]);
	shmctl(0, SHM_INFO, (struct shmid_ds *)&usage);
	CHECK(setf("shmmni", "%ld", usage.__used_ids, 0, 0, 0) == 0, "shmmni = segments in use (%d)", usage.__used_ids);
	CHECK_ERRNO(shmget(IPC_PRIVATE, PAGE, 0600), ENOSPC, "one segment more -> ENOSPC");
	shmctl(0, IPC_INFO, (struct shmid_ds *)&shi);
	CHECK(shi.shmmni == (unsigned long)usage.__used_ids && shi.shmmax == 8192, "IPC_INFO shows the new limits");
	CHECK_ERRNO(sysctl_write("shmmni", "32769"), EINVAL, "shmmni 32769 -> EINVAL");
	CHECK_ERRNO(sysctl_write("shmmax", "-1"), EINVAL, "shmmax -1 -> EINVAL");
	CHECK_ERRNO(sysctl_write("shmmax", "18446744073709551616"), EINVAL, "shmmax 2^64 -> EINVAL");
	CHECK(sysctl_write("shmmax", "18446744073709551615") == 0, "shmmax ULONG_MAX");
	sysctl_text("shmmax", t, sizeof t);
	CHECK(!strcmp(t, "18446744073709551615\n"), "reads back the same");
	CHECK(sysctl_write("shmmax", " 77 \n") == 0 && sysctl_read("shmmax") == 77, "white space is skipped");

	/* sem */
	semctl(0, 0, SEM_INFO, (union semun){ .__buf = &si });
	CHECK(sysctl_write("sem", "10 1024000000 500 32000") == 0, "SEMMSL 10");
	CHECK_ERRNO(semget(IPC_PRIVATE, 11, 0600), EINVAL, "a set of 11 -> EINVAL");
	CHECK(semget(IPC_PRIVATE, 10, 0600) >= 0, "a set of 10 is fine");
	CHECK(setf("sem", "%ld %ld %ld %ld", 32000, si.semaem + 15, 500, 32000) == 0, "SEMMNS = in use + 15");
	CHECK_ERRNO(semget(IPC_PRIVATE, 6, 0600), ENOSPC, "6 more semaphores -> ENOSPC");
	int five = semget(IPC_PRIVATE, 5, 0600);
	CHECK(five >= 0, "5 more fit");
	CHECK(sysctl_write("sem", "32000 1024000000 3 32000") == 0, "SEMOPM 3");
	struct sembuf ops[4] = { { 0, 1, 0 }, { 1, 1, 0 }, { 2, 1, 0 }, { 3, 1, 0 } };
	CHECK_ERRNO(semop(five, ops, 4), E2BIG, "4 operations -> E2BIG");
	CHECK(semop(five, ops, 3) == 0, "3 are fine");
	semctl(0, 0, SEM_INFO, (union semun){ .__buf = &si });
	CHECK(setf("sem", "32000 1024000000 500 %ld", si.semusz, 0, 0, 0) == 0, "SEMMNI = sets in use (%d)",
	      si.semusz);
	CHECK_ERRNO(semget(IPC_PRIVATE, 1, 0600), ENOSPC, "one set more -> ENOSPC");
	CHECK_ERRNO(sysctl_write("sem", "1 2 3 40000"), ERANGE, "SEMMNI 40000 -> ERANGE");
	sysctl_text("sem", t, sizeof t);
	char want[64];
	snprintf(want, sizeof want, "1\t2\t3\t%d\n", si.semusz);
	CHECK(!strcmp(t, want), "... which keeps SEMMNI, but not the rest");
	CHECK(sysctl_write("sem", "-5 -6 -7 8") == 0, "the first three take any value");
	CHECK(sysctl_write("sem", "250") == 0, "writing one value sets SEMMSL only");
	sysctl_text("sem", t, sizeof t);
	CHECK(!strcmp(t, "250\t-6\t-7\t8\n"), "sem reads 250 -6 -7 8");
	CHECK_ERRNO(sysctl_write("sem", "x"), EINVAL, "sem x -> EINVAL");

	/* restore */
	int ok = 1;
	for (int i = 0; i < 7; i++) {
		ok &= sysctl_write(names[i], saved[i]) == 0;
		sysctl_text(names[i], t, sizeof t);
		ok &= !strcmp(t, saved[i]);
	}
	CHECK(ok, "every limit restored");
	return check_exit();
}
