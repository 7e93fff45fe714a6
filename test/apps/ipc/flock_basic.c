/*
 * flock(2): shared and exclusive locks on an open file description, LOCK_NB,
 * conversion, argument errors, release on the last close of the description
 * (not on the close of a duplicate), sharing across fork, blocking between
 * two processes, interruption by a signal, release when the holder exits,
 * flock on a pipe, and independence from POSIX record locks.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/check.h"
#include "../include/procutil.h"

static const char *path = "/tmp/flock_basic.tmp";

/* Runs flock(op) on a fresh open of the file in a child; returns 0 if it
 * succeeded, else the child's errno. */
static int other_process_flock(int op)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			_exit(100);
		_exit(flock(fd, op) == 0 ? 0 : errno);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Whether a byte arrives on fd within ms milliseconds. */
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

static void test_basic(void)
{
	int fd1 = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int fd2 = open(path, O_RDONLY);
	int fd3;

	CHECK(fd1 >= 0 && fd2 >= 0, "open the file twice");
	CHECK(flock(fd1, LOCK_SH) == 0, "LOCK_SH through the first open");
	CHECK(flock(fd2, LOCK_SH | LOCK_NB) == 0, "LOCK_SH through the second open: shared locks coexist");
	CHECK(other_process_flock(LOCK_SH | LOCK_NB) == 0, "another process may share it too");
	CHECK(other_process_flock(LOCK_EX | LOCK_NB) == EWOULDBLOCK,
	      "LOCK_EX|LOCK_NB elsewhere: EWOULDBLOCK");
	CHECK_ERRNO(flock(fd1, LOCK_EX | LOCK_NB), EWOULDBLOCK,
		    "converting to LOCK_EX while another open shares it: EWOULDBLOCK");
	/* The conversion removed the old lock first (as Linux documents), so
	 * the second open can now take it exclusively. */
	CHECK(flock(fd2, LOCK_EX | LOCK_NB) == 0, "the failed conversion dropped the first lock");
	CHECK_ERRNO(flock(fd1, LOCK_SH | LOCK_NB), EWOULDBLOCK, "LOCK_SH against LOCK_EX: EWOULDBLOCK");
	CHECK(flock(fd2, LOCK_EX) == 0, "locking again what the description holds is a no-op");
	CHECK(flock(fd2, LOCK_SH) == 0, "converting LOCK_EX to LOCK_SH");
	CHECK(flock(fd1, LOCK_SH | LOCK_NB) == 0, "then the other open may share");
	CHECK(flock(fd1, LOCK_UN) == 0 && flock(fd2, LOCK_UN) == 0, "LOCK_UN");
	CHECK(flock(fd2, LOCK_UN) == 0, "LOCK_UN without a lock succeeds");
	CHECK(other_process_flock(LOCK_EX | LOCK_NB) == 0, "after LOCK_UN another process gets LOCK_EX");

	/* Access mode does not matter: LOCK_EX through a read-only open. */
	CHECK(flock(fd2, LOCK_EX | LOCK_NB) == 0, "LOCK_EX through an O_RDONLY descriptor");

	/* Duplicates share the lock; only the last close releases it. */
	fd3 = dup(fd2);
	CHECK(close(fd2) == 0, "close the original descriptor");
	CHECK(other_process_flock(LOCK_SH | LOCK_NB) == EWOULDBLOCK, "the duplicate still holds it");
	CHECK(flock(fd3, LOCK_EX | LOCK_NB) == 0, "locking through the duplicate: same lock");
	CHECK(close(fd3) == 0, "close the duplicate");
	CHECK(other_process_flock(LOCK_EX | LOCK_NB) == 0, "the last close released it");

	/* Argument errors: the operation is checked before the descriptor. */
	CHECK_ERRNO(flock(fd1, 0), EINVAL, "operation 0: EINVAL");
	CHECK_ERRNO(flock(fd1, LOCK_NB), EINVAL, "LOCK_NB alone: EINVAL");
	CHECK_ERRNO(flock(fd1, LOCK_SH | LOCK_EX), EINVAL, "LOCK_SH|LOCK_EX: EINVAL");
	CHECK_ERRNO(flock(fd1, 16), EINVAL, "unknown operation 16: EINVAL");
	CHECK_ERRNO(flock(-1, 16), EINVAL, "bad operation on a bad descriptor: EINVAL");
	CHECK_ERRNO(flock(-1, LOCK_SH), EBADF, "bad descriptor: EBADF");
	CHECK_ERRNO(flock(1000, LOCK_UN), EBADF, "closed descriptor: EBADF");
	{
		int p = open(path, O_PATH);
		CHECK_ERRNO(flock(p, LOCK_SH), EBADF, "O_PATH descriptor: EBADF");
		close(p);
	}
	close(fd1);
}

