//! System calls: the dispatch table and one module per family.
//!
//! A handler is `fn(&mut SyscallContext, [u64; 6]) -> Result<SyscallReturn>`:
//! it validates its arguments, calls into `process/`, `vm/` or `fs/`, and
//! its `Err` becomes `-errno` in `rax`. To add a syscall, write the handler
//! in the family's file and add one line to [`TABLE`].

mod capability;
pub mod fs;
mod fs_tree;
pub mod futex;
mod ipc;
mod mm;
mod names;
mod poll;
mod process;
mod sched;
mod signal;
mod socket;
mod system;
mod time;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use linux_raw_sys::general as nr;
use ostd::user::UserContext;

use crate::prelude::*;
use crate::process::{Process, Restart, Thread};
use crate::vm::Vmar;

/// What a syscall handler sees.
pub struct SyscallContext<'a> {
    /// The calling thread.
    pub thread: &'a Arc<Thread>,
    /// Its process.
    pub process: &'a Arc<Process>,
    /// The caller's registers (a handler may change them, e.g. `execve`).
    pub user: &'a mut UserContext,
}

impl SyscallContext<'_> {
    /// The caller's address space.
    pub fn vmar(&self) -> Arc<Vmar> {
        self.process.vmar()
    }
}

/// How a syscall returns.
pub enum SyscallReturn {
    /// Put this value in `rax`.
    Return(i64),
    /// The handler has set up the registers itself (`execve`,
    /// `rt_sigreturn`).
    NoReturn,
}

type Handler = fn(&mut SyscallContext, [u64; 6]) -> Result<SyscallReturn>;

const MAX_NR: usize = 512;

macro_rules! table {
    ($( $nr:ident => $handler:path ),* $(,)?) => {{
        let mut t: [Option<Handler>; MAX_NR] = [None; MAX_NR];
        $( t[nr::$nr as usize] = Some($handler); )*
        t
    }};
}

