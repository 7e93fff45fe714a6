/*
 * /proc/PID/syscall and /proc/PID/task/TID/syscall: the system call a
 * thread is blocked in (number, six arguments, stack and instruction
 * pointers). A thread reading its own file sees that read. And
 * /proc/PID/wchan: where a sleeping thread waits ("0" when running).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int last_fd;

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	last_fd = fd;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

/* Waits until `path` shows a blocked call (not "running", not "-1"). */
static int wait_blocked(const char *path, char *buf, size_t size)
{
	for (int i = 0; i < 2000; i++) {
		if (read_file(path, buf, size) > 0 && buf[0] != 'r' && buf[0] != '-')
			return 0;
		usleep(1000);
	}
	return -1;
}

static volatile pid_t sleeper_tid;

static void *sleeper(void *arg)
{
	sleeper_tid = (pid_t)syscall(SYS_gettid);
	struct timespec ts = { 1000, 0 };
	syscall(SYS_nanosleep, &ts, NULL);
	return NULL;
}

int main(void)
{
	char buf[512], path[96];

	unsigned long nr = 99, a[6] = { 0 }, sp = 0, pc = 0;
	CHECK(read_file("/proc/self/syscall", buf, sizeof buf) > 0, "read /proc/self/syscall");
	CHECK(sscanf(buf, "%lu %lx %lx %lx", &nr, &a[0], &a[1], &a[2]) == 4 && nr == SYS_read &&
		      a[0] == (unsigned long)last_fd && a[2] == sizeof buf - 1,
	      "it shows this very read(%d, buf, %zu) (got %.60s)", last_fd, sizeof buf - 1, buf);

	/* A child blocked in read(fd, buf, 7) on an empty pipe. */
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	pid_t child = fork();
	if (child == 0) {
		char c[7];
		close(p[1]);
		syscall(SYS_read, p[0], c, sizeof c);
		_exit(0);
	}
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)child);
	CHECK(wait_blocked(path, buf, sizeof buf) == 0, "the child shows a blocked call");
	int fields = sscanf(buf, "%lu %lx %lx %lx %lx %lx %lx %lx %lx", &nr, &a[0], &a[1], &a[2],
			    &a[3], &a[4], &a[5], &sp, &pc);
	CHECK(fields == 9, "nine fields (got %d: %.80s)", fields, buf);
	CHECK(nr == SYS_read, "the call is read (got %lu)", nr);
	CHECK(a[0] == (unsigned long)p[0], "first argument is the descriptor %d (got %#lx)", p[0], a[0]);
	CHECK(a[2] == 7, "third argument is the count 7 (got %#lx)", a[2]);
	CHECK(sp != 0 && pc != 0, "stack and instruction pointers are shown");
	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)child, (int)child);
	char buf2[512];
	CHECK(read_file(path, buf2, sizeof buf2) > 0 && strcmp(buf, buf2) == 0,
	      "the main thread's task file shows the same");
	snprintf(path, sizeof path, "/proc/%d/wchan", (int)child);
	CHECK(read_file(path, buf2, sizeof buf2) > 0 && strcmp(buf2, "0") != 0 &&
		      !strchr(buf2, '\n'),
	      "/proc/PID/wchan names where the child sleeps, without a newline (got %.60s)", buf2);
	CHECK(read_file("/proc/self/wchan", buf2, sizeof buf2) > 0 && strcmp(buf2, "0") == 0,
	      "our own wchan is 0 (got %.60s)", buf2);
	close(p[1]);
	int st;
	CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st), "the child's read ended at EOF");

	/* A thread of our own, blocked in nanosleep. */
	pthread_t t;
	CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0, "thread");
	while (!sleeper_tid)
		usleep(1000);
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)sleeper_tid);
	CHECK(wait_blocked(path, buf, sizeof buf) == 0, "the thread shows a blocked call");
	CHECK(strtoul(buf, NULL, 10) == SYS_nanosleep, "it is nanosleep (got %.40s)", buf);
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)syscall(SYS_gettid));
	CHECK(read_file(path, buf, sizeof buf) > 0 && strtoul(buf, NULL, 10) == SYS_read,
	      "our own task file shows our read (got %.40s)", buf);
	return check_exit();
}
