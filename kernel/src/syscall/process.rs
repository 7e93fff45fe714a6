//! Process and thread syscalls: identities, exit, thread-area set-up.

use alloc::sync::Arc;

use linux_raw_sys::prctl as pr;
use ostd::sync::Mutex;

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use crate::process::exit::exit_process;
use crate::process::{ExitStatus, find_process};

type R = Result<SyscallReturn>;

pub fn sys_exit(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    // Ends only this thread; the process ends with its last thread.
    {
        let mut pending = ctx.process.exit_status_pending_lock();
        if pending.is_none() && ctx.process.threads().len() <= 1 {
            *pending = Some(ExitStatus::Exited(a[0] as u8));
        }
    }
    ctx.thread.request_exit();
    Ok(SyscallReturn::NoReturn)
}

pub fn sys_exit_group(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    exit_process(ctx.process, ExitStatus::Exited(a[0] as u8));
    Ok(SyscallReturn::NoReturn)
}

pub fn sys_getpid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.process.pid())
}

pub fn sys_gettid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.thread.tid())
}

pub fn sys_getppid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.process.ppid())
}

pub fn sys_getuid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.thread.credentials().ruid)
}

pub fn sys_geteuid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.thread.credentials().euid)
}

pub fn sys_getgid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.thread.credentials().rgid)
}

pub fn sys_getegid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.thread.credentials().egid)
}

pub fn sys_getpgid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let pid = a[0] as i32;
    if pid == 0 {
        return ret(ctx.process.pgid());
    }
    if pid < 0 {
        return_errno!(ESRCH);
    }
    ret(find_process(pid as u32).ok_or(Error::new(ESRCH))?.pgid())
}

pub fn sys_getpgrp(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.process.pgid())
}

pub fn sys_getsid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let pid = a[0] as i32;
    if pid == 0 {
        return ret(ctx.process.sid());
    }
    if pid < 0 {
        return_errno!(ESRCH);
    }
    ret(find_process(pid as u32).ok_or(Error::new(ESRCH))?.sid())
}

pub fn sys_set_tid_address(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    ctx.thread.set_clear_child_tid(a[0]);
    ret(ctx.thread.tid())
}

/// `unshare(flags)`: a private copy of what the process shares with
/// others. Namespaces do not exist here, so their flags are `EINVAL`, as
/// on a Linux built without them.
pub fn sys_unshare(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    use crate::process::clone::flags::*;
    const CLONE_NEWTIME: u64 = 0x80;
    const NAMESPACES: u64 = CLONE_NEWNS
        | CLONE_NEWUTS
        | CLONE_NEWIPC
        | CLONE_NEWNET
        | CLONE_NEWUSER
        | CLONE_NEWPID
        | CLONE_NEWCGROUP
        | CLONE_NEWTIME;
    let mut f = a[0];
    let valid = CLONE_THREAD
        | CLONE_FS
        | CLONE_SIGHAND
        | CLONE_VM
        | CLONE_FILES
        | CLONE_SYSVSEM
        | NAMESPACES;
    if f & !valid != 0 {
        return_errno!(EINVAL);
    }
    if f & NAMESPACES != 0 {
        return_errno_with_message!(EINVAL, "namespaces are not supported");
    }
    // Linux's implications: sharing less memory means sharing fewer
    // handlers, which means being a thread group of one.
    if f & CLONE_VM != 0 {
        f |= CLONE_SIGHAND;
    }
    if f & CLONE_SIGHAND != 0 {
        f |= CLONE_THREAD;
    }
    let process = ctx.process;
    if f & CLONE_THREAD != 0 && process.threads().len() > 1 {
        return_errno!(EINVAL);
    }
    if f & CLONE_SIGHAND != 0 && Arc::strong_count(process.sig_actions()) > 1 {
        return_errno!(EINVAL);
    }
    if f & CLONE_FS != 0 {
        let copy = process.fs().lock().clone();
        process.set_fs(Arc::new(Mutex::new(copy)));
    }
    if f & CLONE_FILES != 0 {
        process.unshare_files();
    }
    if f & CLONE_SYSVSEM != 0 {
        // Leaving the undo list applies its adjustments, as at exit.
        crate::ipc::sem::exit_undo(process.pid());
    }
    ret(0)
}

