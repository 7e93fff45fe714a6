/*
 * AF_UNIX servers: bind to a path (a socket inode, EADDRINUSE) and to
 * abstract names, listen with a backlog, accept4 flags, blocking and
 * non-blocking connect and accept with poll, an echo server with several
 * client processes, SO_PEERCRED, getsockname/getpeername, and the errors
 * of each step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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
	return sizeof *a;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	size_t n = strlen(name);
	memcpy(a->sun_path + 1, name, n);
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static void test_bind_errors(void)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "bound");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(s, (struct sockaddr *)&a, len) == 0, "bind to a path");
	struct stat st;
	CHECK(stat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode), "the path is a socket inode (%o)", st.st_mode);
	CHECK((st.st_mode & 0777) == (0777 & ~022), "with mode 0777 less the umask");
	CHECK_ERRNO(open(a.sun_path, O_RDWR), ENXIO, "open of a socket inode -> ENXIO");
	int t = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERRNO(bind(t, (struct sockaddr *)&a, len), EADDRINUSE, "bind to an existing path -> EADDRINUSE");
	struct sockaddr_un b;
	socklen_t blen = path_addr(&b, "other");
	CHECK_ERRNO(bind(s, (struct sockaddr *)&b, blen), EINVAL, "bind of a bound socket -> EINVAL");
	struct sockaddr_un got;
	socklen_t glen = sizeof got;
	CHECK(getsockname(s, (struct sockaddr *)&got, &glen) == 0 &&
		      glen == offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1 &&
		      strcmp(got.sun_path, a.sun_path) == 0,
	      "getsockname gives the path and its length (%u)", glen);
	glen = 4;
	memset(&got, 0, sizeof got);
	CHECK(getsockname(s, (struct sockaddr *)&got, &glen) == 0 &&
		      glen == offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1 &&
		      memcmp(got.sun_path, a.sun_path, 2) == 0 && got.sun_path[2] == 0,
	      "a short buffer gets part of the name and the full length");
	glen = sizeof got;
	CHECK(getsockname(t, (struct sockaddr *)&got, &glen) == 0 && glen == 2 && got.sun_family == AF_UNIX,
	      "an unbound socket's name is just the family");
	CHECK_ERRNO(bind(t, (struct sockaddr *)&a, 1), EINVAL, "bind with length 1 -> EINVAL");
	CHECK_ERRNO(bind(t, (struct sockaddr *)&a, sizeof a + 1), EINVAL, "bind with length 111 -> EINVAL");
	CHECK_ERRNO(bind(t, (struct sockaddr *)&a, 200), EINVAL, "bind with length 200 -> EINVAL");
	a.sun_family = AF_INET;
	CHECK_ERRNO(bind(t, (struct sockaddr *)&a, len), EINVAL, "bind with family AF_INET -> EINVAL");
	a.sun_family = AF_UNIX;
	CHECK_ERRNO(bind(t, (struct sockaddr *)8, len), EFAULT, "bind from a bad pointer -> EFAULT");
	path_addr(&b, "no/such/dir");
	CHECK_ERRNO(bind(t, (struct sockaddr *)&b, sizeof b), ENOENT, "bind in a missing directory -> ENOENT");

	/* Unlinked: the name is free again; connecting to the old one fails. */
	CHECK(unlink(a.sun_path) == 0, "unlink the socket path");
	CHECK(bind(t, (struct sockaddr *)&a, len) == 0, "another socket binds the freed path");
	listen(s, 1);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERRNO(connect(c, (struct sockaddr *)&a, len), ECONNREFUSED,
		    "connect to a path whose socket does not listen -> ECONNREFUSED");
	close(c);
	close(s);
	close(t);
	unlink(a.sun_path);

	/* Automatic names: bind with just the family. */
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(bind(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path)) == 0, "autobind");
	glen = sizeof got;
	CHECK(getsockname(s, (struct sockaddr *)&got, &glen) == 0 && glen == 8 && got.sun_path[0] == 0,
	      "autobind gives an abstract name of 5 hex digits (len %u)", glen);
	close(s);

	/* Abstract names. */
	len = abstract_addr(&a, "usock-test-abstract");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	t = socket(AF_UNIX, SOCK_STREAM, 0);
	char name[32];
	snprintf(name, sizeof name, "usock-%d", getpid());
	len = abstract_addr(&a, name);
	CHECK(bind(s, (struct sockaddr *)&a, len) == 0, "bind to an abstract name");
	CHECK_ERRNO(bind(t, (struct sockaddr *)&a, len), EADDRINUSE, "the same abstract name -> EADDRINUSE");
	glen = sizeof got;
	CHECK(getsockname(s, (struct sockaddr *)&got, &glen) == 0 && glen == len &&
		      memcmp(&got, &a, len) == 0,
	      "getsockname gives the abstract name exactly");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERRNO(connect(c, (struct sockaddr *)&a, len), ECONNREFUSED,
		    "connect to a bound socket that does not listen -> ECONNREFUSED");
	close(s);
	CHECK(bind(t, (struct sockaddr *)&a, len) == 0, "a closed socket's abstract name is free");
	close(t);
	close(c);
}

