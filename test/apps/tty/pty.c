/*
 * Pseudo-terminals: /dev/ptmx and /dev/pts.
 *
 * - posix_openpt/grantpt/unlockpt/ptsname, TIOCGPTN, TIOCGPTPEER; the
 *   slave cannot be opened before unlockpt (EIO); bad pointers give
 *   EFAULT, unknown ioctls ENOTTY; /proc/sys/kernel/pty/nr counts pairs;
 * - data both ways in raw mode, poll and epoll readiness on both ends,
 *   SIGIO from an O_ASYNC master, VMIN and VTIME;
 * - canonical mode: erase, echo on the master (ECHOCTL), ONLCR;
 * - job control: a child that did setsid + TIOCSCTTY is the foreground
 *   group (TIOCGPGRP on both ends), ^C written to the master sends it
 *   SIGINT (so does TIOCSIG), TIOCSWINSZ on the master SIGWINCH, and
 *   closing the master SIGHUP, after which its slave reads give end of
 *   file and writes EIO; TIOCGETD and TIOCOUTQ;
 * - sessions: /dev/tty is the slave for a process whose controlling
 *   terminal it is; a background read gets SIGTTIN; TIOCSPGRP to a group
 *   that does not exist (ESRCH) or is in another session (EPERM); the
 *   session leader's exit sends SIGHUP to the foreground group;
 * - closing the slave: master reads give EIO, poll gives POLLHUP;
 * - packet mode (TIOCPKT): TIOCPKT_DATA headers, FLUSHREAD and FLUSHWRITE
 *   (tcflush, a signal character), DOSTOP and NOSTOP;
 * - a full buffer: EAGAIN with O_NONBLOCK, a blocked write ends with EINTR;
 *   blocked readers and writers die of SIGKILL;
 * - opening /dev/ptmx until the limit gives ENOSPC, with fewer than 4096
 *   open (Linux's /proc/sys/kernel/pty/max, which it never reaches);
 * - a pty driving /bin/sh.
 * Every blocking step is bounded by poll or alarm.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static void on_alarm(int sig)
{
	(void)sig;
}

/* Waits up to ms for events on fd; returns the revents (0 on timeout). */
static int wait_for(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	if (poll(&p, 1, ms) <= 0)
		return 0;
	return p.revents;
}

/* Reads what is there within ms (one read after poll says readable). */
static ssize_t read_within(int fd, void *buf, size_t len, int ms)
{
	if (!(wait_for(fd, POLLIN, ms) & (POLLIN | POLLHUP | POLLERR)))
		return -2;
	return read(fd, buf, len);
}

