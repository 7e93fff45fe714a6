//! Time syscalls.

use core::time::Duration;

use linux_raw_sys::general as g;

use alloc::sync::Arc;

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use crate::process::itimer::CpuTimerKind;
use crate::process::{Process, Thread};

type R = Result<SyscallReturn>;

/// The time of a clock, as seen by `thread` (for the CPU-time clocks).
pub fn clock_now(thread: &crate::process::Thread, clock: u32) -> Result<Duration> {
    if (clock as i32) < 0 {
        return Ok(match cpu_clock(thread, clock as i32, true)? {
            CpuClock::Process(p) => p.cpu_time(),
            CpuClock::Thread(t) => t.cpu_time(),
        });
    }
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

/// What a CPU-time clock id measures.
enum CpuClock {
    Process(Arc<Process>),
    Thread(Arc<Thread>),
}

/// The process or thread of a negative clock id (`clock_getcpuclockid`,
/// `pthread_getcpuclockid`), decoded as Linux's `CPUCLOCK_PID`,
/// `CPUCLOCK_PERTHREAD` and `CPUCLOCK_WHICH` (`pid_for_clock`): pid 0 is
/// the caller; a thread must be one of the caller's process; with
/// `gettime`, the caller's own tid also names its process. `EINVAL`
/// otherwise. The profiling, virtual and scheduler clocks are all the CPU
/// time used (user and system time are not told apart); a `which` of 3 is
/// a dynamic clock (a file descriptor), not supported.
fn cpu_clock(thread: &Thread, clock: i32, gettime: bool) -> Result<CpuClock> {
    let (pid, per_thread, which) = (!(clock >> 3), clock & 4 != 0, clock & 3);
    if which == 3 {
        return_errno!(EINVAL);
    }
    let process = thread.process();
    if per_thread {
        let tid = if pid == 0 { thread.tid() as i32 } else { pid };
        let t = process
            .threads()
            .into_iter()
            .find(|t| t.tid() as i32 == tid)
            .ok_or(Error::new(EINVAL))?;
        return Ok(CpuClock::Thread(t));
    }
    if pid == 0 || (gettime && pid == thread.tid() as i32) {
        return Ok(CpuClock::Process(process.clone()));
    }
    let p = crate::process::find_process(pid as u32).ok_or(Error::new(EINVAL))?;
    Ok(CpuClock::Process(p))
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

/// `clock_nanosleep(clock, flags, request, remain)`: `EINVAL` for an
/// invalid clock (and a thread's CPU clock named by id, which cannot pass
/// while its thread sleeps), `EOPNOTSUPP` for a valid one that cannot be
/// slept on (the raw and coarse clocks, `CLOCK_THREAD_CPUTIME_ID`, and the
/// alarm clocks without a wake-up device), as Linux's `clock_nanosleep`
/// tells them apart; then the request is read.
pub fn sys_clock_nanosleep(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let clock = a[0] as u32;
    match clock {
        g::CLOCK_MONOTONIC_RAW
        | g::CLOCK_REALTIME_COARSE
        | g::CLOCK_MONOTONIC_COARSE
        | g::CLOCK_REALTIME_ALARM
        | g::CLOCK_BOOTTIME_ALARM
        | g::CLOCK_THREAD_CPUTIME_ID => return_errno!(EOPNOTSUPP),
        _ => {}
    }
    let cpu_process = if (clock as i32) < 0 {
        match cpu_clock(ctx.thread, clock as i32, false)? {
            CpuClock::Thread(_) => return_errno!(EINVAL),
            CpuClock::Process(p) => Some(p),
        }
    } else if clock == g::CLOCK_PROCESS_CPUTIME_ID {
        Some(ctx.process.clone())
    } else {
        None
    };
    let now = clock_now(ctx.thread, clock)?;
    let t = read_timespec(ctx, a[2])?;
    let abstime = a[1] as u32 & g::TIMER_ABSTIME != 0;
    if let Some(p) = cpu_process {
        let target = if abstime { t } else { now.saturating_add(t) };
        return cpu_sleep(ctx, &p, target, (!abstime).then_some(a[3]));
    }
    let d = if abstime { t.saturating_sub(now) } else { t };
    if let Some(left) = sleep_interruptible(ctx, d) {
        if a[3] != 0 && a[1] as u32 & g::TIMER_ABSTIME == 0 {
            ctx.vmar().write_val(a[3], &timespec(left))?;
        }
        return_errno!(ERESTARTNOHAND);
    }
    ret(0)
}

/// Sleeps until `process` has used `target` of CPU time (its other
/// threads use it; Linux's `posix_cpu_nsleep`), looking at the clock when
/// the time left could at the earliest have passed. On a signal, the time
/// left is written to `remain` (a relative sleep's, if not `NULL`).
fn cpu_sleep(ctx: &SyscallContext, process: &Process, target: Duration, remain: Option<u64>) -> R {
    const POLL_MIN: Duration = Duration::from_millis(1);
    loop {
        let now = process.cpu_time();
        if now >= target {
            return ret(0);
        }
        if sleep_interruptible(ctx, (target - now).max(POLL_MIN)).is_some() {
            if let Some(addr) = remain.filter(|&a| a != 0) {
                let left = target.saturating_sub(process.cpu_time());
                ctx.vmar().write_val(addr, &timespec(left))?;
            }
            return_errno!(ERESTARTNOHAND);
        }
    }
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
const ITIMER_VIRTUAL: u64 = 1;
const ITIMER_PROF: u64 = 2;

/// Reads a `struct itimerval` (`EFAULT`), then checks both timevals
/// (`EINVAL`), as Linux's `get_itimerval`.
fn read_itimerval(ctx: &SyscallContext, addr: u64) -> Result<(Duration, Duration)> {
    let mut raw = [0u8; 32];
    ctx.vmar().read_bytes(addr, &mut raw)?;
    let field = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[at..at + 8]);
        i64::from_le_bytes(b)
    };
    let conv = |sec: i64, usec: i64| -> Result<Duration> {
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return_errno!(EINVAL);
        }
        Ok(Duration::new(sec as u64, usec as u32 * 1000))
    };
    let interval = conv(field(0), field(8))?;
    let value = conv(field(16), field(24))?;
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

/// The CPU-time timer `which` names, or `None` for `ITIMER_REAL`;
/// `EINVAL` for anything else.
fn itimer_kind(which: u64) -> Result<Option<CpuTimerKind>> {
    Ok(match which {
        ITIMER_REAL => None,
        ITIMER_VIRTUAL => Some(CpuTimerKind::Virtual),
        ITIMER_PROF => Some(CpuTimerKind::Prof),
        _ => return_errno!(EINVAL),
    })
}

/// `setitimer(which, new, old)` in Linux's order: the new value is read
/// and checked first, then `which`; the old value is written after the
/// timer is set (`EFAULT` then, with the new setting in force).
pub fn sys_setitimer(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (value, interval) = if a[1] != 0 {
        read_itimerval(ctx, a[1])?
    } else {
        (Duration::ZERO, Duration::ZERO)
    };
    let (old_v, old_i) = match itimer_kind(a[0])? {
        None => ctx.process.real_timer().set(ctx.process, value, interval),
        Some(kind) => ctx
            .process
            .cpu_timers()
            .set(ctx.process, kind, value, interval),
    };
    if a[2] != 0 {
        write_itimerval(ctx, a[2], old_v, old_i)?;
    }
    ret(0)
}

pub fn sys_getitimer(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (v, i) = match itimer_kind(a[0])? {
        None => ctx.process.real_timer().get(),
        Some(kind) => ctx.process.cpu_timers().get(ctx.process, kind),
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
    ctx.vmar().write_bytes(a[1], &rusage_bytes(d))?;
    ret(0)
}

/// A `struct rusage` with `d` as its user time and nothing else.
pub fn rusage_bytes(d: Duration) -> [u8; 144] {
    let mut buf = [0u8; 144];
    buf[0..8].copy_from_slice(&d.as_secs().to_le_bytes());
    buf[8..16].copy_from_slice(&(d.subsec_micros() as u64).to_le_bytes());
    buf
}

/// A `struct itimerspec` as read from user memory, not yet checked.
struct RawItimerspec {
    interval: g::__kernel_timespec,
    value: g::__kernel_timespec,
}

impl RawItimerspec {
    fn read(ctx: &SyscallContext, addr: u64) -> Result<Self> {
        let vmar = ctx.vmar();
        Ok(Self {
            interval: vmar.read_val(addr)?,
            value: vmar.read_val(addr + 16)?,
        })
    }

    /// `(value, interval)`; `EINVAL` if a `timespec` is invalid.
    fn check(&self) -> Result<(Duration, Duration)> {
        let conv = |ts: &g::__kernel_timespec| -> Result<Duration> {
            if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
                return_errno!(EINVAL);
            }
            Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
        };
        Ok((conv(&self.value)?, conv(&self.interval)?))
    }
}

fn write_itimerspec(ctx: &SyscallContext, addr: u64, value: Duration, interval: Duration) -> R {
    let vmar = ctx.vmar();
    vmar.write_val(addr, &timespec(interval))?;
    vmar.write_val(addr + 16, &timespec(value))?;
    ret(0)
}

// ---- timerfd (`timerfd_create(2)`) ----

use crate::fs::file::flags as oflags;
use crate::fs::timerfd::{TimerFd, TimerFdClock, TimerFdSetting};

const TFD_TIMER_ABSTIME: u32 = 1;
const TFD_TIMER_CANCEL_ON_SET: u32 = 2;

pub fn sys_timerfd_create(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (clock, flags) = (a[0] as i32, a[1] as u32);
    if flags & !(oflags::O_CLOEXEC | oflags::O_NONBLOCK) != 0 {
        return_errno!(EINVAL);
    }
    let alarm = clock == g::CLOCK_REALTIME_ALARM as i32 || clock == g::CLOCK_BOOTTIME_ALARM as i32;
    let kind = match clock as u32 {
        _ if clock < 0 => return_errno!(EINVAL),
        g::CLOCK_REALTIME | g::CLOCK_REALTIME_ALARM => TimerFdClock::Realtime,
        g::CLOCK_MONOTONIC | g::CLOCK_BOOTTIME | g::CLOCK_BOOTTIME_ALARM => TimerFdClock::Monotonic,
        _ => return_errno!(EINVAL),
    };
    // Alarm clocks need CAP_WAKE_ALARM.
    if alarm && !ctx.thread.credentials().has_cap(g::CAP_WAKE_ALARM) {
        return_errno!(EPERM);
    }
    let tfd = TimerFd::new(kind, flags);
    ret(ctx
        .process
        .files()
        .lock()
        .insert(tfd, flags & oflags::O_CLOEXEC != 0)?)
}

/// The timerfd behind `fd`: `EBADF` for no file, `EINVAL` for another kind.
fn timerfd_of(
    ctx: &SyscallContext,
    fd: i32,
) -> Result<alloc::sync::Arc<dyn crate::fs::file::FileLike>> {
    let f = super::fs::get_file(ctx, fd)?;
    if !f.as_any().is::<TimerFd>() {
        return_errno!(EINVAL);
    }
    Ok(f)
}

pub fn sys_timerfd_settime(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (fd, flags, new_addr, old_addr) = (a[0] as i32, a[1] as u32, a[2], a[3]);
    // The order of Linux's checks: the new setting is read first.
    let raw = RawItimerspec::read(ctx, new_addr)?;
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return_errno!(EINVAL);
    }
    let (value, interval) = raw.check()?;
    let f = timerfd_of(ctx, fd)?;
    let tfd = f
        .as_any()
        .downcast_ref::<TimerFd>()
        .ok_or(Error::new(EINVAL))?;
    // TFD_TIMER_CANCEL_ON_SET: the real-time clock is never set here, so
    // there is nothing to cancel on.
    let old = tfd.set(
        TimerFdSetting { value, interval },
        flags & TFD_TIMER_ABSTIME != 0,
    );
    if old_addr != 0 {
        write_itimerspec(ctx, old_addr, old.value, old.interval)?;
    }
    ret(0)
}

