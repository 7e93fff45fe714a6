/*
 * TCP and UDP over the loopback interface, IPv4 (127.0.0.1) and IPv6
 * (::1): bind to port 0 picks a port that getsockname tells; listen,
 * accept, blocking and non-blocking connect; a 1 MiB echo through a child
 * process, intact; TCP_NODELAY; SO_REUSEADDR and EADDRINUSE;
 * ECONNREFUSED; shutdown; UDP datagrams with their sources.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define MIB (1 << 20)

struct fam {
	int af;
	const char *name;
};

static socklen_t loopback(int af, struct sockaddr_storage *ss, int port)
{
	memset(ss, 0, sizeof *ss);
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof *a;
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	a->sin6_addr = in6addr_loopback;
	return sizeof *a;
}

static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131 + (i >> 9));
}

/* A listening socket on the loopback address, port chosen by the kernel. */
static int listener(int af, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(af, &ss, 0);
	int s = socket(af, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&ss, len) != 0 || listen(s, 4) != 0)
		return -1;
	socklen_t l = sizeof ss;
	getsockname(s, (struct sockaddr *)&ss, &l);
	*port = port_of(&ss);
	return s;
}

static void test_tcp(const struct fam *f)
{
	int port = 0;
	int s = listener(f->af, &port);
	CHECK(s >= 0 && port > 0, "%s: bind to port 0 and listen; getsockname gives port %d", f->name, port);
	struct sockaddr_storage ss;
	socklen_t len = loopback(f->af, &ss, port);

	pid_t pid = fork();
	if (pid == 0) {
		/* Client: send 1 MiB, read it back, compare. */
		close(s);
		int c = socket(f->af, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&ss, len) != 0)
			_exit(10);
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		static unsigned char out[MIB], in[MIB];
		for (size_t i = 0; i < MIB; i++)
			out[i] = pattern(i);
		size_t sent = 0, got = 0;
		while (got < MIB) {
			struct pollfd p = { .fd = c, .events = POLLIN | (sent < MIB ? POLLOUT : 0) };
			if (poll(&p, 1, 20000) <= 0)
				_exit(11);
			if ((p.revents & POLLOUT) && sent < MIB) {
				ssize_t n = send(c, out + sent, MIB - sent > 65536 ? 65536 : MIB - sent, MSG_DONTWAIT);
				if (n < 0 && errno != EAGAIN)
					_exit(12);
				if (n > 0)
					sent += n;
			}
			if (p.revents & POLLIN) {
				ssize_t n = recv(c, in + got, MIB - got, MSG_DONTWAIT);
				if (n == 0)
					_exit(13);
				if (n > 0)
					got += n;
			}
		}
		_exit(memcmp(in, out, MIB) == 0 ? 0 : 14);
	}
	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer;
	int a = accept(s, (struct sockaddr *)&peer, &plen);
	CHECK(a >= 0 && peer.ss_family == f->af && port_of(&peer) != 0,
	      "%s: accept gives the client's address (port %d)", f->name, a >= 0 ? port_of(&peer) : 0);
	size_t echoed = 0;
	char buf[32768];
	for (;;) {
		ssize_t n = read(a, buf, sizeof buf);
		if (n <= 0)
			break;
		ssize_t off = 0;
		while (off < n) {
			ssize_t w = write(a, buf + off, n - off);
			if (w <= 0)
				break;
			off += w;
		}
		echoed += n;
		if (echoed == MIB)
			break;
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(echoed == MIB && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "%s: 1 MiB echoed back intact (%zu bytes, client status %#x)", f->name, echoed, status);
	CHECK(read(a, buf, sizeof buf) == 0, "%s: end of file when the client exits", f->name);
	close(a);

	/* A non-blocking connect, completed with poll. */
	int c = socket(f->af, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int r = connect(c, (struct sockaddr *)&ss, len);
	CHECK(r == 0 || errno == EINPROGRESS, "%s: non-blocking connect: 0 or EINPROGRESS", f->name);
	struct pollfd p = { .fd = c, .events = POLLOUT };
	CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT), "%s: it becomes writable", f->name);
	int err = -1;
	socklen_t l = sizeof err;
	CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && err == 0, "%s: SO_ERROR 0", f->name);
	p.fd = s;
	p.events = POLLIN;
	CHECK(poll(&p, 1, 5000) == 1, "%s: the listener polls readable", f->name);
	a = accept(s, NULL, NULL);
	CHECK(a >= 0, "%s: accept it", f->name);
	struct sockaddr_storage me, other;
	socklen_t ml = sizeof me, ol = sizeof other;
	getsockname(c, (struct sockaddr *)&me, &ml);
	getpeername(a, (struct sockaddr *)&other, &ol);
	CHECK(port_of(&me) == port_of(&other) && ml == ol, "%s: getpeername matches the client's getsockname",
	      f->name);
	int v = 0;
	l = sizeof v;
	CHECK(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &l) == 0 && v == 0, "%s: TCP_NODELAY off", f->name);
	v = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
	v = 0;
	CHECK(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &l) == 0 && v == 1, "%s: TCP_NODELAY on", f->name);
	CHECK(getsockopt(c, SOL_SOCKET, SO_PROTOCOL, &v, &l) == 0 && v == IPPROTO_TCP, "%s: SO_PROTOCOL", f->name);
	CHECK(getsockopt(c, SOL_SOCKET, SO_DOMAIN, &v, &l) == 0 && v == f->af, "%s: SO_DOMAIN", f->name);
	fcntl(c, F_SETFL, 0);
	CHECK(write(c, "ping", 4) == 4 && read(a, buf, sizeof buf) == 4, "%s: data flows", f->name);
	CHECK(shutdown(c, SHUT_WR) == 0, "%s: shutdown(SHUT_WR)", f->name);
	CHECK(read(a, buf, sizeof buf) == 0, "%s: the peer reads end of file", f->name);
	CHECK(write(a, "pong", 4) == 4 && read(c, buf, sizeof buf) == 4, "%s: the other direction still works",
	      f->name);
	close(a);
	close(c);

	/* Port in use; SO_REUSEADDR. */
	struct sockaddr_storage same;
	socklen_t slen = loopback(f->af, &same, port);
	int t = socket(f->af, SOCK_STREAM, 0);
	CHECK_ERRNO(bind(t, (struct sockaddr *)&same, slen), EADDRINUSE, "%s: the listener's port -> EADDRINUSE",
		    f->name);
	close(t);
	close(s);
	t = socket(f->af, SOCK_STREAM, 0);
	v = 1;
	CHECK(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v) == 0, "%s: SO_REUSEADDR", f->name);
	CHECK(bind(t, (struct sockaddr *)&same, slen) == 0 && listen(t, 1) == 0,
	      "%s: with SO_REUSEADDR the closed listener's port is bound again", f->name);
	close(t);

	/* Nobody listening. */
	c = socket(f->af, SOCK_STREAM, 0);
	CHECK_ERRNO(connect(c, (struct sockaddr *)&same, slen), ECONNREFUSED,
		    "%s: connect to a port nobody listens on -> ECONNREFUSED", f->name);
	close(c);
}

