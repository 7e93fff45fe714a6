/*
 * socketpair(AF_UNIX): stream, datagram and seqpacket semantics (message
 * boundaries, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, MSG_DONTWAIT), shutdown,
 * EPIPE and SIGPIPE, poll readiness, bounded buffers, read/write/readv/
 * writev, fstat and /proc/self/fd of a socket, FIONREAD, flock and
 * F_SETOWN, sendmmsg and recvmmsg, and the errors of socket() and
 * socketpair().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static short poll_one(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	if (poll(&p, 1, 0) < 0)
		return -1;
	return p.revents;
}

static void test_create_errors(void)
{
	int sv[2];

	CHECK_ERRNO(socket(-1, SOCK_STREAM, 0), EAFNOSUPPORT, "socket(-1) -> EAFNOSUPPORT");
	CHECK_ERRNO(socket(46, SOCK_STREAM, 0), EAFNOSUPPORT, "socket(AF_MAX) -> EAFNOSUPPORT");
	CHECK_ERRNO(socket(AF_UNIX, 11, 0), EINVAL, "socket(type 11) -> EINVAL");
	CHECK_ERRNO(socket(AF_UNIX, SOCK_STREAM | 0x100000, 0), EINVAL,
		    "socket(unknown type flag) -> EINVAL");
	CHECK_ERRNO(socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT, "AF_UNIX SOCK_RDM -> ESOCKTNOSUPPORT");
	CHECK_ERRNO(socket(AF_UNIX, SOCK_PACKET, 0), ESOCKTNOSUPPORT,
		    "AF_UNIX SOCK_PACKET -> ESOCKTNOSUPPORT");
	CHECK_ERRNO(socket(AF_UNIX, SOCK_STREAM, 2), EPROTONOSUPPORT,
		    "AF_UNIX protocol 2 -> EPROTONOSUPPORT");
	CHECK_ERRNO(socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT,
		    "AF_INET SOCK_SEQPACKET -> ESOCKTNOSUPPORT");
	CHECK_ERRNO(socket(AF_INET, SOCK_STREAM, 17), EPROTONOSUPPORT,
		    "AF_INET stream with UDP -> EPROTONOSUPPORT");
	CHECK_ERRNO(socket(AF_INET6, SOCK_DGRAM, 6), EPROTONOSUPPORT,
		    "AF_INET6 dgram with TCP -> EPROTONOSUPPORT");
	CHECK_ERRNO(socketpair(AF_UNIX, SOCK_STREAM, 2, sv), EPROTONOSUPPORT,
		    "socketpair protocol 2 -> EPROTONOSUPPORT");
	CHECK_ERRNO(socketpair(-1, SOCK_STREAM, 0, sv), EAFNOSUPPORT, "socketpair(-1) -> EAFNOSUPPORT");
	CHECK_ERRNO(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, (void *)8), EFAULT,
		    "socketpair to a bad pointer -> EFAULT");

	int s = socket(AF_UNIX, SOCK_STREAM, 1);
	CHECK(s >= 0, "AF_UNIX with protocol PF_UNIX works");
	close(s);
	s = socket(AF_UNIX, SOCK_RAW, 0);
	int type = 0;
	socklen_t l = sizeof type;
	CHECK(s >= 0 && getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &l) == 0 && type == SOCK_DGRAM,
	      "AF_UNIX SOCK_RAW is a datagram socket (type %d)", type);
	close(s);

	int fd = open("/", O_RDONLY);
	CHECK_ERRNO(listen(fd, 1), ENOTSOCK, "listen on a directory -> ENOTSOCK");
	CHECK_ERRNO(shutdown(fd, SHUT_RD), ENOTSOCK, "shutdown on a directory -> ENOTSOCK");
	close(fd);
	CHECK_ERRNO(listen(999, 1), EBADF, "listen(bad fd) -> EBADF");
	CHECK_ERRNO(getsockopt(999, SOL_SOCKET, SO_TYPE, &type, &l), EBADF, "getsockopt(bad fd) -> EBADF");
}

static void test_stream(void)
{
	int sv[2];
	char buf[64];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair(SOCK_STREAM)");
	CHECK(write(sv[0], "hello ", 6) == 6 && write(sv[0], "world", 5) == 5, "two writes");
	CHECK(recv(sv[1], buf, sizeof buf, MSG_PEEK) == 11 && memcmp(buf, "hello world", 11) == 0,
	      "MSG_PEEK sees both writes as one stream");
	ssize_t n = read(sv[1], buf, 3);
	CHECK(n == 3 && memcmp(buf, "hel", 3) == 0, "a short read takes part of the stream");
	n = read(sv[1], buf, sizeof buf);
	CHECK(n == 8 && memcmp(buf, "lo world", 8) == 0, "the next read takes the rest (%zd)", n);
	CHECK_ERRNO(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN, "empty: MSG_DONTWAIT -> EAGAIN");

	/* MSG_WAITALL waits for the whole request across writes. */
	pid_t pid = fork();
	if (pid == 0) {
		usleep(50000);
		write(sv[0], "abc", 3);
		usleep(50000);
		write(sv[0], "defgh", 5);
		_exit(0);
	}
	n = recv(sv[1], buf, 8, MSG_WAITALL);
	CHECK(n == 8 && memcmp(buf, "abcdefgh", 8) == 0, "MSG_WAITALL gathers 8 bytes from two writes");
	waitpid(pid, NULL, 0);

	/* readv/writev. */
	struct iovec wv[3] = { { "ab", 2 }, { "cde", 3 }, { "f", 1 } };
	CHECK(writev(sv[0], wv, 3) == 6, "writev of three buffers");
	char r1[2], r2[10];
	struct iovec rv[2] = { { r1, 2 }, { r2, sizeof r2 } };
	n = readv(sv[1], rv, 2);
	CHECK(n == 6 && memcmp(r1, "ab", 2) == 0 && memcmp(r2, "cdef", 4) == 0, "readv scatters 6 bytes");

	/* FIONREAD. */
	write(sv[0], "12345", 5);
	int avail = -1;
	CHECK(ioctl(sv[1], FIONREAD, &avail) == 0 && avail == 5, "FIONREAD counts 5 bytes (%d)", avail);
	read(sv[1], buf, sizeof buf);

	/* Readiness. */
	CHECK(poll_one(sv[1], POLLIN | POLLOUT) == POLLOUT, "empty socket: POLLOUT only");
	write(sv[0], "x", 1);
	CHECK(poll_one(sv[1], POLLIN | POLLOUT) == (POLLIN | POLLOUT), "with data: POLLIN|POLLOUT");
	read(sv[1], buf, 1);

	/* shutdown(SHUT_WR): the peer reads end of file, we get EPIPE. */
	write(sv[0], "last", 4);
	CHECK(shutdown(sv[0], SHUT_WR) == 0, "shutdown(SHUT_WR)");
	CHECK(poll_one(sv[1], POLLIN | POLLOUT | POLLRDHUP) == (POLLIN | POLLOUT | POLLRDHUP),
	      "peer of SHUT_WR: POLLIN|POLLOUT|POLLRDHUP (%#x)", poll_one(sv[1], POLLIN | POLLOUT | POLLRDHUP));
	CHECK(read(sv[1], buf, sizeof buf) == 4, "data before the shutdown is still read");
	CHECK(read(sv[1], buf, sizeof buf) == 0, "then end of file");
	sigpipes = 0;
	CHECK_ERRNO(write(sv[0], "x", 1), EPIPE, "write after SHUT_WR -> EPIPE");
	CHECK(sigpipes == 1, "... and SIGPIPE");
	CHECK_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE, "send(MSG_NOSIGNAL) -> EPIPE");
	CHECK(sigpipes == 1, "... without SIGPIPE");
	CHECK_ERRNO(write(sv[0], "", 0), EPIPE, "even an empty write -> EPIPE");
	CHECK(write(sv[1], "back", 4) == 4, "the other direction still works");
	CHECK(read(sv[0], buf, sizeof buf) == 4, "and is read");
	CHECK_ERRNO(shutdown(sv[0], 3), EINVAL, "shutdown(3) -> EINVAL");
	close(sv[0]);
	close(sv[1]);

	/* The peer closes: end of file after the data, EPIPE/SIGPIPE. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[1], "abc", 3);
	close(sv[1]);
	CHECK(poll_one(sv[0], POLLIN | POLLOUT | POLLRDHUP) == (POLLIN | POLLOUT | POLLRDHUP | POLLHUP),
	      "closed peer: POLLIN|POLLOUT|POLLRDHUP|POLLHUP");
	CHECK(read(sv[0], buf, sizeof buf) == 3, "data of a closed peer is read");
	CHECK(read(sv[0], buf, sizeof buf) == 0, "then end of file");
	sigpipes = 0;
	CHECK_ERRNO(write(sv[0], "x", 1), EPIPE, "write to a closed peer -> EPIPE");
	CHECK(sigpipes == 1, "... with SIGPIPE");
	close(sv[0]);

	/* The peer closes with data it did not read: ECONNRESET, once. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[0], "unread", 6);
	close(sv[1]);
	CHECK(poll_one(sv[0], POLLIN) & POLLERR, "peer closed with unread data: POLLERR");
	CHECK_ERRNO(read(sv[0], buf, sizeof buf), ECONNRESET, "read -> ECONNRESET");
	CHECK(read(sv[0], buf, sizeof buf) == 0, "then end of file");
	close(sv[0]);

	/* An unconnected stream socket. */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(poll_one(s, POLLIN | POLLOUT) == (POLLOUT | POLLHUP), "unconnected stream: POLLOUT|POLLHUP");
	CHECK_ERRNO(read(s, buf, 1), EINVAL, "read on an unconnected stream -> EINVAL");
	CHECK_ERRNO(write(s, "x", 1), ENOTCONN, "write on an unconnected stream -> ENOTCONN");
	CHECK_ERRNO(getpeername(s, (struct sockaddr *)buf, &(socklen_t){ sizeof buf }), ENOTCONN,
		    "getpeername unconnected -> ENOTCONN");
	close(s);
}

