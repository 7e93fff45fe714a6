/*
 * sendfile with a huge count must stay killable and bounded.
 *
 * Found by the fuzzer: sendfile(/dev/zero, /dev/urandom, &off, SIZE_MAX)
 * never returned and the worker ignored SIGKILL ("unkillable"); with a
 * tmpfs file as the output the same loop filled all memory, after which
 * page faults failed everywhere (PID 1 got SIGSEGV) or a kernel allocation
 * panicked. Linux clamps the count to MAX_RW_COUNT (0x7ffff000) and stops
 * on a fatal signal.
 *
 * Children call sendfile(/dev/null, /dev/zero, NULL, count) with counts
 * SIZE_MAX (Linux: EINVAL) and LONG_MAX (Linux: at most MAX_RW_COUNT bytes);
 * one still there after 3 s is SIGKILLed and must be gone 10 s later.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MAX_RW_COUNT 0x7ffff000L

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/*
 * Runs sendfile(/dev/null, /dev/zero, NULL, count) in a child; returns its
 * wait status, or -1 if it was still there 10 s after SIGKILL. The child
 * exits 0 for a result of at most MAX_RW_COUNT bytes, 2 for EINVAL.
 */
static int run(int null, int zero, size_t count)
{
	pid_t pid = fork();
	if (pid == 0) {
		ssize_t n = sendfile(null, zero, NULL, count);
		if (n < 0)
			_exit(errno == EINVAL ? 2 : 3);
		_exit(n <= MAX_RW_COUNT ? 0 : 1);
	}
	int st = 0;
	for (int i = 0; i < 130; i++) {
		if (i == 30)	/* 3 s to finish on its own */
			kill(pid, SIGKILL);
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		sleep_ms(100);
	}
	return -1;
}

int main(void)
{
	if (getpid() == 1)	/* booted as init: nobody mounted /dev */
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);

	int zero = open("/dev/zero", O_RDONLY);
	int null = open("/dev/null", O_WRONLY);
	CHECK(zero >= 0 && null >= 0, "open /dev/zero and /dev/null");

	CHECK(sendfile(null, zero, NULL, 1 << 18) == 1 << 18, "sendfile of 256 KiB");

	int st = run(null, zero, SIZE_MAX);
	CHECK(st != -1, "sendfile(/dev/null, /dev/zero, NULL, SIZE_MAX): the child dies of SIGKILL");
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 2, "  and the call fails with EINVAL");

	st = run(null, zero, 0x7fffffffffffffff);
	CHECK(st != -1, "sendfile(..., LONG_MAX): the child dies of SIGKILL");
	CHECK(st != -1 && (WIFSIGNALED(st) || WEXITSTATUS(st) == 0),
	      "  or returns at most MAX_RW_COUNT bytes");
	return check_exit();
}
