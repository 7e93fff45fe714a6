/*
 * Every open of /dev/console (and /dev/tty) is its own open file
 * description with its own access mode and status flags.
 *
 * Found by the fuzzer: workers that opened /dev/console O_RDONLY still
 * wrote random bytes to the screen, because every open returned one shared
 * console file that ignores the access mode; for the same reason an
 * F_SETFL O_NONBLOCK on such a descriptor changes the flags of every other
 * descriptor of the console, PID 1's standard output included.
 *
 * Needs the console to be openable (root on a host).
 */
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "check.h"

int main(void)
{
	if (getpid() == 1)	/* booted as init: nobody mounted /dev */
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	int ro = open("/dev/console", O_RDONLY | O_NOCTTY);
	int rw = open("/dev/console", O_RDWR | O_NOCTTY);
	if (ro < 0 || rw < 0) {
		INFO("cannot open /dev/console here; nothing to check");
		return check_exit();
	}

	CHECK((fcntl(ro, F_GETFL) & O_ACCMODE) == O_RDONLY, "F_GETFL of the O_RDONLY open is O_RDONLY");
	CHECK((fcntl(rw, F_GETFL) & O_ACCMODE) == O_RDWR, "F_GETFL of the O_RDWR open is O_RDWR");
	/* Linux checks the access mode before it looks at the length. */
	CHECK_ERRNO(write(ro, "", 0), EBADF, "write of 0 bytes to the O_RDONLY console");
	CHECK_ERRNO(write(ro, "x", 1), EBADF, "write of 1 byte to the O_RDONLY console");

	CHECK(fcntl(ro, F_SETFL, O_NONBLOCK) == 0, "F_SETFL O_NONBLOCK on one open");
	CHECK((fcntl(rw, F_GETFL) & O_NONBLOCK) == 0, "the other open stays blocking");
	fcntl(ro, F_SETFL, 0);

	int wo = open("/dev/null", O_WRONLY);
	char c;
	CHECK_ERRNO(read(wo, &c, 1), EBADF, "read from O_WRONLY /dev/null");
	int rd = open("/dev/null", O_RDONLY);
	CHECK_ERRNO(write(rd, "", 0), EBADF, "write of 0 bytes to O_RDONLY /dev/null");
	return check_exit();
}
