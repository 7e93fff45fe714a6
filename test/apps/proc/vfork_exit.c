/*
 * vfork() + _exit(): the child writes into the parent's memory (a global and
 * a local of the parent's frame) before _exit(7); the parent, resumed only
 * after that, sees both writes and the status 7.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static volatile int global_value = 1;

int main(void)
{
	volatile int local_value = 10;
	int status = 0;

	pid_t pid = vfork();
	if (pid == 0) {
		global_value = 2;
		local_value = 20;
		_exit(7);
	}
	CHECK(pid > 0, "vfork() = %d", (int)pid);
	CHECK(global_value == 2, "child's write to a global is visible (%d)", global_value);
	CHECK(local_value == 20, "child's write to the parent's local is visible (%d)", local_value);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid(child)");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "child exited 7 (status word %#x)", status);
	return check_exit();
}
