/*
 * Close-on-exec: of several descriptors, only those without FD_CLOEXEC
 * survive execve (checked by /test/proc/fdcheck, which reports through its
 * exit status which fds are open). Also F_GETFD/F_SETFD, F_DUPFD and
 * F_DUPFD_CLOEXEC, dup (never cloexec) and O_CLOEXEC at open.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "guestpath.h"
#include "procutil.h"

int main(int argc, char **argv)
{
	guest_root_init(argv[0]);
	const char *fdcheck = guest_path("/test/proc/fdcheck");

	int a = open(fdcheck, O_RDONLY | O_CLOEXEC);	/* cloexec */
	int b = open(fdcheck, O_RDONLY);		/* kept */
	CHECK(a >= 0 && b >= 0, "open with and without O_CLOEXEC: %d, %d", a, b);
	CHECK(fcntl(a, F_GETFD) == FD_CLOEXEC, "F_GETFD(O_CLOEXEC fd) == FD_CLOEXEC");
	CHECK(fcntl(b, F_GETFD) == 0, "F_GETFD(plain fd) == 0");

	int c = fcntl(b, F_DUPFD_CLOEXEC, 20);		/* cloexec */
	CHECK(c >= 20, "F_DUPFD_CLOEXEC(min 20) = %d", c);
	CHECK(fcntl(c, F_GETFD) == FD_CLOEXEC, "F_DUPFD_CLOEXEC sets FD_CLOEXEC");
	int d = dup(a);					/* kept */
	CHECK(d >= 0 && fcntl(d, F_GETFD) == 0, "dup() of a cloexec fd is not cloexec");
	int e = fcntl(b, F_DUPFD, 30);			/* becomes cloexec */
	CHECK(e >= 30 && fcntl(e, F_GETFD) == 0, "F_DUPFD(min 30) = %d, not cloexec", e);
	CHECK(fcntl(e, F_SETFD, FD_CLOEXEC) == 0 && fcntl(e, F_GETFD) == FD_CLOEXEC,
	      "F_SETFD(FD_CLOEXEC)");
	int f = dup(b);					/* cloexec cleared again */
	CHECK(fcntl(f, F_SETFD, FD_CLOEXEC) == 0 && fcntl(f, F_SETFD, 0) == 0 && fcntl(f, F_GETFD) == 0,
	      "F_SETFD(0) clears FD_CLOEXEC");
	int g = dup3(b, 40, O_CLOEXEC);			/* cloexec */
	CHECK(g == 40 && fcntl(g, F_GETFD) == FD_CLOEXEC, "dup3(O_CLOEXEC)");
	CHECK_ERRNO(fcntl(1000, F_GETFD), EBADF, "F_GETFD(closed fd) -> EBADF");

	char s[7][16];
	int fds[7] = { a, b, c, d, e, f, g };
	for (int i = 0; i < 7; i++)
		snprintf(s[i], sizeof(s[i]), "%d", fds[i]);
	char *const fargv[] = { (char *)fdcheck, s[0], s[1], s[2], s[3], s[4], s[5], s[6], NULL };
	char out[1024];
	int status = -1;
	run_capture(fdcheck, fargv, NULL, out, sizeof(out), &status);
	/* Open after exec: b (bit 1), d (bit 3), f (bit 5). */
	int want = (1 << 1) | (1 << 3) | (1 << 5);
	CHECK(WIFEXITED(status), "fdcheck ran (status word %#x)", status);
	CHECK(WEXITSTATUS(status) == want,
	      "after exec only the fds without FD_CLOEXEC are open (mask %#x, want %#x)",
	      WEXITSTATUS(status), want);
	if (WEXITSTATUS(status) != want)
		INFO("fds a..g = %d %d %d %d %d %d %d; fdcheck said:\n%s", a, b, c, d, e, f, g, out);
	CHECK(fcntl(a, F_GETFD) == FD_CLOEXEC && fcntl(c, F_GETFD) == FD_CLOEXEC,
	      "cloexec fds still open in the parent");
	return check_exit();
}
