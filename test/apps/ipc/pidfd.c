/*
 * Process descriptors: pidfd_open(2), pidfd_send_signal(2),
 * pidfd_getfd(2), clone(CLONE_PIDFD), clone3 with a pidfd, waitid(P_PIDFD):
 * - pidfd_open: close-on-exec, PIDFD_NONBLOCK, EINVAL (flags, pid <= 0),
 *   ENOENT for a thread that is not a leader, ESRCH for a reaped process;
 * - poll and epoll: readable (POLLIN|POLLRDNORM) once the process has
 *   exited, POLLHUP too once it is reaped;
 * - waitid(P_PIDFD): waits, EAGAIN with a non-blocking pidfd, EBADF;
 * - pidfd_send_signal: signals, signal 0, a siginfo (SI_QUEUE and its
 *   value; EPERM for SI_USER to another process, EINVAL for a mismatched
 *   signal), EINVAL (flags, signal), EBADF (not a pidfd), ESRCH (reaped),
 *   EPERM (another user), EFAULT;
 * - pidfd_getfd: a duplicate (close-on-exec) of the other process's
 *   descriptor, EINVAL (flags), EBADF, ESRCH (a zombie or a reaped
 *   process), EPERM (another user);
 * - CLONE_PIDFD with clone and clone3 (EFAULT for a bad pidfd address).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "procutil.h"
#include "rawclone.h"

/* Not in musl's headers. */
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static int pidfd_getfd(int fd, int target, unsigned flags)
{
	return syscall(SYS_pidfd_getfd, fd, target, flags);
}

static short revents(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDNORM };
	if (poll(&p, 1, 0) < 0)
		return -1;
	return p.revents;
}

/* A child that waits to be killed. */
static pid_t sleeper(void)
{
	pid_t c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	return c;
}

static int tid_pipe[2];

static void *thread_fn(void *arg)
{
	(void)arg;
	int tid = syscall(SYS_gettid);
	write(tid_pipe[1], &tid, sizeof tid);
	pause();
	return NULL;
}