/* Reads until `want` bytes or ms pass without more data. */
static size_t read_all_within(int fd, char *buf, size_t want, int ms)
{
	size_t got = 0;
	while (got < want) {
		ssize_t n = read_within(fd, buf + got, want - got, ms);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/* A number from a /proc file, or -1. */
static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Opens a pty pair; the slave in raw mode if raw. */
static int open_pair(int *m, int *s, int raw)
{
	*m = posix_openpt(O_RDWR | O_NOCTTY);
	if (*m < 0 || grantpt(*m) || unlockpt(*m))
		return -1;
	*s = open(ptsname(*m), O_RDWR | O_NOCTTY);
	if (*s < 0)
		return -1;
	if (raw) {
		struct termios t;
		tcgetattr(*s, &t);
		cfmakeraw(&t);
		tcsetattr(*s, TCSANOW, &t);
	}
	return 0;
}

static volatile sig_atomic_t got_int, got_winch, got_hup, got_io;

static void on_sig(int sig)
{
	if (sig == SIGIO)
		got_io++;
	else if (sig == SIGINT)
		got_int++;
	else if (sig == SIGWINCH)
		got_winch++;
	else if (sig == SIGHUP)
		got_hup++;
}

static void test_open(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(m >= 0, "posix_openpt");
	if (m < 0)
		return;
	unsigned n = 12345;
	CHECK(ioctl(m, TIOCGPTN, &n) == 0 && n != 12345, "TIOCGPTN gives %u", n);
	char want[64];
	snprintf(want, sizeof want, "/dev/pts/%u", n);
	const char *name = ptsname(m);
	CHECK(name && !strcmp(name, want), "ptsname is %s", name ? name : "(null)");
	CHECK(grantpt(m) == 0, "grantpt");
	CHECK_ERRNO(open(want, O_RDWR | O_NOCTTY), EIO, "opening the slave before unlockpt");
	CHECK(unlockpt(m) == 0, "unlockpt");
	int s = open(want, O_RDWR | O_NOCTTY);
	CHECK(s >= 0, "the slave opens after unlockpt");
	struct stat st;
	CHECK(fstat(s, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 && major(st.st_rdev) < 144 &&
		      minor(st.st_rdev) == n % 256,
	      "the slave is a character device 136:%u", n);
	CHECK(stat(want, &st) == 0 && S_ISCHR(st.st_mode), "stat(%s)", want);
	CHECK(isatty(m) && isatty(s), "both ends are terminals");
	CHECK(access("/dev/ptmx", R_OK | W_OK) == 0, "/dev/ptmx is there");

	int lock = 1;
	CHECK(ioctl(m, TIOCSPTLCK, &lock) == 0, "TIOCSPTLCK locks again");
	CHECK_ERRNO(open(want, O_RDWR | O_NOCTTY), EIO, "a locked slave does not open");
	lock = 0;
	CHECK(ioctl(m, TIOCSPTLCK, &lock) == 0, "TIOCSPTLCK unlocks");

	int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	struct stat st2;
	CHECK(peer >= 0 && fstat(peer, &st2) == 0 && fstat(s, &st) == 0 && st.st_rdev == st2.st_rdev,
	      "TIOCGPTPEER opens the same slave");
	if (peer >= 0)
		close(peer);

	CHECK_ERRNO(ioctl(m, TIOCGPTN, (void *)8), EFAULT, "TIOCGPTN to a bad pointer");
	CHECK_ERRNO(ioctl(m, TIOCSPTLCK, (void *)8), EFAULT, "TIOCSPTLCK from a bad pointer");
	CHECK_ERRNO(ioctl(s, TIOCGWINSZ, (void *)8), EFAULT, "TIOCGWINSZ to a bad pointer");
	CHECK_ERRNO(ioctl(m, TCGETS, (void *)8), EFAULT, "TCGETS on the master to a bad pointer");
	CHECK_ERRNO(ioctl(s, _IO('T', 0x7e)), ENOTTY, "an unknown ioctl on the slave");
	CHECK_ERRNO(ioctl(m, _IO('T', 0x7e)), ENOTTY, "an unknown ioctl on the master");
	CHECK_ERRNO(ioctl(s, TIOCGPTN, &n), ENOTTY, "TIOCGPTN on the slave");
	CHECK(close(s) == 0 && close(m) == 0, "close both ends");
	CHECK_ERRNO(open(want, O_RDWR | O_NOCTTY), ENOENT, "the slave is gone with its master");

	/* /proc/sys/kernel/pty counts them. */
	long max = read_long("/proc/sys/kernel/pty/max"), nr0 = read_long("/proc/sys/kernel/pty/nr");
	int p1 = posix_openpt(O_RDWR | O_NOCTTY);
	long nr1 = read_long("/proc/sys/kernel/pty/nr");
	close(p1);
	CHECK(max == 4096 && nr1 == nr0 + 1, "/proc/sys/kernel/pty: max %ld, nr %ld then %ld", max, nr0, nr1);

	/* Numbers are reused lowest first, as on Linux. */
	int a = posix_openpt(O_RDWR | O_NOCTTY), b = posix_openpt(O_RDWR | O_NOCTTY);
	unsigned na = 0, nb = 0;
	CHECK(a >= 0 && b >= 0 && ioctl(a, TIOCGPTN, &na) == 0 && ioctl(b, TIOCGPTN, &nb) == 0 && na != nb,
	      "two masters have different numbers (%u, %u)", na, nb);
	close(a);
	int c = posix_openpt(O_RDWR | O_NOCTTY);
	unsigned nc = 0;
	CHECK(c >= 0 && ioctl(c, TIOCGPTN, &nc) == 0 && nc == na, "a freed number is reused (%u)", nc);
	close(b);
	close(c);
}

static void test_raw(void)
{
	int m, s;
	CHECK(open_pair(&m, &s, 1) == 0, "open a pair in raw mode");
	CHECK(wait_for(s, POLLIN, 0) == 0, "an empty slave is not readable");
	CHECK(wait_for(m, POLLIN, 0) == 0, "an empty master is not readable");
	CHECK(wait_for(m, POLLOUT, 0) & POLLOUT, "the master is writable");
	CHECK(wait_for(s, POLLOUT, 0) & POLLOUT, "the slave is writable");
	char buf[64] = { 0 };
	CHECK(write(m, "abc", 3) == 3, "write 3 bytes to the master");
	CHECK(wait_for(s, POLLIN, 1000) & POLLIN, "the slave is readable");
	CHECK(read_within(s, buf, sizeof buf, 1000) == 3 && !memcmp(buf, "abc", 3), "the slave reads them");
	CHECK(wait_for(m, POLLIN, 0) == 0, "nothing echoed in raw mode");
	CHECK(write(s, "xyz\n", 4) == 4, "write 4 bytes to the slave");
	CHECK(wait_for(m, POLLIN, 1000) & POLLIN, "the master is readable");
	CHECK(read_all_within(m, buf, 4, 1000) == 4 && !memcmp(buf, "xyz\n", 4), "the master reads them (no ONLCR)");
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = m }, out[2];
	epoll_ctl(ep, EPOLL_CTL_ADD, m, &ev);
	ev.data.fd = s;
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	CHECK(epoll_wait(ep, out, 2, 0) == 0, "epoll: neither end is readable");
	int n = write(s, "e", 1) == 1 ? epoll_wait(ep, out, 2, 1000) : -1;
	CHECK(n == 1 && out[0].data.fd == m, "epoll: the master is readable after a slave write");
	read_within(m, buf, sizeof buf, 1000);
	n = write(m, "f", 1) == 1 ? epoll_wait(ep, out, 2, 1000) : -1;
	CHECK(n == 1 && out[0].data.fd == s, "epoll: the slave is readable after a master write");
	read_within(s, buf, sizeof buf, 1000);
	close(ep);
	/* O_ASYNC on the master: SIGIO when the slave writes. */
	struct sigaction io = { .sa_handler = on_sig };
	sigaction(SIGIO, &io, NULL);
	got_io = 0;
	CHECK(fcntl(m, F_SETOWN, getpid()) == 0 && fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_ASYNC) == 0,
	      "F_SETOWN and O_ASYNC on the master");
	CHECK(write(s, "g", 1) == 1 && wait_for(m, POLLIN, 1000) && got_io, "SIGIO when the slave writes");
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) & ~O_ASYNC);
	signal(SIGIO, SIG_IGN);
	read_within(m, buf, sizeof buf, 1000);
	fcntl(s, F_SETFL, O_NONBLOCK);
	CHECK_ERRNO(read(s, buf, sizeof buf), EAGAIN, "a non-blocking read of an empty slave");
	fcntl(s, F_SETFL, 0);
	/* VMIN and VTIME. */
	struct termios t;
	tcgetattr(s, &t);
	t.c_cc[VMIN] = 3;
	t.c_cc[VTIME] = 0;
	tcsetattr(s, TCSANOW, &t);
	CHECK(write(m, "ab", 2) == 2 && wait_for(s, POLLIN, 200) == 0, "VMIN 3: two bytes do not make the slave readable");
	CHECK(write(m, "c", 1) == 1 && wait_for(s, POLLIN, 1000) & POLLIN, "the third does");
	alarm(5);
	n = read(s, buf, sizeof buf);
	alarm(0);
	CHECK(n == 3, "VMIN 3: the read gets three bytes (%d)", n);
	t.c_cc[VMIN] = 5;
	t.c_cc[VTIME] = 1;
	tcsetattr(s, TCSANOW, &t);
	CHECK(write(m, "xy", 2) == 2, "VMIN 5, VTIME 1: write two bytes");
	alarm(5);
	n = read(s, buf, sizeof buf);
	alarm(0);
	CHECK(n == 2, "the read ends after a 0.1 s gap with two (%d)", n);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 2;
	tcsetattr(s, TCSANOW, &t);
	alarm(5);
	n = read(s, buf, sizeof buf);
	alarm(0);
	CHECK(n == 0, "VMIN 0, VTIME 2: a read of nothing ends with 0 after 0.2 s");
	t.c_cc[VTIME] = 0;
	tcsetattr(s, TCSANOW, &t);
	CHECK(read(s, buf, sizeof buf) == 0, "VMIN 0, VTIME 0: returns 0 at once");
	t.c_cc[VMIN] = 1;
	tcsetattr(s, TCSANOW, &t);
	int avail = -1;
	CHECK(write(m, "12345", 5) == 5 && wait_for(s, POLLIN, 1000) && ioctl(s, FIONREAD, &avail) == 0 && avail == 5,
	      "FIONREAD on the slave (%d)", avail);
	CHECK(read_all_within(s, buf, 5, 1000) == 5, "read them");
	close(s);
	close(m);
}

