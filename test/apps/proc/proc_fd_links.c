/*
 * Descriptors through /proc: the magic links /proc/self/fd/N (opening one
 * opens the file itself: a new description of the same inode, a new end
 * of the same pipe, ENXIO for sockets and anonymous inodes), what they
 * show (pipe:[N] with fstat's st_ino, socket:[N], anon_inode:[eventfd]
 * ...), the /dev/fd, /dev/stdin... links, /proc/self/fdinfo/N,
 * /proc/self/limits and /proc/self/mountinfo.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "check.h"

static char *link_of(int fd)
{
	static char buf[256];
	char path[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	n = readlink(path, buf, sizeof buf - 1);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

static int open_fd_link(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return open(path, flags);
}

/* Reads a whole (small) file into a static buffer. */
static char *slurp(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n, total = 0;

	buf[0] = 0;
	if (fd < 0)
		return buf;
	while ((n = read(fd, buf + total, sizeof buf - 1 - total)) > 0)
		total += n;
	buf[total] = 0;
	close(fd);
	return buf;
}

static char *fdinfo(int fd)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	return slurp(path);
}

static void pipes(void)
{
	int p[2], w, r;
	struct stat a, b;
	char want[64], buf[16] = {0};

	CHECK(pipe(p) == 0, "pipe");
	CHECK(fstat(p[0], &a) == 0 && fstat(p[1], &b) == 0, "fstat both ends");
	CHECK(a.st_ino == b.st_ino, "both ends have one inode number");
	/* Linux's get_next_ino() numbers are 32-bit. */
	CHECK(a.st_ino < 0x100000000ULL, "a 32-bit inode number (%llu)",
	      (unsigned long long)a.st_ino);
	CHECK(S_ISFIFO(a.st_mode), "a pipe is a FIFO");
	snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)a.st_ino);
	CHECK(strcmp(link_of(p[0]), want) == 0, "read end shows %s (%s)", want, link_of(p[0]));
	CHECK(strcmp(link_of(p[1]), want) == 0, "write end shows %s", want);

	/* Opening the read end's link for writing makes a new write end. */
	w = open_fd_link(p[0], O_WRONLY);
	CHECK(w >= 0, "open /proc/self/fd/<read end> O_WRONLY");
	CHECK(write(w, "hi", 2) == 2, "write through the new end");
	CHECK(read(p[0], buf, sizeof buf) == 2 && memcmp(buf, "hi", 2) == 0,
	      "the data comes out of the old read end");
	CHECK(fstat(w, &b) == 0 && b.st_ino == a.st_ino, "the new end is the same pipe");
	CHECK(strcmp(link_of(w), want) == 0, "and shows the same link");

	/* A new read end, from the write end's link (a writer exists: no wait). */
	r = open_fd_link(p[1], O_RDONLY);
	CHECK(r >= 0, "open /proc/self/fd/<write end> O_RDONLY");
	CHECK(write(p[1], "yo", 2) == 2, "write to the old end");
	CHECK(read(r, buf, sizeof buf) == 2 && memcmp(buf, "yo", 2) == 0,
	      "read through the new read end");
	close(r);
	close(w);

	/* The write end gets EOF semantics right: closing every writer. */
	close(p[1]);
	CHECK(read(p[0], buf, sizeof buf) == 0, "EOF once all write ends are closed");
	close(p[0]);

	/* Unlike a FIFO's, a pipe's open does not wait for a writer (as
	 * `cat <(echo x)` needs once `echo` has finished). */
	CHECK(pipe(p) == 0 && write(p[1], "ab", 2) == 2, "another pipe");
	close(p[1]);
	r = open_fd_link(p[0], O_RDONLY);
	CHECK(r >= 0, "open a read end with no writer left: no wait");
	CHECK(read(r, buf, sizeof buf) == 2, "the data is there");
	CHECK(read(r, buf, sizeof buf) == 0, "then EOF");
	close(r);
	close(p[0]);

	/* fdinfo of a pipe: flags as given to pipe2, with O_CLOEXEC. */
	CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2");
	fstat(p[0], &a);
	snprintf(want, sizeof want, "pos:\t0\nflags:\t02004000\n");
	CHECK(strncmp(fdinfo(p[0]), want, strlen(want)) == 0, "fdinfo of a pipe read end: %s",
	      fdinfo(p[0]));
	snprintf(want, sizeof want, "ino:\t%lu\n", (unsigned long)a.st_ino);
	CHECK(strstr(fdinfo(p[1]), want) != NULL, "fdinfo shows the inode number");
	CHECK(strstr(fdinfo(p[1]), "flags:\t02004001\n") != NULL, "write end flags 02004001");
	close(p[0]);
	close(p[1]);
}

