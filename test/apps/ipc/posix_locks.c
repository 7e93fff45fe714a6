/*
 * POSIX record locks through fcntl: F_SETLK, F_SETLKW and F_GETLK between
 * two processes; byte ranges with every l_whence, l_len 0 (to the end of
 * the file) and negative l_len; splitting and merging of a process's own
 * locks; argument errors; release when the process closes any descriptor
 * of the file or exits; no inheritance across fork; blocking, EDEADLK and
 * interruption by a signal.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/check.h"
#include "../include/procutil.h"

static const char *path = "/tmp/posix_locks.tmp";

static int lk(int fd, int cmd, int type, int whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len };
	return fcntl(fd, cmd, &fl);
}

/* What F_GETLK reports for [start, start+len) asked as `type`. */
static struct flock getlk(int fd, int type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len,
			    .l_pid = 12345 };
	if (fcntl(fd, F_GETLK, &fl) != 0)
		fl.l_type = -1;
	return fl;
}

/*
 * The checks another process makes are run in a helper child that reads
 * one request at a time from a pipe: the parent's locks are seen from a
 * different owner.
 */
struct request {
	int cmd, type;
	off_t start, len;
};

struct reply {
	int ret, err;
	struct flock fl;
};

static int req_w, rep_r;
static pid_t helper;

static void run_helper(int in, int out)
{
	int fd = open(path, O_RDWR);
	struct request q;

	while (read(in, &q, sizeof q) == sizeof q) {
		struct reply r = { 0 };
		r.fl = (struct flock){ .l_type = q.type, .l_whence = SEEK_SET,
				       .l_start = q.start, .l_len = q.len };
		r.ret = fcntl(fd, q.cmd, &r.fl);
		r.err = errno;
		write(out, &r, sizeof r);
	}
	_exit(0);
}

static void start_helper(void)
{
	int a[2], b[2];

	pipe(a);
	pipe(b);
	helper = fork();
	if (helper == 0) {
		close(a[1]);
		close(b[0]);
		run_helper(a[0], b[1]);
	}
	close(a[0]);
	close(b[1]);
	req_w = a[1];
	rep_r = b[0];
}

static struct reply ask(int cmd, int type, off_t start, off_t len)
{
	struct request q = { cmd, type, start, len };
	struct reply r = { .ret = -2 };

	write(req_w, &q, sizeof q);
	read(rep_r, &r, sizeof r);
	return r;
}

/* The lock the helper sees in [start, start+len) when asking for `type`:
 * checks its type, range and holder. */
static int sees(int type, off_t start, off_t len, int want_type, off_t want_start, off_t want_len)
{
	struct reply r = ask(F_GETLK, type, start, len);
	if (r.ret != 0)
		return 0;
	if (want_type == F_UNLCK)
		return r.fl.l_type == F_UNLCK && r.fl.l_start == start && r.fl.l_len == len;
	return r.fl.l_type == want_type && r.fl.l_whence == SEEK_SET &&
	       r.fl.l_start == want_start && r.fl.l_len == want_len && r.fl.l_pid == getpid();
}

