/*
 * Process-management and IPC micro-benchmarks, one subcommand per figure:
 *
 *   bench NAME [-n ITERATIONS]     one benchmark
 *   bench all                      all of them, in the order listed below
 *   bench list                     the names
 *
 * Each prints one machine-readable line
 *
 *   BENCH <name> <value> <unit>
 *
 * where value is the mean time per operation in nanoseconds, measured with
 * clock_gettime(CLOCK_MONOTONIC) around the whole loop. BENCH_SCALE in the
 * environment (a number, e.g. 0.1) scales every default iteration count
 * (at least 1 iteration); -n sets it exactly. The exec benchmarks run
 * exit0 from the directory this program is in (/bench in the guest).
 * Exits non-zero if a benchmark could not run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PAGE 4096UL
#define MIB (1UL << 20)

static char exit0_path[1024];

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void report(const char *name, double value, const char *unit)
{
	printf("BENCH %s %.1f %s\n", name, value, unit);
	fflush(stdout);
}

static int fail(const char *name, const char *what)
{
	fprintf(stderr, "bench %s: %s: %s\n", name, what, strerror(errno));
	return 1;
}

static int reap(pid_t pid, int want)
{
	int status;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == want ? 0 : -1;
}

/* Touches every page of [p, p + size). */
static void touch(volatile char *p, size_t size, char v)
{
	for (size_t off = 0; off < size; off += PAGE)
		p[off] = v;
}

static int b_getppid(const char *name, long n)
{
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	report(name, (double)(now_ns() - t0) / n, "ns/op");
	return 0;
}

static int b_fork(const char *name, long n)
{
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0 || reap(pid, 0))
			return fail(name, "fork/wait");
	}
	report(name, (double)(now_ns() - t0) / n, "ns/op");
	return 0;
}

static int b_vfork(const char *name, long n)
{
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid = vfork();
		if (pid == 0)
			_exit(0);
		if (pid < 0 || reap(pid, 0))
			return fail(name, "vfork/wait");
	}
	report(name, (double)(now_ns() - t0) / n, "ns/op");
	return 0;
}

static int b_vfork_exec(const char *name, long n)
{
	char *const argv[] = { exit0_path, NULL };
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid = vfork();
		if (pid == 0) {
			execve(exit0_path, argv, environ);
			_exit(127);
		}
		if (pid < 0 || reap(pid, 0))
			return fail(name, exit0_path);
	}
	report(name, (double)(now_ns() - t0) / n, "ns/op");
	return 0;
}

static int b_fork_exec(const char *name, long n)
{
	char *const argv[] = { exit0_path, NULL };
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execve(exit0_path, argv, environ);
			_exit(127);
		}
		if (pid < 0 || reap(pid, 0))
			return fail(name, exit0_path);
	}
	report(name, (double)(now_ns() - t0) / n, "ns/op");
	return 0;
}

static int b_posix_spawn(const char *name, long n)
{
	char *const argv[] = { exit0_path, NULL };
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int rc = posix_spawn(&pid, exit0_path, NULL, NULL, argv, environ);
		if (rc != 0) {
			errno = rc;
			return fail(name, exit0_path);
		}
		if (reap(pid, 0))
			return fail(name, "wait");
	}
	report(name, (double)(now_ns() - t0) / n, "ns/op");
	return 0;
}

static int b_fork_256m(const char *name, long n)
{
	size_t size = 256 * MIB;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return fail(name, "mmap 256 MiB");
	touch(p, size, 1);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0 || reap(pid, 0))
			return fail(name, "fork/wait");
	}
	report(name, (double)(now_ns() - t0) / n, "ns/op");
	munmap(p, size);
	return 0;
}

static int b_page_fault(const char *name, long n)
{
	size_t size = 64 * MIB;
	long long total = 0;
	for (long i = 0; i < n; i++) {
		char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return fail(name, "mmap 64 MiB");
		long long t0 = now_ns();
		touch(p, size, 1);
		total += now_ns() - t0;
		munmap(p, size);
	}
	report(name, (double)total / ((double)n * (size / PAGE)), "ns/page");
	return 0;
}

static int b_cow_fault(const char *name, long n)
{
	size_t size = 64 * MIB;
	long long total = 0;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return fail(name, "mmap 64 MiB");
	touch(p, size, 1);
	for (long i = 0; i < n; i++) {
		int fds[2];
		long long child_ns = 0;
		if (pipe(fds) == -1)
			return fail(name, "pipe");
		pid_t pid = fork();
		if (pid == 0) {
			long long t0 = now_ns();
			touch(p, size, 2);
			long long dt = now_ns() - t0;
			_exit(write(fds[1], &dt, sizeof(dt)) == sizeof(dt) ? 0 : 1);
		}
		close(fds[1]);
		if (pid < 0 || read(fds[0], &child_ns, sizeof(child_ns)) != sizeof(child_ns) || reap(pid, 0))
			return fail(name, "child");
		close(fds[0]);
		total += child_ns;
	}
	report(name, (double)total / ((double)n * (size / PAGE)), "ns/page");
	munmap(p, size);
	return 0;
}

