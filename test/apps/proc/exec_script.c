/*
 * "#!" scripts (installed from proc/scripts/ into /test/proc/):
 *   script_ok.sh     #!/bin/sh, exit 12                 -> status 12
 *   script_arg       #!/test/proc/helper_exit 13        -> helper gets
 *                    [helper_exit, "13", script path, extra args...]
 *   script_spaces    blanks around the interpreter and its argument
 *   script_words     "#!/test/proc/helper_exit 16 two words": the rest of
 *                    the line is ONE argument, "16 two words"
 *   script_nest      interpreter is script_arg (a script): allowed
 *   script_loop1..6  six scripts in a chain, each the next's interpreter,
 *                    the last run by helper_exit 14: starting at loop2 (five
 *                    scripts) works, starting at loop1 fails with ELOOP
 *   script_noint     missing interpreter -> ENOENT
 *   script_noshebang executable without "#!" -> ENOEXEC (execve itself does
 *                    not fall back to a shell)
 *
 * On a host the scripts' absolute "/test/..." interpreters do not exist, so
 * copies with rewritten interpreter paths are made in a temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "guestpath.h"
#include "procutil.h"

static const char *const scripts[] = {
	"script_ok.sh", "script_arg", "script_spaces", "script_words", "script_nest",
	"script_loop1", "script_loop2", "script_loop3", "script_loop4", "script_loop5",
	"script_loop6", "script_noint", "script_noshebang",
};
#define NSCRIPTS (sizeof(scripts) / sizeof(scripts[0]))

static char tmpdir[64];

/* Host only: copies a script with its interpreter mapped. */
static int copy_script(const char *name)
{
	char src[1200], dst[256], text[1024], out[2048];
	snprintf(src, sizeof(src), "%s/test/proc/%s", guest_root(), name);
	snprintf(dst, sizeof(dst), "%s/%s", tmpdir, name);
	int fd = open(src, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -1;
	text[n] = '\0';
	char *p = text, *o = out;
	if (strncmp(p, "#!", 2) == 0) {
		memcpy(o, p, 2);
		o += 2;
		p += 2;
		while (*p == ' ' || *p == '\t')
			*o++ = *p++;
		if (strncmp(p, "/test/proc/script_", 18) == 0)
			o += sprintf(o, "%s", tmpdir), p += 10;
		else if (strncmp(p, "/test/", 6) == 0)
			o += sprintf(o, "%s", guest_root());
	}
	strcpy(o, p);
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0)
		return -1;
	ssize_t len = (ssize_t)strlen(out);
	int ok = write(fd, out, (size_t)len) == len;
	close(fd);
	return ok ? 0 : -1;
}

static void cleanup(void)
{
	char path[256];
	if (!tmpdir[0])
		return;
	for (size_t i = 0; i < NSCRIPTS; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, scripts[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

static const char *script(const char *name)
{
	static char bufs[4][256];
	static int next;
	char *b = bufs[next++ % 4];
	if (tmpdir[0])
		snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, name);
	else
		snprintf(b, sizeof(bufs[0]), "/test/proc/%s", name);
	return b;
}

struct result {
	int status;	/* wait status, or -1 */
	int err;	/* errno of a failed execve, else 0 */
	char out[4096];
};

/* fork + execve(path, [path, extra]); collects output, errno and status. */
static void run(const char *path, const char *extra, struct result *r)
{
	volatile int *err = shared_alloc(4096);
	char *const argv[] = { (char *)path, (char *)extra, NULL };
	int fds[2];

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (!err || pipe(fds) == -1)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 1);
		execve(path, argv, environ);
		*err = errno;
		_exit(255);
	}
	close(fds[1]);
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(r->out) - 1 && (n = read(fds[0], r->out + len, sizeof(r->out) - 1 - len)) > 0)
		len += (size_t)n;
	r->out[len] = '\0';
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &r->status, 0);
	r->err = *err;
	munmap((void *)err, 4096);
}

