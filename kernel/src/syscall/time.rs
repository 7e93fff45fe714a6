//! Time syscalls.

use core::time::Duration;

use linux_raw_sys::general as g;

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;

type R = Result<SyscallReturn>;

/// The time of a clock, as seen by `thread` (for the CPU-time clocks).
pub fn clock_now(thread: &crate::process::Thread, clock: u32) -> Result<Duration> {
    Ok(match clock {
        g::CLOCK_REALTIME | g::CLOCK_REALTIME_COARSE | g::CLOCK_TAI => ostd::timer::wall_clock(),
        g::CLOCK_MONOTONIC
        | g::CLOCK_MONOTONIC_RAW
        | g::CLOCK_MONOTONIC_COARSE
        | g::CLOCK_BOOTTIME => ostd::timer::monotonic(),
        g::CLOCK_PROCESS_CPUTIME_ID => thread.process().cpu_time(),
        g::CLOCK_THREAD_CPUTIME_ID => thread.cpu_time(),
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
    let now = clock_now(ctx.thread, a[0] as u32)?;
    ctx.vmar().write_val(a[1], &timespec(now))?;
    ret(0)
}

pub fn sys_clock_getres(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    clock_now(ctx.thread, a[0] as u32)?;
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
        return_errno!(ERESTARTNOHAND);
    }
    ret(0)
}

pub fn sys_clock_nanosleep(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let clock = a[0] as u32;
    let now = clock_now(ctx.thread, clock)?;
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
        return_errno!(ERESTARTNOHAND);
    }
    ret(0)
}

pub fn sys_alarm(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (left, _) = ctx.process.real_timer().set(
        ctx.process,
        Duration::from_secs(a[0] as u32 as u64),
        Duration::ZERO,
    );
    // Linux rounds a partial second up (and reports at least 1).
    let secs = left.as_secs() + u64::from(left.subsec_nanos() >= 500_000_000);
    ret(if left.is_zero() { 0 } else { secs.max(1) })
}

const ITIMER_REAL: u64 = 0;

fn read_itimerval(ctx: &SyscallContext, addr: u64) -> Result<(Duration, Duration)> {
    let vmar = ctx.vmar();
    let conv = |tv: g::timeval| -> Result<Duration> {
        if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
            return_errno!(EINVAL);
        }
        Ok(Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000))
    };
    let interval = conv(vmar.read_val(addr)?)?;
    let value = conv(vmar.read_val(addr + 16)?)?;
    Ok((value, interval))
}

fn write_itimerval(
    ctx: &SyscallContext,
    addr: u64,
    value: Duration,
    interval: Duration,
) -> Result<()> {
    let tv = |d: Duration| g::timeval {
        tv_sec: d.as_secs() as i64,
        tv_usec: d.subsec_micros() as i64,
    };
    let vmar = ctx.vmar();
    vmar.write_val(addr, &tv(interval))?;
    vmar.write_val(addr + 16, &tv(value))
}

pub fn sys_setitimer(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if a[0] != ITIMER_REAL {
        return_errno_with_message!(EINVAL, "only ITIMER_REAL is supported");
    }
    let (value, interval) = if a[1] != 0 {
        read_itimerval(ctx, a[1])?
    } else {
        (Duration::ZERO, Duration::ZERO)
    };
    let (old_v, old_i) = ctx.process.real_timer().set(ctx.process, value, interval);
    if a[2] != 0 {
        write_itimerval(ctx, a[2], old_v, old_i)?;
    }
    ret(0)
}

pub fn sys_getitimer(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if a[0] > 2 {
        return_errno!(EINVAL);
    }
    let (v, i) = if a[0] == ITIMER_REAL {
        ctx.process.real_timer().get()
    } else {
        (Duration::ZERO, Duration::ZERO)
    };
    write_itimerval(ctx, a[1], v, i)?;
    ret(0)
}

/// Clock ticks per second reported by `times` (`sysconf(_SC_CLK_TCK)`).
const USER_HZ: u64 = 100;

pub fn sys_times(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let now = ostd::timer::monotonic();
    let ticks = |d: Duration| (d.as_millis() as u64) * USER_HZ / 1000;
    if a[0] != 0 {
        // User and system time are not told apart: all is user time.
        let own = ticks(ctx.process.cpu_time());
        let children = ticks(*ctx.process.children_time_lock());
        let v = [own, 0u64, children, 0u64];
        let vmar = ctx.vmar();
        for (i, x) in v.iter().enumerate() {
            vmar.write_val(a[0] + i as u64 * 8, x)?;
        }
    }
    ret(ticks(now) as i64)
}

pub fn sys_getrusage(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let who = a[0] as i32;
    if !(-1..=1).contains(&who) {
        return_errno!(EINVAL);
    }
    // RUSAGE_SELF 0, RUSAGE_THREAD 1, RUSAGE_CHILDREN -1; all time is
    // reported as user time (ru_utime).
    let d = match who {
        0 => ctx.process.cpu_time(),
        1 => ctx.thread.cpu_time(),
        _ => *ctx.process.children_time_lock(),
    };
    let mut buf = [0u8; 144];
    buf[0..8].copy_from_slice(&d.as_secs().to_le_bytes());
    buf[8..16].copy_from_slice(&(d.subsec_micros() as u64).to_le_bytes());
    ctx.vmar().write_bytes(a[1], &buf)?;
    ret(0)
}
