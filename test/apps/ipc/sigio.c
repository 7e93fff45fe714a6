/*
 * Asynchronous I/O signals on pipes: F_SETOWN/F_GETOWN,
 * F_SETOWN_EX/F_GETOWN_EX, F_SETSIG/F_GETSIG and O_ASYNC. Data written to
 * a pipe signals the owners of read ends (POLL_IN), data read signals the
 * owners of write ends (POLL_OUT), and so does the other end's last close;
 * the owner is a process, a process group or a thread; with F_SETSIG the
 * chosen signal carries si_code POLL_*, si_fd and si_band, also when it is
 * taken with sigtimedwait or read from a signalfd.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/check.h"
#include "../include/procutil.h"

static volatile sig_atomic_t hits, last_sig, last_code, last_fd;
static volatile long last_band;
static volatile pid_t last_tid;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_sig = sig;
	last_code = si->si_code;
	last_fd = si->si_fd;
	last_band = si->si_band;
	last_tid = (pid_t)syscall(SYS_gettid);
}

static void catch(int sig)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	sigaction(sig, &sa, NULL);
}

static void reset(void)
{
	hits = last_sig = last_code = last_fd = 0;
	last_band = 0;
	last_tid = 0;
}

/* Waits up to ms for at least n hits. */
static int hits_within(int n, int ms)
{
	for (int i = 0; i < ms / 10 && hits < n; i++)
		sleep_ms(10);
	return hits >= n;
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static void test_owner_calls(void)
{
	int p[2];
	struct f_owner_ex o;
	pid_t gone = dead_pid();

	CHECK(pipe(p) == 0, "pipe");
	CHECK(fcntl(p[0], F_GETOWN) == 0, "F_GETOWN of a new pipe: 0");
	CHECK(fcntl(p[0], F_GETSIG) == 0, "F_GETSIG of a new pipe: 0");
	CHECK(fcntl(p[0], F_SETOWN, getpid()) == 0 && fcntl(p[0], F_GETOWN) == getpid(), "F_SETOWN pid");
	CHECK(fcntl(p[1], F_GETOWN) == 0, "the other end has its own owner");
	o = (struct f_owner_ex){ -1, -1 };
	CHECK(fcntl(p[0], F_GETOWN_EX, &o) == 0 && o.type == F_OWNER_PID && o.pid == getpid(),
	      "F_GETOWN_EX: F_OWNER_PID");
	CHECK(fcntl(p[0], F_SETOWN, -getpgrp()) == 0 && fcntl(p[0], F_GETOWN) == -getpgrp(),
	      "F_SETOWN -pgrp");
	o = (struct f_owner_ex){ -1, -1 };
	CHECK(fcntl(p[0], F_GETOWN_EX, &o) == 0 && o.type == F_OWNER_PGRP && o.pid == getpgrp(),
	      "F_GETOWN_EX: F_OWNER_PGRP, positive id");
	o = (struct f_owner_ex){ F_OWNER_TID, (pid_t)syscall(SYS_gettid) };
	CHECK(fcntl(p[0], F_SETOWN_EX, &o) == 0, "F_SETOWN_EX F_OWNER_TID");
	o = (struct f_owner_ex){ -1, -1 };
	CHECK(fcntl(p[0], F_GETOWN_EX, &o) == 0 && o.type == F_OWNER_TID &&
		      o.pid == (pid_t)syscall(SYS_gettid),
	      "F_GETOWN_EX: F_OWNER_TID");
	CHECK(fcntl(p[0], F_GETOWN) == (pid_t)syscall(SYS_gettid), "F_GETOWN gives the tid");
	CHECK(fcntl(p[0], F_SETOWN, 0) == 0 && fcntl(p[0], F_GETOWN) == 0, "F_SETOWN 0 clears it");

	CHECK_ERRNO(fcntl(p[0], F_SETOWN, gone), ESRCH, "F_SETOWN of a reaped pid: ESRCH");
	CHECK_ERRNO(fcntl(p[0], F_SETOWN, -gone), ESRCH, "F_SETOWN of a missing group: ESRCH");
	CHECK_ERRNO(fcntl(p[0], F_SETOWN, INT_MIN), EINVAL, "F_SETOWN INT_MIN: EINVAL");
	o = (struct f_owner_ex){ 3, getpid() };
	CHECK_ERRNO(fcntl(p[0], F_SETOWN_EX, &o), EINVAL, "F_SETOWN_EX type 3: EINVAL");
	o = (struct f_owner_ex){ F_OWNER_PID, -getpid() };
	CHECK_ERRNO(fcntl(p[0], F_SETOWN_EX, &o), ESRCH, "F_SETOWN_EX negative pid: ESRCH");
	o = (struct f_owner_ex){ F_OWNER_PID, gone };
	CHECK_ERRNO(fcntl(p[0], F_SETOWN_EX, &o), ESRCH, "F_SETOWN_EX reaped pid: ESRCH");
	CHECK_ERRNO(fcntl(p[0], F_SETOWN_EX, (void *)16), EFAULT, "F_SETOWN_EX bad pointer: EFAULT");
	CHECK_ERRNO(fcntl(p[0], F_GETOWN_EX, (void *)16), EFAULT, "F_GETOWN_EX bad pointer: EFAULT");
	o = (struct f_owner_ex){ F_OWNER_PID, 0 };
	CHECK(fcntl(p[0], F_SETOWN_EX, &o) == 0, "F_SETOWN_EX pid 0 clears");
	o = (struct f_owner_ex){ -1, -1 };
	CHECK(fcntl(p[0], F_GETOWN_EX, &o) == 0 && o.type == F_OWNER_PID && o.pid == 0,
	      "F_GETOWN_EX: F_OWNER_PID 0");

	CHECK(fcntl(p[0], F_SETSIG, SIGUSR1) == 0 && fcntl(p[0], F_GETSIG) == SIGUSR1, "F_SETSIG SIGUSR1");
	CHECK(fcntl(p[0], F_SETSIG, 64) == 0 && fcntl(p[0], F_GETSIG) == 64, "F_SETSIG 64");
	CHECK_ERRNO(fcntl(p[0], F_SETSIG, 65), EINVAL, "F_SETSIG 65: EINVAL");
	CHECK_ERRNO(fcntl(p[0], F_SETSIG, -1L), EINVAL, "F_SETSIG -1: EINVAL");
	CHECK(fcntl(p[0], F_SETSIG, 0) == 0 && fcntl(p[0], F_GETSIG) == 0, "F_SETSIG 0");

	/* The owner of a process that has been reaped reads as 0. */
	{
		int sync[2];
		pid_t child;
		char c;
		pipe(sync);
		child = fork();
		if (child == 0) {
			read(sync[0], &c, 1);
			_exit(0);
		}
		CHECK(fcntl(p[0], F_SETOWN, child) == 0 && fcntl(p[0], F_GETOWN) == child,
		      "owner: a child");
		write(sync[1], "x", 1);
		waitpid(child, NULL, 0);
		CHECK(fcntl(p[0], F_GETOWN) == 0, "F_GETOWN once the child is reaped: 0");
		close(sync[0]);
		close(sync[1]);
	}

	/* Regular files have an owner too, but no O_ASYNC. */
	{
		int f = open("/tmp/sigio.tmp", O_RDWR | O_CREAT, 0600);
		CHECK(fcntl(f, F_SETOWN, getpid()) == 0 && fcntl(f, F_GETOWN) == getpid(),
		      "F_SETOWN on a regular file");
		CHECK(fcntl(f, F_SETFL, O_ASYNC) == 0 && !(fcntl(f, F_GETFL) & O_ASYNC),
		      "F_SETFL O_ASYNC on a regular file is ignored");
		close(f);
		unlink("/tmp/sigio.tmp");
	}
	CHECK(fcntl(p[0], F_SETFL, O_ASYNC) == 0 && (fcntl(p[0], F_GETFL) & O_ASYNC),
	      "F_SETFL O_ASYNC on a pipe sticks");
	CHECK(fcntl(p[0], F_SETFL, 0) == 0 && !(fcntl(p[0], F_GETFL) & O_ASYNC), "and can be cleared");
	close(p[0]);
	close(p[1]);
}

static void test_delivery(void)
{
	int p[2];
	char buf[16];

	catch(SIGIO);
	catch(SIGUSR1);
	catch(SIGRTMIN + 1);
	CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe2(O_NONBLOCK)");

	reset();
	write(p[1], "a", 1);
	CHECK(hits == 0, "without O_ASYNC: no signal");
	fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK);
	write(p[1], "a", 1);
	CHECK(hits == 0, "O_ASYNC without an owner: no signal");

	fcntl(p[0], F_SETOWN, getpid());
	reset();
	write(p[1], "a", 1);
	CHECK(hits == 1 && last_sig == SIGIO, "a write signals the read end's owner: SIGIO");
	CHECK(last_code == SI_KERNEL && last_fd == 0 && last_band == 0,
	      "plain SIGIO: si_code SI_KERNEL, no si_fd/si_band (code %d)", last_code);

	fcntl(p[0], F_SETSIG, SIGRTMIN + 1);
	reset();
	write(p[1], "a", 1);
	CHECK(hits == 1 && last_sig == SIGRTMIN + 1, "F_SETSIG SIGRTMIN+1: that signal instead");
	CHECK(last_code == POLL_IN && last_fd == p[0] && last_band == (POLLIN | POLLRDNORM),
	      "si_code POLL_IN, si_fd the read end, si_band POLLIN|POLLRDNORM");

	fcntl(p[0], F_SETSIG, SIGIO);
	reset();
	write(p[1], "a", 1);
	CHECK(hits == 1 && last_sig == SIGIO && last_code == POLL_IN && last_fd == p[0],
	      "F_SETSIG SIGIO: SIGIO with the siginfo");

	reset();
	read(p[0], buf, sizeof buf);
	CHECK(hits == 0, "a read does not signal the read end's owner");
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	write(p[1], "a", 1);
	CHECK(hits == 0, "O_ASYNC cleared: no signal");
	read(p[0], buf, sizeof buf);

	/* The write end: signalled when reading makes room. */
	fcntl(p[1], F_SETOWN, getpid());
	fcntl(p[1], F_SETSIG, SIGUSR1);
	fcntl(p[1], F_SETFL, O_ASYNC | O_NONBLOCK);
	write(p[1], "abc", 3);
	reset();
	read(p[0], buf, sizeof buf);
	CHECK(hits == 1 && last_sig == SIGUSR1 && last_code == POLL_OUT && last_fd == p[1] &&
		      last_band == (POLLOUT | POLLWRNORM | POLLWRBAND),
	      "a read signals the write end's owner: POLL_OUT, POLLOUT|POLLWRNORM|POLLWRBAND");

	/* The last close of the other end. */
	fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK);
	fcntl(p[0], F_SETSIG, SIGRTMIN + 1);
	reset();
	close(p[1]);
	CHECK(hits == 1 && last_sig == SIGRTMIN + 1 && last_code == POLL_IN && last_fd == p[0],
	      "closing the write end signals the reader: POLL_IN");
	close(p[0]);

	/* An owner's signal follows the descriptor number that set O_ASYNC. */
	CHECK(pipe2(p, O_NONBLOCK) == 0, "another pipe");
	{
		int d = dup(p[0]);
		fcntl(d, F_SETOWN, getpid());
		fcntl(d, F_SETSIG, SIGRTMIN + 1);
		fcntl(d, F_SETFL, O_ASYNC | O_NONBLOCK);
		reset();
		write(p[1], "a", 1);
		CHECK(hits == 1 && last_fd == d, "si_fd is the descriptor F_SETFL O_ASYNC was made on");
		close(d);
		reset();
		write(p[1], "a", 1);
		CHECK(hits == 1, "the description still signals after that descriptor is closed");
	}
	close(p[0]);
	close(p[1]);
}

