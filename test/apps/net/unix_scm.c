/*
 * Control messages over AF_UNIX: SCM_RIGHTS passes a pipe and a file that
 * the receiver (another process) then uses; MSG_CTRUNC when the control
 * buffer is short (the descriptors that do not fit are closed);
 * MSG_CMSG_CLOEXEC; SCM_CREDENTIALS with SO_PASSCRED; and the errors of
 * malformed control messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int send_fds(int sock, const int *fds, int n, const char *data)
{
	char ctl[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { (void *)data, strlen(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	memset(ctl, 0, sizeof ctl);
	mh.msg_control = ctl;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &mh, 0);
}

/* Receives up to `max` descriptors; returns their number, -1 on error. */
static int recv_fds(int sock, int *fds, int max, size_t ctl_len, int flags, int *msg_flags, char *data,
		    size_t data_len)
{
	char ctl[512];
	struct iovec iov = { data, data_len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = ctl_len };
	memset(ctl, 0, sizeof ctl);
	if (recvmsg(sock, &mh, flags) < 0)
		return -1;
	*msg_flags = mh.msg_flags;
	int n = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (int i = 0; i < k && n < max; i++)
				memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		}
	}
	return n;
}

static int count_open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void test_pass_pipe_and_file(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	char path[64];
	snprintf(path, sizeof path, "/tmp/usock-scm-%d", getpid());
	pid_t pid = fork();
	if (pid == 0) {
		/* The child opens a pipe and a file, sends them, and closes its copies. */
		close(sv[0]);
		int p[2];
		pipe(p);
		int f = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
		write(f, "file contents", 13);
		int fds[2] = { p[0], f };
		if (send_fds(sv[1], fds, 2, "F") != 1)
			_exit(1);
		close(p[0]);
		close(f);
		write(p[1], "through the pipe", 16);
		close(p[1]);
		_exit(0);
	}
	close(sv[1]);
	int fds[4];
	int mflags = 0;
	char d;
	int n = recv_fds(sv[0], fds, 4, 512, 0, &mflags, &d, 1);
	CHECK(n == 2 && d == 'F' && !(mflags & MSG_CTRUNC), "two descriptors arrive with the data byte");
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the sender exited");
	if (n == 2) {
		char buf[32] = { 0 };
		ssize_t k = read(fds[0], buf, sizeof buf);
		CHECK(k == 16 && memcmp(buf, "through the pipe", 16) == 0, "the passed pipe reads the child's data");
		CHECK(read(fds[0], buf, sizeof buf) == 0, "and end of file: the sender's write end is closed");
		memset(buf, 0, sizeof buf);
		CHECK(lseek(fds[1], 0, SEEK_CUR) == 13, "the passed file shares its position with the sender's");
		CHECK(pread(fds[1], buf, sizeof buf, 0) == 13 && strcmp(buf, "file contents") == 0,
		      "the passed file reads its contents");
		CHECK(fcntl(fds[0], F_GETFD) == 0, "without MSG_CMSG_CLOEXEC: no FD_CLOEXEC");
		close(fds[0]);
		close(fds[1]);
	}
	unlink(path);
	close(sv[0]);
}

static void test_ctrunc_and_cloexec(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	int p[2];
	pipe(p);
	int three[3] = { p[0], p[1], p[0] };
	int before = count_open_fds();
	CHECK(send_fds(sv[0], three, 3, "x") == 1, "send three descriptors");
	int fds[4], mflags = 0;
	char d;
	/* Room for the header and one descriptor. */
	int n = recv_fds(sv[1], fds, 4, CMSG_LEN(sizeof(int)), MSG_CMSG_CLOEXEC, &mflags, &d, 1);
	CHECK(n == 1 && (mflags & MSG_CTRUNC), "a short control buffer: one descriptor and MSG_CTRUNC");
	CHECK(n == 1 && fcntl(fds[0], F_GETFD) == FD_CLOEXEC, "MSG_CMSG_CLOEXEC sets FD_CLOEXEC");
	CHECK(count_open_fds() == before + 1, "the descriptors that did not fit are not installed");
	if (n == 1)
		close(fds[0]);

	CHECK(send_fds(sv[0], three, 2, "y") == 1, "send two more");
	n = recv_fds(sv[1], fds, 4, 0, 0, &mflags, &d, 1);
	CHECK(n == 0 && (mflags & MSG_CTRUNC), "no control buffer: MSG_CTRUNC, nothing installed");
	CHECK(count_open_fds() == before, "no descriptor leaked");

	/* MSG_PEEK gives descriptors too, and they stay queued. */
	send_fds(sv[0], three, 1, "z");
	n = recv_fds(sv[1], fds, 4, 512, MSG_PEEK, &mflags, &d, 1);
	CHECK(n == 1, "MSG_PEEK returns the descriptor");
	if (n == 1)
		close(fds[0]);
	n = recv_fds(sv[1], fds, 4, 512, 0, &mflags, &d, 1);
	CHECK(n == 1 && d == 'z', "and the message still holds it");
	if (n == 1)
		close(fds[0]);

	/* Descriptors queued but never received are closed with the socket. */
	int q[2];
	pipe(q);
	send_fds(sv[0], &q[1], 1, "w");
	close(q[1]);
	close(sv[1]);
	char buf[4];
	struct pollfd pf = { .fd = q[0], .events = POLLIN };
	CHECK(poll(&pf, 1, 1000) == 1 && read(q[0], buf, sizeof buf) == 0,
	      "a write end queued in a closed socket is closed: the reader sees end of file");
	close(q[0]);
	close(sv[0]);
	close(p[0]);
	close(p[1]);
}

