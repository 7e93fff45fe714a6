/*
 * memfd_create(2) and file seals (fcntl F_ADD_SEALS, F_GET_SEALS):
 * - creation: MFD_CLOEXEC, the name in /proc/self/fd ("/memfd:NAME
 *   (deleted)"), fstat, read/write/mmap, sharing with a child, a mapping
 *   outliving the descriptor;
 * - errors: EINVAL (flags, MFD_EXEC with MFD_NOEXEC_SEAL, a name of 250
 *   bytes, unknown seals, files without seals), EFAULT, EPERM;
 * - seals: none without MFD_ALLOW_SEALING (F_SEAL_SEAL); F_SEAL_SHRINK,
 *   F_SEAL_GROW (write, ftruncate, fallocate), F_SEAL_WRITE (write,
 *   pwrite, shared writable mmap, mprotect; EBUSY while such a mapping
 *   exists; private mappings still allowed), F_SEAL_FUTURE_WRITE,
 *   F_SEAL_SEAL; MFD_NOEXEC_SEAL (F_SEAL_EXEC, fchmod).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* Not in musl's headers. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

static long mfd(const char *name, unsigned flags)
{
	return syscall(SYS_memfd_create, name, flags);
}

static int seals(int fd)
{
	return fcntl(fd, F_GET_SEALS);
}

int main(void)
{
	char buf[64], link[128], path[64];

	/* Creation. */
	int fd = mfd("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(fd >= 0, "memfd_create(\"test\", CLOEXEC|ALLOW_SEALING)");
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "MFD_CLOEXEC sets FD_CLOEXEC");
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "open for reading and writing");
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	CHECK(!strcmp(link, "/memfd:test (deleted)"), "/proc/self/fd link: \"%s\"", link);
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0 && (st.st_mode & 0777) == 0777,
	      "fstat: a regular file, empty, mode %o", st.st_mode & 07777);
	int plain = mfd("plain", 0);
	CHECK(plain >= 0 && fcntl(plain, F_GETFD) == 0, "memfd_create(\"plain\", 0): no FD_CLOEXEC");
	CHECK(seals(plain) == F_SEAL_SEAL, "without MFD_ALLOW_SEALING: F_SEAL_SEAL");
	CHECK_ERRNO(fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE), EPERM, "so F_ADD_SEALS -> EPERM");
	CHECK(seals(fd) == 0, "with MFD_ALLOW_SEALING: no seals");

	/* Errors. */
	CHECK_ERRNO(mfd("x", 0x100), EINVAL, "unknown flag -> EINVAL");
	CHECK_ERRNO(mfd("x", MFD_EXEC | MFD_NOEXEC_SEAL), EINVAL, "MFD_EXEC|MFD_NOEXEC_SEAL -> EINVAL");
	CHECK_ERRNO(mfd((const char *)8, 0), EFAULT, "unreadable name -> EFAULT");
	char name[300];
	memset(name, 'n', sizeof name);
	name[250] = 0;
	CHECK_ERRNO(mfd(name, 0), EINVAL, "a name of 250 bytes -> EINVAL");
	name[249] = 0;
	int longname = mfd(name, 0);
	CHECK(longname >= 0, "a name of 249 bytes is fine");
	close(longname);
	CHECK_ERRNO(fcntl(fd, F_ADD_SEALS, 0x40), EINVAL, "unknown seal -> EINVAL");
	int p[2];
	pipe(p);
	CHECK_ERRNO(fcntl(p[1], F_ADD_SEALS, F_SEAL_WRITE), EINVAL, "F_ADD_SEALS on a pipe -> EINVAL");
	CHECK_ERRNO(fcntl(p[0], F_ADD_SEALS, F_SEAL_WRITE), EPERM,
	            "F_ADD_SEALS through a read-only descriptor -> EPERM");
	CHECK_ERRNO(fcntl(p[0], F_GET_SEALS), EINVAL, "F_GET_SEALS on a pipe -> EINVAL");
	close(p[0]);
	close(p[1]);

	/* Contents. */
	CHECK(write(fd, "hello", 5) == 5, "write 5 bytes");
	memset(buf, 0, sizeof buf);
	CHECK(pread(fd, buf, sizeof buf, 0) == 5 && !memcmp(buf, "hello", 5), "pread them back");
	CHECK(ftruncate(fd, 8192) == 0 && fstat(fd, &st) == 0 && st.st_size == 8192, "ftruncate to 8192");
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "mmap MAP_SHARED read/write");
	CHECK(!memcmp(m, "hello", 5), "the mapping shows the data");
	memcpy(m + 4096, "world", 5);
	CHECK(pread(fd, buf, 5, 4096) == 5 && !memcmp(buf, "world", 5), "a store through it is read back");
	pid_t child = fork();
	if (child == 0) {
		memcpy(m, "HELLO", 5);
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	CHECK(pread(fd, buf, 5, 0) == 5 && !memcmp(buf, "HELLO", 5), "a child's store is seen");

	/* F_SEAL_SHRINK and F_SEAL_GROW. */
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0 && seals(fd) == F_SEAL_SHRINK, "add F_SEAL_SHRINK");
	CHECK_ERRNO(ftruncate(fd, 4096), EPERM, "shrinking -> EPERM");
	CHECK(ftruncate(fd, 12288) == 0, "growing is fine");
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0 && seals(fd) == (F_SEAL_SHRINK | F_SEAL_GROW),
	      "add F_SEAL_GROW");
	CHECK_ERRNO(ftruncate(fd, 16384), EPERM, "growing -> EPERM");
	CHECK(ftruncate(fd, 12288) == 0, "the same size is fine");
	CHECK_ERRNO(pwrite(fd, "x", 1, 12288), EPERM, "a write past the end -> EPERM");
	CHECK(pwrite(fd, "xy", 2, 12287) == 1, "a write across the end and a page boundary is short (1)");
	CHECK(pwrite(fd, "x", 1, 12287) == 1, "a write inside is fine");
	CHECK_ERRNO(fallocate(fd, 0, 0, 16384), EPERM, "fallocate past the end -> EPERM");
	CHECK(fallocate(fd, 0, 0, 4096) == 0, "fallocate inside is fine");
	int small = mfd("small", MFD_ALLOW_SEALING);
	ftruncate(small, 100);
	fcntl(small, F_ADD_SEALS, F_SEAL_GROW);
	CHECK_ERRNO(pwrite(small, "xy", 2, 99), EPERM, "a write across the end within a page -> EPERM");
	CHECK(pwrite(small, "x", 1, 99) == 1, "up to the end is fine");
	close(small);

	/* F_SEAL_WRITE. */
	CHECK_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY, "F_SEAL_WRITE with a shared writable mapping -> EBUSY");
	CHECK(seals(fd) == (F_SEAL_SHRINK | F_SEAL_GROW), "and no seal was added");
	munmap(m, 8192);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY,
	            "a read-only shared mapping could become writable: EBUSY too");
	munmap(m, 4096);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0, "F_SEAL_WRITE without shared mappings");
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "a read-only shared mapping after the seal");
	CHECK_ERRNO(write(fd, "x", 1), EPERM, "write -> EPERM");
	CHECK_ERRNO(pwrite(fd, "x", 1, 0), EPERM, "pwrite -> EPERM");
	CHECK_ERRNO(mprotect(m, 4096, PROT_READ | PROT_WRITE), EACCES, "mprotect of that mapping to writable -> EACCES");
	void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(w == MAP_FAILED && errno == EPERM, "a shared writable mmap -> EPERM");
	char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(priv != MAP_FAILED, "a private writable mapping is fine");
	priv[0] = 'Z';
	CHECK(pread(fd, buf, 1, 0) == 1 && buf[0] == 'H' && m[0] == 'H', "its stores stay private");
	CHECK_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), EPERM,
	            "punching a hole -> EPERM");
	CHECK(fstat(fd, &st) == 0 && st.st_size == 12288, "the size is unchanged");

	/* F_SEAL_SEAL. */
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == 0, "add F_SEAL_SEAL");
	CHECK(seals(fd) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL), "F_GET_SEALS: all four");
	CHECK_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), EPERM, "no more seals -> EPERM");
	munmap(priv, 4096);

	/* A mapping outlives its descriptor. */
	close(fd);
	CHECK(!memcmp(m, "HELLO", 5), "the mapping still reads after close");
	munmap(m, 4096);

	/* F_SEAL_FUTURE_WRITE: existing mappings may write, new ones may not. */
	fd = mfd("future", MFD_ALLOW_SEALING);
	ftruncate(fd, 4096);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0, "F_SEAL_FUTURE_WRITE with a writable mapping");
	m[0] = 'a';
	CHECK(pread(fd, buf, 1, 0) == 1 && buf[0] == 'a', "the existing mapping still writes");
	CHECK_ERRNO(write(fd, "x", 1), EPERM, "write -> EPERM");
	w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(w == MAP_FAILED && errno == EPERM, "a new shared writable mmap -> EPERM");
	munmap(m, 4096);
	close(fd);

	/* MFD_NOEXEC_SEAL. */
	fd = mfd("noexec", MFD_NOEXEC_SEAL);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0666, "MFD_NOEXEC_SEAL: mode 0666");
	CHECK(seals(fd) == F_SEAL_EXEC, "and F_SEAL_EXEC (sealing stays allowed)");
	CHECK_ERRNO(fchmod(fd, 0755), EPERM, "fchmod adding execute bits -> EPERM");
	CHECK(fchmod(fd, 0644) == 0, "fchmod of the other bits is fine");
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0, "more seals can be added");
	close(fd);
	close(plain);
	return check_exit();
}
