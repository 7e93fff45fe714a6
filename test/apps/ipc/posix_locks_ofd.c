/*
 * Open file description locks (F_OFD_SETLK, F_OFD_SETLKW, F_OFD_GETLK):
 * owned by the open file description, so two opens in one process
 * conflict, duplicates and forked children share them, closing another
 * descriptor of the file keeps them, and the last close of the
 * description releases them; they conflict with classic POSIX locks;
 * F_*GETLK reports them with l_pid -1; l_pid must be 0 on input.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/check.h"
#include "../include/procutil.h"

static const char *path = "/tmp/posix_locks_ofd.tmp";

static int lk(int fd, int cmd, int type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	return fcntl(fd, cmd, &fl);
}

static struct flock getlk(int fd, int cmd, int type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	if (fcntl(fd, cmd, &fl) != 0)
		fl.l_type = -1;
	return fl;
}

static int is_lock(struct flock fl, int type, off_t start, off_t len, pid_t pid)
{
	return fl.l_type == type && fl.l_start == start && fl.l_len == len && fl.l_pid == pid;
}

static int readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r == 1;
}

int main(void)
{
	int fd1 = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int fd2 = open(path, O_RDWR);
	int fd3, fd4, sync[2], done[2];
	struct flock fl;
	pid_t pid;
	char c;
	int st;

	CHECK(fd1 >= 0 && fd2 >= 0, "two opens of the file");
	CHECK(lk(fd1, F_OFD_SETLK, F_WRLCK, 0, 10) == 0, "OFD write lock [0,10) through the first");
	CHECK_ERRNO(lk(fd2, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN,
		    "the second open of the same process conflicts: EAGAIN");
	CHECK_ERRNO(lk(fd2, F_OFD_SETLK, F_RDLCK, 9, 1), EAGAIN, "a read lock conflicts too");
	CHECK(lk(fd2, F_OFD_SETLK, F_RDLCK, 10, 5) == 0, "the bytes after it are free");
	fl = getlk(fd2, F_OFD_GETLK, F_RDLCK, 0, 0);
	CHECK(is_lock(fl, F_WRLCK, 0, 10, -1), "F_OFD_GETLK reports [0,10) with l_pid -1");
	fl = getlk(fd1, F_OFD_GETLK, F_WRLCK, 0, 0);
	CHECK(is_lock(fl, F_RDLCK, 10, 5, -1), "the first open sees the second's read lock");
	CHECK(lk(fd2, F_OFD_SETLK, F_UNLCK, 0, 0) == 0, "the second open unlocks its own");

	/* Classic POSIX locks and OFD locks conflict, even in one process. */
	CHECK_ERRNO(lk(fd2, F_SETLK, F_RDLCK, 0, 1), EAGAIN, "classic F_SETLK against an OFD lock: EAGAIN");
	fl = getlk(fd2, F_GETLK, F_RDLCK, 0, 0);
	CHECK(is_lock(fl, F_WRLCK, 0, 10, -1), "classic F_GETLK reports the OFD lock, l_pid -1");
	CHECK(lk(fd2, F_SETLK, F_WRLCK, 20, 5) == 0, "classic write lock [20,25)");
	CHECK_ERRNO(lk(fd1, F_OFD_SETLK, F_WRLCK, 22, 1), EAGAIN, "an OFD lock against it: EAGAIN");
	fl = getlk(fd1, F_OFD_GETLK, F_WRLCK, 20, 1);
	CHECK(is_lock(fl, F_WRLCK, 20, 5, getpid()), "F_OFD_GETLK reports the classic lock with our pid");
	CHECK(lk(fd2, F_SETLK, F_UNLCK, 0, 0) == 0, "classic unlock");

	/* l_pid must be 0. */
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_pid = 1 };
	CHECK_ERRNO(fcntl(fd1, F_OFD_SETLK, &fl), EINVAL, "F_OFD_SETLK with l_pid != 0: EINVAL");
	CHECK_ERRNO(fcntl(fd1, F_OFD_SETLKW, &fl), EINVAL, "F_OFD_SETLKW with l_pid != 0: EINVAL");
	CHECK_ERRNO(fcntl(fd1, F_OFD_GETLK, &fl), EINVAL, "F_OFD_GETLK with l_pid != 0: EINVAL");
	fl.l_pid = 0;
	fl.l_type = 9;
	CHECK_ERRNO(fcntl(fd1, F_OFD_SETLK, &fl), EINVAL, "F_OFD_SETLK with l_type 9: EINVAL");

	/* A duplicate is the same description: same owner. */
	fd3 = dup(fd1);
	CHECK(lk(fd3, F_OFD_SETLK, F_WRLCK, 5, 10) == 0, "through a duplicate: no conflict");
	fl = getlk(fd2, F_OFD_GETLK, F_RDLCK, 0, 0);
	CHECK(is_lock(fl, F_WRLCK, 0, 15, -1), "and the locks merged: [0,15)");

	/* Closing some other descriptor of the file keeps OFD locks. */
	fd4 = open(path, O_RDONLY);
	close(fd4);
	CHECK(is_lock(getlk(fd2, F_OFD_GETLK, F_RDLCK, 0, 0), F_WRLCK, 0, 15, -1),
	      "closing an unrelated descriptor keeps them");
	close(fd3);
	CHECK(is_lock(getlk(fd2, F_OFD_GETLK, F_RDLCK, 0, 0), F_WRLCK, 0, 15, -1),
	      "closing a duplicate keeps them");

	/* A child shares the description, and so the locks. */
	pid = fork();
	if (pid == 0) {
		int ok = lk(fd1, F_OFD_SETLK, F_WRLCK, 30, 5) == 0;
		int mine = open(path, O_RDWR);
		ok = ok && lk(mine, F_OFD_SETLK, F_RDLCK, 0, 1) == -1 && errno == EAGAIN;
		_exit(ok ? 0 : 1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "child: locks through the inherited description, conflicts through its own");
	CHECK(is_lock(getlk(fd2, F_OFD_GETLK, F_RDLCK, 30, 1), F_WRLCK, 30, 5, -1),
	      "the child's lock outlives it: the parent still has the description open");

	/* Blocking across processes, released by the last close. */
	pipe(sync);
	pipe(done);
	pid = fork();
	if (pid == 0) {
		int mine = open(path, O_RDWR);
		close(fd1);
		write(sync[1], "s", 1);
		if (lk(mine, F_OFD_SETLKW, F_WRLCK, 0, 1) != 0)
			_exit(1);
		write(done[1], "d", 1);
		_exit(0);
	}
	read(sync[0], &c, 1);
	CHECK(!readable_within(done[0], 300), "another description's F_OFD_SETLKW waits");
	CHECK(close(fd1) == 0, "close the last descriptor of the locking description");
	CHECK(readable_within(done[0], 10000), "the waiter gets the lock");
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ok");
	CHECK(getlk(fd2, F_OFD_GETLK, F_WRLCK, 0, 0).l_type == F_UNLCK,
	      "everything released (the child's own lock went with its exit)");
	close(fd2);
	unlink(path);
	return check_exit();
}
