/*
 * wait4() and waitid() variants:
 * - wait4 by pid, -1, 0 (own process group), -pgid;
 * - WNOHANG gives 0 while a matching child runs; a pid selector matching no
 *   child (another group) gives ECHILD even if other children exist;
 * - ECHILD without children, for wait4 and waitid;
 * - waitid P_PID and P_ALL with WEXITED; WNOWAIT leaves the child
 *   waitable; WNOHANG with nothing to report returns 0 and si_pid 0;
 * - status words for exit and death by SIGTERM and SIGKILL, and the
 *   siginfo codes CLD_EXITED / CLD_KILLED;
 * - __WALL is accepted; bad option bits give EINVAL.
 * The test first puts itself in its own process group. (Booted as init, that
 * group is 1, and wait4(-1) then means "any child", not "group 1".)
 *
 * Children that must stay alive block reading a pipe; closing the write end
 * lets them go.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/*
 * A child that exits with code once released: gate is a pipe whose write end
 * the parent closes (NULL: exit at once).
 */
static pid_t child(int *gate, int code, int own_group)
{
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		if (own_group)
			setpgid(0, 0);
		if (gate) {
			close(gate[1]);
			while (read(gate[0], &c, 1) > 0)
				;
		}
		_exit(code);
	}
	if (pid > 0 && own_group)
		setpgid(pid, pid);	/* both sides, so there is no race */
	return pid;
}

