//! I/O multiplexing: `poll`, `ppoll`, `select`, `pselect6`, `epoll_*`
//! (with `epoll_pwait2`), `eventfd2`.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use super::{SyscallContext, SyscallReturn, ret};
use crate::fs::epoll::{EpollFile, EventFd};
use crate::fs::file::FileLike;
use crate::fs::poll::{IoEvents, wait_ready};
use crate::prelude::*;
use crate::process::signal::SigSet;

type R = Result<SyscallReturn>;

fn timeout_ms(ms: i64) -> Option<Duration> {
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

/// Runs `f` with the signal mask temporarily replaced (`ppoll`,
/// `pselect6`, `epoll_pwait`). The old mask comes back when `f` returns,
/// unless a signal interrupted it: then only after that signal's handler
/// has run, as Linux's `restore_saved_sigmask` does, since the signal may
/// be one only the temporary mask lets in.
fn with_mask<T: Interruption>(
    ctx: &SyscallContext,
    mask_addr: u64,
    f: impl FnOnce() -> T,
) -> Result<T> {
    if mask_addr == 0 {
        return Ok(f());
    }
    let new = SigSet(ctx.vmar().read_val::<u64>(mask_addr)?);
    let old = ctx.thread.sig_mask();
    ctx.thread.set_sig_mask(new);
    let r = f();
    if r.interrupted() {
        ctx.thread.set_saved_mask(Some(old));
    } else {
        ctx.thread.set_sig_mask(old);
    }
    Ok(r)
}

/// The outcome of a wait that a signal may interrupt.
trait Interruption {
    fn interrupted(&self) -> bool;
}

/// `None`: interrupted (`poll`, `select`).
impl<T> Interruption for Option<T> {
    fn interrupted(&self) -> bool {
        self.is_none()
    }
}

/// `ERESTARTNOHAND`: interrupted (`epoll_wait`).
impl<T> Interruption for Result<T> {
    fn interrupted(&self) -> bool {
        self.as_ref().is_err_and(|e| e.errno() == ERESTARTNOHAND)
    }
}

/// Checks the size argument that comes with a signal mask (`sigsetsize`).
fn check_sigset_size(mask_addr: u64, size: u64) -> Result<()> {
    if mask_addr != 0 && size != 8 {
        return_errno!(EINVAL);
    }
    Ok(())
}

/// A `pollfd`: the descriptor, the requested events and its file.
type PollEntry = (i32, i16, Option<Arc<dyn FileLike>>);

fn do_poll(
    ctx: &SyscallContext,
    fds_addr: u64,
    nfds: u64,
    timeout: Option<Duration>,
    mask: u64,
) -> R {
    // Linux: EINVAL beyond RLIMIT_NOFILE.
    if nfds > crate::fs::file_table::MAX_FDS as u64 {
        return_errno!(EINVAL);
    }
    let vmar = ctx.vmar();
    let mut entries: Vec<PollEntry> = Vec::with_capacity(nfds as usize);
    for i in 0..nfds {
        let fd: i32 = vmar.read_val(fds_addr + i * 8)?;
        let events: u16 = vmar.read_val(fds_addr + i * 8 + 4)?;
        let file = if fd >= 0 {
            ctx.process.files().lock().get(fd).ok()
        } else {
            None
        };
        entries.push((fd, events as i16, file));
    }
    let scan = |out: &mut Vec<i16>| -> usize {
        out.clear();
        let mut n = 0;
        for (fd, events, file) in &entries {
            let r = match (fd, file) {
                (fd, _) if *fd < 0 => 0,
                (_, None) => IoEvents::NVAL.bits() as i16,
                (_, Some(f)) => {
                    let always = (IoEvents::ERR | IoEvents::HUP | IoEvents::NVAL).bits();
                    (f.poll().bits() & (*events as u16 as u32 | always)) as i16
                }
            };
            if r != 0 {
                n += 1;
            }
            out.push(r);
        }
        n
    };
    let mut revents = Vec::new();
    let n = with_mask(ctx, mask, || {
        let first = scan(&mut revents);
        if first > 0 || timeout == Some(Duration::ZERO) {
            return Some(first);
        }
        let mut tmp = Vec::new();
        let r = wait_ready(
            || {
                let n = scan(&mut tmp);
                (n > 0).then_some(n)
            },
            timeout,
        );
        match r {
            Some(Some(n)) => {
                revents = tmp;
                Some(n)
            }
            Some(None) => None, // interrupted
            None => Some(0),
        }
    })?;
    let Some(n) = n else {
        return_errno!(ERESTARTNOHAND)
    };
    for (i, r) in revents.iter().enumerate() {
        vmar.write_val(fds_addr + i as u64 * 8 + 6, &(*r as u16))?;
    }
    ret(n)
}

pub fn sys_poll(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_poll(ctx, a[0], a[1], timeout_ms(a[2] as i32 as i64), 0)
}

pub fn sys_ppoll(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let timeout = if a[2] != 0 {
        Some(super::time::read_timespec(ctx, a[2])?)
    } else {
        None
    };
    check_sigset_size(a[3], a[4])?;
    do_poll(ctx, a[0], a[1], timeout, a[3])
}

fn do_select(
    ctx: &SyscallContext,
    nfds: u64,
    sets: [u64; 3],
    timeout: Option<Duration>,
    mask: u64,
) -> R {
    if nfds > 1024 {
        return_errno!(EINVAL);
    }
    let vmar = ctx.vmar();
    let words = nfds.div_ceil(64) as usize;
    let mut input = [[0u64; 16]; 3];
    for (k, &addr) in sets.iter().enumerate() {
        if addr != 0 {
            for (w, word) in input[k].iter_mut().enumerate().take(words) {
                *word = vmar.read_val(addr + w as u64 * 8)?;
            }
        }
    }
    let mut files = Vec::new();
    for fd in 0..nfds as usize {
        let wanted = (0..3).any(|k| input[k][fd / 64] & (1 << (fd % 64)) != 0);
        if wanted {
            let f = ctx.process.files().lock().get(fd as i32)?;
            files.push((fd, f));
        }
    }
    let scan = |out: &mut [[u64; 16]; 3]| -> usize {
        *out = [[0; 16]; 3];
        let mut n = 0;
        for (fd, f) in &files {
            let ev = f.poll();
            let bit = 1u64 << (fd % 64);
            let checks = [
                ev.intersects(IoEvents::IN | IoEvents::HUP | IoEvents::ERR),
                ev.intersects(IoEvents::OUT | IoEvents::ERR),
                ev.contains(IoEvents::PRI),
            ];
            for k in 0..3 {
                if input[k][fd / 64] & bit != 0 && checks[k] {
                    out[k][fd / 64] |= bit;
                    n += 1;
                }
            }
        }
        n
    };
    let mut result = [[0u64; 16]; 3];
    let n = with_mask(ctx, mask, || {
        let first = scan(&mut result);
        if first > 0 || timeout == Some(Duration::ZERO) {
            return Some(first);
        }
        let mut tmp = [[0u64; 16]; 3];
        match wait_ready(
            || {
                let n = scan(&mut tmp);
                (n > 0).then_some(n)
            },
            timeout,
        ) {
            Some(Some(n)) => {
                result = tmp;
                Some(n)
            }
            Some(None) => None,
            None => Some(0),
        }
    })?;
    let Some(n) = n else {
        return_errno!(ERESTARTNOHAND)
    };
    for (k, &addr) in sets.iter().enumerate() {
        if addr != 0 {
            for (w, word) in result[k].iter().enumerate().take(words) {
                vmar.write_val(addr + w as u64 * 8, word)?;
            }
        }
    }
    ret(n)
}

pub fn sys_select(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let timeout = if a[4] != 0 {
        let tv: linux_raw_sys::general::timeval = ctx.vmar().read_val(a[4])?;
        if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
            return_errno!(EINVAL);
        }
        Some(Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000))
    } else {
        None
    };
    do_select(ctx, a[0], [a[1], a[2], a[3]], timeout, 0)
}

