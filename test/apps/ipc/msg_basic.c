/*
 * System V message queues in one process: msgget's keys and flags;
 * msgrcv's choice of message (type 0, a type, the lowest type up to -t,
 * MSG_EXCEPT, MSG_COPY), MSG_NOERROR and E2BIG, IPC_NOWAIT (ENOMSG,
 * EAGAIN when full, counted in bytes and in messages); msgctl's IPC_STAT,
 * IPC_SET, IPC_RMID, IPC_INFO, MSG_INFO, MSG_STAT(_ANY); and EINVAL,
 * ENOENT, EEXIST, EFAULT.
 */
#define _GNU_SOURCE
#include "ipcutil.h"

#define BAD ((void *)16)

struct msg {
	long type;
	char text[64];
};

static int snd(int q, long type, const char *text, int flags)
{
	struct msg m = { type, { 0 } };
	size_t n = strlen(text);
	memcpy(m.text, text, n);
	return msgsnd(q, &m, n, flags);
}

/* Receives into a fresh buffer; returns the size, the type in *type and
 * the text in out (NUL-terminated). */
static long rcv(int q, long want, size_t size, int flags, long *type, char *out)
{
	struct msg m;
	memset(&m, 0, sizeof m);
	long n = syscall(SYS_msgrcv, q, &m, size, want, flags);
	if (n >= 0) {
		*type = m.type;
		memcpy(out, m.text, (size_t)n);
		out[n] = 0;
	}
	return n;
}

static struct msqid_ds st(int q)
{
	struct msqid_ds ds;
	memset(&ds, 0, sizeof ds);
	msgctl(q, IPC_STAT, &ds);
	return ds;
}

