/*
 * Pipes between processes:
 * - a blocking read waits for a writer in another process;
 * - O_NONBLOCK: EAGAIN on an empty pipe; end of file once writers close;
 * - writing with no reader: EPIPE when SIGPIPE is ignored, death by
 *   SIGPIPE (status 13) when it is not;
 * - pipe2(O_CLOEXEC) shows in F_GETFD; F_GETFL/F_SETFL with O_NONBLOCK,
 *   shared by duplicated descriptors;
 * - 1 MiB through a pipe between two processes, with a checksum;
 * - dup/dup2/dup3: lowest free fd, dup2 onto itself, dup2 over an open fd,
 *   dup3 with equal fds -> EINVAL, bad flags -> EINVAL, bad fd -> EBADF
 *   (dup3 made raw).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define MIB (1 << 20)

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s;
}

static uint64_t checksum(const unsigned char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

int main(void)
{
	int p[2], status = -1;
	char buf[256];

	/* blocking read across processes */
	CHECK(pipe2(p, 0) == 0, "pipe2(0)");
	CHECK(fcntl(p[0], F_GETFD) == 0 && fcntl(p[1], F_GETFD) == 0, "plain pipe: no FD_CLOEXEC");
	CHECK((fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY && (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY,
	      "F_GETFL: read end O_RDONLY, write end O_WRONLY");
	long long t0 = now_ns();
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		sleep_ms(50);
		_exit(write(p[1], "hello", 5) == 5 ? 0 : 1);
	}
	close(p[1]);
	ssize_t n = read(p[0], buf, sizeof(buf));
	CHECK(n == 5 && memcmp(buf, "hello", 5) == 0, "blocking read got the child's \"hello\"");
	CHECK(now_ns() - t0 >= 50000000LL, "and it waited for the writer (%lld ms)", (now_ns() - t0) / 1000000);
	CHECK(read(p[0], buf, sizeof(buf)) == 0, "EOF once the writer exited");
	CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer exited 0");
	close(p[0]);

	/* O_NONBLOCK, O_CLOEXEC */
	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2(O_NONBLOCK|O_CLOEXEC)");
	CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC,
	      "both ends have FD_CLOEXEC");
	CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) && (fcntl(p[1], F_GETFL) & O_NONBLOCK),
	      "both ends have O_NONBLOCK");
	CHECK_ERRNO(read(p[0], buf, 1), EAGAIN, "read(empty, O_NONBLOCK) -> EAGAIN");
	CHECK(write(p[1], "x", 1) == 1 && read(p[0], buf, sizeof(buf)) == 1, "write then read one byte");
	size_t cap = 0;
	memset(buf, 'c', sizeof(buf));
	while ((n = write(p[1], buf, sizeof(buf))) > 0)
		cap += (size_t)n;
	CHECK(n == -1 && errno == EAGAIN, "a full pipe gives EAGAIN on write");
	INFO("pipe capacity %zu bytes", cap);
	CHECK(cap >= 4096, "capacity at least PIPE_BUF (%zu)", cap);
	close(p[1]);
	size_t got = 0;
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		got += (size_t)n;
	CHECK(n == 0 && got == cap, "the data then EOF (%zu bytes)", got);
	close(p[0]);

	/* F_SETFL, shared by dup'ed descriptors */
	CHECK(pipe(p) == 0, "pipe");
	int d = dup(p[0]);
	CHECK(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK) == 0, "F_SETFL(O_NONBLOCK)");
	CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK, "F_GETFL shows O_NONBLOCK");
	CHECK(fcntl(d, F_GETFL) & O_NONBLOCK, "the dup'ed fd shares it");
	CHECK_ERRNO(read(d, buf, 1), EAGAIN, "read through the dup -> EAGAIN");
	CHECK(fcntl(p[0], F_SETFL, 0) == 0 && !(fcntl(d, F_GETFL) & O_NONBLOCK), "F_SETFL(0) clears it");
	CHECK((fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY, "F_SETFL keeps the access mode");
	close(d);

	/* EPIPE, SIGPIPE */
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK_ERRNO(write(p[1], "x", 1), EPIPE, "write without a reader, SIGPIPE ignored -> EPIPE");
	signal(SIGPIPE, SIG_DFL);
	c = fork();
	if (c == 0) {
		signal(SIGPIPE, SIG_DFL);
		ssize_t r = write(p[1], "x", 1);
		_exit(r == -1 ? 2 : 1);
	}
	CHECK(waitpid(c, &status, 0) == c && WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE,
	      "with SIGPIPE at default the writer dies of SIGPIPE (status word %#x)", status);
	close(p[1]);

	/* 1 MiB transfer */
	CHECK(pipe(p) == 0, "pipe");
	c = fork();
	if (c == 0) {
		static unsigned char data[MIB];
		uint32_t s = 12345;
		close(p[0]);
		for (size_t i = 0; i < MIB; i++)
			data[i] = (unsigned char)(next_rand(&s) >> 24);
		size_t off = 0;
		while (off < MIB) {
			size_t chunk = 1 + next_rand(&s) % 20000;
			if (chunk > MIB - off)
				chunk = MIB - off;
			ssize_t w = write(p[1], data + off, chunk);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	static unsigned char rbuf[MIB + 1];
	got = 0;
	while ((n = read(p[0], rbuf + got, sizeof(rbuf) - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	uint32_t s = 12345;
	static unsigned char want[MIB];
	for (size_t i = 0; i < MIB; i++)
		want[i] = (unsigned char)(next_rand(&s) >> 24);
	CHECK(got == MIB, "received %zu bytes == 1 MiB", got);
	CHECK(checksum(rbuf, got, 1) == checksum(want, MIB, 1), "checksum matches");
	CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer exited 0");

	/* dup, dup2, dup3 */
	CHECK(pipe(p) == 0, "pipe");
	int lowest = dup(0);
	close(lowest);
	int d1 = dup(p[0]);
	CHECK(d1 == lowest, "dup() takes the lowest free fd (%d)", d1);
	CHECK(dup2(p[0], p[0]) == p[0], "dup2(fd, fd) returns fd");
	CHECK_ERRNO(dup2(1000, 1000), EBADF, "dup2(bad, bad) -> EBADF");
	CHECK_ERRNO(dup2(1000, 50), EBADF, "dup2(bad, 50) -> EBADF");
	/* Raw: musl's dup3() checks old == new itself and drops unknown flags. */
	CHECK_ERRNO(syscall(SYS_dup3, p[0], p[0], 0), EINVAL, "dup3(fd, fd, 0) -> EINVAL");
	CHECK_ERRNO(syscall(SYS_dup3, p[0], 50, 0x4), EINVAL, "dup3(fd, 50, bad flags) -> EINVAL");
	CHECK_ERRNO(syscall(SYS_dup3, 1000, 50, 0), EBADF, "dup3(bad fd) -> EBADF");
	CHECK(dup2(p[1], d1) == d1, "dup2 over an open fd");
	CHECK((fcntl(d1, F_GETFL) & O_ACCMODE) == O_WRONLY, "which now is the write end");
	CHECK(write(d1, "z", 1) == 1 && read(p[0], buf, 1) == 1 && buf[0] == 'z', "and writes into the pipe");
	CHECK(dup3(p[1], 51, O_CLOEXEC) == 51 && fcntl(51, F_GETFD) == FD_CLOEXEC, "dup3(O_CLOEXEC)");
	CHECK(dup2(p[1], 52) == 52 && fcntl(52, F_GETFD) == 0, "dup2 clears FD_CLOEXEC on the copy");
	close(51);
	close(52);
	close(d1);
	close(p[1]);
	CHECK(read(p[0], buf, 1) == 0, "EOF after every copy of the write end is closed");
	close(p[0]);
	return check_exit();
}
