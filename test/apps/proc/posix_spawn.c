/*
 * posix_spawn() with file actions and attributes. Built with musl and with
 * glibc (posix_spawn-glibc): both implement it with a CLONE_VM|CLONE_VFORK
 * clone (glibc tries clone3 first) and a separate stack.
 *
 * 1. helper_exit 5 with adddup2(pipe -> 1), addclose(pipe read end) and
 *    POSIX_SPAWN_SETSIGMASK {SIGUSR1}: the output arrives on the pipe, shows
 *    the spawned pid and the mask, and the status is 5.
 * 2. fdcheck with addclose(a) and adddup2(b, t), t a free fd (10 or the
 *    next free one): a is closed, t and b are open in the new program, and
 *    both stay open in the parent, where t stays closed.
 * 3. a missing program: posix_spawn() returns ENOENT (not -1/errno).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "guestpath.h"

extern char **environ;

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	const char *helper = guest_path("/test/proc/helper_exit");
	const char *fdcheck = guest_path("/test/proc/fdcheck");
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t mask;
	int fds[2], status = 0, rc;
	pid_t pid = 0;

	/* 1 */
	CHECK(pipe(fds) == 0, "pipe");
	CHECK(posix_spawn_file_actions_init(&fa) == 0, "file_actions_init");
	CHECK(posix_spawn_file_actions_adddup2(&fa, fds[1], 1) == 0, "adddup2(pipe, 1)");
	CHECK(posix_spawn_file_actions_addclose(&fa, fds[0]) == 0, "addclose(read end)");
	CHECK(posix_spawnattr_init(&attr) == 0, "spawnattr_init");
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	CHECK(posix_spawnattr_setsigmask(&attr, &mask) == 0, "setsigmask({SIGUSR1})");
	CHECK(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK) == 0, "setflags(SETSIGMASK)");
	char *const hargv[] = { (char *)helper, "5", NULL };
	rc = posix_spawn(&pid, helper, &fa, &attr, hargv, environ);
	CHECK(rc == 0 && pid > 0, "posix_spawn(helper_exit 5) = %d, pid %d", rc, (int)pid);
	close(fds[1]);
	char out[4096];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(out) - 1 && (n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	int hpid = 0;
	unsigned long long hmask = 0;
	const char *line = strstr(out, "helper_exit: pid=");
	CHECK(line && sscanf(line, "helper_exit: pid=%d ppid=%*d sigmask=%llx", &hpid, &hmask) == 2,
	      "helper's output arrived through the pipe");
	CHECK(hpid == pid, "helper's getpid() %d == spawned pid %d", hpid, (int)pid);
	CHECK(hmask == 1ULL << (SIGUSR1 - 1), "helper's signal mask is {SIGUSR1} (%#llx)", hmask);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 5,
	      "waitpid: exited 5 (status word %#x)", status);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);

	/* 2 */
	int a = open(fdcheck, O_RDONLY);
	int b = open(fdcheck, O_RDONLY);
	int target = 10;
	while (fcntl(target, F_GETFD) != -1 || target == a || target == b)
		target++;
	CHECK(a >= 3 && b >= 3, "opened fds %d and %d; target fd %d", a, b, target);
	CHECK(posix_spawn_file_actions_init(&fa) == 0, "file_actions_init");
	CHECK(posix_spawn_file_actions_addclose(&fa, a) == 0, "addclose(%d)", a);
	CHECK(posix_spawn_file_actions_adddup2(&fa, b, target) == 0, "adddup2(%d, %d)", b, target);
	char sa[16], sb[16], st[16];
	snprintf(sa, sizeof(sa), "%d", a);
	snprintf(sb, sizeof(sb), "%d", b);
	snprintf(st, sizeof(st), "%d", target);
	char *const fargv[] = { (char *)fdcheck, sa, st, sb, NULL };
	rc = posix_spawn(&pid, fdcheck, &fa, NULL, fargv, environ);
	CHECK(rc == 0, "posix_spawn(fdcheck) = %d", rc);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status),
	      "waitpid(fdcheck) (status word %#x)", status);
	CHECK(WEXITSTATUS(status) == 6, "in the child: fd %d closed, %d and %d open (mask %d, want 6)",
	      a, target, b, WEXITSTATUS(status));
	CHECK(fcntl(a, F_GETFD) != -1 && fcntl(b, F_GETFD) != -1, "both still open in the parent");
	CHECK(fcntl(target, F_GETFD) == -1, "fd %d not open in the parent", target);
	posix_spawn_file_actions_destroy(&fa);
	close(a);
	close(b);

	/* 3 */
	const char *missing = guest_path("/test/proc/does-not-exist");
	char *const margv[] = { (char *)missing, NULL };
	pid = 0;
	rc = posix_spawn(&pid, missing, NULL, NULL, margv, environ);
	CHECK(rc == ENOENT, "posix_spawn(missing) returns ENOENT (%d)", rc);
	if (rc == 0)
		waitpid(pid, &status, 0);
	return check_exit();
}