/// Restartable sequences are not supported; glibc and musl carry on
/// without them when registration fails with `ENOSYS` (no log line: every
/// glibc program tries).
pub fn sys_rseq(_ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    return_errno!(ENOSYS)
}

const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const ARCH_GET_GS: u64 = 0x1004;

pub fn sys_arch_prctl(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    match a[0] {
        ARCH_SET_FS => {
            // Linux: EPERM from TASK_SIZE_MAX (the last user page) up.
            if a[1] >= crate::vm::layout::TASK_SIZE_MAX {
                return_errno!(EPERM);
            }
            ctx.user.set_fs_base(a[1]).map_err(|_| Error::new(EPERM))?;
            ret(0)
        }
        ARCH_GET_FS => {
            let fs = ctx.user.fs_base();
            ctx.vmar().write_val(a[1], &fs)?;
            ret(0)
        }
        ARCH_GET_GS => {
            ctx.vmar().write_val(a[1], &0u64)?;
            ret(0)
        }
        ARCH_SET_GS => return_errno_with_message!(EINVAL, "GS base is not supported"),
        _ => return_errno!(EINVAL),
    }
}

const PR_SET_PDEATHSIG: u64 = pr::PR_SET_PDEATHSIG as u64;
const PR_GET_PDEATHSIG: u64 = pr::PR_GET_PDEATHSIG as u64;
const PR_GET_DUMPABLE: u64 = pr::PR_GET_DUMPABLE as u64;
const PR_SET_DUMPABLE: u64 = pr::PR_SET_DUMPABLE as u64;
const PR_SET_NAME: u64 = pr::PR_SET_NAME as u64;
const PR_GET_NAME: u64 = pr::PR_GET_NAME as u64;
const PR_SET_CHILD_SUBREAPER: u64 = pr::PR_SET_CHILD_SUBREAPER as u64;
const PR_GET_CHILD_SUBREAPER: u64 = pr::PR_GET_CHILD_SUBREAPER as u64;
const PR_SET_NO_NEW_PRIVS: u64 = pr::PR_SET_NO_NEW_PRIVS as u64;
const PR_GET_NO_NEW_PRIVS: u64 = pr::PR_GET_NO_NEW_PRIVS as u64;

