/*
 * A killed process dies promptly even when the CPU is busy: 48 processes
 * spin or fork without end in our session while a victim with 128 MiB of touched memory is
 * SIGKILLed: while running, while blocked in a read, and in the middle of
 * a 768 MiB fallocate on a tmpfs (which it must undo). It must be reaped
 * within two seconds. Linux does this at native speed; under emulation it
 * needs the dying task to go first.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define SPINNERS 48
#define VICTIM_MIB 128

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* A victim that touches its memory, says so through `ready`, then spins
 * (or blocks in a read of an empty pipe). */
static char dir[] = "/tmp/killloadXXXXXX";

static pid_t victim(int mode)
{
	int ready[2], idle[2];
	if (pipe(ready) || pipe(idle))
		return -1;
	pid_t p = fork();
	if (p == 0) {
		size_t len = (size_t)VICTIM_MIB << 20;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(1);
		for (size_t i = 0; i < len; i += 4096)
			m[i] = 1;
		if (mode == 2) {
			char path[64];
			snprintf(path, sizeof path, "%s/f", dir);
			int fd = open(path, O_RDWR | O_CREAT, 0600);
			write(ready[1], "r", 1);
			fallocate(fd, 0, 0, 768L << 20);
		}
		write(ready[1], "r", 1);
		if (mode == 1) {
			char c;
			read(idle[0], &c, 1);
		}
		for (;;)
			;
	}
	char c;
	read(ready[0], &c, 1);
	if (mode == 2)
		usleep(300 * 1000); /* well into the fallocate */
	close(ready[0]);
	close(ready[1]);
	close(idle[0]);
	close(idle[1]);
	return p;
}

int main(void)
{
	pid_t spin[SPINNERS];
	/* Half spin, half fork and reap children without end: new tasks
	 * keep arriving ahead of the old ones. */
	for (int i = 0; i < SPINNERS; i++) {
		spin[i] = fork();
		if (spin[i] == 0 && i % 2)
			for (;;) {
				pid_t c = fork();
				if (c == 0)
					_exit(0);
				if (c > 0)
					waitpid(c, NULL, 0);
			}
		if (spin[i] == 0)
			for (;;)
				;
	}
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CHECK(mount("tmpfs", dir, "tmpfs", 0, "size=1g") == 0, "a 1 GiB tmpfs");
	static const char *what[] = { ", spinning", ", blocked in read", ", in a 768 MiB fallocate" };
	for (int mode = 0; mode < 3; mode++) {
		pid_t v = victim(mode);
		CHECK(v > 0, "a victim with %d MiB touched%s", VICTIM_MIB, what[mode]);
		if (mode != 2)
			usleep(200 * 1000);
		double t0 = now();
		kill(v, SIGKILL);
		int st;
		pid_t r = waitpid(v, &st, 0);
		double dt = now() - t0;
		CHECK(r == v && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "it was killed");
		CHECK(dt < 2.0, "and reaped %.3f s after SIGKILL, with %d processes spinning", dt, SPINNERS);
	}
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	for (int i = 0; i < SPINNERS; i++)
		kill(spin[i], SIGKILL);
	for (int i = 0; i < SPINNERS; i++)
		waitpid(spin[i], NULL, 0);
	return check_exit();
}
