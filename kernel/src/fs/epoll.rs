//! `epoll` instances and `eventfd` counters.
//!
//! An epoll instance keeps its interests and checks their readiness when
//! asked (see `poll.rs`). Level-triggered interests are reported while
//! ready; edge-triggered ones (`EPOLLET`) once per new event: when their
//! readiness rises or a file's event counts ([`FileLike::event_counts`])
//! move, as Linux reports an item again on every wake-up of its file.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ostd::sync::{Mutex, SpinLock};

use super::file::{FileLike, flags};
use super::inode::{InodeType, Metadata};
use super::poll::{IoEvents, notify, wait_ready};
use crate::prelude::*;

/// What `fstat` shows of a descriptor with no file behind it (Linux's
/// anonymous inode).
pub(super) fn anon_metadata(ino: u64) -> Metadata {
    Metadata::anonymous(ino, 13, InodeType::File, 0o600, 0)
}

/// `EPOLLET`.
pub const EPOLLET: u32 = 1 << 31;
/// `EPOLLONESHOT`.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// `EPOLLWAKEUP`.
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// `EPOLLEXCLUSIVE`.
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;

/// `EPOLL_CTL_*` operations.
#[allow(missing_docs)]
pub mod op {
    pub const EPOLL_CTL_ADD: u32 = 1;
    pub const EPOLL_CTL_DEL: u32 = 2;
    pub const EPOLL_CTL_MOD: u32 = 3;
}

/// The only events an `EPOLLEXCLUSIVE` interest may ask for (Linux's
/// `EPOLLEXCLUSIVE_OK_BITS`).
const EXCLUSIVE_OK: u32 = IoEvents::IN.bits()
    | IoEvents::OUT.bits()
    | IoEvents::ERR.bits()
    | IoEvents::HUP.bits()
    | EPOLLWAKEUP
    | EPOLLET
    | EPOLLEXCLUSIVE;

/// The events that concern writing; a file's write event count moves
/// edge-triggered interests in these, its read count the others.
const WRITE_SIDE: u32 = IoEvents::OUT.bits() | IoEvents::WRNORM.bits() | 0x200;

struct Interest {
    file: Weak<dyn FileLike>,
    events: u32,
    data: u64,
    /// Disabled by `EPOLLONESHOT` after one report.
    armed: bool,
    /// Edge-triggered: the readiness when last looked at, and the file's
    /// event counts then.
    seen_ready: u32,
    seen_counts: (u64, u64),
}

impl Interest {
    fn new(file: &Arc<dyn FileLike>, events: u32, data: u64) -> Self {
        Self {
            file: Arc::downgrade(file),
            events,
            data,
            armed: true,
            seen_ready: 0,
            seen_counts: file.event_counts(),
        }
    }
}

/// Whether `file` can be watched: Linux refuses files without a poll
/// operation, such as regular files and directories, with `EPERM`.
pub fn check_pollable(file: &Arc<dyn FileLike>) -> Result<()> {
    if file.as_any().is::<super::file::OpenFile>() {
        return_errno_with_message!(EPERM, "regular files cannot be polled by epoll");
    }
    Ok(())
}

/// Linux's `EP_MAX_NESTS`: epoll instances may watch each other in chains
/// of at most this many links.
const MAX_NESTS: usize = 4;

/// An epoll instance.
pub struct EpollFile {
    interests: Mutex<BTreeMap<i32, Interest>>,
    flags: AtomicU32,
    /// The instances that watch this one (to bound nesting from above).
    watchers: Mutex<Vec<Weak<EpollFile>>>,
    this: Weak<EpollFile>,
}

