/*
 * /proc/self/maps names what is mapped: a file mapping shows its offset,
 * device (major:minor), inode and path (from column 73), the program its
 * own file, the program break [heap], the stack [stack]; anonymous memory
 * shows 00000000 00:00 0 and no name.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check.h"

static char maps[65536];

static void load_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	ssize_t n, total = 0;

	while (fd >= 0 && (n = read(fd, maps + total, sizeof maps - 1 - total)) > 0)
		total += n;
	maps[total] = 0;
	if (fd >= 0)
		close(fd);
}

/* The line of the region holding addr (copied), or NULL. */
static char *line_of(uintptr_t addr)
{
	static char line[512];
	char *s = maps;

	while (*s) {
		char *nl = strchr(s, '\n');
		unsigned long a, b;
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (sscanf(s, "%lx-%lx", &a, &b) == 2 && addr >= a && addr < b && len < sizeof line) {
			memcpy(line, s, len);
			line[len] = 0;
			return line;
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	char path[] = "/tmp/proc_maps.XXXXXX";
	char want[256], exe[PATH_MAX];
	int fd = mkstemp(path);
	struct stat st;
	char *map, *anon, *line, *name;
	uintptr_t brk0;

	(void)argc;
	CHECK(fd >= 0 && ftruncate(fd, 3 * 4096) == 0, "a 3-page file");
	fstat(fd, &st);
	map = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
	CHECK(map != MAP_FAILED, "map its last two pages");
	anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	anon[0] = 1;
	brk0 = syscall(SYS_brk, 0);
	syscall(SYS_brk, brk0 + 8192);
	*(volatile char *)brk0 = 1;
	load_maps();

	line = line_of((uintptr_t)map);
	CHECK(line != NULL, "the file mapping has a line");
	if (line) {
		snprintf(want, sizeof want, " r--p 00001000 %02x:%02x %lu ", major(st.st_dev),
			 minor(st.st_dev), (unsigned long)st.st_ino);
		CHECK(strstr(line, want) != NULL, "offset, device, inode: %s", line);
		name = strchr(line, '/');
		CHECK(name && strcmp(name, path) == 0, "named by its path");
		CHECK(name && name - line == 73 && line[72] == ' ', "from column 73");
	}

	line = line_of((uintptr_t)anon);
	CHECK(line && strstr(line, " rw-p 00000000 00:00 0 ") &&
	      line[strlen(line) - 1] == ' ' && !strchr(line, '/') && !strchr(line, '['),
	      "anonymous memory: no file, no name (%s)", line ? line : "none");

	line = line_of(brk0);
	CHECK(line && strstr(line, "[heap]") != NULL, "the program break is [heap] (%s)",
	      line ? line : "none");

	line = line_of((uintptr_t)&fd);
	CHECK(line && strstr(line, " rw-p ") && strstr(line, "[stack]") != NULL,
	      "the stack is [stack]");

	line = line_of((uintptr_t)&main);
	CHECK(realpath(argv[0], exe) != NULL, "realpath of the program");
	CHECK(line && strstr(line, " r-xp ") && (name = strchr(line, '/')) &&
	      strcmp(name, exe) == 0, "the code is named after the program (%s)",
	      line ? line : "none");
	if (line) {
		struct stat self;
		stat(exe, &self);
		snprintf(want, sizeof want, " %02x:%02x %lu ", major(self.st_dev), minor(self.st_dev),
			 (unsigned long)self.st_ino);
		CHECK(strstr(line, want) != NULL, "with the program's device and inode");
	}

	munmap(map, 2 * 4096);
	close(fd);
	unlink(path);
	return check_exit();
}
