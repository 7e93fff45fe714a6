/*
 * fork() and copy-on-write: 64 MiB of private anonymous memory filled with a
 * pattern is inherited by the child, which overwrites all of it with its
 * own pattern; the parent's copy is untouched, and stays writable. A
 * MAP_SHARED page, by contrast, carries the child's write to the parent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define SIZE (64UL << 20)
#define WORDS (SIZE / sizeof(uint64_t))

static void fill(uint64_t *p, uint64_t seed)
{
	for (size_t i = 0; i < WORDS; i++)
		p[i] = seed ^ (i * 0x9e3779b97f4a7c15ULL);
}

/* Returns the index of the first bad word, or WORDS. */
static size_t verify(const uint64_t *p, uint64_t seed)
{
	for (size_t i = 0; i < WORDS; i++)
		if (p[i] != (seed ^ (i * 0x9e3779b97f4a7c15ULL)))
			return i;
	return WORDS;
}

int main(void)
{
	const uint64_t parent_seed = 0x1111111111111111ULL, child_seed = 0x2222222222222222ULL,
		       parent_seed2 = 0x3333333333333333ULL;
	int status = 0;

	uint64_t *mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile int *shared = shared_alloc(4096);
	CHECK(mem != MAP_FAILED && shared, "mmap 64 MiB private + 1 shared page");
	if (mem == MAP_FAILED || !shared)
		return check_exit();
	fill(mem, parent_seed);
	shared[0] = 1;

	pid_t pid = fork();
	if (pid == 0) {
		int code = 0;
		if (verify(mem, parent_seed) != WORDS)
			code |= 1;	/* did not inherit the parent's data */
		fill(mem, child_seed);
		if (verify(mem, child_seed) != WORDS)
			code |= 2;
		shared[0] = 42;
		shared[1023] = 4242;
		_exit(code);
	}
	CHECK(pid > 0, "fork() = %d", (int)pid);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child exited (status word %#x)",
	      status);
	CHECK(!(WEXITSTATUS(status) & 1), "child saw the parent's 64 MiB pattern");
	CHECK(!(WEXITSTATUS(status) & 2), "child's own writes read back");
	CHECK(WEXITSTATUS(status) == 0, "child status 0 (%d)", WEXITSTATUS(status));
	size_t bad = verify(mem, parent_seed);
	CHECK(bad == WORDS, "parent's pattern is intact after the child wrote (first bad word %zu)", bad);
	CHECK(shared[0] == 42 && shared[1023] == 4242, "child's writes to the MAP_SHARED page are visible");
	fill(mem, parent_seed2);
	CHECK(verify(mem, parent_seed2) == WORDS, "parent can write and read back its memory after fork");
	CHECK(munmap(mem, SIZE) == 0, "munmap");
	return check_exit();
}