static void test_connect_errors(void)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "missing");
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERRNO(connect(c, (struct sockaddr *)&a, len), ENOENT, "connect to a missing path -> ENOENT");
	CHECK_ERRNO(connect(c, (struct sockaddr *)&a, 2), EINVAL, "connect with just the family -> EINVAL");
	CHECK_ERRNO(connect(c, (struct sockaddr *)&a, 1), EINVAL, "connect with length 1 -> EINVAL");
	len = path_addr(&a, "file");
	close(open(a.sun_path, O_CREAT | O_WRONLY, 0600));
	CHECK_ERRNO(connect(c, (struct sockaddr *)&a, len), ECONNREFUSED,
		    "connect to a regular file -> ECONNREFUSED");
	unlink(a.sun_path);

	len = path_addr(&a, "dgram");
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(d, (struct sockaddr *)&a, len);
	CHECK_ERRNO(connect(c, (struct sockaddr *)&a, len), EPROTOTYPE,
		    "stream connect to a datagram socket -> EPROTOTYPE");
	CHECK_ERRNO(listen(d, 1), EOPNOTSUPP, "listen on a datagram socket -> EOPNOTSUPP");
	CHECK_ERRNO(accept(d, NULL, NULL), EOPNOTSUPP, "accept on a datagram socket -> EOPNOTSUPP");
	close(d);
	unlink(a.sun_path);
	CHECK_ERRNO(listen(c, 1), EINVAL, "listen on an unbound socket -> EINVAL");
	CHECK_ERRNO(accept(c, NULL, NULL), EINVAL, "accept on a socket not listening -> EINVAL");
	CHECK_ERRNO(accept4(c, NULL, NULL, 0x4), EINVAL, "accept4 with an unknown flag -> EINVAL");
	close(c);
}

static void test_backlog_nonblocking(void)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "backlog");
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	bind(s, (struct sockaddr *)&a, len);
	CHECK(listen(s, 0) == 0, "listen with a backlog of 0");
	int v = 0;
	socklen_t l = sizeof v;
	CHECK(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v == 1, "SO_ACCEPTCONN is 1");
	CHECK_ERRNO(accept(s, NULL, NULL), EAGAIN, "non-blocking accept with nothing -> EAGAIN");
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT };
	CHECK(poll(&p, 1, 0) == 0, "an idle listener is not ready");

	int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(connect(c1, (struct sockaddr *)&a, len) == 0, "a non-blocking connect completes at once");
	CHECK_ERRNO(connect(c2, (struct sockaddr *)&a, len), EAGAIN, "past the backlog -> EAGAIN");
	CHECK(write(c1, "early", 5) == 5, "the client may send before the accept");
	p.revents = 0;
	CHECK(poll(&p, 1, 1000) == 1 && p.revents == POLLIN, "the listener polls readable");
	int epfd = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 };
	epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev);
	CHECK(epoll_wait(epfd, &ev, 1, 1000) == 1 && ev.data.u32 == 7, "and through epoll");
	struct sockaddr_un peer;
	socklen_t plen = sizeof peer;
	int a1 = accept4(s, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(a1 >= 0 && plen == 2, "accept4 returns the unnamed client (len %u)", plen);
	CHECK(fcntl(a1, F_GETFD) == FD_CLOEXEC && (fcntl(a1, F_GETFL) & O_NONBLOCK), "SOCK_CLOEXEC|SOCK_NONBLOCK");
	char buf[16];
	CHECK(read(a1, buf, sizeof buf) == 5 && memcmp(buf, "early", 5) == 0, "the early data is there");
	CHECK(connect(c2, (struct sockaddr *)&a, len) == 0, "room again after the accept");
	CHECK_ERRNO(connect(c2, (struct sockaddr *)&a, len), EAGAIN, "connecting again to a full listener -> EAGAIN");
	int a2 = accept(s, NULL, NULL);
	CHECK(a2 >= 0, "accept the second");
	CHECK_ERRNO(connect(c2, (struct sockaddr *)&a, len), EISCONN, "connect when connected -> EISCONN");
	CHECK_ERRNO(connect(s, (struct sockaddr *)&a, len), EINVAL, "connect on a listener -> EINVAL");
	struct sockaddr_un got;
	socklen_t glen = sizeof got;
	CHECK(getpeername(c1, (struct sockaddr *)&got, &glen) == 0 && strcmp(got.sun_path, a.sun_path) == 0,
	      "the client's peer name is the listener's path");
	glen = sizeof got;
	CHECK(getsockname(a1, (struct sockaddr *)&got, &glen) == 0 && strcmp(got.sun_path, a.sun_path) == 0,
	      "the accepted socket's name is the listener's path");
	glen = sizeof got;
	CHECK(getpeername(a1, (struct sockaddr *)&got, &glen) == 0 && glen == 2, "its peer is unnamed");

	/* Closing the listener resets connections never accepted. */
	int c3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(connect(c3, (struct sockaddr *)&a, len) == 0, "a third connection waits in the backlog");
	close(s);
	CHECK_ERRNO(read(c3, buf, sizeof buf), ECONNRESET, "closing the listener resets it -> ECONNRESET");
	CHECK(read(c3, buf, sizeof buf) == 0, "then end of file");
	CHECK(write(c1, "x", 1) == 1 && read(a1, buf, 1) == 1, "accepted connections live on");
	int c4 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERRNO(connect(c4, (struct sockaddr *)&a, len), ECONNREFUSED,
		    "connect after the listener closed -> ECONNREFUSED");
	close(c1);
	close(c2);
	close(c3);
	close(c4);
	close(a1);
	close(a2);
	close(epfd);
	unlink(a.sun_path);
}