static void test_ranges(int fd)
{
	struct reply r;
	struct flock fl;

	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 10, 10) == 0, "write lock [10,20)");
	fl = getlk(fd, F_WRLCK, 0, 0);
	CHECK(fl.l_type == F_UNLCK && fl.l_pid == 12345, "F_GETLK: the owner's own locks never conflict");
	CHECK(sees(F_WRLCK, 0, 0, F_WRLCK, 10, 10), "another process: F_GETLK reports [10,20) and our pid");
	r = ask(F_SETLK, F_WRLCK, 15, 1);
	CHECK(r.ret == -1 && r.err == EAGAIN, "another process: F_SETLK inside it: EAGAIN");
	r = ask(F_SETLK, F_RDLCK, 19, 5);
	CHECK(r.ret == -1 && r.err == EAGAIN, "a read lock overlapping its end: EAGAIN");
	CHECK(ask(F_SETLK, F_WRLCK, 0, 10).ret == 0, "the bytes before it are free");
	CHECK(ask(F_SETLK, F_WRLCK, 20, 10).ret == 0, "the bytes after it are free");
	CHECK(ask(F_SETLK, F_UNLCK, 0, 0).ret == 0, "helper unlocks everything of its own");
	CHECK(sees(F_RDLCK, 20, 1, F_UNLCK, 0, 0), "F_GETLK on a free range: F_UNLCK, range untouched");

	/* Splitting: a read lock in the middle of our write lock. */
	CHECK(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 12, 2) == 0, "read lock [12,14) inside it");
	CHECK(sees(F_RDLCK, 12, 2, F_UNLCK, 0, 0), "readers may share [12,14)");
	CHECK(sees(F_WRLCK, 12, 1, F_RDLCK, 12, 2), "a writer sees the read lock [12,14)");
	CHECK(sees(F_RDLCK, 10, 1, F_WRLCK, 10, 2), "the write lock was split: [10,12)");
	CHECK(sees(F_RDLCK, 14, 1, F_WRLCK, 14, 6), "... and [14,20)");

	/* Unlocking a hole. */
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 15, 2) == 0, "unlock [15,17)");
	CHECK(sees(F_WRLCK, 15, 2, F_UNLCK, 0, 0), "[15,17) is free");
	CHECK(sees(F_RDLCK, 17, 1, F_WRLCK, 17, 3), "[17,20) is still locked");
	CHECK(sees(F_RDLCK, 14, 1, F_WRLCK, 14, 1), "[14,15) is still locked");

	/* Merging: one write lock over the pieces and the hole. */
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 12, 5) == 0, "write lock [12,17)");
	CHECK(sees(F_RDLCK, 0, 0, F_WRLCK, 10, 10), "merged back into one lock [10,20)");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 20, 5) == 0, "write lock [20,25), adjacent");
	CHECK(sees(F_RDLCK, 0, 0, F_WRLCK, 10, 15), "adjacent locks of one type merge: [10,25)");
	CHECK(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 25, 5) == 0, "read lock [25,30), adjacent");
	CHECK(sees(F_WRLCK, 25, 1, F_RDLCK, 25, 5), "locks of different types stay apart");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlock the whole file");
	CHECK(sees(F_WRLCK, 0, 0, F_UNLCK, 0, 0), "nothing is locked");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlocking nothing succeeds");

	/* l_whence and l_len. */
	lseek(fd, 50, SEEK_SET);
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, 0, 5) == 0, "SEEK_CUR at offset 50, length 5");
	CHECK(sees(F_RDLCK, 40, 20, F_WRLCK, 50, 5), "locked [50,55)");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, -20, -5) == 0, "SEEK_CUR -20, length -5");
	CHECK(sees(F_RDLCK, 20, 20, F_WRLCK, 25, 5), "negative length locks the bytes before: [25,30)");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_END, -10, 0) == 0, "SEEK_END -10 (size 100), length 0");
	CHECK(sees(F_RDLCK, 95, 1, F_WRLCK, 90, 0), "locked from 90 to the end of file (l_len 0)");
	CHECK(sees(F_RDLCK, 1000000, 1, F_WRLCK, 90, 0), "... including far past the end");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 200, 10) == 0, "a lock past EOF inside the open one");
	CHECK(sees(F_RDLCK, 95, 1, F_WRLCK, 90, 0), "merged into it");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 100, 0) == 0, "unlock from 100 to the end");
	CHECK(sees(F_RDLCK, 80, 0, F_WRLCK, 90, 10), "what is left: [90,100)");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) == 0, "a write lock on the whole file");
	CHECK(sees(F_RDLCK, 5, 1, F_WRLCK, 0, 0), "replaces and merges everything: [0,EOF)");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlock all");
	lseek(fd, 0, SEEK_SET);
}