pub fn sys_timerfd_gettime(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let f = timerfd_of(ctx, a[0] as i32)?;
    let tfd = f
        .as_any()
        .downcast_ref::<TimerFd>()
        .ok_or(Error::new(EINVAL))?;
    let cur = tfd.get();
    write_itimerspec(ctx, a[1], cur.value, cur.interval)
}

// ---- POSIX timers (`timer_create(2)`) ----

use crate::process::posix_timer::{TimerClock, TimerNotify, TimerSetting};

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;

/// The clock of `timer_create`: the clocks Linux has timers for, with
/// `EOPNOTSUPP` for those it has none for (raw and coarse clocks, and the
/// alarm clocks, which need a wake-up device) and `EINVAL` for the rest.
/// A negative id is a CPU-time clock of a process or thread
/// (`clock_getcpuclockid`): glibc makes those for
/// `CLOCK_PROCESS_CPUTIME_ID` and `CLOCK_THREAD_CPUTIME_ID`.
fn timer_clock(ctx: &SyscallContext, clock: i32) -> Result<TimerClock> {
    if clock < 0 {
        return Ok(match cpu_clock(ctx.thread, clock, false)? {
            CpuClock::Process(p) => TimerClock::ProcessCpu(Arc::downgrade(&p)),
            CpuClock::Thread(t) => TimerClock::ThreadCpu(Arc::downgrade(&t)),
        });
    }
    Ok(match clock as u32 {
        g::CLOCK_REALTIME | g::CLOCK_TAI => TimerClock::Realtime,
        g::CLOCK_MONOTONIC | g::CLOCK_BOOTTIME => TimerClock::Monotonic,
        g::CLOCK_PROCESS_CPUTIME_ID => TimerClock::ProcessCpu(Arc::downgrade(ctx.process)),
        g::CLOCK_THREAD_CPUTIME_ID => TimerClock::ThreadCpu(Arc::downgrade(ctx.thread)),
        g::CLOCK_MONOTONIC_RAW
        | g::CLOCK_REALTIME_COARSE
        | g::CLOCK_MONOTONIC_COARSE
        | g::CLOCK_REALTIME_ALARM
        | g::CLOCK_BOOTTIME_ALARM => return_errno!(EOPNOTSUPP),
        _ => return_errno!(EINVAL),
    })
}

