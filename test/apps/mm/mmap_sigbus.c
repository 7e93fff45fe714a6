/*
 * SIGBUS on file mappings past the end of the file: the page holding the
 * end is usable (zeros past it), pages wholly past it raise SIGBUS with
 * BUS_ADRERR and the address; ftruncate shrinking a mapped file makes its
 * pages past the new end raise SIGBUS (shared and private mappings, even
 * pages already touched), growing it makes them valid again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

#define PAGE 4096L

static sigjmp_buf env;
static volatile int got_sig, got_code;
static volatile void *got_addr;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = si->si_addr;
	siglongjmp(env, 1);
}

/* Reads (or writes) *p; returns the signal it raised, or 0. */
static int touch(volatile char *p, int write)
{
	got_sig = 0;
	got_addr = NULL;
	if (sigsetjmp(env, 1) == 0) {
		if (write)
			*p = 1;
		else
			(void)*p;
	}
	return got_sig;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);

	const char *path = "/tmp/mmap_sigbus.tmp";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0, "create a file");
	char data[PAGE + 100];
	memset(data, 'x', sizeof(data));
	CHECK(write(fd, data, sizeof(data)) == (long)sizeof(data), "write 1 page + 100 bytes");

	char *s = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(s != MAP_FAILED && p != MAP_FAILED, "map 4 pages shared and private");

	CHECK(touch(s, 0) == 0 && s[0] == 'x', "first page readable");
	CHECK(touch(s + PAGE + 99, 0) == 0 && s[PAGE + 99] == 'x', "last byte of the file");
	CHECK(touch(s + PAGE + 100, 0) == 0 && s[PAGE + 100] == 0,
	      "past the end within the last page: zero");
	CHECK(touch(s + 2 * PAGE - 1, 1) == 0, "writable up to the end of the last page");
	CHECK(touch(s + 2 * PAGE, 0) == SIGBUS, "page wholly past the end: SIGBUS");
	CHECK(got_code == BUS_ADRERR, "si_code BUS_ADRERR (%d)", got_code);
	CHECK(got_addr == s + 2 * PAGE, "si_addr is the address touched");
	CHECK(touch(s + 3 * PAGE + 17, 1) == SIGBUS && got_addr == s + 3 * PAGE + 17,
	      "write further past: SIGBUS at that address");
	CHECK(touch(p + 2 * PAGE, 0) == SIGBUS, "private mapping past the end: SIGBUS");
	CHECK(touch(p + 2 * PAGE, 1) == SIGBUS, "private write past the end: SIGBUS");

	/* A write past the end within the page is not written to the file. */
	CHECK(lseek(fd, 0, SEEK_END) == PAGE + 100, "file size unchanged");

	/* Shrink: pages past the new end go, even touched ones. */
	p[PAGE] = 'p';
	CHECK(ftruncate(fd, 100) == 0, "ftruncate to 100 bytes");
	CHECK(touch(s + PAGE, 0) == SIGBUS && got_addr == s + PAGE,
	      "shared: second page now SIGBUS");
	CHECK(touch(p + PAGE, 0) == SIGBUS, "private: its copied page is gone too (SIGBUS)");
	CHECK(touch(s + 50, 0) == 0 && s[50] == 'x', "first page still mapped");
	CHECK(touch(s + 100, 0) == 0 && s[100] == 0, "zeros past the new end in the first page");

	/* Grow again: valid, and reads zeros (the old data is gone). */
	CHECK(ftruncate(fd, 3 * PAGE) == 0, "ftruncate to 3 pages");
	CHECK(touch(s + PAGE, 0) == 0 && s[PAGE] == 0, "second page valid again, zero");
	CHECK(touch(s + 2 * PAGE + 5, 1) == 0, "third page writable");
	char c = 0;
	CHECK(pread(fd, &c, 1, 2 * PAGE + 5) == 1 && c == 1, "the write reached the file");
	CHECK(touch(p + PAGE, 0) == 0 && p[PAGE] == 0, "private mapping valid again, zero");
	CHECK(touch(s + 3 * PAGE, 0) == SIGBUS, "fourth page still past the end");

	/* Clean up. */
	CHECK(munmap(s, 4 * PAGE) == 0 && munmap(p, 4 * PAGE) == 0, "unmap");
	close(fd);
	unlink(path);
	return check_exit();
}