static void test_errors(int fd)
{
	int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY), op = open(path, O_PATH);
	struct flock fl = { .l_type = F_UNLCK };

	CHECK_ERRNO(lk(fd, F_SETLK, 7, SEEK_SET, 0, 0), EINVAL, "l_type 7: EINVAL");
	CHECK_ERRNO(lk(fd, F_SETLK, F_WRLCK, 3, 0, 0), EINVAL, "l_whence 3: EINVAL");
	CHECK_ERRNO(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1), EINVAL, "negative start: EINVAL");
	CHECK_ERRNO(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, -6), EINVAL, "length reaching below 0: EINVAL");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, -5) == 0, "length reaching exactly 0 is fine");
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	CHECK_ERRNO(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX, 2), EOVERFLOW, "end past OFF_MAX: EOVERFLOW");
	CHECK_ERRNO(lk(fd, F_SETLK, F_WRLCK, SEEK_END, LLONG_MAX, 1), EOVERFLOW,
		    "SEEK_END start past OFF_MAX: EOVERFLOW");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX, 1) == 0, "the last byte can be locked");
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
	CHECK_ERRNO(fcntl(fd, F_GETLK, &fl), EINVAL, "F_GETLK with F_UNLCK: EINVAL");
	CHECK_ERRNO(fcntl(fd, F_GETLK, (void *)16), EFAULT, "F_GETLK with a bad pointer: EFAULT");
	CHECK_ERRNO(fcntl(fd, F_SETLK, (void *)16), EFAULT, "F_SETLK with a bad pointer: EFAULT");
	CHECK_ERRNO(lk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), EBADF, "write lock on O_RDONLY: EBADF");
	CHECK_ERRNO(lk(wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1), EBADF, "read lock on O_WRONLY: EBADF");
	CHECK(lk(ro, F_SETLK, F_RDLCK, SEEK_SET, 0, 1) == 0, "read lock on O_RDONLY");
	CHECK(lk(wo, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0, "write lock on O_WRONLY (replaces it)");
	CHECK(lk(ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 1) == 0, "unlock through O_RDONLY");
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	CHECK(fcntl(ro, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK, "F_GETLK F_WRLCK on O_RDONLY is allowed");
	CHECK_ERRNO(lk(op, F_SETLK, F_RDLCK, SEEK_SET, 0, 1), EBADF, "O_PATH descriptor: EBADF");
	CHECK_ERRNO(lk(op, F_GETLK, F_RDLCK, SEEK_SET, 0, 1), EBADF, "F_GETLK on O_PATH: EBADF");
	CHECK_ERRNO(lk(1000, F_SETLK, F_RDLCK, SEEK_SET, 0, 1), EBADF, "closed descriptor: EBADF");
	close(ro);
	close(wo);
	close(op);
}

static void test_close_releases(int fd)
{
	int other;

	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0, "write lock [0,10)");
	other = open(path, O_RDONLY);
	CHECK(sees(F_RDLCK, 0, 0, F_WRLCK, 0, 10), "seen by the other process");
	CHECK(close(other) == 0, "close another, unrelated descriptor of the same file");
	CHECK(sees(F_RDLCK, 0, 0, F_UNLCK, 0, 0), "the close released the lock");

	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0, "lock again");
	other = dup(fd);
	CHECK(dup2(open(path, O_RDONLY), other) == other, "dup2 over a duplicate of the file");
	CHECK(sees(F_RDLCK, 0, 0, F_UNLCK, 0, 0), "replacing a descriptor closes it: released");
	close(other);
}

