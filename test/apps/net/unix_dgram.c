/*
 * Named AF_UNIX datagram sockets: sendto/recvfrom with addresses (paths,
 * abstract and automatic names), connect and its filter (EPERM),
 * disconnect with AF_UNSPEC, ECONNREFUSED once the receiver is gone, the
 * queue limit for senders not connected back, and sendto's errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char dir[64];

static socklen_t path_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name);
	return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/usock-dg-%d", getpid());
	mkdir("/tmp", 01777);
	if (mkdir(dir, 0700) != 0)
		return 1;

	struct sockaddr_un sa, ca, from;
	socklen_t slen = path_addr(&sa, "server"), clen = path_addr(&ca, "client"), flen;
	int srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	int cli = socket(AF_UNIX, SOCK_DGRAM, 0);
	int anon = socket(AF_UNIX, SOCK_DGRAM, 0);
	char buf[64];

	CHECK(bind(srv, (struct sockaddr *)&sa, slen) == 0, "bind the server");
	CHECK(bind(cli, (struct sockaddr *)&ca, clen) == 0, "bind the client");
	CHECK(sendto(cli, "hello", 5, 0, (struct sockaddr *)&sa, slen) == 5, "sendto the server's path");
	flen = sizeof from;
	CHECK(recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) == 5 && flen == clen &&
		      strcmp(from.sun_path, ca.sun_path) == 0,
	      "recvfrom names the sender's path (len %u)", flen);
	CHECK(sendto(srv, "reply", 5, 0, (struct sockaddr *)&from, flen) == 5, "reply to that address");
	CHECK(recv(cli, buf, sizeof buf, 0) == 5 && memcmp(buf, "reply", 5) == 0, "the client gets it");

	CHECK(sendto(anon, "anon", 4, 0, (struct sockaddr *)&sa, slen) == 4, "an unbound socket sends");
	flen = sizeof from;
	CHECK(recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) == 4 && flen == 0,
	      "from an unbound sender the address length is 0 (%u)", flen);

	/* Automatic names with SO_PASSCRED. */
	int pc = socket(AF_UNIX, SOCK_DGRAM, 0);
	int on = 1;
	setsockopt(pc, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
	sendto(pc, "pc", 2, 0, (struct sockaddr *)&sa, slen);
	flen = sizeof from;
	CHECK(recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) == 2 && flen == 8 &&
		      from.sun_path[0] == 0,
	      "SO_PASSCRED binds the sender to an automatic name (len %u)", flen);
	close(pc);

	/* connect: default destination and a filter on senders. */
	CHECK(connect(srv, (struct sockaddr *)&ca, clen) == 0, "the server connects to the client");
	CHECK_ERRNO(sendto(anon, "x", 1, 0, (struct sockaddr *)&sa, slen), EPERM,
		    "others cannot send to a socket connected elsewhere -> EPERM");
	CHECK(sendto(cli, "ok", 2, 0, (struct sockaddr *)&sa, slen) == 2, "its peer can");
	CHECK(send(srv, "dflt", 4, 0) == 4 && recv(cli, buf, sizeof buf, 0) == 4, "send without an address");
	flen = sizeof from;
	CHECK(getpeername(srv, (struct sockaddr *)&from, &flen) == 0 && strcmp(from.sun_path, ca.sun_path) == 0,
	      "getpeername gives the connected address");
	recv(srv, buf, sizeof buf, 0);
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	CHECK(connect(srv, &unspec, sizeof unspec) == 0, "connect(AF_UNSPEC) dissolves the association");
	CHECK_ERRNO(send(srv, "x", 1, 0), ENOTCONN, "then send without an address -> ENOTCONN");
	CHECK(sendto(anon, "x", 1, 0, (struct sockaddr *)&sa, slen) == 1, "and anyone may send again");
	recv(srv, buf, sizeof buf, 0);

	/* Errors of sendto. */
	struct sockaddr_un bad;
	socklen_t blen = path_addr(&bad, "nobody");
	CHECK_ERRNO(sendto(cli, "x", 1, 0, (struct sockaddr *)&bad, blen), ENOENT, "sendto a missing path -> ENOENT");
	CHECK_ERRNO(sendto(cli, "x", 1, 0, (struct sockaddr *)&sa, 2), EINVAL, "address of just the family -> EINVAL");
	CHECK_ERRNO(sendto(cli, "x", 1, 0, (struct sockaddr *)&sa, 200), EINVAL, "address length 200 -> EINVAL");
	sa.sun_family = AF_INET;
	CHECK_ERRNO(sendto(cli, "x", 1, 0, (struct sockaddr *)&sa, slen), EINVAL, "family AF_INET -> EINVAL");
	sa.sun_family = AF_UNIX;
	int st = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sta;
	socklen_t stlen = path_addr(&sta, "stream");
	bind(st, (struct sockaddr *)&sta, stlen);
	CHECK_ERRNO(sendto(cli, "x", 1, 0, (struct sockaddr *)&sta, stlen), EPROTOTYPE,
		    "sendto a stream socket -> EPROTOTYPE");
	close(st);
	unlink(sta.sun_path);

	/* A receiver not connected back: senders wait once its queue is long. */
	int nb = 0;
	while (nb < 1000 && sendto(anon, "q", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, slen) == 1)
		nb++;
	CHECK(errno == EAGAIN && nb >= 10 && nb < 1000, "the receiver's queue is bounded (%d datagrams)", nb);
	struct pollfd pf = { .fd = srv, .events = POLLIN };
	CHECK(poll(&pf, 1, 0) == 1 && pf.revents == POLLIN, "the receiver polls readable");
	while (recv(srv, buf, sizeof buf, MSG_DONTWAIT) > 0)
		nb--;
	CHECK(nb == 0, "all of them are received");

	/* A blocked sender wakes when the receiver reads. */
	for (int i = 0; i < 20; i++)
		if (sendto(anon, "w", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, slen) != 1)
			break;
	pid_t pid = fork();
	if (pid == 0) {
		_exit(sendto(anon, "late", 4, 0, (struct sockaddr *)&sa, slen) == 4 ? 0 : 1);
	}
	usleep(100000);
	int got = 0, late = 0;
	for (;;) {
		pf.revents = 0;
		if (poll(&pf, 1, 2000) != 1)
			break;
		ssize_t n = recv(srv, buf, sizeof buf, 0);
		got++;
		if (n == 4 && memcmp(buf, "late", 4) == 0) {
			late = 1;
			break;
		}
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(late && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "a blocked sender goes on once the queue drains (%d received)", got);

	/* The receiver goes away. */
	CHECK(connect(cli, (struct sockaddr *)&sa, slen) == 0, "the client connects to the server");
	close(srv);
	CHECK_ERRNO(send(cli, "x", 1, 0), ECONNREFUSED, "send after the server closed -> ECONNREFUSED");
	CHECK_ERRNO(sendto(anon, "x", 1, 0, (struct sockaddr *)&sa, slen), ECONNREFUSED,
		    "sendto a path whose socket is closed -> ECONNREFUSED");
	unlink(sa.sun_path);
	unlink(ca.sun_path);
	close(cli);
	close(anon);
	rmdir(dir);
	return check_exit();
}
