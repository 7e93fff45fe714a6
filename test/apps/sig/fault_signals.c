/*
 * Fault signals and their siginfo:
 *  - SIGSEGV, SIGBUS, SIGILL and SIGFPE sent with kill() carry the sender's
 *    pid and uid (the SI_USER layout), not a fault address;
 *  - a real fault delivers SIGSEGV with SEGV_MAPERR and the address;
 *  - a fault whose signal is blocked or ignored still kills the process
 *    (Linux forces the default action) instead of faulting forever.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* Addresses nothing maps, behind volatile so the compiler keeps the access. */
static int *volatile low8 = (int *)8;
static int *volatile low16 = (int *)16;

static volatile siginfo_t last;
static volatile int hits;

static void on_signal(int s, siginfo_t *info, void *uc)
{
	memcpy((void *)&last, info, sizeof(*info));
	hits++;
}

#include <setjmp.h>
static sigjmp_buf back;

static void on_fault(int s, siginfo_t *info, void *uc)
{
	memcpy((void *)&last, info, sizeof(*info));
	siglongjmp(back, 1);
}

/* Runs `fn` in a child; returns its wait status. */
static int in_child(void (*fn)(void))
{
	pid_t p = fork();
	if (p == 0) {
		alarm(10);
		fn();
		_exit(0);
	}
	int st = -1;
	waitpid(p, &st, 0);
	return st;
}

static void fault_with_segv_blocked(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGSEGV);
	sigprocmask(SIG_BLOCK, &s, NULL);
	*low8 = 1;
}

static void touch_past_end_of_file(void)
{
	char path[] = "/tmp/fault_signals_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, "x", 1) != 1)
		_exit(2);
	unlink(path);
	char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		_exit(3);
	p[4095] = 'y'; /* the page holding the end of the file is fine */
	p[4096] = 'z'; /* the next one is past it: SIGBUS */
}

static void fault_with_segv_ignored(void)
{
	signal(SIGSEGV, SIG_IGN);
	*low8 = 1;
}

int main(void)
{
	int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
	for (unsigned i = 0; i < 4; i++) {
		struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
		sigaction(sigs[i], &sa, NULL);
		hits = 0;
		memset((void *)&last, 0, sizeof(last));
		kill(getpid(), sigs[i]);
		CHECK(hits == 1 && last.si_signo == sigs[i] && last.si_code == SI_USER &&
			      last.si_pid == getpid() && last.si_uid == getuid(),
		      "kill(self, %s): si_code %d (SI_USER), si_pid %d (%d), si_uid %d",
		      strsignal(sigs[i]), last.si_code, (int)last.si_pid, (int)getpid(), (int)last.si_uid);
		signal(sigs[i], SIG_DFL);
	}

	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };
	sigaction(SIGSEGV, &sa, NULL);
	memset((void *)&last, 0, sizeof(last));
	if (sigsetjmp(back, 1) == 0)
		*low16 = 1;
	CHECK(last.si_signo == SIGSEGV && last.si_code == SEGV_MAPERR && last.si_addr == (void *)16,
	      "a fault: SIGSEGV, SEGV_MAPERR, si_addr %p", last.si_addr);
	signal(SIGSEGV, SIG_DFL);

	int st = in_child(fault_with_segv_blocked);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "a fault with SIGSEGV blocked kills (status %#x)", st);
	st = in_child(fault_with_segv_ignored);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "a fault with SIGSEGV ignored kills (status %#x)", st);
	st = in_child(touch_past_end_of_file);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS,
	      "touching a shared file mapping past the end of the file: SIGBUS (status %#x)", st);
	return check_exit();
}
