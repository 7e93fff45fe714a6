/*
 * Pipe, FIFO and file stress: data must arrive intact, in order, exactly
 * once, whatever the write and read sizes and whatever signals interrupt
 * the writers and readers.
 *
 *   pipe_stress [SECONDS [SEED]]      (default: 12 s, seed 1)
 *
 * Every byte written is a function of its position in its stream (8-byte
 * words carrying their own index and a keyed hash), so a reader can tell
 * loss, duplication and reordering apart from a wrong checksum: it reports
 * the first bad offset and, when it can, where the bytes found there really
 * came from. The parts, run one after the other, share the time:
 *
 *  1. FIFO rendezvous (no signals): a reader that opened a FIFO first gets
 *     the data of a writer that opened, wrote and closed before the reader
 *     ran again, and a writer whose reader came and went opens fine; data
 *     left in a FIFO by its last user does not reach the next one.
 *  2. Streams: writer/reader process pairs over pipes and FIFOs, random
 *     write sizes from 1 byte to 1 MiB (biased to straddle PIPE_BUF, the
 *     64 KiB capacity and the kernel's copy chunk), random read sizes,
 *     write/writev and read/readv; SIGUSR1 from a signalling process and
 *     SIGALRM from interval timers interrupt both sides, with handlers
 *     installed with SA_RESTART for some pairs and without for the others.
 *     Checked: every byte; no EINTR when every handler has SA_RESTART; a
 *     short blocking write only when a signal arrived; no write of at most
 *     PIPE_BUF bytes split.
 *  3. Atomic records: several writers write records of up to PIPE_BUF
 *     bytes into one pipe (and one FIFO) while signals fly; the reader
 *     checks that no record is interleaved with another and that each
 *     writer's records arrive in order, none lost or repeated.
 *  4. Non-blocking: exact EAGAIN/partial-write results on a full or
 *     partly drained pipe, then a non-blocking stream driven by poll().
 *  5. Files in /tmp: a writer appending (O_APPEND write and pwrite) while a
 *     reader reads the growing file (read and pread); then several
 *     processes appending records through their own O_APPEND descriptors
 *     while a reader follows: no record may overlap another.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"

#define KIB 1024
#define MIB (1024 * 1024)
#define PIPEBUF 4096
#define PIPE_CAP 65536
#define MAX_IO MIB

/* ---------------------------------------------------------------- random */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

static uint64_t rnd_below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static struct rng rng_for(uint64_t seed, uint64_t who)
{
	struct rng r = { mix64(seed * 0x100000001b3ULL + who * 0x9e3779b97f4a7c15ULL + 7) };
	return r;
}

static size_t clamp_size(long long n, size_t lo, size_t hi)
{
	if (n < (long long)lo)
		return lo;
	if (n > (long long)hi)
		return hi;
	return (size_t)n;
}

/*
 * A transfer size from 1 byte to 1 MiB, biased towards the interesting
 * boundaries: PIPE_BUF, the pipe capacity, the kernel's 64 KiB copy chunk
 * and its multiples, and whole pages.
 */
static size_t pick_size(struct rng *r)
{
	long long d = (long long)rnd_below(r, 65) - 32;
	switch (rnd_below(r, 12)) {
	case 0:
		return 1 + rnd_below(r, 16);
	case 1:
		return clamp_size(PIPEBUF + d, 1, MAX_IO);
	case 2:
		return clamp_size(PIPE_CAP + d * 2, 1, MAX_IO);
	case 3:
		return clamp_size((long long)(1 + rnd_below(r, 32)) * PIPEBUF + d / 4, 1, MAX_IO);
	case 4:
		return 1 + rnd_below(r, PIPEBUF);
	case 5:
		return PIPEBUF + rnd_below(r, PIPE_CAP - PIPEBUF);
	case 6:
		return PIPE_CAP + rnd_below(r, MAX_IO - PIPE_CAP + 1);
	case 7:
		return clamp_size(MAX_IO - (long long)rnd_below(r, 3) * rnd_below(r, 100), 1, MAX_IO);
	case 8:
		return clamp_size((long long)(2 + rnd_below(r, 4)) * PIPE_CAP + d, 1, MAX_IO);
	case 9:
		return 1 + rnd_below(r, 256);
	case 10:
		return clamp_size(2 * PIPEBUF + d, 1, MAX_IO);
	default:
		return 1 + rnd_below(r, 3 * PIPE_CAP);
	}
}

/* --------------------------------------------------------------- pattern */

/*
 * The stream `key` holds at byte offset o the byte o % 8 (little endian) of
 * word o / 8: the low 48 bits are the word's index xor the key, the high 16
 * a hash of both. A word found at the wrong place names its true offset.
 */
static uint64_t pat_word(uint64_t key, uint64_t idx)
{
	return ((idx ^ key) & 0xffffffffffffULL) |
	       (mix64(key ^ (idx * 0xd6e8feb86659fd93ULL)) & 0xffff000000000000ULL);
}

static void pat_fill(uint64_t key, uint64_t off, unsigned char *buf, size_t n)
{
	size_t i = 0;
	while (i < n && ((off + i) & 7)) {
		uint64_t o = off + i;
		buf[i++] = (unsigned char)(pat_word(key, o >> 3) >> (8 * (o & 7)));
	}
	while (i + 8 <= n) {
		uint64_t w = pat_word(key, (off + i) >> 3);
		memcpy(buf + i, &w, 8);
		i += 8;
	}
	while (i < n) {
		uint64_t o = off + i;
		buf[i++] = (unsigned char)(pat_word(key, o >> 3) >> (8 * (o & 7)));
	}
}

/* Index of the first byte of buf[0..n) that is not the stream's, or -1. */
static long pat_find_bad(uint64_t key, uint64_t off, const unsigned char *buf, size_t n)
{
	static unsigned char exp[16 * KIB];
	size_t done = 0;
	while (done < n) {
		size_t c = n - done < sizeof(exp) ? n - done : sizeof(exp);
		pat_fill(key, off + done, exp, c);
		if (memcmp(exp, buf + done, c) != 0) {
			for (size_t i = 0; i < c; i++)
				if (exp[i] != buf[done + i])
					return (long)(done + i);
		}
		done += c;
	}
	return -1;
}

static void hex16(char *out, const unsigned char *p, size_t n)
{
	out[0] = 0;
	for (size_t i = 0; i < n && i < 16; i++)
		sprintf(out + 3 * i, "%02x ", p[i]);
}

/*
 * Explains a bad byte at buf[bad] (stream offset off + bad): prints what
 * was expected and what came, and which stream offset the bytes that came
 * belong to, found by decoding the words around the bad byte.
 */
static void pat_explain(const char *who, uint64_t key, uint64_t off, const unsigned char *buf,
			size_t n, size_t bad)
{
	unsigned char exp[16];
	size_t show = n - bad < 16 ? n - bad : 16;
	char e[64], g[64];

	pat_fill(key, off + bad, exp, show);
	hex16(e, exp, show);
	hex16(g, buf + bad, show);
	printf("  %s: first bad byte at stream offset %llu (byte %zu of a %zu-byte read)\n", who,
	       (unsigned long long)(off + bad), bad, n);
	printf("  %s:   expected %s\n", who, e);
	printf("  %s:   got      %s\n", who, g);
	int zeros = 1;
	for (size_t i = 0; i < show; i++)
		zeros &= buf[bad + i] == 0;
	if (zeros) {
		printf("  %s:   the bytes there are zeros\n", who);
		fflush(stdout);
		return;
	}
	/* The first word overlapping or following the bad byte that decodes. */
	for (size_t q = bad >= 7 ? bad - 7 : 0; q + 8 <= n && q < bad + 32; q++) {
		uint64_t w;
		memcpy(&w, buf + q, 8);
		uint64_t idx = (w ^ key) & 0xffffffffffffULL;
		if (pat_word(key, idx) != w)
			continue;
		long long src = (long long)(idx * 8), at = (long long)(off + q);
		if (src == at)
			printf("  %s:   the bytes at stream offset %lld are right again (corrupted in place)\n",
			       who, at);
		else
			printf("  %s:   the bytes at stream offset %lld belong at offset %lld: %lld bytes %s\n",
			       who, at, src, src > at ? src - at : at - src,
			       src > at ? "skipped (lost)" : "repeated (or arrived late)");
		fflush(stdout);
		return;
	}
	printf("  %s:   the bytes there are not from this stream\n", who);
	fflush(stdout);
}

/* --------------------------------------------------------------- workers */

#define LOG_LEN 16

struct op_log {
	uint64_t off;
	uint32_t len;
	int32_t ret;
	int32_t err;
	int32_t how;
};

/* Per-worker results, in shared memory. */
struct wstats {
	volatile uint64_t bytes;
	volatile uint64_t ops;
	volatile uint64_t shorts;
	volatile uint64_t eintr;
	volatile uint64_t eagain;
	volatile uint64_t sigs;
	volatile uint64_t errors;
	volatile uint64_t finished;
	volatile uint64_t count[8];
	volatile uint32_t log_pos;
	struct op_log log[LOG_LEN];
};

static volatile sig_atomic_t sig_seen;

static void on_signal(int s)
{
	(void)s;
	sig_seen++;
}

/* Handlers for SIGUSR1 and SIGALRM, and an interval timer if itimer_us. */
static void setup_signals(int restart, long itimer_us)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (itimer_us > 0) {
		struct itimerval it = {
			{ itimer_us / 1000000, itimer_us % 1000000 },
			{ itimer_us / 1000000, itimer_us % 1000000 },
		};
		setitimer(ITIMER_REAL, &it, NULL);
	}
}

