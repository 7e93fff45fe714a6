/*
 * Credentials are per thread, as on Linux: capset and the raw uid calls
 * (not the C library wrappers, which change every thread) change only
 * the calling thread; capget and /proc/PID/task/TID/status show each
 * thread's own sets; a thread or child process created by a thread starts
 * with that thread's credentials. Runs as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caputil.h"
#include "check.h"

static int to_worker[2], to_main[2];
static pid_t worker_tid, main_tid;
static char file[64];

static void wait_for(int *p)
{
	char b;
	read(p[0], &b, 1);
}

static void post(int *p)
{
	char b = 0;
	write(p[1], &b, 1);
}

static unsigned long long task_hex(pid_t tid, const char *name)
{
	char path[64], line[256];
	size_t n = strlen(name);
	unsigned long long v = ~0ULL;
	snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, name, n) && line[n] == ':') {
			sscanf(line + n + 1, "%llx", &v);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

static void *grandchild_thread(void *arg)
{
	long *uid = arg;
	*uid = syscall(SYS_getuid);
	return NULL;
}

static void *worker(void *arg)
{
	struct caps c;
	struct cap_header h;
	struct cap_data d[2] = { { 0 } };
	pthread_t t;
	long uid = -1;
	int st;
	(void)arg;
	worker_tid = gettid();

	CHECK(cap_drop_eff(C_CHOWN) == 0, "worker: drop CAP_CHOWN from its effective set");
	CHECK_ERRNO(chown(file, 1000, -1), EPERM, "worker: chown refused");
	h = (struct cap_header){ CAP_V3, main_tid };
	CHECK_ERRNO(syscall(SYS_capset, &h, d), EPERM, "worker: capset of the main thread");
	post(to_main);
	wait_for(to_worker);

	CHECK(syscall(SYS_setresuid, 1000, 1000, 1000) == 0, "worker: raw setresuid(1000)");
	CHECK(syscall(SYS_getuid) == 1000 && syscall(SYS_geteuid) == 1000, "worker: uid 1000");
	CHECK(cap_get(0, &c) == 0 && c.prm == 0 && c.eff == 0, "worker: no capabilities left");
	CHECK(pthread_create(&t, NULL, grandchild_thread, &uid) == 0 && pthread_join(t, NULL) == 0 &&
		      uid == 1000,
	      "a thread it creates has uid 1000 (%ld)", uid);
	pid_t p = fork();
	if (p == 0)
		_exit(syscall(SYS_getuid) == 1000 && status_hex("CapEff") == 0 ? 0 : 1);
	CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "a process it forks has uid 1000 and no capabilities");
	post(to_main);
	wait_for(to_worker);
	return NULL;
}

int main(void)
{
	pthread_t t;
	struct caps c;
	int fd;
	if (geteuid() != 0) {
		INFO("needs root");
		return 1;
	}
	CHECK(cap_normalize() == 0, "drop to the known capability set");
	main_tid = gettid();
	snprintf(file, sizeof file, "/tmp/cap_threads.%d", getpid());
	fd = open(file, O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0, "a file of root");
	close(fd);
	if (pipe(to_worker) || pipe(to_main))
		return 1;
	CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "start the worker thread");

	wait_for(to_main);
	CHECK(cap_get(0, &c) == 0 && c.eff == KNOWN_CAPS, "main: its effective set is whole");
	CHECK(cap_get(worker_tid, &c) == 0 && c.eff == (KNOWN_CAPS & ~CAPBIT(C_CHOWN)),
	      "main: capget of the worker's tid shows the drop");
	CHECK(task_hex(worker_tid, "CapEff") == (KNOWN_CAPS & ~CAPBIT(C_CHOWN)),
	      "the worker's task status shows the drop");
	CHECK(task_hex(main_tid, "CapEff") == KNOWN_CAPS && status_hex("CapEff") == KNOWN_CAPS,
	      "the main thread's status does not");
	CHECK(chown(file, 1000, -1) == 0 && chown(file, 0, -1) == 0, "main: chown still works");
	post(to_worker);

	wait_for(to_main);
	CHECK(syscall(SYS_getuid) == 0 && syscall(SYS_geteuid) == 0, "main: still uid 0");
	CHECK(status_hex("CapEff") == KNOWN_CAPS && status_hex("CapPrm") == KNOWN_CAPS,
	      "main: capabilities kept");
	CHECK(task_hex(worker_tid, "CapPrm") == 0, "the worker's task status: no capabilities");
	fd = open(file, O_WRONLY);
	CHECK(fd >= 0, "main: opens its file");
	close(fd);
	post(to_worker);
	pthread_join(t, NULL);
	unlink(file);
	return check_exit();
}
