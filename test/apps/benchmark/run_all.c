#include <sys/reboot.h>
/*
 * Runs every benchmark of bench (found next to this program: /bench/bench
 * in the guest), each in its own process, and passes their BENCH lines on;
 * ends with "BENCH done". Exits 0 if every benchmark ran.
 *
 *   run_all [NAME...]      only these benchmarks
 *
 * BENCH_SCALE is passed on through the environment (see bench.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *const names[] = {
	"getppid", "fork_exit_wait", "vfork_exit_wait", "vfork_exec_wait", "fork_exec_wait",
	"posix_spawn_wait", "fork_256m", "page_fault", "cow_fault", "pipe_rtt",
	"unix_rtt", "tcp_rtt",
};

static char bench_path[1024];

static int run(const char *name)
{
	char *const argv[] = { bench_path, (char *)name, NULL };
	int status;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execve(bench_path, argv, environ);
		fprintf(stderr, "run_all: cannot execute %s: %s\n", bench_path, strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "run_all: %s failed (status word %#x)\n", name, status);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;
	const char *slash = strrchr(argv[0], '/');
	if (slash)
		snprintf(bench_path, sizeof(bench_path), "%.*s/bench", (int)(slash - argv[0]), argv[0]);
	else
		snprintf(bench_path, sizeof(bench_path), "/bench/bench");

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			failed |= run(argv[i]) != 0;
	} else {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			failed |= run(names[i]) != 0;
	}
	printf("BENCH done\n");
	fflush(stdout);
	/* As the first program of a benchmark boot, power the machine off so
	 * that Linux, too, ends QEMU instead of panicking when init exits. */
	if (getpid() == 1) {
		sync();
		reboot(RB_POWER_OFF);
	}
	return failed;
}