static void test_bad_control(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	char ctl[CMSG_SPACE(sizeof(int) * 300)];
	struct iovec iov = { "a", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl };
	struct cmsghdr *c = (struct cmsghdr *)ctl;
	memset(ctl, 0, sizeof ctl);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	*(int *)CMSG_DATA(c) = 999;
	mh.msg_controllen = CMSG_SPACE(sizeof(int));
	CHECK_ERRNO(sendmsg(sv[0], &mh, 0), EBADF, "SCM_RIGHTS with a closed descriptor -> EBADF");
	c->cmsg_len = 8;
	CHECK_ERRNO(sendmsg(sv[0], &mh, 0), EINVAL, "cmsg_len shorter than the header -> EINVAL");
	c->cmsg_len = 1000;
	CHECK_ERRNO(sendmsg(sv[0], &mh, 0), EINVAL, "cmsg_len past the buffer -> EINVAL");
	c->cmsg_len = CMSG_LEN(sizeof(int));
	c->cmsg_type = 99;
	CHECK_ERRNO(sendmsg(sv[0], &mh, 0), EINVAL, "an unknown SOL_SOCKET type -> EINVAL");
	c->cmsg_type = SCM_CREDENTIALS;
	CHECK_ERRNO(sendmsg(sv[0], &mh, 0), EINVAL, "SCM_CREDENTIALS of the wrong size -> EINVAL");
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * 254);
	int pp[2];
	pipe(pp);
	for (int i = 0; i < 254; i++)
		((int *)CMSG_DATA(c))[i] = pp[0];
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * 254);
	/* Raw calls: musl's sendmsg copies control data into a 1 KiB buffer. */
	CHECK_ERRNO(syscall(SYS_sendmsg, sv[0], &mh, 0), EINVAL, "254 descriptors in one message -> EINVAL");
	c->cmsg_len = CMSG_LEN(sizeof(int) * 253);
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * 253);
	CHECK(syscall(SYS_sendmsg, sv[0], &mh, 0) == 1, "253 descriptors are allowed");
	char d;
	int fds[1], mflags;
	int before = count_open_fds();
	int n = recv_fds(sv[1], fds, 1, 512, 0, &mflags, &d, 1);
	CHECK(n == 1 && (mflags & MSG_CTRUNC), "received into a small buffer: some fit, MSG_CTRUNC");
	int installed = count_open_fds() - before;
	for (int fd = 3; fd < 256; fd++)
		if (fd != sv[0] && fd != sv[1] && fd != pp[0] && fd != pp[1] && fcntl(fd, F_GETFD) >= 0)
			close(fd);
	INFO("%d descriptors installed of 253", installed);
	c->cmsg_level = 99; /* not SOL_SOCKET: ignored */
	c->cmsg_len = CMSG_LEN(0);
	mh.msg_controllen = CMSG_SPACE(0);
	CHECK(sendmsg(sv[0], &mh, 0) == 1, "a control message of another level is ignored");
	recv(sv[1], &d, 1, 0);
	mh.msg_controllen = 1 << 30;
	CHECK_ERRNO(syscall(SYS_sendmsg, sv[0], &mh, 0), ENOBUFS, "a huge control buffer -> ENOBUFS");
	struct iovec many[1025];
	for (int i = 0; i < 1025; i++)
		many[i] = iov;
	struct msghdr m2 = { .msg_iov = many, .msg_iovlen = 1025 };
	CHECK_ERRNO(sendmsg(sv[0], &m2, 0), EMSGSIZE, "1025 iovecs -> EMSGSIZE");
	CHECK_ERRNO(syscall(SYS_sendmsg, sv[0], (struct msghdr *)8, 0), EFAULT, "a bad msghdr -> EFAULT");
	close(sv[0]);
	close(sv[1]);
	close(pp[0]);
	close(pp[1]);
}