int main(void)
{
	int status, p[2];
	siginfo_t si;
	struct rusage ru;

	if (getpgrp() != getpid())
		CHECK(setpgid(0, 0) == 0, "setpgid(0, 0): own process group");
	pid_t pgid = getpgrp();
	CHECK(pgid == getpid(), "process group %d == pid", (int)pgid);

	/* ECHILD */
	CHECK_ERRNO(wait4(-1, &status, 0, NULL), ECHILD, "wait4(-1) without children -> ECHILD");
	CHECK_ERRNO(wait4(-1, &status, WNOHANG, NULL), ECHILD, "wait4(-1, WNOHANG) without children -> ECHILD");
	CHECK_ERRNO(waitid(P_ALL, 0, &si, WEXITED), ECHILD, "waitid(P_ALL) without children -> ECHILD");
	CHECK_ERRNO(wait4(getpid(), &status, 0, NULL), ECHILD, "wait4(own pid) -> ECHILD");

	/* by pid, with rusage; the raw status word */
	pid_t c = child(NULL, 1, 0);
	memset(&ru, 0xff, sizeof(ru));
	CHECK(wait4(c, &status, 0, &ru) == c, "wait4(pid %d)", (int)c);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1 && !WIFSIGNALED(status),
	      "exit 1: WIFEXITED, WEXITSTATUS 1");
	CHECK(status == 0x100, "exit 1 status word is 0x100 (%#x)", status);
	CHECK(ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000 && ru.ru_maxrss >= 0,
	      "wait4 filled in the rusage");

	/* WNOHANG while running, then -1 */
	CHECK(pipe(p) == 0, "pipe");
	c = child(p, 2, 0);
	CHECK(wait4(-1, &status, WNOHANG, NULL) == 0, "wait4(-1, WNOHANG) with a running child -> 0");
	CHECK(wait4(c, &status, WNOHANG, NULL) == 0, "wait4(pid, WNOHANG) with a running child -> 0");
	close(p[1]);
	close(p[0]);
	CHECK(wait4(-1, &status, 0, NULL) == c && WIFEXITED(status) && WEXITSTATUS(status) == 2,
	      "wait4(-1) -> the child, exit 2");

	/* 0 and -pgid: own group */
	c = child(NULL, 3, 0);
	CHECK(wait4(0, &status, 0, NULL) == c && WEXITSTATUS(status) == 3, "wait4(0) -> child in our group");
	c = child(NULL, 4, 0);
	CHECK(wait4(-pgid, &status, 0, NULL) == c && WEXITSTATUS(status) == 4, "wait4(-pgid) -> child");

	/* a child in a group of its own */
	CHECK(pipe(p) == 0, "pipe");
	c = child(p, 5, 1);
	CHECK(getpgid(c) == c, "child %d leads its own group", (int)c);
	CHECK_ERRNO(wait4(0, &status, WNOHANG, NULL), ECHILD,
		    "wait4(0, WNOHANG): no child in our group -> ECHILD");
	if (pgid > 1)
		CHECK_ERRNO(wait4(-pgid, &status, WNOHANG, NULL), ECHILD,
			    "wait4(-our pgid, WNOHANG) -> ECHILD");
	else
		INFO("we are init: wait4(-1) means any child, not group 1");
	CHECK(wait4(-c, &status, WNOHANG, NULL) == 0, "wait4(-its pgid, WNOHANG) while running -> 0");
	memset(&si, 0xff, sizeof(si));
	si.si_pid = 12345;
	CHECK(waitid(P_PGID, (id_t)c, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0,
	      "waitid(P_PGID, WNOHANG) while running -> 0, si_pid 0 (%d)", (int)si.si_pid);
	close(p[1]);
	close(p[0]);
	CHECK(wait4(-c, &status, 0, NULL) == c && WEXITSTATUS(status) == 5, "wait4(-its pgid) -> it, exit 5");

	/* waitid P_PID with WNOWAIT, twice, then for real */
	c = child(NULL, 6, 0);
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT) == 0, "waitid(P_PID, WEXITED|WNOWAIT)");
	CHECK(si.si_pid == c && si.si_signo == SIGCHLD && si.si_code == CLD_EXITED && si.si_status == 6,
	      "siginfo: pid %d signo %d code %d status %d", (int)si.si_pid, si.si_signo, si.si_code,
	      si.si_status);
	CHECK(si.si_uid == getuid(), "si_uid %d == getuid()", (int)si.si_uid);
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == c,
	      "after WNOWAIT the child is still waitable (P_ALL, WNOWAIT)");
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_ALL, 0, &si, WEXITED) == 0 && si.si_pid == c && si.si_status == 6,
	      "waitid(P_ALL, WEXITED) reaps it");
	CHECK_ERRNO(wait4(c, &status, WNOHANG, NULL), ECHILD, "then it is gone -> ECHILD");

	/* death by SIGTERM / SIGKILL */
	int sigs[2] = { SIGTERM, SIGKILL };
	for (int i = 0; i < 2; i++) {
		CHECK(pipe(p) == 0, "pipe");
		c = child(p, 0, 0);
		close(p[0]);
		CHECK(kill(c, sigs[i]) == 0, "kill(child, %s)", strsignal(sigs[i]));
		memset(&si, 0, sizeof(si));
		CHECK(waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT) == 0 && si.si_code == CLD_KILLED &&
		      si.si_status == sigs[i], "waitid: CLD_KILLED, si_status %d", si.si_status);
		CHECK(wait4(c, &status, __WALL, NULL) == c, "wait4(pid, __WALL)");
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == sigs[i] && !WIFEXITED(status) &&
		      !WCOREDUMP(status), "WIFSIGNALED, WTERMSIG %d", WTERMSIG(status));
		CHECK(status == sigs[i], "status word is the signal number (%#x)", status);
		close(p[1]);
	}

	/* options */
	c = child(NULL, 7, 0);
	pid_t r = waitpid(c, &status, __WALL | WNOHANG);
	CHECK(r == 0 || r == c, "waitpid(__WALL|WNOHANG) accepted (%d)", (int)r);
	CHECK_ERRNO(wait4(-1, &status, 0x100, NULL), EINVAL, "wait4(unknown option bit 0x100) -> EINVAL");
	CHECK_ERRNO(waitid(P_ALL, 0, &si, 0), EINVAL, "waitid(options 0) -> EINVAL");
	CHECK_ERRNO(waitid(P_ALL, 0, &si, WNOHANG), EINVAL, "waitid(WNOHANG without WEXITED etc.) -> EINVAL");
	CHECK_ERRNO(waitid((idtype_t)42, 0, &si, WEXITED), EINVAL, "waitid(bad idtype) -> EINVAL");
	if (r == 0)
		r = wait4(c, &status, 0, NULL);
	CHECK(r == c && WIFEXITED(status) && WEXITSTATUS(status) == 7, "last child exited 7 (%#x)", status);
	CHECK_ERRNO(wait4(-1, &status, 0, NULL), ECHILD, "all reaped -> ECHILD");
	/* Only children that can still report are waited for: with no child,
	 * or only a zombie, waitid(WSTOPPED) is ECHILD at once instead of
	 * blocking (a zombie reports only its exit). */
	{
		siginfo_t si;
		CHECK_ERRNO(waitid(P_ALL, 0, &si, WSTOPPED), ECHILD, "waitid(WSTOPPED) with no child");
		pid_t z = fork();
		if (z == 0)
			_exit(3);
		usleep(100000);
		CHECK_ERRNO(waitid(P_ALL, 0, &si, WSTOPPED), ECHILD,
			    "waitid(WSTOPPED) with only a zombie child");
		CHECK_ERRNO(waitid(P_PID, z, &si, WSTOPPED | WCONTINUED), ECHILD,
			    "waitid(WSTOPPED|WCONTINUED) for that zombie");
		memset(&si, 0, sizeof si);
		CHECK(waitid(P_PID, z, &si, WEXITED) == 0 && si.si_pid == z && si.si_status == 3,
		      "and WEXITED reaps it");
	}
	/* A reaped child's CPU time reaches wait4's rusage, getrusage
	 * (RUSAGE_CHILDREN) and times() (busybox `time` reads wait4's). */
	{
		struct rusage before, ru, after;
		getrusage(RUSAGE_CHILDREN, &before);
		pid_t c = fork();
		if (c == 0) {
			struct timespec t0, t;
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
			do
				clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
			while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 300000000L);
			_exit(0);
		}
		int st;
		memset(&ru, 0, sizeof ru);
		CHECK(wait4(c, &st, 0, &ru) == c, "wait4 with rusage");
		long us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec +
			  ru.ru_stime.tv_usec;
		CHECK(us >= 250000 && us < 5000000, "wait4's rusage has the child's 0.3 s of CPU (%ld us)",
		      us);
		getrusage(RUSAGE_CHILDREN, &after);
		long grew = (after.ru_utime.tv_sec + after.ru_stime.tv_sec - before.ru_utime.tv_sec -
			     before.ru_stime.tv_sec) * 1000000L +
			    after.ru_utime.tv_usec + after.ru_stime.tv_usec - before.ru_utime.tv_usec -
			    before.ru_stime.tv_usec;
		CHECK(grew >= 250000, "getrusage(RUSAGE_CHILDREN) grew by it (%ld us)", grew);
		struct tms tm;
		times(&tm);
		long hz = sysconf(_SC_CLK_TCK);
		CHECK((tm.tms_cutime + tm.tms_cstime) * 1000 / hz >= 250,
		      "times() counts it in tms_cutime + tms_cstime (%ld ticks)",
		      (long)(tm.tms_cutime + tm.tms_cstime));
	}
	return check_exit();
}
