//! What sits in a Unix socket's receive queue.
//!
//! Each message is charged to its sender's send buffer until it is
//! consumed or dropped, as Linux charges an skb's size to the sending
//! socket: a sender blocks while its charged bytes reach `SO_SNDBUF`,
//! whoever it sends to. Descriptors in flight are counted system-wide
//! and bounded.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use ostd::sync::WaitQueue;

use super::addr::UnixAddr;
use crate::fs::file::FileLike;
use crate::net::UCred;
use crate::prelude::*;

/// What a message costs beyond its data (Linux's skb overhead), so that
/// empty or tiny messages still fill a buffer.
pub const MESSAGE_OVERHEAD: usize = 512;

/// Descriptors that may be in flight in all queues together; past this,
/// `ETOOMANYREFS` (Linux bounds them per user by `RLIMIT_NOFILE`).
const MAX_INFLIGHT_FDS: usize = 16 * 1024;

static INFLIGHT_FDS: AtomicUsize = AtomicUsize::new(0);

/// `ETOOMANYREFS` if `n` more descriptors would be too many in flight.
pub fn check_inflight(n: usize) -> Result<()> {
    if INFLIGHT_FDS.load(Ordering::Acquire) + n > MAX_INFLIGHT_FDS {
        return_errno!(ETOOMANYREFS);
    }
    Ok(())
}

fn release_inflight(n: usize) {
    INFLIGHT_FDS.fetch_sub(n, Ordering::AcqRel);
}

/// The part of a socket its messages point back to: the bytes charged to
/// it, and the queue its waiters sleep on.
pub struct Shared {
    /// Every waiter of the socket sleeps here.
    pub wait: WaitQueue,
    /// Bytes of this socket's messages still queued somewhere.
    pub wmem: AtomicUsize,
}

impl Shared {
    /// Nothing charged.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            wait: WaitQueue::new(),
            wmem: AtomicUsize::new(0),
        })
    }

    /// Wakes every waiter and every poller.
    pub fn wake(&self) {
        self.wait.wake_all();
        crate::fs::poll::notify();
    }
}

/// One message (a datagram, or one piece of a stream).
pub struct Message {
    /// The bytes.
    pub data: Vec<u8>,
    /// For streams: how much has been read already.
    pub read: usize,
    /// `SCM_RIGHTS`: files passed (counted in flight while here).
    files: Vec<Arc<dyn FileLike>>,
    /// The sender's credentials.
    pub cred: UCred,
    /// The sender's name, if it had one.
    pub from: Option<UnixAddr>,
    charge: usize,
    sender: Arc<Shared>,
}

impl Message {
    /// A message charged to `sender`; its files count as in flight.
    pub fn new(
        data: Vec<u8>,
        files: Vec<Arc<dyn FileLike>>,
        cred: UCred,
        from: Option<UnixAddr>,
        sender: &Arc<Shared>,
    ) -> Self {
        let charge = data.len() + MESSAGE_OVERHEAD;
        sender.wmem.fetch_add(charge, Ordering::AcqRel);
        INFLIGHT_FDS.fetch_add(files.len(), Ordering::AcqRel);
        files.iter().for_each(super::gc::hold);
        Self {
            data,
            read: 0,
            files,
            cred,
            from,
            charge,
            sender: sender.clone(),
        }
    }

    /// Bytes not read yet.
    pub fn unread(&self) -> &[u8] {
        &self.data[self.read.min(self.data.len())..]
    }

    /// Whether files travel with this message.
    pub fn has_files(&self) -> bool {
        !self.files.is_empty()
    }

    /// Takes the files out (they are no longer in flight).
    pub fn take_files(&mut self) -> Vec<Arc<dyn FileLike>> {
        release_inflight(self.files.len());
        self.files.iter().for_each(super::gc::unhold);
        core::mem::take(&mut self.files)
    }

    /// The files, to look at.
    pub fn files(&self) -> &[Arc<dyn FileLike>] {
        &self.files
    }

    /// New references to the files (`MSG_PEEK`).
    pub fn clone_files(&self) -> Vec<Arc<dyn FileLike>> {
        self.files.clone()
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        release_inflight(self.files.len());
        self.files.iter().for_each(super::gc::unhold);
        self.sender.wmem.fetch_sub(self.charge, Ordering::AcqRel);
        self.sender.wake();
    }
}