static void test_canonical(void)
{
	int m, s;
	CHECK(open_pair(&m, &s, 0) == 0, "open a pair in canonical mode");
	struct termios t;
	CHECK(tcgetattr(s, &t) == 0 && (t.c_lflag & ICANON) && (t.c_lflag & ECHO) && (t.c_lflag & ISIG) &&
		      (t.c_oflag & ONLCR) && t.c_cc[VERASE] == 0x7f && t.c_cc[VINTR] == 3,
	      "a new pty is canonical with echo, ISIG and ONLCR");
	struct termios tm;
	CHECK(tcgetattr(m, &tm) == 0 && tm.c_lflag == t.c_lflag, "TCGETS on the master gives the slave's termios");
	char buf[64] = { 0 };
	CHECK(write(m, "ab", 2) == 2, "type ab");
	CHECK(wait_for(s, POLLIN, 200) == 0, "no line yet: the slave is not readable");
	CHECK(write(m, "\x7f" "c\n", 3) == 3, "type erase, c, newline");
	ssize_t n = read_within(s, buf, sizeof buf, 1000);
	CHECK(n == 3 && !memcmp(buf, "ac\n", 3), "the slave reads the edited line \"ac\\n\" (%zd)", n);
	const char echo[] = "ab\b \bc\r\n";
	memset(buf, 0, sizeof buf);
	n = read_all_within(m, buf, sizeof echo - 1, 1000);
	CHECK(n == (ssize_t)sizeof echo - 1 && !memcmp(buf, echo, n), "the master sees the echo \"ab\\b \\bc\\r\\n\" (%zd)", n);
	CHECK(write(s, "out\n", 4) == 4, "the slave writes a line");
	n = read_all_within(m, buf, 5, 1000);
	CHECK(n == 5 && !memcmp(buf, "out\r\n", 5), "ONLCR: the master reads \"out\\r\\n\"");

	/* ECHOCTL: a control character echoes as ^A. */
	CHECK(write(m, "x\x01\n", 3) == 3, "type x, ^A, newline");
	n = read_within(s, buf, sizeof buf, 1000);
	CHECK(n == 3 && !memcmp(buf, "x\x01\n", 3), "the slave reads the control character as it is");
	n = read_all_within(m, buf, 5, 1000);
	CHECK(n == 5 && !memcmp(buf, "x^A\r\n", 5), "the master sees it echoed as \"^A\"");

	/* Two lines at once are read one at a time; ^D ends a partial line. */
	CHECK(write(m, "one\ntwo\n", 8) == 8, "type two lines");
	n = read_within(s, buf, sizeof buf, 1000);
	CHECK(n == 4 && !memcmp(buf, "one\n", 4), "the first read gets the first line");
	n = read_within(s, buf, sizeof buf, 1000);
	CHECK(n == 4 && !memcmp(buf, "two\n", 4), "the second read gets the second");
	CHECK(write(m, "par\x04", 4) == 4, "type a partial line and ^D");
	n = read_within(s, buf, sizeof buf, 1000);
	CHECK(n == 3 && !memcmp(buf, "par", 3), "^D delivers the partial line");
	CHECK(write(m, "\x04", 1) == 1, "^D on an empty line");
	n = read_within(s, buf, sizeof buf, 1000);
	CHECK(n == 0, "reads as end of file");
	tcflush(m, TCIOFLUSH);
	close(s);
	close(m);
}

