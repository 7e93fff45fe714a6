/*
 * fork + execve of dynamically linked programs: the kernel loads the ELF
 * interpreter named by PT_INTERP (/lib64/ld-linux-x86-64.so.2 for glibc,
 * /lib/ld-musl-x86_64.so.1 for musl), which loads the C library. Their
 * output is read through a pipe.
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
	CHECK(strstr(out, want) != NULL, "%s printed \"%s\" (got \"%.100s\")", guest, want, out);
}

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	run("/test/proc/dyn_hello-glibc", "hello from glibc dynamic, interpreter loaded.");
	run("/test/proc/dyn_hello-musl", "hello from musl dynamic, interpreter loaded.");
	return check_exit();
}
