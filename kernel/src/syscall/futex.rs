//! `futex(2)`, `futex_waitv(2)` and `get_robust_list(2)`: argument
//! decoding and Linux's checks; the futexes themselves are in
//! [`crate::process::futex`].

use alloc::vec::Vec;
use core::time::Duration;

use linux_raw_sys::general as g;

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use crate::process::futex::{self, Key, WaitvItem};

type R = Result<SyscallReturn>;

/// A deadline on the monotonic clock from the absolute time at `addr` on
/// `clock` (none if `addr` is 0).
fn absolute_deadline(ctx: &SyscallContext, addr: u64, clock: u32) -> Result<Option<Duration>> {
    if addr == 0 {
        return Ok(None);
    }
    let t = super::time::read_timespec(ctx, addr)?;
    let left = t.saturating_sub(super::time::clock_now(ctx.thread, clock)?);
    Ok(futex::deadline_after(Some(left)))
}

/// A deadline from the relative time at `addr` (none if 0).
fn relative_deadline(ctx: &SyscallContext, addr: u64) -> Result<Option<Duration>> {
    if addr == 0 {
        return Ok(None);
    }
    let t = super::time::read_timespec(ctx, addr)?;
    Ok(futex::deadline_after(Some(t)))
}

pub fn sys_futex(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (addr, op, val, utime, addr2, val3) =
        (a[0], a[1] as u32, a[2] as u32, a[3], a[4], a[5] as u32);
    let cmd = op & g::FUTEX_CMD_MASK as u32;
    let realtime = op & g::FUTEX_CLOCK_REALTIME != 0;
    let shared = op & g::FUTEX_PRIVATE_FLAG == 0;
    // Only the calls with an absolute timeout take a clock, as on Linux.
    if realtime
        && !matches!(
            cmd,
            g::FUTEX_WAIT_BITSET | g::FUTEX_WAIT_REQUEUE_PI | g::FUTEX_LOCK_PI2
        )
    {
        return_errno!(ENOSYS);
    }
    let clock = if realtime {
        g::CLOCK_REALTIME
    } else {
        g::CLOCK_MONOTONIC
    };
    // The requeue and wake-op calls pass a second count in the timeout.
    let val2 = utime as u32 as i32;
    let vmar = ctx.vmar();
    let key = |a: u64| Key::new(&vmar, a, shared);
    let thread = ctx.thread;
    match cmd {
        g::FUTEX_WAIT => {
            let deadline = relative_deadline(ctx, utime)?;
            futex::wait(thread, &vmar, key(addr)?, addr, val, deadline, u32::MAX)?;
            ret(0)
        }
        g::FUTEX_WAIT_BITSET => {
            let deadline = absolute_deadline(ctx, utime, clock)?;
            if val3 == 0 {
                return_errno!(EINVAL);
            }
            futex::wait(thread, &vmar, key(addr)?, addr, val, deadline, val3)?;
            ret(0)
        }
        g::FUTEX_WAKE => ret(futex::wake(key(addr)?, val as i32, u32::MAX)?),
        g::FUTEX_WAKE_BITSET => {
            if val3 == 0 {
                return_errno!(EINVAL);
            }
            ret(futex::wake(key(addr)?, val as i32, val3)?)
        }
        g::FUTEX_REQUEUE | g::FUTEX_CMP_REQUEUE => {
            let cmp = (cmd == g::FUTEX_CMP_REQUEUE).then_some(val3);
            if (val as i32) < 0 || val2 < 0 {
                return_errno!(EINVAL);
            }
            let (k1, k2) = (key(addr)?, key(addr2)?);
            ret(futex::requeue(
                &vmar,
                (k1, addr),
                k2,
                val as i32,
                val2,
                cmp,
            )?)
        }
        g::FUTEX_WAKE_OP => {
            let (k1, k2) = (key(addr)?, key(addr2)?);
            ret(futex::wake_op(
                &vmar,
                k1,
                (k2, addr2),
                (val as i32, val2),
                val3,
            )?)
        }
        g::FUTEX_LOCK_PI | g::FUTEX_LOCK_PI2 => {
            // FUTEX_LOCK_PI's timeout is on the real-time clock.
            let clock = if cmd == g::FUTEX_LOCK_PI {
                g::CLOCK_REALTIME
            } else {
                clock
            };
            let deadline = absolute_deadline(ctx, utime, clock)?;
            futex::lock_pi(thread, &vmar, key(addr)?, addr, deadline, false)?;
            ret(0)
        }
        g::FUTEX_TRYLOCK_PI => {
            futex::lock_pi(thread, &vmar, key(addr)?, addr, None, true)?;
            ret(0)
        }
        g::FUTEX_UNLOCK_PI => {
            futex::unlock_pi(thread, &vmar, key(addr)?, addr)?;
            ret(0)
        }
        g::FUTEX_WAIT_REQUEUE_PI => {
            let deadline = absolute_deadline(ctx, utime, clock)?;
            let (k1, k2) = (key(addr)?, key(addr2)?);
            futex::wait_requeue_pi(thread, &vmar, (k1, addr), (k2, addr2), val, deadline)?;
            ret(0)
        }
        g::FUTEX_CMP_REQUEUE_PI => {
            let (k1, k2) = (key(addr)?, key(addr2)?);
            ret(futex::cmp_requeue_pi(
                &vmar,
                (k1, addr),
                (k2, addr2),
                val as i32,
                val2,
                val3,
            )?)
        }
        _ => return_errno!(ENOSYS),
    }
}