pub fn sys_prctl(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if let Some(r) = super::capability::prctl(ctx, a) {
        return r;
    }
    match a[0] {
        PR_SET_PDEATHSIG => {
            if a[1] != 0 && !crate::process::signal::is_valid(a[1]) {
                return_errno!(EINVAL);
            }
            ctx.process.set_pdeath_signal(a[1] as u8);
            ret(0)
        }
        PR_GET_PDEATHSIG => {
            let s = ctx.process.pdeath_signal() as i32;
            ctx.vmar().write_val(a[1], &s)?;
            ret(0)
        }
        PR_SET_NAME => {
            let mut name = [0u8; 16];
            ctx.vmar().read_bytes(a[1], &mut name)?;
            let n = name.iter().position(|&b| b == 0).unwrap_or(16);
            ctx.process.set_comm(&name[..n]);
            ret(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            ctx.process.set_child_subreaper(a[1] != 0);
            ret(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let v = ctx.process.is_child_subreaper() as i32;
            ctx.vmar().write_val(a[1], &v)?;
            ret(0)
        }
        PR_GET_DUMPABLE => ret(ctx.process.dumpable() as u64),
        PR_SET_DUMPABLE => {
            // SUID_DUMP_DISABLE or SUID_DUMP_USER; 2 is for the kernel.
            if a[1] > 1 {
                return_errno!(EINVAL);
            }
            ctx.process.set_dumpable(a[1] == 1);
            ret(0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return_errno!(EINVAL);
            }
            ctx.process.set_no_new_privs();
            ret(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return_errno!(EINVAL);
            }
            ret(ctx.process.no_new_privs() as u64)
        }
        PR_GET_NAME => {
            let mut name = [0u8; 16];
            let comm = ctx.process.comm();
            let n = comm.len().min(15);
            name[..n].copy_from_slice(&comm.as_bytes()[..n]);
            ctx.vmar().write_bytes(a[1], &name)?;
            ret(0)
        }
        _ => return_errno!(EINVAL),
    }
}

// ---- clone, execve, wait ----

use crate::process::clone::{CloneArgs, clone_current, flags as cf};
use crate::process::wait::{WaitFor, WaitOptions, wait_child};

pub fn sys_clone(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    // x86-64 argument order: flags, stack, parent_tid, child_tid, tls.
    let args = CloneArgs {
        flags: a[0] & !cf::CSIGNAL,
        exit_signal: a[0] & cf::CSIGNAL,
        stack: a[1],
        parent_tid: a[2],
        child_tid: a[3],
        tls: a[4],
        // The pidfd goes where the parent's tid would.
        pidfd: a[2],
    };
    ret(clone_current(ctx.thread, ctx.user, args)?)
}

/// `struct clone_args` size of the first version.
const CLONE_ARGS_SIZE_VER0: u64 = 64;
/// The size this kernel knows (up to `cgroup`).
const CLONE_ARGS_SIZE_KNOWN: u64 = 88;

pub fn sys_clone3(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (addr, size) = (a[0], a[1]);
    if size > 4096 {
        return_errno!(E2BIG); // larger than a page, as Linux checks
    }
    if size < CLONE_ARGS_SIZE_VER0 {
        return_errno!(EINVAL);
    }
    let vmar = ctx.vmar();
    let mut raw = [0u64; 11];
    let n = (size.min(CLONE_ARGS_SIZE_KNOWN) / 8) as usize;
    for (i, v) in raw.iter_mut().enumerate().take(n) {
        *v = vmar.read_val(addr + i as u64 * 8)?;
    }
    // Fields this kernel does not know must be zero (Linux: E2BIG).
    let mut off = CLONE_ARGS_SIZE_KNOWN;
    while off + 8 <= size {
        if vmar.read_val::<u64>(addr + off)? != 0 {
            return_errno!(E2BIG);
        }
        off += 8;
    }
    let [
        flags,
        pidfd,
        child_tid,
        parent_tid,
        exit_signal,
        stack,
        stack_size,
        tls,
        set_tid,
        set_tid_size,
        _cgroup,
    ] = raw;
    if flags & cf::CSIGNAL != 0 || exit_signal > 64 {
        return_errno!(EINVAL);
    }
    if flags & (cf::CLONE_THREAD | cf::CLONE_PARENT) != 0 && exit_signal != 0 {
        return_errno!(EINVAL);
    }
    if set_tid != 0 || set_tid_size != 0 || flags >> 32 != 0 {
        return_errno_with_message!(EINVAL, "clone3 feature not supported");
    }
    if (stack == 0) != (stack_size == 0) {
        return_errno!(EINVAL);
    }
    let args = CloneArgs {
        flags,
        exit_signal,
        stack: if stack != 0 { stack + stack_size } else { 0 },
        parent_tid,
        child_tid,
        tls,
        pidfd,
    };
    ret(clone_current(ctx.thread, ctx.user, args)?)
}

pub fn sys_fork(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    let args = CloneArgs {
        exit_signal: crate::process::signal::sig::SIGCHLD as u64,
        ..Default::default()
    };
    ret(clone_current(ctx.thread, ctx.user, args)?)
}

pub fn sys_vfork(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    let args = CloneArgs {
        flags: cf::CLONE_VM | cf::CLONE_VFORK,
        exit_signal: crate::process::signal::sig::SIGCHLD as u64,
        ..Default::default()
    };
    ret(clone_current(ctx.thread, ctx.user, args)?)
}

/// Reads a NULL-terminated array of string pointers (argv, envp).
fn read_string_array(
    ctx: &SyscallContext,
    addr: u64,
) -> Result<alloc::vec::Vec<alloc::vec::Vec<u8>>> {
    let mut v = alloc::vec::Vec::new();
    if addr == 0 {
        return Ok(v);
    }
    let vmar = ctx.vmar();
    let mut total = 0usize;
    for i in 0.. {
        let p: u64 = vmar.read_val(addr + i * 8)?;
        if p == 0 {
            break;
        }
        // Linux: MAX_ARG_STRINGS and MAX_ARG_STRLEN give E2BIG.
        if i >= 0x7fff_ffff {
            return_errno!(E2BIG);
        }
        let s = vmar
            .read_cstring(p, user_stack::MAX_ARG_STRLEN)
            .map_err(|e| {
                if e.errno() == ENAMETOOLONG {
                    Error::new(E2BIG)
                } else {
                    e
                }
            })?;
        total += s.len() + 1 + 8;
        if total as u64 > user_stack::arg_limit(crate::vm::layout::STACK_SIZE) {
            return_errno!(E2BIG);
        }
        v.push(s);
    }
    Ok(v)
}

pub fn sys_execve(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let path = super::fs::read_path(ctx, a[0])?;
    let argv = read_string_array(ctx, a[1])?;
    let envp = read_string_array(ctx, a[2])?;
    crate::process::execve::execve(ctx.thread, ctx.user, &path, None, argv, envp)?;
    Ok(SyscallReturn::NoReturn)
}

pub fn sys_execveat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    use linux_raw_sys::general as g;
    let (dirfd, flags) = (a[0] as i32, a[4] as u32);
    if flags & !(g::AT_EMPTY_PATH | g::AT_SYMLINK_NOFOLLOW) != 0 {
        return_errno!(EINVAL);
    }
    let path = super::fs::read_path(ctx, a[1])?;
    let argv = read_string_array(ctx, a[2])?;
    let envp = read_string_array(ctx, a[3])?;
    let (inode, shown) = if path.is_empty() && flags & g::AT_EMPTY_PATH != 0 {
        let f = super::fs::get_file(ctx, dirfd)?;
        let inode = f.inode().cloned().ok_or(Error::new(EACCES))?;
        (Some(inode), f.path().unwrap_or_default())
    } else {
        let start = super::fs::dirfd_inode(ctx, dirfd, &path)?;
        let fs = ctx.process.fs().lock().clone();
        let inode = fs.lookup(start.as_ref(), &path, flags & g::AT_SYMLINK_NOFOLLOW == 0)?;
        // A link not followed cannot be run: Linux's open for exec then
        // fails as `O_NOFOLLOW` does.
        if inode.metadata().kind == crate::fs::inode::InodeType::Symlink {
            return_errno!(ELOOP);
        }
        (Some(inode), path)
    };
    crate::process::execve::execve(ctx.thread, ctx.user, &shown, inode, argv, envp)?;
    Ok(SyscallReturn::NoReturn)
}

const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2;
const WEXITED: u64 = 4;
const WCONTINUED: u64 = 8;
const WNOWAIT: u64 = 0x0100_0000;
const WNOTHREAD: u64 = 0x2000_0000;
const WALL: u64 = 0x4000_0000;
const WCLONE: u64 = 0x8000_0000;

fn wait_for(ctx: &SyscallContext, pid: i32) -> WaitFor {
    match pid {
        -1 => WaitFor::Any,
        0 => WaitFor::Group(ctx.process.pgid()),
        p if p > 0 => WaitFor::Pid(p as u32),
        p => WaitFor::Group(p.unsigned_abs()),
    }
}

pub fn sys_wait4(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    // `options` is an int: __WCLONE's sign bit must not spread.
    let (pid, status_addr, options, rusage) = (a[0] as i32, a[1], a[2] as u32 as u64, a[3]);
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return_errno!(EINVAL);
    }
    if pid == i32::MIN {
        return_errno!(ESRCH);
    }
    let opts = WaitOptions {
        no_hang: options & WNOHANG != 0,
        no_wait: false,
        exited: true,
        stopped: options & WUNTRACED != 0,
        continued: options & WCONTINUED != 0,
        all: options & WALL != 0,
        clone: options & WCLONE != 0,
    };
    match wait_child(ctx.thread, wait_for(ctx, pid), opts)? {
        None => ret(0),
        Some((pid, status, time)) => {
            let vmar = ctx.vmar();
            if status_addr != 0 {
                vmar.write_val(status_addr, &status.wait_status())?;
            }
            if rusage != 0 {
                // The child's CPU time, all as user time (ru_utime): user
                // and system time are not told apart.
                vmar.write_bytes(rusage, &super::time::rusage_bytes(time))?;
            }
            ret(pid)
        }
    }
}