static int exited(const struct result *r, int code)
{
	return r->status != -1 && WIFEXITED(r->status) && WEXITSTATUS(r->status) == code && r->err == 0;
}

/* True if the helper's output has the line argv[i]=want. */
static int has_arg(const struct result *r, int i, const char *want)
{
	char line[512];
	snprintf(line, sizeof(line), "helper_exit: argv[%d]=%.60s\n", i, want);
	return strstr(r->out, line) != NULL;
}

int main(int argc, char **argv)
{
	static struct result r;
	guest_root_init(argv[0]);
	const char *helper = guest_path("/test/proc/helper_exit");

	if (guest_root()[0]) {
		strcpy(tmpdir, "/tmp/exec_script.XXXXXX");
		CHECK(mkdtemp(tmpdir) != NULL, "host: mkdtemp for the rewritten scripts");
		int ok = 1;
		for (size_t i = 0; i < NSCRIPTS; i++)
			if (copy_script(scripts[i]) != 0)
				ok = 0;
		CHECK(ok, "host: scripts copied to %s with mapped interpreters", tmpdir);
		atexit(cleanup);
	}

	run(script("script_ok.sh"), NULL, &r);
	CHECK(exited(&r, 12), "script_ok.sh (#!/bin/sh): status 12 (status word %#x, errno %d)",
	      r.status, r.err);

	run(script("script_arg"), "extra", &r);
	CHECK(exited(&r, 13), "script_arg: status 13 (status word %#x, errno %d)", r.status, r.err);
	CHECK(has_arg(&r, 0, helper), "script_arg: argv[0] is the interpreter path");
	CHECK(has_arg(&r, 1, "13"), "script_arg: argv[1] is the #! argument \"13\"");
	CHECK(has_arg(&r, 2, script("script_arg")), "script_arg: argv[2] is the script's path");
	CHECK(has_arg(&r, 3, "extra"), "script_arg: argv[3] is the original argv[1]");
	CHECK(!strstr(r.out, "argv[4]"), "script_arg: nothing more (original argv[0] dropped)");

	run(script("script_spaces"), NULL, &r);
	CHECK(exited(&r, 15) && has_arg(&r, 1, "15") && has_arg(&r, 2, script("script_spaces")),
	      "script_spaces: blanks around interpreter and argument are skipped (status word %#x)",
	      r.status);

	run(script("script_words"), NULL, &r);
	CHECK(exited(&r, 16) && has_arg(&r, 1, "16 two words"),
	      "script_words: the rest of the #! line is one argument (status word %#x)", r.status);

	run(script("script_nest"), "x", &r);
	CHECK(exited(&r, 13), "script_nest (interpreter is a script): status 13 (status word %#x, errno %d)",
	      r.status, r.err);
	CHECK(has_arg(&r, 1, "13") && has_arg(&r, 2, script("script_arg")) &&
	      has_arg(&r, 3, script("script_nest")) && has_arg(&r, 4, "x"),
	      "script_nest: helper got [helper, 13, script_arg, script_nest, x]");

	run(script("script_loop2"), NULL, &r);
	CHECK(exited(&r, 14), "a chain of 5 scripts works: status 14 (status word %#x, errno %d)",
	      r.status, r.err);
	run(script("script_loop1"), NULL, &r);
	CHECK(r.err == ELOOP, "a chain of 6 scripts fails with ELOOP (errno %d, status word %#x)", r.err,
	      r.status);

	run(script("script_noint"), NULL, &r);
	CHECK(r.err == ENOENT, "missing interpreter: ENOENT (errno %d)", r.err);

	run(script("script_noshebang"), NULL, &r);
	CHECK(r.err == ENOEXEC, "no #! line: ENOEXEC (errno %d)", r.err);

	/* And directly, in this process: the failures leave the caller intact. */
	char *const nargv[] = { (char *)script("script_noint"), NULL };
	CHECK_ERRNO(execve(nargv[0], nargv, environ), ENOENT, "execve(script_noint) here -> ENOENT");
	return check_exit();
}