/* Child side of test_job_control: report over `rep`, wait for steps on `cmd`. */
static void job_child(int s_unused, const char *name, int cmd, int rep)
{
	(void)s_unused;
	struct sigaction sa = { .sa_handler = on_sig };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	alarm(20);
	char r = 'E';
	if (setsid() < 0)
		goto fail;
	int s = open(name, O_RDWR | O_NOCTTY);
	if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
		goto fail;
	if (tcgetpgrp(s) != getpid())
		goto fail;
	r = 'R';
	write(rep, &r, 1);
	/* Step 1: ^C arrives. */
	while (!got_int)
		pause();
	r = 'I';
	write(rep, &r, 1);
	/* Step 1b: TIOCSIG on the master. */
	while (got_int < 2)
		pause();
	r = 'J';
	write(rep, &r, 1);
	/* Step 2: the window size changes. */
	while (!got_winch)
		pause();
	struct winsize ws;
	r = ioctl(s, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 33 && ws.ws_col == 77 ? 'W' : 'w';
	write(rep, &r, 1);
	/* Step 3: the master closes. */
	while (!got_hup)
		pause();
	char buf[8];
	ssize_t n = read(s, buf, sizeof buf);
	int rerr = errno;
	r = n == 0 ? 'H' : 'h';
	write(rep, &r, 1);
	n = write(s, "x", 1);
	int werr = errno;
	struct termios t;
	int terr = tcgetattr(s, &t) == -1 ? errno : 0;
	pid_t me = getpid();
	int perr = ioctl(s, TIOCSPGRP, &me) == -1 ? errno : 0;
	r = n == -1 && werr == EIO && terr == EIO && perr == ENOTTY ? 'O' : 'o';
	write(rep, &r, 1);
	(void)rerr;
	_exit(0);
fail:
	write(rep, &r, 1);
	_exit(1);
}

static char read_report(int rep)
{
	char c = '?';
	if (read_within(rep, &c, 1, 5000) != 1)
		return '?';
	return c;
}

static void test_job_control(void)
{
	int m, s;
	CHECK(open_pair(&m, &s, 0) == 0, "open a pair for job control");
	char name[64];
	snprintf(name, sizeof name, "%s", ptsname(m));
	int rep[2];
	pipe(rep);
	pid_t pid = fork();
	if (pid == 0) {
		close(m);
		close(rep[0]);
		job_child(s, name, -1, rep[1]);
	}
	close(rep[1]);
	char c = read_report(rep[0]);
	CHECK(c == 'R', "child: setsid, TIOCSCTTY, tcgetpgrp is its pid (%c)", c);
	pid_t pg = 0;
	CHECK(ioctl(m, TIOCGPGRP, &pg) == 0 && pg == pid, "TIOCGPGRP on the master gives the child's group");
	CHECK_ERRNO(ioctl(s, TIOCGPGRP, &pg), ENOTTY, "TIOCGPGRP on the slave from another session");
	pid_t sid = 0;
	CHECK(ioctl(m, TIOCGSID, &sid) == 0 && sid == pid, "TIOCGSID on the master gives the child's session");

	CHECK(write(m, "\x03", 1) == 1, "write ^C to the master");
	c = read_report(rep[0]);
	CHECK(c == 'I', "the child gets SIGINT (%c)", c);
	char buf[16] = { 0 };
	ssize_t n = read_all_within(m, buf, 2, 1000);
	CHECK(n == 2 && !memcmp(buf, "^C", 2), "^C is echoed as \"^C\"");

	CHECK(ioctl(m, TIOCSIG, SIGINT) == 0, "TIOCSIG SIGINT on the master");
	c = read_report(rep[0]);
	CHECK(c == 'J', "the child gets SIGINT again (%c)", c);
	CHECK_ERRNO(ioctl(m, TIOCSIG, SIGUSR1), EINVAL, "TIOCSIG with another signal");
	int ldisc = -1, outq = -1;
	CHECK(ioctl(m, TIOCGETD, &ldisc) == 0 && ldisc == 0, "TIOCGETD: N_TTY");
	CHECK(ioctl(m, TIOCOUTQ, &outq) == 0 && outq == 0, "TIOCOUTQ: 0");

	struct winsize ws = { .ws_row = 33, .ws_col = 77 };
	CHECK(ioctl(m, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ 77x33 on the master");
	c = read_report(rep[0]);
	CHECK(c == 'W', "the child gets SIGWINCH and reads 77x33 from the slave (%c)", c);
	struct winsize ws2;
	CHECK(ioctl(m, TIOCGWINSZ, &ws2) == 0 && ws2.ws_row == 33, "TIOCGWINSZ on the master too");

	close(s);
	CHECK(close(m) == 0, "close the master");
	c = read_report(rep[0]);
	CHECK(c == 'H', "the child gets SIGHUP; its slave read gives end of file (%c)", c);
	c = read_report(rep[0]);
	CHECK(c == 'O', "after the hang-up slave writes and ioctls give EIO, TIOCSPGRP ENOTTY (%c)", c);
	int st = -1;
	alarm(10);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child exits 0");
	alarm(0);
	close(rep[0]);
}

static volatile sig_atomic_t got_ttin;

static void on_ttin(int sig)
{
	(void)sig;
	got_ttin = 1;
}

/* test_session's session leader: reports over rep. */
static void session_leader(const char *name, int rep)
{
	char r;
	alarm(20);
	setsid();
	int s = open(name, O_RDWR); /* no O_NOCTTY: becomes the controlling terminal */
	struct stat st;
	int t = open("/dev/tty", O_RDWR | O_NOCTTY);
	r = s >= 0 && t >= 0 && tcgetsid(t) == getpid() && tcgetpgrp(t) == getpid() && fstat(t, &st) == 0 &&
			    st.st_rdev == makedev(5, 0)
		    ? 'T'
		    : 't';
	write(rep, &r, 1);

	/* A background group reading its terminal gets SIGTTIN. */
	pid_t bg = fork();
	if (bg == 0) {
		setpgid(0, 0);
		struct sigaction sa = { .sa_handler = on_ttin };
		sigaction(SIGTTIN, &sa, NULL);
		char buf[4];
		ssize_t n = read(s, buf, sizeof buf);
		char c = n == -1 && errno == EINTR && got_ttin ? 'B' : 'b';
		write(rep, &c, 1);
		_exit(0);
	}
	waitpid(bg, NULL, 0);

	errno = 0;
	int e1 = tcsetpgrp(s, 0x3ffffff0) == -1 ? errno : 0;
	int e2 = tcsetpgrp(s, getpgid(getppid())) == -1 ? errno : 0;
	r = e1 == ESRCH && e2 == EPERM && tcsetpgrp(s, getpid()) == 0 ? 'P' : 'p';
	write(rep, &r, 1);

	/* A member of the foreground group outlives the leader. */
	int ready[2];
	pipe(ready);
	pid_t fg = fork();
	if (fg == 0) {
		struct sigaction sa = { .sa_handler = on_sig };
		sigaction(SIGHUP, &sa, NULL);
		alarm(10);
		write(ready[1], "c", 1);
		while (!got_hup)
			pause();
		write(rep, "U", 1);
		_exit(0);
	}
	char c;
	read(ready[0], &c, 1);
	write(rep, "A", 1);
	_exit(0);
}

static void test_session(void)
{
	int m, s;
	CHECK(open_pair(&m, &s, 0) == 0, "open a pair for a session");
	char name[64];
	snprintf(name, sizeof name, "%s", ptsname(m));
	int rep[2];
	pipe(rep);
	pid_t pid = fork();
	if (pid == 0) {
		close(m);
		close(s);
		close(rep[0]);
		session_leader(name, rep[1]);
	}
	close(rep[1]);
	char c = read_report(rep[0]);
	CHECK(c == 'T', "/dev/tty is the controlling pseudo-terminal, and stats as /dev/tty (%c)", c);
	c = read_report(rep[0]);
	CHECK(c == 'B', "a background read gets SIGTTIN and EINTR (%c)", c);
	c = read_report(rep[0]);
	CHECK(c == 'P', "TIOCSPGRP: ESRCH for no group, EPERM for another session's (%c)", c);
	c = read_report(rep[0]);
	CHECK(c == 'A', "the session leader exits (%c)", c);
	c = read_report(rep[0]);
	CHECK(c == 'U', "its foreground group gets SIGHUP (%c)", c);
	int st = -1;
	alarm(10);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the leader exited 0");
	alarm(0);
	close(rep[0]);
	close(s);
	close(m);
}

static void test_slave_close(void)
{
	int m, s;
	CHECK(open_pair(&m, &s, 1) == 0, "open a pair");
	CHECK(write(s, "last", 4) == 4, "the slave writes");
	close(s);
	char buf[16];
	ssize_t n = read_within(m, buf, sizeof buf, 1000);
	CHECK(n == 4, "the master still reads what the slave wrote (%zd)", n);
	CHECK(wait_for(m, POLLIN, 1000) & POLLHUP, "poll on the master gives POLLHUP");
	CHECK_ERRNO(read(m, buf, sizeof buf), EIO, "a master read after the slave closed");
	int s2 = open(ptsname(m), O_RDWR | O_NOCTTY);
	CHECK(s2 >= 0, "the slave opens again");
	CHECK(write(m, "x", 1) == 1 && read_within(s2, buf, 1, 1000) == 1, "and data flows again");
	close(s2);
	close(m);
}

static void test_packet(void)
{
	int m, s;
	CHECK(open_pair(&m, &s, 1) == 0, "open a pair for packet mode");
	int one = 1, got = 0;
	CHECK(ioctl(m, TIOCPKT, &one) == 0, "TIOCPKT on");
	CHECK(ioctl(m, TIOCGPKT, &got) == 0 && got == 1, "TIOCGPKT reads 1");
	char buf[16] = { 0 };
	CHECK(write(s, "hi", 2) == 2, "the slave writes");
	ssize_t n = read_all_within(m, buf, 3, 1000);
	CHECK(n == 3 && buf[0] == TIOCPKT_DATA && !memcmp(buf + 1, "hi", 2), "the master reads TIOCPKT_DATA + data");
	CHECK(tcflush(s, TCIFLUSH) == 0, "tcflush(TCIFLUSH) on the slave");
	CHECK(wait_for(m, POLLPRI, 1000) & POLLPRI, "POLLPRI on the master");
	n = read_within(m, buf, sizeof buf, 1000);
	CHECK(n == 1 && buf[0] == TIOCPKT_FLUSHREAD, "the master reads TIOCPKT_FLUSHREAD (%zd, %#x)", n, buf[0]);
	CHECK(write(s, "lost", 4) == 4 && tcflush(s, TCOFLUSH) == 0, "the slave writes and does tcflush(TCOFLUSH)");
	n = read_within(m, buf, sizeof buf, 1000);
	CHECK(n == 1 && buf[0] == TIOCPKT_FLUSHWRITE, "the master reads TIOCPKT_FLUSHWRITE first (%zd, %#x)", n, buf[0]);
	/* What Linux had already moved to the master's side may remain. */
	while (read_within(m, buf, sizeof buf, 100) > 0)
		;
	/* Flow control switched on and off on the slave. */
	struct termios fc;
	tcgetattr(s, &fc);
	fc.c_iflag |= IXON;
	tcsetattr(s, TCSANOW, &fc);
	n = read_within(m, buf, sizeof buf, 1000);
	CHECK(n == 1 && buf[0] == TIOCPKT_DOSTOP, "IXON on: the master reads TIOCPKT_DOSTOP (%zd, %#x)", n, buf[0]);
	fc.c_iflag &= ~IXON;
	tcsetattr(s, TCSANOW, &fc);
	n = read_within(m, buf, sizeof buf, 1000);
	CHECK(n == 1 && buf[0] == TIOCPKT_NOSTOP, "IXON off: the master reads TIOCPKT_NOSTOP (%zd, %#x)", n, buf[0]);

	/* A signal character flushes both queues. */
	struct termios t;
	tcgetattr(s, &t);
	t.c_lflag |= ISIG;
	tcsetattr(s, TCSANOW, &t);
	CHECK(write(m, "\x03", 1) == 1, "write ^C to the master with ISIG on");
	/* Linux may post the two bits one after the other. */
	int status = 0;
	for (int k = 0; k < 2 && status != (TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE); k++) {
		n = read_within(m, buf, sizeof buf, 1000);
		if (n != 1)
			break;
		status |= buf[0];
	}
	CHECK(status == (TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE), "the master reads TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE (%#x)",
	      status);
	int zero = 0;
	CHECK(ioctl(m, TIOCPKT, &zero) == 0 && write(s, "ab", 2) == 2 && read_all_within(m, buf, 2, 1000) == 2 &&
		      !memcmp(buf, "ab", 2),
	      "TIOCPKT off: plain data again");
	CHECK_ERRNO(ioctl(m, TIOCPKT, (void *)8), EFAULT, "TIOCPKT from a bad pointer");
	close(s);
	close(m);
}

static void test_full(void)
{
	int m, s;
	CHECK(open_pair(&m, &s, 1) == 0, "open a pair to fill");
	fcntl(m, F_SETFL, O_NONBLOCK);
	char chunk[1024];
	memset(chunk, 'z', sizeof chunk);
	long total = 0;
	ssize_t n;
	int i;
	for (i = 0; i < 4096; i++) {
		n = write(m, chunk, sizeof chunk);
		if (n < 0)
			break;
		total += n;
	}
	CHECK(i < 4096 && n == -1 && errno == EAGAIN, "a non-blocking master write fills up and gives EAGAIN after %ld bytes",
	      total);
	CHECK(!(wait_for(m, POLLOUT, 0) & POLLOUT), "the full master is not writable");
	fcntl(m, F_SETFL, 0);
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	/* Linux moves input on asynchronously: room may appear for a while. */
	alarm(1);
	int e = 0;
	for (i = 0; i < 256; i++) {
		n = write(m, chunk, sizeof chunk);
		e = errno;
		if (n < 0)
			break;
	}
	alarm(0);
	CHECK(n == -1 && e == EINTR, "a blocked master write ends with EINTR on a signal (%zd)", n);

	fcntl(s, F_SETFL, O_NONBLOCK);
	total = 0;
	for (i = 0; i < 4096; i++) {
		n = write(s, chunk, sizeof chunk);
		if (n < 0)
			break;
		total += n;
	}
	CHECK(i < 4096 && n == -1 && errno == EAGAIN, "a non-blocking slave write fills up and gives EAGAIN after %ld bytes",
	      total);
	char big[4096];
	long drained = 0;
	while ((n = read_within(m, big, sizeof big, 200)) > 0)
		drained += n;
	CHECK(drained == total, "the master reads all %ld bytes back", drained);
	CHECK(wait_for(s, POLLOUT, 1000) & POLLOUT, "the slave is writable again");

	/* A writer blocked on the full master and a reader blocked on the
	 * empty slave are killable. */
	fcntl(m, F_SETFL, O_NONBLOCK);
	while (write(m, chunk, sizeof chunk) > 0)
		;
	pid_t w = fork();
	if (w == 0) {
		fcntl(m, F_SETFL, 0);
		for (;;)
			write(m, chunk, sizeof chunk);
	}
	int m2, s2;
	CHECK(open_pair(&m2, &s2, 0) == 0, "open another pair");
	pid_t r = fork();
	if (r == 0) {
		read(s2, big, sizeof big);
		_exit(0);
	}
	usleep(200 * 1000);
	kill(w, SIGKILL);
	kill(r, SIGKILL);
	int st = 0;
	alarm(5);
	CHECK(waitpid(r, &st, 0) == r && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "a reader blocked on the slave dies of SIGKILL");
	CHECK(waitpid(w, &st, 0) == w && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "a writer blocked on the full master dies of SIGKILL");
	alarm(0);
	close(s2);
	close(m2);
	close(s);
	close(m);
}

/* Opens /dev/ptmx up to 1000 times (descriptor tables may be limited to
 * 1024), reports the count and the errno that ended it, then waits to die. */
static void limit_child(int rep)
{
	int n = 0, err = 0;
	while (n < 1000) {
		/* Not posix_openpt: musl turns ENOSPC into EAGAIN. */
		if (open("/dev/ptmx", O_RDWR | O_NOCTTY) < 0) {
			err = errno;
			break;
		}
		n++;
	}
	int msg[2] = { n, err };
	write(rep, msg, sizeof msg);
	for (;;)
		pause();
}

static void test_limit(void)
{
	pid_t kids[8];
	int nkids = 0, total = 0, err = 0;
	while (nkids < 8 && !err) {
		int p[2];
		if (pipe(p) != 0)
			break;
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			limit_child(p[1]);
		}
		close(p[1]);
		kids[nkids++] = pid;
		int msg[2] = { 0, -1 };
		if (read_within(p[0], msg, sizeof msg, 60000) != sizeof msg) {
			close(p[0]);
			break;
		}
		close(p[0]);
		total += msg[0];
		err = msg[1];
	}
	CHECK(total < 4096 && err == ENOSPC, "opening /dev/ptmx ends with ENOSPC (after %d: %s)", total, strerror(err));
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	alarm(30);
	for (int i = 0; i < nkids; i++)
		waitpid(kids[i], NULL, 0);
	alarm(0);
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(m >= 0, "a pseudo-terminal opens again once they are closed");
	close(m);
}

static void test_shell(void)
{
	int m, s;
	CHECK(open_pair(&m, &s, 0) == 0, "open a pair for a shell");
	char name[64];
	snprintf(name, sizeof name, "%s", ptsname(m));
	pid_t pid = fork();
	if (pid == 0) {
		close(m);
		close(s);
		setsid();
		int fd = open(name, O_RDWR); /* becomes the controlling terminal */
		if (fd < 0)
			_exit(126);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
		execl("/bin/sh", "sh", (char *)NULL);
		_exit(127);
	}
	const char cmd[] = "echo hello-$((6*7))\nexit\n";
	CHECK(write(m, cmd, sizeof cmd - 1) == sizeof cmd - 1, "type a command and exit");
	static char out[8192];
	size_t got = 0;
	int seen = 0;
	for (;;) {
		ssize_t n = read_within(m, out + got, sizeof out - 1 - got, 10000);
		if (n <= 0)
			break;
		got += n;
		out[got] = 0;
		if (!seen && strstr(out, "hello-42")) {
			/* The parent's slave kept the master from EIO until now. */
			seen = 1;
			close(s);
		}
		if (got >= sizeof out - 1)
			break;
	}
	CHECK(seen, "the shell printed hello-42");
	if (!seen)
		INFO("got: %s", out);
	int st = -1;
	alarm(10);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the shell exits 0 (%#x)", st);
	alarm(0);
	if (!seen)
		close(s);
	close(m);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	test_open();
	test_raw();
	test_canonical();
	test_job_control();
	test_session();
	test_slave_close();
	test_packet();
	test_full();
	test_limit();
	test_shell();
	return check_exit();
}
