/*
 * Calls whose length user space chooses stay bounded and killable:
 *  - sendfile(/dev/null, /dev/zero, NULL, 2^62) is cut to Linux's
 *    MAX_RW_COUNT, is stopped by SIGKILL at once, and by a caught signal
 *    with a partial count;
 *  - sendfile from a file into itself (appending) stops too;
 *  - read(/dev/zero, 1 MiB) returns the whole MiB in one call;
 *  - mincore over 64 GiB of address space works (no kernel buffer of that
 *    size) and a process cannot have more than vm.max_map_count regions
 *    (ENOMEM), while adjacent anonymous mappings merge into one region
 *    (/proc/self/maps shows one line);
 *  - punching a hole over 8 TiB of a sparse tmpfs file takes as long
 *    as the pages it holds, not the range (it once walked 2^31 pages with
 *    the file locked, hanging every user of the file).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Starts `fn` in a child, SIGKILLs it after `after` seconds, and returns
 * how long the kill took to end it (or -1 if it did not within 10 s). */
static double kill_during(void (*fn)(void), double after)
{
	pid_t p = fork();
	if (p == 0) {
		fn();
		_exit(0);
	}
	struct timespec ts = { (time_t)after, (long)((after - (time_t)after) * 1e9) };
	nanosleep(&ts, NULL);
	double t0 = now_s();
	kill(p, SIGKILL);
	int st;
	while (now_s() - t0 < 10)
		if (waitpid(p, &st, WNOHANG) == p)
			return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? now_s() - t0 : -1;
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	return -1;
}

static void endless_sendfile(void)
{
	int out = open("/dev/null", O_WRONLY), in = open("/dev/zero", O_RDONLY);
	for (;;)
		sendfile(out, in, NULL, 1ULL << 62);
}

static void self_sendfile(void)
{
	char path[] = "/tmp/long_calls_XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	char block[4096];
	memset(block, 'a', sizeof block);
	if (write(fd, block, sizeof block) != sizeof block)
		_exit(2);
	off_t off = 0;
	for (;;)
		sendfile(fd, fd, &off, 0xfffffffffffff000ULL);
}

static volatile sig_atomic_t alarms;
static void sparse_hole(void)
{
	char path[] = "/tmp/long_calls.XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	off_t big = 1LL << 43; /* 2^31 pages; within every file system's limit */
	CHECK(fd >= 0 && ftruncate(fd, big) == 0, "a sparse file of 8 TiB");
	CHECK(pwrite(fd, "x", 1, 1 << 20) == 1 && pwrite(fd, "y", 1, 1LL << 40) == 1,
	      "two bytes far apart");
	double t0 = now_s();
	int r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, big - 8192);
	double took = now_s() - t0;
	CHECK(r == 0 && took < 2, "a hole punched over 8 TiB at once (%.2f s)", took);
	char c = 1;
	CHECK(pread(fd, &c, 1, 1LL << 40) == 1 && c == 0, "the hole reads as zeros");
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_size == big && st.st_blocks == 0,
	      "the size is kept and no blocks are left (%lld)", (long long)st.st_blocks);
	close(fd);
}

static void on_alarm(int s)
{
	alarms++;
}

int main(void)
{
	int out = open("/dev/null", O_WRONLY), in = open("/dev/zero", O_RDONLY);
	ssize_t n = sendfile(out, in, NULL, 1 << 20);
	CHECK(n == 1 << 20, "sendfile of 1 MiB from /dev/zero: %zd", n);

	double t = kill_during(endless_sendfile, 0.3);
	CHECK(t >= 0 && t < 2, "sendfile(/dev/null, /dev/zero, 2^62) dies at SIGKILL (%.2f s)", t);
	t = kill_during(self_sendfile, 0.3);
	CHECK(t >= 0 && t < 2, "sendfile from a file into itself dies at SIGKILL (%.2f s)", t);

	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 5 * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	n = sendfile(out, in, NULL, 1ULL << 62);
	CHECK(alarms == 1 && n > 0 && n < 0x7ffff000,
	      "a caught signal ends a long sendfile with a partial count (%zd)", n);

	char *buf = malloc(1 << 20);
	memset(buf, 1, 1 << 20);
	n = read(in, buf, 1 << 20);
	CHECK(n == 1 << 20 && buf[0] == 0 && buf[(1 << 20) - 1] == 0, "read(/dev/zero, 1 MiB) returns 1 MiB (%zd)", n);

	size_t huge = 64UL << 30;
	char *space = mmap(NULL, huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned char *vec = mmap(NULL, huge / 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(space != MAP_FAILED && vec != MAP_FAILED, "map 64 GiB of address space");
	int r = mincore(space, huge, vec);
	CHECK(r == 0 && vec[0] == 0 && vec[huge / 4096 - 1] == 0, "mincore over 64 GiB");
	munmap(space, huge);
	munmap(vec, huge / 4096);

	/* Alternate permissions so that neighbours cannot merge. */
	enum { TRY = 70000 };
	static char *maps[TRY];
	int made = 0, err = 0;
	for (; made < TRY; made++) {
		maps[made] = mmap(NULL, 4096, made % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (maps[made] == MAP_FAILED) {
			err = errno;
			break;
		}
	}
	CHECK(made < TRY && made > 60000 && err == ENOMEM,
	      "past vm.max_map_count regions mmap fails with ENOMEM (after %d, %s)", made, strerror(err));
	for (int i = 0; i < made; i++)
		munmap(maps[i], 4096);
	/* Adjacent anonymous mappings with equal permissions merge: 1000 of
	 * them make one line of /proc/self/maps. */
	char *base = mmap(NULL, 4096 * 1000UL, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(base, 4096 * 1000UL);
	int ok = 1;
	for (unsigned long i = 0; i < 1000 && ok; i++)
		ok = mmap(base + i * 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED;
	FILE *maps_file = fopen("/proc/self/maps", "r");
	char line[256];
	int lines = 0;
	while (maps_file && fgets(line, sizeof line, maps_file)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo < (unsigned long)base + 4096 * 1000UL &&
		    hi > (unsigned long)base)
			lines++;
	}
	if (maps_file)
		fclose(maps_file);
	CHECK(ok && lines == 1, "1000 adjacent one-page mappings make one region (%d)", lines);
	munmap(base, 4096 * 1000UL);
	sparse_hole();
	return check_exit();
}