/// `futex_waitv(waiters, nr_futexes, flags, timeout, clockid)`.
pub fn sys_futex_waitv(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (waiters, nr, flags, timeout, clock) = (a[0], a[1] as u32, a[2] as u32, a[3], a[4] as u32);
    if flags != 0 {
        return_errno!(EINVAL);
    }
    if nr == 0 || nr > g::FUTEX_WAITV_MAX || waiters == 0 {
        return_errno!(EINVAL);
    }
    let deadline = if timeout != 0 {
        if clock != g::CLOCK_REALTIME && clock != g::CLOCK_MONOTONIC {
            return_errno!(EINVAL);
        }
        absolute_deadline(ctx, timeout, clock)?
    } else {
        None
    };
    let vmar = ctx.vmar();
    let mut items = Vec::new();
    items
        .try_reserve(nr as usize)
        .map_err(|_| Error::new(ENOMEM))?;
    let valid = g::FUTEX2_SIZE_MASK | g::FUTEX2_NUMA | g::FUTEX2_PRIVATE;
    for i in 0..nr as u64 {
        let w: g::futex_waitv = vmar.read_val(waiters + i * 24)?;
        if w.flags & !valid != 0 || w.__reserved != 0 {
            return_errno!(EINVAL);
        }
        // Only 32-bit words exist so far, and no NUMA placement.
        if w.flags & g::FUTEX2_SIZE_MASK != g::FUTEX2_SIZE_U32 || w.flags & g::FUTEX2_NUMA != 0 {
            return_errno!(EINVAL);
        }
        let expected = u32::try_from(w.val).map_err(|_| Error::new(EINVAL))?;
        items.push((w.uaddr, expected, w.flags & g::FUTEX2_PRIVATE == 0));
    }
    let mut keyed = Vec::new();
    keyed
        .try_reserve(items.len())
        .map_err(|_| Error::new(ENOMEM))?;
    for (addr, expected, shared) in items {
        keyed.push(WaitvItem {
            key: Key::new(&vmar, addr, shared)?,
            addr,
            expected,
        });
    }
    ret(futex::waitv(ctx.thread, &vmar, &keyed, deadline)?)
}

pub fn sys_set_robust_list(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if a[1] != size_of::<g::robust_list_head>() as u64 {
        return_errno!(EINVAL);
    }
    ctx.thread.set_robust_list(a[0]);
    ret(0)
}

/// `get_robust_list(pid, head_ptr, len_ptr)`: another thread's list only
/// for a caller that could trace it (root, or the same user and group).
pub fn sys_get_robust_list(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let tid = a[0] as i32;
    let target = if tid == 0 {
        ctx.thread.clone()
    } else if tid < 0 {
        return_errno!(ESRCH);
    } else {
        crate::process::find_thread(tid as u32).ok_or(Error::new(ESRCH))?
    };
    let same_process = alloc::sync::Arc::ptr_eq(target.process(), ctx.process);
    if !same_process
        && !ctx
            .thread
            .credentials()
            .may_trace(&target.credentials(), target.process().dumpable())
    {
        return_errno!(EPERM);
    }
    let vmar = ctx.vmar();
    vmar.write_val(a[2], &(size_of::<g::robust_list_head>() as u64))?;
    vmar.write_val(a[1], &target.robust_list())?;
    ret(0)
}
