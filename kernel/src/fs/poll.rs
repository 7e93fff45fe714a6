//! Readiness of files, for `poll`, `select` and `epoll`.
//!
//! Every file reports its current readiness through [`FileLike::poll`].
//! Waiters sleep on one global queue that every state change of a pollable
//! object ([`notify`]) wakes; each waiter then re-checks its own files. On
//! one CPU with few pollers this is simple and cheap, and it cannot miss a
//! wake-up: the condition is re-evaluated after enqueueing.
//!
//! [`FileLike::poll`]: super::file::FileLike::poll

use core::time::Duration;

use bitflags::bitflags;
use ostd::sync::WaitQueue;

bitflags! {
    /// `POLL*` event bits.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct IoEvents: u32 {
        /// `POLLIN`.
        const IN = 0x1;
        /// `POLLPRI`.
        const PRI = 0x2;
        /// `POLLOUT`.
        const OUT = 0x4;
        /// `POLLERR`.
        const ERR = 0x8;
        /// `POLLHUP`.
        const HUP = 0x10;
        /// `POLLNVAL`.
        const NVAL = 0x20;
        /// `POLLRDNORM`.
        const RDNORM = 0x40;
        /// `POLLWRNORM`.
        const WRNORM = 0x100;
        /// `POLLRDHUP`.
        const RDHUP = 0x2000;
    }
}

static POLL_QUEUE: WaitQueue = WaitQueue::new();

/// Tells pollers that some file's readiness may have changed.
pub fn notify() {
    POLL_QUEUE.wake_all();
}

/// Sleeps until `ready()` returns `Some`, a signal is pending (`None`), or
/// the timeout expires (`None`).
pub fn wait_ready<R>(
    mut ready: impl FnMut() -> Option<R>,
    timeout: Option<Duration>,
) -> Option<Option<R>> {
    let thread = crate::process::try_current_thread();
    POLL_QUEUE.wait_until_or_timeout(
        || {
            if let Some(r) = ready() {
                return Some(Some(r));
            }
            if thread.as_ref().is_some_and(|t| t.has_pending_work()) {
                return Some(None);
            }
            None
        },
        timeout,
    )
}
