//! POSIX per-process timers: `timer_create(2)`, `timer_settime(2)`,
//! `timer_gettime(2)`, `timer_getoverrun(2)` and `timer_delete(2)`.
//!
//! A timer measures a clock (real, monotonic, or the CPU time of a process
//! or thread) and, when it expires, does nothing (`SIGEV_NONE`) or queues a
//! signal with `si_code` `SI_TIMER` for the process or one of its threads.
//! Expirations are counted from the clock, not from callbacks: a timeout
//! only makes the timer look at its clock, so a late callback loses
//! nothing. After an expiration has queued its signal, the timer rests
//! until a thread takes the signal: the expirations in between are counted
//! then, as the signal's overruns, and the timer is armed again (Linux's
//! `posixtimer_rearm`). A signal that was dropped because it is ignored
//! leaves the timer resting until the signal's disposition changes (as
//! Linux does since 6.13). So a timer costs nothing while nobody takes its
//! signals, whatever its period.
//!
//! Timers belong to their process: deleted at `execve` and at exit, never
//! inherited by `fork`. Timeout callbacks hold only a weak reference to the
//! process, and a generation number that every change of the timer bumps,
//! so a callback already on its way finds a re-armed or deleted timer and
//! does nothing.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use ostd::sync::SpinLock;
use ostd::timer::TimeoutHandle;

use super::signal::{SigInfo, Signal, si};
use super::{Process, Thread};
use crate::prelude::*;

/// Most timers a process may have, whatever its limits. Linux charges
/// each timer to its user's `RLIMIT_SIGPENDING` (its signal is allocated
/// in advance) and is otherwise bounded by memory; here a process's timers
/// count against its own `RLIMIT_SIGPENDING`, and never more than this.
/// `timer_create` beyond fails with `EAGAIN`, as on Linux.
pub const MAX_TIMERS: usize = 16384;

/// A CPU-time clock advances only while its process runs, so a timer on
/// one looks at it when it could have reached the expiration at the
/// earliest, and, while it keeps finding it has not, less and less often:
/// at least this long after the last look, doubling up to
/// [`CPU_WAIT_MAX`].
const CPU_WAIT_MIN: Duration = Duration::from_millis(1);
const CPU_WAIT_MAX: Duration = Duration::from_secs(1);

/// The clock a timer measures.
#[derive(Clone)]
pub enum TimerClock {
    /// `CLOCK_REALTIME` (and `CLOCK_TAI`).
    Realtime,
    /// `CLOCK_MONOTONIC`, `CLOCK_BOOTTIME`.
    Monotonic,
    /// The CPU time of a process (`CLOCK_PROCESS_CPUTIME_ID`).
    ProcessCpu(Weak<Process>),
    /// The CPU time of a thread (`CLOCK_THREAD_CPUTIME_ID`).
    ThreadCpu(Weak<Thread>),
}

impl TimerClock {
    fn is_cpu_time(&self) -> bool {
        matches!(self, Self::ProcessCpu(_) | Self::ThreadCpu(_))
    }

    /// The clock's time; `None` once the process or thread it measures is
    /// gone (its timers never expire again, as on Linux).
    pub fn now(&self) -> Option<Duration> {
        match self {
            Self::Realtime => Some(ostd::timer::wall_clock()),
            Self::Monotonic => Some(ostd::timer::monotonic()),
            Self::ProcessCpu(p) => p.upgrade().filter(|p| !p.is_zombie()).map(|p| p.cpu_time()),
            Self::ThreadCpu(t) => t
                .upgrade()
                .filter(|t| t.task().is_some())
                .map(|t| t.cpu_time()),
        }
    }
}

/// What an expiration does (`struct sigevent`).
#[derive(Clone)]
pub enum TimerNotify {
    /// `SIGEV_NONE`: nothing; the timer is only read with `timer_gettime`.
    None,
    /// `SIGEV_SIGNAL`: a signal to the process.
    Process(Signal),
    /// `SIGEV_THREAD_ID`: a signal to one thread of the process.
    Thread(Weak<Thread>, Signal),
}

