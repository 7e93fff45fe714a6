//! Synchronisation: spin locks, sleeping mutexes, wait queues.
//!
//! A spin lock disables interrupts on its CPU and spins while another CPU
//! holds it: no interrupt handler and no preemption (which only happens
//! from interrupts) can run on the holder's CPU while it is held, and the
//! other CPUs wait their turn. Re-entrant locking on one CPU, a kernel bug,
//! is caught with a panic instead of a silent deadlock. Mutexes and wait
//! queues sleep; their wake-ups cannot be lost between CPUs (see
//! `wait_queue`).

mod mutex;
mod once;
mod spin;
mod wait_queue;

pub use mutex::{Mutex, MutexGuard};
pub use once::Once;
pub use spin::{IrqGuard, SpinLock, SpinLockGuard, disable_irqs};
pub use wait_queue::{WaitQueue, Waiter, Waker};

// Guards stay with the task (and CPU) that took them, and share the value
// only as far as the value itself may be shared.
mod guard_bounds {
    use core::cell::Cell;

    use static_assertions::{assert_impl_all, assert_not_impl_any};

    use super::{IrqGuard, MutexGuard, SpinLockGuard};

    assert_not_impl_any!(IrqGuard: Send, Sync);
    assert_not_impl_any!(SpinLockGuard<'static, u32>: Send);
    assert_not_impl_any!(MutexGuard<'static, u32>: Send);
    assert_not_impl_any!(SpinLockGuard<'static, Cell<u32>>: Sync);
    assert_not_impl_any!(MutexGuard<'static, Cell<u32>>: Sync);
    assert_impl_all!(SpinLockGuard<'static, u32>: Sync);
    assert_impl_all!(MutexGuard<'static, u32>: Sync);
}
