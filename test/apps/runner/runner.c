/*
 * The in-guest test runner, installed as /test/runner.
 *
 * Booted as PID 1 (init=/test/runner), it runs every test of
 * /test/manifest.txt in turn and prints, as its last line,
 * "N passed, M failed"; it exits 0 only if nothing failed (as PID 1 its exit
 * status becomes the machine's). It works the same natively on a Linux host.
 *
 *   runner [-m MANIFEST] [-r ROOT] [-t SECONDS] [NAME...]
 *
 *   -m MANIFEST  the test list (default /test/manifest.txt)
 *   -r ROOT      prepended to every command word starting with /test/ (to
 *                run against a build tree on a host); others such as
 *                /bin/busybox are used as they are
 *   -t SECONDS   per-test timeout (default 60); then the test's process
 *                group is killed with SIGKILL
 *   NAME...      run only these tests (an unknown name counts as a failure)
 *
 * Manifest lines (as read by osdk test-apps):
 *   name | expected-exit-status | command and args | expected output (optional)
 * Blank lines and lines starting with '#' are skipped. The command is split
 * on blanks. A test passes if its status (exit code, or 128 + signal) is the
 * expected one and, if given, the expected text occurs in its output
 * (stdout and stderr together).
 *
 * Each test runs in its own process group with stdout and stderr on a pipe,
 * stdin on /dev/null if that exists, no other file descriptors, the working directory /, and default
 * signal dispositions and an empty signal mask. The runner never blocks on
 * the pipe (a test's own children may keep it open): it polls the pipe
 * without blocking and reaps with waitpid(-1, WNOHANG) every 10 ms. Every
 * process that ends up as its child is reaped: as PID 1 it inherits all
 * orphans, and on a host it makes itself a child subreaper so that orphans
 * of the tests come to it too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 64
#define HEAD_MAX (48 * 1024)	/* output kept from the start of a test... */
#define TAIL_MAX (16 * 1024)	/* ...and from its end: 64 KiB in all */

struct test {
	char *name;
	int status;
	char *argv[MAX_ARGS + 1];
	char *expect;		/* NULL if none */
	int line;
	int selected;
};

struct output {
	char head[HEAD_MAX + 1];
	size_t head_len;
	char tail[TAIL_MAX];	/* ring buffer of what came after head */
	size_t tail_total;	/* bytes that went to the ring */
	char *joined;		/* head + marker + tail, NUL-terminated */
};

static const char *root = "";
static long timeout_s = 60;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Splits a trimmed line on " | " into at most 4 fields, like osdk. */
static int split_fields(char *line, char **f)
{
	int n = 0;
	size_t len = strlen(line);

	if (len >= 2 && strcmp(line + len - 2, " |") == 0)
		line[len - 2] = '\0';
	f[n++] = line;
	while (n < 4) {
		char *sep = strstr(f[n - 1], " | ");
		if (!sep)
			break;
		*sep = '\0';
		f[n++] = sep + 3;
	}
	for (int i = 0; i < n; i++)
		f[i] = trim(f[i]);
	return n;
}

static char *map_path(const char *word)
{
	char *s;
	if (strncmp(word, "/test/", 6) != 0 || !root[0])
		return strdup(word);
	s = malloc(strlen(root) + strlen(word) + 1);
	if (s) {
		strcpy(s, root);
		strcat(s, word);
	}
	return s;
}

