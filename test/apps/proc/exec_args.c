/*
 * execve() argument passing and its limits:
 * - fork + execve of /test/exec/args with argv "one two three" and a custom
 *   environment: its own checks pass (status 0);
 * - a 100 KiB argument is accepted;
 * - a single 200 KiB argument (more than MAX_ARG_STRLEN, 128 KiB) fails
 *   with E2BIG and the caller goes on;
 * - argument strings adding up to more than 8 MiB / 4 fail with E2BIG
 *   (Linux allows at most a quarter of the stack limit, and never more
 *   than 6 MiB);
 * - the same for an oversized environment string.
 * The E2BIG calls are made by this process itself; had one succeeded, it
 * would have become helper_exit with status 99.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "guestpath.h"
#include "procutil.h"

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	const char *args = guest_path("/test/exec/args");
	const char *helper = guest_path("/test/proc/helper_exit");
	char out[16384];
	int status = -1;

	char *const aargv[] = { (char *)args, "one", "two", "three", NULL };
	char *const aenv[] = { "EXEC_ARGS_TEST=1", "HOME=/", "A=b=c", NULL };
	pid_t pid = run_capture(args, aargv, aenv, out, sizeof(out), &status);
	CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "exec/args one two three with a custom environment passes (status word %#x)", status);
	CHECK(strstr(out, "checks ok") != NULL, "exec/args printed its summary");
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		INFO("exec/args said:\n%s", out);

	/* Strings: 100 KiB (fits), 200 KiB (too long), 120 KiB (for the total). */
	size_t big = 200 * 1024, ok = 100 * 1024, part = 120 * 1024;
	char *s_big = malloc(big + 1), *s_ok = malloc(ok + 1), *s_part = malloc(part + 1);
	CHECK(s_big && s_ok && s_part, "malloc");
	if (!s_big || !s_ok || !s_part)
		return check_exit();
	memset(s_big, 'x', big);
	s_big[big] = '\0';
	memset(s_ok, 'y', ok);
	s_ok[ok] = '\0';
	memset(s_part, 'z', part);
	s_part[part] = '\0';

	char *const okargv[] = { (char *)helper, "0", s_ok, NULL };
	pid = run_capture(helper, okargv, NULL, out, sizeof(out), &status);
	CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "execve with a 100 KiB argument works (status word %#x)", status);

	char *const bigargv[] = { (char *)helper, "99", s_big, NULL };
	CHECK_ERRNO(execve(helper, bigargv, environ), E2BIG, "execve with a 200 KiB argument -> E2BIG");
	CHECK(1, "the caller continues after the failed execve");

	char *const bigenv[] = { "A=1", s_big, NULL };
	char *const hargv[] = { (char *)helper, "99", NULL };
	CHECK_ERRNO(execve(helper, hargv, bigenv), E2BIG, "execve with a 200 KiB environment string -> E2BIG");

	/* 72 x 120 KiB = 8.4 MiB of arguments. */
	enum { NPARTS = 72 };
	char **many = calloc(NPARTS + 3, sizeof(char *));
	CHECK(many != NULL, "calloc");
	if (!many)
		return check_exit();
	many[0] = (char *)helper;
	many[1] = "99";
	for (int i = 0; i < NPARTS; i++)
		many[2 + i] = s_part;
	CHECK_ERRNO(execve(helper, many, environ), E2BIG,
		    "execve with %d arguments of 120 KiB (8.4 MiB in all) -> E2BIG", NPARTS);
	CHECK(1, "the caller continues after the failed execve");
	return check_exit();
}