/// A timer's setting: the time of the first expiration (relative, or on
/// the clock with `absolute`) and the period (zero: one-shot).
#[derive(Clone, Copy, Debug, Default)]
pub struct TimerSetting {
    /// `it_value`; zero disarms.
    pub value: Duration,
    /// `it_interval`.
    pub interval: Duration,
}

/// The timers of one process, by id.
#[derive(Default)]
pub struct PosixTimers {
    inner: SpinLock<Timers>,
}

#[derive(Default)]
struct Timers {
    map: BTreeMap<i32, Timer>,
    /// Where the search for a free id starts (ids are handed out in
    /// increasing order and wrap, as on Linux).
    next_id: i32,
}

struct Timer {
    clock: TimerClock,
    notify: TimerNotify,
    /// `sigev_value`.
    value: u64,
    interval: Duration,
    /// The next expiration not yet counted, on the timer's clock.
    next: Option<Duration>,
    /// Expirations since the signal was queued, beyond the first.
    overrun: u64,
    /// The overrun count of the last signal taken (`timer_getoverrun`).
    overrun_last: i32,
    /// Resting after an expiration queued (or, ignored, dropped) the
    /// signal; see the module's documentation.
    parked: bool,
    /// For a CPU-time clock: the least time until the next look.
    cpu_wait: Duration,
    timeout: Option<TimeoutHandle>,
    generation: u64,
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

impl PosixTimers {
    /// `timer_create`: a disarmed timer; returns its id. `EAGAIN` if
    /// there are `limit` timers already (or [`MAX_TIMERS`]).
    pub fn create(
        &self,
        clock: TimerClock,
        notify: TimerNotify,
        value: Option<u64>,
        limit: u64,
    ) -> Result<i32> {
        let mut t = self.inner.lock();
        if t.map.len() as u64 >= limit.min(MAX_TIMERS as u64) {
            return_errno_with_message!(EAGAIN, "too many POSIX timers");
        }
        let mut id = t.next_id;
        while t.map.contains_key(&id) {
            id = id.checked_add(1).unwrap_or(0);
        }
        t.next_id = id.checked_add(1).unwrap_or(0);
        t.map.insert(
            id,
            Timer {
                clock,
                notify,
                // Without a `sigevent`, the signal carries the timer's id.
                value: value.unwrap_or(id as u64),
                interval: Duration::ZERO,
                next: None,
                overrun: 0,
                overrun_last: 0,
                parked: false,
                cpu_wait: CPU_WAIT_MIN,
                timeout: None,
                generation: 0,
            },
        );
        Ok(id)
    }

    /// `timer_delete`.
    pub fn delete(&self, id: i32) -> Result<()> {
        let timer = self.inner.lock().map.remove(&id);
        let timer = timer.ok_or(Error::new(EINVAL))?;
        timer.disarm();
        Ok(())
    }

    /// Deletes every timer (at `execve` and at exit). Takes no memory and
    /// never sleeps.
    pub fn clear(&self) {
        let all = core::mem::take(&mut self.inner.lock().map);
        for t in all.values() {
            t.disarm();
        }
    }

    /// `timer_settime`: arms (or, with a zero value, disarms) timer `id` of
    /// `process`; returns the previous setting.
    pub fn set(
        &self,
        process: &Arc<Process>,
        id: i32,
        new: TimerSetting,
        absolute: bool,
    ) -> Result<TimerSetting> {
        let mut t = self.inner.lock();
        let timer = t.map.get_mut(&id).ok_or(Error::new(EINVAL))?;
        let old = timer.setting(id, process);
        timer.disarm();
        timer.overrun = 0;
        timer.overrun_last = 0;
        timer.parked = false;
        timer.cpu_wait = CPU_WAIT_MIN;
        timer.interval = new.interval;
        timer.next = None;
        if !new.value.is_zero()
            && let Some(now) = timer.clock.now()
        {
            timer.next = Some(if absolute {
                new.value
            } else {
                now.saturating_add(new.value)
            });
            timer.check(id, process, now);
        }
        Ok(old)
    }

