/*
 * Helpers for the System V IPC tests (header only; define _GNU_SOURCE
 * before including anything).
 *
 *   ipc_isolate()           on a host, moves the test into an IPC namespace
 *                           of its own (unshare(CLONE_NEWIPC)): it sees only
 *                           its own objects, its limit changes stay there,
 *                           and everything goes when it exits. The guest
 *                           has a single namespace; the call just fails.
 *   test_key(n)             a key of this test run
 *   raw_semctl/shmctl/msgctl  the syscalls, with libc out of the way
 *   sysctl_read(name)       /proc/sys/kernel/<name> as a long (-1 on error)
 *   sysctl_write(name, s)   writes s there; returns 0 or -1 with errno
 *   has_cap(n)              whether capability n is in CapEff (root may lack
 *                           some on a host, in a container)
 *   wait_status(pid)        waitpid, returns the status (-1 on error)
 *   wait_until(cond, ms)    polls cond every millisecond, up to ms
 */
#ifndef TEST_APPS_IPCUTIL_H
#define TEST_APPS_IPCUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif
#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif

__attribute__((unused))
static void ipc_isolate(void)
{
	if (unshare(CLONE_NEWIPC) == 0)
		INFO("running in an IPC namespace of its own");
}

__attribute__((unused))
static key_t test_key(int n)
{
	return (key_t)(0x5e000000 | ((getpid() & 0xfff) << 12) | (n & 0xfff));
}

__attribute__((unused))
static long raw_semctl(int id, int num, int cmd, unsigned long arg)
{
	return syscall(SYS_semctl, id, num, cmd, arg);
}

__attribute__((unused))
static long raw_shmctl(int id, int cmd, void *buf)
{
	return syscall(SYS_shmctl, id, cmd, buf);
}

__attribute__((unused))
static long raw_msgctl(int id, int cmd, void *buf)
{
	return syscall(SYS_msgctl, id, cmd, buf);
}

__attribute__((unused))
static long sysctl_read(const char *name)
{
	char path[128], buf[128];
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

__attribute__((unused))
static int sysctl_write(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

__attribute__((unused))
static int has_cap(int cap)
{
	char line[256];
	unsigned long long caps = 0;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	if (f)
		fclose(f);
	return (caps >> cap) & 1;
}

__attribute__((unused))
static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return st;
}

#define wait_until(cond, ms)                                            \
	({                                                              \
		int wu_i_ = 0;                                          \
		struct timespec wu_ts_ = { 0, 1000000 };                \
		while (!(cond) && wu_i_++ < (ms))                       \
			nanosleep(&wu_ts_, NULL);                       \
		(cond);                                                 \
	})

#endif /* TEST_APPS_IPCUTIL_H */