static void files(void)
{
	int fd, again, d;
	char buf[8];
	struct stat a, b;

	fd = open("/proc/self/limits", O_RDONLY);
	CHECK(fd >= 0, "open a file");
	CHECK(read(fd, buf, 5) == 5, "read 5 bytes");
	again = open_fd_link(fd, O_RDONLY);
	CHECK(again >= 0, "open its /proc/self/fd link");
	CHECK(lseek(again, 0, SEEK_CUR) == 0, "a new description: its own offset");
	CHECK(lseek(fd, 0, SEEK_CUR) == 5, "the old offset is untouched");
	CHECK(fstat(fd, &a) == 0 && fstat(again, &b) == 0 && a.st_ino == b.st_ino &&
	      a.st_dev == b.st_dev, "same inode");
	CHECK(strcmp(link_of(again), "/proc/self/limits") != 0 &&
	      strncmp(link_of(again), "/proc/", 6) == 0 &&
	      strstr(link_of(again), "/limits") != NULL,
	      "the reopened file shows the file's path (%s)", link_of(again));
	CHECK(strncmp(fdinfo(fd), "pos:\t5\nflags:\t0100000\n", 21) == 0,
	      "fdinfo: pos 5, flags O_LARGEFILE (%s)", fdinfo(fd));
	close(again);
	close(fd);

	/* O_NOFOLLOW does not follow the magic link. */
	CHECK_ERRNO(open_fd_link(0, O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a fd link");

	/* A directory descriptor: its link leads into the directory. */
	d = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(d >= 0, "open a directory");
	CHECK(strstr(fdinfo(d), "flags:\t02300000\n") != NULL,
	      "directory flags O_CLOEXEC|O_LARGEFILE|O_DIRECTORY (%s)", fdinfo(d));
	{
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d/limits", d);
		CHECK(access(path, R_OK) == 0, "a path through a directory's fd link");
	}
	close(d);
	CHECK_ERRNO(open_fd_link(999, O_RDONLY), ENOENT, "a closed descriptor's link");
	fd = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	CHECK(fd >= 0 && strstr(fdinfo(fd), "flags:\t0100002\n") != NULL,
	      "a terminal opened by name: O_LARGEFILE, not O_NOCTTY (%s)", fdinfo(fd));
	close(fd);
	CHECK_ERRNO(open("/proc/self/fdinfo/999", O_RDONLY), ENOENT, "a closed descriptor's fdinfo");
}

static void anon(void)
{
	int e = eventfd(5, EFD_NONBLOCK);
	int ep = epoll_create1(0);
	int tf = timerfd_create(CLOCK_MONOTONIC, 0);
	int sv[2];
	sigset_t set;
	int sf;
	struct stat st;
	char want[64];

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sf = signalfd(-1, &set, 0);
	CHECK(e >= 0 && ep >= 0 && tf >= 0 && sf >= 0, "anonymous descriptors");
	CHECK(strcmp(link_of(e), "anon_inode:[eventfd]") == 0, "eventfd link (%s)", link_of(e));
	CHECK(strcmp(link_of(ep), "anon_inode:[eventpoll]") == 0, "epoll link (%s)", link_of(ep));
	CHECK(strcmp(link_of(tf), "anon_inode:[timerfd]") == 0, "timerfd link (%s)", link_of(tf));
	CHECK(strcmp(link_of(sf), "anon_inode:[signalfd]") == 0, "signalfd link (%s)", link_of(sf));
	CHECK_ERRNO(open_fd_link(e, O_RDWR), ENXIO, "opening an eventfd's link");
	CHECK_ERRNO(open_fd_link(ep, O_RDONLY), ENXIO, "opening an epoll link");
	CHECK(strstr(fdinfo(e), "flags:\t04002\n") != NULL, "eventfd flags O_RDWR|O_NONBLOCK (%s)",
	      fdinfo(e));
	CHECK(strstr(fdinfo(e), "eventfd-count:                5\n") != NULL,
	      "eventfd-count in fdinfo");
	CHECK(strstr(fdinfo(e), "eventfd-semaphore: 0\n") != NULL, "eventfd-semaphore in fdinfo");
	CHECK(strstr(fdinfo(sf), "\nsigmask:\t0000000000000200\n") != NULL,
	      "signalfd's sigmask in fdinfo (%s)", fdinfo(sf));

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	fstat(sv[0], &st);
	snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
	CHECK(strcmp(link_of(sv[0]), want) == 0, "socket link %s", want);
	CHECK(st.st_ino < 0x100000000ULL, "a socket's inode number is 32-bit too");
	CHECK_ERRNO(open_fd_link(sv[0], O_RDWR), ENXIO, "opening a socket's link");
	close(sv[0]);
	close(sv[1]);
	close(e);
	close(ep);
	close(tf);
	close(sf);
}

static void dev_links(void)
{
	char buf[64];
	ssize_t n;
	struct stat a, b;
	int fd;

	n = readlink("/dev/fd", buf, sizeof buf - 1);
	CHECK(n == 13 && memcmp(buf, "/proc/self/fd", 13) == 0, "/dev/fd -> /proc/self/fd");
	n = readlink("/dev/stdin", buf, sizeof buf - 1);
	CHECK(n == 15 && memcmp(buf, "/proc/self/fd/0", 15) == 0, "/dev/stdin");
	n = readlink("/dev/stdout", buf, sizeof buf - 1);
	CHECK(n == 15 && memcmp(buf, "/proc/self/fd/1", 15) == 0, "/dev/stdout");
	n = readlink("/dev/stderr", buf, sizeof buf - 1);
	CHECK(n == 15 && memcmp(buf, "/proc/self/fd/2", 15) == 0, "/dev/stderr");

	/* stat through the links is the descriptor's file. */
	CHECK(stat("/dev/stderr", &a) == 0 && fstat(2, &b) == 0 && a.st_ino == b.st_ino &&
	      a.st_dev == b.st_dev, "stat /dev/stderr is fstat(2)");
	fd = open("/dev/stderr", O_WRONLY);
	CHECK(fd >= 0, "open /dev/stderr");
	close(fd);
	{
		int p[2];
		char path[32], c = 0;
		pipe(p);
		snprintf(path, sizeof path, "/dev/fd/%d", p[1]);
		fd = open(path, O_WRONLY);
		CHECK(fd >= 0 && write(fd, "z", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'z',
		      "write a pipe through /dev/fd/N");
		close(fd);
		close(p[0]);
		close(p[1]);
	}
}

static void limits_mountinfo(void)
{
	char *s = slurp("/proc/self/limits");
	struct rlimit rl;
	char want[128];

	snprintf(want, sizeof want, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit",
		 "Units");
	CHECK(strncmp(s, want, strlen(want)) == 0, "limits header");
	getrlimit(RLIMIT_NOFILE, &rl);
	snprintf(want, sizeof want, "\nMax open files            %-20lu %-20lu files     \n",
		 (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
	CHECK(strstr(s, want) != NULL, "Max open files line");
	CHECK(strstr(s, "\nMax cpu time              unlimited            unlimited            seconds   \n") != NULL,
	      "Max cpu time line");
	CHECK(strstr(s, "\nMax nice priority         0                    0                    \n") != NULL,
	      "a line without unit");
	CHECK(strstr(s, "\nMax realtime timeout      unlimited            unlimited            us        \n") != NULL,
	      "last line");

	s = slurp("/proc/self/mountinfo");
	CHECK(strstr(s, " / /proc rw") != NULL && strstr(s, " - proc proc rw") != NULL,
	      "mountinfo has /proc");
}

int main(void)
{
	pipes();
	files();
	anon();
	dev_links();
	limits_mountinfo();
	return check_exit();
}