static void test_other_owners(void)
{
	int p[2], sync[2], st;
	pid_t child;
	char c;
	sigset_t io, old;

	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	CHECK(setpgid(0, 0) == 0, "own process group");
	CHECK(pipe2(p, O_NONBLOCK) == 0 && pipe(sync) == 0, "pipes");
	fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK);

	/* Owner: another process. */
	sigprocmask(SIG_BLOCK, &io, &old);
	child = fork();
	if (child == 0) {
		struct timespec ts = { 10, 0 };
		siginfo_t si;
		write(sync[1], "r", 1);
		_exit(sigtimedwait(&io, &si, &ts) == SIGIO ? 0 : 1);
	}
	read(sync[0], &c, 1);
	CHECK(fcntl(p[0], F_SETOWN, child) == 0, "owner: the child");
	reset();
	write(p[1], "a", 1);
	CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the child received SIGIO");
	CHECK(sigpending(&old) == 0 && !sigismember(&old, SIGIO), "the writer did not");

	/* Owner: our process group (the child is in it too). */
	child = fork();
	if (child == 0) {
		struct timespec ts = { 10, 0 };
		siginfo_t si;
		write(sync[1], "r", 1);
		_exit(sigtimedwait(&io, &si, &ts) == SIGIO ? 0 : 1);
	}
	read(sync[0], &c, 1);
	CHECK(fcntl(p[0], F_SETOWN, -getpgrp()) == 0, "owner: our process group");
	write(p[1], "a", 1);
	CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the child in the group received SIGIO");
	CHECK(sigpending(&old) == 0 && sigismember(&old, SIGIO), "and so did we");
	{
		struct timespec ts = { 0, 0 };
		siginfo_t si;
		sigtimedwait(&io, &si, &ts);
	}
	sigemptyset(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	close(p[1]);
	close(sync[0]);
	close(sync[1]);
}

