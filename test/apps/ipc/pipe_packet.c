/*
 * Packet pipes (pipe2 with O_DIRECT, pipe(7)): every write is a packet of
 * at most PIPE_BUF bytes (larger writes are split), a read returns one
 * packet at a time and drops what did not fit; each packet takes a page
 * of the pipe's capacity. F_SETFL turns the mode on and off.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "../include/check.h"

int main(void)
{
	char buf[65536], big[10000];
	int p[2], n, fl;

	CHECK(pipe2(p, O_DIRECT | O_NONBLOCK) == 0, "pipe2(O_DIRECT)");
	CHECK(fcntl(p[1], F_GETFL) & O_DIRECT, "F_GETFL shows O_DIRECT on the write end");
	CHECK(!(fcntl(p[0], F_GETFL) & O_DIRECT), "not on the read end (the writer makes packets)");

	CHECK(write(p[1], "abc", 3) == 3 && write(p[1], "defgh", 5) == 5, "two writes");
	n = read(p[0], buf, sizeof buf);
	CHECK(n == 3 && !memcmp(buf, "abc", 3), "the first read returns the first packet only");
	n = read(p[0], buf, sizeof buf);
	CHECK(n == 5 && !memcmp(buf, "defgh", 5), "the second read the second packet");

	CHECK(write(p[1], "0123456789", 10) == 10 && write(p[1], "next", 4) == 4, "10 bytes, then 4");
	n = read(p[0], buf, 4);
	CHECK(n == 4 && !memcmp(buf, "0123", 4), "a short read takes the head of the packet");
	n = read(p[0], buf, sizeof buf);
	CHECK(n == 4 && !memcmp(buf, "next", 4), "the rest of that packet was dropped");
	CHECK_ERRNO(read(p[0], buf, sizeof buf), EAGAIN, "empty");

	for (int i = 0; i < (int)sizeof big; i++)
		big[i] = (char)i;
	CHECK(write(p[1], big, sizeof big) == sizeof big, "a 10000-byte write");
	n = read(p[0], buf, sizeof buf);
	CHECK(n == PIPE_BUF && !memcmp(buf, big, PIPE_BUF), "comes out as a PIPE_BUF packet");
	n = read(p[0], buf, sizeof buf);
	CHECK(n == PIPE_BUF && !memcmp(buf, big + PIPE_BUF, PIPE_BUF), "a second one");
	n = read(p[0], buf, sizeof buf);
	CHECK(n == 10000 - 2 * PIPE_BUF && !memcmp(buf, big + 2 * PIPE_BUF, n), "and the rest");

	CHECK(write(p[1], "", 0) == 0, "an empty write");
	CHECK_ERRNO(read(p[0], buf, sizeof buf), EAGAIN, "makes no packet");

	/* Every packet takes a page of the capacity. */
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 4 * 4096) == 4 * 4096, "capacity: four pages");
	for (n = 0; n < 100 && write(p[1], "x", 1) == 1; n++)
		;
	CHECK(n == 4, "four one-byte packets fill it (got %d)", n);
	CHECK(errno == EAGAIN, "then EAGAIN");
	for (n = 0; read(p[0], buf, sizeof buf) == 1; n++)
		;
	CHECK(n == 4, "four packets of one byte come out");

	/* F_SETFL without O_DIRECT on the write end: a byte stream again. */
	fl = fcntl(p[1], F_GETFL);
	CHECK(fcntl(p[1], F_SETFL, fl & ~O_DIRECT) == 0 && !(fcntl(p[1], F_GETFL) & O_DIRECT),
	      "F_SETFL clears O_DIRECT");
	CHECK(write(p[1], "ab", 2) == 2 && write(p[1], "cd", 2) == 2, "two writes");
	n = read(p[0], buf, sizeof buf);
	CHECK(n == 4 && !memcmp(buf, "abcd", 4), "read back as one stream");
	CHECK(fcntl(p[1], F_SETFL, fl) == 0 && (fcntl(p[1], F_GETFL) & O_DIRECT), "F_SETFL sets O_DIRECT");
	close(p[0]);
	close(p[1]);

	/* A plain pipe is a byte stream. */
	CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe2 without O_DIRECT");
	CHECK(!(fcntl(p[0], F_GETFL) & O_DIRECT), "no O_DIRECT");
	write(p[1], "ab", 2);
	write(p[1], "cd", 2);
	n = read(p[0], buf, sizeof buf);
	CHECK(n == 4, "two writes read at once");
	close(p[0]);
	close(p[1]);
	return check_exit();
}
