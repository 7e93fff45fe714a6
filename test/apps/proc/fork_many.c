/*
 * 1000 sequential fork() + _exit(i & 0xff) + waitpid(), each status checked,
 * and the free memory is back where it was afterwards (every frame of every
 * child was freed). In the guest (our parent is the runner, PID 1, and
 * nothing else runs) the bound is tight; on a busy host it is loose.
 */
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define N 1000

int main(void)
{
	int fork_fail = 0, wait_fail = 0, status_fail = 0, pid_dup = 0;
	pid_t prev = 0;
	struct sysinfo si;

	/* One fork first, so that one-time allocations are not counted. */
	pid_t warm = fork();
	if (warm == 0)
		_exit(0);
	waitpid(warm, NULL, 0);
	sysinfo(&si);
	long long free_before = (long long)si.freeram * si.mem_unit;

	for (int i = 0; i < N; i++) {
		int status = 0;
		pid_t pid = fork();
		if (pid == 0)
			_exit(i & 0xff);
		if (pid < 0) {
			fork_fail++;
			break;
		}
		if (pid == prev)
			pid_dup++;
		prev = pid;
		if (waitpid(pid, &status, 0) != pid) {
			wait_fail++;
			continue;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != (i & 0xff)) {
			if (status_fail++ < 5)
				INFO("child %d: status word %#x", i, status);
		}
	}
	CHECK(fork_fail == 0, "%d forks succeeded", N);
	CHECK(wait_fail == 0, "waitpid returned each child's pid");
	CHECK(status_fail == 0, "each child's status was i & 0xff (%d wrong)", status_fail);
	CHECK(pid_dup == 0, "consecutive children had different pids");
	int st;
	CHECK_ERRNO(waitpid(-1, &st, WNOHANG), ECHILD, "no child left");
	sysinfo(&si);
	long long lost = free_before - (long long)si.freeram * si.mem_unit;
	long long bound = getppid() == 1 ? 1LL << 20 : 256LL << 20;
	CHECK(lost < bound, "free memory is back after %d forks (%lld KiB lost, bound %lld KiB)",
	      N, lost / 1024, bound / 1024);
	return check_exit();
}
