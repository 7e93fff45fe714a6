/*
 * Running out of memory kills the guilty process, never the kernel, and
 * the memory comes back:
 *  - one mmap (or brk, or mremap) larger than all of RAM fails at once
 *    with ENOMEM (Linux's heuristic overcommit);
 *  - a process that touches more memory than there is (through brk, a
 *    big mapping, or 64 threads at once) is killed with SIGKILL by the OOM
 *    killer, and afterwards MemFree is back within 1 %;
 *  - MAP_POPULATE of more than is free fails with ENOMEM;
 *  - pipes filled with more data than there is memory: writes fail with
 *    ENOMEM (as Linux's pipe_write does when it gets no page; this kernel
 *    never lets pipe data eat the memory the kernel keeps for itself);
 *  - a tmpfs stops at its size: write and fallocate give ENOSPC (write
 *    after a short write),
 *    file creation gives ENOSPC past nr_inodes, statfs shows the limits,
 *    and removing the files gives the memory back.
 *
 * The tests that exhaust memory run only on a machine of at most 1 GiB
 * (`make test` boots one with 512 MiB for them); elsewhere, such as on a
 * development host, they are skipped. The tmpfs checks mount a tmpfs
 * (root only; skipped otherwise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define PAGE 4096UL

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

/* Waits (up to 10 s) until MemFree is within 1 % of `before`; returns it. */
static long free_memory_back(long before)
{
	long now = meminfo_kib("MemFree");
	for (int i = 0; i < 100 && now < before - before / 100; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		now = meminfo_kib("MemFree");
	}
	if (now < before - before / 100)
		INFO("memory not back: MemFree %ld, Slab %ld (objects %ld), KernelStack %ld, PageTables %ld, Shmem %ld, AnonPages %ld kB",
		     now, meminfo_kib("Slab"), meminfo_kib("SUnreclaim"), meminfo_kib("KernelStack"),
		     meminfo_kib("PageTables"), meminfo_kib("Shmem"), meminfo_kib("AnonPages"));
	return now;
}

/* Runs `fn` in a child and returns its wait status. */
static int in_child(void (*fn)(void))
{
	pid_t p = fork();
	if (p == 0) {
		fn();
		_exit(0);
	}
	int st = -1;
	waitpid(p, &st, 0);
	return st;
}

static unsigned long ram_bytes(void)
{
	struct sysinfo si;
	sysinfo(&si);
	return (unsigned long)si.totalram * si.mem_unit;
}

static void grow_brk_touching(void)
{
	char *start = (char *)syscall(SYS_brk, 0);
	char *cur = start;
	for (;;) {
		char *want = cur + (1 << 20);
		char *got = (char *)syscall(SYS_brk, want);
		if (got != want)
			_exit(3); /* brk refused: not what Linux does here */
		for (char *p = cur; p < want; p += PAGE)
			*p = 1;
		cur = want;
	}
}

static void touch_big_mapping(void)
{
	size_t len = ram_bytes() / 4 * 3;
	for (;;) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(4);
		for (size_t i = 0; i < len; i += PAGE)
			p[i] = 1;
	}
}

static void *toucher(void *arg)
{
	size_t len = 16 << 20;
	for (;;) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		for (size_t i = 0; i < len; i += PAGE)
			p[i] = 1;
	}
}

static void threads_touching(void)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	for (int i = 0; i < 64; i++) {
		pthread_t t;
		pthread_create(&t, &a, toucher, NULL);
	}
	for (;;)
		pause();
}

/* Fills pipes until writing fails; exits 0 if a write failed with ENOMEM
 * (or EAGAIN), 1 if every pipe took its data. */
static void fill_pipes(void)
{
	static char block[65536];
	memset(block, 'p', sizeof block);
	for (int i = 0; i < 400; i++) {
		int fds[2];
		if (pipe(fds) != 0)
			_exit(errno == ENOMEM || errno == EMFILE ? 2 : 3);
		fcntl(fds[1], F_SETFL, O_NONBLOCK);
		ssize_t n = write(fds[1], block, sizeof block);
		if (n < 0)
			_exit(errno == ENOMEM || errno == EAGAIN ? 0 : 4);
	}
	_exit(1);
}

