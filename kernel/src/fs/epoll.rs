//! `epoll` instances and `eventfd` counters.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use ostd::sync::{Mutex, SpinLock};

use super::file::{FileLike, flags};
use super::inode::{InodeType, Metadata};
use super::poll::{IoEvents, notify, wait_ready};
use crate::prelude::*;

fn anon_metadata(ino: u64) -> Metadata {
    Metadata::anonymous(ino, 13, InodeType::File, 0o600, 0)
}

/// `EPOLLET`.
pub const EPOLLET: u32 = 1 << 31;
/// `EPOLLONESHOT`.
pub const EPOLLONESHOT: u32 = 1 << 30;

struct Interest {
    file: Weak<dyn FileLike>,
    events: u32,
    data: u64,
    /// Disabled by `EPOLLONESHOT` after one report.
    armed: bool,
}

/// An epoll instance.
pub struct EpollFile {
    interests: Mutex<BTreeMap<i32, Interest>>,
    flags: AtomicU32,
}

impl EpollFile {
    /// A new, empty instance.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            interests: Mutex::new(BTreeMap::new()),
            flags: AtomicU32::new(flags::O_RDWR),
        })
    }

    /// `EPOLL_CTL_ADD`.
    pub fn add(&self, fd: i32, file: &Arc<dyn FileLike>, events: u32, data: u64) -> Result<()> {
        let mut i = self.interests.lock();
        if i.contains_key(&fd) {
            return_errno!(EEXIST);
        }
        i.insert(
            fd,
            Interest {
                file: Arc::downgrade(file),
                events,
                data,
                armed: true,
            },
        );
        drop(i);
        notify();
        Ok(())
    }

    /// `EPOLL_CTL_MOD`.
    pub fn modify(&self, fd: i32, events: u32, data: u64) -> Result<()> {
        let mut i = self.interests.lock();
        let e = i.get_mut(&fd).ok_or(Error::new(ENOENT))?;
        e.events = events;
        e.data = data;
        e.armed = true;
        drop(i);
        notify();
        Ok(())
    }

    /// `EPOLL_CTL_DEL`.
    pub fn remove(&self, fd: i32) -> Result<()> {
        self.interests
            .lock()
            .remove(&fd)
            .map(|_| ())
            .ok_or(Error::new(ENOENT))
    }

    /// The ready events now, at most `max`: `(events, data)` pairs.
    fn collect(&self, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut i = self.interests.lock();
        i.retain(|_, it| it.file.strong_count() > 0);
        for it in i.values_mut() {
            if out.len() >= max || !it.armed {
                continue;
            }
            let Some(f) = it.file.upgrade() else { continue };
            let ready = f.poll().bits() & (it.events | IoEvents::ERR.bits() | IoEvents::HUP.bits());
            if ready != 0 {
                out.push((ready, it.data));
                if it.events & EPOLLONESHOT != 0 {
                    it.armed = false;
                }
            }
        }
        out
    }

    /// `epoll_wait`: ready events, waiting up to `timeout`. `Err(EINTR)` if
    /// a signal arrives first.
    pub fn wait(
        &self,
        max: usize,
        timeout: Option<core::time::Duration>,
    ) -> Result<Vec<(u32, u64)>> {
        let r = wait_ready(
            || {
                let v = self.collect(max);
                (!v.is_empty()).then_some(v)
            },
            timeout,
        );
        match r {
            Some(Some(v)) => Ok(v),
            Some(None) => return_errno!(ERESTARTNOHAND),
            None => Ok(Vec::new()),
        }
    }
}

impl FileLike for EpollFile {
    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        return_errno!(EINVAL)
    }
    fn write(&self, _buf: &[u8]) -> Result<usize> {
        return_errno!(EINVAL)
    }
    fn metadata(&self) -> Metadata {
        anon_metadata(0xe9011)
    }
    fn poll(&self) -> IoEvents {
        if self.collect(1).is_empty() {
            IoEvents::empty()
        } else {
            IoEvents::IN
        }
    }
    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An `eventfd` counter.
pub struct EventFd {
    count: SpinLock<u64>,
    semaphore: bool,
    flags: AtomicU32,
}

impl EventFd {
    /// A counter starting at `init`.
    pub fn new(init: u64, semaphore: bool, status_flags: u32) -> Arc<Self> {
        Arc::new(Self {
            count: SpinLock::new(init),
            semaphore,
            flags: AtomicU32::new(flags::O_RDWR | (status_flags & flags::O_NONBLOCK)),
        })
    }

    fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & flags::O_NONBLOCK != 0
    }
}

impl FileLike for EventFd {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < 8 {
            return_errno!(EINVAL);
        }
        let take = || {
            let mut c = self.count.lock();
            if *c == 0 {
                return None;
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            Some(v)
        };
        let v = match take() {
            Some(v) => v,
            None if self.nonblocking() => return_errno!(EAGAIN),
            None => match wait_ready(take, None) {
                Some(Some(v)) => v,
                _ => return_errno!(ERESTARTSYS),
            },
        };
        buf[..8].copy_from_slice(&v.to_le_bytes());
        notify();
        Ok(8)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if buf.len() < 8 {
            return_errno!(EINVAL);
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&buf[..8]);
        let v = u64::from_le_bytes(b);
        if v == u64::MAX {
            return_errno!(EINVAL);
        }
        let add = || {
            let mut c = self.count.lock();
            (*c < u64::MAX - v).then(|| *c += v)
        };
        match add() {
            Some(()) => {}
            None if self.nonblocking() => return_errno!(EAGAIN),
            None => {
                if !matches!(wait_ready(add, None), Some(Some(()))) {
                    return_errno!(ERESTARTSYS);
                }
            }
        }
        notify();
        Ok(8)
    }

    fn metadata(&self) -> Metadata {
        anon_metadata(0xefd)
    }

    fn poll(&self) -> IoEvents {
        let c = *self.count.lock();
        let mut ev = IoEvents::empty();
        if c > 0 {
            ev |= IoEvents::IN;
        }
        if c < u64::MAX - 1 {
            ev |= IoEvents::OUT;
        }
        ev
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, f: u32) -> Result<()> {
        let old = self.flags.load(Ordering::Relaxed);
        self.flags.store(
            (old & !flags::O_NONBLOCK) | (f & flags::O_NONBLOCK),
            Ordering::Relaxed,
        );
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
