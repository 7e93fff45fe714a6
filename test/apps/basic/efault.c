/*
 * System calls given bad user pointers must fail with EFAULT instead of
 * crashing the process or the kernel. Raw syscall() is used wherever a libc
 * wrapper might touch the buffer itself (e.g. clock_gettime via the vDSO).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define BAD_LOW ((void *)1)
#define BAD_NULL ((void *)0)
#define BAD_NONCANON ((void *)0xffff800000000000UL)  /* start of kernel half */
#define BAD_KERNEL ((void *)0xffffffff80000000UL)    /* near the top */

int main(int argc, char **argv)
{
	(void)argc;
	void *bad[] = { BAD_LOW, BAD_NULL, BAD_NONCANON, BAD_KERNEL, NULL };
	const char *bad_name[] = { "0x1", "NULL", "0xffff800000000000",
				   "0xffffffff80000000", "unmapped page" };
	int nbad = 5;

	/* An address inside the user half that is not mapped. */
	char *unmapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(unmapped != MAP_FAILED, "mmap a page to unmap");
	CHECK(munmap(unmapped, 4096) == 0, "munmap it");
	bad[4] = unmapped;

	for (int i = 0; i < nbad; i++)
		CHECK_ERRNO(syscall(SYS_write, 1, bad[i], 10), EFAULT,
			    "write(1, %s, 10) -> EFAULT", bad_name[i]);

	int fd = open(argv[0], O_RDONLY);
	CHECK(fd >= 0, "open(argv[0]) for reading");
	for (int i = 0; i < nbad; i++)
		CHECK_ERRNO(syscall(SYS_read, fd, bad[i], 16), EFAULT,
			    "read(file, %s, 16) -> EFAULT", bad_name[i]);
	char buf[4];
	CHECK(pread(fd, buf, 4, 0) == 4 && buf[0] == 0x7f && buf[1] == 'E',
	      "file still readable with a good buffer");
	close(fd);

	for (int i = 0; i < nbad; i++)
		CHECK_ERRNO(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad[i]), EFAULT,
			    "clock_gettime(MONOTONIC, %s) -> EFAULT", bad_name[i]);
	for (int i = 0; i < nbad; i++)
		CHECK_ERRNO(syscall(SYS_uname, bad[i]), EFAULT,
			    "uname(%s) -> EFAULT", bad_name[i]);

	/* A bad path pointer. */
	CHECK_ERRNO(syscall(SYS_open, BAD_LOW, O_RDONLY), EFAULT,
		    "open(0x1) -> EFAULT");
	CHECK_ERRNO(syscall(SYS_open, BAD_KERNEL, O_RDONLY), EFAULT,
		    "open(0xffffffff80000000) -> EFAULT");

	/* The process is unharmed. */
	struct timespec ts;
	CHECK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == 0,
	      "clock_gettime with a good pointer still works");
	return check_exit();
}
