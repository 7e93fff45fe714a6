/*
 * Terminal ioctls on /dev/tty or /dev/console (in the guest: the serial
 * console). Skipped (exit 0) when neither can be opened. Never reads from
 * the terminal, and restores every setting it changes.
 * - isatty; tcgetattr/tcsetattr round trip with ICANON and ECHO cleared;
 * - TIOCGWINSZ/TIOCSWINSZ round trip;
 * - cfgetospeed gives a valid speed;
 * - tcflush, tcdrain; isatty is false on a pipe (ENOTTY).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"

static int valid_speed(speed_t s)
{
	static const speed_t speeds[] = { B0, B50, B75, B110, B134, B150, B200, B300, B600, B1200, B1800, B2400,
					  B4800, B9600, B19200, B38400, B57600, B115200, B230400, B460800,
					  B500000, B576000, B921600, B1000000, B1152000, B1500000, B2000000,
					  B2500000, B3000000, B3500000, B4000000 };
	for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++)
		if (s == speeds[i])
			return 1;
	return 0;
}

int main(void)
{
	const char *names[] = { "/dev/tty", "/dev/console" };
	const char *name = NULL;
	int fd = -1;

	for (int i = 0; i < 2 && fd < 0; i++) {
		fd = open(names[i], O_RDWR | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0 && !isatty(fd)) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0)
			name = names[i];
	}
	if (fd < 0) {
		printf("skip: no terminal (/dev/tty, /dev/console: %s)\n", strerror(errno));
		INFO("no checks run");
		return check_exit();
	}
	INFO("using %s", name);
	CHECK(isatty(fd), "isatty(%s)", name);

	struct termios orig, t, back;
	CHECK(tcgetattr(fd, &orig) == 0, "tcgetattr (TCGETS)");
	t = orig;
	t.c_lflag &= ~(ICANON | ECHO);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	CHECK(tcsetattr(fd, TCSANOW, &t) == 0, "tcsetattr(TCSANOW) with ICANON and ECHO cleared");
	CHECK(tcgetattr(fd, &back) == 0 && !(back.c_lflag & ICANON) && !(back.c_lflag & ECHO), "read back: ICANON and ECHO off");
	CHECK(back.c_cc[VMIN] == 1 && back.c_cc[VTIME] == 0, "VMIN/VTIME read back");
	CHECK(back.c_iflag == t.c_iflag && back.c_oflag == t.c_oflag, "c_iflag and c_oflag unchanged");
	CHECK(tcsetattr(fd, TCSADRAIN, &orig) == 0, "tcsetattr(TCSADRAIN) restores the original");
	CHECK(tcgetattr(fd, &back) == 0 && back.c_lflag == orig.c_lflag && back.c_iflag == orig.c_iflag &&
		      back.c_oflag == orig.c_oflag && back.c_cflag == orig.c_cflag,
	      "read back: flags equal to the original");
	CHECK((back.c_lflag & ICANON) == (orig.c_lflag & ICANON), "ICANON as before");

	speed_t os = cfgetospeed(&orig), is = cfgetispeed(&orig);
	CHECK(valid_speed(os), "cfgetospeed gives a valid speed (%#o)", (unsigned)os);
	CHECK(valid_speed(is), "cfgetispeed gives a valid speed (%#o)", (unsigned)is);

	struct winsize ws, ws2, ws3;
	CHECK(ioctl(fd, TIOCGWINSZ, &ws) == 0, "TIOCGWINSZ (%ux%u)", ws.ws_col, ws.ws_row);
	ws2 = ws;
	ws2.ws_row = 37;
	ws2.ws_col = 101;
	CHECK(ioctl(fd, TIOCSWINSZ, &ws2) == 0, "TIOCSWINSZ 101x37");
	CHECK(ioctl(fd, TIOCGWINSZ, &ws3) == 0 && ws3.ws_row == 37 && ws3.ws_col == 101, "TIOCGWINSZ reads back 101x37");
	CHECK(ioctl(fd, TIOCSWINSZ, &ws) == 0 && ioctl(fd, TIOCGWINSZ, &ws3) == 0 && ws3.ws_row == ws.ws_row &&
		      ws3.ws_col == ws.ws_col,
	      "original size restored");

	CHECK(tcdrain(fd) == 0, "tcdrain (TCSBRK 1)");
	CHECK(tcflush(fd, TCOFLUSH) == 0, "tcflush(TCOFLUSH) (TCFLSH)");
	CHECK(tcflush(fd, TCIFLUSH) == 0, "tcflush(TCIFLUSH) (TCFLSH)");
	CHECK_ERRNO(tcflush(fd, 99), EINVAL, "tcflush with a bad queue -> EINVAL");

	int avail = -1;
	CHECK(ioctl(fd, FIONREAD, &avail) == 0 && avail >= 0, "FIONREAD (%d bytes queued)", avail);

	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	errno = 0;
	CHECK(!isatty(p[0]) && errno == ENOTTY, "isatty(pipe) is false with ENOTTY");
	CHECK_ERRNO(tcgetattr(p[0], &t), ENOTTY, "tcgetattr(pipe) -> ENOTTY");
	CHECK_ERRNO(ioctl(p[0], TIOCGWINSZ, &ws), ENOTTY, "TIOCGWINSZ on a pipe -> ENOTTY");
	close(p[0]);
	close(p[1]);
	close(fd);
	return check_exit();
}
