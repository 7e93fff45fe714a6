/*
 * Unknown system call numbers must fail with ENOSYS (and must not kill the
 * process or the kernel). Linux returns -ENOSYS for any number outside its
 * table, including -1 (the entry code preloads rax with -ENOSYS).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

int main(void)
{
	CHECK_ERRNO(syscall(1000), ENOSYS, "syscall(1000) -> ENOSYS");
	CHECK_ERRNO(syscall(1000), ENOSYS, "syscall(1000) again -> ENOSYS");
	CHECK_ERRNO(syscall((long)-1), ENOSYS, "syscall(-1) -> ENOSYS");
	CHECK_ERRNO(syscall((long)-1), ENOSYS, "syscall(-1) again -> ENOSYS");
	/*
	 * Numbers inside the table's old hole (335..423) are not used here:
	 * Linux has started to fill it (335 is uretprobe, which raises
	 * SIGILL when called outside its trampoline).
	 */
	CHECK_ERRNO(syscall(0x7fffffffL), ENOSYS, "syscall(0x7fffffff) -> ENOSYS");
	CHECK_ERRNO(syscall(100000), ENOSYS, "syscall(100000) -> ENOSYS");
	/* The process still works afterwards. */
	CHECK(syscall(SYS_getpid) > 0, "getpid still works after unknown syscalls");
	return check_exit();
}
