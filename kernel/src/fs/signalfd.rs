//! `signalfd`: pending signals read through a descriptor
//! (`signalfd(2)`).
//!
//! Reading takes pending signals of the mask from the reading thread, as
//! `sigtimedwait` would, and returns one 128-byte `signalfd_siginfo` each;
//! the descriptor is readable while one is pending. The signals are
//! usually blocked, so that they wait to be read instead of being
//! delivered. Signals are queued per thread here (there is no process-wide
//! pending set): a signal for the process goes to a thread that does not
//! block it, else to the main thread, which is then the one that reads it.

use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::file::{FileLike, flags};
use super::inode::Metadata;
use super::poll::{IoEvents, notify, wait_ready};
use crate::prelude::*;
use crate::process::signal::{SigInfo, SigSet, Signal, si, sig};

/// `sizeof(struct signalfd_siginfo)`.
pub const SIGINFO_SIZE: usize = 128;

/// A signalfd.
pub struct SignalFd {
    mask: AtomicU64,
    flags: AtomicU32,
}

impl SignalFd {
    /// A signalfd for the signals of `mask`; `status_flags` may hold
    /// `O_NONBLOCK`.
    pub fn new(mask: SigSet, status_flags: u32) -> Arc<Self> {
        Arc::new(Self {
            mask: AtomicU64::new(mask.without_unblockable().0),
            flags: AtomicU32::new(flags::O_RDWR | (status_flags & flags::O_NONBLOCK)),
        })
    }

    /// Replaces the mask (`signalfd` on an existing descriptor).
    pub fn set_mask(&self, mask: SigSet) {
        self.mask
            .store(mask.without_unblockable().0, Ordering::Relaxed);
        notify();
    }

    /// The signals it reads.
    pub fn mask(&self) -> SigSet {
        SigSet(self.mask.load(Ordering::Relaxed))
    }

    fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & flags::O_NONBLOCK != 0
    }
}

impl FileLike for SignalFd {
    /// As many `signalfd_siginfo` records as fit and are pending; waits
    /// for the first unless non-blocking (`EAGAIN`). `EINVAL` for a buffer
    /// smaller than one record.
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < SIGINFO_SIZE {
            return_errno!(EINVAL);
        }
        let thread = crate::process::current_thread()?;
        let take = || thread.take_signal_in(self.mask());
        let first = match take() {
            Some(s) => s,
            None if self.nonblocking() => return_errno!(EAGAIN),
            None => match wait_ready(take, None) {
                Some(Some(s)) => s,
                _ => return_errno!(ERESTARTSYS),
            },
        };
        let (cap, mut n) = (buf.len(), 0);
        let mut next = Some(first);
        // The first record waits; the others are taken only if pending.
        for out in buf.chunks_exact_mut(SIGINFO_SIZE) {
            let Some((s, info)) = next else { break };
            out.copy_from_slice(&siginfo_record(s, &info));
            n += SIGINFO_SIZE;
            next = if n + SIGINFO_SIZE <= cap {
                take()
            } else {
                None
            };
        }
        Ok(n)
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        return_errno!(EINVAL)
    }

    fn metadata(&self) -> Metadata {
        super::epoll::anon_metadata(0x519fd)
    }

    /// Readable while a signal of the mask is pending for the polling
    /// thread.
    fn poll(&self) -> IoEvents {
        let pending = crate::process::try_current_thread()
            .is_some_and(|t| t.sig_pending().0 & self.mask().0 != 0);
        if pending {
            IoEvents::IN
        } else {
            IoEvents::empty()
        }
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, f: u32) -> Result<()> {
        super::file::set_nonblock_only(&self.flags, f);
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The `signalfd_siginfo` of signal `s` (x86-64 layout), with the fields
/// of `info` that its kind of signal has (Linux's `signalfd_copyinfo`).
fn siginfo_record(s: Signal, info: &SigInfo) -> [u8; SIGINFO_SIZE] {
    let mut b = [0u8; SIGINFO_SIZE];
    let mut put32 = |off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    put32(0, s as u32); // ssi_signo
    put32(8, info.code as u32); // ssi_code
    let kernel_code = info.code > si::SI_USER && info.code < si::SI_KERNEL;
    let fault = matches!(s, sig::SIGSEGV | sig::SIGBUS | sig::SIGILL | sig::SIGFPE);
    if info.code == si::SI_TIMER {
        put32(24, info.pid); // ssi_tid: the timer id
        put32(32, info.uid); // ssi_overrun
    } else if info.is_poll(s) {
        // `SigInfo::poll` keeps si_fd in `status` and si_band in `pid`
        // and `uid`; ssi_band is 32 bits.
        put32(20, info.status as u32); // ssi_fd
        put32(28, info.pid); // ssi_band
    } else if !(kernel_code && fault) {
        put32(12, info.pid); // ssi_pid
        put32(16, info.uid); // ssi_uid
    }
    if kernel_code && s == sig::SIGCHLD {
        put32(40, info.status as u32); // ssi_status
    }
    if info.code < si::SI_USER {
        // Queued and timer signals: the sigval as ssi_int and ssi_ptr.
        put32(44, info.value as u32);
        b[48..56].copy_from_slice(&info.value.to_le_bytes());
    }
    if kernel_code && fault {
        b[72..80].copy_from_slice(&info.addr.to_le_bytes()); // ssi_addr
    }
    b
}
