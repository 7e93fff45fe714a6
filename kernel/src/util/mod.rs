//! Small kernel utilities.

pub mod plain;

use core::sync::atomic::{AtomicBool, Ordering};

use ostd::sync::WaitQueue;

/// A one-shot event: waiters sleep until [`complete`](Self::complete).
#[derive(Default)]
pub struct Completion {
    done: AtomicBool,
    queue: WaitQueue,
}

impl Completion {
    /// A completion that has not happened.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks it done and wakes every waiter.
    pub fn complete(&self) {
        self.done.store(true, Ordering::Release);
        self.queue.wake_all();
    }

    /// Whether it is done.
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Sleeps until done or until `interrupted()` returns true (checked on
    /// every wake-up). Returns whether it completed.
    #[track_caller]
    pub fn wait_interruptible(&self, mut interrupted: impl FnMut() -> bool) -> bool {
        self.queue.wait_until(|| {
            if self.is_done() {
                Some(true)
            } else if interrupted() {
                Some(false)
            } else {
                None
            }
        })
    }
}
