//! `futex(2)`: wait on and wake user-space words.
//!
//! Waiters are kept in a table keyed by the address space and the address
//! (private and shared futexes are treated alike: shared futexes in
//! separate address spaces would need physical keys, which `MAP_SHARED`
//! futexes between processes would require).

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use linux_raw_sys::general as g;
use ostd::sync::{Mutex, Waiter, Waker};

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use crate::vm::Vmar;

type R = Result<SyscallReturn>;

struct FutexWaiter {
    waker: Waker,
    bitset: u32,
    woken: Arc<core::sync::atomic::AtomicBool>,
}

type Key = (usize, u64);

static WAITERS: Mutex<BTreeMap<Key, Vec<FutexWaiter>>> = Mutex::new(BTreeMap::new());

fn key(vmar: &Arc<Vmar>, addr: u64) -> Key {
    (Arc::as_ptr(vmar) as usize, addr)
}

/// Wakes up to `n` waiters on `addr`; returns how many.
pub fn wake(vmar: &Arc<Vmar>, addr: u64, n: usize) -> usize {
    wake_bitset(vmar, addr, n, u32::MAX)
}

fn wake_bitset(vmar: &Arc<Vmar>, addr: u64, n: usize, bitset: u32) -> usize {
    let mut table = WAITERS.lock();
    let Some(list) = table.get_mut(&key(vmar, addr)) else {
        return 0;
    };
    let mut woken = 0;
    list.retain(|w| {
        if woken < n && w.bitset & bitset != 0 {
            w.woken.store(true, core::sync::atomic::Ordering::Release);
            w.waker.wake_up();
            woken += 1;
            false
        } else {
            true
        }
    });
    if list.is_empty() {
        table.remove(&key(vmar, addr));
    }
    woken
}

fn wait(
    ctx: &SyscallContext,
    addr: u64,
    expected: u32,
    timeout: Option<Duration>,
    bitset: u32,
) -> R {
    if bitset == 0 {
        return_errno!(EINVAL);
    }
    check_addr(ctx, addr, true)?;
    let vmar = ctx.vmar();
    let (waiter, waker) = Waiter::new_pair();
    let woken = Arc::new(core::sync::atomic::AtomicBool::new(false));
    {
        // Check the value and enqueue under the table lock so a wake
        // between the two cannot be missed.
        let mut table = WAITERS.lock();
        let val: u32 = vmar.read_val(addr)?;
        if val != expected {
            return_errno!(EAGAIN);
        }
        table
            .entry(key(&vmar, addr))
            .or_default()
            .push(FutexWaiter {
                waker: waker.clone(),
                bitset,
                woken: woken.clone(),
            });
    }
    let deadline = timeout.map(|t| ostd::timer::monotonic() + t);
    let timer = timeout.map(|t| {
        let w = waker.clone();
        ostd::timer::add_timeout(t, move || {
            w.wake_up();
        })
    });
    let result = loop {
        if woken.load(core::sync::atomic::Ordering::Acquire) {
            break Ok(());
        }
        if ctx.thread.has_pending_work() {
            break Err(Error::new(if timeout.is_some() {
                EINTR
            } else {
                ERESTARTSYS
            }));
        }
        if deadline.is_some_and(|d| ostd::timer::monotonic() >= d) {
            break Err(Error::new(ETIMEDOUT));
        }
        waiter.wait();
    };
    if let Some(t) = timer {
        t.cancel();
    }
    if result.is_err() {
        let mut table = WAITERS.lock();
        if let Some(list) = table.get_mut(&key(&vmar, addr)) {
            list.retain(|w| !Arc::ptr_eq(&w.woken, &woken));
        }
        // A wake that raced with the timeout counts as a wake.
        if woken.load(core::sync::atomic::Ordering::Acquire) {
            return ret(0);
        }
    }
    result?;
    ret(0)
}

fn read_timeout(
    ctx: &SyscallContext,
    addr: u64,
    absolute_clock: Option<u32>,
) -> Result<Option<Duration>> {
    if addr == 0 {
        return Ok(None);
    }
    let t = super::time::read_timespec(ctx, addr)?;
    Ok(Some(match absolute_clock {
        Some(clock) => t.saturating_sub(super::time::clock_now(ctx.thread, clock)?),
        None => t,
    }))
}