const P_ALL: u64 = 0;
const P_PID: u64 = 1;
const P_PGID: u64 = 2;
const P_PIDFD: u64 = 3;

pub fn sys_waitid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (idtype, id, infop, options) = (a[0], a[1] as i32, a[2], a[3] as u32 as u64);
    if options & !(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE)
        != 0
    {
        return_errno!(EINVAL);
    }
    if options & (WEXITED | WUNTRACED | WCONTINUED) == 0 {
        return_errno!(EINVAL);
    }
    // A non-blocking pidfd makes the wait non-blocking too, and finding
    // nothing is then EAGAIN.
    let mut pidfd_nonblocking = false;
    let w = match idtype {
        P_ALL => WaitFor::Any,
        P_PID if id > 0 => WaitFor::Pid(id as u32),
        P_PGID if id > 0 => WaitFor::Group(id as u32),
        P_PGID if id == 0 => WaitFor::Group(ctx.process.pgid()),
        P_PIDFD if id >= 0 => {
            let f = super::fs::get_file(ctx, id)?;
            let pidfd = f
                .as_any()
                .downcast_ref::<PidFd>()
                .ok_or(Error::new(EBADF))?;
            pidfd_nonblocking = pidfd.nonblocking();
            WaitFor::Pid(pidfd.pid())
        }
        _ => return_errno!(EINVAL),
    };
    let opts = WaitOptions {
        no_hang: options & WNOHANG != 0 || pidfd_nonblocking,
        no_wait: options & WNOWAIT != 0,
        exited: options & WEXITED != 0,
        stopped: options & WUNTRACED != 0,
        continued: options & WCONTINUED != 0,
        all: options & WALL != 0,
        clone: options & WCLONE != 0,
    };
    let r = wait_child(ctx.thread, w, opts)?;
    if r.is_none() && pidfd_nonblocking && options & WNOHANG == 0 {
        return_errno!(EAGAIN);
    }
    let vmar = ctx.vmar();
    // siginfo_t: si_signo, si_errno, si_code, pad, si_pid, si_uid, si_status.
    let mut info = [0u8; 128];
    if let Some((pid, result, _)) = r {
        use crate::process::ExitStatus;
        use crate::process::wait::WaitResult;
        // si_code: CLD_EXITED 1, CLD_KILLED 2, CLD_DUMPED 3, CLD_STOPPED 5,
        // CLD_CONTINUED 6.
        let (code, st) = match result {
            WaitResult::Exited(ExitStatus::Exited(c)) => (1i32, c as i32),
            WaitResult::Exited(ExitStatus::Signaled { signal, core }) => {
                (if core { 3 } else { 2 }, signal as i32)
            }
            WaitResult::Stopped(s) => (5, s as i32),
            WaitResult::Continued => (6, crate::process::signal::sig::SIGCONT as i32),
        };
        info[0..4].copy_from_slice(&(crate::process::signal::sig::SIGCHLD as i32).to_le_bytes());
        info[8..12].copy_from_slice(&code.to_le_bytes());
        info[16..20].copy_from_slice(&pid.to_le_bytes());
        info[24..28].copy_from_slice(&st.to_le_bytes());
    }
    if infop != 0 {
        vmar.write_bytes(infop, &info)?;
    }
    ret(0)
}

