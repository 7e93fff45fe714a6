/*
 * Signal handlers:
 * - SA_SIGINFO: si_signo, si_code SI_USER and si_pid for kill(), SI_TKILL
 *   for raise();
 * - the signal is blocked while its handler runs, unless SA_NODEFER;
 *   sa_mask is added during the handler; the mask is restored after;
 * - SA_RESETHAND: back to SIG_DFL after one delivery;
 * - a blocked signal is pending (sigpending) and delivered on unblock;
 *   several pending signals are delivered lowest number first;
 * - the ucontext argument is there; floating point state survives a
 *   handler that uses floating point;
 * - sigaltstack + SA_ONSTACK: the handler runs on the alternate stack and
 *   sees SS_ONSTACK.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t hits;
static volatile int h_signo, h_code, h_pid, h_ctx_ok;
static volatile int h_self_blocked, h_other_blocked;
static volatile int order[8], norder;
static volatile double fp_result;
static volatile uintptr_t h_local_addr;
static volatile int h_ss_flags;

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;
	sigset_t cur;

	hits++;
	h_signo = si->si_signo;
	h_code = si->si_code;
	h_pid = si->si_pid;
	h_ctx_ok = u != NULL && u->uc_mcontext.gregs[REG_RIP] != 0;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	h_self_blocked = sigismember(&cur, sig);
	h_other_blocked = sigismember(&cur, SIGUSR2);
}

static void plain_handler(int sig)
{
	hits++;
	if (norder < 8)
		order[norder++] = sig;
}

static volatile int depth, max_depth, nested_calls;
static void nested_handler(int sig)
{
	depth++;
	nested_calls++;
	if (depth > max_depth)
		max_depth = depth;
	if (nested_calls == 1)
		raise(sig);
	depth--;
}

static void fp_handler(int sig)
{
	volatile double a = 1.0;
	for (int i = 0; i < 20; i++)
		a = a * 3.7 + 0.123;
	fp_result = a;
}

static void alt_handler(int sig)
{
	int local;
	stack_t ss;

	h_local_addr = (uintptr_t)&local;
	if (sigaltstack(NULL, &ss) == 0)
		h_ss_flags = ss.ss_flags;
	else
		h_ss_flags = -1;
}

static int install(int sig, void (*h)(int), int flags, const sigset_t *mask)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	if (mask)
		sa.sa_mask = *mask;
	else
		sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

int main(void)
{
	struct sigaction sa, old;
	sigset_t set, cur;

	/* SA_SIGINFO */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = info_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction(SIGUSR1, SA_SIGINFO)");
	CHECK(sigaction(SIGUSR1, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == info_handler,
	      "sigaction reads back the handler and SA_SIGINFO");
	hits = 0;
	CHECK(kill(getpid(), SIGUSR1) == 0 && hits == 1, "kill(self, SIGUSR1) ran the handler once");
	CHECK(h_signo == SIGUSR1, "si_signo == SIGUSR1");
	CHECK(h_code == SI_USER, "si_code == SI_USER (%d)", h_code);
	CHECK(h_pid == getpid(), "si_pid == getpid()");
	CHECK(h_ctx_ok, "ucontext pointer non-null with a non-zero saved RIP");
	CHECK(h_self_blocked && !h_other_blocked, "SIGUSR1 blocked inside its handler, SIGUSR2 not");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(!sigismember(&cur, SIGUSR1), "mask restored after the handler");
	raise(SIGUSR1);
	CHECK(h_code == SI_TKILL, "raise(): si_code == SI_TKILL (%d)", h_code);

	/* sa_mask */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sa.sa_mask = set;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction with sa_mask = {SIGUSR2}");
	raise(SIGUSR1);
	CHECK(h_self_blocked && h_other_blocked, "sa_mask: SIGUSR2 blocked inside the handler too");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	CHECK(!sigismember(&cur, SIGUSR2), "and unblocked after");

	/* SA_NODEFER */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction(SA_NODEFER)");
	raise(SIGUSR1);
	CHECK(!h_self_blocked, "SA_NODEFER: the signal is not blocked in its handler");
	depth = max_depth = nested_calls = 0;
	install(SIGUSR2, nested_handler, SA_NODEFER, NULL);
	raise(SIGUSR2);
	CHECK(max_depth == 2, "SA_NODEFER: the handler nests (depth %d)", max_depth);
	depth = max_depth = nested_calls = 0;
	install(SIGUSR2, nested_handler, 0, NULL);
	raise(SIGUSR2);
	CHECK(max_depth == 1 && nested_calls == 2,
	      "without it: the raise inside stays pending until return (depth %d, %d calls)", max_depth, nested_calls);

	/* SA_RESETHAND */
	hits = 0;
	install(SIGUSR2, plain_handler, SA_RESETHAND, NULL);
	raise(SIGUSR2);
	CHECK(hits == 1, "SA_RESETHAND: handler ran");
	CHECK(sigaction(SIGUSR2, NULL, &old) == 0 && old.sa_handler == SIG_DFL, "SA_RESETHAND: disposition is SIG_DFL now");

	/* pending + unblock, order */
	/*
	 * Each handler blocks all three, so the next one is only delivered
	 * after the previous handler returned: lowest number first. (Without
	 * that mask Linux stacks all frames at once, the last one on top.)
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	install(SIGUSR1, plain_handler, 0, &set);
	install(SIGUSR2, plain_handler, 0, &set);
	install(SIGTERM, plain_handler, 0, &set);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "block SIGUSR1, SIGUSR2, SIGTERM");
	hits = 0;
	norder = 0;
	raise(SIGTERM);
	raise(SIGUSR2);
	raise(SIGUSR1);
	raise(SIGUSR1);
	CHECK(hits == 0, "nothing delivered while blocked");
	sigset_t pend;
	sigemptyset(&pend);
	CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1) && sigismember(&pend, SIGUSR2) &&
		      sigismember(&pend, SIGTERM) && !sigismember(&pend, SIGINT),
	      "sigpending shows the three");
	CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0, "unblock them");
	CHECK(hits == 3, "standard signals coalesce: 3 deliveries (%d)", (int)hits);
	CHECK(norder == 3 && order[0] == SIGUSR1 && order[1] == SIGUSR2 && order[2] == SIGTERM,
	      "delivered lowest number first: %d %d %d", order[0], order[1], order[2]);
	sigemptyset(&pend);
	sigpending(&pend);
	CHECK(!sigismember(&pend, SIGUSR1), "nothing pending after delivery");

	/* ignored pending signal is discarded */
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&pend);
	sigpending(&pend);
	CHECK(!sigismember(&pend, SIGUSR1), "setting SIG_IGN discards a pending signal");
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	/* SIGKILL cannot be caught */
	CHECK_ERRNO(install(SIGKILL, plain_handler, 0, NULL), EINVAL, "sigaction(SIGKILL) -> EINVAL");
	CHECK_ERRNO(install(0, plain_handler, 0, NULL), EINVAL, "sigaction(0) -> EINVAL");

	/* FPU state across a handler */
	install(SIGUSR2, fp_handler, 0, NULL);
	volatile double x = 1.5;
	double before = x * 2.25 + 0.1;
	register double keep = x * 7.0;
	raise(SIGUSR2);
	double after = x * 2.25 + 0.1;
	keep = keep + 1.0;
	double expect = 1.0;
	for (int i = 0; i < 20; i++)
		expect = expect * 3.7 + 0.123;
	CHECK(fp_result == expect, "the handler computed with doubles correctly");
	CHECK(before == after && keep == 11.5, "floating point state intact after the handler");

	/* sigaltstack */
	size_t sz = 64 * 1024;
	char *alt = malloc(sz);
	stack_t ss = { .ss_sp = alt, .ss_size = sz, .ss_flags = 0 }, oss;
	CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack set");
	CHECK(sigaltstack(NULL, &oss) == 0 && oss.ss_sp == alt && oss.ss_size == sz && oss.ss_flags == 0,
	      "sigaltstack reads it back, not on it");
	install(SIGUSR2, alt_handler, SA_ONSTACK, NULL);
	raise(SIGUSR2);
	CHECK(h_local_addr >= (uintptr_t)alt && h_local_addr < (uintptr_t)alt + sz, "SA_ONSTACK handler ran on the alternate stack");
	CHECK(h_ss_flags == SS_ONSTACK, "inside it sigaltstack reports SS_ONSTACK (%d)", h_ss_flags);
	install(SIGUSR2, alt_handler, 0, NULL);
	raise(SIGUSR2);
	CHECK(!(h_local_addr >= (uintptr_t)alt && h_local_addr < (uintptr_t)alt + sz) && h_ss_flags == 0,
	      "without SA_ONSTACK: the normal stack");
	stack_t small = { .ss_sp = alt, .ss_size = 512, .ss_flags = 0 };
	CHECK_ERRNO(sigaltstack(&small, NULL), ENOMEM, "sigaltstack smaller than MINSIGSTKSZ -> ENOMEM");
	ss.ss_flags = SS_DISABLE;
	CHECK(sigaltstack(&ss, NULL) == 0 && sigaltstack(NULL, &oss) == 0 && oss.ss_flags == SS_DISABLE, "SS_DISABLE");

	return check_exit();
}
