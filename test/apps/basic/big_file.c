/*
 * A large file with a known pattern, for the large-initramfs boot.
 *
 *   big_file -w PATH MIB   writes MIB MiB of the pattern to PATH (on the
 *                          host, before packing the initramfs)
 *   big_file PATH MIB      checks that PATH holds exactly that (in the
 *                          guest, as PID 1, with the file unpacked from
 *                          the initramfs)
 *
 * The pattern repeats every 4 KiB, so the archive compresses well, but
 * every byte depends on its offset within the block, so a misplaced chunk
 * shows.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define BLOCK 4096
#define CHUNK (1 << 20)

static unsigned char pattern_at(size_t off)
{
	uint32_t x = (uint32_t)(off % BLOCK) * 2654435761u;
	return (unsigned char)(x >> 24);
}

static int write_file(const char *path, long mib)
{
	static unsigned char buf[CHUNK];
	for (size_t i = 0; i < CHUNK; i++)
		buf[i] = pattern_at(i);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (long i = 0; i < mib; i++)
		if (write(fd, buf, CHUNK) != CHUNK) {
			perror("write");
			return 1;
		}
	return close(fd) != 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "-w") == 0)
		return write_file(argv[2], atol(argv[3]));
	if (argc != 3) {
		fprintf(stderr, "usage: big_file [-w] PATH MIB\n");
		return 2;
	}
	const char *path = argv[1];
	long long size = (long long)atol(argv[2]) * CHUNK;

	struct stat st;
	CHECK(stat(path, &st) == 0, "stat %s", path);
	CHECK(st.st_size == size, "size is %lld bytes (got %lld)", size, (long long)st.st_size);
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644, "a regular file, mode 0644 (got %o)",
	      (unsigned)st.st_mode);

	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0, "open");
	static unsigned char buf[CHUNK];
	long long off = 0, bad = -1;
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && bad < 0; i++)
			if (buf[i] != pattern_at((size_t)(off + i)))
				bad = off + i;
		off += n;
	}
	CHECK(off == size, "read %lld bytes back", off);
	CHECK(bad < 0, "every byte as written (first difference at %lld)", bad);
	close(fd);
	/* Booted as PID 1 with no runner: print the summary line ourselves. */
	printf("%d passed, %d failed\n", check_total_ - check_failed_, check_failed_);
	return check_exit();
}
