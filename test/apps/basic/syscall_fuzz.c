/*
 * syscall_fuzz: bad input never crashes the kernel.
 *
 * Forked children make thousands of system calls with random numbers and
 * arguments (null, small, huge, kernel and misaligned addresses), skipping
 * only the calls that would end the child or spawn more processes. Each
 * child must end normally or by a signal (a bad pointer in an mmap'd
 * region may well be fatal to the child); the kernel must survive and the
 * parent must reap every child. Deterministic: the seed is fixed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include "check.h"
static unsigned long long s = 88172645463325252ULL;
static unsigned long long rnd(void){ s^=s<<13; s^=s>>7; s^=s<<17; return s; }
static long arg(void){
  switch(rnd()%8){
  case 0: return 0; case 1: return -1; case 2: return rnd()%4096;
  case 3: return 0x400000 + rnd()%0x100000; case 4: return 0x7fffffffe000 - rnd()%65536;
  case 5: return 0xffff800000000000ULL + rnd()%0x1000000; case 6: return (long)rnd();
  default: return rnd()%64;
  }
}
int main(int argc, char **argv){
  int rounds = argc > 1 ? atoi(argv[1]) : 100;
  if (argc > 2) s = strtoull(argv[2], 0, 0);
  for (int r = 0; r < rounds; r++) {
    unsigned long long seed = rnd();
    pid_t p = fork();
    if (p == 0) {
      s = seed | 1;
      alarm(5);
      for (int i = 0; i < 200; i++) {
        long nr = rnd() % 450;
        /* Skip calls that end or replace the process or spawn more. */
        if (nr == SYS_exit || nr == SYS_exit_group || nr == SYS_execve || nr == SYS_execveat ||
            nr == SYS_fork || nr == SYS_vfork || nr == SYS_clone || nr == SYS_clone3 ||
            nr == SYS_kill || nr == SYS_tkill || nr == SYS_tgkill || nr == SYS_reboot ||
            nr == SYS_rt_sigreturn || nr == SYS_pause || nr == SYS_rt_sigsuspend ||
            nr == SYS_setitimer || nr == SYS_alarm ||
            nr == SYS_wait4 || nr == SYS_waitid || nr == SYS_nanosleep || nr == SYS_clock_nanosleep ||
            nr == SYS_select || nr == SYS_pselect6 || nr == SYS_poll || nr == SYS_ppoll ||
            nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == SYS_futex || nr == SYS_read ||
            nr == SYS_readv || nr == SYS_rt_sigtimedwait || nr == SYS_setsid || nr == SYS_sigaltstack ||
            nr == SYS_mount || nr == SYS_umount2 || nr == SYS_chroot || nr == SYS_accept ||
            nr == SYS_msgrcv || nr == SYS_semop || nr == SYS_wait4)
          continue;
        syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
      }
      _exit(0);
    }
    int st;
    pid_t w = waitpid(p, &st, 0);
    if (w != p || !(WIFEXITED(st) || WIFSIGNALED(st))) {
      CHECK(0, "round %d: child %d reaped (got %d, status %#x)", r, (int)p, (int)w, st);
      break;
    }
  }
  CHECK(1, "%d rounds of 200 random syscalls; the kernel survived", rounds);
  return check_exit();
}