static void test_stream_bulk(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	/* A bounded buffer: a non-blocking writer fills it and stops. */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	static char chunk[4096];
	long total = 0;
	for (int i = 0; i < 100000; i++) {
		ssize_t n = write(sv[0], chunk, sizeof chunk);
		if (n < 0)
			break;
		total += n;
	}
	CHECK(errno == EAGAIN && total > 16384 && total < 8 * 1024 * 1024,
	      "a non-blocking writer fills the buffer and gets EAGAIN (%ld bytes)", total);
	CHECK(!(poll_one(sv[0], POLLOUT) & POLLOUT), "a full socket is not writable");
	char buf[8192];
	long got = 0;
	while (got < total) {
		ssize_t n = read(sv[1], buf, sizeof buf);
		if (n <= 0)
			break;
		got += n;
	}
	CHECK(got == total, "everything written is read (%ld)", got);
	CHECK(poll_one(sv[0], POLLOUT) & POLLOUT, "drained: writable again");
	fcntl(sv[0], F_SETFL, 0);

	/* 1 MiB through a child, checked byte by byte. */
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[1]);
		static unsigned char out[1 << 20];
		for (size_t i = 0; i < sizeof out; i++)
			out[i] = (unsigned char)(i * 7 + (i >> 11));
		size_t off = 0;
		while (off < sizeof out) {
			ssize_t n = write(sv[0], out + off, sizeof out - off);
			if (n <= 0)
				_exit(1);
			off += n;
		}
		_exit(0);
	}
	close(sv[0]);
	size_t off = 0;
	int bad = 0;
	for (;;) {
		unsigned char in[3000];
		ssize_t n = read(sv[1], in, sizeof in);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++, off++)
			if (in[i] != (unsigned char)(off * 7 + (off >> 11)))
				bad++;
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(off == 1 << 20 && bad == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "1 MiB through a stream socket intact (%zu bytes, %d bad)", off, bad);
	close(sv[1]);
}