pub fn sys_setpgid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (pid, pgid) = (a[0] as i32, a[1] as i32);
    if pgid < 0 {
        return_errno!(EINVAL);
    }
    let target = if pid == 0 || pid as u32 == ctx.process.pid() {
        ctx.process.clone()
    } else {
        let t = find_process(pid as u32).ok_or(Error::new(ESRCH))?;
        if t.parent().is_none_or(|p| p.pid() != ctx.process.pid()) {
            return_errno!(ESRCH);
        }
        if t.sid() != ctx.process.sid() {
            return_errno!(EPERM);
        }
        t
    };
    let pgid = if pgid == 0 { target.pid() } else { pgid as u32 };
    if target.pid() == target.sid() {
        return_errno!(EPERM); // a session leader cannot change group
    }
    if pgid != target.pid() {
        let exists = crate::process::processes_in_group(pgid)
            .iter()
            .any(|p| p.sid() == target.sid());
        if !exists {
            return_errno!(EPERM);
        }
    }
    target.set_pgid(pgid);
    ret(0)
}

pub fn sys_setsid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    let p = ctx.process;
    if !crate::process::processes_in_group(p.pid()).is_empty() && p.pgid() == p.pid() {
        return_errno!(EPERM);
    }
    p.set_sid(p.pid());
    p.set_pgid(p.pid());
    ret(p.pid())
}

// ---- credentials (`credentials(7)`, `setresuid(2)`, `capabilities(7)`) ----

use crate::process::credentials::Credentials;

/// Applies `f` to the caller's credentials.
fn change_credentials<T>(
    ctx: &SyscallContext,
    f: impl FnOnce(&mut Credentials) -> Result<T>,
) -> Result<T> {
    ctx.thread.update_credentials(f)
}