/* Locks are not inherited, and a child's own locks go when it exits. */
static void test_fork_and_exit(int fd)
{
	int sync[2];
	pid_t pid;
	char c;
	int st;

	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0, "parent: write lock [0,10)");
	pid = fork();
	if (pid == 0) {
		struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
		int ok = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_WRLCK && fl.l_pid == getppid();
		ok = ok && lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 5, 1) == -1 && errno == EAGAIN;
		/* The child's unlock does not touch the parent's lock. */
		ok = ok && lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0;
		_exit(ok ? 0 : 1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "child: the lock is the parent's (F_GETLK pid, EAGAIN), not inherited");
	CHECK(sees(F_RDLCK, 0, 0, F_WRLCK, 0, 10), "the child's unlock and exit left it in place");
	lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);

	for (int killed = 0; killed < 2; killed++) {
		pipe(sync);
		pid = fork();
		if (pid == 0) {
			if (lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 60, 10) != 0)
				_exit(1);
			write(sync[1], "l", 1);
			if (killed)
				pause();
			_exit(0);
		}
		close(sync[1]);
		read(sync[0], &c, 1);
		if (killed) {
			struct flock fl = getlk(fd, F_RDLCK, 0, 0);
			CHECK(fl.l_type == F_WRLCK && fl.l_pid == pid && fl.l_start == 60,
			      "F_GETLK reports the child's lock and pid");
			kill(pid, SIGKILL);
		}
		waitpid(pid, &st, 0);
		CHECK(getlk(fd, F_WRLCK, 0, 0).l_type == F_UNLCK,
		      killed ? "released when the child was killed" : "released when the child exited");
		close(sync[0]);
	}
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

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_blocking(int fd)
{
	int sync[2], done[2];
	pid_t pid;
	char c;
	int st, r;

	/* F_SETLKW waits until the range is free. */
	pipe(sync);
	pipe(done);
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0, "parent: write lock [0,10)");
	pid = fork();
	if (pid == 0) {
		write(sync[1], "s", 1);
		if (lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 5, 10) != 0)
			_exit(1);
		write(done[1], "d", 1);
		pause();
		_exit(0);
	}
	read(sync[0], &c, 1);
	CHECK(!readable_within(done[0], 300), "child's F_SETLKW on [5,15) waits");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 5) == 0, "parent unlocks [0,5): not enough");
	CHECK(!readable_within(done[0], 300), "still waiting");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 5, 5) == 0, "parent unlocks [5,10)");
	CHECK(readable_within(done[0], 10000), "the child gets its lock");
	{
		struct flock fl = getlk(fd, F_RDLCK, 0, 0);
		CHECK(fl.l_type == F_WRLCK && fl.l_pid == pid && fl.l_start == 5 && fl.l_len == 10,
		      "F_GETLK shows the child's [5,15)");
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(sync[0]);
	close(sync[1]);
	close(done[0]);
	close(done[1]);

	/* EDEADLK: the child holds [1,2) and waits for our [0,1); our wait for
	 * [1,2) would never end. */
	pipe(sync);
	pipe(done);
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0, "parent: lock byte 0");
	pid = fork();
	if (pid == 0) {
		int e;
		if (lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1) != 0)
			_exit(1);
		write(sync[1], "s", 1);
		r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
		e = r == 0 ? 0 : errno;
		write(done[1], &e, sizeof e);
		_exit(0);
	}
	read(sync[0], &c, 1);
	sleep_ms(500);	/* let the child block in F_SETLKW */
	CHECK_ERRNO(lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1), EDEADLK,
		    "F_SETLKW that would wait for a waiter of ours: EDEADLK");
	CHECK_ERRNO(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1), EAGAIN, "F_SETLK on it: EAGAIN, not EDEADLK");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 1) == 0, "parent unlocks byte 0");
	{
		int e = -1;
		CHECK(read(done[0], &e, sizeof e) == sizeof e && e == 0, "the child's F_SETLKW succeeds");
	}
	waitpid(pid, &st, 0);
	close(sync[0]);
	close(sync[1]);
	close(done[0]);
	close(done[1]);

	/* A signal handler without SA_RESTART ends the wait with EINTR. */
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) == 0, "parent: write lock on the file");
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_alarm };
		struct itimerval it = { .it_value = { 0, 200000 } };
		int e;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		r = lk(fd, F_SETLKW, F_RDLCK, SEEK_SET, 0, 1);
		e = errno;
		_exit(r == -1 && e == EINTR ? 0 : 1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "F_SETLKW interrupted by SIGALRM: EINTR");
	/* A waiter killed in F_SETLKW. */
	pid = fork();
	if (pid == 0) {
		lk(fd, F_SETLKW, F_RDLCK, SEEK_SET, 0, 1);
		_exit(1);
	}
	sleep_ms(100);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st), "a waiter is killed by SIGKILL");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlock");
	CHECK(sees(F_WRLCK, 0, 0, F_UNLCK, 0, 0), "nothing left behind");
}

/* Many separate locks of one owner, then one unlock over all of them. */
static void test_many(int fd)
{
	int ok = 1;

	for (int i = 0; i < 2000 && ok; i++)
		ok = lk(fd, F_SETLK, i % 3 ? F_RDLCK : F_WRLCK, SEEK_SET, 2 * i, 1) == 0;
	CHECK(ok, "2000 separate one-byte locks");
	CHECK(sees(F_WRLCK, 2 * 1001, 1, F_RDLCK, 2 * 1001, 1) && sees(F_WRLCK, 2 * 1001 + 1, 1, F_UNLCK, 0, 0),
	      "each is its own lock, the bytes between are free");
	CHECK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 3997) == 0, "a write lock over bytes 1 to 3997");
	CHECK(sees(F_RDLCK, 0, 0, F_WRLCK, 0, 3998), "merged with the write lock on byte 0: [0,3998)");
	CHECK(sees(F_WRLCK, 3998, 1, F_RDLCK, 3998, 1), "the read lock on byte 3998 stays apart");
	CHECK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0, "unlock the whole file");
	CHECK(sees(F_WRLCK, 0, 0, F_UNLCK, 0, 0), "nothing left");
}

int main(void)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[100] = { 0 };
	int st;

	CHECK(fd >= 0 && write(fd, buf, sizeof buf) == sizeof buf, "a file of 100 bytes");
	start_helper();
	test_ranges(fd);
	test_errors(fd);
	test_close_releases(fd);
	test_fork_and_exit(fd);
	test_blocking(fd);
	test_many(fd);
	close(req_w);
	waitpid(helper, &st, 0);
	close(fd);
	unlink(path);
	return check_exit();
}
