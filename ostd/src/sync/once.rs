//! A value that is written once and then only read.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const READY: u8 = 2;

/// A cell that is initialised at most once, typically during boot, and can
/// be read from anywhere afterwards.
pub struct Once<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written exactly once, before `state` becomes READY
// with release ordering, and only read (shared) after an acquire load sees
// READY; so it is shared like a `&T`, which needs `T: Sync`, and may be
// initialised from another thread, which needs `T: Send`.
unsafe impl<T: Send + Sync> Sync for Once<T> {}

impl<T> Once<T> {
    /// An empty cell.
    pub const fn new() -> Self {
        Self {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Stores `value`. Panics if the cell was already set: initialisation
    /// order is a kernel invariant, so a second call is a bug.
    pub fn set(&self, value: T) {
        if self
            .state
            .compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            panic!("Once::set called twice");
        }
        // SAFETY: the compare-exchange above gave this call exclusive access:
        // no reader reads before READY and no other writer passes EMPTY.
        unsafe { (*self.value.get()).write(value) };
        self.state.store(READY, Ordering::Release);
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) == READY {
            // SAFETY: READY is stored only after the value was written, and
            // the value is never written again.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// The value; panics if the boot sequence has not set it yet.
    #[track_caller]
    pub fn expect_init(&self) -> &T {
        self.get().expect("ostd: used before initialisation")
    }
}

impl<T> Drop for Once<T> {
    fn drop(&mut self) {
        if *self.state.get_mut() == READY {
            // SAFETY: READY means the value was written; `&mut self` means
            // no reference to it is left, and it is dropped only here.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T> Default for Once<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "ktest")]
mod test {
    use alloc::sync::Arc;

    use super::Once;
    use crate::prelude::ktest;

    #[ktest]
    fn once_drops_its_value() {
        let value = Arc::new(7);
        let cell = Once::new();
        cell.set(value.clone());
        assert_eq!(Arc::strong_count(&value), 2);
        drop(cell);
        assert_eq!(Arc::strong_count(&value), 1);
        let never_set: Once<Arc<i32>> = Once::new();
        drop(never_set);
    }
}