/* Returns the number of tests, or -1. Bad lines are reported and skipped. */
static int read_manifest(const char *path, struct test **out, int *bad)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	struct test *tests = NULL;
	int n = 0, cap = 0, line = 0;

	*bad = 0;
	if (!f) {
		say("runner: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		char *fields[4], *s = trim(buf), *tok, *save = NULL;
		char *end;
		struct test t;
		int nf, argc = 0;

		line++;
		if (!*s || *s == '#')
			continue;
		memset(&t, 0, sizeof(t));
		nf = split_fields(s, fields);
		if (nf < 3 || !fields[0][0]) {
			say("runner: %s:%d: expected \"name | status | command [| output]\"\n", path, line);
			(*bad)++;
			continue;
		}
		t.status = (int)strtol(fields[1], &end, 10);
		if (!fields[1][0] || *end || t.status < 0 || t.status > 255) {
			say("runner: %s:%d: bad exit status \"%s\"\n", path, line, fields[1]);
			(*bad)++;
			continue;
		}
		for (tok = strtok_r(fields[2], " \t", &save); tok && argc < MAX_ARGS;
		     tok = strtok_r(NULL, " \t", &save))
			t.argv[argc++] = map_path(tok);
		if (argc == 0 || fields[2][0] != '/') {
			say("runner: %s:%d: the command must start with an absolute path\n", path, line);
			(*bad)++;
			continue;
		}
		t.name = strdup(fields[0]);
		t.expect = nf == 4 && fields[3][0] ? strdup(fields[3]) : NULL;
		t.line = line;
		t.selected = 1;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			tests = realloc(tests, (size_t)cap * sizeof(*tests));
			if (!tests) {
				fclose(f);
				return -1;
			}
		}
		tests[n++] = t;
	}
	fclose(f);
	*out = tests;
	return n;
}

static void out_add(struct output *o, const char *p, size_t n)
{
	size_t room = HEAD_MAX - o->head_len;
	size_t take = n < room ? n : room;

	memcpy(o->head + o->head_len, p, take);
	o->head_len += take;
	for (size_t i = take; i < n; i++)
		o->tail[o->tail_total++ % TAIL_MAX] = p[i];
}

static void out_join(struct output *o)
{
	static const char marker[] = "\n[... output cut ...]\n";
	size_t tail_len = o->tail_total < TAIL_MAX ? o->tail_total : TAIL_MAX;
	size_t start = o->tail_total - tail_len;
	char *s = malloc(o->head_len + sizeof(marker) + tail_len + 1), *p;

	o->joined = s;
	if (!s)
		return;
	memcpy(s, o->head, o->head_len);
	p = s + o->head_len;
	if (o->tail_total > TAIL_MAX) {
		memcpy(p, marker, sizeof(marker) - 1);
		p += sizeof(marker) - 1;
	}
	for (size_t i = 0; i < tail_len; i++)
		*p++ = o->tail[(start + i) % TAIL_MAX];
	*p = '\0';
	/* NUL bytes in the output would hide what follows from strstr. */
	for (char *q = s; q < p; q++)
		if (*q == '\0')
			*q = '?';
}

/* Reads what is available; returns 1 if something was read. */
static int drain(int fd, struct output *o)
{
	char buf[4096];
	int any = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			out_add(o, buf, (size_t)n);
			any = 1;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		return any;
	}
}

static void child_exec(struct test *t, int wfd)
{
	sigset_t none;
	int devnull;

	setpgid(0, 0);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0 && devnull != 0) {
		dup2(devnull, 0);
		close(devnull);
	}
	dup2(wfd, 1);
	dup2(wfd, 2);
	/* Only 0, 1 and 2 are passed on, as when the kernel starts init. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	if (chdir("/") != 0) {
		/* not fatal */
	}
	execv(t->argv[0], t->argv);
	fprintf(stderr, "runner: cannot execute %s: %s\n", t->argv[0], strerror(errno));
	_exit(127);
}

