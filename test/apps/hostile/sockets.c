/*
 * What a hostile program does with sockets: processes blocked in every
 * kind of socket wait die at once from SIGKILL; sockets sent over
 * themselves (a cycle of references) and chains of them are closed
 * without harm; a burst of sockets and connections is given back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

enum { SEND_FULL, RECV_EMPTY, ACCEPT, CONNECT_FULL, DGRAM_QUEUE, TCP_RECV, TCP_ACCEPT, NKINDS };
static const char *kind_name[NKINDS] = {
	"send to a full stream", "recv on an empty stream", "accept", "connect to a full backlog",
	"sendto a full datagram queue", "TCP recv", "TCP accept",
};

/* The child blocks in a socket call of `kind` (after setting it up). */
static void block_in(int kind, int ready)
{
	int sv[2];
	char buf[65536];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 1 +
			 snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "hostile-%d-%d", getpid(), kind);
	switch (kind) {
	case SEND_FULL:
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		write(ready, "r", 1);
		for (;;)
			write(sv[0], buf, sizeof buf);
	case RECV_EMPTY:
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		write(ready, "r", 1);
		read(sv[0], buf, 1);
		break;
	case ACCEPT: {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		bind(s, (struct sockaddr *)&a, alen);
		listen(s, 1);
		write(ready, "r", 1);
		accept(s, NULL, NULL);
		break;
	}
	case CONNECT_FULL: {
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		bind(s, (struct sockaddr *)&a, alen);
		listen(s, 0);
		int c1 = socket(AF_UNIX, SOCK_STREAM, 0);
		connect(c1, (struct sockaddr *)&a, alen);
		write(ready, "r", 1);
		int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
		connect(c2, (struct sockaddr *)&a, alen);
		break;
	}
	case DGRAM_QUEUE: {
		int s = socket(AF_UNIX, SOCK_DGRAM, 0);
		bind(s, (struct sockaddr *)&a, alen);
		int c = socket(AF_UNIX, SOCK_DGRAM, 0);
		write(ready, "r", 1);
		for (;;)
			sendto(c, "x", 1, 0, (struct sockaddr *)&a, alen);
	}
	case TCP_RECV:
	case TCP_ACCEPT: {
		struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t l = sizeof in;
		int s = socket(AF_INET, SOCK_STREAM, 0);
		bind(s, (struct sockaddr *)&in, l);
		listen(s, 1);
		getsockname(s, (struct sockaddr *)&in, &l);
		if (kind == TCP_ACCEPT) {
			write(ready, "r", 1);
			accept(s, NULL, NULL);
			break;
		}
		int c = socket(AF_INET, SOCK_STREAM, 0);
		connect(c, (struct sockaddr *)&in, l);
		write(ready, "r", 1);
		read(c, buf, 1);
		break;
	}
	}
	_exit(3);
}

static void test_killable(void)
{
	for (int kind = 0; kind < NKINDS; kind++) {
		int p[2];
		pipe(p);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			block_in(kind, p[1]);
		}
		close(p[1]);
		char c;
		read(p[0], &c, 1);
		close(p[0]);
		usleep(200000);
		int st;
		CHECK(waitpid(pid, &st, WNOHANG) == 0, "%s: the child blocks", kind_name[kind]);
		long long t0 = now_ms();
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		long long dt = now_ms() - t0;
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && dt < 3000, "%s: SIGKILL ends it (%lld ms)",
		      kind_name[kind], dt);
	}
}

static int send_fd(int sock, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { "f", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &mh, MSG_DONTWAIT);
}

static void test_cycles(void)
{
	/* Each end of a pair sent to the other, and a socket to itself. */
	for (int i = 0; i < 50; i++) {
		int sv[2];
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		send_fd(sv[0], sv[1]);
		send_fd(sv[1], sv[0]);
		send_fd(sv[0], sv[0]);
		close(sv[0]);
		close(sv[1]);
		int d[2];
		socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
		send_fd(d[0], d[0]);
		send_fd(d[0], d[1]);
		close(d[0]);
		close(d[1]);
	}
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "after 100 reference cycles sockets still work");
	close(sv[0]);
	close(sv[1]);

	/*
	 * A cycle that holds a third socket: b's queue holds b itself and q.
	 * Once the cycle is collected, q is closed and its peer p sees end
	 * of file. Sockets sent afterwards make sure a collection runs.
	 */
	int ab[2], pq[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, ab);
	socketpair(AF_UNIX, SOCK_STREAM, 0, pq);
	send_fd(ab[0], ab[1]);
	send_fd(ab[0], pq[1]);
	close(ab[0]);
	close(ab[1]);
	close(pq[1]);
	for (int i = 0; i < 300; i++) {
		int t[2], u[2];
		socketpair(AF_UNIX, SOCK_DGRAM, 0, t);
		socketpair(AF_UNIX, SOCK_DGRAM, 0, u);
		send_fd(t[0], u[0]);
		char c;
		recv(t[1], &c, 1, 0); /* the passed socket is closed unreceived */
		close(t[0]);
		close(t[1]);
		close(u[0]);
		close(u[1]);
	}
	struct pollfd pf = { .fd = pq[0], .events = POLLIN };
	char c;
	CHECK(poll(&pf, 1, 5000) == 1 && read(pq[0], &c, 1) == 0,
	      "a cycle of sockets only queues hold is collected: a socket it held is closed");
	close(pq[0]);
}

static void test_burst(void)
{
	/* Many sockets and connections at once, then all closed. */
	int fds[600], n = 0;
	while (n + 2 <= 600 && socketpair(AF_UNIX, SOCK_STREAM, 0, fds + n) == 0) {
		write(fds[n], "data", 4);
		n += 2;
	}
	CHECK(n >= 400, "%d sockets in socket pairs with data queued", n);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof in;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	bind(s, (struct sockaddr *)&in, l);
	listen(s, 8);
	getsockname(s, (struct sockaddr *)&in, &l);
	int ok = 0;
	for (int round = 0; round < 50; round++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&in, l) == 0) {
			int a = accept(s, NULL, NULL);
			if (a >= 0 && write(c, "x", 1) == 1) {
				char b;
				if (read(a, &b, 1) == 1)
					ok++;
			}
			close(a);
		}
		close(c);
	}
	CHECK(ok == 50, "50 TCP connections opened and closed in turn (%d)", ok);
	close(s);
}

int main(void)
{
	test_killable();
	test_cycles();
	test_burst();
	return check_exit();
}
