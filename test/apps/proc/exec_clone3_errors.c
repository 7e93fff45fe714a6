/*
 * Argument checks of execveat and clone3, as Linux makes them:
 *  - execveat with AT_SYMLINK_NOFOLLOW on a symbolic link is ELOOP, with
 *    an unknown flag EINVAL, with an empty path and no AT_EMPTY_PATH
 *    ENOENT, on a bad directory descriptor EBADF;
 *  - clone3 with a size below the first version EINVAL, above a page
 *    E2BIG, larger than the kernel's struct with nonzero extra bytes
 *    E2BIG (zero extra bytes are fine), a bad args pointer EFAULT, and
 *    CLONE_PIDFD with a pidfd pointer that cannot be written EFAULT.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_execveat
#define SYS_execveat 322
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#define CLONE_PIDFD_FLAG 0x1000

struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
		set_tid, set_tid_size, cgroup;
};

static long clone3(void *args, size_t size)
{
	return syscall(SYS_clone3, args, size);
}

int main(void)
{
	char *argv[] = { "true", NULL }, *envp[] = { NULL };
	char link[] = "/tmp/exec_clone3_errors.link";
	unlink(link);
	CHECK(symlink("/proc/self/exe", link) == 0, "a symbolic link to an executable");
	CHECK_ERRNO(syscall(SYS_execveat, AT_FDCWD, link, argv, envp, AT_SYMLINK_NOFOLLOW), ELOOP,
		    "execveat(AT_SYMLINK_NOFOLLOW) on a link is ELOOP");
	CHECK_ERRNO(syscall(SYS_execveat, AT_FDCWD, link, argv, envp, 0x2), EINVAL,
		    "execveat with an unknown flag is EINVAL");
	CHECK_ERRNO(syscall(SYS_execveat, AT_FDCWD, "", argv, envp, 0), ENOENT,
		    "execveat with an empty path and no AT_EMPTY_PATH is ENOENT");
	CHECK_ERRNO(syscall(SYS_execveat, 12345, "x", argv, envp, 0), EBADF,
		    "execveat on a bad directory descriptor is EBADF");
	unlink(link);

	struct {
		struct clone_args_v2 a;
		uint64_t extra[4];
	} big;
	memset(&big, 0, sizeof big);
	big.a.exit_signal = SIGCHLD;
	CHECK_ERRNO(clone3(&big, 32), EINVAL, "clone3 with a size below 64 is EINVAL");
	CHECK_ERRNO(clone3(&big, 4097), E2BIG, "clone3 with a size above a page is E2BIG");
	big.extra[1] = 1;
	CHECK_ERRNO(clone3(&big, sizeof big), E2BIG, "clone3 with nonzero bytes past its struct is E2BIG");
	big.extra[1] = 0;
	long pid = clone3(&big, sizeof big);
	if (pid == 0)
		_exit(0);
	CHECK(pid > 0, "clone3 with zero bytes past its struct works");
	if (pid > 0)
		waitpid(pid, NULL, 0);
	CHECK_ERRNO(clone3((void *)8, 64), EFAULT, "clone3 with a bad pointer is EFAULT");
	big.a.flags = CLONE_PIDFD_FLAG;
	big.a.pidfd = 8;
	CHECK_ERRNO(clone3(&big, 88), EFAULT, "clone3(CLONE_PIDFD) with a bad pidfd pointer is EFAULT");
	return check_exit();
}
