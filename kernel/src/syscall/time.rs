//! Time syscalls.

use core::time::Duration;

use linux_raw_sys::general as g;

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;

type R = Result<SyscallReturn>;

/// The time of a clock.
pub fn clock_now(clock: u32) -> Result<Duration> {
    Ok(match clock {
        g::CLOCK_REALTIME | g::CLOCK_REALTIME_COARSE | g::CLOCK_TAI => ostd::timer::wall_clock(),
        g::CLOCK_MONOTONIC
        | g::CLOCK_MONOTONIC_RAW
        | g::CLOCK_MONOTONIC_COARSE
        | g::CLOCK_BOOTTIME => ostd::timer::monotonic(),
        // CPU-time clocks: the time since boot is an upper bound; good
        // enough until per-thread accounting exists.
        g::CLOCK_PROCESS_CPUTIME_ID | g::CLOCK_THREAD_CPUTIME_ID => ostd::timer::monotonic(),
        _ => return_errno!(EINVAL),
    })
}

fn timespec(d: Duration) -> g::__kernel_timespec {
    g::__kernel_timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: d.subsec_nanos() as i64,
    }
}

/// Reads a `struct timespec` and validates it.
pub fn read_timespec(ctx: &SyscallContext, addr: u64) -> Result<Duration> {
    let ts: g::__kernel_timespec = ctx.vmar().read_val(addr)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return_errno!(EINVAL);
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

pub fn sys_clock_gettime(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let now = clock_now(a[0] as u32)?;
    ctx.vmar().write_val(a[1], &timespec(now))?;
    ret(0)
}

pub fn sys_clock_getres(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    clock_now(a[0] as u32)?;
    if a[1] != 0 {
        ctx.vmar()
            .write_val(a[1], &timespec(Duration::from_nanos(1)))?;
    }
    ret(0)
}

pub fn sys_gettimeofday(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if a[0] != 0 {
        let now = ostd::timer::wall_clock();
        let tv = g::timeval {
            tv_sec: now.as_secs() as i64,
            tv_usec: now.subsec_micros() as i64,
        };
        ctx.vmar().write_val(a[0], &tv)?;
    }
    ret(0)
}

pub fn sys_time(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let secs = ostd::timer::wall_clock().as_secs() as i64;
    if a[0] != 0 {
        ctx.vmar().write_val(a[0], &secs)?;
    }
    ret(secs)
}

/// Sleeps for `d` unless a signal arrives; returns the time left if
/// interrupted.
pub fn sleep_interruptible(ctx: &SyscallContext, d: Duration) -> Option<Duration> {
    let end = ostd::timer::monotonic() + d;
    let wq = ostd::sync::WaitQueue::new();
    let thread = ctx.thread.clone();
    let r = wq.wait_until_or_timeout(|| thread.has_pending_work().then_some(()), Some(d));
    r.map(|_| end.saturating_sub(ostd::timer::monotonic()))
}

pub fn sys_nanosleep(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let d = read_timespec(ctx, a[0])?;
    if let Some(left) = sleep_interruptible(ctx, d) {
        if a[1] != 0 {
            ctx.vmar().write_val(a[1], &timespec(left))?;
        }
        return_errno!(EINTR);
    }
    ret(0)
}

pub fn sys_clock_nanosleep(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let clock = a[0] as u32;
    let now = clock_now(clock)?;
    let t = read_timespec(ctx, a[2])?;
    let d = if a[1] as u32 & g::TIMER_ABSTIME != 0 {
        t.saturating_sub(now)
    } else {
        t
    };
    if let Some(left) = sleep_interruptible(ctx, d) {
        if a[3] != 0 && a[1] as u32 & g::TIMER_ABSTIME == 0 {
            ctx.vmar().write_val(a[3], &timespec(left))?;
        }
        return_errno!(EINTR);
    }
    ret(0)
}