static void stop_itimer(void)
{
	struct itimerval it;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
}

static const char *worker_name = "worker";
static struct wstats *my_stats;

__attribute__((format(printf, 1, 2)))
static void wfail(const char *fmt, ...)
{
	va_list ap;
	int e = errno;
	if (my_stats)
		my_stats->errors++;
	if (my_stats && my_stats->errors > 5)
		return;
	printf("  %s: ", worker_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (errno %d %s)\n", e, strerror(e));
	fflush(stdout);
}

static void log_op(struct wstats *st, uint64_t off, size_t len, ssize_t ret, int how)
{
	struct op_log *l = &st->log[st->log_pos++ % LOG_LEN];
	l->off = off;
	l->len = (uint32_t)len;
	l->ret = (int32_t)ret;
	l->err = ret < 0 ? errno : 0;
	l->how = how;
}

static void print_log(const char *who, struct wstats *st)
{
	uint32_t n = st->log_pos;
	uint32_t first = n > LOG_LEN ? n - LOG_LEN : 0;
	printf("  %s: last operations (offset len -> result [errno] how):\n", who);
	for (uint32_t i = first; i < n; i++) {
		struct op_log *l = &st->log[i % LOG_LEN];
		printf("  %s:   %llu %u -> %d [%d] %s\n", who, (unsigned long long)l->off, l->len,
		       l->ret, l->err, l->how ? "vector" : "plain");
	}
	fflush(stdout);
}

/* A write of buf[0..n) through write() or through a writev of 1 to 4 parts. */
static ssize_t some_write(int fd, const unsigned char *buf, size_t n, struct rng *r, int *how)
{
	*how = rnd_below(r, 4) == 0;
	if (!*how)
		return write(fd, buf, n);
	struct iovec iov[4];
	int cnt = 1 + (int)rnd_below(r, 4);
	size_t pos = 0;
	for (int i = 0; i < cnt; i++) {
		size_t len = i == cnt - 1 ? n - pos : rnd_below(r, n - pos + 1);
		iov[i].iov_base = (void *)(buf + pos);
		iov[i].iov_len = len;
		pos += len;
	}
	return writev(fd, iov, cnt);
}

/* A read into buf[0..n) through read() or through a readv of 1 to 3 parts. */
static ssize_t some_read(int fd, unsigned char *buf, size_t n, struct rng *r, int *how)
{
	*how = rnd_below(r, 4) == 0;
	if (!*how)
		return read(fd, buf, n);
	struct iovec iov[3];
	int cnt = 1 + (int)rnd_below(r, 3);
	size_t pos = 0;
	for (int i = 0; i < cnt; i++) {
		size_t len = i == cnt - 1 ? n - pos : rnd_below(r, n - pos + 1);
		iov[i].iov_base = buf + pos;
		iov[i].iov_len = len;
		pos += len;
	}
	return readv(fd, iov, cnt);
}

/* Opens a FIFO, retrying after EINTR (allowed only without SA_RESTART). */
static int open_fifo_retry(const char *path, int oflags, int restart, struct wstats *st)
{
	for (;;) {
		int fd = open(path, oflags);
		if (fd >= 0 || errno != EINTR)
			return fd;
		st->eintr++;
		if (restart)
			wfail("open(FIFO) gave EINTR though every handler has SA_RESTART");
	}
}

/*
 * Writes the stream `key` with random sizes until the deadline. Blocking
 * writes: a short count needs a signal, at most PIPE_BUF bytes go in whole,
 * EINTR only without SA_RESTART.
 */
static void stream_writer(int fd, uint64_t key, int restart, struct rng *r, long long deadline,
			  struct wstats *st, int nonblock)
{
	unsigned char *buf = malloc(MAX_IO);
	uint64_t off = 0;
	int after_pollout = 0;

	while (buf && now_ns() < deadline && st->errors == 0) {
		size_t n = pick_size(r);
		size_t done = 0;
		pat_fill(key, off, buf, n);
		while (done < n) {
			int before = sig_seen, how;
			size_t left = n - done;
			ssize_t w = some_write(fd, buf + done, left, r, &how);
			int e = errno;
			log_op(st, off + done, left, w, how);
			int must_fit = after_pollout && left <= PIPEBUF;
			after_pollout = 0;
			if (w < 0 && e == EINTR) {
				st->eintr++;
				if (restart)
					wfail("write of %zu gave EINTR though every handler has SA_RESTART", left);
				continue;
			}
			if (w < 0 && e == EAGAIN && nonblock) {
				st->eagain++;
				if (must_fit)
					wfail("write of %zu <= PIPE_BUF gave EAGAIN right after POLLOUT", left);
				struct pollfd p = { fd, POLLOUT, 0 };
				int pr = poll(&p, 1, 30000);
				if (pr == 0)
					wfail("poll(POLLOUT) timed out on a pipe being drained");
				after_pollout = pr == 1 && (p.revents & POLLOUT);
				continue;
			}
			if (w < 0) {
				errno = e;
				wfail("write of %zu at stream offset %llu failed", left,
				      (unsigned long long)(off + done));
				goto out;
			}
			if (w == 0 || (size_t)w > left) {
				wfail("write of %zu returned %zd", left, w);
				goto out;
			}
			if ((size_t)w < left) {
				st->shorts++;
				if (left <= PIPEBUF)
					wfail("write of %zu <= PIPE_BUF bytes was split: %zd written", left, w);
				else if (!nonblock && sig_seen == before)
					wfail("blocking write of %zu returned %zd with no signal", left, w);
			}
			done += (size_t)w;
			st->bytes = off + done;
		}
		off += n;
		st->ops++;
	}
out:
	st->bytes = off;
	st->sigs = sig_seen;
	st->finished = 1;
	close(fd);
	free(buf);
}

/* Reads a stream to its end with random sizes and checks every byte. */
static void stream_reader(int fd, uint64_t key, int restart, struct rng *r, struct wstats *st,
			  int nonblock)
{
	unsigned char *buf = malloc(MAX_IO);
	uint64_t off = 0;
	int after_pollin = 0;

	while (buf) {
		size_t n = pick_size(r);
		int how;
		ssize_t got = some_read(fd, buf, n, r, &how);
		int e = errno;
		log_op(st, off, n, got, how);
		int must_get = after_pollin;
		after_pollin = 0;
		if (got < 0 && e == EINTR) {
			st->eintr++;
			if (restart)
				wfail("read of %zu gave EINTR though every handler has SA_RESTART", n);
			continue;
		}
		if (got < 0 && e == EAGAIN && nonblock) {
			st->eagain++;
			if (must_get)
				wfail("read gave EAGAIN right after POLLIN");
			struct pollfd p = { fd, POLLIN, 0 };
			int pr = poll(&p, 1, 30000);
			if (pr == 0) {
				wfail("poll(POLLIN) timed out at stream offset %llu", (unsigned long long)off);
				break;
			}
			after_pollin = pr == 1 && (p.revents & POLLIN);
			continue;
		}
		if (got < 0) {
			errno = e;
			wfail("read of %zu at stream offset %llu failed", n, (unsigned long long)off);
			break;
		}
		if (got == 0)
			break;
		if ((size_t)got > n) {
			wfail("read of %zu returned %zd", n, got);
			break;
		}
		long bad = pat_find_bad(key, off, buf, (size_t)got);
		if (bad >= 0) {
			wfail("data corrupted at stream offset %llu", (unsigned long long)(off + bad));
			pat_explain(worker_name, key, off, buf, (size_t)got, (size_t)bad);
			print_log(worker_name, st);
			break;
		}
		if ((size_t)got < n)
			st->shorts++;
		off += (size_t)got;
		st->bytes = off;
		st->ops++;
	}
	st->bytes = off;
	st->sigs = sig_seen;
	st->finished = 1;
	close(fd);
	free(buf);
}

/* ------------------------------------------------------------ processes */

#define MAX_PROCS 16

struct group {
	pid_t pid[MAX_PROCS];
	const char *name[MAX_PROCS];
	struct wstats *st[MAX_PROCS];
	int n;
};

static void group_add(struct group *g, pid_t pid, const char *name, struct wstats *st)
{
	g->pid[g->n] = pid;
	g->name[g->n] = name;
	g->st[g->n] = st;
	g->n++;
}

/*
 * Waits for every process of g until limit (CLOCK_MONOTONIC ns). Returns 0
 * if all exited with status 0 in time; otherwise reports the stragglers
 * and their progress, kills them and returns -1.
 */
static int group_wait(struct group *g, long long limit, const char *what)
{
	int bad = 0;
	int left = 0;
	for (int i = 0; i < g->n; i++)
		left += g->pid[i] > 0;
	while (left > 0) {
		for (int i = 0; i < g->n; i++) {
			int status;
			if (g->pid[i] <= 0)
				continue;
			pid_t w = waitpid(g->pid[i], &status, WNOHANG);
			if (w == 0)
				continue;
			if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				printf("  %s: %s ended with status 0x%x\n", what, g->name[i], w < 0 ? -1 : status);
				bad = 1;
			}
			g->pid[i] = 0;
			left--;
		}
		if (left == 0)
			break;
		if (now_ns() > limit) {
			printf("  %s: HANG: processes still running past the time limit:\n", what);
			for (int i = 0; i < g->n; i++) {
				if (g->pid[i] <= 0)
					continue;
				struct wstats *st = g->st[i];
				if (st) {
					printf("  %s:   %s: %llu bytes, %llu ops, finished %llu\n", what,
					       g->name[i], (unsigned long long)st->bytes,
					       (unsigned long long)st->ops, (unsigned long long)st->finished);
					print_log(g->name[i], st);
				} else {
					printf("  %s:   %s\n", what, g->name[i]);
				}
				kill(g->pid[i], SIGKILL);
				waitpid(g->pid[i], NULL, 0);
				g->pid[i] = 0;
			}
			fflush(stdout);
			return -1;
		}
		sleep_ms(10);
	}
	fflush(stdout);
	return bad ? -1 : 0;
}