    /// `timer_gettime`: the time to the next expiration and the period.
    pub fn get(&self, process: &Arc<Process>, id: i32) -> Result<TimerSetting> {
        let mut t = self.inner.lock();
        let timer = t.map.get_mut(&id).ok_or(Error::new(EINVAL))?;
        Ok(timer.setting(id, process))
    }

    /// `timer_getoverrun`.
    pub fn overrun(&self, id: i32) -> Result<i32> {
        let t = self.inner.lock();
        Ok(t.map.get(&id).ok_or(Error::new(EINVAL))?.overrun_last)
    }

    /// A thread of `process` takes the signal `info`: if a timer sent it,
    /// the timer's overrun count goes into it (`si_overrun`) and the timer
    /// is armed for its next expiration if it was resting.
    pub fn signal_taken(&self, process: &Arc<Process>, mut info: SigInfo) -> SigInfo {
        if info.code != si::SI_TIMER {
            return info;
        }
        let id = info.pid as i32;
        let mut t = self.inner.lock();
        let Some(timer) = t.map.get_mut(&id) else {
            return info;
        };
        let now = timer.clock.now();
        if let Some(now) = now {
            // Expirations while the signal was pending are overruns.
            let k = timer.count_expirations(now);
            timer.overrun = timer.overrun.saturating_add(k);
        }
        timer.overrun_last = timer.overrun.min(i32::MAX as u64) as i32;
        timer.overrun = 0;
        info.uid = timer.overrun_last as u32;
        if timer.parked
            && let (Some(now), Some(next)) = (now, timer.next)
        {
            timer.parked = false;
            timer.wait_for(id, process, next.saturating_sub(now));
        }
        info
    }

    /// The disposition of `signal` changed: resting timers whose signal
    /// was dropped (ignored) look at their clock again.
    pub fn signal_disposition_changed(&self, process: &Arc<Process>, signal: Signal) {
        let mut t = self.inner.lock();
        for (&id, timer) in t.map.iter_mut() {
            if !timer.parked {
                continue;
            }
            let Some((s, targets)) = timer.signal_and_targets(process) else {
                continue;
            };
            if s != signal || timer.signal_pending(id, s, &targets) {
                continue;
            }
            timer.parked = false;
            if let Some(now) = timer.clock.now() {
                timer.check(id, process, now);
            }
        }
    }
}

impl Timer {
    /// The current setting; counts the expirations that are due first.
    fn setting(&mut self, id: i32, process: &Arc<Process>) -> TimerSetting {
        let Some(now) = self.clock.now() else {
            return TimerSetting::default();
        };
        if self.next.is_some_and(|n| n <= now) {
            self.check(id, process, now);
        }
        TimerSetting {
            value: self.next.map_or(Duration::ZERO, |n| n.saturating_sub(now)),
            interval: self.interval,
        }
    }

    /// Counts the expirations due at `now` and moves `next` past `now`;
    /// returns how many there were.
    fn count_expirations(&mut self, now: Duration) -> u64 {
        let Some(next) = self.next else { return 0 };
        if now < next {
            return 0;
        }
        if self.interval.is_zero() {
            self.next = None;
            return 1;
        }
        let period = self.interval.as_nanos();
        let k = (now - next).as_nanos() / period + 1;
        let advance = Duration::from_nanos(period.saturating_mul(k).try_into().unwrap_or(u64::MAX));
        self.next = next.checked_add(advance);
        k.try_into().unwrap_or(u64::MAX)
    }

