//! Signal syscalls.

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use crate::process::signal::{SigAction, SigInfo, SigSet, is_valid, sa, si, sig};
use crate::process::{Process, exit::send_to_process_info, find_process};

type R = Result<SyscallReturn>;

pub fn sys_rt_sigaction(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (signum, act, oldact, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 || !is_valid(signum) {
        return_errno!(EINVAL);
    }
    let s = signum as u8;
    let vmar = ctx.vmar();
    let new = if act != 0 {
        // struct sigaction (kernel): handler, flags, restorer, mask.
        let handler: u64 = vmar.read_val(act)?;
        let flags: u64 = vmar.read_val(act + 8)?;
        let restorer: u64 = vmar.read_val(act + 16)?;
        let mask: u64 = vmar.read_val(act + 24)?;
        if s == sig::SIGKILL || s == sig::SIGSTOP {
            return_errno!(EINVAL);
        }
        Some(SigAction {
            handler,
            flags,
            restorer,
            mask: SigSet(mask).without_unblockable(),
        })
    } else {
        None
    };
    let old = {
        let mut actions = ctx.process.sig_actions().lock();
        let old = actions.get(s);
        if let Some(n) = new {
            actions.set(s, n)?;
        }
        old
    };
    // POSIX: setting a disposition to ignore discards the pending signal.
    if new.is_some() && ctx.process.sig_actions().lock().is_ignored(s) {
        for t in ctx.process.threads() {
            t.clear_pending(s);
        }
    }
    if new.is_some() {
        // Timers whose signal was ignored may signal again.
        ctx.process
            .posix_timers()
            .signal_disposition_changed(ctx.process, s);
    }
    if oldact != 0 {
        vmar.write_val(oldact, &old.handler)?;
        vmar.write_val(oldact + 8, &old.flags)?;
        vmar.write_val(oldact + 16, &old.restorer)?;
        vmar.write_val(oldact + 24, &old.mask.0)?;
    }
    let _ = sa::SA_RESTORER;
    ret(0)
}

const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;
const SIG_SETMASK: u64 = 2;

pub fn sys_rt_sigprocmask(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (how, set, oldset, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 {
        return_errno!(EINVAL);
    }
    let vmar = ctx.vmar();
    let old = ctx.thread.sig_mask();
    if set != 0 {
        let s = SigSet(vmar.read_val::<u64>(set)?);
        let new = match how {
            SIG_BLOCK => SigSet(old.0 | s.0),
            SIG_UNBLOCK => SigSet(old.0 & !s.0),
            SIG_SETMASK => s,
            _ => return_errno!(EINVAL),
        };
        ctx.thread.set_sig_mask(new);
    }
    if oldset != 0 {
        vmar.write_val(oldset, &old.0)?;
    }
    ret(0)
}

pub fn sys_rt_sigreturn(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    if crate::process::signal_frame::sigreturn(ctx.thread, ctx.user).is_err() {
        ctx.thread.force_signal_info(sig::SIGSEGV, SigInfo::KERNEL);
    }
    Ok(SyscallReturn::NoReturn)
}

fn check_sig(s: u64) -> Result<Option<u8>> {
    if s == 0 {
        return Ok(None);
    }
    if !is_valid(s) {
        return_errno!(EINVAL);
    }
    Ok(Some(s as u8))
}

/// Whether the caller may signal `target` (`kill(2)`: a real or effective
/// uid matching the target's real or saved uid, or `CAP_KILL`).
pub(super) fn may_signal(ctx: &SyscallContext, target: &Process) -> bool {
    ctx.thread.credentials().may_signal(&target.credentials())
}

fn signal_process(ctx: &SyscallContext, p: &alloc::sync::Arc<Process>, s: Option<u8>, code: i32) {
    let info = SigInfo::from_sender(code, ctx.process.pid(), ctx.thread.credentials().ruid);
    signal_process_info(p, s, info);
}

fn signal_process_info(p: &alloc::sync::Arc<Process>, s: Option<u8>, info: SigInfo) {
    if let Some(s) = s
        && !p.is_zombie()
    {
        send_to_process_info(p, s, info);
    }
}

pub fn sys_kill(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let pid = a[0] as i32;
    let s = check_sig(a[1])?;
    if pid > 0 {
        // A thread id names its process too (Linux looks pids and tids up
        // alike and signals the whole thread group).
        let p = find_process(pid as u32)
            .or_else(|| crate::process::find_thread(pid as u32).map(|t| t.process().clone()))
            .ok_or(Error::new(ESRCH))?;
        if !may_signal(ctx, &p) {
            return_errno!(EPERM);
        }
        signal_process(ctx, &p, s, si::SI_USER);
        return ret(0);
    }
    let pgid = match pid {
        0 => Some(ctx.process.pgid()),
        -1 => None,
        p => Some(p.unsigned_abs()),
    };
    let info = SigInfo::from_sender(
        si::SI_USER,
        ctx.process.pid(),
        ctx.thread.credentials().ruid,
    );
    signal_many(ctx, pgid, s, info)?;
    ret(0)
}

/// Sends `s` to process group `pgid`, or to everyone but init and the
/// caller (`None`): `ESRCH` if there is nobody, `EPERM` if the caller may
/// signal none of them.
pub(super) fn signal_many(
    ctx: &SyscallContext,
    pgid: Option<u32>,
    s: Option<u8>,
    info: SigInfo,
) -> Result<()> {
    // Sent with the process table locked, so that a process forked
    // meanwhile either gets the signal or its fork backs out (see
    // `table::insert_unless`); a fork bomb cannot outrun its kill.
    let me = ctx.process.pid();
    let (mut found, mut allowed) = (false, false);
    crate::process::table::for_each_process(|p| {
        // Zombies count as found (Linux signals them, to no effect).
        let target = match pgid {
            Some(g) => p.pgid() == g,
            None => p.pid() != 1 && p.pid() != me,
        };
        if !target {
            return;
        }
        found = true;
        if may_signal(ctx, p) {
            allowed = true;
            signal_process_info(p, s, info);
        }
    });
    if !found {
        return_errno!(ESRCH);
    }
    if !allowed {
        return_errno!(EPERM);
    }
    Ok(())
}

pub fn sys_tgkill(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (tgid, tid) = (a[0] as i32, a[1] as i32);
    if tgid <= 0 || tid <= 0 {
        return_errno!(EINVAL);
    }
    let s = check_sig(a[2])?;
    let p = find_process(tgid as u32).ok_or(Error::new(ESRCH))?;
    let t = p
        .threads()
        .into_iter()
        .find(|t| t.tid() == tid as u32)
        .ok_or(Error::new(ESRCH))?;
    if !may_signal(ctx, &p) {
        return_errno!(EPERM);
    }
    if let Some(s) = s {
        let info = SigInfo::from_sender(
            si::SI_TKILL,
            ctx.process.pid(),
            ctx.thread.credentials().ruid,
        );
        t.send_signal_info(s, info);
    }
    ret(0)
}

pub fn sys_tkill(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let tid = a[0] as i32;
    if tid <= 0 {
        return_errno!(EINVAL);
    }
    let s = check_sig(a[1])?;
    let t = crate::process::find_thread(tid as u32).ok_or(Error::new(ESRCH))?;
    if !may_signal(ctx, t.process()) {
        return_errno!(EPERM);
    }
    if let Some(s) = s {
        t.send_signal_info(
            s,
            SigInfo::from_sender(
                si::SI_TKILL,
                ctx.process.pid(),
                ctx.thread.credentials().ruid,
            ),
        );
    }
    ret(0)
}

pub fn sys_rt_sigpending(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if a[1] != 8 {
        return_errno!(EINVAL);
    }
    let pending = ctx.thread.sig_pending().0 & ctx.thread.sig_mask().0;
    ctx.vmar().write_val(a[0], &pending)?;
    ret(0)
}

/// Sleeps until a signal is deliverable; always ends with `EINTR` (through
/// `ERESTARTNOHAND`, which becomes `EINTR` once the handler runs).
fn suspend_until_signal(ctx: &SyscallContext) -> R {
    let wq = ostd::sync::WaitQueue::new();
    let t = ctx.thread.clone();
    wq.wait_until(|| t.has_pending_work().then_some(()));
    return_errno!(ERESTARTNOHAND)
}

pub fn sys_rt_sigsuspend(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if a[1] != 8 {
        return_errno!(EINVAL);
    }
    let mask = SigSet(ctx.vmar().read_val::<u64>(a[0])?);
    let old = ctx.thread.sig_mask();
    ctx.thread.set_saved_mask(Some(old));
    ctx.thread.set_sig_mask(mask);
    suspend_until_signal(ctx)
}

pub fn sys_pause(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    suspend_until_signal(ctx)
}

pub fn sys_rt_sigtimedwait(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (set_addr, info_addr, ts_addr, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 {
        return_errno!(EINVAL);
    }
    let vmar = ctx.vmar();
    let set = SigSet(vmar.read_val::<u64>(set_addr)?).without_unblockable();
    let timeout = if ts_addr != 0 {
        Some(super::time::read_timespec(ctx, ts_addr)?)
    } else {
        None
    };
    let t = ctx.thread.clone();
    let wq = ostd::sync::WaitQueue::new();
    let got = wq.wait_until_or_timeout(
        || {
            if let Some(got) = t.take_signal_in(set) {
                return Some(Ok(got));
            }
            t.has_pending_work().then(|| Err(Error::new(EINTR)))
        },
        timeout,
    );
    let (s, info) = match got {
        Some(r) => r?,
        None => return_errno!(EAGAIN),
    };
    if info_addr != 0 {
        vmar.write_bytes(info_addr, &info.to_bytes(s))?;
    }
    ret(s)
}

pub fn sys_rt_sigqueueinfo(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let pid = a[0] as i32;
    let s = check_sig(a[1])?;
    // Only kernel-reserved si_code values are refused (as Linux does for
    // other processes); of the payload, the sigval is queued.
    let code: i32 = ctx.vmar().read_val(a[2] + 8)?;
    if (code >= 0 || code == -6) && pid as u32 != ctx.process.pid() {
        return_errno!(EPERM);
    }
    let p = find_process(pid as u32).ok_or(Error::new(ESRCH))?;
    if !may_signal(ctx, &p) {
        return_errno!(EPERM);
    }
    let mut info = SigInfo::from_sender(code, ctx.process.pid(), ctx.thread.credentials().ruid);
    info.value = ctx.vmar().read_val(a[2] + 24)?;
    signal_process_info(&p, s, info);
    ret(0)
}

const SS_ONSTACK: u32 = 1;
const SS_DISABLE: u32 = 2;
const MINSIGSTKSZ: u64 = 2048;

pub fn sys_sigaltstack(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (ss, old) = (a[0], a[1]);
    let vmar = ctx.vmar();
    let (base, size) = ctx.thread.alt_stack();
    let sp = ctx.user.rsp();
    let on_stack = size != 0 && (base..base + size).contains(&sp);
    if old != 0 {
        // stack_t: ss_sp, ss_flags (int + padding), ss_size.
        let flags = if size == 0 {
            SS_DISABLE
        } else if on_stack {
            SS_ONSTACK
        } else {
            0
        };
        vmar.write_val(old, &base)?;
        vmar.write_val(old + 8, &(flags as u64))?;
        vmar.write_val(old + 16, &size)?;
    }
    if ss != 0 {
        let new_sp: u64 = vmar.read_val(ss)?;
        let flags: u32 = vmar.read_val(ss + 8)?;
        let new_size: u64 = vmar.read_val(ss + 16)?;
        if on_stack {
            return_errno!(EPERM);
        }
        // SS_AUTODISARM (1 << 31) is accepted and ignored.
        match flags & !(1 << 31) {
            SS_DISABLE => ctx.thread.set_alt_stack(0, 0),
            0 | SS_ONSTACK => {
                if new_size < MINSIGSTKSZ {
                    return_errno!(ENOMEM);
                }
                ctx.thread.set_alt_stack(new_sp, new_size);
            }
            _ => return_errno!(EINVAL),
        }
    }
    ret(0)
}

// ---- signalfd (`signalfd(2)`) ----

use crate::fs::file::flags as oflags;
use crate::fs::signalfd::SignalFd;

pub fn sys_signalfd4(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (fd, mask_addr, size, flags) = (a[0] as i32, a[1], a[2], a[3] as u32);
    // The checks in the order of Linux's `signalfd4`.
    if size != 8 {
        return_errno!(EINVAL);
    }
    let mask = SigSet(ctx.vmar().read_val::<u64>(mask_addr)?);
    if flags & !(oflags::O_CLOEXEC | oflags::O_NONBLOCK) != 0 {
        return_errno!(EINVAL);
    }
    if fd == -1 {
        let sfd = SignalFd::new(mask, flags);
        let cloexec = flags & oflags::O_CLOEXEC != 0;
        return ret(ctx.process.files().lock().insert(sfd, cloexec)?);
    }
    // An existing signalfd gets the new mask (its flags stay).
    let file = super::fs::get_file(ctx, fd)?;
    let sfd = file
        .as_any()
        .downcast_ref::<SignalFd>()
        .ok_or(Error::new(EINVAL))?;
    sfd.set_mask(mask);
    ret(fd)
}

pub fn sys_signalfd(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    sys_signalfd4(ctx, [a[0], a[1], a[2], 0, 0, 0])
}