static void test_dgram(int type, const char *name)
{
	int sv[2];
	char buf[64];

	CHECK(socketpair(AF_UNIX, type, 0, sv) == 0, "socketpair(%s)", name);
	send(sv[0], "one", 3, 0);
	send(sv[0], "second", 6, 0);
	send(sv[0], "", 0, 0);
	CHECK(recv(sv[1], buf, sizeof buf, MSG_PEEK) == 3, "%s: MSG_PEEK sees the first message", name);
	CHECK(recv(sv[1], buf, sizeof buf, 0) == 3 && memcmp(buf, "one", 3) == 0,
	      "%s: messages keep their boundaries", name);
	struct msghdr mh = { 0 };
	struct iovec iov = { buf, 2 };
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	ssize_t n = recvmsg(sv[1], &mh, 0);
	CHECK(n == 2 && (mh.msg_flags & MSG_TRUNC), "%s: a short buffer cuts the message, MSG_TRUNC set", name);
	CHECK(recv(sv[1], buf, sizeof buf, 0) == 0, "%s: the rest of a cut message is gone; empty message", name);
	send(sv[0], "truncated", 9, 0);
	CHECK(recv(sv[1], buf, 4, MSG_TRUNC) == 9, "%s: recv(MSG_TRUNC) returns the real length", name);
	CHECK_ERRNO(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN, "%s: empty -> EAGAIN", name);

	/* sendmmsg and recvmmsg. */
	struct mmsghdr mm[3];
	struct iovec iv[3];
	char in[3][16];
	const char *words[3] = { "alpha", "be", "gamma!" };
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		iv[i].iov_base = (void *)words[i];
		iv[i].iov_len = strlen(words[i]);
		mm[i].msg_hdr.msg_iov = &iv[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	CHECK(sendmmsg(sv[0], mm, 3, 0) == 3 && mm[2].msg_len == 6, "%s: sendmmsg sends 3", name);
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		iv[i].iov_base = in[i];
		iv[i].iov_len = sizeof in[i];
		mm[i].msg_hdr.msg_iov = &iv[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(sv[1], mm, 3, MSG_DONTWAIT, NULL);
	CHECK(n == 3 && mm[0].msg_len == 5 && mm[1].msg_len == 2 && mm[2].msg_len == 6 &&
		      memcmp(in[2], "gamma!", 6) == 0,
	      "%s: recvmmsg receives 3 with their lengths", name);
	n = recvmmsg(sv[1], mm, 3, MSG_DONTWAIT, NULL);
	CHECK(n == -1 && errno == EAGAIN, "%s: recvmmsg on nothing -> EAGAIN", name);

	/* Too large for the send buffer. */
	int sndbuf = 0;
	socklen_t l = sizeof sndbuf;
	getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &l);
	char *big = calloc(1, sndbuf + 1);
	CHECK_ERRNO(send(sv[0], big, sndbuf, 0), EMSGSIZE, "%s: a message of SO_SNDBUF bytes -> EMSGSIZE", name);
	free(big);

	/* A non-blocking sender fills the buffer. */
	int count = 0;
	while (count < 100000 && send(sv[0], buf, 10, MSG_DONTWAIT) == 10)
		count++;
	CHECK(errno == EAGAIN && count > 10, "%s: the queue is bounded (%d small messages, then EAGAIN)",
	      name, count);
	while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) >= 0)
		count--;
	CHECK(count == 0, "%s: every queued message is received", name);
	close(sv[1]);
	sigpipes = 0;
	n = send(sv[0], "x", 1, 0);
	if (type == SOCK_SEQPACKET) {
		CHECK(n == -1 && errno == EPIPE && sigpipes == 0, "%s: send to a closed peer -> EPIPE, no SIGPIPE",
		      name);
		CHECK(recv(sv[0], buf, sizeof buf, 0) == 0, "%s: receive after the peer closed -> 0", name);
	} else {
		CHECK(n == -1 && errno == ECONNREFUSED, "%s: send to a closed peer -> ECONNREFUSED", name);
		CHECK_ERRNO(send(sv[0], "x", 1, 0), ENOTCONN, "%s: then ENOTCONN", name);
		CHECK_ERRNO(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), EAGAIN,
			    "%s: receive after the peer closed -> EAGAIN", name);
	}
	close(sv[0]);
}