/// What a `struct sigevent` asks for (Linux's `good_sigevent`), and its
/// `sigev_value`.
fn timer_notify(ctx: &SyscallContext, raw: &[u8; 64]) -> Result<(TimerNotify, u64)> {
    let int_at =
        |off: usize| i32::from_le_bytes([raw[off], raw[off + 1], raw[off + 2], raw[off + 3]]);
    let mut value = [0u8; 8];
    value.copy_from_slice(&raw[..8]);
    let value = u64::from_le_bytes(value);
    let (signo, notify, tid) = (int_at(8), int_at(12), int_at(16));
    let valid_signal = || {
        if !crate::process::signal::is_valid(signo as i64 as u64) {
            return_errno!(EINVAL);
        }
        Ok(signo as u8)
    };
    let n = match notify {
        SIGEV_NONE => TimerNotify::None,
        // SIGEV_THREAD is libc's business; the kernel signals the process.
        SIGEV_SIGNAL | SIGEV_THREAD => TimerNotify::Process(valid_signal()?),
        x if x == SIGEV_SIGNAL | SIGEV_THREAD_ID => {
            let thread = ctx
                .process
                .threads()
                .into_iter()
                .find(|t| t.tid() as i32 == tid)
                .ok_or(Error::new(EINVAL))?;
            TimerNotify::Thread(alloc::sync::Arc::downgrade(&thread), valid_signal()?)
        }
        _ => return_errno!(EINVAL),
    };
    Ok((n, value))
}

