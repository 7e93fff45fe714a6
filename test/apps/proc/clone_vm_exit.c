/*
 * A child that shares memory, files, cwd and signal handlers with its
 * parent but is a process of its own (clone without CLONE_THREAD) ends
 * only itself when it exits: the parent carries on and reaps it. Linux's
 * wait rules for such children: one whose exit signal is not SIGCHLD is a
 * "clone" child, seen only with __WCLONE or __WALL; __WCLONE waits only
 * for those.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef __WCLONE
#define __WCLONE 0x80000000
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif

static volatile int shared_word;

static int child(void *arg)
{
	shared_word = (int)(long)arg;
	return (int)(long)arg; /* the clone wrapper then calls exit() */
}

static pid_t spawn(int exit_signal, long code)
{
	enum { STACK = 64 * 1024 };
	char *stack = malloc(STACK);
	return clone(child, stack + STACK,
		     CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | exit_signal, (void *)code);
}

int main(void)
{
	int st = 0;
	pid_t p = spawn(SIGCHLD, 7);
	CHECK(p > 0, "clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|SIGCHLD)");
	pid_t r = waitpid(p, &st, 0);
	CHECK(r == p && WIFEXITED(st) && WEXITSTATUS(st) == 7,
	      "the parent lives on and reaps the child (status 7): %d %#x", (int)r, st);
	CHECK(shared_word == 7, "the child wrote the shared memory");

	/* A child without an exit signal is a clone child. */
	p = spawn(0, 9);
	CHECK(p > 0, "clone with exit signal 0");
	usleep(100000);
	CHECK_ERRNO(waitpid(p, &st, WNOHANG), ECHILD, "waitpid without __WCLONE does not see it");
	r = waitpid(p, &st, __WCLONE);
	CHECK(r == p && WIFEXITED(st) && WEXITSTATUS(st) == 9, "__WCLONE reaps it (status 9)");

	/* Ignored first: with several CPUs the child may exit at once. */
	signal(SIGUSR1, SIG_IGN);
	p = spawn(SIGUSR1, 11);
	usleep(100000);
	CHECK_ERRNO(waitpid(-1, &st, WNOHANG), ECHILD, "a SIGUSR1 child is a clone child too");
	r = waitpid(-1, &st, __WALL);
	CHECK(r == p && WIFEXITED(st) && WEXITSTATUS(st) == 11, "__WALL reaps it (status 11)");

	p = spawn(SIGCHLD, 13);
	usleep(100000);
	CHECK_ERRNO(waitpid(-1, &st, __WCLONE | WNOHANG), ECHILD,
		    "__WCLONE does not see a SIGCHLD child");
	r = waitpid(-1, &st, 0);
	CHECK(r == p && WEXITSTATUS(st) == 13, "a plain wait does");
	return check_exit();
}
