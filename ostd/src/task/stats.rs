//! CPU statistics for `/proc/stat`, `/proc/uptime` and `/proc/loadavg`:
//! where the CPU's time went (user, system, idle), context switches, and
//! Linux's load averages.
//!
//! Idle time is measured exactly (the scheduler idles in one place); the
//! busy rest is split between user and system mode in the proportion the
//! timer ticks found the CPU in each, as Linux's tick-based accounting
//! does.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;

use crate::timer::TICK_HZ;

/// Nanoseconds spent idle (halted with nothing to run).
static IDLE_NS: AtomicU64 = AtomicU64::new(0);
/// When the current idle period began, or 0 when not idle.
static IDLE_SINCE: AtomicU64 = AtomicU64::new(0);
/// Set while an interrupt that arrived in user mode is handled.
static IRQ_FROM_USER: AtomicBool = AtomicBool::new(false);
/// Busy timer ticks that found the CPU in user mode and in the kernel.
static USER_TICKS: AtomicU64 = AtomicU64::new(0);
static SYSTEM_TICKS: AtomicU64 = AtomicU64::new(0);
/// Context switches since boot (`ctxt` in `/proc/stat`).
static SWITCHES: AtomicU64 = AtomicU64::new(0);
/// Ticks until the next load sample.
static LOAD_COUNTDOWN: AtomicU64 = AtomicU64::new(LOAD_FREQ);
/// The 1, 5 and 15 minute load averages, in Linux's fixed point
/// (`FSHIFT` fraction bits).
static LOAD: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

/// Fraction bits of the load averages (Linux's `FSHIFT`).
pub const FSHIFT: u32 = 11;
const FIXED_1: u64 = 1 << FSHIFT;
/// `exp(-5 s / 1 min)`, `/ 5 min`, `/ 15 min` in fixed point (Linux's
/// `EXP_1`, `EXP_5`, `EXP_15`).
const EXP: [u64; 3] = [1884, 2014, 2037];
/// Load is sampled every 5 seconds (Linux's `LOAD_FREQ`).
const LOAD_FREQ: u64 = 5 * TICK_HZ;

/// Where the CPU's time since boot went.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTimes {
    /// Running user code.
    pub user: Duration,
    /// Running the kernel on behalf of tasks.
    pub system: Duration,
    /// Halted with nothing to run.
    pub idle: Duration,
}

/// The CPU's time since boot, split into user, system and idle.
pub fn cpu_times() -> CpuTimes {
    let now = crate::arch::x86::tsc::nanos_since_boot();
    let mut idle = IDLE_NS.load(Ordering::Relaxed);
    let since = IDLE_SINCE.load(Ordering::Relaxed);
    if since != 0 {
        idle += now.saturating_sub(since);
    }
    let busy = Duration::from_nanos(now.saturating_sub(idle));
    let user_ticks = USER_TICKS.load(Ordering::Relaxed);
    let system_ticks = SYSTEM_TICKS.load(Ordering::Relaxed);
    let user = scale(busy, user_ticks, user_ticks + system_ticks);
    CpuTimes {
        user,
        system: busy.saturating_sub(user),
        idle: Duration::from_nanos(idle),
    }
}

/// Context switches since boot.
pub fn context_switches() -> u64 {
    SWITCHES.load(Ordering::Relaxed)
}

/// The 1, 5 and 15 minute load averages in fixed point with [`FSHIFT`]
/// fraction bits.
pub fn load_averages() -> [u64; 3] {
    [
        LOAD[0].load(Ordering::Relaxed),
        LOAD[1].load(Ordering::Relaxed),
        LOAD[2].load(Ordering::Relaxed),
    ]
}

/// `total * part / whole` (0 when `whole` is 0).
pub(crate) fn scale(total: Duration, part: u64, whole: u64) -> Duration {
    if whole == 0 {
        return Duration::ZERO;
    }
    let ns = total.as_nanos() * part as u128 / whole as u128;
    Duration::from_nanos(ns.min(u64::MAX as u128) as u64)
}

/// An idle period: measured from `start` until dropped.
pub(super) struct IdlePeriod(u64);

impl IdlePeriod {
    pub(super) fn start() -> Self {
        let now = crate::arch::x86::tsc::nanos_since_boot().max(1);
        IDLE_SINCE.store(now, Ordering::Relaxed);
        Self(now)
    }
}

impl Drop for IdlePeriod {
    fn drop(&mut self) {
        let now = crate::arch::x86::tsc::nanos_since_boot();
        IDLE_NS.fetch_add(now.saturating_sub(self.0), Ordering::Relaxed);
        IDLE_SINCE.store(0, Ordering::Relaxed);
    }
}

/// Marks the handling of an interrupt that arrived in user mode.
pub(crate) struct UserModeIrq(());

impl UserModeIrq {
    pub(crate) fn enter() -> Self {
        IRQ_FROM_USER.store(true, Ordering::Relaxed);
        Self(())
    }
}

impl Drop for UserModeIrq {
    fn drop(&mut self) {
        IRQ_FROM_USER.store(false, Ordering::Relaxed);
    }
}

pub(super) fn idling() -> bool {
    IDLE_SINCE.load(Ordering::Relaxed) != 0
}

pub(super) fn in_user_mode() -> bool {
    IRQ_FROM_USER.load(Ordering::Relaxed)
}

pub(super) fn count_switch() {
    SWITCHES.fetch_add(1, Ordering::Relaxed);
}

/// Counts a timer tick for the user/system split.
pub(super) fn tick(idle: bool, user: bool) {
    if idle {
        return;
    }
    let counter = if user { &USER_TICKS } else { &SYSTEM_TICKS };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Every `LOAD_FREQ` ticks, folds the number of runnable tasks into the
/// load averages (Linux's `calc_load`).
pub(super) fn sample_load(running: usize) {
    let left = LOAD_COUNTDOWN.load(Ordering::Relaxed);
    if left > 1 {
        LOAD_COUNTDOWN.store(left - 1, Ordering::Relaxed);
        return;
    }
    LOAD_COUNTDOWN.store(LOAD_FREQ, Ordering::Relaxed);
    let active = running as u64 * FIXED_1;
    for (avg, exp) in LOAD.iter().zip(EXP) {
        let load = avg.load(Ordering::Relaxed);
        let mut new = load * exp + active * (FIXED_1 - exp);
        if active >= load {
            new += FIXED_1 - 1;
        }
        avg.store(new / FIXED_1, Ordering::Relaxed);
    }
}
