/*
 * How the kernel reads a `#!` line, byte for byte as Linux does: the
 * interpreter ends at a blank or a NUL, the one argument runs to the end
 * of the line but stops at a NUL (a NUL right after the blank gives an
 * empty argument), trailing blanks are dropped, and a carriage return is
 * part of the line (so "#!/bin/sh\r" names no interpreter).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* Writes `len` bytes as an executable script, runs it and returns what
 * it printed (or the exec errno as "errno N"). */
static void run(const char *body, size_t len, char *out, size_t outlen, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	write(fd, body, len);
	close(fd);
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		dup2(p[1], 1);
		char *argv[] = { (char *)path, NULL };
		execv(path, argv);
		printf("errno %d\n", errno);
		fflush(stdout);
		_exit(0);
	}
	close(p[1]);
	ssize_t n = 0, r;
	while ((r = read(p[0], out + n, outlen - 1 - n)) > 0)
		n += r;
	out[n] = 0;
	close(p[0]);
	waitpid(c, NULL, 0);
	unlink(path);
}

#define RUN(lit, out) run(lit, sizeof(lit) - 1, out, sizeof(out), path)

int main(void)
{
	char path[] = "/tmp/shebang_bytes.sh", out[256], want[256];

	RUN("#!/bin/echo foo\0bar\n", out);
	snprintf(want, sizeof want, "foo %s\n", path);
	CHECK(strcmp(out, want) == 0, "the argument stops at a NUL (%s)", out);

	RUN("#!/bin/echo\0foo\n", out);
	snprintf(want, sizeof want, "%s\n", path);
	CHECK(strcmp(out, want) == 0, "a NUL ends the interpreter and there is no argument (%s)", out);

	RUN("#!/bin/echo \0foo\n", out);
	snprintf(want, sizeof want, " %s\n", path);
	CHECK(strcmp(out, want) == 0, "a NUL right after the blank is an empty argument (%s)", out);

	RUN("#! /bin/echo  a b \t \n", out);
	snprintf(want, sizeof want, "a b %s\n", path);
	CHECK(strcmp(out, want) == 0, "blanks before the interpreter and at the end go (%s)", out);

	RUN("#!/bin/sh\r\necho hi\n", out);
	CHECK(strcmp(out, "errno 2\n") == 0, "a carriage return is part of the interpreter: ENOENT (%s)",
	      out);
	return check_exit();
}
