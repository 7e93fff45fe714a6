/*
 * A chain of 50 nested forks: each child forks the next one, the deepest
 * exits 0, and every parent waits and exits with its child's status. Each
 * level records its pid and parent pid in shared memory, so the top can
 * check the depth reached and that every link saw the right parent.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define DEPTH 50

struct shared {
	volatile int max_depth;
	volatile pid_t pid[DEPTH + 1];
	volatile pid_t ppid[DEPTH + 1];
};

static struct shared *sh;

__attribute__((noreturn)) static void level(int depth);

static void level(int depth)
{
	int status = 0;

	sh->pid[depth] = getpid();
	sh->ppid[depth] = getppid();
	sh->max_depth = depth;
	if (depth == DEPTH)
		_exit(0);
	pid_t pid = fork();
	if (pid < 0)
		_exit(100);
	if (pid == 0)
		level(depth + 1);
	if (waitpid(pid, &status, 0) != pid)
		_exit(101);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 102);
}

int main(void)
{
	int status = 0;

	sh = shared_alloc(sizeof(*sh));
	CHECK(sh != NULL, "shared memory");
	if (!sh)
		return check_exit();
	sh->pid[0] = getpid();
	pid_t pid = fork();
	if (pid == 0)
		level(1);
	CHECK(pid > 0, "fork() = %d", (int)pid);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid(first child)");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the chain ended with status 0 (status word %#x)",
	      status);
	CHECK(sh->max_depth == DEPTH, "depth reached %d == %d", sh->max_depth, DEPTH);
	int links_ok = 1;
	for (int d = 1; d <= sh->max_depth; d++)
		if (sh->ppid[d] != sh->pid[d - 1] || sh->pid[d] == sh->pid[d - 1]) {
			INFO("level %d: pid %d ppid %d, level above pid %d", d, (int)sh->pid[d],
			     (int)sh->ppid[d], (int)sh->pid[d - 1]);
			links_ok = 0;
		}
	CHECK(links_ok, "every level's getppid() is the level above");
	CHECK(sh->pid[1] == pid, "level 1 is our child");
	return check_exit();
}
