//! Time: the periodic tick, the monotonic clock and timeouts.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use crate::sync::SpinLock;

/// Timer interrupts per second: a tick is the scheduler's smallest time
/// slice and the resolution of timeouts.
pub const TICK_HZ: u64 = 1000;

static JIFFIES: AtomicU64 = AtomicU64::new(0);

type Callback = Box<dyn FnOnce() + Send>;

/// Pending callbacks by `(deadline in ns since boot, id)`: the due ones are
/// the first, and adding or cancelling one costs a logarithm of the number
/// pending, however many sleeping tasks there are.
static TIMEOUTS: SpinLock<BTreeMap<(u64, u64), Callback>> = SpinLock::new(BTreeMap::new());
static NEXT_TIMEOUT_ID: AtomicU64 = AtomicU64::new(1);

/// Wall-clock time at boot, in nanoseconds since the Unix epoch.
static BOOT_WALL_NS: AtomicU64 = AtomicU64::new(0);

pub(crate) fn init() {
    let secs = crate::arch::x86::rtc::read_unix_time();
    let since_boot = crate::arch::x86::tsc::nanos_since_boot();
    BOOT_WALL_NS.store(
        (secs * 1_000_000_000).saturating_sub(since_boot),
        Ordering::Relaxed,
    );
}

/// Wall-clock time (from the CMOS clock at boot plus the monotonic clock),
/// as a duration since the Unix epoch.
pub fn wall_clock() -> Duration {
    Duration::from_nanos(BOOT_WALL_NS.load(Ordering::Relaxed)) + monotonic()
}

/// Time since boot, from the TSC.
pub fn monotonic() -> Duration {
    Duration::from_nanos(crate::arch::x86::tsc::nanos_since_boot())
}

/// Timer ticks since boot.
pub fn jiffies() -> u64 {
    JIFFIES.load(Ordering::Relaxed)
}

/// A scheduled callback; dropping the handle does not cancel it.
pub struct TimeoutHandle {
    key: (u64, u64),
}

impl TimeoutHandle {
    /// Cancels the callback if it has not run yet. Returns whether it was
    /// still pending.
    pub fn cancel(&self) -> bool {
        let removed = TIMEOUTS.lock().remove(&self.key);
        // Dropped outside the lock: the closure may own anything.
        removed.is_some()
    }
}

/// Runs `callback` in interrupt context once `after` has elapsed (with the
/// resolution of a tick). The callback must be short and must not sleep.
pub fn add_timeout(after: Duration, callback: impl FnOnce() + Send + 'static) -> TimeoutHandle {
    let id = NEXT_TIMEOUT_ID.fetch_add(1, Ordering::Relaxed);
    let deadline_ns = crate::arch::x86::tsc::nanos_since_boot()
        .saturating_add(after.as_nanos().min(u64::MAX as u128) as u64);
    let key = (deadline_ns, id);
    TIMEOUTS.lock().insert(key, Box::new(callback));
    TimeoutHandle { key }
}

/// The timer interrupt, on every CPU whose timer runs. Only the bootstrap
/// processor counts jiffies and runs the due timeouts.
pub(crate) fn on_tick() {
    // One CPU keeps time; every CPU's tick drives its own scheduling.
    if crate::cpu::this_cpu_index() == 0 {
        run_due_timeouts();
    }
    crate::task::tick();
}

fn run_due_timeouts() {
    JIFFIES.fetch_add(1, Ordering::Relaxed);
    let now = crate::arch::x86::tsc::nanos_since_boot();
    loop {
        let due = {
            let mut t = TIMEOUTS.lock();
            match t.first_key_value() {
                Some((&(deadline, _), _)) if deadline <= now => t.pop_first(),
                _ => None,
            }
        };
        let Some((_, callback)) = due else { break };
        callback();
    }
}

/// Busy-waits for `d`. For tests and early boot only.
pub fn spin_for(d: Duration) {
    let end = monotonic() + d;
    while monotonic() < end {
        core::hint::spin_loop();
    }
}

#[cfg(feature = "ktest")]
mod test {
    use super::*;
    use crate::prelude::ktest;

    #[ktest]
    fn clock_is_monotonic() {
        let mut last = monotonic();
        for _ in 0..10_000 {
            let now = monotonic();
            assert!(now >= last);
            last = now;
        }
        let a = monotonic();
        spin_for(Duration::from_millis(20));
        let b = monotonic();
        assert!(b - a >= Duration::from_millis(20));
        assert!(
            b - a < Duration::from_secs(2),
            "clock runs too fast: {:?}",
            b - a
        );
    }

    #[ktest]
    fn ticks_advance() {
        let start = jiffies();
        spin_for(Duration::from_millis(100));
        assert!(jiffies() > start, "no timer interrupt in 100 ms");
    }

    #[ktest]
    fn timeout_fires_and_cancel_works() {
        use alloc::sync::Arc;
        use core::sync::atomic::AtomicBool;
        let fired = Arc::new(AtomicBool::new(false));
        let f = fired.clone();
        add_timeout(Duration::from_millis(10), move || {
            f.store(true, Ordering::SeqCst)
        });
        let never = Arc::new(AtomicBool::new(false));
        let n = never.clone();
        let h = add_timeout(Duration::from_millis(10), move || {
            n.store(true, Ordering::SeqCst)
        });
        assert!(h.cancel());
        spin_for(Duration::from_millis(60));
        assert!(fired.load(Ordering::SeqCst));
        assert!(!never.load(Ordering::SeqCst));
    }
}
