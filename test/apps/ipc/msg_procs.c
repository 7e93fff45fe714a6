/*
 * System V message queues between processes: a ping-pong with types,
 * receivers waiting for different types of one queue, msgsnd sleeping
 * while the queue is full, and sleeps ended by signals (EINTR even with
 * SA_RESTART; restarted transparently after SIGSTOP/SIGCONT, which run no
 * handler) and by IPC_RMID (EIDRM, for receivers and senders).
 */
#define _GNU_SOURCE
#include <signal.h>

#include "ipcutil.h"

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

static void on_signal(int s)
{
	(void)s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Whether pid is still running after ms milliseconds. */
static int still_running(pid_t pid, long ms)
{
	sleep_ms(ms);
	return waitpid(pid, NULL, WNOHANG) == 0;
}

/* A child that announces itself on `ready`, then receives type `type` and
 * exits 0 if that ends with `expect` (0: success, the text "ok"), 2 if the
 * queue was gone before it got there. */
static pid_t receiver(int q, long type, int expect, int ready)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
		struct msg m;
		memset(&m, 0, sizeof m);
		write(ready, "r", 1);
		long n = msgrcv(q, &m, sizeof m.text, type, 0);
		int e = errno;
		if (n == -1 && e == EINVAL)
			_exit(2);
		if (expect == 0)
			_exit(n == 2 && m.type == type && !strcmp(m.text, "ok") ? 0 : 1);
		_exit(n == -1 && e == expect ? 0 : 1);
	}
	return pid;
}

int main(void)
{
	ipc_isolate();
	int ready[2];
	char b;
	pipe(ready);

	/* Ping-pong: type 1 to the child, type 2 back. */
	int q = msgget(IPC_PRIVATE, 0600);
	CHECK(q >= 0, "msgget");
	pid_t c = fork();
	if (c == 0) {
		struct msg m;
		for (int i = 0; i < 200; i++) {
			if (msgrcv(q, &m, sizeof m.text, 1, 0) < 0)
				_exit(1);
			int n = atoi(m.text);
			m.type = 2;
			snprintf(m.text, sizeof m.text, "%d", n * 2);
			if (msgsnd(q, &m, strlen(m.text) + 1, 0) < 0)
				_exit(2);
		}
		_exit(0);
	}
	int good = 1;
	for (int i = 0; i < 200 && good; i++) {
		struct msg m = { 1, { 0 } };
		snprintf(m.text, sizeof m.text, "%d", i);
		good = msgsnd(q, &m, strlen(m.text) + 1, 0) == 0 &&
		       msgrcv(q, &m, sizeof m.text, 2, 0) > 0 && atoi(m.text) == 2 * i;
	}
	CHECK(good, "200 rounds of ping (type 1) and pong (type 2)");
	CHECK(wait_status(c) == 0, "the child exited 0");
	struct msqid_ds ds;
	msgctl(q, IPC_STAT, &ds);
	CHECK(ds.msg_qnum == 0 && ds.msg_lspid == c && ds.msg_lrpid == getpid(),
	      "the queue is empty; the child sent last, the parent received last");

	/* Two receivers waiting for different types. */
	pid_t r10 = receiver(q, 10, 0, ready[1]);
	pid_t r20 = receiver(q, 20, 0, ready[1]);
	read(ready[0], &b, 1);
	read(ready[0], &b, 1);
	snd(q, 30, "no", 0);
	CHECK(still_running(r10, 100) && still_running(r20, 0), "a message of type 30 wakes neither");
	snd(q, 20, "ok", 0);
	CHECK(wait_status(r20) == 0, "type 20 goes to its receiver");
	CHECK(still_running(r10, 50), "the other still waits");
	snd(q, 10, "ok", 0);
	CHECK(wait_status(r10) == 0, "type 10 goes to the other");
	msgctl(q, IPC_STAT, &ds);
	CHECK(ds.msg_qnum == 1, "the type-30 message is left");

	/* msgsnd sleeps while the queue is full. */
	ds.msg_qbytes = 8;
	msgctl(q, IPC_SET, &ds);
	snd(q, 1, "1234", 0); /* with the 2 bytes of "no": 6 of 8 */
	c = fork();
	if (c == 0)
		_exit(snd(q, 1, "abcdefg", 0) == 0 ? 0 : 1);
	CHECK(still_running(c, 100), "a sender of 7 more bytes sleeps");
	struct msg m;
	CHECK(msgrcv(q, &m, sizeof m.text, 30, 0) == 2, "receiving 2 bytes...");
	CHECK(still_running(c, 50), "... is not room enough");
	CHECK(msgrcv(q, &m, sizeof m.text, 1, 0) == 4, "receiving 4 more...");
	CHECK(wait_status(c) == 0, "... lets it send");
	CHECK(msgrcv(q, &m, sizeof m.text, 0, 0) == 7 && !memcmp(m.text, "abcdefg", 7), "its message arrived");

	/* A signal ends msgrcv with EINTR, even with SA_RESTART. */
	c = receiver(q, 1, EINTR, ready[1]);
	read(ready[0], &b, 1);
	int st = -1;
	for (int i = 0; i < 500; i++) {
		kill(c, SIGUSR1);
		sleep_ms(10);
		if (waitpid(c, &st, WNOHANG) == c)
			break;
	}
	CHECK(st == 0, "SIGUSR1 (handled, SA_RESTART) ends msgrcv with EINTR (status %#x)", st);

	/* SIGSTOP and SIGCONT run no handler: the call goes on. */
	c = receiver(q, 1, 0, ready[1]);
	read(ready[0], &b, 1);
	sleep_ms(50);
	kill(c, SIGSTOP);
	waitpid(c, &st, WUNTRACED);
	CHECK(WIFSTOPPED(st), "the receiver is stopped");
	kill(c, SIGCONT);
	CHECK(still_running(c, 50), "continued, it waits again");
	snd(q, 1, "ok", 0);
	CHECK(wait_status(c) == 0, "and receives the message");

	/* Removing the queue wakes receivers and senders with EIDRM. */
	int gone = -1, rc = 2, sc = 2;
	for (int attempt = 0; attempt < 3 && (rc == 2 || sc == 2); attempt++) {
		gone = msgget(IPC_PRIVATE, 0600);
		msgctl(gone, IPC_STAT, &ds);
		ds.msg_qbytes = 1;
		msgctl(gone, IPC_SET, &ds);
		snd(gone, 5, "", 0);
		pid_t r = receiver(gone, 1, EIDRM, ready[1]);
		read(ready[0], &b, 1);
		pid_t s = fork();
		if (s == 0) {
			write(ready[1], "s", 1);
			int n = snd(gone, 1, "x", 0);
			_exit(n == -1 && errno == EIDRM ? 0 : n == -1 && errno == EINVAL ? 2 : 1);
		}
		read(ready[0], &b, 1);
		sleep_ms(200 << attempt);
		msgctl(gone, IPC_RMID, NULL);
		st = wait_status(r);
		rc = WIFEXITED(st) ? WEXITSTATUS(st) : 99;
		st = wait_status(s);
		sc = WIFEXITED(st) ? WEXITSTATUS(st) : 99;
		if (rc == 2 || sc == 2)
			INFO("the queue went before a child slept; trying again");
	}
	CHECK(rc == 0, "a sleeping receiver gets EIDRM (%d)", rc);
	CHECK(sc == 0, "a sleeping sender gets EIDRM (%d)", sc);
	CHECK(msgctl(q, IPC_RMID, NULL) == 0, "cleanup");
	return check_exit();
}
