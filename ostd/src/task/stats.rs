//! CPU statistics for `/proc/stat`, `/proc/uptime` and `/proc/loadavg`:
//! where the CPU's time went (user, system, idle), context switches, and
//! Linux's load averages.
//!
//! Each CPU's idle time is measured exactly (its idle task halts in one
//! place); the busy rest is split between user and system mode in the
//! proportion the timer ticks found the CPU in each, as Linux's tick-based
//! accounting does.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use crate::timer::TICK_HZ;

/// One CPU's figures.
pub(crate) struct CpuStats {
    /// Nanoseconds spent idle (halted with nothing to run).
    idle_ns: AtomicU64,
    /// When the current idle period began, or 0 when not idle.
    idle_since: AtomicU64,
    /// Busy timer ticks that found the CPU in user mode and in the kernel.
    user_ticks: AtomicU64,
    system_ticks: AtomicU64,
    /// When the CPU came up (ns since boot): its time starts there.
    up_since: AtomicU64,
}

impl CpuStats {
    pub(crate) const fn new() -> Self {
        Self {
            idle_ns: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            user_ticks: AtomicU64::new(0),
            system_ticks: AtomicU64::new(0),
            up_since: AtomicU64::new(0),
        }
    }

    /// Notes that the CPU starts counting time now.
    pub(crate) fn start(&self) {
        let now = crate::arch::x86::tsc::nanos_since_boot();
        self.up_since.store(now, Ordering::Relaxed);
    }

    fn times(&self) -> CpuTimes {
        let now = crate::arch::x86::tsc::nanos_since_boot();
        let mut idle = self.idle_ns.load(Ordering::Relaxed);
        let since = self.idle_since.load(Ordering::Relaxed);
        if since != 0 {
            idle += now.saturating_sub(since);
        }
        let up = now.saturating_sub(self.up_since.load(Ordering::Relaxed));
        let busy = Duration::from_nanos(up.saturating_sub(idle));
        let user_ticks = self.user_ticks.load(Ordering::Relaxed);
        let system_ticks = self.system_ticks.load(Ordering::Relaxed);
        let user = scale(busy, user_ticks, user_ticks + system_ticks);
        CpuTimes {
            user,
            system: busy.saturating_sub(user),
            idle: Duration::from_nanos(idle),
        }
    }
}
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

/// The time of every CPU since it came up, split into user, system and
/// idle, and summed (`/proc/stat`'s `cpu` line).
pub fn cpu_times() -> CpuTimes {
    let mut sum = CpuTimes::default();
    for cpu in crate::cpu::online_cpus() {
        let t = cpu.stats.times();
        sum.user += t.user;
        sum.system += t.system;
        sum.idle += t.idle;
    }
    sum
}

/// The time of CPU `index` (`/proc/stat`'s `cpuN` lines); `None` if it is
/// not online.
pub fn cpu_times_of(index: usize) -> Option<CpuTimes> {
    if index >= crate::cpu::MAX_CPUS {
        return None;
    }
    let cpu = crate::cpu::cpu(index);
    cpu.is_online().then(|| cpu.stats.times())
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

/// An idle period: measured from `start` until dropped (or `end_idle`).
pub(super) struct IdlePeriod(());

impl IdlePeriod {
    /// Starts an idle period of the running CPU (interrupts are off).
    pub(super) fn start() -> Self {
        let now = crate::arch::x86::tsc::nanos_since_boot().max(1);
        crate::cpu::this_cpu()
            .stats
            .idle_since
            .store(now, Ordering::Relaxed);
        Self(())
    }
}

impl Drop for IdlePeriod {
    /// Ends it, on the same CPU (the idle task never moves), unless the
    /// scheduler did already.
    fn drop(&mut self) {
        end_idle();
    }
}

/// Ends the running CPU's idle period, if one is going on: when its idle
/// task wakes up, or is switched away from by an interrupt that came while
/// it halted (interrupts are off).
pub(super) fn end_idle() {
    let stats = &crate::cpu::this_cpu().stats;
    let since = stats.idle_since.swap(0, Ordering::Relaxed);
    if since != 0 {
        let now = crate::arch::x86::tsc::nanos_since_boot();
        stats
            .idle_ns
            .fetch_add(now.saturating_sub(since), Ordering::Relaxed);
    }
}

/// Marks the handling of an interrupt that arrived in user mode.
pub(crate) struct UserModeIrq(());

impl UserModeIrq {
    /// Interrupts are off (and stay off until the guard is dropped).
    pub(crate) fn enter() -> Self {
        crate::cpu::this_cpu()
            .irq_from_user
            .store(true, Ordering::Relaxed);
        Self(())
    }
}

impl Drop for UserModeIrq {
    fn drop(&mut self) {
        crate::cpu::this_cpu()
            .irq_from_user
            .store(false, Ordering::Relaxed);
    }
}

/// Whether the running CPU idles (called from its timer interrupt).
pub(super) fn idling() -> bool {
    crate::cpu::this_cpu()
        .stats
        .idle_since
        .load(Ordering::Relaxed)
        != 0
}

/// Whether the running CPU's interrupt came from user mode.
pub(super) fn in_user_mode() -> bool {
    crate::cpu::this_cpu().irq_from_user.load(Ordering::Relaxed)
}

pub(super) fn count_switch() {
    SWITCHES.fetch_add(1, Ordering::Relaxed);
}

/// Counts a timer tick for the user/system split.
pub(super) fn tick(idle: bool, user: bool) {
    if idle {
        return;
    }
    let stats = &crate::cpu::this_cpu().stats;
    let counter = if user {
        &stats.user_ticks
    } else {
        &stats.system_ticks
    };
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