pub fn sys_pselect6(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let timeout = if a[4] != 0 {
        Some(super::time::read_timespec(ctx, a[4])?)
    } else {
        None
    };
    // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
    let mask = if a[5] != 0 {
        ctx.vmar().read_val::<u64>(a[5])?
    } else {
        0
    };
    do_select(ctx, a[0], [a[1], a[2], a[3]], timeout, mask)
}

pub fn sys_epoll_create1(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let flags = a[0] as u32;
    if flags & !crate::fs::file::flags::O_CLOEXEC != 0 {
        return_errno!(EINVAL);
    }
    let cloexec = flags & crate::fs::file::flags::O_CLOEXEC != 0;
    ret(ctx
        .process
        .files()
        .lock()
        .insert(EpollFile::new(), cloexec)?)
}

pub fn sys_epoll_create(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if (a[0] as i32) <= 0 {
        return_errno!(EINVAL);
    }
    ret(ctx.process.files().lock().insert(EpollFile::new(), false)?)
}

fn epoll_of(ctx: &SyscallContext, fd: i32) -> Result<Arc<dyn FileLike>> {
    let f = ctx.process.files().lock().get(fd)?;
    if f.as_any().downcast_ref::<EpollFile>().is_none() {
        return_errno!(EINVAL);
    }
    Ok(f)
}