pub fn sys_setuid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    change_credentials(ctx, |c| c.set_uid(a[0] as u32))?;
    ret(0)
}

pub fn sys_setgid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    change_credentials(ctx, |c| c.set_gid(a[0] as u32))?;
    ret(0)
}

pub fn sys_setreuid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    change_credentials(ctx, |c| c.set_reuid(a[0] as u32, a[1] as u32))?;
    ret(0)
}

pub fn sys_setregid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    change_credentials(ctx, |c| c.set_regid(a[0] as u32, a[1] as u32))?;
    ret(0)
}

pub fn sys_setresuid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    change_credentials(ctx, |c| c.set_resuid(a[0] as u32, a[1] as u32, a[2] as u32))?;
    ret(0)
}

pub fn sys_setresgid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    change_credentials(ctx, |c| c.set_resgid(a[0] as u32, a[1] as u32, a[2] as u32))?;
    ret(0)
}

/// Returns the previous file-system uid, whether or not it changed.
pub fn sys_setfsuid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    ret(change_credentials(ctx, |c| Ok(c.set_fsuid(a[0] as u32)))?)
}

/// Returns the previous file-system gid, whether or not it changed.
pub fn sys_setfsgid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    ret(change_credentials(ctx, |c| Ok(c.set_fsgid(a[0] as u32)))?)
}

fn get_res(ctx: &SyscallContext, a: [u64; 6], group: bool) -> R {
    let c = ctx.thread.credentials();
    let v = if group {
        [c.rgid, c.egid, c.sgid]
    } else {
        [c.ruid, c.euid, c.suid]
    };
    let vmar = ctx.vmar();
    for (i, x) in v.iter().enumerate() {
        vmar.write_val(a[i], x)?;
    }
    ret(0)
}

pub fn sys_getresuid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    get_res(ctx, a, false)
}

pub fn sys_getresgid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    get_res(ctx, a, true)
}

pub fn sys_getgroups(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let groups = ctx.thread.credentials().groups;
    let size = a[0] as i32;
    if size < 0 {
        return_errno!(EINVAL);
    }
    if size == 0 {
        return ret(groups.len());
    }
    if (size as usize) < groups.len() {
        return_errno!(EINVAL);
    }
    let vmar = ctx.vmar();
    for (i, g) in groups.iter().enumerate() {
        vmar.write_val(a[1] + i as u64 * 4, g)?;
    }
    ret(groups.len())
}

/// `NGROUPS_MAX`.
const NGROUPS_MAX: usize = 65536;

/// `setgroups(2)`: needs `CAP_SETGID` (checked before the size, as Linux);
/// the list is kept sorted, as Linux's `groups_sort`.
pub fn sys_setgroups(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    use linux_raw_sys::general::CAP_SETGID;
    if !ctx.thread.credentials().has_cap(CAP_SETGID) {
        return_errno!(EPERM);
    }
    let n = a[0] as u32 as usize;
    if n > NGROUPS_MAX {
        return_errno!(EINVAL);
    }
    let mut bytes = alloc::vec::Vec::new();
    bytes
        .try_reserve_exact(n * 4)
        .map_err(|_| Error::new(ENOMEM))?;
    bytes.resize(n * 4, 0);
    ctx.vmar().read_bytes(a[1], &mut bytes)?;
    let mut groups: alloc::vec::Vec<u32> = alloc::vec::Vec::new();
    groups
        .try_reserve_exact(n)
        .map_err(|_| Error::new(ENOMEM))?;
    groups.extend(
        bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    );
    groups.sort_unstable();
    change_credentials(ctx, |c| {
        if !c.has_cap(CAP_SETGID) {
            return_errno!(EPERM);
        }
        Ok(core::mem::replace(&mut c.groups, groups))
    })?;
    ret(0)
}

// ---- pidfds (`pidfd_open(2)`, `pidfd_send_signal(2)`, `pidfd_getfd(2)`) ----

use crate::fs::pidfd::PidFd;

/// `PIDFD_NONBLOCK` (`O_NONBLOCK`).
const PIDFD_NONBLOCK: u64 = 0o4000;