int main(void)
{
	ipc_isolate();
	key_t key = test_key(1);
	long type;
	char text[80];

	/* msgget */
	int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(q >= 0, "msgget(key, IPC_CREAT|IPC_EXCL) = %d", q);
	CHECK_ERRNO(msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "again with IPC_EXCL -> EEXIST");
	CHECK(msgget(key, 0) == q, "the key finds it");
	CHECK_ERRNO(msgget(test_key(2), 0600), ENOENT, "an unknown key without IPC_CREAT -> ENOENT");
	int q2 = msgget(IPC_PRIVATE, 0600);
	CHECK(q2 >= 0 && q2 != q, "IPC_PRIVATE makes a new queue");

	struct msqid_ds ds = st(q);
	CHECK(ds.msg_qnum == 0 && ds.__msg_cbytes == 0 && ds.msg_qbytes == (msglen_t)sysctl_read("msgmnb"),
	      "empty, msg_qbytes = msgmnb (%lu)", (unsigned long)ds.msg_qbytes);
	CHECK(ds.msg_lspid == 0 && ds.msg_lrpid == 0 && ds.msg_stime == 0 && ds.msg_rtime == 0 &&
	      ds.msg_ctime > 0, "pids and times");
	CHECK((ds.msg_perm.mode & 0777) == 0600 && ds.msg_perm.__key == key && ds.msg_perm.uid == geteuid(),
	      "mode, key, owner");

	/* msgsnd */
	CHECK(snd(q, 1, "one", 0) == 0 && snd(q, 2, "two", 0) == 0 && snd(q, 3, "three", 0) == 0 &&
	      snd(q, 2, "two again", 0) == 0 && snd(q, 5, "five", 0) == 0, "send types 1, 2, 3, 2, 5");
	ds = st(q);
	CHECK(ds.msg_qnum == 5 && ds.__msg_cbytes == 3 + 3 + 5 + 9 + 4, "qnum 5, cbytes %lu",
	      (unsigned long)ds.__msg_cbytes);
	CHECK(ds.msg_lspid == getpid() && ds.msg_stime > 0, "lspid, stime");
	CHECK_ERRNO(snd(q, 0, "x", 0), EINVAL, "type 0 -> EINVAL");
	CHECK_ERRNO(snd(q, -1, "x", 0), EINVAL, "type -1 -> EINVAL");
	struct msg m = { 1, { 0 } };
	CHECK_ERRNO(msgsnd(q, &m, (size_t)sysctl_read("msgmax") + 1, 0), EINVAL, "more than msgmax -> EINVAL");
	CHECK_ERRNO(msgsnd(q, &m, (size_t)-1, 0), EINVAL, "size -1 -> EINVAL");
	CHECK_ERRNO(msgsnd(q, BAD, 1, 0), EFAULT, "from a bad buffer -> EFAULT");
	CHECK_ERRNO(syscall(SYS_msgsnd, -1, NULL, 1, 0), EFAULT, "the type is read before the id is checked");
	CHECK_ERRNO(msgsnd(-1, &m, 1, 0), EINVAL, "id -1 -> EINVAL");
	CHECK_ERRNO(msgsnd(q + 32768 * 50, &m, 1, 0), EINVAL, "an unused id -> EINVAL");
	CHECK(st(q).msg_qnum == 5, "failed sends queue nothing");

	/* msgrcv: which message */
	CHECK(rcv(q, 2, 64, 0, &type, text) == 3 && type == 2 && !strcmp(text, "two"), "type 2: the first of type 2");
	CHECK(rcv(q, -4, 64, 0, &type, text) == 3 && type == 1 && !strcmp(text, "one"),
	      "type -4: the lowest type up to 4");
	CHECK(rcv(q, 2, 64, MSG_EXCEPT, &type, text) == 5 && type == 3, "MSG_EXCEPT 2: the first of another type");
	CHECK(rcv(q, 0, 64, 0, &type, text) == 9 && type == 2 && !strcmp(text, "two again"), "type 0: the first");
	CHECK_ERRNO(rcv(q, 4, 64, IPC_NOWAIT, &type, text), ENOMSG, "type 4 with IPC_NOWAIT -> ENOMSG");
	CHECK_ERRNO(rcv(q, -4, 64, IPC_NOWAIT, &type, text), ENOMSG, "type -4 (only 5 left) -> ENOMSG");
	CHECK(rcv(q, -9223372036854775807L - 1, 64, 0, &type, text) == 4 && type == 5,
	      "type LONG_MIN: any type (up to LONG_MAX)");
	CHECK_ERRNO(rcv(q, 0, 64, IPC_NOWAIT, &type, text), ENOMSG, "empty, IPC_NOWAIT -> ENOMSG");
	ds = st(q);
	CHECK(ds.msg_qnum == 0 && ds.__msg_cbytes == 0 && ds.msg_lrpid == getpid() && ds.msg_rtime > 0,
	      "empty again; lrpid, rtime");

	/* sizes */
	snd(q, 7, "0123456789", 0);
	CHECK_ERRNO(rcv(q, 0, 4, 0, &type, text), E2BIG, "a 10-byte message into 4 bytes -> E2BIG");
	CHECK(st(q).msg_qnum == 1, "... and it stays queued");
	CHECK(rcv(q, 0, 4, MSG_NOERROR, &type, text) == 4 && !strcmp(text, "0123"), "MSG_NOERROR cuts it to 4");
	CHECK(st(q).msg_qnum == 0, "... and takes it");
	CHECK_ERRNO(syscall(SYS_msgrcv, q, &m, (size_t)-1, 0, IPC_NOWAIT), EINVAL, "size -1 -> EINVAL");
	CHECK_ERRNO(syscall(SYS_msgrcv, -1, &m, 8, 0, IPC_NOWAIT), EINVAL, "id -1 -> EINVAL");
	snd(q, 1, "lost", 0);
	CHECK_ERRNO(syscall(SYS_msgrcv, q, BAD, 8, 0, 0), EFAULT, "into a bad buffer -> EFAULT");
	CHECK(st(q).msg_qnum == 0, "... the message is gone all the same");
	CHECK(snd(q, 1, "", 0) == 0 && rcv(q, 0, 0, 0, &type, text) == 0 && type == 1, "an empty message");

	/* MSG_COPY */
	snd(q, 1, "first", 0);
	snd(q, 2, "second", 0);
	CHECK(rcv(q, 1, 64, MSG_COPY | IPC_NOWAIT, &type, text) == 6 && type == 2 && !strcmp(text, "second"),
	      "MSG_COPY 1: a copy of the second message");
	CHECK(st(q).msg_qnum == 2, "... which stays queued");
	CHECK_ERRNO(rcv(q, 2, 64, MSG_COPY | IPC_NOWAIT, &type, text), ENOMSG, "MSG_COPY 2 of 2 -> ENOMSG");
	CHECK_ERRNO(rcv(q, 0, 64, MSG_COPY, &type, text), EINVAL, "MSG_COPY without IPC_NOWAIT -> EINVAL");
	CHECK_ERRNO(rcv(q, 0, 64, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT, &type, text), EINVAL,
		    "MSG_COPY with MSG_EXCEPT -> EINVAL");
	CHECK_ERRNO(rcv(q, 0, 2, MSG_COPY | IPC_NOWAIT, &type, text), E2BIG, "MSG_COPY into too small a buffer -> E2BIG");
	CHECK_ERRNO(rcv(q, 0, 2, MSG_COPY | IPC_NOWAIT | MSG_NOERROR, &type, text), EINVAL,
		    "... and with MSG_NOERROR -> EINVAL");
	CHECK(rcv(q, 0, 64, 0, &type, text) == 5 && rcv(q, 0, 64, 0, &type, text) == 6, "empty the queue");

	/* A full queue: bytes and messages both count against msg_qbytes. */
	ds = st(q);
	ds.msg_qbytes = 10;
	CHECK(msgctl(q, IPC_SET, &ds) == 0 && st(q).msg_qbytes == 10, "IPC_SET msg_qbytes 10");
	CHECK(snd(q, 1, "123456", IPC_NOWAIT) == 0, "6 bytes fit");
	CHECK_ERRNO(snd(q, 1, "12345", IPC_NOWAIT), EAGAIN, "5 more do not -> EAGAIN");
	CHECK(snd(q, 1, "1234", IPC_NOWAIT) == 0, "4 more do");
	rcv(q, 0, 64, 0, &type, text);
	rcv(q, 0, 64, 0, &type, text);
	ds.msg_qbytes = 3;
	msgctl(q, IPC_SET, &ds);
	CHECK(snd(q, 1, "", IPC_NOWAIT) == 0 && snd(q, 1, "", IPC_NOWAIT) == 0 && snd(q, 1, "", IPC_NOWAIT) == 0,
	      "3 empty messages fit in msg_qbytes 3");
	CHECK_ERRNO(snd(q, 1, "", IPC_NOWAIT), EAGAIN, "a 4th does not -> EAGAIN");
	ds.msg_qbytes = 1 << 20;
	if (has_cap(24 /* CAP_SYS_RESOURCE */)) {
		CHECK(msgctl(q, IPC_SET, &ds) == 0, "CAP_SYS_RESOURCE may raise msg_qbytes past msgmnb");
	} else {
		INFO("no CAP_SYS_RESOURCE here");
		CHECK_ERRNO(msgctl(q, IPC_SET, &ds), EPERM, "without CAP_SYS_RESOURCE, raising msg_qbytes past msgmnb -> EPERM");
	}

	/* IPC_SET, IPC_STAT errors */
	ds = st(q);
	ds.msg_perm.mode = 0640;
	CHECK(msgctl(q, IPC_SET, &ds) == 0 && (st(q).msg_perm.mode & 0777) == 0640, "IPC_SET mode 0640");
	ds.msg_perm.uid = (uid_t)-1;
	CHECK_ERRNO(msgctl(q, IPC_SET, &ds), EINVAL, "IPC_SET uid -1 -> EINVAL");
	CHECK_ERRNO(raw_msgctl(q, IPC_SET, BAD), EFAULT, "IPC_SET from a bad buffer -> EFAULT");
	CHECK_ERRNO(raw_msgctl(q, IPC_STAT, BAD), EFAULT, "IPC_STAT to a bad buffer -> EFAULT");

	/* IPC_INFO, MSG_INFO, MSG_STAT */
	struct msginfo mi;
	int max_index = msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
	CHECK(max_index >= q % 32768 && max_index >= q2 % 32768, "IPC_INFO returns the highest index in use (%d)",
	      max_index);
	CHECK(mi.msgmax == sysctl_read("msgmax") && mi.msgmnb == sysctl_read("msgmnb") &&
	      mi.msgmni == sysctl_read("msgmni") && mi.msgssz == 16 && mi.msgseg == 0xffff &&
	      mi.msgpool == 512000 && mi.msgmap == 16384 && mi.msgtql == 16384,
	      "IPC_INFO: msgmax %d msgmnb %d msgmni %d", mi.msgmax, mi.msgmnb, mi.msgmni);
	CHECK(msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) == max_index, "MSG_INFO");
	CHECK(mi.msgpool >= 2 && mi.msgmap >= 3 && mi.msgtql >= 0,
	      "MSG_INFO: %d queues, %d messages, %d bytes", mi.msgpool, mi.msgmap, mi.msgtql);
	CHECK(msgctl(q % 32768, MSG_STAT, &ds) == q && ds.msg_qnum == 3, "MSG_STAT by index returns the id");
	CHECK(msgctl(q % 32768, MSG_STAT_ANY, &ds) == q, "MSG_STAT_ANY too");
	CHECK_ERRNO(msgctl(32767, MSG_STAT, &ds), EINVAL, "MSG_STAT of a free index -> EINVAL");
	CHECK_ERRNO(raw_msgctl(q, 99, &ds), EINVAL, "msgctl command 99 -> EINVAL");
	CHECK_ERRNO(raw_msgctl(q, -1, &ds), EINVAL, "msgctl command -1 -> EINVAL");
	CHECK_ERRNO(raw_msgctl(-1, IPC_STAT, &ds), EINVAL, "msgctl id -1 -> EINVAL");

	/* IPC_RMID */
	CHECK(msgctl(q, IPC_RMID, NULL) == 0, "IPC_RMID (with messages queued)");
	CHECK_ERRNO(msgsnd(q, &m, 1, 0), EINVAL, "msgsnd to a removed queue -> EINVAL");
	CHECK_ERRNO(msgctl(q, IPC_RMID, NULL), EINVAL, "IPC_RMID twice -> EINVAL");
	CHECK_ERRNO(msgget(key, 0), ENOENT, "its key is free");
	CHECK(msgctl(q2, IPC_RMID, NULL) == 0, "cleanup");
	return check_exit();
}
