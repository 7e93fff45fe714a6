//! The interval timers of `setitimer(2)`: `ITIMER_REAL` (and `alarm`), a
//! per-process timer of real time that sends `SIGALRM`, and
//! `ITIMER_VIRTUAL` and `ITIMER_PROF`, which count the process's CPU time
//! and send `SIGVTALRM` and `SIGPROF`.

use alloc::sync::{Arc, Weak};
use core::time::Duration;

use ostd::sync::SpinLock;
use ostd::timer::TimeoutHandle;

use super::Process;
use super::signal::sig;

/// The state of a process's real-time interval timer.
#[derive(Default)]
pub struct RealTimer {
    inner: SpinLock<Option<Armed>>,
}

struct Armed {
    deadline: Duration,
    interval: Duration,
    handle: TimeoutHandle,
    generation: u64,
}

static GENERATION: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

impl RealTimer {
    /// The time left and the interval (zero when disarmed).
    pub fn get(&self) -> (Duration, Duration) {
        match &*self.inner.lock() {
            Some(a) => (
                a.deadline.saturating_sub(ostd::timer::monotonic()),
                a.interval,
            ),
            None => (Duration::ZERO, Duration::ZERO),
        }
    }

    /// Arms the timer (a zero `value` disarms it); returns the old setting.
    pub fn set(
        &self,
        process: &Arc<Process>,
        value: Duration,
        interval: Duration,
    ) -> (Duration, Duration) {
        let old = self.get();
        if let Some(a) = self.inner.lock().take() {
            a.handle.cancel();
        }
        if !value.is_zero() {
            self.arm(Arc::downgrade(process), value, interval);
        }
        old
    }

    fn arm(&self, process: Weak<Process>, value: Duration, interval: Duration) {
        let generation = GENERATION.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        let p = process.clone();
        let handle = ostd::timer::add_timeout(value, move || fire(p, generation));
        *self.inner.lock() = Some(Armed {
            deadline: ostd::timer::monotonic() + value,
            interval,
            handle,
            generation,
        });
    }
}

/// Runs in timer-interrupt context.
fn fire(process: Weak<Process>, generation: u64) {
    let Some(p) = process.upgrade() else { return };
    let timer = p.real_timer();
    let interval = {
        let mut t = timer.inner.lock();
        match &*t {
            Some(a) if a.generation == generation => {
                let i = a.interval;
                *t = None;
                i
            }
            _ => return,
        }
    };
    if !interval.is_zero() {
        timer.arm(process, interval, interval);
    }
    if !p.is_zombie() {
        super::exit::send_to_process(&p, sig::SIGALRM);
    }
}

/// Which CPU-time interval timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuTimerKind {
    /// `ITIMER_VIRTUAL`: user CPU time, `SIGVTALRM`.
    Virtual,
    /// `ITIMER_PROF`: user and system CPU time, `SIGPROF`.
    Prof,
}

/// A process's `ITIMER_VIRTUAL` and `ITIMER_PROF`. User and system time
/// are not told apart here, so both count all the CPU time of the
/// process's threads. A timer looks at the clock when the time left could
/// at the earliest have been used (and at least every
/// [`CPU_POLL_MIN`]), as CPU time is not an event a timeout can wait for.
#[derive(Default)]
pub struct CpuTimers {
    virtual_timer: SpinLock<Option<CpuArmed>>,
    prof_timer: SpinLock<Option<CpuArmed>>,
}

struct CpuArmed {
    /// The CPU time at which it expires.
    deadline: Duration,
    interval: Duration,
    handle: TimeoutHandle,
    generation: u64,
}

/// The shortest wait between looks at the CPU-time clock.
const CPU_POLL_MIN: Duration = Duration::from_millis(1);

impl CpuTimerKind {
    fn signal(self) -> super::signal::Signal {
        match self {
            Self::Virtual => sig::SIGVTALRM,
            Self::Prof => sig::SIGPROF,
        }
    }
}

impl CpuTimers {
    fn slot(&self, kind: CpuTimerKind) -> &SpinLock<Option<CpuArmed>> {
        match kind {
            CpuTimerKind::Virtual => &self.virtual_timer,
            CpuTimerKind::Prof => &self.prof_timer,
        }
    }

    /// The CPU time left and the interval (zero when disarmed). A timer
    /// that is due but has not fired yet reports a microsecond left, so
    /// that it does not read as disarmed.
    pub fn get(&self, process: &Process, kind: CpuTimerKind) -> (Duration, Duration) {
        let now = process.cpu_time();
        match &*self.slot(kind).lock() {
            Some(a) => (
                a.deadline.saturating_sub(now).max(Duration::from_micros(1)),
                a.interval,
            ),
            None => (Duration::ZERO, Duration::ZERO),
        }
    }

    /// Arms the timer to expire after `value` of CPU time (zero disarms
    /// it), then every `interval`; returns the old setting.
    pub fn set(
        &self,
        process: &Arc<Process>,
        kind: CpuTimerKind,
        value: Duration,
        interval: Duration,
    ) -> (Duration, Duration) {
        let old = self.get(process, kind);
        let now = process.cpu_time();
        let mut slot = self.slot(kind).lock();
        if let Some(a) = slot.take() {
            a.handle.cancel();
        }
        if !value.is_zero() {
            *slot = Some(arm_cpu(
                Arc::downgrade(process),
                kind,
                now.saturating_add(value),
                interval,
                value,
            ));
        }
        old
    }
}

/// A timeout that looks at the CPU-time clock after `wait`.
fn arm_cpu(
    process: Weak<Process>,
    kind: CpuTimerKind,
    deadline: Duration,
    interval: Duration,
    wait: Duration,
) -> CpuArmed {
    let generation = GENERATION.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    let handle = ostd::timer::add_timeout(wait.max(CPU_POLL_MIN), move || {
        fire_cpu(process, kind, generation)
    });
    CpuArmed {
        deadline,
        interval,
        handle,
        generation,
    }
}

/// A CPU-time timer looks at its clock (in timer-interrupt context).
fn fire_cpu(process: Weak<Process>, kind: CpuTimerKind, generation: u64) {
    let Some(p) = process.upgrade() else { return };
    if p.is_zombie() {
        return;
    }
    let now = p.cpu_time();
    let expired = {
        let mut t = p.cpu_timers().slot(kind).lock();
        let Some(a) = &*t else { return };
        if a.generation != generation {
            return;
        }
        let (deadline, interval) = (a.deadline, a.interval);
        let (expired, next) = if now < deadline {
            (false, Some(deadline))
        } else if !interval.is_zero() {
            (true, Some(deadline.saturating_add(interval)))
        } else {
            (true, None)
        };
        *t = next.map(|d| arm_cpu(process, kind, d, interval, d.saturating_sub(now)));
        expired
    };
    if expired {
        super::exit::send_to_process(&p, kind.signal());
    }
}