int main(void)
{
	int st;
	siginfo_t info;
	sigset_t usr1;

	/* Blocked in every thread: signals to the process wait for sigtimedwait. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);

	/* pidfd_open and poll. */
	pid_t child = sleeper();
	int fd = pidfd_open(child, 0);
	CHECK(fd >= 0, "pidfd_open(child, 0)");
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "close-on-exec");
	CHECK((fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_RDWR, "O_RDWR, blocking");
	CHECK(revents(fd) == 0, "running child: not readable");
	CHECK(pidfd_send_signal(fd, 0, NULL, 0) == 0, "pidfd_send_signal(signal 0)");
	CHECK(pidfd_send_signal(fd, SIGKILL, NULL, 0) == 0, "pidfd_send_signal(SIGKILL)");
	struct pollfd pw = { .fd = fd, .events = POLLIN | POLLRDNORM };
	CHECK(poll(&pw, 1, 5000) == 1 && pw.revents == (POLLIN | POLLRDNORM),
	      "exited: POLLIN|POLLRDNORM (revents %#x)", pw.revents);
	CHECK(pidfd_send_signal(fd, SIGTERM, NULL, 0) == 0, "signalling the zombie is fine");
	CHECK_ERRNO(pidfd_getfd(fd, 0, 0), ESRCH, "pidfd_getfd of a zombie -> ESRCH");
	CHECK(waitid(P_PIDFD, fd, &info, WEXITED) == 0 && info.si_pid == child &&
	      info.si_code == CLD_KILLED && info.si_status == SIGKILL, "waitid(P_PIDFD): killed by SIGKILL");
	CHECK(revents(fd) == (POLLIN | POLLRDNORM | POLLHUP), "reaped: POLLIN|POLLRDNORM|POLLHUP (%#x)",
	      revents(fd));
	CHECK_ERRNO(pidfd_send_signal(fd, SIGTERM, NULL, 0), ESRCH, "signalling a reaped process -> ESRCH");
	CHECK_ERRNO(pidfd_getfd(fd, 0, 0), ESRCH, "pidfd_getfd of a reaped process -> ESRCH");
	CHECK_ERRNO(pidfd_open(child, 0), ESRCH, "pidfd_open of a reaped pid -> ESRCH");
	CHECK_ERRNO(waitid(P_PIDFD, fd, &info, WEXITED), ECHILD, "waitid on it again -> ECHILD");
	close(fd);

	/* Errors of pidfd_open. */
	CHECK_ERRNO(pidfd_open(getpid(), 1), EINVAL, "unknown flag -> EINVAL");
	CHECK_ERRNO(pidfd_open(0, 0), EINVAL, "pid 0 -> EINVAL");
	CHECK_ERRNO(pidfd_open(-1, 0), EINVAL, "pid -1 -> EINVAL");
	pthread_t th;
	pipe(tid_pipe);
	pthread_create(&th, NULL, thread_fn, NULL);
	int tid;
	read(tid_pipe[0], &tid, sizeof tid);
	CHECK_ERRNO(pidfd_open(tid, 0), ENOENT, "a thread that is not a leader -> ENOENT");

	/* PIDFD_NONBLOCK and waitid. */
	child = sleeper();
	fd = pidfd_open(child, PIDFD_NONBLOCK);
	CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK), "PIDFD_NONBLOCK: O_NONBLOCK");
	CHECK_ERRNO(waitid(P_PIDFD, fd, &info, WEXITED), EAGAIN, "waitid on a running child, non-blocking -> EAGAIN");
	memset(&info, 0, sizeof info);
	CHECK(waitid(P_PIDFD, fd, &info, WEXITED | WNOHANG) == 0 && info.si_pid == 0,
	      "with WNOHANG: 0 and no child");
	int p[2];
	pipe(p);
	CHECK_ERRNO(waitid(P_PIDFD, p[0], &info, WEXITED), EBADF, "waitid(P_PIDFD) on a pipe -> EBADF");

	/* epoll. */
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 3 }, out;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl ADD pidfd");
	CHECK(epoll_wait(ep, &out, 1, 0) == 0, "running: no event");
	kill(child, SIGTERM);
	CHECK(epoll_wait(ep, &out, 1, 5000) == 1 && out.data.u32 == 3 && (out.events & EPOLLIN),
	      "epoll: EPOLLIN when it exits");
	CHECK(waitid(P_PIDFD, fd, &info, WEXITED) == 0 && info.si_status == SIGTERM, "and waitid reaps it");
	close(ep);
	close(fd);

	/* pidfd_send_signal. */
	child = fork();
	if (child == 0) {
		struct timespec t = { 10, 0 };
		siginfo_t si;
		int s = sigtimedwait(&usr1, &si, &t);
		_exit(s == SIGUSR1 && si.si_code == SI_QUEUE && si.si_value.sival_int == 99 &&
		      si.si_pid == getppid() ? 0 : 1);
	}
	fd = pidfd_open(child, 0);
	CHECK_ERRNO(pidfd_send_signal(fd, 65, NULL, 0), EINVAL, "signal 65 -> EINVAL");
	CHECK_ERRNO(pidfd_send_signal(fd, SIGUSR1, NULL, 8), EINVAL, "unknown flag -> EINVAL");
	CHECK_ERRNO(pidfd_send_signal(fd, SIGUSR1, NULL, 3), EINVAL, "two scopes -> EINVAL");
	CHECK_ERRNO(pidfd_send_signal(p[0], SIGUSR1, NULL, 0), EBADF, "a pipe is not a pidfd -> EBADF");
	CHECK_ERRNO(pidfd_send_signal(999, SIGUSR1, NULL, 0), EBADF, "closed descriptor -> EBADF");
	CHECK_ERRNO(pidfd_send_signal(fd, SIGUSR1, (void *)8, 0), EFAULT, "unreadable siginfo -> EFAULT");
	memset(&info, 0, sizeof info);
	info.si_signo = SIGUSR2;
	info.si_code = SI_QUEUE;
	CHECK_ERRNO(pidfd_send_signal(fd, SIGUSR1, &info, 0), EINVAL, "si_signo is not the signal -> EINVAL");
	info.si_signo = SIGUSR1;
	info.si_code = SI_USER;
	CHECK_ERRNO(pidfd_send_signal(fd, SIGUSR1, &info, 0), EPERM, "SI_USER to another process -> EPERM");
	info.si_code = SI_QUEUE;
	info.si_pid = getpid();
	info.si_uid = getuid();
	info.si_value.sival_int = 99;
	CHECK(pidfd_send_signal(fd, SIGUSR1, &info, 0) == 0, "SI_QUEUE with a value");
	waitpid(child, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child got SI_QUEUE, the value and our pid");
	close(fd);
	int self = pidfd_open(getpid(), 0);
	info.si_code = SI_USER;
	CHECK(pidfd_send_signal(self, SIGUSR1, &info, 0) == 0, "SI_USER to ourselves is fine");
	struct timespec zero = { 0, 0 };
	CHECK(sigtimedwait(&usr1, &info, &zero) == SIGUSR1, "and it is pending");
	CHECK(pidfd_send_signal(self, SIGUSR1, NULL, 2 /* PIDFD_SIGNAL_THREAD_GROUP */) == 0 &&
	      sigtimedwait(&usr1, &info, &zero) == SIGUSR1 && info.si_code == SI_USER,
	      "PIDFD_SIGNAL_THREAD_GROUP: SI_USER");

	/* pidfd_getfd. */
	int dup = pidfd_getfd(self, p[1], 0);
	CHECK(dup >= 0 && dup != p[1] && fcntl(dup, F_GETFD) == FD_CLOEXEC,
	      "pidfd_getfd(self, pipe write end): a new close-on-exec descriptor");
	char c = 0;
	CHECK(write(dup, "q", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'q', "the same pipe");
	close(dup);
	CHECK_ERRNO(pidfd_getfd(self, p[1], 1), EINVAL, "flags 1 -> EINVAL");
	CHECK_ERRNO(pidfd_getfd(self, 999, 0), EBADF, "no such descriptor -> EBADF");
	CHECK_ERRNO(pidfd_getfd(p[0], 0, 0), EBADF, "not a pidfd -> EBADF");
	int cp[2];
	pipe(cp);
	child = fork();
	if (child == 0) {
		/* The child's own pipe, at a known number. */
		int q[2];
		pipe(q);
		dup2(q[1], 40);
		write(cp[1], "r", 1);
		char z;
		read(q[0], &z, 1);
		_exit(z == 'z' ? 0 : 1);
	}
	read(cp[0], &c, 1);
	fd = pidfd_open(child, 0);
	int theirs = pidfd_getfd(fd, 40, 0);
	CHECK(theirs >= 0, "pidfd_getfd of a child's descriptor");
	CHECK(write(theirs, "z", 1) == 1, "writing to it");
	waitpid(child, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reaches the child");
	close(theirs);
	close(fd);

	/* Permissions: another user may neither signal us nor take our files. */
	child = fork();
	if (child == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(9);
		int r1 = pidfd_send_signal(self, SIGUSR1, NULL, 0) == -1 && errno == EPERM;
		int r2 = pidfd_getfd(self, 1, 0) == -1 && errno == EPERM;
		int r3 = pidfd_send_signal(self, 0, NULL, 0) == -1 && errno == EPERM;
		_exit(r1 && r2 && r3 ? 0 : 1);
	}
	waitpid(child, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "another user: pidfd_send_signal and pidfd_getfd -> EPERM (status %#x)", st);

	/* CLONE_PIDFD. */
	int pfd = -1;
	long r = raw_clone_exit(CLONE_PIDFD | SIGCHLD, NULL, &pfd, NULL, 0, 5);
	CHECK(r > 0 && pfd >= 0, "clone(CLONE_PIDFD): pidfd %d", pfd);
	CHECK(fcntl(pfd, F_GETFD) == FD_CLOEXEC, "it is close-on-exec");
	pw = (struct pollfd){ .fd = pfd, .events = POLLIN };
	CHECK(poll(&pw, 1, 5000) == 1, "it becomes readable");
	CHECK(waitid(P_PIDFD, pfd, &info, WEXITED) == 0 && info.si_pid == r && info.si_status == 5,
	      "waitid(P_PIDFD): the child, status 5");
	close(pfd);
	struct raw_clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (uintptr_t)&pfd;
	ca.exit_signal = SIGCHLD;
	pfd = -1;
	r = raw_clone3_exit(&ca, sizeof ca, 6);
	CHECK(r > 0 && pfd >= 0, "clone3 with CLONE_PIDFD: pidfd %d", pfd);
	CHECK(waitid(P_PIDFD, pfd, &info, WEXITED) == 0 && info.si_pid == r && info.si_status == 6,
	      "waitid(P_PIDFD): status 6");
	close(pfd);
	ca.pidfd = 8;
	r = raw_clone3_exit(&ca, sizeof ca, 7);
	CHECK(r == -EFAULT, "clone3, pidfd at a bad address -> EFAULT (got %ld)", r);
	CHECK(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD, "and no child was left behind");
	return check_exit();
}