impl EpollFile {
    /// A new, empty instance.
    pub fn new() -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            interests: Mutex::new(BTreeMap::new()),
            flags: AtomicU32::new(flags::O_RDWR),
            watchers: Mutex::new(Vec::new()),
            this: this.clone(),
        })
    }

    /// The epoll instances this one watches.
    fn watched_epolls(&self) -> Vec<Arc<EpollFile>> {
        self.interests
            .lock()
            .values()
            .filter_map(|it| it.file.upgrade())
            .filter_map(|f| {
                f.as_any()
                    .downcast_ref::<EpollFile>()
                    .and_then(|e| e.this.upgrade())
            })
            .collect()
    }

    /// The longest chain of instances below this one, in links; `None` if
    /// it passes `limit` or reaches `target` (a loop).
    fn depth_below(&self, target: &EpollFile, limit: usize) -> Option<usize> {
        let mut deepest = 0;
        for e in self.watched_epolls() {
            if core::ptr::eq(&*e, target) || limit == 0 {
                return None;
            }
            deepest = deepest.max(1 + e.depth_below(target, limit - 1)?);
        }
        Some(deepest)
    }

    /// The longest chain of instances above this one, in links.
    fn depth_above(&self, limit: usize) -> usize {
        let watchers: Vec<Arc<EpollFile>> = self
            .watchers
            .lock()
            .iter()
            .filter_map(|w| w.upgrade())
            .collect();
        watchers
            .iter()
            .map(|w| {
                if limit == 0 {
                    1
                } else {
                    1 + w.depth_above(limit - 1)
                }
            })
            .max()
            .unwrap_or(0)
    }

    /// `epoll_ctl(op, fd, event)` once the files are known: the checks in
    /// the order of Linux's `do_epoll_ctl`.
    pub fn ctl(&self, op: u32, fd: i32, file: &Arc<dyn FileLike>, event: (u32, u64)) -> Result<()> {
        let (events, data) = event;
        if op != op::EPOLL_CTL_DEL && events & EPOLLEXCLUSIVE != 0 {
            if op == op::EPOLL_CTL_MOD {
                return_errno_with_message!(EINVAL, "EPOLLEXCLUSIVE cannot be modified");
            }
            if file.as_any().is::<EpollFile>() || events & !EXCLUSIVE_OK != 0 {
                return_errno_with_message!(EINVAL, "EPOLLEXCLUSIVE with other flags");
            }
        }
        match op {
            op::EPOLL_CTL_ADD => self.add(fd, file, events, data),
            op::EPOLL_CTL_DEL => self.remove(fd),
            op::EPOLL_CTL_MOD => self.modify(fd, events, data),
            _ => return_errno!(EINVAL),
        }
    }

    /// `EPOLL_CTL_ADD`. Watching another epoll instance is refused with
    /// `ELOOP` if it closes a loop or makes a chain longer than Linux
    /// allows (`EP_MAX_NESTS`): polling one would otherwise recurse
    /// without end.
    pub fn add(&self, fd: i32, file: &Arc<dyn FileLike>, events: u32, data: u64) -> Result<()> {
        let nested = file
            .as_any()
            .downcast_ref::<EpollFile>()
            .and_then(|e| e.this.upgrade());
        if let Some(inner) = &nested {
            // The same instance through another descriptor (Linux compares
            // the files, not the numbers).
            if core::ptr::eq(&**inner, self) {
                return_errno!(EINVAL);
            }
            let below = inner
                .depth_below(self, MAX_NESTS)
                .ok_or(Error::new(ELOOP))?;
            if self.depth_above(MAX_NESTS) + 1 + below > MAX_NESTS {
                return_errno!(ELOOP);
            }
        }
        let mut i = self.interests.lock();
        if i.contains_key(&fd) {
            return_errno!(EEXIST);
        }
        if let Some(inner) = &nested {
            let mut w = inner.watchers.lock();
            w.retain(|w| w.strong_count() > 0);
            w.push(self.this.clone());
        }
        i.insert(fd, Interest::new(file, events, data));
        drop(i);
        notify();
        Ok(())
    }

    /// `EPOLL_CTL_MOD`: also re-arms an `EPOLLONESHOT` interest, and an
    /// edge-triggered one is reported again if ready. An `EPOLLEXCLUSIVE`
    /// interest cannot be changed (`EINVAL`).
    pub fn modify(&self, fd: i32, events: u32, data: u64) -> Result<()> {
        let mut i = self.interests.lock();
        let e = i.get_mut(&fd).ok_or(Error::new(ENOENT))?;
        if e.events & EPOLLEXCLUSIVE != 0 {
            return_errno!(EINVAL);
        }
        e.events = events;
        e.data = data;
        e.armed = true;
        e.seen_ready = 0;
        drop(i);
        notify();
        Ok(())
    }

    /// `EPOLL_CTL_DEL`.
    pub fn remove(&self, fd: i32) -> Result<()> {
        let it = self
            .interests
            .lock()
            .remove(&fd)
            .ok_or(Error::new(ENOENT))?;
        if let Some(f) = it.file.upgrade()
            && let Some(inner) = f.as_any().downcast_ref::<EpollFile>()
        {
            let me = self.this.as_ptr();
            inner
                .watchers
                .lock()
                .retain(|w| w.strong_count() > 0 && w.as_ptr() != me);
        }
        Ok(())
    }

    /// The ready events now, at most `max`: `(events, data)` pairs. With
    /// `consume` (`epoll_wait`), what is reported counts as seen by
    /// edge-triggered and one-shot interests; without (polling the epoll
    /// instance itself), nothing changes.
    fn collect(&self, max: usize, consume: bool) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut i = self.interests.lock();
        if consume {
            i.retain(|_, it| it.file.strong_count() > 0);
        }
        for it in i.values_mut() {
            if out.len() >= max {
                break;
            }
            if !it.armed {
                continue;
            }
            let Some(f) = it.file.upgrade() else { continue };
            let ready = f.poll().bits() & (it.events | IoEvents::ERR.bits() | IoEvents::HUP.bits());
            if it.events & EPOLLET != 0 {
                let counts = f.event_counts();
                let fresh = ready & !it.seen_ready != 0
                    || (counts.0 != it.seen_counts.0 && ready & !WRITE_SIDE != 0)
                    || (counts.1 != it.seen_counts.1 && ready & WRITE_SIDE != 0);
                if consume {
                    it.seen_ready = ready;
                    it.seen_counts = counts;
                }
                if !fresh {
                    continue;
                }
            } else if ready == 0 {
                continue;
            }
            out.push((ready, it.data));
            if consume && it.events & EPOLLONESHOT != 0 {
                it.armed = false;
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
                let v = self.collect(max, true);
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
        if self.collect(1, false).is_empty() {
            IoEvents::empty()
        } else {
            IoEvents::IN | IoEvents::RDNORM
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
    /// Writes and reads so far (for edge-triggered epoll).
    writes: AtomicU64,
    reads: AtomicU64,
}

impl EventFd {
    /// The counter and whether it is a semaphore (for `fdinfo`).
    pub fn counter(&self) -> (u64, bool) {
        (*self.count.lock(), self.semaphore)
    }

    /// A counter starting at `init`.
    pub fn new(init: u64, semaphore: bool, status_flags: u32) -> Arc<Self> {
        Arc::new(Self {
            count: SpinLock::new(init),
            semaphore,
            flags: AtomicU32::new(flags::O_RDWR | (status_flags & flags::O_NONBLOCK)),
            writes: AtomicU64::new(0),
            reads: AtomicU64::new(0),
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
        self.reads.fetch_add(1, Ordering::Relaxed);
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
        self.writes.fetch_add(1, Ordering::Relaxed);
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

    fn event_counts(&self) -> (u64, u64) {
        (
            self.writes.load(Ordering::Relaxed),
            self.reads.load(Ordering::Relaxed),
        )
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
