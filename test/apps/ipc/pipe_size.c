/*
 * Pipe capacity: F_GETPIPE_SZ and F_SETPIPE_SZ (64 KiB by default, sizes
 * rounded up to a power-of-two number of pages, EBUSY when the data held
 * would not fit, EINVAL past 2^31, EBADF for anything but a pipe), the
 * capacity limiting writes, and /proc/sys/fs/pipe-max-size, above which
 * only a privileged process may go (EPERM otherwise).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/check.h"

static const char *max_path = "/proc/sys/fs/pipe-max-size";

static long read_max(void)
{
	char buf[32] = { 0 };
	int fd = open(max_path, O_RDONLY);
	long v = -1;

	if (fd >= 0 && read(fd, buf, sizeof buf - 1) > 0)
		v = strtol(buf, NULL, 10);
	if (fd >= 0)
		close(fd);
	return v;
}

/* Writes `text` to pipe-max-size; returns 0 or the errno. */
static int write_max(const char *text)
{
	int fd = open(max_path, O_WRONLY), r;

	if (fd < 0)
		return errno;
	r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : errno;
	close(fd);
	return r;
}

/* Whether the effective capabilities (/proc/self/status) include `cap`. */
static int has_cap(int cap)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	return (eff >> cap) & 1;
}

/* Bytes a non-blocking writer gets into an empty pipe in one write. */
static long fill(int w)
{
	static char big[1 << 20];
	long n = write(w, big, sizeof big);
	return n;
}

static void drain(int r)
{
	char buf[65536];
	while (read(r, buf, sizeof buf) > 0)
		;
}

static void test_sizes(void)
{
	int p[2], f;
	char page[4096] = { 0 };

	CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe2(O_NONBLOCK)");
	CHECK(fcntl(p[0], F_GETPIPE_SZ) == 65536 && fcntl(p[1], F_GETPIPE_SZ) == 65536,
	      "F_GETPIPE_SZ: 64 KiB on both ends");
	CHECK(fill(p[1]) == 65536, "a non-blocking write fills 64 KiB");
	drain(p[0]);

	CHECK(fcntl(p[1], F_SETPIPE_SZ, 0) == 4096, "F_SETPIPE_SZ 0: one page");
	CHECK(fcntl(p[0], F_GETPIPE_SZ) == 4096, "seen from the other end");
	CHECK(fill(p[1]) == 4096, "now a write fills 4096 bytes");
	CHECK_ERRNO(write(p[1], "x", 1), EAGAIN, "and the pipe is full");
	drain(p[0]);
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 1) == 4096, "1 byte: one page");
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 4097) == 8192, "4097: two pages");
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 12288) == 16384, "three pages: rounded up to four");
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 65537) == 131072, "65537: 32 pages");
	CHECK(fcntl(p[1], F_GETPIPE_SZ) == 131072, "F_GETPIPE_SZ agrees");
	CHECK(fill(p[1]) == 131072, "a write fills 128 KiB");
	drain(p[0]);

	/* Shrinking below what the pipe holds. */
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 16384) == 16384, "16 KiB");
	for (int i = 0; i < 3; i++)
		write(p[1], page, sizeof page);
	CHECK_ERRNO(fcntl(p[1], F_SETPIPE_SZ, 8192), EBUSY, "8 KiB while holding 12 KiB: EBUSY");
	CHECK(fcntl(p[1], F_GETPIPE_SZ) == 16384, "the size did not change");
	CHECK(fcntl(p[0], F_SETPIPE_SZ, 12288) == 16384, "shrinking to what it holds (rounded) is fine");
	CHECK(read(p[0], page, sizeof page) == sizeof page, "read one page");
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 8192) == 8192, "now 8 KiB fits the 8 KiB held");
	CHECK_ERRNO(write(p[1], "x", 1), EAGAIN, "and the pipe is full");
	drain(p[0]);
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 65536) == 65536, "back to 64 KiB");

	CHECK_ERRNO(fcntl(p[1], F_SETPIPE_SZ, (1UL << 31) + 1), EINVAL, "2^31 + 1: EINVAL");
	CHECK_ERRNO(fcntl(p[1], F_SETPIPE_SZ, -1L), EINVAL, "-1: EINVAL");
	f = open("/tmp/pipe_size.tmp", O_RDWR | O_CREAT, 0600);
	CHECK_ERRNO(fcntl(f, F_GETPIPE_SZ), EBADF, "F_GETPIPE_SZ on a regular file: EBADF");
	CHECK_ERRNO(fcntl(f, F_SETPIPE_SZ, 4096), EBADF, "F_SETPIPE_SZ on a regular file: EBADF");
	close(f);
	unlink("/tmp/pipe_size.tmp");
	close(p[0]);
	close(p[1]);

	/* A FIFO is a pipe too. */
	unlink("/tmp/pipe_size.fifo");
	CHECK(mkfifo("/tmp/pipe_size.fifo", 0600) == 0, "mkfifo");
	f = open("/tmp/pipe_size.fifo", O_RDWR);
	CHECK(fcntl(f, F_GETPIPE_SZ) == 65536, "F_GETPIPE_SZ on a FIFO");
	CHECK(fcntl(f, F_SETPIPE_SZ, 8192) == 8192, "F_SETPIPE_SZ on a FIFO");
	close(f);
	unlink("/tmp/pipe_size.fifo");
}

static void test_max_size(void)
{
	long orig = read_max();
	int p[2];
	pid_t pid;
	int st;

	CHECK(orig == 1048576, "pipe-max-size is 1 MiB by default");
	CHECK(pipe(p) == 0, "pipe");
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 1048576) == 1048576, "1 MiB is allowed");
	if (has_cap(24)) /* CAP_SYS_RESOURCE */
		CHECK(fcntl(p[1], F_SETPIPE_SZ, 2097152) == 2097152,
		      "CAP_SYS_RESOURCE may go above pipe-max-size");
	else
		CHECK_ERRNO(fcntl(p[1], F_SETPIPE_SZ, 2097152), EPERM,
			    "root without CAP_SYS_RESOURCE may not go above pipe-max-size");
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 65536) == 65536, "back to 64 KiB");

	CHECK(write_max("100000\n") == 0, "root writes 100000 to pipe-max-size");
	CHECK(read_max() == 131072, "stored rounded up to a power-of-two number of pages");
	CHECK(write_max("2147483649") == EINVAL, "2^31 + 1: EINVAL");
	CHECK(write_max("abc") == EINVAL, "not a number: EINVAL");
	CHECK(read_max() == 131072, "unchanged by the failed writes");

	pid = fork();
	if (pid == 0) {
		int bad = 0;
		if (setuid(65534) != 0)
			_exit(100);
		if (fcntl(p[1], F_SETPIPE_SZ, 262144) != -1 || errno != EPERM)
			bad |= 1;
		if (fcntl(p[1], F_SETPIPE_SZ, 131072) != 131072)
			bad |= 2;
		if (fcntl(p[1], F_SETPIPE_SZ, 4096) != 4096)
			bad |= 4;
		if (write_max("1048576") != EACCES)
			bad |= 8;
		_exit(bad);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st), "unprivileged child ran");
	CHECK(WEXITSTATUS(st) == 0,
	      "unprivileged: EPERM above pipe-max-size, up to it fine, shrinking fine, the file is root's (status %d)",
	      WEXITSTATUS(st));

	CHECK(write_max("1048576") == 0 && read_max() == 1048576, "pipe-max-size restored");
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	test_sizes();
	test_max_size();
	return check_exit();
}