    /// Acts on the expirations due at `now`: the first queues the signal
    /// (unless it is still pending), the rest are overruns, and the timer
    /// rests; with none due, the timer looks again at its next expiration.
    fn check(&mut self, id: i32, process: &Arc<Process>, now: Duration) {
        let k = self.count_expirations(now);
        if k == 0 {
            if let Some(next) = self.next {
                self.wait_for(id, process, next - now);
            }
            return;
        }
        self.cpu_wait = CPU_WAIT_MIN;
        let Some((signal, targets)) = self.signal_and_targets(process) else {
            return;
        };
        if self.signal_pending(id, signal, &targets) {
            self.overrun = self.overrun.saturating_add(k);
        } else {
            self.overrun = self.overrun.saturating_add(k - 1);
            self.queue_signal(id, signal, process);
        }
        self.parked = self.next.is_some();
    }

    /// Arms the timer to look at its clock once `remaining` has passed on
    /// it.
    fn wait_for(&mut self, id: i32, process: &Arc<Process>, remaining: Duration) {
        let wait = if self.clock.is_cpu_time() {
            let wait = remaining.max(self.cpu_wait);
            self.cpu_wait = (self.cpu_wait * 2).min(CPU_WAIT_MAX);
            wait
        } else {
            remaining
        };
        self.arm(id, process, wait);
    }

    /// The signal to send and the threads that may hold it pending.
    fn signal_and_targets(
        &self,
        process: &Arc<Process>,
    ) -> Option<(Signal, alloc::vec::Vec<Arc<Thread>>)> {
        match &self.notify {
            TimerNotify::None => None,
            TimerNotify::Process(s) => Some((*s, process.threads())),
            TimerNotify::Thread(t, s) => Some((*s, t.upgrade().into_iter().collect())),
        }
    }

    /// Whether this timer's last signal is still pending.
    fn signal_pending(&self, id: i32, signal: Signal, targets: &[Arc<Thread>]) -> bool {
        targets.iter().any(|t| {
            t.pending_info(signal)
                .is_some_and(|i| i.code == si::SI_TIMER && i.pid == id as u32)
        })
    }

    fn queue_signal(&self, id: i32, signal: Signal, process: &Arc<Process>) {
        let info = SigInfo {
            code: si::SI_TIMER,
            pid: id as u32,
            uid: 0,
            status: 0,
            addr: 0,
            value: self.value,
        };
        match &self.notify {
            TimerNotify::None => {}
            TimerNotify::Process(_) => {
                if !process.is_zombie() {
                    super::exit::send_to_process_info(process, signal, info);
                }
            }
            // A thread that has exited gets nothing, as on Linux.
            TimerNotify::Thread(t, _) => {
                if let Some(t) = t.upgrade() {
                    t.send_signal_info(signal, info);
                }
            }
        }
    }

    /// Makes the timer look at its clock in `after` of real time.
    fn arm(&mut self, id: i32, process: &Arc<Process>, after: Duration) {
        if matches!(self.notify, TimerNotify::None) {
            // Nobody to tell: the setting is computed from the clock.
            return;
        }
        self.disarm();
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        self.generation = generation;
        let p = Arc::downgrade(process);
        self.timeout = Some(ostd::timer::add_timeout(after, move || {
            fire(p, id, generation)
        }));
    }

    fn disarm(&self) {
        if let Some(h) = &self.timeout {
            h.cancel();
        }
    }
}

/// A timer's timeout (in timer-interrupt context).
fn fire(process: Weak<Process>, id: i32, generation: u64) {
    let Some(p) = process.upgrade() else { return };
    let mut t = p.posix_timers().inner.lock();
    let Some(timer) = t.map.get_mut(&id) else {
        return;
    };
    if timer.generation != generation {
        return;
    }
    timer.timeout = None;
    if let Some(now) = timer.clock.now() {
        timer.check(id, &p, now);
    }
}
