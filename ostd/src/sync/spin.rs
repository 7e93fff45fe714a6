//! The spin lock and interrupt guards.
//!
//! [`SpinLock`] is a ticket lock: CPUs that contend get it in the order
//! they asked, so none starves. Under a hypervisor it is a test-and-set
//! lock instead, as Linux's `virt_spin_lock` makes it: a host that
//! preempts virtual CPUs would otherwise stall every waiter behind the
//! one whose turn it is, while that one is not running (a fair lock's
//! "waiter preemption"). It disables interrupts on the CPU that
//! holds it, so a holder is never preempted and an interrupt handler on
//! the same CPU cannot deadlock against it by taking it too. A CPU that
//! asks for a lock it already holds would wait forever: a debug build
//! records each lock's holder and reports that at once, and any build
//! reports a lock that stays taken for seconds, the bug it is.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

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

/// Whether locks are taken test-and-set (under a hypervisor) rather than
/// in ticket order. Set once, on the bootstrap processor before any other
/// CPU runs ([`use_test_and_set`]), and never changed after.
static TEST_AND_SET: AtomicBool = AtomicBool::new(false);

/// Makes every lock test-and-set from now on. Called at boot, on the
/// bootstrap processor before it starts the others (unless the command
/// line says `nopvspin`, which keeps the fair locks, as it makes Linux
/// keep its queued ones): both kinds of taking keep `next - serving` at 0
/// (free) or 1 (held) when no two CPUs contend, so a lock held in ticket
/// order meanwhile is released correctly.
pub(crate) fn use_test_and_set() {
    TEST_AND_SET.store(true, Ordering::Relaxed);
}

/// Whether locks are test-and-set (see [`use_test_and_set`]).
pub(crate) fn test_and_set_locks() -> bool {
    TEST_AND_SET.load(Ordering::Relaxed)
}

/// Spins before a wait for a lock is reported as a deadlock: far more than
/// any critical section takes, even with the host preempting the CPU.
const DEADLOCK_SPINS: u64 = 1 << 30;

/// A lock that disables interrupts while held. Never sleep while holding it.
pub struct SpinLock<T: ?Sized> {
    /// The next ticket to hand out, and the ticket allowed in.
    next: AtomicU32,
    serving: AtomicU32,
    /// The holder's CPU number plus one, 0 when free (for the self-deadlock
    /// check of debug builds only: written by the holder after it got in,
    /// cleared before it leaves).
    #[cfg(debug_assertions)]
    holder: AtomicU32,
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
            next: AtomicU32::new(0),
            serving: AtomicU32::new(0),
            #[cfg(debug_assertions)]
            holder: AtomicU32::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> SpinLock<T> {
    /// Locks, disabling interrupts; spins while another CPU holds it.
    #[track_caller]
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let irq = disable_irqs();
        if TEST_AND_SET.load(Ordering::Relaxed) {
            if !self.take_if_free() {
                self.wait_free();
            }
            return self.enter(irq);
        }
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        if self.serving.load(Ordering::Acquire) != ticket {
            self.wait_for(ticket);
        }
        self.enter(irq)
    }

    /// The test-and-set wait: until the lock is free and this CPU takes it.
    #[cold]
    #[track_caller]
    fn wait_free(&self) {
        #[cfg(debug_assertions)]
        if self.holder.load(Ordering::Relaxed) == crate::cpu::this_cpu_index() as u32 + 1 {
            panic!("SpinLock: deadlock (lock taken twice on one CPU)");
        }
        let mut spins: u64 = 0;
        loop {
            // Read first, so that waiters do not keep the line busy with
            // failing exchanges while the holder wants it back.
            if self.next.load(Ordering::Relaxed) == self.serving.load(Ordering::Relaxed)
                && self.take_if_free()
            {
                return;
            }
            // The holder may be waiting for this CPU to flush its TLB.
            crate::smp::answer_requests();
            core::hint::spin_loop();
            spins += 1;
            if spins == DEADLOCK_SPINS {
                panic!("SpinLock: deadlock (a lock has been taken for seconds)");
            }
        }
    }

    #[cold]
    #[track_caller]
    fn wait_for(&self, ticket: u32) {
        // Interrupts are off: if this CPU is the holder, it can never
        // release the lock.
        #[cfg(debug_assertions)]
        if self.holder.load(Ordering::Relaxed) == crate::cpu::this_cpu_index() as u32 + 1 {
            panic!("SpinLock: deadlock (lock taken twice on one CPU)");
        }
        let mut spins: u64 = 0;
        while self.serving.load(Ordering::Acquire) != ticket {
            // The holder may be waiting for this CPU to flush its TLB.
            crate::smp::answer_requests();
            core::hint::spin_loop();
            spins += 1;
            if spins == DEADLOCK_SPINS {
                panic!("SpinLock: deadlock (a lock has been taken for seconds)");
            }
        }
    }

    fn enter(&self, irq: IrqGuard) -> SpinLockGuard<'_, T> {
        #[cfg(debug_assertions)]
        self.holder
            .store(crate::cpu::this_cpu_index() as u32 + 1, Ordering::Relaxed);
        SpinLockGuard {
            lock: self,
            _irq: irq,
        }
    }

    /// Takes the lock if it is free (`next == serving`): the ticket lock's
    /// `try_lock`, and every taking of the test-and-set lock, which keeps
    /// `next - serving` at 0 or 1.
    fn take_if_free(&self) -> bool {
        // Acquire: pairs with the release of the last unlock.
        let t = self.serving.load(Ordering::Acquire);
        self.next
            .compare_exchange(t, t.wrapping_add(1), Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Locks if free.
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        let irq = disable_irqs();
        self.take_if_free().then(|| self.enter(irq))
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
        #[cfg(debug_assertions)]
        self.lock.holder.store(0, Ordering::Relaxed);
        // Only the holder changes `serving`; release ordering hands what
        // it wrote to the next ticket.
        self.lock.serving.fetch_add(1, Ordering::Release);
        // `_irq` is dropped after this, re-enabling interrupts.
    }
}
