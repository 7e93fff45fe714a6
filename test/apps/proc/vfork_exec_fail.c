/*
 * vfork() + a failing execve(): the child gets ENOENT, stays on the parent's
 * memory, records the errno there, waits 50 ms and calls _exit(3). The
 * parent must stay suspended until that _exit: the time stamp the child
 * writes right before _exit is visible and precedes the parent's resumption.
 */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "guestpath.h"
#include "procutil.h"

static volatile int child_errno;
static volatile int exec_ret;
static volatile long long exit_time;

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	const char *missing = guest_path("/test/proc/does-not-exist");
	char *const margv[] = { (char *)missing, NULL };
	int status = 0;
	long long before = now_ns();

	pid_t pid = vfork();
	if (pid == 0) {
		exec_ret = execve(missing, margv, environ);
		child_errno = errno;
		sleep_ms(50);
		exit_time = now_ns();
		_exit(3);
	}
	long long resumed = now_ns();
	CHECK(pid > 0, "vfork() = %d", (int)pid);
	CHECK(exec_ret == -1, "execve(missing) returned -1 in the child");
	CHECK(child_errno == ENOENT, "child's errno is ENOENT (%d)", child_errno);
	CHECK(exit_time != 0, "the child's write right before _exit is visible");
	CHECK(exit_time <= resumed, "the parent resumed after the child's _exit");
	CHECK(resumed - before >= 50 * 1000000LL, "the parent waited out the child's 50 ms (%lld us)",
	      (resumed - before) / 1000);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid(child)");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "child exited 3 (status word %#x)", status);
	return check_exit();
}