static void test_fork_shares_description(void)
{
	int fd = open(path, O_RDWR);
	int other = open(path, O_RDONLY);
	pid_t pid;
	int st;

	CHECK(flock(fd, LOCK_EX) == 0, "parent takes LOCK_EX");
	pid = fork();
	if (pid == 0) {
		/* Same open file description: the child holds the same lock. */
		int ok = flock(fd, LOCK_EX | LOCK_NB) == 0;
		ok = ok && flock(fd, LOCK_UN) == 0;
		_exit(ok ? 0 : 1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "child relocks and unlocks through the inherited descriptor");
	CHECK(flock(other, LOCK_EX | LOCK_NB) == 0, "the child's LOCK_UN released the parent's lock");
	CHECK(flock(other, LOCK_UN) == 0, "unlock");

	/* A child's own lock goes away when it exits. */
	CHECK(flock(fd, LOCK_EX) == 0, "parent locks again");
	pid = fork();
	if (pid == 0) {
		close(fd);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	CHECK(flock(other, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK,
	      "a child closing its inherited copy does not release the lock");
	CHECK(flock(fd, LOCK_UN) == 0, "unlock");
	close(fd);
	close(other);
}

static void test_exit_releases(void)
{
	int sync[2], fd = open(path, O_RDONLY);
	pid_t pid;
	char c;
	int st;

	for (int killed = 0; killed < 2; killed++) {
		CHECK(pipe(sync) == 0, "pipe");
		pid = fork();
		if (pid == 0) {
			int mine = open(path, O_RDONLY);
			if (flock(mine, LOCK_EX) != 0)
				_exit(1);
			write(sync[1], "l", 1);
			if (killed)
				pause();
			_exit(0);
		}
		close(sync[1]);
		CHECK(read(sync[0], &c, 1) == 1, "child holds LOCK_EX");
		if (killed) {
			CHECK(flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK,
			      "held while the child lives");
			kill(pid, SIGKILL);
		}
		waitpid(pid, &st, 0);
		CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0,
		      killed ? "released when the holder was killed" : "released when the holder exited");
		flock(fd, LOCK_UN);
		close(sync[0]);
	}
	close(fd);
}

static void test_blocking(void)
{
	int fd = open(path, O_RDWR), sync[2], done[2];
	pid_t pid;
	char c;
	int st;

	CHECK(pipe(sync) == 0 && pipe(done) == 0, "pipes");
	CHECK(flock(fd, LOCK_EX) == 0, "parent holds LOCK_EX");
	pid = fork();
	if (pid == 0) {
		int mine = open(path, O_RDONLY);
		write(sync[1], "s", 1);
		if (flock(mine, LOCK_SH) != 0)
			_exit(1);
		write(done[1], "d", 1);
		_exit(0);
	}
	close(sync[1]);
	close(done[1]);
	read(sync[0], &c, 1);
	CHECK(!readable_within(done[0], 300), "the child's LOCK_SH waits");
	CHECK(flock(fd, LOCK_UN) == 0, "parent unlocks");
	CHECK(readable_within(done[0], 10000), "the waiting child gets the lock");
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ok");
	close(sync[0]);
	close(done[0]);

	/* A signal with a handler (no SA_RESTART) interrupts the wait. */
	CHECK(flock(fd, LOCK_EX) == 0, "parent locks again");
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_alarm };
		struct itimerval it = { .it_value = { 0, 200000 } };
		int mine = open(path, O_RDONLY), r, e;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		r = flock(mine, LOCK_EX);
		e = errno;
		_exit(r == -1 && e == EINTR ? 0 : 1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "a waiting flock is interrupted by SIGALRM: EINTR");
	/* A waiter killed while waiting goes away cleanly. */
	pid = fork();
	if (pid == 0) {
		int mine = open(path, O_RDONLY);
		flock(mine, LOCK_EX);
		_exit(1);
	}
	sleep_ms(100);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "a waiter dies of SIGKILL");
	CHECK(flock(fd, LOCK_UN) == 0, "unlock");
	CHECK(other_process_flock(LOCK_EX | LOCK_NB) == 0, "nothing left behind");
	close(fd);
}

static void test_independent_of_posix(void)
{
	int fd = open(path, O_RDWR);
	pid_t pid;
	int st;

	CHECK(flock(fd, LOCK_EX) == 0, "flock LOCK_EX");
	pid = fork();
	if (pid == 0) {
		int mine = open(path, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		_exit(fcntl(mine, F_SETLK, &fl) == 0 ? 0 : 1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "a POSIX write lock ignores the flock lock");
	{
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		CHECK(fcntl(fd, F_SETLK, &fl) == 0, "and the holder may take one too");
		CHECK(other_process_flock(LOCK_SH | LOCK_NB) == EWOULDBLOCK,
		      "the flock lock is still there");
	}
	close(fd);
	CHECK(other_process_flock(LOCK_EX | LOCK_NB) == 0, "close released both");
}

static void test_pipe(void)
{
	int p[2];

	CHECK(pipe(p) == 0, "pipe");
	CHECK(flock(p[0], LOCK_EX | LOCK_NB) == 0, "flock on a pipe's read end");
	CHECK_ERRNO(flock(p[1], LOCK_EX | LOCK_NB), EWOULDBLOCK,
		    "the write end is another description of the same pipe");
	close(p[0]);
	CHECK(flock(p[1], LOCK_EX | LOCK_NB) == 0, "closing the read end released it");
	close(p[1]);
}

int main(void)
{
	test_basic();
	test_fork_shares_description();
	test_exit_releases();
	test_blocking();
	test_independent_of_posix();
	test_pipe();
	unlink(path);
	return check_exit();
}
