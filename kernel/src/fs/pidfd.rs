//! Process descriptors (`pidfd_open(2)`, `clone(CLONE_PIDFD)`).
//!
//! A pidfd refers to one process, not to its number: once the process is
//! reaped, the pidfd refers to nothing, even if the number is reused. It
//! polls readable (`POLLIN`) when the process has exited, and also
//! `POLLHUP` once it has been reaped. It keeps only a weak reference, so
//! an open pidfd keeps neither the process nor its pid.

use alloc::sync::{Arc, Weak};
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use super::file::{FileLike, flags};
use super::inode::Metadata;
use super::poll::IoEvents;
use crate::prelude::*;
use crate::process::{Pid, Process};

/// A pidfd.
pub struct PidFd {
    process: Weak<Process>,
    pid: Pid,
    flags: AtomicU32,
}

impl PidFd {
    /// A pidfd for `process`; `status_flags` may hold `O_NONBLOCK`
    /// (`PIDFD_NONBLOCK`).
    pub fn new(process: &Arc<Process>, status_flags: u32) -> Arc<Self> {
        Arc::new(Self {
            process: Arc::downgrade(process),
            pid: process.pid(),
            flags: AtomicU32::new(flags::O_RDWR | (status_flags & flags::O_NONBLOCK)),
        })
    }

    /// The process, unless it has been reaped.
    pub fn process(&self) -> Option<Arc<Process>> {
        let p = self.process.upgrade()?;
        // Reaped processes leave the table (their pid may be reused).
        crate::process::find_process(self.pid)
            .is_some_and(|q| Arc::ptr_eq(&p, &q))
            .then_some(p)
    }

    /// The pid the process had.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Whether the descriptor is non-blocking (`waitid(P_PIDFD)` then
    /// does not wait).
    pub fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & flags::O_NONBLOCK != 0
    }
}

/// `CLONE_PIDFD`: installs a pidfd for the new `child` in `parent`'s
/// descriptor table (close-on-exec) and writes its number at `addr`;
/// returns the number. `EFAULT` (and no descriptor) if `addr` cannot be
/// written.
pub fn install_for_child(parent: &Arc<Process>, child: &Arc<Process>, addr: u64) -> Result<i32> {
    let fd = parent.files().lock().insert(PidFd::new(child, 0), true)?;
    if let Err(e) = parent.vmar().write_val(addr, &fd) {
        let _ = parent.files().lock().remove(fd);
        return Err(e);
    }
    Ok(fd)
}

impl FileLike for PidFd {
    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        return_errno!(EINVAL)
    }

    fn write(&self, _buf: &[u8]) -> Result<usize> {
        return_errno!(EINVAL)
    }

    fn metadata(&self) -> Metadata {
        super::epoll::anon_metadata(0x91dfd)
    }

    /// Linux's `pidfd_poll`: readable once the process has exited (all its
    /// threads), hung up once it is reaped as well.
    fn poll(&self) -> IoEvents {
        match self.process() {
            None => IoEvents::IN | IoEvents::RDNORM | IoEvents::HUP,
            Some(p) if p.is_zombie() => IoEvents::IN | IoEvents::RDNORM,
            Some(_) => IoEvents::empty(),
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
