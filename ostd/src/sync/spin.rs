//! The spin lock and interrupt guards.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// Disables interrupts until the guard is dropped (then restores the
/// previous state). Nested guards are fine. The state is this CPU's, so the
/// guard is neither `Send` nor `Sync`.
#[must_use]
pub struct IrqGuard {
    was_enabled: bool,
    _not_send: PhantomData<*const ()>,
}

/// Disables interrupts (and so preemption) on this CPU.
pub fn disable_irqs() -> IrqGuard {
    let was_enabled = x86_64::instructions::interrupts::are_enabled();
    x86_64::instructions::interrupts::disable();
    IrqGuard {
        was_enabled,
        _not_send: PhantomData,
    }
}

impl Drop for IrqGuard {
    fn drop(&mut self) {
        if self.was_enabled {
            x86_64::instructions::interrupts::enable();
        }
    }
}

/// A lock that disables interrupts while held. Never sleep while holding it.
pub struct SpinLock<T: ?Sized> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock gives exclusive access to the value, so sharing the lock
// only needs the value to be sendable between threads.
unsafe impl<T: ?Sized + Send> Sync for SpinLock<T> {}
// SAFETY: moving the lock moves the value.
unsafe impl<T: ?Sized + Send> Send for SpinLock<T> {}

/// Access to the value of a locked [`SpinLock`].
///
/// Not `Send`: it must be dropped on the CPU (and in the task) that took
/// the lock, which also restores that CPU's interrupt state. `Sync` only
/// when `T` is: sharing the guard shares `&T`.
pub struct SpinLockGuard<'a, T: ?Sized> {
    lock: &'a SpinLock<T>,
    _irq: IrqGuard,
}

// SAFETY: a shared guard only gives out `&T`, which is safe to share
// between threads exactly when `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for SpinLockGuard<'_, T> {}

impl<T> SpinLock<T> {
    /// A new unlocked lock.
    pub const fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> SpinLock<T> {
    /// Locks, disabling interrupts.
    #[track_caller]
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let irq = disable_irqs();
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // One CPU with interrupts off: the holder can never release it.
            panic!("SpinLock: deadlock (lock taken twice)");
        }
        SpinLockGuard {
            lock: self,
            _irq: irq,
        }
    }

    /// Locks if free.
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        let irq = disable_irqs();
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| SpinLockGuard {
                lock: self,
                _irq: irq,
            })
    }

    /// Exclusive access without locking, through a unique reference.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for SpinLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized + core::fmt::Debug> core::fmt::Debug for SpinLock<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SpinLock { .. }")
    }
}

impl<T: ?Sized> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held, so access is exclusive.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and the guard is borrowed mutably.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
        // `_irq` is dropped after this, re-enabling interrupts.
    }
}