static int b_pipe_rtt(const char *name, long n)
{
	int to_child[2], to_parent[2];
	char c = 'x';
	if (pipe(to_child) == -1 || pipe(to_parent) == -1)
		return fail(name, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		while (read(to_child[0], &c, 1) == 1)
			if (write(to_parent[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	if (pid < 0)
		return fail(name, "fork");
	close(to_child[0]);
	close(to_parent[1]);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (write(to_child[1], &c, 1) != 1 || read(to_parent[0], &c, 1) != 1)
			return fail(name, "ping-pong");
	long long dt = now_ns() - t0;
	close(to_child[1]);
	close(to_parent[0]);
	if (reap(pid, 0))
		return fail(name, "child");
	report(name, (double)dt / n, "ns/roundtrip");
	return 0;
}

/*
 * One byte back and forth between this process and a child, over a
 * connected socket: `mine` is this end, `theirs` the child's.
 */
static int socket_ping_pong(const char *name, long n, int mine, int theirs)
{
	char c = 'x';
	pid_t pid = fork();
	if (pid == 0) {
		close(mine);
		while (read(theirs, &c, 1) == 1)
			if (write(theirs, &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	if (pid < 0)
		return fail(name, "fork");
	close(theirs);
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (write(mine, &c, 1) != 1 || read(mine, &c, 1) != 1)
			return fail(name, "ping-pong");
	long long dt = now_ns() - t0;
	close(mine);
	if (reap(pid, 0))
		return fail(name, "child");
	report(name, (double)dt / n, "ns/roundtrip");
	return 0;
}

static int b_unix_rtt(const char *name, long n)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return fail(name, "socketpair");
	return socket_ping_pong(name, n, sv[0], sv[1]);
}

/* Over TCP on 127.0.0.1, with TCP_NODELAY on both ends. */
/* Brings the loopback interface up: Linux booted straight into this
 * program has it down (this kernel's is always up; errors are ignored). */
static void loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd == -1)
		return;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
}

static int b_tcp_rtt(const char *name, long n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int one = 1;
	loopback_up();
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l == -1 || bind(l, (struct sockaddr *)&a, len) == -1 || listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&a, &len) == -1)
		return fail(name, "listen");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c == -1 || connect(c, (struct sockaddr *)&a, len) == -1)
		return fail(name, "connect");
	int s = accept(l, NULL, NULL);
	if (s == -1)
		return fail(name, "accept");
	close(l);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return socket_ping_pong(name, n, c, s);
}

struct bench {
	const char *name;
	int (*fn)(const char *, long);
	long iterations;
};

static const struct bench benches[] = {
	{ "getppid", b_getppid, 100000 },
	{ "fork_exit_wait", b_fork, 1000 },
	{ "vfork_exit_wait", b_vfork, 1000 },
	{ "vfork_exec_wait", b_vfork_exec, 300 },
	{ "fork_exec_wait", b_fork_exec, 300 },
	{ "posix_spawn_wait", b_posix_spawn, 300 },
	{ "fork_256m", b_fork_256m, 10 },
	{ "page_fault", b_page_fault, 5 },
	{ "cow_fault", b_cow_fault, 5 },
	{ "pipe_rtt", b_pipe_rtt, 10000 },
	{ "unix_rtt", b_unix_rtt, 10000 },
	{ "tcp_rtt", b_tcp_rtt, 3000 },
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

static long scaled(long n)
{
	const char *s = getenv("BENCH_SCALE");
	if (s && *s) {
		double f = atof(s);
		if (f > 0)
			n = (long)(n * f);
	}
	return n < 1 ? 1 : n;
}

static void find_exit0(const char *argv0)
{
	char self[1024];
	const char *src = argv0;
	if (!strchr(argv0, '/')) {
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (len > 0) {
			self[len] = '\0';
			src = self;
		} else {
			src = "/bench/bench";
		}
	}
	snprintf(exit0_path, sizeof(exit0_path), "%s", src);
	char *slash = strrchr(exit0_path, '/');
	size_t dir = slash ? (size_t)(slash - exit0_path) : 0;
	snprintf(exit0_path + dir, sizeof(exit0_path) - dir, "%sexit0", slash ? "/" : "");
}

static void usage(void)
{
	fprintf(stderr, "usage: bench NAME [-n ITERATIONS] | all | list\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long n = 0;

	if (argc < 2)
		usage();
	if (argc == 4 && strcmp(argv[2], "-n") == 0) {
		n = atol(argv[3]);
		if (n < 1)
			usage();
	} else if (argc != 2) {
		usage();
	}
	find_exit0(argv[0]);
	if (strcmp(argv[1], "list") == 0) {
		for (size_t i = 0; i < NBENCH; i++)
			printf("%s %ld\n", benches[i].name, benches[i].iterations);
		return 0;
	}
	int all = strcmp(argv[1], "all") == 0, failed = 0, found = 0;
	for (size_t i = 0; i < NBENCH; i++) {
		if (!all && strcmp(argv[1], benches[i].name) != 0)
			continue;
		found = 1;
		failed |= benches[i].fn(benches[i].name, n ? n : scaled(benches[i].iterations));
	}
	if (!found)
		usage();
	return failed;
}
