/*
 * syslog(2) / klogctl, as dmesg uses it: the sizes, reading the whole ring
 * (whole "<level>[seconds] text" lines), a destructive read of what is
 * unread, the argument checks and their order, and the access rules for an
 * unprivileged process (EPERM before anything else while dmesg_restrict is
 * set), and /dev/kmsg: one "prio,seq,usec,flags;text" record per read.
 * Nothing here clears the ring, writes to it or changes the console level.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define READ 2
#define READ_ALL 3
#define CONSOLE_LEVEL 8
#define SIZE_UNREAD 9
#define SIZE_BUFFER 10

static long sys_syslog(int type, void *buf, long len)
{
	return syscall(SYS_syslog, type, buf, len);
}

static int read_restrict(void)
{
	char c = '?';
	int fd = open("/proc/sys/kernel/dmesg_restrict", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '?';
		close(fd);
	}
	return c;
}

int main(void)
{
	static char buf[1 << 18];
	long size, n, unread;
	int restrict_ = read_restrict();
	pid_t pid;
	int status;

	CHECK(restrict_ == '0' || restrict_ == '1', "dmesg_restrict is 0 or 1 (%c)", restrict_);

	size = sys_syslog(SIZE_BUFFER, NULL, 0);
	CHECK(size >= 4096 && (size & (size - 1)) == 0, "SIZE_BUFFER is a power of two (%ld)", size);
	unread = sys_syslog(SIZE_UNREAD, NULL, 0);
	CHECK(unread >= 0 && unread <= size, "SIZE_UNREAD within the buffer (%ld)", unread);

	n = sys_syslog(READ_ALL, buf, sizeof buf);
	CHECK(n > 0, "READ_ALL gives the ring (%ld bytes)", n);
	if (n > 0) {
		buf[n] = 0;
		CHECK(buf[0] == '<' && buf[2] == '>' && buf[3] == '[' && strstr(buf, "] ") != NULL,
		      "lines look like <L>[seconds] text: %.30s", buf);
		CHECK(buf[n - 1] == '\n', "the copy ends with a whole line");
	}
	/* Only the newest whole lines that fit. */
	n = sys_syslog(READ_ALL, buf, 200);
	CHECK(n >= 0 && n <= 200, "a small READ_ALL fits its buffer (%ld)", n);
	if (n > 0)
		CHECK(buf[0] == '<' && buf[n - 1] == '\n', "and holds whole lines");

	CHECK_ERRNO(sys_syslog(READ_ALL, NULL, 10), EINVAL, "READ_ALL into NULL");
	CHECK_ERRNO(sys_syslog(READ_ALL, buf, -1), EINVAL, "READ_ALL with a negative length");
	CHECK(sys_syslog(READ_ALL, buf, 0) == 0, "READ_ALL of 0 bytes");
	CHECK(sys_syslog(READ_ALL, NULL, 0) == -1, "NULL before the zero-length check");
	CHECK_ERRNO(sys_syslog(READ_ALL, (void *)8, 100000), EFAULT, "READ_ALL into a bad pointer");
	CHECK_ERRNO(sys_syslog(READ, NULL, 10), EINVAL, "READ into NULL");
	CHECK(sys_syslog(READ, buf, 0) == 0, "READ of 0 bytes");
	CHECK_ERRNO(sys_syslog(99, NULL, 0), EINVAL, "an unknown action");
	CHECK_ERRNO(sys_syslog(-1, NULL, 0), EINVAL, "a negative action");
	CHECK_ERRNO(sys_syslog(CONSOLE_LEVEL, NULL, 0), EINVAL, "CONSOLE_LEVEL 0");
	CHECK_ERRNO(sys_syslog(CONSOLE_LEVEL, NULL, 9), EINVAL, "CONSOLE_LEVEL 9");
	CHECK(sys_syslog(0, NULL, 0) == 0 && sys_syslog(1, NULL, 0) == 0, "CLOSE and OPEN");

	/* A destructive read of a few unread bytes (lines may be split). */
	unread = sys_syslog(SIZE_UNREAD, NULL, 0);
	if (unread >= 16) {
		n = sys_syslog(READ, buf, 16);
		CHECK(n == 16, "READ 16 of %ld unread bytes (%ld)", unread, n);
		CHECK(sys_syslog(SIZE_UNREAD, NULL, 0) <= unread - 16 ||
		      sys_syslog(SIZE_UNREAD, NULL, 0) < size, "they are no longer unread");
	} else {
		INFO("only %ld unread bytes: READ not tried", unread);
	}

	/* klogctl is the same call. */
	CHECK(klogctl(SIZE_BUFFER, NULL, 0) == size, "klogctl(SIZE_BUFFER)");

	/* /dev/kmsg. */
	{
		int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
		unsigned prio;
		unsigned long long seq1 = 0, seq2 = 0, usec;
		char flag;
		struct pollfd pfd;

		CHECK(fd >= 0, "open /dev/kmsg");
		CHECK_ERRNO(read(fd, buf, 8), EINVAL, "a buffer too small for the record");
		n = read(fd, buf, 4096);
		CHECK(n > 0 && buf[n - 1] == '\n', "a record (%ld bytes)", n);
		buf[n > 0 ? n : 0] = 0;
		CHECK(sscanf(buf, "%u,%llu,%llu,%c", &prio, &seq1, &usec, &flag) == 4 &&
		      strchr(buf, ';') != NULL, "prio,seq,usec,flags;text: %.40s", buf);
		n = read(fd, buf, 4096);
		buf[n > 0 ? n : 0] = 0;
		CHECK(n > 0 && sscanf(buf, "%u,%llu,", &prio, &seq2) == 2 && seq2 == seq1 + 1,
		      "the next read is the next record (%llu, %llu)", seq1, seq2);
		CHECK(lseek(fd, 0, SEEK_END) == 0, "SEEK_END");
		CHECK_ERRNO(read(fd, buf, 4096), EAGAIN, "nothing new: EAGAIN");
		pfd.fd = fd;
		pfd.events = POLLIN;
		CHECK(poll(&pfd, 1, 0) == 0, "and not readable");
		CHECK(lseek(fd, 0, SEEK_SET) == 0, "SEEK_SET 0");
		CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN), "readable again");
		n = read(fd, buf, 4096);
		buf[n > 0 ? n : 0] = 0;
		CHECK(n > 0 && sscanf(buf, "%u,%llu,", &prio, &seq2) == 2 && seq2 <= seq1,
		      "from the oldest record again");
		CHECK_ERRNO(lseek(fd, 1, SEEK_SET), ESPIPE, "a non-zero offset");
		CHECK_ERRNO(lseek(fd, 0, SEEK_CUR), EINVAL, "SEEK_CUR");
		close(fd);
	}

	/* An unprivileged process. */
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		if (setgid(65534) || setuid(65534))
			_exit(99);
		errno = 0;
		if (restrict_ == '1') {
			if (sys_syslog(READ_ALL, buf, 100) != -1 || errno != EPERM)
				bad |= 1;
			if (sys_syslog(SIZE_BUFFER, NULL, 0) != -1 || errno != EPERM)
				bad |= 2;
		} else {
			if (sys_syslog(READ_ALL, buf, 100) < 0)
				bad |= 1;
			if (sys_syslog(SIZE_BUFFER, NULL, 0) != size)
				bad |= 2;
		}
		/* Permission comes before the argument checks. */
		if (sys_syslog(99, NULL, 0) != -1 || errno != EPERM)
			bad |= 4;
		if (sys_syslog(SIZE_UNREAD, NULL, 0) != -1 || errno != EPERM)
			bad |= 8;
		if (sys_syslog(READ, NULL, 10) != -1 || errno != EPERM)
			bad |= 16;
		if (sys_syslog(CONSOLE_LEVEL, NULL, 0) != -1 || errno != EPERM)
			bad |= 32;
		if (restrict_ == '1' && (open("/dev/kmsg", O_RDONLY) != -1 || errno != EPERM))
			bad |= 64;
		_exit(bad);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "unprivileged child");
	CHECK(WEXITSTATUS(status) == 0, "unprivileged: EPERM as dmesg_restrict says (bits %#x)",
	      WEXITSTATUS(status));
	return check_exit();
}