static volatile pid_t helper_tid;
static volatile int helper_stop;

static void *helper(void *arg)
{
	(void)arg;
	helper_tid = (pid_t)syscall(SYS_gettid);
	while (!helper_stop)
		sleep_ms(5);
	return NULL;
}

static void test_thread_owner(void)
{
	pthread_t t;
	int p[2];
	struct f_owner_ex o;

	catch(SIGUSR1);
	CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe");
	pthread_create(&t, NULL, helper, NULL);
	while (!helper_tid)
		sleep_ms(1);
	o = (struct f_owner_ex){ F_OWNER_TID, helper_tid };
	CHECK(fcntl(p[0], F_SETOWN_EX, &o) == 0, "owner: the helper thread");
	fcntl(p[0], F_SETSIG, SIGUSR1);
	fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK);
	reset();
	write(p[1], "a", 1);
	CHECK(hits_within(1, 5000), "the signal arrived");
	CHECK(last_tid == helper_tid, "on the owner thread");
	helper_stop = 1;
	pthread_join(t, NULL);
	close(p[0]);
	close(p[1]);
}

/* A chosen signal taken from the queue instead of handled: sigtimedwait
 * and a signalfd see si_fd and si_band too (SI_SIGIO for a signal with
 * codes of its own). */
static void test_fetched(void)
{
	int p[2], sfd;
	char buf[16];
	sigset_t set;
	siginfo_t si;
	struct signalfd_siginfo ssi;
	struct timespec ts = { 1, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	sigaddset(&set, SIGSYS);
	sigprocmask(SIG_BLOCK, &set, NULL);
	CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe2 for queued signals");
	sfd = signalfd(-1, &set, SFD_NONBLOCK);
	CHECK(sfd >= 0, "signalfd(SIGRTMIN+2, SIGSYS)");
	fcntl(p[0], F_SETOWN, getpid());
	fcntl(p[0], F_SETSIG, SIGRTMIN + 2);
	fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK);

	write(p[1], "a", 1);
	memset(&ssi, 0, sizeof ssi);
	CHECK(read(sfd, &ssi, sizeof ssi) == sizeof ssi && ssi.ssi_signo == (unsigned)SIGRTMIN + 2 &&
		      ssi.ssi_code == POLL_IN && ssi.ssi_fd == p[0] &&
		      ssi.ssi_band == (POLLIN | POLLRDNORM),
	      "signalfd: POLL_IN, ssi_fd the read end, ssi_band POLLIN|POLLRDNORM (fd %d band %#x)",
	      ssi.ssi_fd, ssi.ssi_band);
	read(p[0], buf, sizeof buf);

	write(p[1], "a", 1);
	memset(&si, 0, sizeof si);
	CHECK(sigtimedwait(&set, &si, &ts) == SIGRTMIN + 2 && si.si_code == POLL_IN &&
		      si.si_fd == p[0] && si.si_band == (POLLIN | POLLRDNORM),
	      "sigtimedwait: POLL_IN, si_fd, si_band");
	read(p[0], buf, sizeof buf);

	fcntl(p[0], F_SETSIG, SIGSYS);
	write(p[1], "a", 1);
	memset(&si, 0, sizeof si);
	CHECK(sigtimedwait(&set, &si, &ts) == SIGSYS && si.si_code == SI_SIGIO && si.si_fd == p[0] &&
		      si.si_band == (POLLIN | POLLRDNORM),
	      "F_SETSIG SIGSYS: si_code SI_SIGIO, with si_fd and si_band (code %d fd %d)", si.si_code,
	      si.si_fd);
	read(p[0], buf, sizeof buf);

	write(p[1], "a", 1);
	memset(&ssi, 0, sizeof ssi);
	CHECK(read(sfd, &ssi, sizeof ssi) == sizeof ssi && ssi.ssi_signo == SIGSYS &&
		      ssi.ssi_code == SI_SIGIO && ssi.ssi_fd == p[0] &&
		      ssi.ssi_band == (POLLIN | POLLRDNORM),
	      "signalfd: SI_SIGIO with ssi_fd and ssi_band");

	close(sfd);
	close(p[0]);
	close(p[1]);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int main(void)
{
	test_owner_calls();
	test_delivery();
	test_fetched();
	test_other_owners();
	test_thread_owner();
	return check_exit();
}