static void test_options(void)
{
	int sv[2];
	int v;
	socklen_t l;

	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	l = sizeof v;
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == SOCK_SEQPACKET && l == 4,
	      "SO_TYPE");
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &l) == 0 && v == AF_UNIX, "SO_DOMAIN");
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PROTOCOL, &v, &l) == 0 && v == 0, "SO_PROTOCOL");
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v == 0, "SO_ACCEPTCONN");
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &l) == 0 && v == 0, "SO_ERROR");
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && v == 212992, "SO_SNDBUF default");
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 && v == 212992, "SO_RCVBUF default");
	v = 10000;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && v == 20000, "SO_SNDBUF is doubled");
	v = 1;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && v == 4608, "SO_SNDBUF minimum 4608");
	v = 1;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 && v == 2304, "SO_RCVBUF minimum 2304");
	v = 1;
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof v) == 0 &&
		      getsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &v, &l) == 0 && v == 1,
	      "SO_REUSEADDR");
	CHECK_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &v, 2), EINVAL, "optlen 2 -> EINVAL");
	CHECK_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, sizeof v), ENOPROTOOPT,
		    "set SO_TYPE -> ENOPROTOOPT");
	CHECK_ERRNO(setsockopt(sv[0], SOL_SOCKET, 12345, &v, sizeof v), ENOPROTOOPT,
		    "unknown option -> ENOPROTOOPT");
	CHECK_ERRNO(getsockopt(sv[0], 6 /* SOL_TCP */, 1, &v, &l), EOPNOTSUPP,
		    "getsockopt(SOL_TCP) on AF_UNIX -> EOPNOTSUPP");
	l = 2;
	v = 0;
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l) == 0 && l == 2 && v == SOCK_SEQPACKET,
	      "a short optlen cuts the value");
	l = -1;
	CHECK_ERRNO(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l), EINVAL, "negative optlen -> EINVAL");
	l = sizeof v;
	CHECK_ERRNO(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, (void *)8, &l), EFAULT, "bad optval -> EFAULT");

	struct linger lg = { 1, 7 };
	l = sizeof lg;
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0 &&
		      getsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, &l) == 0 && lg.l_onoff == 1 &&
		      lg.l_linger == 7,
	      "SO_LINGER on, 7 s");
	lg.l_onoff = 0;
	lg.l_linger = 3;
	setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	getsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, &l);
	CHECK(lg.l_onoff == 0 && lg.l_linger == 7, "SO_LINGER off keeps the time (%d %d)", lg.l_onoff, lg.l_linger);
	CHECK_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, 4), EINVAL, "short SO_LINGER -> EINVAL");

	struct timeval tv = { 0, 200000 };
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "SO_RCVTIMEO 200 ms");
	l = sizeof tv;
	memset(&tv, 0, sizeof tv);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &l) == 0 && tv.tv_sec == 0 &&
		      tv.tv_usec == 200000,
	      "SO_RCVTIMEO reads back");
	char buf[8];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_ERRNO(recv(sv[0], buf, sizeof buf, 0), EAGAIN, "recv times out -> EAGAIN");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(ms >= 150 && ms < 5000, "after about 200 ms (%ld ms)", ms);
	tv.tv_sec = 0;
	tv.tv_usec = 1000000;
	CHECK_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), EDOM,
		    "tv_usec of 1000000 -> EDOM");
	CHECK_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, 8), EINVAL, "short timeval -> EINVAL");
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct ucred uc;
	l = sizeof uc;
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && uc.pid == getpid() &&
		      uc.uid == geteuid() && uc.gid == getegid() && l == sizeof uc,
	      "SO_PEERCRED of a socketpair is the creator");
	close(sv[0]);
	close(sv[1]);

	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	l = sizeof uc;
	CHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 && uc.pid == 0 && uc.uid == (uid_t)-1 &&
		      uc.gid == (gid_t)-1,
	      "SO_PEERCRED unconnected: pid 0, ids -1");
	CHECK(poll_one(s, POLLIN | POLLOUT) == POLLOUT, "unconnected datagram socket: POLLOUT");
	CHECK_ERRNO(send(s, "x", 1, 0), ENOTCONN, "send unconnected datagram -> ENOTCONN");
	close(s);
}