/* Runs one test; returns 1 if it passed. */
static int run_test(struct test *t)
{
	static struct output o;
	int fds[2], status = 0, got = -1, timed_out = 0;
	long long start;
	pid_t pid;

	memset(&o, 0, sizeof(o));
	if (pipe(fds) == -1) {
		say("FAIL %s (runner: pipe: %s)\n", t->name, strerror(errno));
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid == -1) {
		say("FAIL %s (runner: fork: %s)\n", t->name, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		close(fds[0]);
		child_exec(t, fds[1]);
	}
	setpgid(pid, pid);	/* also from here, so that it holds before the exec */
	close(fds[1]);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	start = now_ms();
	for (;;) {
		int any = drain(fds[0], &o);
		pid_t w;
		while ((w = waitpid(-1, &status, WNOHANG)) > 0)
			if (w == pid)
				got = status;
		if (got != -1)
			break;
		if (!timed_out && now_ms() - start > timeout_s * 1000) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
		if (!any)
			nap_ms(10);
	}
	drain(fds[0], &o);
	close(fds[0]);
	out_join(&o);

	int code = WIFEXITED(got) ? WEXITSTATUS(got) : WIFSIGNALED(got) ? 128 + WTERMSIG(got) : 255;
	int status_ok = !timed_out && code == t->status;
	int output_ok = !t->expect || (o.joined && strstr(o.joined, t->expect));
	if (status_ok && output_ok) {
		say("PASS %s\n", t->name);
	} else {
		char why[512];
		if (timed_out)
			snprintf(why, sizeof(why), "timed out after %ld s, expected status %d", timeout_s, t->status);
		else
			snprintf(why, sizeof(why), "status %d, expected %d", code, t->status);
		if (!output_ok)
			say("FAIL %s (%s, output missing \"%s\")\n", t->name, why, t->expect);
		else
			say("FAIL %s (%s)\n", t->name, why);
		if (o.joined) {
			char *line = o.joined, *nl;
			for (; *line; line = nl + 1) {
				nl = strchr(line, '\n');
				if (!nl) {
					say("    | %s\n", line);
					break;
				}
				say("    | %.*s\n", (int)(nl - line), line);
			}
		}
	}
	free(o.joined);
	o.joined = NULL;
	return status_ok && output_ok;
}

static void usage(void)
{
	say("usage: runner [-m MANIFEST] [-r ROOT] [-t SECONDS] [NAME...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *manifest = "/test/manifest.txt";
	struct test *tests = NULL;
	int opt, bad, n, passed = 0, failed = 0, selected;

	/* As the first program, set up what tests expect of a Linux system,
	 * as an init would (failures are harmless: a test will report them). */
	if (getpid() == 1) {
		mount("proc", "/proc", "proc", 0, NULL);
		mount("sysfs", "/sys", "sysfs", 0, NULL);
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
		mount("devpts", "/dev/pts", "devpts", 0, NULL);
		mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	}

	while ((opt = getopt(argc, argv, "m:r:t:h")) != -1) {
		switch (opt) {
		case 'm':
			manifest = optarg;
			break;
		case 'r':
			/* Absolute, as tests run in /. */
			root = realpath(optarg, NULL);
			if (!root) {
				say("runner: %s: %s\n", optarg, strerror(errno));
				return 2;
			}
			break;
		case 't':
			timeout_s = atol(optarg);
			if (timeout_s <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL);
	if (!getenv("PATH"))
		setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	/* A dying test must not take the runner with it through the pipe. */
	signal(SIGPIPE, SIG_IGN);

	n = read_manifest(manifest, &tests, &bad);
	if (n < 0) {
		say("0 passed, 1 failed\n");
		return 1;
	}
	failed += bad;
	if (optind < argc) {
		for (int i = 0; i < n; i++)
			tests[i].selected = 0;
		for (int a = optind; a < argc; a++) {
			int found = 0;
			for (int i = 0; i < n; i++)
				if (strcmp(tests[i].name, argv[a]) == 0)
					tests[i].selected = found = 1;
			if (!found) {
				say("runner: no test named %s\n", argv[a]);
				failed++;
			}
		}
	}
	selected = 0;
	for (int i = 0; i < n; i++)
		selected += tests[i].selected;
	say("runner: starting %d tests\n", selected);
	for (int i = 0; i < n; i++) {
		if (!tests[i].selected)
			continue;
		if (run_test(&tests[i]))
			passed++;
		else
			failed++;
	}
	/* Reap what is left over (orphans that already ended). */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	say("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