/// Syscall number → handler.
static TABLE: [Option<Handler>; MAX_NR] = table! {
    // Files.
    __NR_read => fs::sys_read,
    __NR_write => fs::sys_write,
    __NR_readv => fs::sys_readv,
    __NR_writev => fs::sys_writev,
    __NR_pread64 => fs::sys_pread64,
    __NR_pwrite64 => fs::sys_pwrite64,
    __NR_open => fs::sys_open,
    __NR_openat => fs::sys_openat,
    __NR_close => fs::sys_close,
    __NR_close_range => fs::sys_close_range,
    __NR_lseek => fs::sys_lseek,
    __NR_fstat => fs::sys_fstat,
    __NR_stat => fs::sys_stat,
    __NR_lstat => fs::sys_lstat,
    __NR_newfstatat => fs::sys_newfstatat,
    __NR_statx => fs::sys_statx,
    __NR_ioctl => fs::sys_ioctl,
    __NR_readlink => fs::sys_readlink,
    __NR_readlinkat => fs::sys_readlinkat,
    __NR_access => fs::sys_access,
    __NR_faccessat => fs::sys_faccessat,
    __NR_faccessat2 => fs::sys_faccessat2,
    __NR_getcwd => fs::sys_getcwd,
    __NR_dup => fs::sys_dup,
    __NR_dup2 => fs::sys_dup2,
    __NR_dup3 => fs::sys_dup3,
    __NR_fcntl => fs::sys_fcntl,
    __NR_flock => fs::sys_flock,
    __NR_getdents64 => fs::sys_getdents64,
    __NR_chdir => fs::sys_chdir,
    __NR_pipe => fs::sys_pipe,
    __NR_sendfile => fs::sys_sendfile,
    __NR_mkdir => fs_tree::sys_mkdir,
    __NR_mkdirat => fs_tree::sys_mkdirat,
    __NR_mknod => fs_tree::sys_mknod,
    __NR_mknodat => fs_tree::sys_mknodat,
    __NR_unlink => fs_tree::sys_unlink,
    __NR_unlinkat => fs_tree::sys_unlinkat,
    __NR_rmdir => fs_tree::sys_rmdir,
    __NR_rename => fs_tree::sys_rename,
    __NR_renameat => fs_tree::sys_renameat,
    __NR_renameat2 => fs_tree::sys_renameat2,
    __NR_link => fs_tree::sys_link,
    __NR_linkat => fs_tree::sys_linkat,
    __NR_symlink => fs_tree::sys_symlink,
    __NR_symlinkat => fs_tree::sys_symlinkat,
    __NR_chmod => fs_tree::sys_chmod,
    __NR_fchmod => fs_tree::sys_fchmod,
    __NR_fchmodat => fs_tree::sys_fchmodat,
    __NR_chown => fs_tree::sys_chown,
    __NR_lchown => fs_tree::sys_lchown,
    __NR_fchown => fs_tree::sys_fchown,
    __NR_fchownat => fs_tree::sys_fchownat,
    __NR_utimensat => fs_tree::sys_utimensat,
    __NR_truncate => fs_tree::sys_truncate,
    __NR_ftruncate => fs_tree::sys_ftruncate,
    __NR_fallocate => fs_tree::sys_fallocate,
    __NR_fsync => fs_tree::sys_fsync,
    __NR_fdatasync => fs_tree::sys_fsync,
    __NR_sync => fs_tree::sys_sync,
    __NR_fchdir => fs_tree::sys_fchdir,
    __NR_chroot => fs_tree::sys_chroot,
    __NR_statfs => fs_tree::sys_statfs,
    __NR_fstatfs => fs_tree::sys_fstatfs,
    __NR_mount => fs_tree::sys_mount,
    __NR_umount2 => fs_tree::sys_umount2,
    __NR_creat => fs::sys_creat,
    __NR_preadv => fs::sys_preadv,
    __NR_pwritev => fs::sys_pwritev,
    __NR_preadv2 => fs::sys_preadv2,
    __NR_pwritev2 => fs::sys_pwritev2,
    __NR_getdents => fs::sys_getdents,
    __NR_fadvise64 => fs::sys_fadvise64,
    __NR_utime => fs_tree::sys_utime,
    __NR_utimes => fs_tree::sys_utimes,
    __NR_futimesat => fs_tree::sys_futimesat,
    __NR_fchmodat2 => fs_tree::sys_fchmodat2,
    __NR_setxattr => fs_tree::sys_setxattr,
    __NR_lsetxattr => fs_tree::sys_lsetxattr,
    __NR_fsetxattr => fs_tree::sys_fsetxattr,
    __NR_getxattr => fs_tree::sys_getxattr,
    __NR_lgetxattr => fs_tree::sys_lgetxattr,
    __NR_fgetxattr => fs_tree::sys_fgetxattr,
    __NR_listxattr => fs_tree::sys_listxattr,
    __NR_llistxattr => fs_tree::sys_llistxattr,
    __NR_flistxattr => fs_tree::sys_flistxattr,
    __NR_removexattr => fs_tree::sys_removexattr,
    __NR_lremovexattr => fs_tree::sys_lremovexattr,
    __NR_fremovexattr => fs_tree::sys_fremovexattr,
    __NR_pipe2 => fs::sys_pipe2,
    __NR_poll => poll::sys_poll,
    __NR_ppoll => poll::sys_ppoll,
    __NR_select => poll::sys_select,
    __NR_pselect6 => poll::sys_pselect6,
    __NR_epoll_create => poll::sys_epoll_create,
    __NR_epoll_create1 => poll::sys_epoll_create1,
    __NR_epoll_ctl => poll::sys_epoll_ctl,
    __NR_epoll_wait => poll::sys_epoll_wait,
    __NR_epoll_pwait => poll::sys_epoll_pwait,
    __NR_epoll_pwait2 => poll::sys_epoll_pwait2,
    __NR_eventfd => poll::sys_eventfd,
    __NR_eventfd2 => poll::sys_eventfd2,
    // Sockets.
    __NR_socket => socket::sys_socket,
    __NR_socketpair => socket::sys_socketpair,
    __NR_bind => socket::sys_bind,
    __NR_listen => socket::sys_listen,
    __NR_accept => socket::sys_accept,
    __NR_accept4 => socket::sys_accept4,
    __NR_connect => socket::sys_connect,
    __NR_shutdown => socket::sys_shutdown,
    __NR_getsockname => socket::sys_getsockname,
    __NR_getpeername => socket::sys_getpeername,
    __NR_getsockopt => socket::sys_getsockopt,
    __NR_setsockopt => socket::sys_setsockopt,
    __NR_sendto => socket::sys_sendto,
    __NR_recvfrom => socket::sys_recvfrom,
    __NR_sendmsg => socket::sys_sendmsg,
    __NR_recvmsg => socket::sys_recvmsg,
    __NR_sendmmsg => socket::sys_sendmmsg,
    __NR_recvmmsg => socket::sys_recvmmsg,
    // Memory.
    __NR_brk => mm::sys_brk,
    __NR_mmap => mm::sys_mmap,
    __NR_munmap => mm::sys_munmap,
    __NR_mprotect => mm::sys_mprotect,
    __NR_mremap => mm::sys_mremap,
    __NR_madvise => mm::sys_madvise,
    __NR_mincore => mm::sys_mincore,
    __NR_msync => mm::sys_msync,
    __NR_mlock => mm::sys_mlock,
    __NR_mlock2 => mm::sys_mlock2,
    __NR_munlock => mm::sys_munlock,
    __NR_mlockall => mm::sys_mlockall,
    __NR_munlockall => mm::sys_munlockall,
    __NR_memfd_create => mm::sys_memfd_create,
    // Processes and threads.
    __NR_exit => process::sys_exit,
    __NR_exit_group => process::sys_exit_group,
    __NR_getpid => process::sys_getpid,
    __NR_gettid => process::sys_gettid,
    __NR_getppid => process::sys_getppid,
    __NR_getuid => process::sys_getuid,
    __NR_geteuid => process::sys_geteuid,
    __NR_getgid => process::sys_getgid,
    __NR_getegid => process::sys_getegid,
    __NR_getpgid => process::sys_getpgid,
    __NR_getpgrp => process::sys_getpgrp,
    __NR_getsid => process::sys_getsid,
    __NR_set_tid_address => process::sys_set_tid_address,
    __NR_set_robust_list => futex::sys_set_robust_list,
    __NR_get_robust_list => futex::sys_get_robust_list,
    __NR_rseq => process::sys_rseq,
    __NR_arch_prctl => process::sys_arch_prctl,
    __NR_prctl => process::sys_prctl,
    __NR_unshare => process::sys_unshare,
    __NR_futex => futex::sys_futex,
    __NR_futex_waitv => futex::sys_futex_waitv,
    __NR_clone => process::sys_clone,
    __NR_clone3 => process::sys_clone3,
    __NR_fork => process::sys_fork,
    __NR_vfork => process::sys_vfork,
    __NR_execve => process::sys_execve,
    __NR_execveat => process::sys_execveat,
    __NR_wait4 => process::sys_wait4,
    __NR_waitid => process::sys_waitid,
    __NR_setpgid => process::sys_setpgid,
    __NR_setsid => process::sys_setsid,
    __NR_setuid => process::sys_setuid,
    __NR_setgid => process::sys_setgid,
    __NR_setreuid => process::sys_setreuid,
    __NR_setregid => process::sys_setregid,
    __NR_setresuid => process::sys_setresuid,
    __NR_setresgid => process::sys_setresgid,
    __NR_getresuid => process::sys_getresuid,
    __NR_getresgid => process::sys_getresgid,
    __NR_getgroups => process::sys_getgroups,
    __NR_setgroups => process::sys_setgroups,
    __NR_setfsuid => process::sys_setfsuid,
    __NR_setfsgid => process::sys_setfsgid,
    __NR_capget => capability::sys_capget,
    __NR_capset => capability::sys_capset,
    __NR_pidfd_open => process::sys_pidfd_open,
    __NR_pidfd_send_signal => process::sys_pidfd_send_signal,
    __NR_pidfd_getfd => process::sys_pidfd_getfd,
    // Signals.
    __NR_rt_sigaction => signal::sys_rt_sigaction,
    __NR_rt_sigprocmask => signal::sys_rt_sigprocmask,
    __NR_rt_sigreturn => signal::sys_rt_sigreturn,
    __NR_kill => signal::sys_kill,
    __NR_tgkill => signal::sys_tgkill,
    __NR_tkill => signal::sys_tkill,
    __NR_rt_sigpending => signal::sys_rt_sigpending,
    __NR_rt_sigsuspend => signal::sys_rt_sigsuspend,
    __NR_rt_sigtimedwait => signal::sys_rt_sigtimedwait,
    __NR_rt_sigqueueinfo => signal::sys_rt_sigqueueinfo,
    __NR_sigaltstack => signal::sys_sigaltstack,
    __NR_pause => signal::sys_pause,
    __NR_signalfd => signal::sys_signalfd,
    __NR_signalfd4 => signal::sys_signalfd4,
    // Time.
    __NR_clock_gettime => time::sys_clock_gettime,
    __NR_clock_getres => time::sys_clock_getres,
    __NR_gettimeofday => time::sys_gettimeofday,
    __NR_time => time::sys_time,
    __NR_nanosleep => time::sys_nanosleep,
    __NR_clock_nanosleep => time::sys_clock_nanosleep,
    __NR_alarm => time::sys_alarm,
    __NR_setitimer => time::sys_setitimer,
    __NR_getitimer => time::sys_getitimer,
    __NR_times => time::sys_times,
    __NR_getrusage => time::sys_getrusage,
    __NR_timerfd_create => time::sys_timerfd_create,
    __NR_timerfd_settime => time::sys_timerfd_settime,
    __NR_timerfd_gettime => time::sys_timerfd_gettime,
    __NR_timer_create => time::sys_timer_create,
    __NR_timer_settime => time::sys_timer_settime,
    __NR_timer_gettime => time::sys_timer_gettime,
    __NR_timer_getoverrun => time::sys_timer_getoverrun,
    __NR_timer_delete => time::sys_timer_delete,
    // System.
    __NR_uname => system::sys_uname,
    __NR_getrandom => system::sys_getrandom,
    __NR_prlimit64 => system::sys_prlimit64,
    __NR_getrlimit => system::sys_getrlimit,
    __NR_setrlimit => system::sys_setrlimit,
    __NR_sched_getaffinity => sched::sys_sched_getaffinity,
    __NR_sched_setaffinity => sched::sys_sched_setaffinity,
    __NR_sched_setscheduler => sched::sys_sched_setscheduler,
    __NR_sched_getscheduler => sched::sys_sched_getscheduler,
    __NR_sched_setparam => sched::sys_sched_setparam,
    __NR_sched_getparam => sched::sys_sched_getparam,
    __NR_sched_setattr => sched::sys_sched_setattr,
    __NR_sched_getattr => sched::sys_sched_getattr,
    __NR_sched_get_priority_max => sched::sys_sched_get_priority_max,
    __NR_sched_get_priority_min => sched::sys_sched_get_priority_min,
    __NR_sched_rr_get_interval => sched::sys_sched_rr_get_interval,
    __NR_getpriority => sched::sys_getpriority,
    __NR_setpriority => sched::sys_setpriority,
    __NR_getcpu => sched::sys_getcpu,
    __NR_ioprio_get => sched::sys_ioprio_get,
    __NR_ioprio_set => sched::sys_ioprio_set,
    __NR_personality => sched::sys_personality,
    __NR_sched_yield => system::sys_sched_yield,
    __NR_umask => system::sys_umask,
    __NR_sysinfo => system::sys_sysinfo,
    __NR_syslog => system::sys_syslog,
    __NR_reboot => system::sys_reboot,
    __NR_sethostname => system::sys_sethostname,
    __NR_setdomainname => system::sys_setdomainname,
    // System V IPC.
    __NR_semget => ipc::sys_semget,
    __NR_semop => ipc::sys_semop,
    __NR_semtimedop => ipc::sys_semtimedop,
    __NR_semctl => ipc::sys_semctl,
    __NR_shmget => ipc::sys_shmget,
    __NR_shmat => ipc::sys_shmat,
    __NR_shmdt => ipc::sys_shmdt,
    __NR_shmctl => ipc::sys_shmctl,
    __NR_msgget => ipc::sys_msgget,
    __NR_msgsnd => ipc::sys_msgsnd,
    __NR_msgrcv => ipc::sys_msgrcv,
    __NR_msgctl => ipc::sys_msgctl,
};

