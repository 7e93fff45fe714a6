/*
 * Helper for the exec tests: reports which file descriptors are open.
 *
 *   fdcheck FD...
 *
 * Bit i of the exit status is set if the (i+1)-th FD is open
 * (fcntl(F_GETFD) succeeds). At most 7 descriptors. Also prints one line
 * per descriptor.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int status = 0;

	for (int i = 1; i < argc && i <= 7; i++) {
		int fd = atoi(argv[i]);
		int flags = fcntl(fd, F_GETFD);
		printf("fdcheck: fd %d %s\n", fd, flags == -1 ? "closed" : "open");
		if (flags != -1)
			status |= 1 << (i - 1);
	}
	fflush(stdout);
	return status;
}