static void exhaustion(void)
{
	long before = meminfo_kib("MemFree");
	int st = in_child(grow_brk_touching);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "growing brk past RAM: OOM-killed (status %#x)", st);
	long after = free_memory_back(before);
	CHECK(after >= before - before / 100, "memory back: MemFree %ld kB before, %ld kB after", before, after);

	st = in_child(touch_big_mapping);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "touching mappings past RAM: OOM-killed (status %#x)", st);
	after = free_memory_back(before);
	CHECK(after >= before - before / 100, "memory back: MemFree %ld kB before, %ld kB after", before, after);

	st = in_child(threads_touching);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "64 threads touching memory: OOM-killed (status %#x)", st);
	after = free_memory_back(before);
	CHECK(after >= before - before / 100, "memory back: MemFree %ld kB before, %ld kB after", before, after);

	/* Pipes holding more data than there is memory: the writes fail (the
	 * data is kernel memory user space asked for), nothing else breaks. */
	pid_t fillers[40];
	int nfill = (int)(ram_bytes() / (400UL * 65536)) + 4;
	if (nfill > 40)
		nfill = 40;
	int refused = 0, others = 0;
	for (int i = 0; i < nfill; i++) {
		fillers[i] = fork();
		if (fillers[i] == 0) {
			/* Stay alive, holding the pipes, until told to go. */
			pid_t inner = fork();
			if (inner == 0)
				fill_pipes();
			int ist;
			waitpid(inner, &ist, 0);
			_exit(WIFEXITED(ist) ? WEXITSTATUS(ist) : 5);
		}
	}
	for (int i = 0; i < nfill; i++) {
		int fst;
		waitpid(fillers[i], &fst, 0);
		if (WIFEXITED(fst) && (WEXITSTATUS(fst) == 0 || WEXITSTATUS(fst) == 2))
			refused++;
		else if (!(WIFEXITED(fst) && WEXITSTATUS(fst) == 1))
			others++;
	}
	CHECK(refused > 0 && others == 0, "filling pipes past memory: writes fail with ENOMEM (%d of %d fillers refused, %d odd)",
	      refused, nfill, others);
	after = free_memory_back(before);
	CHECK(after >= before - before / 100, "memory back: MemFree %ld kB before, %ld kB after", before, after);

	/* More than is free, populated at once: ENOMEM, and nothing lost. */
	size_t len = (size_t)meminfo_kib("MemFree") * 1024 / 10 * 9 + (64 << 20);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	CHECK(p == MAP_FAILED && errno == ENOMEM, "MAP_POPULATE of more than is free: ENOMEM");
	if (p != MAP_FAILED)
		munmap(p, len);
	after = free_memory_back(before);
	CHECK(after >= before - before / 100, "memory back: MemFree %ld kB before, %ld kB after", before, after);
}