static void test_udp(const struct fam *f)
{
	struct sockaddr_storage ss, from;
	socklen_t len = loopback(f->af, &ss, 0), flen;
	int r = socket(f->af, SOCK_DGRAM, 0);
	CHECK(bind(r, (struct sockaddr *)&ss, len) == 0, "%s: UDP bind to port 0", f->name);
	socklen_t l = sizeof ss;
	getsockname(r, (struct sockaddr *)&ss, &l);
	int port = port_of(&ss);
	CHECK(port > 0, "%s: UDP port %d", f->name, port);
	int s = socket(f->af, SOCK_DGRAM, 0);
	CHECK(sendto(s, "first", 5, 0, (struct sockaddr *)&ss, len) == 5 &&
		      sendto(s, "second!", 7, 0, (struct sockaddr *)&ss, len) == 7,
	      "%s: two datagrams sent", f->name);
	char buf[64];
	flen = sizeof from;
	ssize_t n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
	struct sockaddr_storage sname;
	socklen_t snl = sizeof sname;
	getsockname(s, (struct sockaddr *)&sname, &snl);
	CHECK(n == 5 && memcmp(buf, "first", 5) == 0 && port_of(&from) == port_of(&sname) && port_of(&from) != 0,
	      "%s: the first datagram, from the sender's automatic port %d", f->name, port_of(&from));
	n = recv(r, buf, 3, MSG_TRUNC);
	CHECK(n == 7, "%s: boundaries kept; MSG_TRUNC gives the real length", f->name);
	CHECK(sendto(r, "reply", 5, 0, (struct sockaddr *)&from, flen) == 5 && recv(s, buf, sizeof buf, 0) == 5,
	      "%s: a reply to the source address arrives", f->name);
	CHECK(connect(s, (struct sockaddr *)&ss, len) == 0 && send(s, "conn", 4, 0) == 4 &&
		      recv(r, buf, sizeof buf, 0) == 4,
	      "%s: a connected UDP socket sends without an address", f->name);
	CHECK_ERRNO(recv(r, buf, sizeof buf, MSG_DONTWAIT), EAGAIN, "%s: nothing left -> EAGAIN", f->name);
	int u = socket(f->af, SOCK_DGRAM, 0);
	CHECK_ERRNO(send(u, "x", 1, 0), EDESTADDRREQ, "%s: unconnected send -> EDESTADDRREQ", f->name);
	close(u);
	u = socket(f->af, SOCK_DGRAM, 0);
	struct sockaddr_storage same;
	socklen_t slen = loopback(f->af, &same, port);
	CHECK_ERRNO(bind(u, (struct sockaddr *)&same, slen), EADDRINUSE, "%s: UDP port in use -> EADDRINUSE",
		    f->name);
	close(u);
	close(s);
	close(r);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	struct fam fams[2] = { { AF_INET, "IPv4" }, { AF_INET6, "IPv6" } };
	for (int i = 0; i < 2; i++) {
		test_tcp(&fams[i]);
		test_udp(&fams[i]);
	}
	struct sockaddr_in bad = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000001) };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_ERRNO(bind(s, (struct sockaddr *)&bad, sizeof bad), EADDRNOTAVAIL,
		    "bind to an address of no interface -> EADDRNOTAVAIL");
	CHECK_ERRNO(bind(s, (struct sockaddr *)&bad, 8), EINVAL, "bind with a short address -> EINVAL");
	struct sockaddr_in6 six = { .sin6_family = AF_INET6 };
	CHECK_ERRNO(bind(s, (struct sockaddr *)&six, sizeof six), EAFNOSUPPORT,
		    "an IPv6 address for an IPv4 socket -> EAFNOSUPPORT");
	close(s);
	return check_exit();
}
