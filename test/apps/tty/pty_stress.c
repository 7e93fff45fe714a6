/*
 * Pseudo-terminals under churn: each round opens a pair and starts a
 * writer to the master (text with erase, ^C and ^Z), a reader of the
 * slave, and a session leader that takes the slave as its controlling
 * terminal and keeps changing its modes (canonical or raw, echo, signals,
 * VMIN/VTIME, window size), writing and flushing. The master reads a
 * little (in packet mode every other round), closes at a random moment,
 * and every child is killed. Every child must die of SIGKILL or exit, and be
 * reaped within seconds: no wait on a terminal may be unkillable.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void writer(int m)
{
	char buf[512];
	for (unsigned i = 0;; i++) {
		for (size_t j = 0; j < sizeof buf; j++)
			buf[j] = (char)(rand() % 3 == 0 ? '\n' : 'a' + rand() % 26);
		if (i % 7 == 0)
			buf[0] = 0x7f; /* erase */
		if (i % 11 == 0)
			buf[1] = 0x03; /* ^C */
		if (i % 13 == 0)
			buf[2] = 0x1a; /* ^Z */
		if (write(m, buf, 1 + rand() % sizeof buf) < 0)
			_exit(0);
	}
}

static void reader(int s)
{
	char buf[256];
	for (;;)
		if (read(s, buf, sizeof buf) <= 0 && errno != EINTR && errno != EAGAIN)
			_exit(0);
}

static void leader(const char *name)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	setsid();
	int s = open(name, O_RDWR);
	if (s < 0)
		_exit(0);
	struct termios t;
	for (unsigned i = 0;; i++) {
		if (tcgetattr(s, &t) < 0)
			_exit(0);
		t.c_lflag ^= (i & 1) ? ICANON : ECHO;
		if (i % 5 == 0)
			t.c_lflag ^= ISIG;
		t.c_cc[VMIN] = i % 3;
		t.c_cc[VTIME] = i % 2;
		tcsetattr(s, i % 3 == 0 ? TCSAFLUSH : TCSANOW, &t);
		struct winsize ws = { .ws_row = (unsigned short)(i % 100), .ws_col = 80 };
		ioctl(s, TIOCSWINSZ, &ws);
		write(s, "out\n", 4);
		if (i % 4 == 0)
			tcflush(s, TCIOFLUSH);
	}
}

static void on_alarm(int sig)
{
	(void)sig;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	srand(1);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int rounds = 0, lost = 0;
	do {
		int m = posix_openpt(O_RDWR | O_NOCTTY);
		if (m < 0 || grantpt(m) || unlockpt(m)) {
			CHECK(0, "open a pair");
			break;
		}
		char name[64];
		snprintf(name, sizeof name, "%s", ptsname(m));
		int s = open(name, O_RDWR | O_NOCTTY);
		int pkt = rounds % 2;
		ioctl(m, TIOCPKT, &pkt);
		pid_t kids[3];
		for (int k = 0; k < 3; k++) {
			kids[k] = fork();
			if (kids[k] == 0) {
				srand(rounds * 3 + k);
				if (k == 0)
					writer(m);
				close(m);
				if (k == 1)
					reader(s);
				close(s);
				leader(name);
			}
		}
		close(s);
		/* The master reads a little, then closes at a random moment. */
		char buf[256];
		fcntl(m, F_SETFL, O_NONBLOCK);
		for (int i = rand() % 50; i > 0; i--) {
			if (read(m, buf, sizeof buf) < 0 && errno != EAGAIN)
				break;
			usleep(200);
		}
		close(m);
		usleep(rand() % 5000);
		for (int k = 0; k < 3; k++)
			kill(kids[k], SIGKILL);
		alarm(10);
		for (int k = 0; k < 3; k++)
			if (waitpid(kids[k], NULL, 0) != kids[k])
				lost++;
		alarm(0);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 5 && rounds < 200);
	CHECK(lost == 0, "%d rounds: every child was killed and reaped (%d lost)", rounds, lost);
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(m >= 0, "pseudo-terminals still open afterwards");
	return check_exit();
}
