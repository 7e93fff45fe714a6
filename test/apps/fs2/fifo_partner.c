/*
 * A FIFO's blocking open waits for the other end to be *opened*, not for it
 * to stay open: a reader blocked in open(O_RDONLY) returns even if the
 * writer opens, writes and closes before the reader runs again, and then
 * reads the data and end of file (Linux counts opens: `w_counter`). The
 * same for a writer whose reader comes and goes. Repeated, since which
 * side runs first is up to the scheduler.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

int main(void)
{
	char dir[] = "/tmp/fifo_partner_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	int reader_ok = 0, writer_ok = 0;
	const int rounds = 10;
	for (int i = 0; i < rounds; i++) {
		char path[64];
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		mkfifo(path, 0600);

		/* Reader blocks first; the writer comes and goes. */
		pid_t c = fork();
		if (c == 0) {
			alarm(10);
			int fd = open(path, O_RDONLY);
			char b[16] = { 0 };
			int n = read(fd, b, sizeof b);
			int eof = read(fd, b + 8, 8);
			_exit(fd >= 0 && n == 5 && !memcmp(b, "hello", 5) && eof == 0 ? 0 : 1);
		}
		pause_ms(50);
		int fd = open(path, O_WRONLY);
		ssize_t w = write(fd, "hello", 5);
		close(fd);
		int st = -1;
		waitpid(c, &st, 0);
		reader_ok += w == 5 && WIFEXITED(st) && WEXITSTATUS(st) == 0;

		/* Writer blocks first; the reader comes and goes. */
		c = fork();
		if (c == 0) {
			alarm(10);
			int fd = open(path, O_WRONLY);
			_exit(fd >= 0 ? 0 : 1);
		}
		pause_ms(50);
		fd = open(path, O_RDONLY);
		close(fd);
		waitpid(c, &st, 0);
		writer_ok += fd >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
		unlink(path);
	}
	CHECK(reader_ok == rounds, "a blocked reader's open returns after a writer came and went (%d/%d)",
	      reader_ok, rounds);
	CHECK(writer_ok == rounds, "a blocked writer's open returns after a reader came and went (%d/%d)",
	      writer_ok, rounds);
	rmdir(dir);
	return check_exit();
}
