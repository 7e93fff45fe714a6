/*
 * Writing to a page after mprotect(PROT_READ) must raise SIGSEGV. With the
 * default action the process dies, so the expected status is 128 + 11 = 139.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("FAIL: mmap\n");
		return 1;
	}
	p[0] = 1;
	if (p[0] != 1) {
		printf("FAIL: write did not hold\n");
		return 1;
	}
	if (mprotect((void *)p, 4096, PROT_READ) != 0) {
		printf("FAIL: mprotect\n");
		return 1;
	}
	printf("ok: page is read-only now (value %d)\n", p[0]);
	printf("about to write to a read-only page, expecting SIGSEGV\n");
	fflush(stdout);
	p[0] = 2;
	printf("FAIL: survived a write to a read-only page (value %d)\n", p[0]);
	return 1;
}
