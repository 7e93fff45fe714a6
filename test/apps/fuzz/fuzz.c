/*
 * fuzz: a system-call fuzzer for the guest kernel.
 *
 *   NEVER RUN THIS ON A HOST. It makes random system calls as root.
 *
 *   fuzz [-s SEED] [-d SECONDS] [-w WORKERS] [-n CALLS] [-t STALL] [-l LIFE]
 *        [-x NR,NR,...] [-o W.R] [-m MIB] [-v] [-f]
 *
 * The top process (normally PID 1: init=/test/fuzz/fuzz) starts WORKERS
 * worker processes (default 8) and restarts each one when it ends. A worker
 * makes CALLS system calls (default 1000) and exits; each incarnation draws
 * its calls from a PRNG seeded with (SEED, worker index, restart count), so
 * "w3.17" (worker 3, incarnation 17) names a reproducible call sequence.
 *
 * Calls are of two kinds:
 *   - random: a number in 0..460 and six arguments drawn from 0, -1, small
 *     and "interesting" integers, huge values, kernel and non-canonical
 *     addresses, unmapped user addresses, buffers that run into an unmapped
 *     or PROT_NONE page, valid buffers of random bytes, random flag bits and
 *     the worker's descriptors; for well-known calls the argument types are
 *     usually respected (a path where a path goes, an fd where an fd goes);
 *   - structured: plausible-but-wrong operations on real descriptors (files,
 *     directories, pipes, eventfds, epoll, /dev/null, /dev/zero, /proc files,
 *     the console): reads and writes with bad buffers and lengths, ioctl,
 *     fcntl, lseek, mmap, getdents64, poll, epoll_ctl, sendfile, splice, ...
 *
 * What would end the experiment rather than test the kernel is neutered:
 * reboot, kexec and vhangup are skipped; signals (and prlimit, ptrace,
 * setpriority, ...) aimed at pid <= 0, at the top process or at PID 1 are
 * redirected to the worker itself; execve never gets a runnable path;
 * memory calls that would unmap or reprotect the worker's own code, stack
 * or bookkeeping are usually moved into its scratch arena; a child created
 * by fork/vfork/clone exits at once without touching its stack.
 *
 * In one incarnation of four a helper thread closes and dup2s the worker's
 * descriptors and unmaps, remaps and reprotects its buffers meanwhile.
 *
 * The top process is a watchdog. Workers report progress through a counter
 * in shared memory. A worker that makes no progress for STALL seconds
 * (default 10) or lives longer than LIFE seconds (default 60) is killed
 * with SIGKILL, and so is every worker at the end; one that is not reaped
 * within 10 s of SIGKILL is reported as UNKILLABLE with the call it was in,
 * which fails the run. Every 5 s it prints
 *   fuzz: t=Ns calls=N rate=N/s deaths=N restarts=N ...
 * and at the end a summary and `1 passed, 0 failed` (or `0 passed, 1 failed`).
 * As PID 1 it mounts /proc, /dev and /tmp first, and its exit powers off.
 *
 *   -s SEED     PRNG seed (default 1)
 *   -d SECONDS  duration (default 600)
 *   -w WORKERS  number of workers (default 8, at most 64)
 *   -n CALLS    calls per worker incarnation (default 1000)
 *   -t STALL    seconds without progress before a worker is killed (10)
 *   -l LIFE     seconds an incarnation may live (60)
 *   -x LIST     also skip these syscall numbers (to get past a known bug)
 *   -o W.R      run only worker W's incarnation R, once (replay)
 *   -v          workers print their descriptors, and every call on the console
 *               before making it; -v -v also prints what each call returned
 *   -m MIB      workers report every call after which MemFree fell by MIB
 *               or more (a diagnostic for leaks; use with -w 1)
 *   -f          run even though this is not PID 1 (inside a guest only!)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/ucontext.h>
#include <termios.h>
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#include <time.h>
#include <unistd.h>

#define MAX_NR 460
#define MAX_WORKERS 64
#define KILL_GRACE_S 10
#define PAGE 4096UL
#define LOGFD 900

static const char *const sysnames[MAX_NR + 1] = {
#include "sysnames.inc"
};

/* ---------------------------------------------------------------- options */

static uint64_t opt_seed = 1;
static long opt_duration = 600;
static int opt_workers = 8;
static long opt_calls = 1000;
static long opt_stall = 10;
static long opt_life = 60;
static int opt_verbose;
static long opt_memwatch;	/* -m: report calls that take this many MiB */
static int opt_only_w = -1;
static unsigned opt_only_r;
static unsigned char skip_nr[MAX_NR + 1];

/* ------------------------------------------------------- shared memory */

/* One slot per worker, in a MAP_SHARED page the top process reads. */
struct slot {
	volatile uint64_t calls;	/* incremented by the worker before each call */
	volatile uint64_t seq;		/* call number within the incarnation */
	volatile long nr;		/* the call being made (or last made) */
	volatile uint64_t args[6];
	volatile int in_call;		/* 1 between entering and leaving it */
	volatile unsigned incarnation;
};
static struct slot *slots;

/* ------------------------------------------------------------ helpers */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof buf - 1)
		n = sizeof buf - 1;
	int tries = 0;
	for (int off = 0; off < n;) {
		ssize_t w = write(1, buf + off, n - off);
		if (w <= 0) {
			if (w < 0 && (errno == EINTR || errno == EAGAIN) && tries++ < 1000) {
				if (errno == EAGAIN) {
					struct timespec ms = { 0, 1000000 };
					nanosleep(&ms, NULL);
				}
				continue;
			}
			return;
		}
		off += w;
	}
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Removes the tree under `dir` (not following links). */
static void remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A /proc/meminfo field (KEY with its colon), in KiB, or -1. The file is
 * opened once and kept: workers may unmount or cover /proc (they run as
 * root). */
