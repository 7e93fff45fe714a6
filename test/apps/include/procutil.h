/*
 * Small helpers shared by the process-management tests (header only).
 *
 *   now_ns()              CLOCK_MONOTONIC in nanoseconds
 *   sleep_ms(ms)          nanosleep, restarted after signals
 *   shared_alloc(size)    zeroed MAP_SHARED anonymous memory (survives fork)
 *   meminfo_kib(field)    a /proc/meminfo field in kB ("MemFree"), or -1
 *   run_capture(path, argv, envp, out, size, &status)
 *                         fork + execve with stdout and stderr on a pipe;
 *                         collects the output (NUL-terminated) and waits.
 *                         Returns the child's pid, or -1. An exec failure
 *                         gives status 127.
 */
#ifndef TEST_APPS_PROCUTIL_H
#define TEST_APPS_PROCUTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

__attribute__((unused))
static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((unused))
static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

__attribute__((unused))
static long meminfo_kib(const char *field)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128], name[64];
	long v = -1, x;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "%63[^:]: %ld kB", name, &x) == 2 && !strcmp(name, field)) {
			v = x;
			break;
		}
	if (f)
		fclose(f);
	return v;
}

__attribute__((unused, noinline))
static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

__attribute__((unused))
static pid_t run_capture(const char *path, char *const argv[], char *const envp[],
			 char *out, size_t size, int *status)
{
	int fds[2];
	pid_t pid;
	size_t len = 0;

	if (pipe(fds) == -1)
		return -1;
	pid = fork();
	if (pid == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		if (fds[1] > 2)
			close(fds[1]);
		execve(path, argv, envp ? envp : environ);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char discard[256];
		ssize_t n;
		if (len + 1 < size)
			n = read(fds[0], out + len, size - 1 - len);
		else
			n = read(fds[0], discard, sizeof(discard));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + 1 < size)
			len += (size_t)n;
	}
	if (size)
		out[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
	return pid;
}

#endif /* TEST_APPS_PROCUTIL_H */