pub fn sys_epoll_ctl(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    use crate::fs::epoll::{check_pollable, op};
    let (epfd, op, fd, ev_addr) = (a[0] as i32, a[1] as u32, a[2] as i32, a[3]);
    // The checks in the order of Linux's `epoll_ctl`: the event is read
    // first (for every operation but DEL), then the descriptors.
    let event = if op != op::EPOLL_CTL_DEL {
        let vmar = ctx.vmar();
        (vmar.read_val(ev_addr)?, vmar.read_val(ev_addr + 4)?)
    } else {
        (0, 0)
    };
    let (ep_file, target) = {
        let files_table = ctx.process.files();
        let files = files_table.lock();
        (files.get(epfd)?, files.get(fd)?)
    };
    check_pollable(&target)?;
    let ep = ep_file
        .as_any()
        .downcast_ref::<EpollFile>()
        .ok_or(Error::new(EINVAL))?;
    if fd == epfd {
        return_errno!(EINVAL);
    }
    ep.ctl(op, fd, &target, event)?;
    ret(0)
}

/// `sizeof(struct epoll_event)` (packed on x86-64).
const EPOLL_EVENT_SIZE: u64 = 12;

fn do_epoll_wait(
    ctx: &SyscallContext,
    epfd: i32,
    events: u64,
    max: i32,
    timeout: Option<Duration>,
    mask: u64,
) -> R {
    // Linux's EP_MAX_EVENTS, and its `access_ok` on the whole array.
    if max <= 0 || max as u64 > i32::MAX as u64 / EPOLL_EVENT_SIZE {
        return_errno!(EINVAL);
    }
    if events
        .checked_add(max as u64 * EPOLL_EVENT_SIZE)
        .is_none_or(|end| end > crate::vm::layout::TASK_SIZE_MAX)
    {
        return_errno!(EFAULT);
    }
    let ep = epoll_of(ctx, epfd)?;
    let ep = ep
        .as_any()
        .downcast_ref::<EpollFile>()
        .ok_or(Error::new(EINVAL))?;
    let ready = with_mask(ctx, mask, || ep.wait(max as usize, timeout))??;
    let vmar = ctx.vmar();
    for (i, (ev, data)) in ready.iter().enumerate() {
        // struct epoll_event is packed on x86-64: u32 events, u64 data.
        let at = events + i as u64 * EPOLL_EVENT_SIZE;
        vmar.write_val(at, ev)?;
        vmar.write_val(at + 4, data)?;
    }
    ret(ready.len())
}

pub fn sys_epoll_wait(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_epoll_wait(
        ctx,
        a[0] as i32,
        a[1],
        a[2] as i32,
        timeout_ms(a[3] as i32 as i64),
        0,
    )
}

pub fn sys_epoll_pwait(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    check_sigset_size(a[4], a[5])?;
    do_epoll_wait(
        ctx,
        a[0] as i32,
        a[1],
        a[2] as i32,
        timeout_ms(a[3] as i32 as i64),
        a[4],
    )
}

/// `epoll_pwait2`: `epoll_pwait` with a `timespec` timeout (`NULL`: none).
pub fn sys_epoll_pwait2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let timeout = if a[3] != 0 {
        Some(super::time::read_timespec(ctx, a[3])?)
    } else {
        None
    };
    check_sigset_size(a[4], a[5])?;
    do_epoll_wait(ctx, a[0] as i32, a[1], a[2] as i32, timeout, a[4])
}

pub fn sys_eventfd2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    const EFD_SEMAPHORE: u32 = 1;
    let flags = a[1] as u32;
    let fl = crate::fs::file::flags::O_CLOEXEC | crate::fs::file::flags::O_NONBLOCK;
    if flags & !(fl | EFD_SEMAPHORE) != 0 {
        return_errno!(EINVAL);
    }
    let efd = EventFd::new(a[0] as u32 as u64, flags & EFD_SEMAPHORE != 0, flags);
    let cloexec = flags & crate::fs::file::flags::O_CLOEXEC != 0;
    ret(ctx.process.files().lock().insert(efd, cloexec)?)
}

pub fn sys_eventfd(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    sys_eventfd2(ctx, [a[0], 0, 0, 0, 0, 0])
}
