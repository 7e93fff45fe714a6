//! `timerfd`: a timer read through a descriptor (`timerfd_create(2)`).
//!
//! Reading gives the number of expirations since the last read (or since
//! the timer was set) as 8 bytes; the descriptor is readable while that
//! number is not zero. Expirations are counted from the clock when someone
//! looks, so the count is exact however late a timeout runs; the timeout
//! only wakes readers and pollers. As on Linux, a periodic timer wakes
//! nobody while expirations wait unread (they are readable anyway): its
//! next wake-up is scheduled by the read. So a short period cannot flood
//! the machine with callbacks nobody waits for, and edge-triggered epoll
//! sees one event per read.
//!
//! The timeout holds a weak reference to the timer and is cancelled when
//! the last descriptor goes.

use alloc::sync::{Arc, Weak};
use core::any::Any;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use core::time::Duration;

use ostd::sync::SpinLock;
use ostd::timer::TimeoutHandle;

use super::file::{FileLike, flags};
use super::inode::Metadata;
use super::poll::{IoEvents, notify, wait_ready};
use crate::prelude::*;

/// The clock a timerfd measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerFdClock {
    /// `CLOCK_REALTIME` (and `CLOCK_REALTIME_ALARM`).
    Realtime,
    /// `CLOCK_MONOTONIC`, `CLOCK_BOOTTIME` (and `CLOCK_BOOTTIME_ALARM`).
    Monotonic,
}

impl TimerFdClock {
    fn now(self) -> Duration {
        match self {
            Self::Realtime => ostd::timer::wall_clock(),
            Self::Monotonic => ostd::timer::monotonic(),
        }
    }
}

/// A timer's setting (`struct itimerspec`): the time to the first
/// expiration (zero: disarmed) and the period (zero: one-shot).
#[derive(Clone, Copy, Debug, Default)]
pub struct TimerFdSetting {
    /// `it_value`.
    pub value: Duration,
    /// `it_interval`.
    pub interval: Duration,
}

/// A timerfd.
pub struct TimerFd {
    clock: TimerFdClock,
    state: SpinLock<State>,
    flags: AtomicU32,
    this: Weak<TimerFd>,
}

struct State {
    /// The next expiration not yet counted, on the clock.
    next: Option<Duration>,
    interval: Duration,
    /// Expirations counted and not read yet.
    ticks: u64,
    /// How many times expirations became readable (for edge-triggered
    /// epoll).
    wakeups: u64,
    timeout: Option<TimeoutHandle>,
    generation: u64,
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

impl TimerFd {
    /// A disarmed timer on `clock`; `status_flags` may hold `O_NONBLOCK`.
    pub fn new(clock: TimerFdClock, status_flags: u32) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            clock,
            state: SpinLock::new(State {
                next: None,
                interval: Duration::ZERO,
                ticks: 0,
                wakeups: 0,
                timeout: None,
                generation: 0,
            }),
            flags: AtomicU32::new(flags::O_RDWR | (status_flags & flags::O_NONBLOCK)),
            this: this.clone(),
        })
    }

    /// `timerfd_settime`: arms the timer (a zero value disarms it), with
    /// `absolute` a time on the clock; forgets unread expirations. Returns
    /// the previous setting.
    pub fn set(&self, new: TimerFdSetting, absolute: bool) -> TimerFdSetting {
        let now = self.clock.now();
        let mut s = self.state.lock();
        let old = s.setting(now);
        s.ticks = 0;
        s.interval = new.interval;
        s.next = (!new.value.is_zero()).then(|| {
            if absolute {
                new.value
            } else {
                now.saturating_add(new.value)
            }
        });
        self.arm(&mut s, now);
        drop(s);
        notify();
        old
    }

    /// `timerfd_gettime`: the time to the next expiration and the period.
    pub fn get(&self) -> TimerFdSetting {
        let now = self.clock.now();
        self.state.lock().setting(now)
    }

    fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & flags::O_NONBLOCK != 0
    }

    /// Takes the unread expirations, if any.
    fn take_ticks(&self) -> Option<u64> {
        let now = self.clock.now();
        let mut s = self.state.lock();
        s.count(now);
        if s.ticks == 0 {
            return None;
        }
        let ticks = core::mem::take(&mut s.ticks);
        // Waking up again at the next expiration matters now.
        self.arm(&mut s, now);
        Some(ticks)
    }

    /// Schedules the next wake-up of pollers, if the timer is armed and
    /// nothing waits to be read.
    fn arm(&self, s: &mut State, now: Duration) {
        if let Some(h) = s.timeout.take() {
            h.cancel();
        }
        let Some(next) = s.next else { return };
        if s.ticks > 0 {
            return;
        }
        let wait = next.saturating_sub(now);
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        s.generation = generation;
        let this = self.this.clone();
        s.timeout = Some(ostd::timer::add_timeout(wait, move || {
            fire(this, generation)
        }));
    }
}