static long meminfo_kib(const char *key)
{
	static int fd = -1;
	char buf[1024];
	if (fd < 0)
		fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static long mem_free_kib(void)
{
	return meminfo_kib("MemFree:");
}

static long mem_free_mib(void)
{
	long k = mem_free_kib();
	return k < 0 ? -1 : k / 1024;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *sysname(long nr)
{
	static char buf[24];
	if (nr >= 0 && nr <= MAX_NR && sysnames[nr])
		return sysnames[nr];
	snprintf(buf, sizeof buf, "sys_%ld", nr);
	return buf;
}

static void format_call(char *buf, size_t size, long nr, const volatile uint64_t *a)
{
	snprintf(buf, size, "%s(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)", sysname(nr),
		 (unsigned long)a[0], (unsigned long)a[1], (unsigned long)a[2],
		 (unsigned long)a[3], (unsigned long)a[4], (unsigned long)a[5]);
}

/* Raw system calls: no errno, no libc wrapper rewriting the arguments. */
static inline long raw6(long n, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			uint64_t f)
{
	register uint64_t r10 __asm__("r10") = d;
	register uint64_t r8 __asm__("r8") = e;
	register uint64_t r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/*
 * fork, vfork, clone, clone3: the child (rax == 0 and a thread id other
 * than the worker's) exits straight away with SYS_exit, without touching
 * memory: it may share the worker's stack or have been given a garbage one.
 */
static long raw6_forklike(long n, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			  uint64_t f, long mytid)
{
	register uint64_t r10 __asm__("r10") = d;
	register uint64_t r8 __asm__("r8") = e;
	register uint64_t r9 __asm__("r9") = f;
	register long r12 __asm__("r12") = mytid;
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 2f\n\t"
			 "mov $186, %%eax\n\t"	/* gettid */
			 "syscall\n\t"
			 "cmp %%rax, %%r12\n\t"
			 "je 1f\n\t"
			 "3:\n\t"
			 "mov $60, %%eax\n\t"	/* exit(0) */
			 "xor %%edi, %%edi\n\t"
			 "syscall\n\t"
			 "jmp 3b\n\t"
			 "1:\n\t"
			 "xor %%eax, %%eax\n\t"
			 "2:\n\t"
			 : "=a"(ret)
			 : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9), "r"(r12)
			 : "rcx", "r11", "memory");
	return ret;
}

/* ----------------------------------------------------------------- PRNG */

static uint64_t rng_state;

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(void)
{
	rng_state += 0x9e3779b97f4a7c15ULL;
	return mix64(rng_state);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static int chance(unsigned one_in)
{
	return below(one_in) == 0;
}

/* ========================================================= the worker */

static int w_index;
static unsigned w_incarnation;
static long w_tid;
static pid_t w_pid, top_pid;
static pid_t w_victim;		/* a child that signals are redirected to */
static uint64_t w_fsbase;
static uint64_t w_seq;
static struct slot *w_slot;

/*
 * The arena: 32 pages of which the middle 16 are used, the rest PROT_NONE:
 *   pages  0..7   read-write, random bytes (valid buffers)
 *   page   8      unmapped (a hole)
 *   page   9      read-only, random bytes
 *   page  10      PROT_NONE
 *   pages 11..15  read-write, where arguments (structs, strings) are built
 * Memory calls that would touch the worker's own mappings are redirected
 * here; it is rebuilt after every memory call.
 */
#define ARENA_RES_PAGES 32
#define ARENA_OFF (8 * PAGE)
static unsigned char *arena_res;
static unsigned char *arena;
static size_t build_off;

#define A_VALID_END (8 * PAGE)
#define A_HOLE (8 * PAGE)
#define A_RO (9 * PAGE)
#define A_NONE (10 * PAGE)
#define A_BUILD (11 * PAGE)
#define A_BUILD_END (16 * PAGE)

struct range {
	uint64_t lo, hi;
};
static struct range prot_ranges[48];
static int n_prot;

static void add_prot(uint64_t lo, uint64_t hi)
{
	if (n_prot < (int)(sizeof prot_ranges / sizeof prot_ranges[0]) && lo < hi)
		prot_ranges[n_prot++] = (struct range){ lo & ~(PAGE - 1), (hi + PAGE - 1) & ~(PAGE - 1) };
}

static int overlaps_protected(uint64_t addr, uint64_t len)
{
	uint64_t end = len ? addr + ((len + PAGE - 1) & ~(PAGE - 1)) : addr + PAGE;
	if (len > (1ULL << 62) || end < addr)
		end = ~0ULL;
	for (int i = 0; i < n_prot; i++)
		if (addr < prot_ranges[i].hi && end > prot_ranges[i].lo)
			return 1;
	return 0;
}

/* Arena contents come from their own stream, so that how often the arena
 * is rebuilt (and so -x) does not change the calls that follow. */
static uint64_t fill_state;

static void fill_random(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		fill_state += 0x9e3779b97f4a7c15ULL;
		uint64_t r = mix64(fill_state);
		memcpy(p + i, &r, n - i < 8 ? n - i : 8);
	}
}

static void arena_build(void)
{
	raw6(SYS_mmap, (uint64_t)arena_res, ARENA_RES_PAGES * PAGE, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	raw6(SYS_mprotect, (uint64_t)arena, 16 * PAGE, PROT_READ | PROT_WRITE, 0, 0, 0);
	fill_random(arena, A_VALID_END);
	fill_random(arena + A_RO, PAGE);
	raw6(SYS_munmap, (uint64_t)(arena + A_HOLE), PAGE, 0, 0, 0, 0);
	raw6(SYS_mprotect, (uint64_t)(arena + A_RO), PAGE, PROT_READ, 0, 0, 0);
	raw6(SYS_mprotect, (uint64_t)(arena + A_NONE), PAGE, PROT_NONE, 0, 0, 0);
}

/* Space for one argument structure, in the build pages (reset per call). */
static void *build(size_t n)
{
	n = (n + 15) & ~15UL;
	if (build_off + n > A_BUILD_END - A_BUILD)
		build_off = 0;
	void *p = arena + A_BUILD + build_off;
	build_off += n;
	memset(p, 0, n);
	return p;
}

/*
 * Copies through a private pipe, so that the kernel does the access: a page
 * that a call (or the helper thread) unmapped gives EFAULT, not SIGSEGV.
 */
static int copy_pipe[2] = { -1, -1 };

static int safe_copy(void *dst, const void *src, size_t n)
{
	if (copy_pipe[0] < 0 || n > 256)
		return -1;
	if (raw6(SYS_write, copy_pipe[1], (uint64_t)src, n, 0, 0, 0) != (long)n)
		return -1;
	if (raw6(SYS_read, copy_pipe[0], (uint64_t)dst, n, 0, 0, 0) == (long)n)
		return 0;
	char sink[256];
	raw6(SYS_read, copy_pipe[0], (uint64_t)sink, n, 0, 0, 0);
	return -1;
}

/* ------------------------------------------------ worker descriptors */

enum fdkind {
	FK_FILE, FK_RDONLY, FK_APPEND, FK_PATH, FK_DIR, FK_NULL, FK_ZERO, FK_FULL,
	FK_RANDOM, FK_TTY, FK_PROC, FK_PIPE_R, FK_PIPE_W, FK_EVENTFD, FK_EPOLL,
	FK_SOCK, FK_MEMFD, FK_OTHER,
};
struct fdent {
	int fd;
	enum fdkind kind;
};
static struct fdent fds[48];
static int n_fds;

static void add_fd(int fd, enum fdkind kind)
{
	if (fd >= 0 && n_fds < (int)(sizeof fds / sizeof fds[0]))
		fds[n_fds++] = (struct fdent){ fd, kind };
}

static void open_add(const char *path, int flags, enum fdkind kind)
{
	add_fd(open(path, flags, 0644), kind);
}

static char scratch[64];

static void setup_fds(void)
{
	int p[2];

	n_fds = 0;
	open_add("/dev/null", O_RDWR, FK_NULL);
	open_add("/dev/zero", O_RDWR, FK_ZERO);
	open_add("/dev/full", O_RDWR, FK_FULL);
	open_add("/dev/urandom", O_RDONLY, FK_RANDOM);
	if (chance(4)) {
		/* not always: whatever reaches the terminal ends up in the log */
		open_add("/dev/console", O_RDONLY | O_NONBLOCK | O_NOCTTY, FK_TTY);
		open_add("/dev/tty", O_RDONLY | O_NONBLOCK | O_NOCTTY, FK_TTY);
	}
	if (chance(2)) {
		/* a pseudo-terminal pair, unlocked */
		int m = open("/dev/ptmx", O_RDWR | O_NONBLOCK | O_NOCTTY);
		int unlock = 0;
		if (m >= 0 && ioctl(m, TIOCSPTLCK, &unlock) == 0)
			add_fd(ioctl(m, TIOCGPTPEER, O_RDWR | O_NONBLOCK | O_NOCTTY), FK_TTY);
		add_fd(m, FK_TTY);
	}
	open_add("/proc/self/stat", O_RDONLY, FK_PROC);
	open_add("/proc/self/maps", O_RDONLY, FK_PROC);
	open_add("/proc/self/status", O_RDONLY, FK_PROC);
	open_add("/proc/meminfo", O_RDONLY, FK_PROC);
	open_add("/proc/1/cmdline", O_RDONLY, FK_PROC);
	open_add("/proc/self", O_RDONLY | O_DIRECTORY, FK_DIR);
	open_add("/proc/self/fd", O_RDONLY | O_DIRECTORY, FK_DIR);
	open_add("/", O_RDONLY | O_DIRECTORY, FK_DIR);
	open_add("/dev", O_RDONLY | O_DIRECTORY, FK_DIR);
	open_add(".", O_RDONLY | O_DIRECTORY, FK_DIR);

	int f0 = open("f0", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (f0 >= 0) {
		unsigned char buf[8192];
		fill_random(buf, sizeof buf);
		if (write(f0, buf, sizeof buf) < 0) {
			/* the file just stays short */
		}
		add_fd(f0, FK_FILE);
	}
	mkdir("d0", 0755);
	symlink("f0", "l0");
	open_add("f0", O_RDONLY, FK_RDONLY);
	open_add("f1", O_WRONLY | O_CREAT | O_APPEND, FK_APPEND);
	open_add("f0", O_PATH, FK_PATH);
	open_add("d0", O_RDONLY | O_DIRECTORY, FK_DIR);
	if (pipe2(p, 0) == 0) {
		add_fd(p[0], FK_PIPE_R);
		add_fd(p[1], FK_PIPE_W);
	}
	if (pipe2(p, O_NONBLOCK) == 0) {
		add_fd(p[0], FK_PIPE_R);
		add_fd(p[1], FK_PIPE_W);
		if (write(p[1], "data", 4) < 0) {
			/* an empty pipe is fine too */
		}
	}
	add_fd((int)raw6(SYS_eventfd2, 0, 0, 0, 0, 0, 0), FK_EVENTFD);
	add_fd((int)raw6(SYS_eventfd2, 5, O_NONBLOCK | 1 /* EFD_SEMAPHORE */, 0, 0, 0, 0), FK_EVENTFD);
	int ep = (int)raw6(SYS_epoll_create1, 0, 0, 0, 0, 0, 0);
	if (ep >= 0) {
		for (int i = 0; i < n_fds; i++) {
			uint64_t ev[2] = { 0x1 | 0x4 | 0x2000, (uint64_t)i };	/* IN|OUT|RDHUP */
			raw6(SYS_epoll_ctl, ep, 1, fds[i].fd, (uint64_t)ev, 0, 0);
		}
		add_fd(ep, FK_EPOLL);
		int ep2 = (int)raw6(SYS_epoll_create1, O_CLOEXEC, 0, 0, 0, 0, 0);
		if (ep2 >= 0) {
			uint64_t ev[2] = { 0x1, 7 };
			raw6(SYS_epoll_ctl, ep2, 1, ep, (uint64_t)ev, 0, 0);
			add_fd(ep2, FK_EPOLL);
		}
	}
	int sv[2];
	if (raw6(SYS_socketpair, 1 /* AF_UNIX */, 1 /* STREAM */, 0, (uint64_t)sv, 0, 0) == 0) {
		add_fd(sv[0], FK_SOCK);
		add_fd(sv[1], FK_SOCK);
	}
	if (raw6(SYS_socketpair, 1, 2 /* DGRAM */, 0, (uint64_t)sv, 0, 0) == 0) {
		add_fd(sv[0], FK_SOCK);
		add_fd(sv[1], FK_SOCK);
	}
	add_fd((int)raw6(SYS_memfd_create, (uint64_t)"fz", 2 /* ALLOW_SEALING */, 0, 0, 0, 0), FK_MEMFD);
	add_fd((int)raw6(SYS_timerfd_create, 1, 0, 0, 0, 0, 0), FK_OTHER);
	add_fd((int)raw6(SYS_inotify_init1, 0, 0, 0, 0, 0, 0), FK_OTHER);
}

static int pick_fd(void)
{
	if (n_fds == 0 || chance(16)) {
		static const int odd[] = { -1, -100 /* AT_FDCWD */, 0, 1, 2, 3, 1023, 1024, 4096,
					   0x7fffffff, -2 };
		return odd[below(sizeof odd / sizeof odd[0])];
	}
	return fds[below(n_fds)].fd;
}

static struct fdent *pick_ent(void)
{
	return n_fds ? &fds[below(n_fds)] : NULL;
}

/* ------------------------------------------------- argument generators */

static const uint64_t interesting[] = {
	1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 511, 512,
	1023, 1024, 4095, 4096, 4097, 8191, 8192, 65535, 65536, 0x7fff, 0x8000,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
	0x8000000000000000, 0xfffffffffffff000, 0x7ffff000, 0xfffffffe, 0x10000000,
};

static uint64_t kernel_addr(void)
{
	static const uint64_t k[] = {
		0xffff800000000000, 0xffffffff80000000, 0xffffffffff600000,
		0xfffffffffffff000, 0xffffffffffffffff, 0x0000800000000000,
		0x8000000000000000, 0xffff888000000000, 0xffffc90000000000,
	};
	uint64_t a = k[below(sizeof k / sizeof k[0])];
	if (chance(3))
		a += below(1 << 30) & ~7ULL;
	return a;
}

static uint64_t unmapped_addr(void)
{
	switch (below(5)) {
	case 0: return (uint64_t)(arena + A_HOLE + below(PAGE));
	case 1: return (uint64_t)(arena + A_NONE + below(PAGE));
	case 2: return 0x1000 + below(0xf000);
	case 3: return 0x7ffffffff000 + below(PAGE);	/* top page, then non-canonical */
	default: return 0x200000000000ULL + (below(1 << 20) << 12);
	}
}

/* A buffer whose first bytes are accessible and whose tail is not. */
static uint64_t crossing_ptr(void)
{
	uint64_t back = 1 + below(chance(2) ? 16 : 256);
	switch (below(3)) {
	case 0: return (uint64_t)(arena + A_HOLE - back);	/* RW, then hole */
	case 1: return (uint64_t)(arena + A_NONE - back);	/* RO, then PROT_NONE */
	default: return 0x7ffffffff000ULL - back;		/* below the top */
	}
}

static uint64_t valid_buf(void)
{
	return (uint64_t)(arena + below(A_VALID_END - 512));
}

static uint64_t ro_buf(void)
{
	return (uint64_t)(arena + A_RO + below(PAGE - 64));
}

static uint64_t flag_bits(void)
{
	uint64_t v = 0;
	int n = 1 + below(4);
	for (int i = 0; i < n; i++)
		v |= 1ULL << (chance(2) ? below(32) : below(64));
	return v;
}

static uint64_t any_arg(void)
{
	switch (below(18)) {
	case 0: return 0;
	case 1: return (uint64_t)-1;
	case 2: return below(16);
	case 3: return below(4096);
	case 4: return interesting[below(sizeof interesting / sizeof interesting[0])];
	case 5: return rnd();
	case 6: return kernel_addr();
	case 7: return unmapped_addr();
	case 8: return crossing_ptr();
	case 9:
	case 10: return valid_buf();
	case 11: return flag_bits();
	case 12:
	case 13: return (uint64_t)(int64_t)pick_fd();
	case 14: return ro_buf();
	case 15: return (uint64_t)(int64_t)(int32_t)rnd();
	case 16: return rnd() & 0xffffffff;
	default: return -(uint64_t)below(4096);	/* small negative, like -EFOO */
	}
}

/* A pointer to memory for the kernel to read or write. */
static uint64_t buf_arg(void)
{
	switch (below(10)) {
	case 0: return 0;
	case 1: return kernel_addr();
	case 2: return unmapped_addr();
	case 3:
	case 4: return crossing_ptr();
	case 5: return ro_buf();
	default: return valid_buf();
	}
}

static uint64_t len_arg(void)
{
	switch (below(10)) {
	case 0: return 0;
	case 1: return 1 + below(16);
	case 2: return below(512);
	case 3: return PAGE;
	case 4: return PAGE + 1 + below(PAGE);
	case 5: return (uint64_t)-1;
	case 6: return interesting[below(sizeof interesting / sizeof interesting[0])];
	case 7: return rnd();
	case 8: return 0x7ffff000;
	default: return below(64);
	}
}

/* Paths: scratch names the worker may destroy, and system paths. */
static const char *const scratch_paths[] = {
	"f0", "f1", "f2", "d0", "d0/x", "l0", "d1", "nonexistent/x", "f0/x", "",
	".", "..", "./f0", "d0/../f0", "l0/", "/tmp", "/tmp/x",
};
static const char *const system_paths[] = {
	"/", "/dev/null", "/dev/zero", "/dev/full", "/dev/urandom", "/proc/self/maps",
	"/proc/self/stat", "/proc/self/status", "/proc/self/fd", "/proc/self/fd/0",
	"/proc/1/stat", "/proc/meminfo", "/proc", "/dev", "/proc/self/cwd", "////",
	"/dev/shm", "/dev/pts", "/proc/self/task",
};

static uint64_t str_arg(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = build(n);
	memcpy(p, s, n);
	return (uint64_t)p;
}

static uint64_t path_arg(int destructive)
{
	switch (below(12)) {
	case 0: return buf_arg();
	case 1: {
		/* a path that runs into the hole without a terminating NUL */
		size_t n = 1 + below(64);
		char *p = (char *)(arena + A_HOLE - n);
		char as[64];
		memset(as, 'a', n);
		safe_copy(p, as, n);
		return (uint64_t)p;
	}
	case 2: {
		/* too long: 4096+ bytes of components, or one 300-byte name */
		size_t n = chance(2) ? 4096 + below(64) : 300;
		char *p = build(n + 1);
		for (size_t i = 0; i < n; i++)
			p[i] = (n > 300 && i % 8 == 7) ? '/' : 'a';
		p[n] = 0;
		return (uint64_t)p;
	}
	case 3:
	case 4:
	case 5:
		if (!destructive)
			return str_arg(system_paths[below(sizeof system_paths / sizeof system_paths[0])]);
		/* fall through */
	default:
		return str_arg(scratch_paths[below(sizeof scratch_paths / sizeof scratch_paths[0])]);
	}
}

static uint64_t timespec_arg(void)
{
	if (chance(6))
		return buf_arg();
	int64_t *ts = build(16);
	switch (below(8)) {
	case 0: ts[0] = 0; ts[1] = 1000000000; break;
	case 1: ts[0] = -1; ts[1] = 0; break;
	case 2: ts[0] = 0; ts[1] = -1; break;
	case 3: ts[0] = (int64_t)rnd(); ts[1] = below(1000000000); break;
	case 4: ts[0] = 0x7fffffffffffffff; ts[1] = 999999999; break;
	default: ts[0] = 0; ts[1] = below(10000000); break;	/* < 10 ms */
	}
	return (uint64_t)ts;
}

static uint64_t iovec_arg(int *cnt)
{
	int n;
	switch (below(6)) {
	case 0: n = 0; break;
	case 1: n = 1024 + below(2); break;	/* IOV_MAX and just past it */
	default: n = 1 + below(8); break;
	}
	uint64_t *iov = build(16 * (size_t)(n ? n : 1));
	for (int i = 0; i < n; i++) {
		iov[2 * i] = buf_arg();
		iov[2 * i + 1] = chance(4) ? len_arg() : below(600);
	}
	if (n > 1 && chance(5)) {		/* lengths whose sum overflows */
		iov[1] = 0x7fffffffffffffff;
		iov[3] = 0x7fffffffffffffff;
	}
	*cnt = n;
	return (uint64_t)iov;
}

static uint64_t pollfd_arg(int *cnt)
{
	int n = chance(8) ? 1024 + below(64) : below(8);
	if (n * 8 > (int)(A_BUILD_END - A_BUILD) / 2)
		n = 512;
	int32_t *p = build(8 * (size_t)(n ? n : 1));
	for (int i = 0; i < n; i++) {
		p[2 * i] = chance(8) ? (int32_t)rnd() : pick_fd();
		p[2 * i + 1] = chance(4) ? (int32_t)rnd() : (int32_t)below(0x40);
	}
	*cnt = n;
	return (uint64_t)p;
}

static uint64_t sigset_arg(void)
{
	if (chance(5))
		return buf_arg();
	uint64_t *s = build(16);
	s[0] = chance(2) ? rnd() : (1ULL << below(64));
	s[1] = rnd();
	return (uint64_t)s;
}

static uint64_t sigaction_arg(void)
{
	if (chance(4))
		return buf_arg();
	uint64_t *sa = build(32);
	static const uint64_t handlers[] = { 0, 1, 2, 0xffffffff80000000, 0x1000 };
	sa[0] = handlers[below(5)];
	sa[1] = chance(2) ? flag_bits() : 0x04000000;	/* SA_RESTORER */
	sa[2] = chance(2) ? 0 : any_arg();
	sa[3] = rnd();
	return (uint64_t)sa;
}

static uint64_t msghdr_arg(void)
{
	if (chance(5))
		return buf_arg();
	uint64_t *m = build(56);
	int cnt;
	m[0] = chance(2) ? 0 : buf_arg();		/* name */
	m[1] = below(200);				/* namelen */
	m[2] = iovec_arg(&cnt);
	m[3] = chance(8) ? len_arg() : (uint64_t)cnt;
	if (chance(2)) {
		/* SCM_RIGHTS with a few of our descriptors (maybe the socket itself) */
		int nfd = chance(6) ? 300 : 1 + below(4);
		size_t clen = 16 + 4 * (size_t)nfd;
		unsigned char *c = build(clen + 8);
		uint64_t hdr_len = chance(6) ? len_arg() : clen;
		memcpy(c, &hdr_len, 8);
		int32_t lvl = 1, type = chance(6) ? 2 : 1;	/* SOL_SOCKET, SCM_RIGHTS/CREDENTIALS */
		memcpy(c + 8, &lvl, 4);
		memcpy(c + 12, &type, 4);
		for (int i = 0; i < nfd; i++) {
			int32_t fd = pick_fd();
			memcpy(c + 16 + 4 * i, &fd, 4);
		}
		m[4] = (uint64_t)c;
		m[5] = chance(6) ? len_arg() : clen;
	} else {
		m[4] = chance(2) ? 0 : buf_arg();
		m[5] = chance(2) ? 0 : len_arg();
	}
	m[6] = flag_bits();
	return (uint64_t)m;
}

static uint64_t clone_flags(void)
{
	/* mostly plain forks, sometimes thread-like or namespace-like flag sets */
	static const uint64_t sets[] = {
		17 /* SIGCHLD */, 0, 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000,
		0x4000 | 0x100 | 17, 0x8000 /* CLONE_PARENT */ | 17, 0x1000 /* PIDFD */ | 17,
		0x100 | 0x800 /* VM|SIGHAND */, 0x10000 /* THREAD */, 0x20000 /* NEWNS */ | 17,
		0x20000000 /* NEWPID */ | 17, 0x01000000 | 0x00200000 | 17,
	};
	uint64_t f = sets[below(sizeof sets / sizeof sets[0])];
	if (chance(3))
		f |= flag_bits();
	return f;
}

static uint64_t clone3_args(uint64_t *size)
{
	uint64_t *ca = build(88);
	ca[0] = clone_flags() & ~0xffULL;
	ca[1] = chance(2) ? 0 : buf_arg();	/* pidfd */
	ca[2] = chance(2) ? 0 : buf_arg();	/* child_tid */
	ca[3] = chance(2) ? 0 : buf_arg();	/* parent_tid */
	ca[4] = chance(2) ? 17 : below(70);	/* exit_signal */
	ca[5] = chance(2) ? 0 : buf_arg();	/* stack */
	ca[6] = chance(2) ? 0 : len_arg();	/* stack_size */
	ca[7] = chance(2) ? 0 : any_arg();	/* tls */
	ca[8] = chance(4) ? buf_arg() : 0;	/* set_tid */
	ca[9] = chance(4) ? len_arg() : 0;	/* set_tid_size */
	ca[10] = chance(4) ? any_arg() : 0;	/* cgroup */
	static const uint64_t sizes[] = { 64, 80, 88, 0, 8, 4096, 63 };
	*size = chance(4) ? len_arg() : sizes[below(sizeof sizes / sizeof sizes[0])];
	return (uint64_t)ca;
}

static uint64_t ioctl_cmd(void)
{
	/* TCXONC, TIOCCONS, TIOCSETD and TIOCVHANGUP are left out: they could
	 * stop or redirect the console the top process reports on. */
	static const uint64_t cmds[] = {
		0x5401, 0x5402, 0x5403, 0x5404, 0x5405, 0x5406, 0x5409, 0x540B, 0x540C,
		0x540D, 0x540E, 0x540F, 0x5410, 0x5411, 0x5412, 0x5413, 0x5414, 0x5415,
		0x541B, 0x5421, 0x5422, 0x5424, 0x5425, 0x5429, 0x802c542a, 0x80045430,
		0x40045431, 0x5441, 0x5420, 0x80045438, 0x80045439, 0x5450, 0x5451, 0x5452, 0x5460, 0x80086601, 0x40086602,
		1, 2, 0x80081272, 0x40049409, 0x8901, 0x8902, 0x8903, 0x894c, 0xc0105512,
	};
	if (chance(6)) {
		/* a made-up _IOC(dir, type, nr, size) */
		return (below(4) << 30) | (below(0x4000) << 16) | (below(256) << 8) | below(256);
	}
	return cmds[below(sizeof cmds / sizeof cmds[0])];
}

static uint64_t fcntl_cmd(void)
{
	static const uint64_t cmds[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 17, 36, 37, 38,
		1024, 1025, 1026, 1030, 1031, 1032, 1033, 1034, 1035, 1036, 1037, 1038,
	};
	return chance(10) ? any_arg() : cmds[below(sizeof cmds / sizeof cmds[0])];
}

static uint64_t flock_arg(void)
{
	if (chance(4))
		return buf_arg();
	int16_t *f = build(32);
	f[0] = chance(4) ? (int16_t)rnd() : (int16_t)below(3);	/* l_type */
	f[1] = chance(4) ? (int16_t)rnd() : (int16_t)below(3);	/* l_whence */
	int64_t *l = (int64_t *)(f + 4);
	l[0] = chance(2) ? (int64_t)below(100) : (int64_t)any_arg();	/* start */
	l[1] = chance(2) ? (int64_t)below(100) : (int64_t)any_arg();	/* len */
	return (uint64_t)f;
}

static uint64_t epoll_event_arg(void)
{
	if (chance(5))
		return buf_arg();
	uint32_t *e = build(16);
	e[0] = chance(2) ? (uint32_t)flag_bits() : (uint32_t)(0x1 | 0x4 | (chance(3) ? 0x80000000 : 0) |
							      (chance(3) ? 0x40000000 : 0));
	e[1] = (uint32_t)rnd();
	e[2] = (uint32_t)rnd();
	return (uint64_t)e;
}

/* ---------------------------------------------- per-syscall arg types */

/*
 * Types of the six arguments of well-known calls, one character each:
 *   f fd   p path (may be destroyed)  P path (only looked at)  b buffer
 *   l length  o offset  x flags  i small int  a address  n pid  s signal
 *   t timespec  v iovec array (count follows as i)  c ioctl cmd  F fcntl cmd
 *   S sigset  A sigaction  m msghdr  k flock  e epoll_event  * anything
 * Missing entries and letters use any_arg().
 */
static const char *const sig_of[MAX_NR + 1] = {
	[SYS_read] = "fbl", [SYS_write] = "fbl", [SYS_open] = "Pxi", [SYS_close] = "f",
	[SYS_stat] = "Pb", [SYS_fstat] = "fb", [SYS_lstat] = "Pb", [SYS_lseek] = "foi",
	[SYS_mmap] = "alxxfo", [SYS_mprotect] = "alx", [SYS_munmap] = "al", [SYS_brk] = "a",
	[SYS_rt_sigaction] = "sAbi", [SYS_rt_sigprocmask] = "iSbi", [SYS_ioctl] = "fc*",
	[SYS_pread64] = "fblo", [SYS_pwrite64] = "fblo", [SYS_readv] = "fv", [SYS_writev] = "fv",
	[SYS_access] = "Pi", [SYS_pipe] = "b", [SYS_mremap] = "allxa", [SYS_msync] = "alx",
	[SYS_mincore] = "alb", [SYS_madvise] = "ali", [SYS_dup] = "f", [SYS_dup2] = "ff",
	[SYS_nanosleep] = "tb", [SYS_getitimer] = "ib", [SYS_alarm] = "i", [SYS_setitimer] = "ibb",
	[SYS_sendfile] = "ffbl", [SYS_socket] = "iii", [SYS_connect] = "fbl", [SYS_accept] = "fbb",
	[SYS_sendto] = "fblxbl", [SYS_recvfrom] = "fblxbb", [SYS_sendmsg] = "fmx",
	[SYS_recvmsg] = "fmx", [SYS_shutdown] = "fi", [SYS_bind] = "fbl", [SYS_listen] = "fi",
	[SYS_getsockname] = "fbb", [SYS_getpeername] = "fbb", [SYS_socketpair] = "iiib",
	[SYS_setsockopt] = "fiibl", [SYS_getsockopt] = "fiibb", [SYS_wait4] = "nbxb",
	[SYS_kill] = "ns", [SYS_uname] = "b", [SYS_fcntl] = "fF*", [SYS_flock] = "fx",
	[SYS_fsync] = "f", [SYS_fdatasync] = "f", [SYS_truncate] = "pl", [SYS_ftruncate] = "fl",
	[SYS_getdents] = "fbl", [SYS_getcwd] = "bl", [SYS_chdir] = "P", [SYS_fchdir] = "f",
	[SYS_rename] = "pp", [SYS_mkdir] = "pi", [SYS_rmdir] = "p", [SYS_creat] = "pi",
	[SYS_link] = "pp", [SYS_unlink] = "p", [SYS_symlink] = "pp", [SYS_readlink] = "Pbl",
	[SYS_chmod] = "pi", [SYS_fchmod] = "fi", [SYS_chown] = "pii", [SYS_fchown] = "fii",
	[SYS_lchown] = "pii", [SYS_umask] = "i", [SYS_gettimeofday] = "bb", [SYS_getrlimit] = "ib",
	[SYS_getrusage] = "ib", [SYS_sysinfo] = "b", [SYS_times] = "b", [SYS_ptrace] = "inbb",
	[SYS_setpgid] = "nn", [SYS_getpgid] = "n", [SYS_getsid] = "n", [SYS_rt_sigpending] = "bi",
	[SYS_rt_sigtimedwait] = "Sbti", [SYS_rt_sigqueueinfo] = "nsb", [SYS_rt_sigsuspend] = "Si",
	[SYS_sigaltstack] = "bb", [SYS_mknod] = "pii", [SYS_statfs] = "Pb", [SYS_fstatfs] = "fb",
	[SYS_setpriority] = "inx", [SYS_getpriority] = "in", [SYS_prctl] = "i****",
	[SYS_arch_prctl] = "ia", [SYS_setrlimit] = "ib", [SYS_chroot] = "P", [SYS_mount] = "ppbxb",
	[SYS_umount2] = "px", [SYS_sethostname] = "bl", [SYS_readahead] = "fol",
	[SYS_tkill] = "ns", [SYS_time] = "b", [SYS_futex] = "bi*t*i", [SYS_sched_setaffinity] = "nlb",
	[SYS_sched_getaffinity] = "nlb", [SYS_getdents64] = "fbl", [SYS_set_tid_address] = "b",
	[SYS_fadvise64] = "foli", [SYS_clock_gettime] = "ib", [SYS_clock_getres] = "ib",
	[SYS_clock_nanosleep] = "ixtb", [SYS_epoll_wait] = "fbii", [SYS_epoll_ctl] = "fife",
	[SYS_tgkill] = "nns", [SYS_waitid] = "inbxb", [SYS_openat] = "fPxi", [SYS_mkdirat] = "fpi",
	[SYS_mknodat] = "fpii", [SYS_fchownat] = "fpiix", [SYS_newfstatat] = "fPbx",
	[SYS_unlinkat] = "fpx", [SYS_renameat] = "fpfp", [SYS_linkat] = "fpfpx",
	[SYS_symlinkat] = "pfp", [SYS_readlinkat] = "fPbl", [SYS_fchmodat] = "fpi",
	[SYS_faccessat] = "fPi", [SYS_pselect6] = "ibbbtb", [SYS_ppoll] = "bitSi",
	[SYS_splice] = "fbfblx", [SYS_tee] = "ffix", [SYS_sync_file_range] = "foox",
	[SYS_vmsplice] = "fvx", [SYS_utimensat] = "fpbx", [SYS_epoll_pwait] = "fbiiSi",
	[SYS_fallocate] = "fxol", [SYS_timerfd_settime] = "fxbb", [SYS_accept4] = "fbbx",
	[SYS_eventfd2] = "ix", [SYS_epoll_create1] = "x", [SYS_dup3] = "ffx", [SYS_pipe2] = "bx",
	[SYS_preadv] = "fvo", [SYS_pwritev] = "fvo", [SYS_rt_tgsigqueueinfo] = "nnsb",
	[SYS_prlimit64] = "nibb", [SYS_syncfs] = "f", [SYS_renameat2] = "fpfpx",
	[SYS_getrandom] = "blx", [SYS_memfd_create] = "Px", [SYS_copy_file_range] = "fbfblx",
	[SYS_preadv2] = "fvox", [SYS_pwritev2] = "fvox", [SYS_statx] = "fPxxb",
	[SYS_pidfd_open] = "nx", [SYS_close_range] = "iix", [SYS_openat2] = "fPbl",
	[SYS_faccessat2] = "fPix", [SYS_execve] = "pbb", [SYS_execveat] = "fpbbx",
	[SYS_select] = "ibbbt", [SYS_poll] = "bii", [SYS_sched_setscheduler] = "nib",
	[SYS_sched_setparam] = "nb", [SYS_process_vm_readv] = "nvvx",
	[SYS_process_vm_writev] = "nvvx", [SYS_rseq] = "bixi",
};

/*
 * A temporary signal mask we built must let the worker's SIGALRM through,
 * or rt_sigsuspend and friends legitimately sleep until the watchdog.
 */
static void unblock_alarm(uint64_t p)
{
	int in_valid = p >= (uint64_t)arena && p + 8 <= (uint64_t)(arena + A_VALID_END);
	int in_build = p >= (uint64_t)(arena + A_BUILD) && p + 8 <= (uint64_t)(arena + A_BUILD_END);
	if (in_valid || in_build) {
		uint64_t m;
		if (safe_copy(&m, (void *)p, 8) == 0) {
			m &= ~(1ULL << (SIGALRM - 1));
			safe_copy((void *)p, &m, 8);
		}
	}
}

/* Fills a[] by the signature of nr; returns nothing. */
static void fill_args(long nr, uint64_t *a)
{
	const char *sig = (nr >= 0 && nr <= MAX_NR) ? sig_of[nr] : NULL;
	for (int i = 0; i < 6; i++) {
		char t = (sig && i < (int)strlen(sig) && !chance(8)) ? sig[i] : '*';
		int cnt;
		switch (t) {
		case 'f': a[i] = (uint64_t)(int64_t)pick_fd(); break;
		case 'p': a[i] = path_arg(1); break;
		case 'P': a[i] = path_arg(0); break;
		case 'b': a[i] = buf_arg(); break;
		case 'l': a[i] = len_arg(); break;
		case 'o': a[i] = chance(2) ? below(10000) : any_arg(); break;
		case 'x': a[i] = chance(4) ? 0 : flag_bits(); break;
		case 'i': a[i] = chance(4) ? any_arg() : below(20); break;
		case 'a': a[i] = chance(3) ? (uint64_t)(arena + below(16) * PAGE) : any_arg() & ~(PAGE - 1); break;
		case 'n': {
			static const int64_t pids[] = { 0, -1, 1, 2, 3, 10, 100, 32768, 0x7fffffff };
			a[i] = chance(3) ? (uint64_t)(chance(8) ? w_pid : w_victim) : (uint64_t)pids[below(9)];
			break;
		}
		case 's': a[i] = chance(4) ? any_arg() : below(66); break;
		case 't': a[i] = timespec_arg(); break;
		case 'v':
			a[i] = iovec_arg(&cnt);
			if (i < 5) {
				a[i + 1] = chance(6) ? any_arg() : (uint64_t)cnt;
				i++;
			}
			break;
		case 'c': a[i] = ioctl_cmd(); break;
		case 'F': a[i] = fcntl_cmd(); break;
		case 'S': a[i] = sigset_arg(); break;
		case 'A': a[i] = sigaction_arg(); break;
		case 'm': a[i] = msghdr_arg(); break;
		case 'k': a[i] = flock_arg(); break;
		case 'e': a[i] = epoll_event_arg(); break;
		default: a[i] = any_arg(); break;
		}
	}
	/* the arguments that follow known types get type-appropriate fixes */
	switch (nr) {
	case SYS_rt_sigaction:
	case SYS_rt_sigprocmask:
		if (!chance(4))
			a[3] = 8;
		break;
	case SYS_rt_sigsuspend:
	case SYS_rt_sigpending:
		if (!chance(4))
			a[1] = 8;
		if (nr == SYS_rt_sigsuspend)
			unblock_alarm(a[0]);
		break;
	case SYS_poll: {
		int cnt;
		a[0] = pollfd_arg(&cnt);
		a[1] = chance(6) ? any_arg() : (uint64_t)cnt;
		a[2] = chance(4) ? any_arg() : below(3);
		break;
	}
	case SYS_ppoll: {
		int cnt;
		a[0] = pollfd_arg(&cnt);
		a[1] = chance(6) ? any_arg() : (uint64_t)cnt;
		a[4] = chance(4) ? any_arg() : 8;
		unblock_alarm(a[3]);
		break;
	}
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
		a[3] = chance(4) ? any_arg() : below(3);
		if (nr == SYS_epoll_pwait && !chance(4))
			a[5] = 8;
		if (nr == SYS_epoll_pwait)
			unblock_alarm(a[4]);
		break;
	case SYS_clone:
		a[0] = clone_flags();
		if (!chance(4))
			a[1] = 0;	/* the child runs on a copy of our stack */
		break;
	case SYS_clone3:
		a[0] = clone3_args(&a[1]);
		break;
	case SYS_fcntl:
		switch (a[1]) {
		case 5: case 6: case 7: case 36: case 37: case 38:
			a[2] = flock_arg();
			break;
		case 1031:
			a[2] = chance(2) ? len_arg() : PAGE << below(12);
			break;
		}
		break;
	}
}

/* ---------------------------------------------------- structured calls */

/* Plausible-but-wrong operations on a real descriptor of some kind. */
static long structured(uint64_t *a)
{
	struct fdent *e = pick_ent();
	int fd = e ? e->fd : pick_fd();
	int cnt;

	memset(a, 0, 6 * sizeof *a);
	a[0] = (uint64_t)(int64_t)fd;
	switch (below(34)) {
	case 0:
	case 1:
		a[1] = buf_arg();
		a[2] = len_arg();
		return SYS_read;
	case 2:
		a[1] = buf_arg();
		a[2] = len_arg();
		return SYS_write;
	case 3:
		a[1] = buf_arg();
		a[2] = len_arg();
		a[3] = chance(2) ? below(20000) : any_arg();
		return chance(2) ? SYS_pread64 : SYS_pwrite64;
	case 4:
		a[1] = iovec_arg(&cnt);
		a[2] = chance(8) ? any_arg() : (uint64_t)cnt;
		return chance(2) ? SYS_readv : SYS_writev;
	case 5:
		a[1] = iovec_arg(&cnt);
		a[2] = chance(8) ? any_arg() : (uint64_t)cnt;
		a[3] = chance(2) ? below(20000) : any_arg();
		a[4] = chance(2) ? 0 : flag_bits();
		return chance(2) ? SYS_preadv2 : SYS_pwritev2;
	case 6: {
		static const int64_t offs[] = { 0, 1, -1, 4096, 8192, 8193, 0x7fffffffffffffff,
						(int64_t)0x8000000000000000, -4096, 1LL << 40 };
		a[1] = chance(4) ? any_arg() : (uint64_t)offs[below(10)];
		a[2] = chance(4) ? any_arg() : below(6);	/* SET CUR END DATA HOLE + bad */
		return SYS_lseek;
	}
	case 7:
	case 8:
		a[1] = ioctl_cmd();
		a[2] = chance(3) ? below(64) : buf_arg();
		return SYS_ioctl;
	case 9:
	case 10:
		a[1] = fcntl_cmd();
		switch (a[1]) {
		case 5: case 6: case 7: case 36: case 37: case 38: a[2] = flock_arg(); break;
		case 4: a[2] = chance(2) ? flag_bits() : (uint64_t)(O_APPEND | O_NONBLOCK | O_DIRECT); break;
		case 1031: a[2] = chance(2) ? len_arg() : PAGE << below(12); break;
		case 0: case 1030: a[2] = chance(2) ? below(2000) : any_arg(); break;
		default: a[2] = any_arg(); break;
		}
		return SYS_fcntl;
	case 11:
	case 12: {
		static const uint64_t lens[] = { 0, 1, PAGE, 2 * PAGE, 3 * PAGE, 1ULL << 30,
						 (uint64_t)-1, 0x7ffff000, 1ULL << 47 };
		a[0] = chance(4) ? (uint64_t)(arena + below(16) * PAGE) : 0;
		a[1] = chance(4) ? len_arg() : lens[below(9)];
		a[2] = chance(4) ? flag_bits() : below(8);	/* PROT_* */
		a[3] = (chance(2) ? 1 : 2) | (chance(4) ? flag_bits() & ~0x10ULL : 0);
		if (a[0] && chance(2))
			a[3] |= 0x10;				/* MAP_FIXED in the arena */
		a[4] = (uint64_t)(int64_t)fd;
		a[5] = chance(2) ? 0 : chance(2) ? PAGE * below(4) : any_arg();
		return SYS_mmap;
	}
	case 13:
		a[1] = buf_arg();
		a[2] = chance(2) ? len_arg() : below(64);	/* too small for an entry */
		return SYS_getdents64;
	case 14: {
		a[0] = pollfd_arg(&cnt);
		a[1] = chance(6) ? any_arg() : (uint64_t)cnt;
		a[2] = chance(8) ? any_arg() : below(2);
		return SYS_poll;
	}
	case 15: {
		/* epoll_ctl on an epoll fd, with loops and nonsense ops */
		int ep = -1;
		for (int i = 0; i < n_fds; i++)
			if (fds[i].kind == FK_EPOLL && (ep < 0 || chance(2)))
				ep = fds[i].fd;
		a[0] = (uint64_t)(int64_t)(ep >= 0 && !chance(8) ? ep : fd);
		a[1] = chance(6) ? any_arg() : 1 + below(3);
		a[2] = (uint64_t)(int64_t)(chance(4) ? (int)a[0] : pick_fd());
		a[3] = epoll_event_arg();
		return SYS_epoll_ctl;
	}
	case 16: {
		int ep = fd;
		for (int i = 0; i < n_fds; i++)
			if (fds[i].kind == FK_EPOLL && chance(2))
				ep = fds[i].fd;
		a[0] = (uint64_t)(int64_t)ep;
		a[1] = buf_arg();
		a[2] = chance(4) ? any_arg() : below(20);
		a[3] = chance(4) ? any_arg() : below(2);
		return SYS_epoll_wait;
	}
	case 17:
		a[1] = chance(2) ? (uint64_t)str_arg("") : path_arg(0);
		a[2] = chance(2) ? 0x1000 /* AT_EMPTY_PATH */ : flag_bits();
		a[3] = chance(2) ? 0xfff : any_arg();
		a[4] = buf_arg();
		return SYS_statx;
	case 18:
		a[1] = buf_arg();
		return chance(2) ? SYS_fstat : SYS_fstatfs;
	case 19:
		a[1] = (uint64_t)(int64_t)pick_fd();
		a[2] = (uint64_t)(int64_t)(chance(3) ? (int)a[0] : pick_fd());
		a[2] = chance(4) ? any_arg() : a[2];
		a[0] = a[1];
		a[1] = (uint64_t)(int64_t)fd;
		if (chance(2))
			return SYS_dup2;
		a[2] = chance(2) ? 0 : chance(2) ? O_CLOEXEC : flag_bits();
		a[1] = chance(2) ? a[1] : below(1100);
		return SYS_dup3;
	case 20:
		a[1] = chance(3) ? any_arg() : chance(2) ? below(100000) : (uint64_t)-1;
		return SYS_ftruncate;
	case 21:
		/* sendfile(out, in, offset, count) between our descriptors */
		a[1] = (uint64_t)(int64_t)pick_fd();
		a[2] = chance(2) ? 0 : buf_arg();
		a[3] = chance(3) ? len_arg() : below(100000);
		return SYS_sendfile;
	case 22:
		/* splice / tee / copy_file_range */
		a[1] = chance(2) ? 0 : buf_arg();
		a[2] = (uint64_t)(int64_t)pick_fd();
		a[3] = chance(2) ? 0 : buf_arg();
		a[4] = chance(3) ? len_arg() : below(100000);
		a[5] = chance(2) ? 0 : flag_bits();
		if (chance(3)) {
			a[1] = a[2];
			a[2] = a[4];
			a[3] = a[5] & 0xf;
			return SYS_tee;
		}
		return chance(2) ? SYS_splice : SYS_copy_file_range;
	case 23:
		a[1] = chance(3) ? flag_bits() : below(0x80);	/* fallocate mode */
		a[2] = chance(2) ? below(20000) : any_arg();
		a[3] = chance(2) ? below(20000) : any_arg();
		return SYS_fallocate;
	case 24:
		a[1] = path_arg(0);
		a[2] = chance(3) ? flag_bits() : (uint64_t)(below(3) | (chance(2) ? O_DIRECTORY : 0) |
							     (chance(3) ? O_CREAT : 0) | (chance(4) ? O_NOFOLLOW : 0));
		a[3] = below(01000);
		return SYS_openat;
	case 25:
		/* eventfd-style 8-byte writes with odd values and sizes */
		{
			uint64_t *v = build(16);
			static const uint64_t vals[] = { 0, 1, 0xfffffffffffffffe, 0xffffffffffffffff,
							 0x7fffffffffffffff };
			v[0] = vals[below(5)];
			a[1] = chance(4) ? buf_arg() : (uint64_t)v;
			a[2] = chance(3) ? len_arg() : 8 - (chance(3) ? 1 : 0);
			return chance(2) ? SYS_write : SYS_read;
		}
	case 26:
		a[1] = chance(3) ? any_arg() : below(01000);
		return SYS_fchmod;
	case 27:
		return chance(2) ? SYS_fchdir : chance(2) ? SYS_fsync : SYS_close;
	case 28:
		a[1] = msghdr_arg();
		a[2] = chance(2) ? 0x40 /* DONTWAIT */ : flag_bits();
		return chance(2) ? SYS_sendmsg : SYS_recvmsg;
	case 29:
		a[1] = chance(4) ? any_arg() : below(300);
		a[2] = chance(4) ? any_arg() : below(100);
		a[3] = buf_arg();
		a[4] = chance(2) ? buf_arg() : len_arg();
		return chance(2) ? SYS_setsockopt : SYS_getsockopt;
	case 30:
		a[1] = chance(2) ? (uint64_t)str_arg("") : path_arg(0);
		a[2] = buf_arg();
		a[3] = len_arg();
		return SYS_readlinkat;
	case 31:
		a[1] = chance(4) ? any_arg() : below(20000);
		a[2] = chance(4) ? any_arg() : below(20000);
		a[3] = chance(4) ? any_arg() : below(7);
		return SYS_fadvise64;
	case 32: {
		/* pselect6 with our descriptors in the sets */
		uint64_t *set = build(128);
		for (int i = 0; i < n_fds; i++)
			if (fds[i].fd < 1024 && chance(2))
				set[fds[i].fd / 64] |= 1ULL << (fds[i].fd % 64);
		a[0] = chance(4) ? any_arg() : below(1100);
		a[1] = chance(4) ? buf_arg() : (uint64_t)set;
		a[2] = chance(2) ? 0 : (uint64_t)set;
		a[3] = chance(2) ? 0 : buf_arg();
		int64_t *ts = build(16);
		ts[1] = below(1000000);
		a[4] = chance(6) ? timespec_arg() : (uint64_t)ts;
		a[5] = 0;
		return SYS_pselect6;
	}
	default:
		a[1] = chance(2) ? 0 : chance(2) ? 8192 : any_arg();
		a[2] = a[1] ? chance(2) ? below(4) : any_arg() : 0;
		return SYS_lseek;
	}
}

/* ------------------------------------------- self-sabotage rules */

static int is_bad_pid(int64_t pid)
{
	return pid <= 0 || pid == 1 || pid == top_pid;
}

/* Where a call aimed at a pid we must not touch goes instead. */
static uint64_t safe_pid(void)
{
	return (uint64_t)(chance(8) || w_victim <= 0 ? w_pid : w_victim);
}

static int is_mm_call(long nr)
{
	switch (nr) {
	case SYS_mmap: case SYS_mprotect: case SYS_munmap: case SYS_mremap:
	case SYS_madvise: case SYS_shmat: case SYS_remap_file_pages:
	case SYS_pkey_mprotect: case SYS_brk: case SYS_msync:
	case SYS_mlock: case SYS_munlock: case SYS_mlock2:
		return 1;
	}
	return 0;
}

/* Moves a memory operation that would hit the worker itself to the arena. */
static void redirect_range(uint64_t *addr, uint64_t *len)
{
	if (!overlaps_protected(*addr, *len) || chance(64))
		return;
	uint64_t first = below(ARENA_RES_PAGES);
	*addr = (uint64_t)arena_res + first * PAGE;
	*len = (1 + below(ARENA_RES_PAGES - first)) * PAGE - (chance(4) ? below(PAGE) : 0);
}

/* Returns 0 to skip the call. Calls skipped by -x go through the same
 * rewriting first, so that the PRNG stream is the same with and without. */
static int neuter_rules(long nr, uint64_t *a);

static int neuter(long nr, uint64_t *a)
{
	int ok = neuter_rules(nr, a);
	return ok && nr >= 0 && nr <= MAX_NR && !skip_nr[nr];
}

static int neuter_rules(long nr, uint64_t *a)
{
	switch (nr) {
	case SYS_reboot:
	case SYS_kexec_load:
	case SYS_kexec_file_load:
	case SYS_vhangup:
		return 0;
	case SYS_kill:
	case SYS_tkill:
	case SYS_rt_sigqueueinfo:
	case SYS_pidfd_open:
	case SYS_prlimit64:
	case SYS_process_vm_writev:
	case SYS_process_vm_readv:
	case SYS_sched_setscheduler:
	case SYS_sched_setparam:
	case SYS_sched_setattr:
	case SYS_migrate_pages:
	case SYS_move_pages:
		if (is_bad_pid((int64_t)a[0]) && !(a[0] == 0 && nr != SYS_kill && nr != SYS_tkill))
			a[0] = safe_pid();
		break;
	case SYS_tgkill:
	case SYS_rt_tgsigqueueinfo:
		if (is_bad_pid((int64_t)a[0]) || is_bad_pid((int64_t)a[1]))
			a[0] = a[1] = safe_pid();
		break;
	case SYS_ptrace:
		if (a[0] == 0 /* TRACEME */ || is_bad_pid((int64_t)a[1]))
			return 0;
		break;
	case SYS_setpriority:
	case SYS_ioprio_set:
		/* other users' or groups' priorities would include the top process */
		a[0] = 1;	/* PRIO_PROCESS / IOPRIO_WHO_PROCESS */
		if (is_bad_pid((int64_t)a[1]))
			a[1] = 0;
		break;
	case SYS_fcntl:
		if (a[1] == 8 /* F_SETOWN */ && is_bad_pid((int64_t)a[2]))
			a[2] = safe_pid();
		break;
	case SYS_execve:
		/* never anything runnable: a garbage pointer or a non-executable */
		a[0] = chance(2) ? buf_arg() : str_arg(chance(2) ? "/dev/null" : "f0");
		break;
	case SYS_execveat:
		a[1] = chance(2) ? buf_arg() : str_arg(chance(2) ? "/dev/null" : "f0");
		a[4] &= ~0x1000ULL;	/* no AT_EMPTY_PATH: the fd might be runnable */
		break;
	case SYS_mmap:
		if (a[3] & (0x10 | 0x100000))	/* MAP_FIXED, MAP_FIXED_NOREPLACE */
			redirect_range(&a[0], &a[1]);
		break;
	case SYS_mremap:
		redirect_range(&a[0], &a[1]);
		if (a[3] & 2)			/* MREMAP_FIXED */
			redirect_range(&a[4], &a[2]);
		break;
	case SYS_munmap:
	case SYS_mprotect:
	case SYS_madvise:
	case SYS_pkey_mprotect:
	case SYS_remap_file_pages:
		redirect_range(&a[0], &a[1]);
		break;
	case SYS_shmat: {
		uint64_t len = PAGE;
		redirect_range(&a[1], &len);
		break;
	}
	case SYS_close:
		if ((opt_verbose || opt_memwatch) && a[0] == LOGFD)
			return 0;
		break;
	case SYS_dup2:
	case SYS_dup3:
		if ((opt_verbose || opt_memwatch) && a[1] == LOGFD)
			a[1] = LOGFD - 1;
		break;
	case SYS_close_range:
		if ((opt_verbose || opt_memwatch) && a[0] <= LOGFD && (uint32_t)a[1] >= LOGFD)
			a[1] = LOGFD - 1;
		break;
	}
	return 1;
}

/* ------------------------------------------------------ helper thread */

/*
 * In some incarnations a second thread of the worker churns what the main
 * thread's calls use: it closes and dup2s the worker's descriptors and
 * unmaps, remaps and reprotects the arena's buffer pages, so that a call
 * may lose its file or its memory while the kernel is working on it. It
 * uses raw system calls only, with its own PRNG, on its own stack.
 */
#define HELPER_STACK (64 * 1024)

static void helper_main(void)
{
	uint64_t st = rng_state ^ 0x5bd1e995ULL;
	uint64_t block = 1ULL << (SIGALRM - 1);	/* the main thread takes the alarms */
	raw6(SYS_rt_sigprocmask, SIG_BLOCK, (uint64_t)&block, 0, 8, 0, 0);
	uint64_t seen = w_slot->calls;
	double quiet_since = 0, now_t;
	for (;;) {
		/* the main thread gone (SYS_exit) or stuck: end the incarnation */
		struct timespec mono;
		raw6(SYS_clock_gettime, CLOCK_MONOTONIC, (uint64_t)&mono, 0, 0, 0, 0);
		now_t = mono.tv_sec + mono.tv_nsec / 1e9;
		if (w_slot->calls != seen || quiet_since == 0) {
			seen = w_slot->calls;
			quiet_since = now_t;
		} else if (now_t - quiet_since > 3) {
			raw6(SYS_exit_group, 0, 0, 0, 0, 0, 0);
		}
		st += 0x9e3779b97f4a7c15ULL;
		uint64_t r = mix64(st);
		int nf = n_fds ? n_fds : 1;
		int fa = fds[r % nf].fd, fb = fds[(r >> 8) % nf].fd;
		uint64_t page = (uint64_t)(arena + ((r >> 16) % 11) * PAGE);	/* not the build pages */
		switch ((r >> 24) % 8) {
		case 0: raw6(SYS_dup2, fb, fa, 0, 0, 0, 0); break;
		case 1: raw6(SYS_close, fa, 0, 0, 0, 0, 0); raw6(SYS_dup2, fb, fa, 0, 0, 0, 0); break;
		case 2: raw6(SYS_munmap, page, PAGE, 0, 0, 0, 0); break;
		case 3:
			raw6(SYS_mmap, page, PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		case 4: raw6(SYS_mprotect, page, PAGE, (r >> 32) % 4, 0, 0, 0); break;
		case 5: raw6(SYS_madvise, page, PAGE, 4 /* MADV_DONTNEED */, 0, 0, 0); break;
		case 6:
			raw6(SYS_mmap, page, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fa, 0);
			break;
		default: raw6(SYS_sched_yield, 0, 0, 0, 0, 0, 0); break;
		}
		struct timespec ts = { 0, (long)((r >> 40) % 2000000) };
		raw6(SYS_nanosleep, (uint64_t)&ts, 0, 0, 0, 0, 0);
	}
}

/* Starts helper_main on `stack_top` as a thread of this process. */
static long spawn_helper(unsigned char *stack_top)
{
	register uint64_t r12 __asm__("r12") = (uint64_t)helper_main;
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%%r12\n\t"
			 "mov $60, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n\t"
			 "1:\n\t"
			 : "=a"(ret)
			 : "0"((long)SYS_clone),
			   "D"((uint64_t)(0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000)),
			   "S"((uint64_t)stack_top), "d"(0UL), "r"(r12)
			 : "rcx", "r11", "r8", "r9", "r10", "memory");
	return ret;
}

/* ------------------------------------------------------ worker loop */

/*
 * A periodic SIGALRM interrupts calls that block legitimately (a read on an
 * empty pipe, pause, a long nanosleep), so that the worker goes on. It is
 * set up again after every call that may have changed it.
 */
static void on_alarm(int sig)
{
	(void)sig;
}

static void arm_alarm(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	struct itimerval it = { { 0, 250000 }, { 0, 250000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static int touches_alarm(long nr)
{
	switch (nr) {
	case SYS_rt_sigaction: case SYS_rt_sigprocmask: case SYS_setitimer: case SYS_alarm:
	case SYS_timer_create: case SYS_timer_settime: case SYS_timer_delete:
	case SYS_signalfd: case SYS_signalfd4: case SYS_rt_sigreturn: case SYS_sigaltstack:
	case SYS_rt_sigsuspend: case SYS_rt_sigtimedwait:
		return 1;
	}
	return 0;
}

static void log_call(long nr, const uint64_t *a, const char *note)
{
	char buf[300];
	char call[200];
	format_call(call, sizeof call, nr, a);
	int n = snprintf(buf, sizeof buf, "fuzz: w%d.%u #%lu %s%s\n", w_index, w_incarnation,
			 (unsigned long)w_seq, call, note);
	if (n > (int)sizeof buf - 1)
		n = sizeof buf - 1;
	if (raw6(SYS_write, LOGFD, (uint64_t)buf, n, 0, 0, 0) == -EBADF) {
		int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
		if (fd >= 0 && fd != LOGFD) {
			dup2(fd, LOGFD);
			close(fd);
		}
		raw6(SYS_write, LOGFD, (uint64_t)buf, n, 0, 0, 0);
	}
}

static void read_maps(void)
{
	static char buf[16384];
	int fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		return;
	size_t len = 0;
	ssize_t r;
	while (len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += r;
	close(fd);
	buf[len] = 0;
	for (char *line = buf; *line;) {
		char *end;
		uint64_t lo = strtoull(line, &end, 16);
		if (*end == '-') {
			uint64_t hi = strtoull(end + 1, &end, 16);
			add_prot(lo, hi);
		}
		char *nl = strchr(line, '\n');
		if (!nl)
			break;
		line = nl + 1;
	}
}

extern char __executable_start[], _end[];

static void worker(int index, unsigned incarnation)
{
	w_index = index;
	w_incarnation = incarnation;
	w_slot = &slots[index];
	w_pid = getpid();
	w_tid = w_pid;
	rng_state = mix64(opt_seed ^ mix64(0x1000003ULL * (index + 1) + incarnation));
	fill_state = ~rng_state;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < 65; s++)
		sigaction(s, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	setsid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct rlimit core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &core);

	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (raw6(SYS_close_range, 3, ~0U, 0, 0, 0, 0) != 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	if (opt_verbose || opt_memwatch) {
		int c = open("/dev/console", O_WRONLY | O_NOCTTY);
		if (c >= 0) {
			dup2(c, LOGFD);
			close(c);
		}
	}
	snprintf(scratch, sizeof scratch, "/tmp/fuzz/w%d", index);
	mkdir("/tmp/fuzz", 0777);
	mkdir(scratch, 0777);
	if (chdir(scratch) != 0 && chdir("/tmp") != 0) {
		/* stay where we are */
	}

	/* what memory calls must not take away from us */
	n_prot = 0;
	read_maps();
	add_prot((uint64_t)__executable_start, (uint64_t)_end + (1 << 20));
	uint64_t sp = (uint64_t)&sa;
	add_prot(sp - (8 << 20), sp + (1 << 20));
	add_prot((uint64_t)slots, (uint64_t)slots + MAX_WORKERS * sizeof(struct slot));
	add_prot((uint64_t)sbrk(0) - (1 << 20), (uint64_t)sbrk(0) + (1 << 20));

	arena_res = mmap(NULL, ARENA_RES_PAGES * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena_res == MAP_FAILED)
		_exit(100);
	arena = arena_res + ARENA_OFF;
	arena_build();

	setup_fds();
	if (pipe2(copy_pipe, O_CLOEXEC) != 0)
		copy_pipe[0] = copy_pipe[1] = -1;

	if (opt_verbose) {
		static const char *const kinds[] = {
			"file", "rdonly", "append", "path", "dir", "null", "zero", "full", "random",
			"tty", "proc", "pipe_r", "pipe_w", "eventfd", "epoll", "sock", "memfd", "other",
		};
		char buf[600];
		int off = snprintf(buf, sizeof buf, "fuzz: w%d.%u fds:", w_index, w_incarnation);
		for (int i = 0; i < n_fds && off < (int)sizeof buf - 24; i++)
			off += snprintf(buf + off, sizeof buf - off, " %d=%s", fds[i].fd, kinds[fds[i].kind]);
		off += snprintf(buf + off, sizeof buf - off, "\n");
		raw6(SYS_write, LOGFD, (uint64_t)buf, off < (int)sizeof buf ? off : (int)sizeof buf - 1, 0, 0, 0);
	}

	/* the victim: a child that lives until the worker dies */
	w_victim = fork();
	if (w_victim == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != w_pid)
			_exit(0);
		for (;;)
			pause();
	}
	raw6(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, (uint64_t)&w_fsbase, 0, 0, 0, 0);
	w_slot->incarnation = incarnation;
	if (chance(4)) {
		unsigned char *stk = mmap(NULL, HELPER_STACK, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (stk != MAP_FAILED) {
			add_prot((uint64_t)stk, (uint64_t)stk + HELPER_STACK);
			long tid = spawn_helper(stk + HELPER_STACK - 64);
			if (opt_verbose) {
				char buf[80];
				int n = snprintf(buf, sizeof buf, "fuzz: w%d.%u helper thread %ld\n",
						 w_index, incarnation, tid);
				raw6(SYS_write, LOGFD, (uint64_t)buf, n, 0, 0, 0);
			}
		}
	}
	arm_alarm();

	for (w_seq = 0; w_seq < (uint64_t)opt_calls; w_seq++) {
		uint64_t a[6];
		long nr;

		build_off = 0;
		if (chance(3)) {
			nr = structured(a);
		} else {
			nr = (long)below(MAX_NR + 1);
			fill_args(nr, a);
		}
		if (!neuter(nr, a))
			continue;
		w_slot->nr = nr;
		for (int i = 0; i < 6; i++)
			w_slot->args[i] = a[i];
		w_slot->seq = w_seq;
		w_slot->calls++;
		if (opt_verbose)
			log_call(nr, a, "");
		long free_before = opt_memwatch ? mem_free_kib() : 0;
		w_slot->in_call = 1;
		long ret;
		if (nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone || nr == SYS_clone3)
			ret = raw6_forklike(nr, a[0], a[1], a[2], a[3], a[4], a[5], w_tid);
		else
			ret = raw6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		w_slot->in_call = 0;
		if (opt_verbose > 1) {
			char note[40];
			snprintf(note, sizeof note, " = %#lx", (unsigned long)ret);
			log_call(nr, a, note);
		}
		if (opt_memwatch) {
			long after = mem_free_kib();
			long used = free_before - after;
			if (free_before >= 0 && after >= 0 && used >= opt_memwatch * 1024) {
				char note[64];
				snprintf(note, sizeof note, " = %#lx took %ld MiB", (unsigned long)ret, used / 1024);
				log_call(nr, a, note);
			}
		}

		if (nr == SYS_arch_prctl)
			raw6(SYS_arch_prctl, 0x1002 /* ARCH_SET_FS */, w_fsbase, 0, 0, 0, 0);
		if (touches_alarm(nr))
			arm_alarm();
		if (is_mm_call(nr) || nr == SYS_shmdt) {
			if (nr == SYS_mmap && ret > 0 && (uint64_t)ret < 0x800000000000ULL &&
			    !overlaps_protected(ret, a[1]) &&
			    ((uint64_t)ret < (uint64_t)arena_res ||
			     (uint64_t)ret >= (uint64_t)arena_res + ARENA_RES_PAGES * PAGE)) {
				/* touch a little of a fresh mapping, then give it back */
				if ((a[2] & PROT_READ) && a[1] && a[1] < (1ULL << 32) && chance(4) &&
				    (a[3] & 0x20 /* ANONYMOUS */))
					(void)*(volatile char *)ret;
				raw6(SYS_munmap, ret, a[1], 0, 0, 0, 0);
			}
			arena_build();
		}
		if ((w_seq & 63) == 63)
			raw6(SYS_wait4, (uint64_t)-1, 0, 1 /* WNOHANG */, 0, 0, 0);
	}
	_exit(0);
}

/* ========================================================= the parent */

enum wstate { W_IDLE, W_RUNNING, W_KILLING };

struct wslot {
	enum wstate state;
	pid_t pid;
	unsigned incarnation;
	double started, last_progress, kill_time;
	uint64_t last_calls;
	int reported;
	char kill_reason[16];
};
static struct wslot ws[MAX_WORKERS];

/* Workers reported unkillable keep their pid here until reaped. */
static pid_t lost[256];
static double lost_since[256];
static int n_lost;

static uint64_t st_deaths, st_exits, st_restarts, st_stalls, st_lifes, st_unkillable, st_started;
static uint64_t st_bysig[65];
static uint64_t st_fork_fail;
static struct termios saved_tty;
static int have_tty;

static int saved_flags = -1;
static int n_stall_reports;

/* Workers may reach the console through their own descriptors: undo what
 * they may have changed before reporting. */
static void restore_console(void)
{
	if (have_tty)
		tcsetattr(1, TCSANOW, &saved_tty);
	if (saved_flags >= 0 && fcntl(1, F_GETFL) != saved_flags)
		fcntl(1, F_SETFL, saved_flags);
}

static int start_worker(int i, double t)
{
	unsigned inc = ws[i].incarnation;
	pid_t pid = fork();
	if (pid < 0) {
		st_fork_fail++;
		return -1;
	}
	if (pid == 0)
		worker(i, inc);
	setpgid(pid, pid);
	ws[i].pid = pid;
	ws[i].state = W_RUNNING;
	ws[i].started = t;
	ws[i].last_progress = t;
	ws[i].last_calls = slots[i].calls;
	ws[i].reported = 0;
	st_started++;
	return 0;
}

static void kill_worker(int i, double t, const char *why)
{
	kill(-ws[i].pid, SIGKILL);
	kill(ws[i].pid, SIGKILL);
	ws[i].state = W_KILLING;
	ws[i].kill_time = t;
	snprintf(ws[i].kill_reason, sizeof ws[i].kill_reason, "%s", why);
}

/* Prints the first line of `path`, prefixed with `label`, if it can be read. */
static void print_first_line(const char *label, const char *path)
{
	char buf[512];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		char *nl = strchr(buf, '\n');
		if (nl)
			*nl = 0;
		say("fuzz:   %s: %s\n", label, buf);
	}
}

/* Prints what the kernel shows of `pid`: its state, and for each thread its
 * state and the system call it is blocked in (/proc/PID/task/TID/syscall). */
static void print_proc_state(pid_t pid)
{
	char path[96], label[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	snprintf(label, sizeof label, "/proc/%d/stat", (int)pid);
	print_first_line(label, path);
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	int shown = 0;
	while ((e = readdir(d)) && shown < 8) {
		if (e->d_name[0] == '.')
			continue;
		shown++;
		snprintf(path, sizeof path, "/proc/%d/task/%.16s/stat", (int)pid, e->d_name);
		snprintf(label, sizeof label, "thread %.16s stat", e->d_name);
		print_first_line(label, path);
		snprintf(path, sizeof path, "/proc/%d/task/%.16s/syscall", (int)pid, e->d_name);
		snprintf(label, sizeof label, "thread %.16s syscall", e->d_name);
		print_first_line(label, path);
		snprintf(path, sizeof path, "/proc/%d/task/%.16s/wchan", (int)pid, e->d_name);
		snprintf(label, sizeof label, "thread %.16s sleeps at", e->d_name);
		print_first_line(label, path);
	}
	closedir(d);
}

/* Prints /proc/PID/stat of the children of `parent`. */
static void print_children(pid_t parent)
{
	char path[64], buf[512];
	int shown = 0;
	for (pid_t pid = 2; pid < 65536 && shown < 8; pid++) {
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		char *rp = strrchr(buf, ')');
		int ppid = 0;
		if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1 || ppid != parent)
			continue;
		char *nl = strchr(buf, '\n');
		if (nl)
			*nl = 0;
		say("fuzz:   child: %s\n", buf);
		shown++;
	}
}

static void report_stall(int i, double t)
{
	char call[200];
	struct slot *s = &slots[i];
	if (n_stall_reports++ >= 40)
		return;
	format_call(call, sizeof call, s->nr, s->args);
	restore_console();
	say("\nfuzz: stalled w%d.%u pid %d, no progress for %.0f s; last call #%lu%s: %s\n", i,
	    ws[i].incarnation, (int)ws[i].pid, t - ws[i].last_progress, (unsigned long)s->seq,
	    s->in_call ? " (in the call)" : "", call);
	print_proc_state(ws[i].pid);
	if (opt_verbose)
		print_children(ws[i].pid);
}

static void report_unkillable(int i, double t)
{
	char call[200];
	struct slot *s = &slots[i];
	format_call(call, sizeof call, s->nr, s->args);
	restore_console();
	say("\nfuzz: UNKILLABLE worker w%d.%u pid %d not reaped %.0f s after SIGKILL (%s)\n", i,
	    ws[i].incarnation, (int)ws[i].pid, t - ws[i].kill_time, ws[i].kill_reason);
	say("fuzz:   last call #%lu%s: %s\n", (unsigned long)s->seq, s->in_call ? " (in the call)" : "",
	    call);
	print_proc_state(ws[i].pid);
	/* It may wait for something another worker holds: show what the
	 * others are doing. */
	for (int k = 0; k < opt_workers; k++) {
		if (k == i || ws[k].state == W_IDLE || !slots[k].in_call)
			continue;
		format_call(call, sizeof call, slots[k].nr, slots[k].args);
		say("fuzz:   meanwhile w%d.%u pid %d is in call #%lu: %s\n", k, ws[k].incarnation,
		    (int)ws[k].pid, (unsigned long)slots[k].seq, call);
	}
	st_unkillable++;
	if (n_lost < (int)(sizeof lost / sizeof lost[0])) {
		lost[n_lost] = ws[i].pid;
		lost_since[n_lost] = ws[i].kill_time;
		n_lost++;
	}
}

static int slot_of(pid_t pid)
{
	for (int i = 0; i < opt_workers; i++)
		if (ws[i].state != W_IDLE && ws[i].pid == pid)
			return i;
	return -1;
}

/* Reaps whatever ended; returns the number of workers that ended. */
static int reap(double t, int restart)
{
	int ended = 0, status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (!WIFEXITED(status) && !WIFSIGNALED(status))
			continue;
		int i = slot_of(pid);
		if (i < 0) {
			for (int k = 0; k < n_lost; k++)
				if (lost[k] == pid) {
					say("fuzz: note: unkillable pid %d was reaped %.0f s after SIGKILL\n",
					    (int)pid, t - lost_since[k]);
					lost[k] = lost[--n_lost];
					lost_since[k] = lost_since[n_lost];
					break;
				}
			continue;	/* an orphan, or a worker's child */
		}
		ended++;
		if (ws[i].state == W_KILLING) {
			/* killed by us: not a death */
		} else if (WIFSIGNALED(status)) {
			st_deaths++;
			int sig = WTERMSIG(status);
			st_bysig[sig > 0 && sig < 65 ? sig : 0]++;
		} else {
			st_exits++;
		}
		ws[i].state = W_IDLE;
		ws[i].incarnation++;
		if (restart && opt_only_w < 0) {
			st_restarts++;
			start_worker(i, t);
		}
	}
	return ended;
}

/*
 * The top process should never get a fatal signal: if it does, say where it
 * came from (a sender's pid, or the faulting address and instruction)
 * before dying of it, since that points at the kernel.
 */
static void on_fatal(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	char buf[256];
	int n = snprintf(buf, sizeof buf,
			 "\nfuzz: TOP PROCESS got signal %d (code %d, from pid %d, addr %p, rip %#llx)\n",
			 sig, si->si_code, (int)si->si_pid, si->si_addr,
			 (unsigned long long)uc->uc_mcontext.gregs[REG_RIP]);
	if (n > 0)
		write(1, buf, n < (int)sizeof buf ? n : (int)sizeof buf - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void ignore_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	for (int s = 1; s < 65; s++)
		if (s != SIGCHLD && s != SIGKILL && s != SIGSTOP && s != SIGSEGV && s != SIGBUS &&
		    s != SIGILL && s != SIGFPE && s != SIGTRAP && s != SIGABRT)
			sigaction(s, &sa, NULL);

	static char altstack[16384];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fatal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
}

static void usage(void)
{
	say("usage: fuzz [-s SEED] [-d SECONDS] [-w WORKERS] [-n CALLS] [-t STALL] [-l LIFE]\n"
	    "            [-x NR,NR,...] [-o W.R] [-m MIB] [-v] [-f]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int opt, force = 0;

	while ((opt = getopt(argc, argv, "s:d:w:n:t:l:x:o:m:vfh")) != -1) {
		switch (opt) {
		case 's': opt_seed = strtoull(optarg, NULL, 0); break;
		case 'd': opt_duration = atol(optarg); break;
		case 'w': opt_workers = atoi(optarg); break;
		case 'n': opt_calls = atol(optarg); break;
		case 't': opt_stall = atol(optarg); break;
		case 'l': opt_life = atol(optarg); break;
		case 'v': opt_verbose++; break;
		case 'm': opt_memwatch = atol(optarg); break;
		case 'f': force = 1; break;
		case 'o':
			if (sscanf(optarg, "%d.%u", &opt_only_w, &opt_only_r) != 2 || opt_only_w < 0 ||
			    opt_only_w >= MAX_WORKERS)
				usage();
			break;
		case 'x':
			for (char *p = optarg; *p;) {
				char *end;
				long nr = strtol(p, &end, 0);
				if (end == p)
					usage();
				if (nr >= 0 && nr <= MAX_NR)
					skip_nr[nr] = 1;
				p = *end == ',' ? end + 1 : end;
			}
			break;
		default: usage();
		}
	}
	if (opt_workers < 1 || opt_workers > MAX_WORKERS || opt_duration < 1 || opt_calls < 1 ||
	    opt_stall < 1 || opt_life < 1)
		usage();

	top_pid = getpid();
	if (top_pid != 1 && !force) {
		say("fuzz: refusing to run as pid %d: this makes random system calls as root and\n"
		    "fuzz: belongs inside a disposable guest (boot it as init, or pass -f there)\n",
		    (int)top_pid);
		return 2;
	}
	if (top_pid == 1) {
		mount("proc", "/proc", "proc", 0, NULL);
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
		mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	} else {
		prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL);
	}
	ignore_signals();
	have_tty = tcgetattr(1, &saved_tty) == 0;
	saved_flags = fcntl(1, F_GETFL);
	mkdir("/tmp/fuzz", 0777);
	long free_at_start = mem_free_mib();
	long slab_at_start = meminfo_kib("Slab:");
	long slab_used_at_start = meminfo_kib("SUnreclaim:");
	long shmem_at_start = meminfo_kib("Shmem:");

	slots = mmap(NULL, MAX_WORKERS * sizeof(struct slot), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		say("fuzz: mmap of the shared page failed: %s\n", strerror(errno));
		say("0 passed, 1 failed\n");
		return 1;
	}

	int nworkers = opt_workers;
	double t0 = now_s();
	say("fuzz: seed=%llu duration=%lds workers=%d calls/incarnation=%ld stall=%lds life=%lds%s\n",
	    (unsigned long long)opt_seed, opt_duration, nworkers, opt_calls, opt_stall, opt_life,
	    opt_verbose ? " verbose" : "");
	if (opt_only_w >= 0) {
		say("fuzz: replaying only w%d.%u\n", opt_only_w, opt_only_r);
		opt_workers = opt_only_w + 1;
		ws[opt_only_w].incarnation = opt_only_r;
		start_worker(opt_only_w, t0);
	} else {
		for (int i = 0; i < nworkers; i++)
			start_worker(i, t0);
	}

	double next_report = t0 + 5, end = t0 + opt_duration;
	uint64_t last_total = 0;
	double last_report_t = t0;
	for (;;) {
		struct timespec tick = { 0, 100 * 1000 * 1000 };
		nanosleep(&tick, NULL);
		double t = now_s();
		reap(t, t < end);

		int alive = 0;
		for (int i = 0; i < opt_workers; i++) {
			if (ws[i].state == W_IDLE) {
				if (t < end && opt_only_w < 0) {
					/* a fork that failed earlier */
					if (start_worker(i, t) == 0)
						st_restarts++;
				}
				continue;
			}
			alive++;
			uint64_t c = slots[i].calls;
			if (c != ws[i].last_calls) {
				ws[i].last_calls = c;
				ws[i].last_progress = t;
			}
			if (ws[i].state == W_RUNNING) {
				if (t >= end)
					kill_worker(i, t, "end");
				else if (t - ws[i].last_progress > opt_stall) {
					st_stalls++;
					report_stall(i, t);
					kill_worker(i, t, "stalled");
				} else if (t - ws[i].started > opt_life) {
					st_lifes++;
					kill_worker(i, t, "lifetime");
				}
			} else if (ws[i].state == W_KILLING && !ws[i].reported &&
				   t - ws[i].kill_time > KILL_GRACE_S) {
				ws[i].reported = 1;
				report_unkillable(i, t);
				/* give up on it; the slot goes on with a new process */
				ws[i].state = W_IDLE;
				ws[i].incarnation++;
				ws[i].pid = 0;
				if (t < end && opt_only_w < 0) {
					st_restarts++;
					start_worker(i, t);
				}
			}
		}

		uint64_t total = 0;
		for (int i = 0; i < opt_workers; i++)
			total += slots[i].calls;
		if (t >= next_report) {
			restore_console();
			say("fuzz: t=%.0fs calls=%llu rate=%.0f/s deaths=%llu restarts=%llu stalls=%llu exits=%llu unkillable=%llu free=%ldMiB\n",
			    t - t0, (unsigned long long)total, (total - last_total) / (t - last_report_t),
			    (unsigned long long)st_deaths, (unsigned long long)st_restarts,
			    (unsigned long long)st_stalls, (unsigned long long)st_exits,
			    (unsigned long long)st_unkillable, mem_free_mib());
			last_total = total;
			last_report_t = t;
			next_report += 5;
		}
		if (opt_only_w >= 0 && ws[opt_only_w].state == W_IDLE)
			break;
		if (t >= end && alive == 0)
			break;
	}

	double t = now_s();
	uint64_t total = 0;
	for (int i = 0; i < opt_workers; i++)
		total += slots[i].calls;
	restore_console();
	say("\nfuzz: summary seed=%llu duration=%.0fs workers=%d calls=%llu deaths=%llu unkillable=%llu\n",
	    (unsigned long long)opt_seed, t - t0, nworkers, (unsigned long long)total,
	    (unsigned long long)st_deaths, (unsigned long long)st_unkillable);
	say("fuzz: rate=%.0f/s incarnations=%llu restarts=%llu exits=%llu stalls=%llu lifetimes=%llu fork-failures=%llu\n",
	    total / (t - t0), (unsigned long long)st_started, (unsigned long long)st_restarts,
	    (unsigned long long)st_exits, (unsigned long long)st_stalls,
	    (unsigned long long)st_lifes, (unsigned long long)st_fork_fail);
	/* What the workers leave behind on purpose (files, System V
	 * segments, message queues and semaphore sets) goes, and then free
	 * memory should be back near where it started: a large difference is
	 * a kernel leak. */
	remove_tree("/tmp/fuzz");
	for (int i = 0; i < 32768; i++) {
		struct shmid_ds shm;
		struct msqid_ds msq;
		int id = shmctl(i, SHM_STAT, &shm);
		if (id >= 0)
			shmctl(id, IPC_RMID, NULL);
		id = msgctl(i, MSG_STAT, &msq);
		if (id >= 0)
			msgctl(id, IPC_RMID, NULL);
		union { int val; struct semid_ds *buf; unsigned short *array; } arg;
		struct semid_ds sem;
		arg.buf = &sem;
		id = semctl(i, 0, SEM_STAT, arg);
		if (id >= 0)
			semctl(id, 0, IPC_RMID);
	}
	sleep(1);
	say("fuzz: free memory %ld MiB at the start, %ld MiB with the workers and their files gone\n",
	    free_at_start, mem_free_mib());
	say("fuzz: kernel heap (Slab) %ld KiB at the start, %ld KiB at the end, of which objects in use (SUnreclaim) %ld and %ld KiB; RAM file systems (Shmem) %ld KiB at the start, %ld KiB at the end\n",
	    slab_at_start, meminfo_kib("Slab:"), slab_used_at_start, meminfo_kib("SUnreclaim:"),
	    shmem_at_start, meminfo_kib("Shmem:"));
	if (st_deaths) {
		char buf[512];
		int off = 0;
		for (int s = 0; s < 65; s++)
			if (st_bysig[s] && off < (int)sizeof buf - 32)
				off += snprintf(buf + off, sizeof buf - off, " %s=%llu",
						s ? strsignal(s) : "other", (unsigned long long)st_bysig[s]);
		say("fuzz: deaths by signal:%s\n", buf);
	}
	int ok = st_unkillable == 0 && total > 0;
	say("%d passed, %d failed\n", ok, !ok);
	return ok ? 0 : 1;
}