/* Runs fn(arg) in a child process that exits 0 unless it recorded errors. */
static pid_t spawn(const char *name, struct wstats *st, void (*fn)(void *), void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		worker_name = name;
		my_stats = st;
		fn(arg);
		fflush(stdout);
		_exit(st && st->errors ? 1 : 0);
	}
	return pid;
}

/* A process that sends SIGUSR1 to random targets every 0.1-2 ms. */
struct signaller_arg {
	pid_t *targets;
	int n;
	long long deadline;
	uint64_t seed;
};

static void signaller_main(void *p)
{
	struct signaller_arg *a = p;
	struct rng r = rng_for(a->seed, 999);
	while (now_ns() < a->deadline) {
		struct timespec ts = { 0, 100000 + (long)rnd_below(&r, 1900000) };
		nanosleep(&ts, NULL);
		pid_t t = a->targets[rnd_below(&r, a->n)];
		if (t > 0)
			kill(t, SIGUSR1);
	}
}

static uint64_t g_seed;
static char tmp_base[128];

/* ------------------------------------------------- 1. FIFO rendezvous */

static void fifo_rendezvous(int rounds)
{
	char path[200];
	int eintr = 0, openfail = 0, badread = 0, wopenfail = 0, childfail = 0;
	struct rng r = rng_for(g_seed, 1);
	snprintf(path, sizeof(path), "%s.rv", tmp_base);
	unlink(path);
	if (mkfifo(path, 0600) != 0) {
		CHECK(0, "mkfifo %s", path);
		return;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < rounds; i++) {
		long delay_us = (long)rnd_below(&r, 3) * 500;
		int writer_child = i % 2 == 0;
		fflush(stdout);
		pid_t c = fork();
		if (c == 0) {
			if (delay_us) {
				struct timespec ts = { 0, delay_us * 1000 };
				nanosleep(&ts, NULL);
			}
			if (writer_child) {
				/* Open, write, close and go before the reader runs again. */
				int fd = open(path, O_WRONLY);
				if (fd < 0)
					_exit(2);
				char msg[32];
				int len = snprintf(msg, sizeof(msg), "round %d", i);
				_exit(write(fd, msg, len) == len ? 0 : 3);
			}
			int fd = open(path, O_RDONLY);
			_exit(fd < 0 ? 2 : 0);
		}
		if (writer_child) {
			int fd = open(path, O_RDONLY);
			if (fd < 0) {
				if (errno == EINTR)
					eintr++;
				else
					openfail++;
			} else {
				char got[64], want[32];
				size_t have = 0;
				ssize_t n;
				snprintf(want, sizeof(want), "round %d", i);
				while ((n = read(fd, got + have, sizeof(got) - 1 - have)) > 0)
					have += (size_t)n;
				got[have] = 0;
				if (n < 0 || strcmp(got, want) != 0) {
					badread++;
					if (badread <= 3)
						printf("  rendezvous %d: read \"%s\", expected \"%s\"\n", i, got, want);
				}
				close(fd);
			}
		} else {
			int fd = open(path, O_WRONLY);
			if (fd < 0) {
				if (errno == EINTR)
					eintr++;
				else
					wopenfail++;
			} else {
				close(fd);
			}
		}
		int status;
		waitpid(c, &status, 0);
		if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && !(WEXITSTATUS(status) == 2 && eintr)))
			childfail++;
	}
	CHECK(eintr == 0, "FIFO open never gave EINTR without a signal (%d of %d rounds did)", eintr, rounds);
	CHECK(openfail == 0 && wopenfail == 0, "FIFO opens succeeded (%d reader, %d writer failures)",
	      openfail, wopenfail);
	CHECK(badread == 0, "reader that opened first got the data of a writer already gone (%d bad)",
	      badread);
	CHECK(childfail == 0, "FIFO rendezvous partners succeeded (%d failed)", childfail);

	/* Data left in a FIFO when its last user closes it is discarded. */
	int fd = open(path, O_RDWR | O_NONBLOCK);
	int w = fd >= 0 ? (int)write(fd, "stale", 5) : -1;
	if (fd >= 0)
		close(fd);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	char b[8];
	ssize_t n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;
	CHECK(w == 5 && n == 0, "a FIFO reopened after its last close is empty (read gave %zd)", n);
	if (fd >= 0)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	unlink(path);
}

/*
 * A blocked FIFO open interrupted by a signal: restarted when the handler
 * has SA_RESTART (the open then meets the writer that comes later), EINTR
 * without it.
 */
