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
pub(crate) use spin::{test_and_set_locks, use_test_and_set};
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

#[cfg(feature = "ktest")]
mod test {
    use alloc::sync::Arc;

    use super::{Mutex, SpinLock};
    use crate::prelude::ktest;

    /// Each CPU runs a task that increments a counter under `lock_inc`
    /// `ROUNDS` times; returns the total to expect.
    fn contend(lock_inc: impl Fn() + Send + Sync + 'static) -> usize {
        const ROUNDS: usize = 20_000;
        crate::task::on_every_cpu(move |_| {
            for _ in 0..ROUNDS {
                lock_inc();
            }
        });
        crate::cpu::num_cpus() * ROUNDS
    }

    /// Increments `*g` with a read and a write apart: a second holder of
    /// the lock would lose counts.
    fn increment(g: &mut usize) {
        let v = *g;
        core::hint::spin_loop();
        *g = v + 1;
    }

    #[ktest]
    fn spin_lock_excludes_across_cpus() {
        let counter = Arc::new(SpinLock::new(0usize));
        let c = counter.clone();
        let expected = contend(move || increment(&mut c.lock()));
        assert_eq!(*counter.lock(), expected);
    }

    #[ktest]
    fn mutex_excludes_across_cpus() {
        let counter = Arc::new(Mutex::new(0usize));
        let c = counter.clone();
        let expected = contend(move || increment(&mut c.lock()));
        assert_eq!(*counter.lock(), expected);
    }
}
