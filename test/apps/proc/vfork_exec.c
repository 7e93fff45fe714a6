/*
 * vfork() + execve(): the parent is suspended until the child has called
 * execve(), the child shares the parent's memory until then, and the pid
 * vfork() returns is the one wait4() reports, with the exec'd program's
 * exit status.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "guestpath.h"
#include "procutil.h"

static volatile int marker;
static volatile pid_t child_pid_seen;
static volatile long long child_exec_time;

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	const char *helper = guest_path("/test/proc/helper_exit");
	char *const hargv[] = { (char *)helper, "7", NULL };
	int status = 0;
	long long before = now_ns();

	pid_t pid = vfork();
	if (pid == 0) {
		/* Child: runs first, on the parent's memory. */
		child_pid_seen = getpid();
		/* Make a running parent very likely to notice the delay. */
		long long t0 = now_ns();
		while (now_ns() - t0 < 30 * 1000000LL)
			;
		marker = 1;
		child_exec_time = now_ns();
		execve(helper, hargv, environ);
		marker = 2;
		_exit(127);
	}
	long long after = now_ns();
	CHECK(pid > 0, "vfork() = %d", (int)pid);
	CHECK(marker == 1, "parent resumed after the child's execve (marker %d)", marker);
	CHECK(child_exec_time != 0 && child_exec_time >= before && after >= child_exec_time,
	      "the child's last write before execve happened while the parent waited");
	CHECK(after - before >= 30 * 1000000LL, "parent was suspended for the child's 30 ms (%lld us)",
	      (after - before) / 1000);
	CHECK(child_pid_seen == pid, "getpid() in the child (%d) == vfork() result",
	      (int)child_pid_seen);

	struct rusage ru;
	pid_t w = wait4(pid, &status, 0, &ru);
	CHECK(w == pid, "wait4() = %d == vfork() result %d", (int)w, (int)pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7,
	      "helper exited with status 7 (status word %#x)", status);
	CHECK_ERRNO(wait4(-1, &status, WNOHANG, NULL), ECHILD, "no child left");
	return check_exit();
}