/// Checks a futex address as Linux's `get_futex_key` does: `EINVAL` if not
/// 4-byte aligned, `EFAULT` if not a user address, and, for a shared futex
/// (whose key is the page behind the address), `EFAULT` unless the word can
/// be read (mapped, not `PROT_NONE`, not past the end of a mapped file).
/// A private futex is keyed by its address alone.
fn check_addr(ctx: &SyscallContext, addr: u64, shared: bool) -> Result<()> {
    if !addr.is_multiple_of(4) {
        return_errno!(EINVAL);
    }
    if addr
        .checked_add(4)
        .is_none_or(|end| end > crate::vm::layout::USER_END)
    {
        return_errno!(EFAULT);
    }
    if shared {
        ctx.vmar().read_val::<u32>(addr)?;
    }
    Ok(())
}

/// `FUTEX_WAKE`'s count: Linux wakes a first waiter before it compares the
/// count, so 0 and negative counts wake one.
fn wake_count(val: u32) -> usize {
    (val as i32).max(1) as usize
}

fn requeue(
    ctx: &SyscallContext,
    from: u64,
    to: u64,
    (n_wake, n_requeue): (i32, i32),
    cmp: Option<u32>,
    shared: bool,
) -> R {
    if n_wake < 0 || n_requeue < 0 {
        return_errno!(EINVAL);
    }
    let (n_wake, n_requeue) = (n_wake as usize, n_requeue as usize);
    check_addr(ctx, from, shared)?;
    check_addr(ctx, to, shared)?;
    let vmar = ctx.vmar();
    let mut table = WAITERS.lock();
    if let Some(expected) = cmp {
        let val: u32 = vmar.read_val(from)?;
        if val != expected {
            return_errno!(EAGAIN);
        }
    }
    let Some(mut list) = table.remove(&key(&vmar, from)) else {
        return ret(0);
    };
    let mut woken = 0;
    let mut moved = Vec::new();
    for w in list.drain(..) {
        if woken < n_wake {
            w.woken.store(true, core::sync::atomic::Ordering::Release);
            w.waker.wake_up();
            woken += 1;
        } else if moved.len() < n_requeue {
            moved.push(w);
        } else {
            table.entry(key(&vmar, from)).or_default().push(w);
        }
    }
    let n_moved = moved.len();
    if !moved.is_empty() {
        table.entry(key(&vmar, to)).or_default().extend(moved);
    }
    ret(woken + n_moved)
}

pub fn sys_futex(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (addr, op, val, utime, addr2, val3) =
        (a[0], a[1] as u32, a[2] as u32, a[3], a[4], a[5] as u32);
    let cmd = op & g::FUTEX_CMD_MASK as u32;
    let realtime = op & g::FUTEX_CLOCK_REALTIME != 0;
    let shared = op & g::FUTEX_PRIVATE_FLAG == 0;
    // The requeue ops pass their second count in the timeout argument.
    let val2 = utime as u32 as i32;
    match cmd {
        g::FUTEX_WAIT => {
            let t = read_timeout(ctx, utime, None)?;
            wait(ctx, addr, val, t, u32::MAX)
        }
        g::FUTEX_WAIT_BITSET => {
            let clock = if realtime {
                g::CLOCK_REALTIME
            } else {
                g::CLOCK_MONOTONIC
            };
            let t = read_timeout(ctx, utime, Some(clock))?;
            wait(ctx, addr, val, t, val3)
        }
        g::FUTEX_WAKE => {
            check_addr(ctx, addr, shared)?;
            ret(wake(&ctx.vmar(), addr, wake_count(val)))
        }
        g::FUTEX_WAKE_BITSET => {
            if val3 == 0 {
                return_errno!(EINVAL);
            }
            check_addr(ctx, addr, shared)?;
            ret(wake_bitset(&ctx.vmar(), addr, wake_count(val), val3))
        }
        g::FUTEX_REQUEUE => requeue(ctx, addr, addr2, (val as i32, val2), None, shared),
        g::FUTEX_CMP_REQUEUE => requeue(ctx, addr, addr2, (val as i32, val2), Some(val3), shared),
        _ => return_errno!(ENOSYS),
    }
}