static void test_file_view(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv);
	struct stat st;
	CHECK(fstat(sv[0], &st) == 0 && S_ISSOCK(st.st_mode), "fstat: S_IFSOCK (%o)", st.st_mode);
	CHECK(fcntl(sv[0], F_GETFD) == FD_CLOEXEC, "SOCK_CLOEXEC sets FD_CLOEXEC");
	CHECK((fcntl(sv[0], F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDWR),
	      "SOCK_NONBLOCK sets O_NONBLOCK; O_RDWR");
	char link[64], path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", sv[0]);
	ssize_t n = readlink(path, link, sizeof link - 1);
	if (n > 0)
		link[n] = 0;
	char want[64];
	snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
	CHECK(n > 0 && strcmp(link, want) == 0, "/proc/self/fd link is %s (%s)", want, n > 0 ? link : "?");
	CHECK_ERRNO(lseek(sv[0], 0, SEEK_SET), ESPIPE, "lseek on a socket -> ESPIPE");
	/* As every file: flock locks and an F_SETOWN owner. */
	CHECK(flock(sv[0], LOCK_EX | LOCK_NB) == 0, "flock(LOCK_EX) on a socket");
	CHECK(flock(sv[0], LOCK_UN) == 0, "flock(LOCK_UN)");
	CHECK(fcntl(sv[0], F_SETOWN, getpid()) == 0 && fcntl(sv[0], F_GETOWN) == getpid(),
	      "F_SETOWN/F_GETOWN on a socket");
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	signal(SIGPIPE, on_sigpipe);
	test_create_errors();
	test_stream();
	test_stream_bulk();
	test_dgram(SOCK_DGRAM, "dgram");
	test_dgram(SOCK_SEQPACKET, "seqpacket");
	test_options();
	test_file_view();
	return check_exit();
}