pub fn sys_timer_create(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (clock, sevp, id_addr) = (a[0] as i32, a[1], a[2]);
    let raw = if sevp != 0 {
        let mut raw = [0u8; 64];
        ctx.vmar().read_bytes(sevp, &mut raw)?;
        Some(raw)
    } else {
        None
    };
    let clock = timer_clock(ctx, clock)?;
    // Without a sigevent: SIGALRM to the process, with the timer's id.
    let (notify, value) = match &raw {
        Some(raw) => {
            let (n, v) = timer_notify(ctx, raw)?;
            (n, Some(v))
        }
        None => (
            TimerNotify::Process(crate::process::signal::sig::SIGALRM),
            None,
        ),
    };
    let timers = ctx.process.posix_timers();
    let limit = ctx.process.rlimit_cur(g::RLIMIT_SIGPENDING);
    let id = timers.create(clock, notify, value, limit)?;
    if let Err(e) = ctx.vmar().write_val(id_addr, &id) {
        let _ = timers.delete(id);
        return Err(e);
    }
    ret(0)
}

pub fn sys_timer_settime(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    const TIMER_ABSTIME: u32 = g::TIMER_ABSTIME;
    let (id, flags, new_addr, old_addr) = (a[0] as i32, a[1] as u32, a[2], a[3]);
    if new_addr == 0 {
        return_errno!(EINVAL);
    }
    let (value, interval) = RawItimerspec::read(ctx, new_addr)?.check()?;
    let old = ctx.process.posix_timers().set(
        ctx.process,
        id,
        TimerSetting { value, interval },
        flags & TIMER_ABSTIME != 0,
    )?;
    if old_addr != 0 {
        write_itimerspec(ctx, old_addr, old.value, old.interval)?;
    }
    ret(0)
}

pub fn sys_timer_gettime(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let cur = ctx.process.posix_timers().get(ctx.process, a[0] as i32)?;
    write_itimerspec(ctx, a[1], cur.value, cur.interval)
}

pub fn sys_timer_getoverrun(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    ret(ctx.process.posix_timers().overrun(a[0] as i32)?)
}

pub fn sys_timer_delete(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    ctx.process.posix_timers().delete(a[0] as i32)?;
    ret(0)
}
