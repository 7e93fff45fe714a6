//! Small kernel utilities.

pub mod plain;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use ostd::sync::WaitQueue;

/// A zero-filled buffer of `len` bytes for data passing through a system
/// call: `ENOMEM` instead of a kernel panic when the heap cannot grow (a
/// process filling memory reaches these paths).
pub fn zeroed_buffer(len: usize) -> crate::prelude::Result<Vec<u8>> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(len)
        .map_err(|_| crate::prelude::Error::new(crate::error::ENOMEM))?;
    buf.resize(len, 0);
    Ok(buf)
}

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
