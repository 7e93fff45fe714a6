//! Synchronisation: spin locks, sleeping mutexes, wait queues.
//!
//! This port runs on one CPU, where a spin lock is simply a critical section
//! with interrupts disabled: no interrupt handler and no preemption (which
//! only happens from the timer interrupt) can run while it is held. The
//! atomic flag still catches re-entrant locking, a kernel bug, with a panic
//! instead of a silent deadlock.

mod mutex;
mod once;
mod spin;
mod wait_queue;

pub use mutex::{Mutex, MutexGuard};
pub use once::Once;
pub use spin::{IrqGuard, SpinLock, SpinLockGuard, disable_irqs};
pub use wait_queue::{WaitQueue, Waiter, Waker};