pub fn sys_pidfd_open(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (pid, flags) = (a[0] as i32, a[1] as u32 as u64);
    // PIDFD_THREAD (Linux 6.9) is not supported.
    if flags & !PIDFD_NONBLOCK != 0 || pid <= 0 {
        return_errno!(EINVAL);
    }
    let Some(p) = find_process(pid as u32) else {
        // A thread that is not its process's leader (Linux 6.18: ENOENT).
        if crate::process::find_thread(pid as u32).is_some() {
            return_errno!(ENOENT);
        }
        return_errno!(ESRCH);
    };
    let pidfd = PidFd::new(&p, flags as u32);
    ret(ctx.process.files().lock().insert(pidfd, true)?)
}

/// The process behind descriptor `fd`: `EBADF` if it is not a pidfd,
/// `ESRCH` once the process has been reaped.
fn pidfd_target(
    ctx: &SyscallContext,
    fd: i32,
) -> Result<alloc::sync::Arc<crate::process::Process>> {
    let f = super::fs::get_file(ctx, fd)?;
    let pidfd = f
        .as_any()
        .downcast_ref::<PidFd>()
        .ok_or(Error::new(EBADF))?;
    pidfd.process().ok_or(Error::new(ESRCH))
}

pub fn sys_pidfd_send_signal(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    use crate::process::signal::{SigInfo, is_valid, si};
    const PIDFD_SIGNAL_THREAD: u32 = 1;
    const PIDFD_SIGNAL_THREAD_GROUP: u32 = 2;
    const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 4;
    let (fd, signal, info_addr, flags) = (a[0] as i32, a[1] as i32, a[2], a[3] as u32);
    let scopes = PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP;
    if flags & !scopes != 0 || flags.count_ones() > 1 {
        return_errno!(EINVAL);
    }
    let f = super::fs::get_file(ctx, fd)?;
    let pidfd = f
        .as_any()
        .downcast_ref::<PidFd>()
        .ok_or(Error::new(EBADF))?;
    let me = ctx.process.pid();
    let mut info = SigInfo::from_sender(
        if flags == PIDFD_SIGNAL_THREAD {
            si::SI_TKILL
        } else {
            si::SI_USER
        },
        me,
        ctx.thread.credentials().ruid,
    );
    if info_addr != 0 {
        let vmar = ctx.vmar();
        let signo: i32 = vmar.read_val(info_addr)?;
        let code: i32 = vmar.read_val(info_addr + 8)?;
        if signo != signal {
            return_errno!(EINVAL);
        }
        // Only a process itself may send what looks like the kernel's or
        // kill's signals.
        if (pidfd.pid() != me
            || flags == PIDFD_SIGNAL_THREAD
            || flags == PIDFD_SIGNAL_PROCESS_GROUP)
            && (code >= 0 || code == si::SI_TKILL)
        {
            return_errno!(EPERM);
        }
        info.code = code;
        info.value = vmar.read_val(info_addr + 24)?;
    }
    let target = pidfd.process().ok_or(Error::new(ESRCH))?;
    if signal < 0 || (signal != 0 && !is_valid(signal as u64)) {
        return_errno!(EINVAL);
    }
    let s = (signal != 0).then_some(signal as u8);
    if flags == PIDFD_SIGNAL_PROCESS_GROUP {
        super::signal::signal_many(ctx, Some(target.pid()), s, info)?;
        return ret(0);
    }
    if !super::signal::may_signal(ctx, &target) {
        return_errno!(EPERM);
    }
    if let Some(s) = s
        && !target.is_zombie()
    {
        if flags == PIDFD_SIGNAL_THREAD {
            if let Some(t) = target.main_thread() {
                t.send_signal_info(s, info);
            }
        } else {
            crate::process::exit::send_to_process_info(&target, s, info);
        }
    }
    ret(0)
}

pub fn sys_pidfd_getfd(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (fd, target_fd, flags) = (a[0] as i32, a[1] as i32, a[2]);
    if flags != 0 {
        return_errno!(EINVAL);
    }
    let target = pidfd_target(ctx, fd)?;
    // Linux asks for ptrace access (PTRACE_MODE_ATTACH_REALCREDS).
    if !ctx
        .thread
        .credentials()
        .may_trace(&target.credentials(), target.dumpable())
    {
        return_errno!(EPERM);
    }
    // A zombie has no descriptors left.
    if target.is_zombie() {
        return_errno!(ESRCH);
    }
    let file = target.files().lock().get(target_fd)?;
    ret(ctx.process.files().lock().insert(file, true)?)
}