impl State {
    /// Counts the expirations due at `now`.
    fn count(&mut self, now: Duration) {
        let Some(next) = self.next else { return };
        if now < next {
            return;
        }
        let k = if self.interval.is_zero() {
            self.next = None;
            1
        } else {
            let period = self.interval.as_nanos();
            let k = (now - next).as_nanos() / period + 1;
            let advance = period.saturating_mul(k).try_into().unwrap_or(u64::MAX);
            self.next = next.checked_add(Duration::from_nanos(advance));
            k.try_into().unwrap_or(u64::MAX)
        };
        if self.ticks == 0 {
            self.wakeups = self.wakeups.wrapping_add(1);
        }
        self.ticks = self.ticks.saturating_add(k);
    }

    fn setting(&mut self, now: Duration) -> TimerFdSetting {
        self.count(now);
        TimerFdSetting {
            value: self.next.map_or(Duration::ZERO, |n| n.saturating_sub(now)),
            interval: self.interval,
        }
    }
}

/// A timerfd's timeout (in timer-interrupt context): counts what is due,
/// wakes pollers and schedules the next wake-up.
fn fire(timer: Weak<TimerFd>, generation: u64) {
    let Some(t) = timer.upgrade() else { return };
    let now = t.clock.now();
    {
        let mut s = t.state.lock();
        if s.generation != generation {
            return;
        }
        s.timeout = None;
        s.count(now);
        t.arm(&mut s, now);
    }
    notify();
}

impl FileLike for TimerFd {
    /// The expirations as a native-endian `u64`; `EINVAL` for a buffer of
    /// less than 8 bytes, `EAGAIN` when none are due and non-blocking.
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < 8 {
            return_errno!(EINVAL);
        }
        let ticks = match self.take_ticks() {
            Some(t) => t,
            None if self.nonblocking() => return_errno!(EAGAIN),
            None => match wait_ready(|| self.take_ticks(), None) {
                Some(Some(t)) => t,
                _ => return_errno!(ERESTARTSYS),
            },
        };
        buf[..8].copy_from_slice(&ticks.to_ne_bytes());
        Ok(8)
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        return_errno!(EINVAL)
    }

    fn metadata(&self) -> Metadata {
        super::epoll::anon_metadata(0x7f0)
    }

    fn poll(&self) -> IoEvents {
        let now = self.clock.now();
        let mut s = self.state.lock();
        s.count(now);
        if s.ticks > 0 {
            IoEvents::IN
        } else {
            IoEvents::empty()
        }
    }

    fn event_counts(&self) -> (u64, u64) {
        let now = self.clock.now();
        let mut s = self.state.lock();
        s.count(now);
        (s.wakeups, 0)
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, f: u32) -> Result<()> {
        super::file::set_nonblock_only(&self.flags, f);
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        if let Some(h) = self.state.lock().timeout.take() {
            h.cancel();
        }
    }
}

#[cfg(feature = "ktest")]
mod test {
    use ostd::prelude::ktest;

    use super::*;

    fn state(next: u64, interval: u64) -> State {
        State {
            next: Some(Duration::from_millis(next)),
            interval: Duration::from_millis(interval),
            ticks: 0,
            wakeups: 0,
            timeout: None,
            generation: 0,
        }
    }

    #[ktest]
    fn expirations_follow_the_clock() {
        let mut s = state(100, 10);
        s.count(Duration::from_millis(99));
        assert_eq!(s.ticks, 0);
        s.count(Duration::from_millis(135));
        assert_eq!((s.ticks, s.wakeups), (4, 1));
        assert_eq!(s.next, Some(Duration::from_millis(140)));
        s.count(Duration::from_millis(140));
        assert_eq!((s.ticks, s.wakeups), (5, 1));
        let mut once = state(100, 0);
        once.count(Duration::from_secs(5));
        assert_eq!((once.ticks, once.next), (1, None));
    }
}