#define CLIENTS 4
#define ROUNDS 20

static int client(const struct sockaddr_un *a, socklen_t len, int id)
{
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c, (const struct sockaddr *)a, len) != 0)
		return 10;
	struct ucred uc;
	socklen_t l = sizeof uc;
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &l) != 0 || uc.pid != getppid())
		return 11;
	for (int r = 0; r < ROUNDS; r++) {
		char out[32], in[32];
		int n = snprintf(out, sizeof out, "client %d round %d", id, r);
		if (write(c, out, n) != n)
			return 12;
		int got = 0;
		while (got < n) {
			ssize_t k = read(c, in + got, n - got);
			if (k <= 0)
				return 13;
			got += k;
		}
		if (memcmp(in, out, n) != 0)
			return 14;
	}
	close(c);
	return 0;
}

static void test_echo_server(void)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "echo");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(s, (struct sockaddr *)&a, len);
	CHECK(listen(s, 8) == 0, "echo server listens");
	pid_t kids[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(client(&a, len, i));
	}
	/* Serve with poll until every client has hung up. */
	struct pollfd fds[CLIENTS + 1];
	int nfds = 1, done = 0, creds_ok = 0, bytes = 0;
	fds[0].fd = s;
	fds[0].events = POLLIN;
	while (done < CLIENTS) {
		if (poll(fds, nfds, 10000) <= 0)
			break;
		if (fds[0].revents & POLLIN) {
			int c = accept(s, NULL, NULL);
			struct ucred uc;
			socklen_t l = sizeof uc;
			if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0) {
				for (int i = 0; i < CLIENTS; i++)
					if (uc.pid == kids[i])
						creds_ok++;
			}
			fds[nfds].fd = c;
			fds[nfds].events = POLLIN;
			fds[nfds].revents = 0;
			nfds++;
		}
		for (int i = 1; i < nfds; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
				continue;
			char buf[256];
			ssize_t n = read(fds[i].fd, buf, sizeof buf);
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				done++;
				continue;
			}
			bytes += n;
			write(fds[i].fd, buf, n);
		}
	}
	CHECK(done == CLIENTS, "the server saw %d clients hang up", done);
	CHECK(creds_ok == CLIENTS, "SO_PEERCRED names each client process (%d)", creds_ok);
	int ok = 0;
	for (int i = 0; i < CLIENTS; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		else
			INFO("client %d status %#x", i, st);
	}
	CHECK(ok == CLIENTS, "%d clients each echoed %d rounds (%d bytes)", ok, ROUNDS, bytes);
	close(s);
	unlink(a.sun_path);
}

static void test_blocking_accept(void)
{
	char name[32];
	struct sockaddr_un a;
	snprintf(name, sizeof name, "usock-blk-%d", getpid());
	socklen_t len = abstract_addr(&a, name);
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	bind(s, (struct sockaddr *)&a, len);
	listen(s, 1);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(100000);
		int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		if (connect(c, (struct sockaddr *)&a, len) != 0)
			_exit(1);
		send(c, "msg1", 4, 0);
		send(c, "message2", 8, 0);
		_exit(0);
	}
	int c = accept(s, NULL, NULL);
	CHECK(c >= 0, "a blocking accept waits for the client (abstract name, seqpacket)");
	char buf[16];
	CHECK(recv(c, buf, sizeof buf, 0) == 4 && recv(c, buf, sizeof buf, 0) == 8,
	      "seqpacket keeps message boundaries over a connection");
	CHECK(recv(c, buf, sizeof buf, 0) == 0, "end of file when the client exits");
	waitpid(pid, NULL, 0);
	close(c);
	close(s);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_interrupted_accept(void)
{
	struct sockaddr_un a;
	socklen_t len = path_addr(&a, "intr");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(s, (struct sockaddr *)&a, len);
	listen(s, 1);
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	CHECK_ERRNO(accept(s, NULL, NULL), EINTR, "a signal interrupts a blocking accept -> EINTR");
	close(s);
	unlink(a.sun_path);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/usock-%d", getpid());
	umask(022);
	mkdir("/tmp", 01777);
	if (mkdir(dir, 0700) != 0) {
		perror("mkdir");
		return 1;
	}
	test_bind_errors();
	test_connect_errors();
	test_backlog_nonblocking();
	test_echo_server();
	test_blocking_accept();
	test_interrupted_accept();
	rmdir(dir);
	return check_exit();
}