static void test_credentials(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	int on = 1;
	CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0, "SO_PASSCRED on the receiver");
	int v = 0;
	socklen_t l = sizeof v;
	CHECK(getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &l) == 0 && v == 1, "SO_PASSCRED reads back");

	pid_t pid = fork();
	if (pid == 0) {
		send(sv[0], "a", 1, 0);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	char ctl[CMSG_SPACE(sizeof(struct ucred))];
	char d;
	struct iovec iov = { &d, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	CHECK(recvmsg(sv[1], &mh, 0) == 1, "receive with SO_PASSCRED");
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	struct ucred uc = { 0 };
	if (c && c->cmsg_type == SCM_CREDENTIALS)
		memcpy(&uc, CMSG_DATA(c), sizeof uc);
	CHECK(c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		      c->cmsg_len == CMSG_LEN(sizeof uc) && uc.pid == pid && uc.uid == getuid() &&
		      uc.gid == getgid(),
	      "SCM_CREDENTIALS names the sending child (pid %d, want %d)", uc.pid, pid);

	/* Credentials given by the sender. */
	char sctl[CMSG_SPACE(sizeof(struct ucred))];
	struct msghdr sm = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = sctl, .msg_controllen = sizeof sctl };
	c = CMSG_FIRSTHDR(&sm);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof uc);
	uc.pid = getpid();
	uc.uid = getuid();
	uc.gid = getgid();
	memcpy(CMSG_DATA(c), &uc, sizeof uc);
	CHECK(sendmsg(sv[0], &sm, 0) == 1, "send one's own credentials explicitly");
	mh.msg_controllen = sizeof ctl;
	memset(&uc, 0, sizeof uc);
	recvmsg(sv[1], &mh, 0);
	c = CMSG_FIRSTHDR(&mh);
	if (c)
		memcpy(&uc, CMSG_DATA(c), sizeof uc);
	CHECK(c && uc.pid == getpid(), "they arrive");

	/* Without SO_PASSCRED no credentials are given. */
	on = 0;
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
	send(sv[0], "b", 1, 0);
	mh.msg_controllen = sizeof ctl;
	CHECK(recvmsg(sv[1], &mh, 0) == 1 && mh.msg_controllen == 0, "no SO_PASSCRED: no control data");
	close(sv[0]);
	close(sv[1]);
}

static void test_pass_socket(void)
{
	/* A socket passed over another socket keeps working. */
	int carrier[2], inner[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, carrier);
	socketpair(AF_UNIX, SOCK_STREAM, 0, inner);
	CHECK(send_fds(carrier[0], &inner[1], 1, "s") == 1, "pass a socket");
	close(inner[1]);
	int fds[1], mflags;
	char d;
	CHECK(recv_fds(carrier[1], fds, 1, 512, 0, &mflags, &d, 1) == 1, "receive it");
	char buf[8];
	CHECK(write(inner[0], "ping", 4) == 4 && read(fds[0], buf, sizeof buf) == 4, "the passed socket works");
	close(fds[0]);
	CHECK(read(inner[0], buf, sizeof buf) == 0, "closing the received copy closes the connection");
	close(inner[0]);
	close(carrier[0]);
	close(carrier[1]);
}

/*
 * A long chain of sockets, each in flight in the previous one's queue:
 * closing the first must drop them all (without recursing as deep as the
 * chain in the kernel).
 */
static void test_deep_chain(void)
{
	enum { N = 2000 };
	int first[2], prev_a, ok = 1;
	socketpair(AF_UNIX, SOCK_STREAM, 0, first);
	prev_a = first[0];
	int keep_b = first[1];
	/* The last socket of the chain: its peer tells when it is closed. */
	int tail_peer = -1;
	for (int i = 1; i <= N && ok; i++) {
		int p[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) != 0) {
			ok = 0;
			break;
		}
		if (send_fds(prev_a, &p[1], 1, "c") != 1)
			ok = 0;
		close(prev_a);
		close(p[1]);
		prev_a = p[0];
	}
	tail_peer = prev_a;
	CHECK(ok, "a chain of %d sockets, each queued in the previous one", N);
	close(keep_b);
	char c;
	struct pollfd pf = { .fd = tail_peer, .events = POLLIN };
	CHECK(poll(&pf, 1, 5000) == 1 && read(tail_peer, &c, 1) == 0,
	      "closing the head releases the whole chain: the tail's peer sees end of file");
	close(tail_peer);
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && write(sv[0], "a", 1) == 1 && read(sv[1], &c, 1) == 1,
	      "sockets still work afterwards");
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	mkdir("/tmp", 01777);
	test_pass_pipe_and_file();
	test_ctrunc_and_cloexec();
	test_bad_control();
	test_credentials();
	test_pass_socket();
	test_deep_chain();
	return check_exit();
}
