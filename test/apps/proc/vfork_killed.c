/*
 * A vfork child killed by SIGKILL releases its suspended parent, which then
 * sees WIFSIGNALED/SIGKILL. As the parent is suspended, a third process does
 * the killing: forked first, it watches a MAP_SHARED page for the vfork
 * child's pid and then sends SIGKILL.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

struct shared {
	volatile pid_t vchild;
	volatile int killed;
};

int main(void)
{
	struct shared *sh = shared_alloc(sizeof(*sh));
	int status = 0;

	CHECK(sh != NULL, "mmap(MAP_SHARED|MAP_ANONYMOUS)");
	if (!sh)
		return check_exit();

	pid_t killer = fork();
	if (killer == 0) {
		long long t0 = now_ns();
		while (sh->vchild == 0) {
			if (now_ns() - t0 > 20000000000LL)
				_exit(1);
			sleep_ms(1);
		}
		sleep_ms(20);
		sh->killed = 1;		/* before: the parent may run right after */
		_exit(kill(sh->vchild, SIGKILL) == 0 ? 0 : 2);
	}
	CHECK(killer > 0, "fork() the killer = %d", (int)killer);

	long long before = now_ns();
	pid_t pid = vfork();
	if (pid == 0) {
		sh->vchild = getpid();
		/* Wait to be killed; give up (status 99) after 30 s. */
		for (int i = 0; i < 3000; i++)
			sleep_ms(10);
		_exit(99);
	}
	long long resumed = now_ns();
	CHECK(pid > 0, "vfork() = %d", (int)pid);
	CHECK(sh->vchild == pid, "the child published its pid %d", (int)sh->vchild);
	CHECK(sh->killed == 1, "the parent resumed only once the killer was sending SIGKILL");
	CHECK(resumed - before < 20000000000LL, "parent released by the kill (%lld ms)",
	      (resumed - before) / 1000000);
	CHECK(wait4(pid, &status, 0, NULL) == pid, "wait4(vfork child)");
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "vfork child died of SIGKILL (status word %#x)", status);
	CHECK(!WIFEXITED(status), "!WIFEXITED");
	CHECK(waitpid(killer, &status, 0) == killer && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "killer's kill() succeeded and it exited 0 (status word %#x)", status);
	return check_exit();
}