/// Syscalls already reported as unimplemented (one bit each).
static REPORTED: [AtomicU64; MAX_NR / 64] = [const { AtomicU64::new(0) }; MAX_NR / 64];

/// Handles the syscall the thread just made.
pub fn handle(thread: &Arc<Thread>, user: &mut UserContext) {
    let (nr, args) = user.syscall_args();
    thread.enter_syscall(nr, &args, user.rsp(), user.rip());
    handle_call(thread, user, nr, args);
    thread.leave_syscall();
}

fn handle_call(thread: &Arc<Thread>, user: &mut UserContext, nr: u64, args: [u64; 6]) {
    let handler = TABLE.get(nr as usize).copied().flatten();
    let Some(handler) = handler else {
        report_unimplemented(nr);
        user.set_syscall_ret(-(ENOSYS.0 as i64) as u64);
        return;
    };
    let mut ctx = SyscallContext {
        thread,
        process: thread.process(),
        user,
    };
    match handler(&mut ctx, args) {
        Ok(SyscallReturn::Return(v)) => ctx.user.set_syscall_ret(v as u64),
        Ok(SyscallReturn::NoReturn) => {}
        Err(e) if [ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND].contains(&e.errno()) => {
            // Reported as EINTR unless signal handling restarts it.
            let how = match e.errno() {
                ERESTARTSYS => Restart::IfSaRestart,
                ERESTARTNOINTR => Restart::Always,
                _ => Restart::NoHandler,
            };
            ctx.thread.set_restart(Some((nr, how)));
            ctx.user.set_syscall_ret(-(EINTR.0 as i64) as u64);
        }
        Err(e) => {
            if let Some(m) = e.message() {
                log::debug!(
                    "syscall {}: {:?}: {m}",
                    names::name(nr).unwrap_or("?"),
                    e.errno()
                );
            }
            ctx.user.set_syscall_ret(-(e.errno().0 as i64) as u64);
        }
    }
}

fn report_unimplemented(nr: u64) {
    if (nr as usize) < MAX_NR {
        let bit = 1 << (nr % 64);
        if REPORTED[nr as usize / 64].fetch_or(bit, Ordering::Relaxed) & bit != 0 {
            return;
        }
    }
    log::warn!(
        "unimplemented syscall {nr} ({}): ENOSYS",
        names::name(nr).unwrap_or("unknown")
    );
}

/// Shorthand for a successful return value.
pub fn ret(v: impl TryInto<i64>) -> Result<SyscallReturn> {
    Ok(SyscallReturn::Return(v.try_into().unwrap_or(i64::MAX)))
}