static void tmpfs_limits(void)
{
	char dir[] = "/tmp/oom_tmpfs_XXXXXX";
	if (!mkdtemp(dir) || mount("tmpfs", dir, "tmpfs", 0, "size=1m,nr_inodes=8") != 0) {
		INFO("cannot mount a tmpfs (%s): tmpfs checks skipped", strerror(errno));
		return;
	}
	struct statfs sf;
	CHECK(statfs(dir, &sf) == 0 && sf.f_blocks == 256 && sf.f_files == 8,
	      "statfs shows size=1m and nr_inodes=8 (%ld blocks, %ld files)", (long)sf.f_blocks, (long)sf.f_files);

	char path[64];
	snprintf(path, sizeof path, "%s/big", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	static char buf[1536 * 1024];
	memset(buf, 'x', sizeof buf);
	ssize_t n = write(fd, buf, sizeof buf);
	CHECK(n == 1 << 20, "a 1.5 MiB write into 1 MiB: short write of 1 MiB (%zd)", n);
	errno = 0;
	n = write(fd, buf, 10);
	CHECK(n == -1 && errno == ENOSPC, "the next write: ENOSPC");
	CHECK(statfs(dir, &sf) == 0 && sf.f_bfree == 0, "statfs: no free block left (%ld)", (long)sf.f_bfree);
	close(fd);
	unlink(path);
	CHECK(statfs(dir, &sf) == 0 && sf.f_bfree == 256, "removing the file frees its blocks (%ld)", (long)sf.f_bfree);

	int made = 0, err = 0;
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		int f = open(path, O_WRONLY | O_CREAT, 0600);
		if (f < 0) {
			err = errno;
			break;
		}
		close(f);
		made++;
	}
	/* The root directory is one of the 8 inodes. */
	CHECK(made == 7 && err == ENOSPC, "nr_inodes=8: 7 files, then ENOSPC (%d, %s)", made, strerror(err));
	for (int i = 0; i < made; i++) {
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		unlink(path);
	}

	/* fallocate against the same limit, and its argument checks. */
	snprintf(path, sizeof path, "%s/fa", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	CHECK_ERRNO(fallocate(fd, 0, 0, 2 << 20), ENOSPC, "fallocate of 2 MiB in a 1 MiB tmpfs: ENOSPC");
	CHECK(ftruncate(fd, 0) == 0 && fallocate(fd, 0, 0, 512 << 10) == 0, "fallocate of 512 KiB");
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_size == 512 << 10, "  extends the file (%ld)", (long)st.st_size);
	CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 512 << 10, 64 << 10) == 0 && fstat(fd, &st) == 0 &&
		      st.st_size == 512 << 10,
	      "FALLOC_FL_KEEP_SIZE allocates without growing the file");
	CHECK(statfs(dir, &sf) == 0 && sf.f_bfree == 256 - 144, "statfs counts the allocated blocks (%ld free)",
	      (long)sf.f_bfree);
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 256 << 10) == 0 && statfs(dir, &sf) == 0 &&
		      sf.f_bfree == 256 - 80,
	      "FALLOC_FL_PUNCH_HOLE frees the blocks (%ld free)", (long)sf.f_bfree);
	CHECK_ERRNO(fallocate(fd, 0, 0, 0), EINVAL, "fallocate of length 0: EINVAL");
	CHECK_ERRNO(fallocate(fd, 0, -1, 10), EINVAL, "fallocate at a negative offset: EINVAL");
	CHECK_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP, "PUNCH_HOLE without KEEP_SIZE: EOPNOTSUPP");
	CHECK_ERRNO(fallocate(fd, 0x40, 0, 10), EOPNOTSUPP, "an unknown mode: EOPNOTSUPP");
	int ro = open(path, O_RDONLY);
	CHECK_ERRNO(fallocate(ro, 0, 0, 10), EBADF, "fallocate on a read-only descriptor: EBADF");
	int pfd[2];
	if (pipe(pfd) == 0) {
		CHECK_ERRNO(fallocate(pfd[1], 0, 0, 10), ESPIPE, "fallocate on a pipe: ESPIPE");
		close(pfd[0]);
		close(pfd[1]);
	}
	close(ro);
	close(fd);
	unlink(path);

	CHECK(mount(NULL, dir, NULL, MS_REMOUNT, "size=2m") == 0 && statfs(dir, &sf) == 0 && sf.f_blocks == 512,
	      "remount with size=2m (%ld blocks)", (long)sf.f_blocks);
	CHECK(mount("tmpfs", dir, "tmpfs", MS_REMOUNT, "bogus=1") == -1 && errno == EINVAL,
	      "an unknown tmpfs option: EINVAL");
	umount(dir);
	rmdir(dir);
}

int main(void)
{
	/* As init, nobody has mounted /proc for us. */
	if (access("/proc/meminfo", R_OK) != 0) {
		mkdir("/proc", 0555);
		mount("proc", "/proc", "proc", 0, NULL);
	}
	CHECK(meminfo_kib("MemFree") > 0, "MemFree is readable");
	unsigned long ram = ram_bytes();
	errno = 0;
	void *p = mmap(NULL, ram * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p == MAP_FAILED && errno == ENOMEM, "mmap of twice the RAM: ENOMEM at once");
	p = mmap(NULL, ram * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(p != MAP_FAILED, "... but with MAP_NORESERVE it is granted");
	if (p != MAP_FAILED)
		munmap(p, ram * 2);
	char *b = (char *)syscall(SYS_brk, 0);
	CHECK((char *)syscall(SYS_brk, b + ram * 2) == b, "brk by twice the RAM is refused");

	if (getuid() == 0)
		tmpfs_limits();
	if (ram <= (1UL << 30))
		exhaustion();
	else
		INFO("%lu MiB of RAM: the exhaustion tests run only with 1 GiB or less", ram >> 20);
	return check_exit();
}