static void fifo_open_interrupted(void)
{
	char path[200];
	snprintf(path, sizeof(path), "%s.int", tmp_base);
	for (int restart = 1; restart >= 0; restart--) {
		unlink(path);
		if (mkfifo(path, 0600) != 0) {
			CHECK(0, "mkfifo %s", path);
			return;
		}
		struct sigaction sa, old;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sa.sa_flags = restart ? SA_RESTART : 0;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, &old);
		int before = sig_seen;
		pid_t parent = getpid();
		fflush(stdout);
		pid_t c = fork();
		if (c == 0) {
			sleep_ms(150);
			kill(parent, SIGUSR1);
			sleep_ms(150);
			int fd = open(path, O_WRONLY | O_NONBLOCK);
			if (fd >= 0 && write(fd, "late", 4) == 4)
				_exit(0);
			_exit(restart ? 1 : 0); /* without SA_RESTART nobody reads */
		}
		int fd = open(path, O_RDONLY);
		int e = errno;
		char b[8] = { 0 };
		ssize_t n = fd >= 0 ? read(fd, b, sizeof(b) - 1) : -1;
		int status;
		waitpid(c, &status, 0);
		sigaction(SIGUSR1, &old, NULL);
		if (restart) {
			errno = e;
			CHECK(fd >= 0 && n == 4 && strcmp(b, "late") == 0 && sig_seen != before,
			      "FIFO open interrupted by a SA_RESTART handler is restarted and meets the writer (read \"%s\")", b);
		} else {
			CHECK(fd == -1 && e == EINTR && sig_seen != before,
			      "FIFO open interrupted by a handler without SA_RESTART: EINTR (fd %d, errno %d)", fd, e);
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
}

/*
 * Signals whose action is to be ignored (SIGCHLD, SIGWINCH and SIGURG by
 * default, SIGUSR2 set to SIG_IGN) are dropped when sent: a process with no
 * handlers that blocks in a write to a pipe gets the whole write done, even
 * while its children exit and others send it such signals.
 */
static void ignored_signals_main(void *p)
{
	int rounds = *(int *)p;
	uint64_t key = mix64(g_seed ^ 0x1961);
	unsigned char *buf = malloc(MAX_IO);
	int fds[2];
	pid_t me = getpid();

	signal(SIGUSR2, SIG_IGN);
	if (!buf || pipe(fds) != 0) {
		wfail("setup");
		return;
	}
	struct wstats *rst = my_stats + 1;
	fflush(stdout);
	pid_t reader = fork();
	if (reader == 0) {
		struct rng r = rng_for(g_seed, 1962);
		close(fds[1]);
		worker_name = "ignored-signals reader";
		my_stats = rst;
		sleep_ms(20);
		stream_reader(fds[0], key, 1, &r, rst, 0);
		_exit(rst->errors ? 1 : 0);
	}
	close(fds[0]);
	/* Sends ignored signals, then its exit sends SIGCHLD. */
	pid_t pest = fork();
	if (pest == 0) {
		for (int i = 0; i < 4000 && kill(me, 0) == 0; i++) {
			static const int sigs[] = { SIGUSR2, SIGWINCH, SIGURG, SIGCHLD };
			kill(me, sigs[i % 4]);
			struct timespec ts = { 0, 300000 };
			nanosleep(&ts, NULL);
		}
		_exit(0);
	}
	uint64_t off = 0;
	for (int i = 0; i < rounds && my_stats->errors == 0; i++) {
		/* A child that exits during the write. */
		pid_t quick = fork();
		if (quick == 0) {
			sleep_ms(1 + i % 3);
			_exit(0);
		}
		pat_fill(key, off, buf, MAX_IO);
		ssize_t w = write(fds[1], buf, MAX_IO);
		if (w != MAX_IO)
			wfail("blocking 1 MiB write with no handlers returned %zd", w);
		if (w > 0)
			off += (uint64_t)w;
		waitpid(quick, NULL, 0);
		my_stats->ops++;
	}
	my_stats->bytes = off;
	close(fds[1]);
	kill(pest, SIGKILL);
	waitpid(pest, NULL, 0);
	int status;
	waitpid(reader, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || rst->bytes != off)
		wfail("the reader got %llu of %llu bytes", (unsigned long long)rst->bytes,
		      (unsigned long long)off);
	free(buf);
}

static void ignored_signals(struct wstats *stats)
{
	int rounds = 24;
	struct group g = { 0 };
	memset(stats, 0, sizeof(*stats) * 2);
	pid_t w = spawn("ignored-signals writer", &stats[0], ignored_signals_main, &rounds);
	group_add(&g, w, "ignored-signals writer", &stats[0]);
	int ok = group_wait(&g, now_ns() + 60000000000LL, "ignored signals");
	CHECK(ok == 0 && stats[0].errors == 0 && stats[0].ops == (uint64_t)rounds,
	      "ignored signals (SIGCHLD, SIGWINCH, SIGURG, SIG_IGN) never cut a blocking write: %llu x 1 MiB written whole, %llu bytes read intact",
	      (unsigned long long)stats[0].ops, (unsigned long long)stats[1].bytes);
}

/* ----------------------------------------------------------- 2. streams */

struct stream_arg {
	int fd;
	const char *fifo;
	int write;
	int restart;
	int nonblock;
	uint64_t key;
	long long deadline;
	struct wstats *st;
	uint64_t who;
};

static void stream_main(void *p)
{
	struct stream_arg *a = p;
	struct rng r = rng_for(g_seed, a->who);
	int fd = a->fd;
	setup_signals(a->restart, a->nonblock ? 0 : 1500 + (long)rnd_below(&r, 6000));
	if (a->fifo) {
		fd = open_fifo_retry(a->fifo, a->write ? O_WRONLY : O_RDONLY, a->restart, a->st);
		if (fd < 0) {
			wfail("open FIFO %s", a->fifo);
			return;
		}
	}
	if (a->nonblock)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (a->write)
		stream_writer(fd, a->key, a->restart, &r, a->deadline, a->st, a->nonblock);
	else
		stream_reader(fd, a->key, a->restart, &r, a->st, a->nonblock);
	stop_itimer();
}

#define NPAIRS 4

static void streams(double seconds, struct wstats *stats, int nonblock_only)
{
	struct stream_arg args[2 * NPAIRS];
	char fifo[NPAIRS][200];
	char names[2 * NPAIRS][64];
	struct group writers = { 0 }, readers = { 0 };
	pid_t targets[2 * NPAIRS];
	long long start = now_ns();
	long long deadline = start + (long long)(seconds * 1e9);
	int npairs = nonblock_only ? 2 : NPAIRS;

	memset(stats, 0, sizeof(*stats) * 2 * NPAIRS);
	for (int i = 0; i < npairs; i++) {
		/* Pairs 0, 1 over pipes, 2, 3 over FIFOs; even ones SA_RESTART. */
		int is_fifo = nonblock_only ? i == 1 : i >= 2;
		int restart = i % 2 == 0;
		int fds[2] = { -1, -1 };
		if (is_fifo) {
			snprintf(fifo[i], sizeof(fifo[i]), "%s.s%d", tmp_base, i);
			unlink(fifo[i]);
			if (mkfifo(fifo[i], 0600) != 0) {
				CHECK(0, "mkfifo %s", fifo[i]);
				return;
			}
		} else if (pipe(fds) != 0) {
			CHECK(0, "pipe");
			return;
		}
		for (int side = 0; side < 2; side++) {
			struct stream_arg *a = &args[2 * i + side];
			a->fd = side == 0 ? fds[1] : fds[0];
			a->fifo = is_fifo ? fifo[i] : NULL;
			a->write = side == 0;
			a->restart = side == 0 || i < 2 ? restart : !restart;
			a->nonblock = nonblock_only;
			a->key = mix64(g_seed ^ (0x5000 + i + 16 * nonblock_only));
			a->deadline = deadline;
			a->st = &stats[2 * i + side];
			a->who = 100 + 2 * i + side + 16 * nonblock_only;
			snprintf(names[2 * i + side], sizeof(names[0]), "%s %d %s (%s%s)",
				 is_fifo ? "fifo" : "pipe", i, side == 0 ? "writer" : "reader",
				 a->restart ? "SA_RESTART" : "no SA_RESTART",
				 nonblock_only ? ", O_NONBLOCK" : "");
		}
		/* The writer must not hold the read end and vice versa. */
		pid_t w, rd;
		if (!is_fifo) {
			fflush(stdout);
			w = fork();
			if (w == 0) {
				close(fds[0]);
				worker_name = names[2 * i];
				my_stats = args[2 * i].st;
				stream_main(&args[2 * i]);
				fflush(stdout);
				_exit(my_stats->errors ? 1 : 0);
			}
			rd = fork();
			if (rd == 0) {
				close(fds[1]);
				worker_name = names[2 * i + 1];
				my_stats = args[2 * i + 1].st;
				stream_main(&args[2 * i + 1]);
				fflush(stdout);
				_exit(my_stats->errors ? 1 : 0);
			}
			close(fds[0]);
			close(fds[1]);
		} else {
			w = spawn(names[2 * i], args[2 * i].st, stream_main, &args[2 * i]);
			rd = spawn(names[2 * i + 1], args[2 * i + 1].st, stream_main, &args[2 * i + 1]);
		}
		group_add(&writers, w, names[2 * i], args[2 * i].st);
		group_add(&readers, rd, names[2 * i + 1], args[2 * i + 1].st);
		targets[2 * i] = w;
		targets[2 * i + 1] = rd;
	}
	struct signaller_arg sa = { targets, 2 * npairs, deadline, g_seed };
	pid_t sig = spawn("signaller", NULL, signaller_main, &sa);

	long long limit = deadline + 30000000000LL + (long long)(seconds * 2e9);
	int wok = group_wait(&writers, limit, "streams");
	int rok = group_wait(&readers, limit, "streams");
	kill(sig, SIGKILL);
	waitpid(sig, NULL, 0);
	CHECK(wok == 0 && rok == 0, "%s: every writer and reader finished cleanly in time",
	      nonblock_only ? "non-blocking streams" : "streams");

	for (int i = 0; i < npairs; i++) {
		struct wstats *w = &stats[2 * i], *rd = &stats[2 * i + 1];
		CHECK(w->errors == 0 && rd->errors == 0 && w->finished && rd->finished &&
			      w->bytes == rd->bytes && w->bytes > 0,
		      "%s: %llu bytes written in %llu writes, %llu read intact in %llu reads",
		      names[2 * i], (unsigned long long)w->bytes, (unsigned long long)w->ops,
		      (unsigned long long)rd->bytes, (unsigned long long)rd->ops);
		INFO("  %s: writer %llu short, %llu EINTR, %llu EAGAIN, %llu signals; reader %llu short, %llu EINTR, %llu EAGAIN, %llu signals",
		     names[2 * i], (unsigned long long)w->shorts, (unsigned long long)w->eintr,
		     (unsigned long long)w->eagain, (unsigned long long)w->sigs,
		     (unsigned long long)rd->shorts, (unsigned long long)rd->eintr,
		     (unsigned long long)rd->eagain, (unsigned long long)rd->sigs);
		if (args[2 * i].fifo)
			unlink(args[2 * i].fifo);
	}
}

/* ---------------------------------------------------- 3. atomic records */

/* A record: this header, then len - 8 bytes of the record's own pattern. */
struct rec_hdr {
	uint8_t magic;
	uint8_t writer;
	uint16_t len;
	uint32_t seq;
};

#define REC_MAGIC 0xa5
#define REC_WRITERS 3

static uint64_t rec_key(int writer, uint32_t seq)
{
	return mix64(g_seed ^ ((uint64_t)writer << 40) ^ ((uint64_t)seq << 1) ^ 0xabcdef);
}

static size_t pick_record_size(struct rng *r)
{
	switch (rnd_below(r, 6)) {
	case 0:
	case 1:
		return PIPEBUF;
	case 2:
		return PIPEBUF - rnd_below(r, 64);
	case 3:
		return 8 + rnd_below(r, 56);
	case 4:
		return PIPEBUF / 2 + rnd_below(r, 64) - 32;
	default:
		return 8 + rnd_below(r, PIPEBUF - 7);
	}
}

struct rec_arg {
	int fd;
	const char *fifo;
	int writer;
	int restart;
	long long deadline;
	struct wstats *st;
};

static void rec_writer_main(void *p)
{
	struct rec_arg *a = p;
	struct rng r = rng_for(g_seed, 300 + a->writer + 10 * (a->fifo != NULL));
	unsigned char rec[PIPEBUF];
	uint32_t seq = 0;
	int fd = a->fd;

	setup_signals(a->restart, 2000 + (long)rnd_below(&r, 5000));
	if (a->fifo) {
		fd = open_fifo_retry(a->fifo, O_WRONLY, a->restart, a->st);
		if (fd < 0) {
			wfail("open FIFO");
			return;
		}
	}
	while (now_ns() < a->deadline && a->st->errors == 0) {
		size_t len = pick_record_size(&r);
		struct rec_hdr h = { REC_MAGIC, (uint8_t)a->writer, (uint16_t)len, seq };
		memcpy(rec, &h, sizeof(h));
		pat_fill(rec_key(a->writer, seq), 0, rec + 8, len - 8);
		for (;;) {
			int how;
			ssize_t w = some_write(fd, rec, len, &r, &how);
			log_op(a->st, seq, len, w, how);
			if (w < 0 && errno == EINTR) {
				a->st->eintr++;
				if (a->restart)
					wfail("record write gave EINTR though every handler has SA_RESTART");
				continue;
			}
			if (w != (ssize_t)len) {
				wfail("write of a %zu-byte record returned %zd", len, w);
				goto out;
			}
			break;
		}
		seq++;
		a->st->ops = seq;
		a->st->bytes += len;
	}
out:
	a->st->count[0] = seq;
	a->st->sigs = sig_seen;
	a->st->finished = 1;
	stop_itimer();
	close(fd);
}

static void rec_reader_main(void *p)
{
	struct rec_arg *a = p;
	struct rng r = rng_for(g_seed, 350 + (a->fifo != NULL));
	size_t cap = 64 * KIB;
	unsigned char *buf = malloc(cap);
	unsigned char body[PIPEBUF];
	size_t have = 0;
	uint64_t stream_off = 0; /* of buf[0] */
	uint32_t next[REC_WRITERS] = { 0 };
	int fd = a->fd;

	setup_signals(a->restart, 3000 + (long)rnd_below(&r, 5000));
	if (a->fifo) {
		fd = open_fifo_retry(a->fifo, O_RDONLY, a->restart, a->st);
		if (fd < 0) {
			wfail("open FIFO");
			return;
		}
	}
	for (;;) {
		size_t want = 1 + rnd_below(&r, rnd_below(&r, 2) ? 64 : 20 * KIB);
		if (want > cap - have)
			want = cap - have;
		int how;
		ssize_t got = some_read(fd, buf + have, want, &r, &how);
		log_op(a->st, stream_off + have, want, got, how);
		if (got < 0 && errno == EINTR) {
			a->st->eintr++;
			if (a->restart)
				wfail("read gave EINTR though every handler has SA_RESTART");
			continue;
		}
		if (got < 0) {
			wfail("read");
			break;
		}
		if (got == 0) {
			if (have)
				wfail("%zu bytes of an incomplete record at the end of the stream", have);
			break;
		}
		have += (size_t)got;
		size_t pos = 0;
		while (have - pos >= sizeof(struct rec_hdr)) {
			struct rec_hdr h;
			memcpy(&h, buf + pos, sizeof(h));
			if (h.magic != REC_MAGIC || h.writer >= REC_WRITERS || h.len < 8 || h.len > PIPEBUF) {
				wfail("bad record header at stream offset %llu: magic %#x writer %u len %u seq %u",
				      (unsigned long long)(stream_off + pos), h.magic, h.writer, h.len, h.seq);
				print_log(worker_name, a->st);
				goto out;
			}
			if (have - pos < h.len)
				break;
			if (h.seq != next[h.writer]) {
				wfail("writer %u: record %u arrived when %u was due (stream offset %llu)", h.writer,
				      h.seq, next[h.writer], (unsigned long long)(stream_off + pos));
				goto out;
			}
			pat_fill(rec_key(h.writer, h.seq), 0, body, h.len - 8);
			if (memcmp(body, buf + pos + 8, h.len - 8) != 0) {
				size_t i = 0;
				while (body[i] == buf[pos + 8 + i])
					i++;
				wfail("record %u of writer %u (%u bytes, at stream offset %llu) interleaved or corrupted at its byte %zu",
				      h.seq, h.writer, h.len, (unsigned long long)(stream_off + pos), i + 8);
				print_log(worker_name, a->st);
				goto out;
			}
			next[h.writer]++;
			a->st->count[h.writer]++;
			a->st->ops++;
			pos += h.len;
		}
		memmove(buf, buf + pos, have - pos);
		have -= pos;
		stream_off += pos;
		a->st->bytes = stream_off;
	}
out:
	a->st->sigs = sig_seen;
	a->st->finished = 1;
	stop_itimer();
	close(fd);
	free(buf);
}

static void records(double seconds, struct wstats *stats)
{
	/* Group 0 over a pipe, group 1 over a FIFO. */
	struct rec_arg args[2][REC_WRITERS + 1];
	char names[2][REC_WRITERS + 1][40];
	char fifo[200];
	struct group writers = { 0 }, readers = { 0 };
	pid_t targets[2 * (REC_WRITERS + 1)];
	int nt = 0;
	long long deadline = now_ns() + (long long)(seconds * 1e9);
	int fds[2];
	int hold = -1;

	memset(stats, 0, sizeof(*stats) * 2 * (REC_WRITERS + 1));
	snprintf(fifo, sizeof(fifo), "%s.rec", tmp_base);
	unlink(fifo);
	if (pipe(fds) != 0 || mkfifo(fifo, 0600) != 0) {
		CHECK(0, "pipe and mkfifo for the records");
		return;
	}
	/* Keeps the FIFO's write side open until every writer is done. */
	hold = open(fifo, O_RDWR);
	for (int g = 0; g < 2; g++) {
		for (int i = 0; i <= REC_WRITERS; i++) {
			struct rec_arg *a = &args[g][i];
			int is_reader = i == REC_WRITERS;
			a->fd = g == 0 ? (is_reader ? fds[0] : fds[1]) : -1;
			a->fifo = g == 1 ? fifo : NULL;
			a->writer = i;
			a->restart = is_reader ? g == 0 : i % 2 == 0;
			a->deadline = deadline;
			a->st = &stats[g * (REC_WRITERS + 1) + i];
			if (is_reader)
				snprintf(names[g][i], sizeof(names[g][i]), "%s record reader",
					 g ? "fifo" : "pipe");
			else
				snprintf(names[g][i], sizeof(names[g][i]), "%s record writer %d",
					 g ? "fifo" : "pipe", i);
		}
	}
	for (int g = 0; g < 2; g++) {
		for (int i = 0; i <= REC_WRITERS; i++) {
			struct rec_arg *a = &args[g][i];
			int is_reader = i == REC_WRITERS;
			fflush(stdout);
			pid_t pid = fork();
			if (pid == 0) {
				if (g == 0)
					close(is_reader ? fds[1] : fds[0]);
				else {
					close(fds[0]);
					close(fds[1]);
				}
				close(hold);
				worker_name = names[g][i];
				my_stats = a->st;
				if (is_reader)
					rec_reader_main(a);
				else
					rec_writer_main(a);
				fflush(stdout);
				_exit(a->st->errors ? 1 : 0);
			}
			group_add(is_reader ? &readers : &writers, pid, names[g][i], a->st);
			targets[nt++] = pid;
		}
	}
	close(fds[0]);
	close(fds[1]);
	struct signaller_arg sa = { targets, nt, deadline, g_seed + 1 };
	pid_t sig = spawn("signaller", NULL, signaller_main, &sa);

	long long limit = deadline + 30000000000LL + (long long)(seconds * 2e9);
	int wok = group_wait(&writers, limit, "records");
	close(hold);
	int rok = group_wait(&readers, limit, "records");
	kill(sig, SIGKILL);
	waitpid(sig, NULL, 0);
	unlink(fifo);
	CHECK(wok == 0 && rok == 0, "records: every writer and reader finished cleanly in time");

	for (int g = 0; g < 2; g++) {
		struct wstats *rd = args[g][REC_WRITERS].st;
		int ok = rd->errors == 0 && rd->finished;
		uint64_t total = 0;
		for (int i = 0; i < REC_WRITERS; i++) {
			struct wstats *w = args[g][i].st;
			ok &= w->errors == 0 && w->finished && w->count[0] == rd->count[i] && w->count[0] > 0;
			total += w->count[0];
		}
		CHECK(ok, "%s: %llu records of up to PIPE_BUF bytes from %d writers, none interleaved, lost or repeated",
		      g ? "FIFO" : "pipe", (unsigned long long)total, REC_WRITERS);
		for (int i = 0; i < REC_WRITERS; i++) {
			struct wstats *w = args[g][i].st;
			INFO("  %s: wrote %llu, reader got %llu; %llu EINTR, %llu signals", names[g][i],
			     (unsigned long long)w->count[0], (unsigned long long)rd->count[i],
			     (unsigned long long)w->eintr, (unsigned long long)w->sigs);
		}
	}
}

/* ------------------------------------------------------ 4. non-blocking */

static void nonblocking_exact(void)
{
	int p[2];
	unsigned char *buf = malloc(MAX_IO), *in = malloc(MAX_IO);
	uint64_t key = mix64(g_seed ^ 0x4444);

	if (!buf || !in || pipe2(p, O_NONBLOCK) != 0) {
		CHECK(0, "pipe2(O_NONBLOCK)");
		return;
	}
	pat_fill(key, 0, buf, MAX_IO);
	CHECK_ERRNO(read(p[0], in, 10), EAGAIN, "read of an empty non-blocking pipe: EAGAIN");
	ssize_t w = write(p[1], buf, MAX_IO);
	CHECK(w == PIPE_CAP, "1 MiB non-blocking write into an empty pipe writes 64 KiB (%zd)", w);
	CHECK_ERRNO(write(p[1], buf, 1), EAGAIN, "1-byte write into a full pipe: EAGAIN");
	CHECK_ERRNO(write(p[1], buf, PIPEBUF), EAGAIN, "PIPE_BUF write into a full pipe: EAGAIN");
	CHECK_ERRNO(write(p[1], buf, 100000), EAGAIN, "100000-byte write into a full pipe: EAGAIN");
	ssize_t r1 = read(p[0], in, 2 * PIPEBUF);
	CHECK(r1 == 2 * PIPEBUF, "read 8 KiB back (%zd)", r1);
	w = write(p[1], buf + PIPE_CAP, 10000);
	CHECK(w == 2 * PIPEBUF, "10000-byte write with 8 KiB free writes 8 KiB (%zd)", w);
	r1 = read(p[0], in, PIPEBUF);
	CHECK(r1 == PIPEBUF, "read 4 KiB back (%zd)", r1);
	w = write(p[1], buf + PIPE_CAP + 2 * PIPEBUF, PIPEBUF);
	CHECK(w == PIPEBUF, "PIPE_BUF write with 4 KiB free goes in whole (%zd)", w);
	CHECK_ERRNO(write(p[1], buf, PIPEBUF), EAGAIN, "and then EAGAIN again");
	/* Everything comes back in order. */
	size_t total = 0;
	ssize_t n;
	while ((n = read(p[0], in + total, MAX_IO - total)) > 0)
		total += (size_t)n;
	int e = errno;
	CHECK(n == -1 && e == EAGAIN, "draining ends with EAGAIN");
	size_t expect = PIPE_CAP + 3 * PIPEBUF - 3 * PIPEBUF;
	long bad = pat_find_bad(key, 3 * PIPEBUF, in, total);
	CHECK(total == expect && bad < 0, "drained %zu bytes, all in order", total);
	close(p[1]);
	CHECK(read(p[0], in, 1) == 0, "EOF once the writer is closed");
	close(p[0]);
	free(buf);
	free(in);
}

/*
 * readv on a pipe is one read: when the first buffer takes everything the
 * pipe holds, the call returns at once with that (it neither waits for
 * more nor loses what it read if the next part cannot be filled).
 */
static void vectored_reads(void)
{
	int p[2];
	char a[16], b[16];
	struct iovec iov[2] = { { a, 10 }, { b, 10 } };
	struct sigaction sa, old;

	if (pipe2(p, O_NONBLOCK) != 0) {
		CHECK(0, "pipe2");
		return;
	}
	CHECK(write(p[1], "0123456789", 10) == 10, "10 bytes into a non-blocking pipe");
	ssize_t n = readv(p[0], iov, 2);
	CHECK(n == 10 && memcmp(a, "0123456789", 10) == 0,
	      "non-blocking readv of 10+10 with 10 bytes there returns them (%zd)", n);
	CHECK_ERRNO(read(p[0], b, 1), EAGAIN, "and the pipe is empty after it");
	close(p[0]);
	close(p[1]);

	if (pipe(p) != 0) {
		CHECK(0, "pipe");
		return;
	}
	/* A watchdog in case readv waits for more. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	alarm(3);
	CHECK(write(p[1], "abcdefghij", 10) == 10, "10 bytes into a blocking pipe");
	long long t0 = now_ns();
	n = readv(p[0], iov, 2);
	int e = errno;
	double took = (now_ns() - t0) / 1e9;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	errno = e;
	CHECK(n == 10 && memcmp(a, "abcdefghij", 10) == 0 && took < 1.5,
	      "blocking readv of 10+10 with 10 bytes there returns them without waiting (%zd after %.1f s)",
	      n, took);
	close(p[0]);
	close(p[1]);
}

/*
 * sendfile: a pipe is no input (EINVAL, its data left alone); from a file
 * into a pipe, under signals without SA_RESTART, every call moves the file
 * position (or the offset it was given) by exactly what it returned, and
 * the reader of the pipe gets the file exactly once.
 */
struct sf_arg {
	const char *path;
	int fd;
	int use_off;
	uint64_t size;
	long long deadline;
	struct wstats *st;
};

static void sf_sender_main(void *p)
{
	struct sf_arg *a = p;
	struct rng r = rng_for(g_seed, 700 + a->use_off);
	int fd = open(a->path, O_RDONLY);
	off_t off = 0;
	uint64_t total = 0;

	setup_signals(0, 1000 + (long)rnd_below(&r, 3000));
	if (fd < 0) {
		wfail("open %s", a->path);
		goto out;
	}
	while (total < a->size && now_ns() < a->deadline && a->st->errors == 0) {
		size_t cnt = pick_size(&r);
		ssize_t n = a->use_off ? sendfile(a->fd, fd, &off, cnt) : sendfile(a->fd, fd, NULL, cnt);
		int e = errno;
		log_op(a->st, total, cnt, n, a->use_off);
		if (n < 0 && e == EINTR) {
			a->st->eintr++;
			continue;
		}
		if (n <= 0) {
			errno = e;
			wfail("sendfile of %zu at file offset %llu returned %zd", cnt, (unsigned long long)total, n);
			break;
		}
		if ((size_t)n < cnt && total + (uint64_t)n < a->size)
			a->st->shorts++;
		total += (uint64_t)n;
		off_t cur = lseek(fd, 0, SEEK_CUR);
		if (a->use_off && (off != (off_t)total || cur != 0))
			wfail("after sendfile returned %zd (%llu in all): offset %lld, file position %lld (should stay 0)",
			      n, (unsigned long long)total, (long long)off, (long long)cur);
		if (!a->use_off && cur != (off_t)total)
			wfail("after sendfile returned %zd (%llu in all): file position %lld", n,
			      (unsigned long long)total, (long long)cur);
		a->st->bytes = total;
		a->st->ops++;
	}
out:
	a->st->bytes = total;
	a->st->sigs = sig_seen;
	a->st->finished = 1;
	stop_itimer();
	close(a->fd);
	if (fd >= 0)
		close(fd);
}

struct sf_reader_arg {
	int fd;
	uint64_t key;
	struct wstats *st;
};

static void sf_reader_main(void *p)
{
	struct sf_reader_arg *a = p;
	struct rng r = rng_for(g_seed, 710);
	setup_signals(1, 0);
	stream_reader(a->fd, a->key, 1, &r, a->st, 0);
}

static void sendfile_round(double seconds, struct wstats *stats)
{
	char path[200];
	uint64_t key = mix64(g_seed ^ 0x5e2d);
	uint64_t size = 32 * MIB;
	unsigned char *buf = malloc(MAX_IO);
	int p[2], q[2];

	/* A pipe as the input. */
	if (pipe2(p, O_NONBLOCK) != 0 || pipe2(q, O_NONBLOCK) != 0) {
		CHECK(0, "pipe");
		return;
	}
	CHECK(write(p[1], "hello", 5) == 5, "5 bytes into a pipe");
	CHECK_ERRNO(sendfile(q[1], p[0], NULL, 100), EINVAL, "sendfile from a pipe: EINVAL");
	char b[8];
	ssize_t n = read(p[0], b, sizeof(b));
	CHECK(n == 5 && memcmp(b, "hello", 5) == 0, "the pipe still holds its 5 bytes (%zd)", n);
	for (int i = 0; i < 2; i++) {
		close(p[i]);
		close(q[i]);
	}

	/* A file of size bytes of the pattern. */
	snprintf(path, sizeof(path), "%s.sendfile", tmp_base);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	for (uint64_t off = 0; fd >= 0 && buf && off < size; off += MAX_IO) {
		pat_fill(key, off, buf, MAX_IO);
		if (write(fd, buf, MAX_IO) != MAX_IO) {
			close(fd);
			fd = -1;
		}
	}
	free(buf);
	if (fd < 0) {
		CHECK(0, "write %s", path);
		return;
	}
	close(fd);

	memset(stats, 0, sizeof(*stats) * 4);
	for (int use_off = 0; use_off < 2; use_off++) {
		struct group g = { 0 };
		long long deadline = now_ns() + (long long)(seconds * 0.5e9);
		if (pipe(p) != 0) {
			CHECK(0, "pipe");
			return;
		}
		struct sf_arg sa = { path, p[1], use_off, size, deadline, &stats[2 * use_off] };
		struct sf_reader_arg ra = { p[0], key, &stats[2 * use_off + 1] };
		const char *sname = use_off ? "sendfile sender (offset)" : "sendfile sender";
		const char *rname = use_off ? "sendfile receiver (offset)" : "sendfile receiver";
		fflush(stdout);
		pid_t s = fork();
		if (s == 0) {
			close(p[0]);
			worker_name = sname;
			my_stats = sa.st;
			sf_sender_main(&sa);
			fflush(stdout);
			_exit(my_stats->errors ? 1 : 0);
		}
		pid_t rd = fork();
		if (rd == 0) {
			close(p[1]);
			worker_name = rname;
			my_stats = ra.st;
			sf_reader_main(&ra);
			fflush(stdout);
			_exit(my_stats->errors ? 1 : 0);
		}
		close(p[0]);
		close(p[1]);
		group_add(&g, s, sname, sa.st);
		group_add(&g, rd, rname, ra.st);
		pid_t targets[2] = { s, rd };
		struct signaller_arg sg = { targets, 2, deadline, g_seed + 4 + use_off };
		pid_t sig = spawn("signaller", NULL, signaller_main, &sg);
		int ok = group_wait(&g, deadline + 30000000000LL + (long long)(seconds * 1e9), "sendfile");
		kill(sig, SIGKILL);
		waitpid(sig, NULL, 0);
		CHECK(ok == 0 && sa.st->errors == 0 && ra.st->errors == 0 && sa.st->bytes > 0 &&
			      sa.st->bytes == ra.st->bytes,
		      "%s: %llu bytes sent in %llu calls (%llu short, %llu EINTR, %llu signals), received intact: %llu",
		      sname, (unsigned long long)sa.st->bytes, (unsigned long long)sa.st->ops,
		      (unsigned long long)sa.st->shorts, (unsigned long long)sa.st->eintr,
		      (unsigned long long)sa.st->sigs, (unsigned long long)ra.st->bytes);
	}
	unlink(path);
}

/* -------------------------------------------------------------- 5. files */

struct file_arg {
	const char *path;
	int restart;
	long long deadline;
	struct wstats *st;
	volatile uint64_t *committed;
	int writer;
};

static void file_writer_main(void *p)
{
	struct file_arg *a = p;
	struct rng r = rng_for(g_seed, 500);
	unsigned char *buf = malloc(MAX_IO);
	uint64_t key = mix64(g_seed ^ 0xf11e);
	uint64_t off = 0;
	int fa = open(a->path, O_WRONLY | O_APPEND);
	int fp = open(a->path, O_WRONLY);

	setup_signals(a->restart, 2000 + (long)rnd_below(&r, 5000));
	if (fa < 0 || fp < 0 || !buf) {
		wfail("open %s", a->path);
		goto out;
	}
	while (now_ns() < a->deadline && a->st->errors == 0 && off < 96 * MIB) {
		size_t n = pick_size(&r);
		int how = (int)rnd_below(&r, 3);
		ssize_t w;
		pat_fill(key, off, buf, n);
		if (how == 0)
			w = pwrite(fp, buf, n, (off_t)off);
		else if (how == 1)
			w = write(fa, buf, n);
		else {
			int v;
			w = some_write(fa, buf, n, &r, &v);
		}
		log_op(a->st, off, n, w, how);
		if (w < 0 && errno == EINTR) {
			a->st->eintr++;
			wfail("write to a regular file gave EINTR");
			break;
		}
		if (w != (ssize_t)n) {
			wfail("write of %zu at file offset %llu returned %zd", n, (unsigned long long)off, w);
			break;
		}
		off += n;
		__atomic_store_n(a->committed, off, __ATOMIC_RELEASE);
		a->st->bytes = off;
		a->st->ops++;
	}
out:
	a->st->finished = 1;
	__atomic_store_n(&a->st->count[0], 1, __ATOMIC_RELEASE);
	stop_itimer();
	free(buf);
}

static void file_reader_main(void *p)
{
	struct file_arg *a = p;
	struct wstats *wst = a->st - 1; /* the writer's stats come first */
	struct rng r = rng_for(g_seed, 501);
	unsigned char *buf = malloc(MAX_IO);
	uint64_t key = mix64(g_seed ^ 0xf11e);
	uint64_t pos = 0;
	int fd = open(a->path, O_RDONLY);

	setup_signals(a->restart, 2500 + (long)rnd_below(&r, 5000));
	if (fd < 0 || !buf) {
		wfail("open %s", a->path);
		goto out;
	}
	for (;;) {
		int writer_done = __atomic_load_n(&wst->count[0], __ATOMIC_ACQUIRE) != 0;
		uint64_t c = __atomic_load_n(a->committed, __ATOMIC_ACQUIRE);
		if (pos >= c) {
			if (writer_done)
				break;
			sched_yield();
			continue;
		}
		size_t n = pick_size(&r);
		ssize_t got;
		if (rnd_below(&r, 4) == 0) {
			/* Somewhere already written. */
			uint64_t at = rnd_below(&r, c);
			got = pread(fd, buf, n, (off_t)at);
			log_op(a->st, at, n, got, 2);
			if (got < 0 || (got == 0 && n > 0)) {
				wfail("pread of %zu at %llu (committed %llu) returned %zd", n,
				      (unsigned long long)at, (unsigned long long)c, got);
				break;
			}
			size_t check = (uint64_t)got < c - at ? (size_t)got : (size_t)(c - at);
			long bad = pat_find_bad(key, at, buf, check);
			if (bad >= 0) {
				wfail("pread: file content wrong at offset %llu", (unsigned long long)(at + bad));
				pat_explain(worker_name, key, at, buf, check, (size_t)bad);
				print_log(worker_name, a->st);
				break;
			}
			continue;
		}
		got = read(fd, buf, n);
		log_op(a->st, pos, n, got, 0);
		if (got < 0) {
			if (errno == EINTR)
				a->st->eintr++;
			wfail("read of %zu at %llu", n, (unsigned long long)pos);
			break;
		}
		if (got == 0) {
			wfail("read at %llu gave end of file though %llu bytes were written",
			      (unsigned long long)pos, (unsigned long long)c);
			break;
		}
		if ((size_t)got < n && pos + (size_t)got < c)
			a->st->shorts++;
		/* Bytes past what the writer had finished may be in flight. */
		size_t check = (uint64_t)got < c - pos ? (size_t)got : (size_t)(c - pos);
		long bad = pat_find_bad(key, pos, buf, check);
		if (bad >= 0) {
			wfail("read: file content wrong at offset %llu", (unsigned long long)(pos + bad));
			pat_explain(worker_name, key, pos, buf, check, (size_t)bad);
			print_log(worker_name, a->st);
			break;
		}
		if ((size_t)got > check) {
			/* Reread the unchecked tail later. */
			got = (ssize_t)check;
			lseek(fd, (off_t)(pos + check), SEEK_SET);
		}
		pos += (size_t)got;
		a->st->bytes = pos;
		a->st->ops++;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size != wst->bytes)
		wfail("file size %lld, written %llu", (long long)sb.st_size, (unsigned long long)wst->bytes);
out:
	a->st->finished = 1;
	stop_itimer();
	if (fd >= 0)
		close(fd);
	free(buf);
}

/* Records appended through separate O_APPEND descriptions. */
struct app_hdr {
	uint32_t magic;
	uint32_t writer;
	uint32_t seq;
	uint32_t len;
};

#define APP_MAGIC 0x41505044u
#define APP_WRITERS 3

static size_t pick_append_size(struct rng *r)
{
	switch (rnd_below(r, 5)) {
	case 0:
		return 16 + rnd_below(r, 200);
	case 1:
		return clamp_size(PIPE_CAP + (long long)rnd_below(r, 200) - 100, 16, MAX_IO);
	case 2:
		return 16 + rnd_below(r, 256 * KIB);
	case 3:
		return clamp_size((long long)(1 + rnd_below(r, 4)) * PIPE_CAP + (long long)rnd_below(r, 64) - 32, 16, MAX_IO);
	default:
		return 16 + rnd_below(r, 8 * KIB);
	}
}

static uint64_t app_key(uint32_t writer, uint32_t seq)
{
	return mix64(g_seed ^ 0xa99e ^ ((uint64_t)writer << 36) ^ ((uint64_t)seq << 2));
}

static void appender_main(void *p)
{
	struct file_arg *a = p;
	struct rng r = rng_for(g_seed, 600 + a->writer);
	unsigned char *buf = malloc(MAX_IO);
	uint32_t seq = 0;
	int fd = open(a->path, O_WRONLY | O_APPEND);

	setup_signals(a->restart, 2000 + (long)rnd_below(&r, 5000));
	if (fd < 0 || !buf) {
		wfail("open %s", a->path);
		goto out;
	}
	while (now_ns() < a->deadline && a->st->errors == 0 && a->st->bytes < 16 * MIB) {
		size_t n = pick_append_size(&r);
		struct app_hdr h = { APP_MAGIC, (uint32_t)a->writer, seq, (uint32_t)n };
		memcpy(buf, &h, sizeof(h));
		pat_fill(app_key(a->writer, seq), 0, buf + 16, n - 16);
		int how;
		ssize_t w = some_write(fd, buf, n, &r, &how);
		log_op(a->st, seq, n, w, how);
		if (w != (ssize_t)n) {
			wfail("O_APPEND write of %zu returned %zd", n, w);
			break;
		}
		seq++;
		a->st->bytes += n;
		a->st->ops = seq;
	}
out:
	a->st->count[0] = seq;
	a->st->finished = 1;
	stop_itimer();
	if (fd >= 0)
		close(fd);
	free(buf);
}

/*
 * Parses the records of buf[0..n) from *pos on; returns -1 on a bad record
 * (after reporting it), else 0 with *pos after the last whole record.
 */
static int parse_appended(const unsigned char *buf, size_t n, size_t *pos, uint32_t *next,
			  unsigned char *body, const char *who)
{
	while (n - *pos >= sizeof(struct app_hdr)) {
		struct app_hdr h;
		memcpy(&h, buf + *pos, sizeof(h));
		if (h.magic != APP_MAGIC || h.writer >= APP_WRITERS || h.len < 16 || h.len > MAX_IO) {
			printf("  %s: bad record header at file offset %zu: magic %#x writer %u seq %u len %u\n",
			       who, *pos, h.magic, h.writer, h.seq, h.len);
			return -1;
		}
		if (n - *pos < h.len)
			return 0;
		if (h.seq != next[h.writer]) {
			printf("  %s: writer %u: record %u at file offset %zu when %u was due\n", who, h.writer,
			       h.seq, *pos, next[h.writer]);
			return -1;
		}
		pat_fill(app_key(h.writer, h.seq), 0, body, h.len - 16);
		if (memcmp(body, buf + *pos + 16, h.len - 16) != 0) {
			size_t i = 0;
			while (body[i] == buf[*pos + 16 + i])
				i++;
			printf("  %s: record %u of writer %u (%u bytes at file offset %zu) overwritten or interleaved at its byte %zu\n",
			       who, h.seq, h.writer, h.len, *pos, i + 16);
			return -1;
		}
		next[h.writer]++;
		*pos += h.len;
	}
	return 0;
}

struct follow_arg {
	const char *path;
	struct wstats *st;
	struct wstats *writers;
	int restart;
};

/* Follows the file while the appenders write, checking whole records. */
static void follower_main(void *p)
{
	struct follow_arg *a = p;
	size_t cap = 64 * MIB;
	unsigned char *buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *body = malloc(MAX_IO);
	size_t have = 0, pos = 0;
	uint32_t next[APP_WRITERS] = { 0 };
	struct rng r = rng_for(g_seed, 650);
	int fd = open(a->path, O_RDONLY);

	setup_signals(a->restart, 0);
	if (fd < 0 || buf == MAP_FAILED || !body) {
		wfail("open %s", a->path);
		goto out;
	}
	for (;;) {
		int all_done = 1;
		for (int i = 0; i < APP_WRITERS; i++)
			all_done &= __atomic_load_n(&a->writers[i].finished, __ATOMIC_ACQUIRE) != 0;
		size_t want = pick_size(&r);
		if (want > cap - have)
			want = cap - have;
		if (want == 0)
			break;
		ssize_t got = read(fd, buf + have, want);
		if (got < 0) {
			wfail("read");
			break;
		}
		if (got == 0) {
			if (all_done)
				break;
			sched_yield();
			continue;
		}
		have += (size_t)got;
		if (parse_appended(buf, have, &pos, next, body, worker_name) != 0) {
			wfail("appended records corrupted");
			break;
		}
		a->st->bytes = have;
	}
	/* Whatever was not parsed yet must be complete records now. */
	if (a->st->errors == 0 && pos != have)
		wfail("%zu bytes of an incomplete record at the end of the file", have - pos);
	for (int i = 0; i < APP_WRITERS; i++)
		a->st->count[i] = next[i];
out:
	a->st->finished = 1;
	if (fd >= 0)
		close(fd);
	free(body);
}

static void files_round(double seconds, struct wstats *stats, volatile uint64_t *committed)
{
	char path[200], apath[200];
	struct file_arg fw, fr, ap[APP_WRITERS];
	struct group g = { 0 }, gw = { 0 }, gr = { 0 };
	pid_t targets[APP_WRITERS + 2];
	long long t0 = now_ns();
	long long d1 = t0 + (long long)(seconds * 0.5e9);

	memset(stats, 0, sizeof(*stats) * 8);
	snprintf(path, sizeof(path), "%s.file", tmp_base);
	snprintf(apath, sizeof(apath), "%s.append", tmp_base);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		CHECK(0, "create %s", path);
		return;
	}
	close(fd);
	*committed = 0;
	fw = (struct file_arg){ path, 1, d1, &stats[0], committed, 0 };
	fr = (struct file_arg){ path, 0, d1, &stats[1], committed, 0 };
	pid_t w = spawn("file writer", &stats[0], file_writer_main, &fw);
	pid_t rd = spawn("file reader", &stats[1], file_reader_main, &fr);
	group_add(&g, w, "file writer", &stats[0]);
	group_add(&g, rd, "file reader", &stats[1]);
	targets[0] = w;
	targets[1] = rd;
	struct signaller_arg sa = { targets, 2, d1, g_seed + 2 };
	pid_t sig = spawn("signaller", NULL, signaller_main, &sa);
	int ok = group_wait(&g, d1 + 30000000000LL + (long long)(seconds * 1e9), "files");
	kill(sig, SIGKILL);
	waitpid(sig, NULL, 0);
	CHECK(ok == 0 && stats[0].errors == 0 && stats[1].errors == 0 && stats[0].bytes > 0 &&
		      stats[1].bytes == stats[0].bytes,
	      "file: %llu bytes appended in %llu writes, read back concurrently, intact (%llu reads, %llu short)",
	      (unsigned long long)stats[0].bytes, (unsigned long long)stats[0].ops,
	      (unsigned long long)stats[1].ops, (unsigned long long)stats[1].shorts);
	unlink(path);

	/* Several appenders, each with its own open file description. */
	long long d2 = now_ns() + (long long)(seconds * 0.5e9);
	fd = open(apath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		CHECK(0, "create %s", apath);
		return;
	}
	close(fd);
	static const char *anames[APP_WRITERS] = { "appender 0", "appender 1", "appender 2" };
	for (int i = 0; i < APP_WRITERS; i++) {
		ap[i] = (struct file_arg){ apath, i % 2 == 0, d2, &stats[2 + i], NULL, i };
		pid_t pid = spawn(anames[i], &stats[2 + i], appender_main, &ap[i]);
		group_add(&gw, pid, anames[i], &stats[2 + i]);
		targets[i] = pid;
	}
	struct follow_arg fa = { apath, &stats[6], &stats[2], 0 };
	pid_t fp = spawn("follower", &stats[6], follower_main, &fa);
	group_add(&gr, fp, "follower", &stats[6]);
	targets[APP_WRITERS] = fp;
	struct signaller_arg sa2 = { targets, APP_WRITERS + 1, d2, g_seed + 3 };
	sig = spawn("signaller", NULL, signaller_main, &sa2);
	long long limit = d2 + 30000000000LL + (long long)(seconds * 1e9);
	int wok = group_wait(&gw, limit, "append");
	int rok = group_wait(&gr, limit, "append");
	kill(sig, SIGKILL);
	waitpid(sig, NULL, 0);

	/* The whole file, parsed once more after everyone is done. */
	uint64_t total = 0;
	int wrote_ok = 1;
	for (int i = 0; i < APP_WRITERS; i++) {
		total += stats[2 + i].bytes;
		wrote_ok &= stats[2 + i].errors == 0 && stats[2 + i].count[0] > 0;
	}
	struct stat sb;
	int final_ok = 0;
	fd = open(apath, O_RDONLY);
	if (fd >= 0 && fstat(fd, &sb) == 0) {
		size_t n = (size_t)sb.st_size;
		unsigned char *all = malloc(n ? n : 1);
		unsigned char *body = malloc(MAX_IO);
		uint32_t next[APP_WRITERS] = { 0 };
		size_t pos = 0, got = 0;
		ssize_t k = 1;
		while (all && got < n && (k = read(fd, all + got, n - got)) > 0)
			got += (size_t)k;
		if (all && body && got == n) {
			final_ok = parse_appended(all, n, &pos, next, body, "append check") == 0 && pos == n;
			for (int i = 0; i < APP_WRITERS; i++)
				final_ok &= next[i] == stats[2 + i].count[0];
		}
		free(all);
		free(body);
		CHECK(n == total, "appended file is %zu bytes, the appenders wrote %llu", n,
		      (unsigned long long)total);
	}
	if (fd >= 0)
		close(fd);
	CHECK(wok == 0 && rok == 0 && wrote_ok && stats[6].errors == 0,
	      "O_APPEND: %d appenders (%llu, %llu, %llu records), follower read every record whole while they wrote",
	      APP_WRITERS, (unsigned long long)stats[2].count[0], (unsigned long long)stats[3].count[0],
	      (unsigned long long)stats[4].count[0]);
	CHECK(final_ok, "O_APPEND: the final file is the appenders' records, none overlapping");
	unlink(apath);
}

/*
 * The file parts stop early when their files reach their size limits: they
 * run again, with fresh files, while the rest of their time allows another
 * round as long as the last one.
 */
static void repeat_rounds(double seconds, void (*round)(double, struct wstats *, volatile uint64_t *),
			  struct wstats *stats, volatile uint64_t *committed)
{
	long long end = now_ns() + (long long)(seconds * 1e9);
	for (;;) {
		long long t = now_ns();
		round((end - t) / 1e9, stats, committed);
		long long took = now_ns() - t;
		if (end - now_ns() < took)
			break;
	}
}

static void sendfile_part(double seconds, struct wstats *stats, volatile uint64_t *unused)
{
	(void)unused;
	sendfile_round(seconds, stats);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 12;
	g_seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
	if (seconds <= 0)
		seconds = 12;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A stray signal meant for a worker must not kill the parent. */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGALRM, SIG_IGN);
	const char *tmp = getenv("TMPDIR");
	snprintf(tmp_base, sizeof(tmp_base), "%s/pipe_stress.%d", tmp && *tmp ? tmp : "/tmp",
		 (int)getpid());
	INFO("pipe_stress: %.1f s, seed %llu", seconds, (unsigned long long)g_seed);

	struct wstats *stats = shared_alloc(sizeof(struct wstats) * 16);
	volatile uint64_t *committed = shared_alloc(4096);
	if (!stats || !committed) {
		CHECK(0, "shared memory");
		return check_exit();
	}
	/* Workers start with default dispositions, then install their own. */
	signal(SIGUSR1, SIG_DFL);
	signal(SIGALRM, SIG_DFL);

	long long t0 = now_ns();
	fifo_rendezvous(60);
	fifo_open_interrupted();
	INFO("rendezvous took %.1f s", (now_ns() - t0) / 1e9);

	t0 = now_ns();
	ignored_signals(stats);
	INFO("ignored signals took %.1f s", (now_ns() - t0) / 1e9);

	/* The parent itself must survive stray signals meant for workers. */
	struct sigaction ign;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGUSR1, &ign, NULL);
	sigaction(SIGALRM, &ign, NULL);

	t0 = now_ns();
	streams(seconds * 0.35, stats, 0);
	INFO("streams took %.1f s", (now_ns() - t0) / 1e9);
	t0 = now_ns();
	records(seconds * 0.20, stats);
	INFO("records took %.1f s", (now_ns() - t0) / 1e9);
	t0 = now_ns();
	nonblocking_exact();
	vectored_reads();
	streams(seconds * 0.15, stats, 1);
	INFO("non-blocking took %.1f s", (now_ns() - t0) / 1e9);
	t0 = now_ns();
	repeat_rounds(seconds * 0.15, files_round, stats, committed);
	INFO("files took %.1f s", (now_ns() - t0) / 1e9);
	t0 = now_ns();
	repeat_rounds(seconds * 0.10, sendfile_part, stats, committed);
	INFO("sendfile took %.1f s", (now_ns() - t0) / 1e9);
	return check_exit();
}
