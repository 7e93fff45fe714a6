/*
 * fork + execve of the static PIE programs, built with musl (linked by hand
 * with rcrt1.o) and glibc (-static-pie); their output is read through a
 * pipe. Also the static non-PIE ones, for comparison.
 */
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "guestpath.h"
#include "procutil.h"

static void run(const char *guest, const char *want)
{
	const char *path = guest_path(guest);
	char *const argv[] = { (char *)path, NULL };
	char out[4096];
	int status = -1;

	pid_t pid = run_capture(path, argv, NULL, out, sizeof(out), &status);
	CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s exited 0 (status word %#x)",
	      guest, status);
	CHECK(strstr(out, want) != NULL, "%s printed \"%s\" (got \"%.80s\")", guest, want, out);
}

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	run("/test/basic/hello-musl-pie", "hello from musl static-pie.");
	run("/test/basic/hello-glibc-pie", "hello from glibc static-pie.");
	run("/test/basic/hello", "hello from musl static.");
	run("/test/basic/hello-glibc", "hello from glibc static.");
	return check_exit();
}
