//! `ITIMER_REAL` (and `alarm`): a per-process timer that sends `SIGALRM`.

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
