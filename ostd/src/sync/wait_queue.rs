//! Wait queues: sleep until a condition holds.
//!
//! A sleeping task is woken through its own wake-up flag (see
//! [`Task::wake_up`]), so a wake-up that races with going to sleep is never
//! lost: the sleeper finds the flag set and does not sleep. Wake-ups may be
//! spurious; [`WaitQueue::wait_until`] re-checks its condition every time.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use super::SpinLock;
use crate::task::Task;

/// A queue of sleeping tasks.
pub struct WaitQueue {
    waiters: SpinLock<VecDeque<Arc<Task>>>,
    /// Number of queued waiters, so that waking an empty queue (the common
    /// case, e.g. every `Mutex` unlock) takes no lock.
    count: core::sync::atomic::AtomicUsize,
}

/// Something that can put the current task to sleep until woken.
pub struct Waiter {
    task: Arc<Task>,
}

/// Wakes the task of a [`Waiter`].
#[derive(Clone)]
pub struct Waker {
    task: Arc<Task>,
}

impl Waiter {
    /// A waiter for the current task, and its waker.
    pub fn new_pair() -> (Waiter, Waker) {
        let task = Task::current();
        (Waiter { task: task.clone() }, Waker { task })
    }

    /// Sleeps until woken (returns at once if a wake-up is already pending).
    #[track_caller]
    pub fn wait(&self) {
        self.task.sleep_at(core::panic::Location::caller());
    }
}

impl Waker {
    /// Wakes the task; returns whether it was asleep.
    pub fn wake_up(&self) -> bool {
        self.task.wake_up()
    }
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        Self {
            waiters: SpinLock::new(VecDeque::new()),
            count: core::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Sleeps until `cond` returns `Some`, and returns its value.
    #[track_caller]
    pub fn wait_until<R>(&self, mut cond: impl FnMut() -> Option<R>) -> R {
        let site = core::panic::Location::caller();
        loop {
            if let Some(r) = cond() {
                return r;
            }
            let me = Task::current();
            self.enqueue(&me);
            if let Some(r) = cond() {
                self.dequeue(&me);
                return r;
            }
            me.sleep_at(site);
            self.dequeue(&me);
        }
    }

    /// Like [`wait_until`](Self::wait_until), but gives up after `timeout`
    /// (returns `None`). `None` as timeout waits forever.
    #[track_caller]
    pub fn wait_until_or_timeout<R>(
        &self,
        mut cond: impl FnMut() -> Option<R>,
        timeout: Option<Duration>,
    ) -> Option<R> {
        let site = core::panic::Location::caller();
        let Some(timeout) = timeout else {
            return Some(self.wait_until(cond));
        };
        if let Some(r) = cond() {
            return Some(r);
        }
        let expired = Arc::new(AtomicBool::new(false));
        let me = Task::current();
        let timer = {
            let expired = expired.clone();
            let me = me.clone();
            crate::timer::add_timeout(timeout, move || {
                expired.store(true, Ordering::Release);
                me.wake_up();
            })
        };
        let result = loop {
            if let Some(r) = cond() {
                break Some(r);
            }
            if expired.load(Ordering::Acquire) {
                break None;
            }
            self.enqueue(&me);
            if let Some(r) = cond() {
                self.dequeue(&me);
                break Some(r);
            }
            me.sleep_at(site);
            self.dequeue(&me);
        };
        timer.cancel();
        result
    }

    fn enqueue(&self, task: &Arc<Task>) {
        let mut w = self.waiters.lock();
        w.push_back(task.clone());
        self.count.store(w.len(), Ordering::Release);
        drop(w);
        // Pairs with the fence in `wakers_present`: the sleeper's store of
        // the count and its next look at the condition, and a waker's
        // change of the condition and its look at the count, cannot both
        // be reordered (a store may pass a later load on x86), so one of
        // the two sees the other.
        core::sync::atomic::fence(Ordering::SeqCst);
    }

    /// Whether anyone may be waiting (see `enqueue`).
    #[inline]
    fn wakers_present(&self) -> bool {
        core::sync::atomic::fence(Ordering::SeqCst);
        self.count.load(Ordering::Acquire) != 0
    }

    fn dequeue(&self, task: &Arc<Task>) {
        let mut w = self.waiters.lock();
        w.retain(|t| !Arc::ptr_eq(t, task));
        self.count.store(w.len(), Ordering::Release);
    }

    /// Wakes the first sleeper; returns whether there was one.
    #[inline]
    pub fn wake_one(&self) -> bool {
        self.wakers_present() && self.wake_first()
    }

    #[inline(never)]
    fn wake_first(&self) -> bool {
        let t = {
            let mut w = self.waiters.lock();
            let t = w.pop_front();
            self.count.store(w.len(), Ordering::Release);
            t
        };
        match t {
            Some(t) => {
                t.wake_up();
                true
            }
            None => false,
        }
    }

    /// Wakes every sleeper; returns how many there were.
    #[inline]
    pub fn wake_all(&self) -> usize {
        if self.wakers_present() {
            self.wake_every()
        } else {
            0
        }
    }

    #[inline(never)]
    fn wake_every(&self) -> usize {
        let all = {
            let mut w = self.waiters.lock();
            self.count.store(0, Ordering::Release);
            core::mem::take(&mut *w)
        };
        let n = all.len();
        for t in all {
            t.wake_up();
        }
        n
    }

    /// Whether no task is waiting.
    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }
}
