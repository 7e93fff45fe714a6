//! Open files: the [`FileLike`] interface and the inode-backed [`OpenFile`].

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use ostd::sync::Mutex;

use super::inode::{Inode, InodeType, Metadata};
use super::lock::FileLockHandle;
use super::sigio::IoOwner;
use crate::prelude::*;

/// `O_*` status flags kept per open file description.
pub mod flags {
    pub use linux_raw_sys::general::{
        O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_LARGEFILE,
        O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
    };
    /// `O_ASYNC` (`FASYNC`): signal the owner when I/O becomes possible.
    pub const O_ASYNC: u32 = linux_raw_sys::general::FASYNC;
}

/// Something a file descriptor can refer to.
pub trait FileLike: Send + Sync + Any {
    /// Reads into `buf`; returns the bytes read.
    fn read(&self, buf: &mut [u8]) -> Result<usize>;
    /// Writes `buf`; returns the bytes written.
    fn write(&self, buf: &[u8]) -> Result<usize>;
    /// Reads at an offset without moving the file position.
    fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        return_errno!(ESPIPE)
    }
    /// Writes at an offset without moving the file position.
    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        return_errno!(ESPIPE)
    }
    /// Moves the file position.
    fn seek(&self, _pos: SeekFrom) -> Result<u64> {
        return_errno!(ESPIPE)
    }
    /// `fstat`.
    fn metadata(&self) -> Metadata;
    /// Device-specific control.
    fn ioctl(&self, _cmd: u32, _arg: u64) -> Result<i64> {
        return_errno!(ENOTTY)
    }
    /// Current readiness (`POLLIN`, `POLLOUT`, ...). Regular files are
    /// always ready (Linux's `DEFAULT_POLLMASK`).
    fn poll(&self) -> super::poll::IoEvents {
        use super::poll::IoEvents;
        IoEvents::IN | IoEvents::OUT | IoEvents::RDNORM | IoEvents::WRNORM
    }
    /// How many events have made the file readable and writable so far
    /// (data arriving, room appearing, a timer expiring). Edge-triggered
    /// epoll reports a ready file again when a count moves; files that do
    /// not count are reported again only when their readiness rises.
    fn event_counts(&self) -> (u64, u64) {
        (0, 0)
    }
    /// The `O_*` status flags.
    fn status_flags(&self) -> u32;
    /// Sets the changeable status flags (`O_APPEND`, `O_NONBLOCK`).
    fn set_status_flags(&self, _flags: u32) -> Result<()> {
        Ok(())
    }
    /// The inode, for inode-backed files.
    fn inode(&self) -> Option<&Arc<dyn Inode>> {
        None
    }
    /// The path the file was opened by, if known.
    fn path(&self) -> Option<Vec<u8>> {
        None
    }
    /// This open file description's identity for `flock` and OFD locks
    /// (see [`lock`](super::lock)); `None` if it cannot hold them.
    fn lock_handle(&self) -> Option<&FileLockHandle> {
        None
    }
    /// Who gets this description's I/O signals (`F_SETOWN`, see
    /// [`sigio`](super::sigio)); `None` if it has no owner to set.
    fn io_owner(&self) -> Option<&Arc<IoOwner>> {
        None
    }
    /// `O_ASYNC` set (`on`) or cleared through descriptor `fd` by
    /// `F_SETFL`. Files that signal readiness register with what they
    /// read from and keep the flag; the rest ignore it, as Linux ignores
    /// it for files without a `fasync` operation.
    fn set_async(&self, _fd: i32, _on: bool) -> Result<()> {
        Ok(())
    }
    /// For downcasting.
    fn as_any(&self) -> &dyn Any;
}

/// Where a seek is relative to.
#[derive(Clone, Copy, Debug)]
pub enum SeekFrom {
    /// `SEEK_SET`.
    Start(u64),
    /// `SEEK_CUR`.
    Current(i64),
    /// `SEEK_END`.
    End(i64),
}

/// Held by an `O_APPEND` write from finding the end of the file to writing
/// there: two appenders must not both find the same end.
static APPEND: Mutex<()> = Mutex::new(());

/// An open inode-backed file: the inode, a position and status flags.
pub struct OpenFile {
    inode: Arc<dyn Inode>,
    path: Vec<u8>,
    offset: Mutex<u64>,
    flags: AtomicU32,
    lock: FileLockHandle,
    owner: Arc<IoOwner>,
}

impl OpenFile {
    /// Opens `inode`.
    pub fn new(inode: Arc<dyn Inode>, path: Vec<u8>, flags: u32) -> Arc<Self> {
        Arc::new(Self {
            inode,
            path,
            offset: Mutex::new(0),
            flags: AtomicU32::new(flags & !flags::O_CLOEXEC),
            lock: FileLockHandle::new(),
            owner: IoOwner::new(),
        })
    }

    fn readable(&self) -> bool {
        let f = self.flags.load(Ordering::Relaxed);
        f & flags::O_PATH == 0 && f & flags::O_ACCMODE != flags::O_WRONLY
    }

    fn writable(&self) -> bool {
        let f = self.flags.load(Ordering::Relaxed);
        f & flags::O_PATH == 0 && f & flags::O_ACCMODE != flags::O_RDONLY
    }
}

impl FileLike for OpenFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if !self.readable() {
            return_errno!(EBADF);
        }
        let mut off = self.offset.lock();
        let n = self.inode.read_at(*off, buf)?;
        *off += n as u64;
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if !self.writable() {
            return_errno!(EBADF);
        }
        let mut off = self.offset.lock();
        // Finding the end and writing there are one step for every
        // appender, whatever open file description it writes through.
        let _append = (self.flags.load(Ordering::Relaxed) & flags::O_APPEND != 0).then(|| {
            let guard = APPEND.lock();
            *off = self.inode.metadata().size;
            guard
        });
        let n = self.inode.write_at(*off, buf)?;
        *off += n as u64;
        Ok(n)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if !self.readable() {
            return_errno!(EBADF);
        }
        self.inode.read_at(offset, buf)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        if !self.writable() {
            return_errno!(EBADF);
        }
        // Linux's quirk: `pwrite` on an `O_APPEND` description appends,
        // whatever the offset (and leaves the file position alone).
        if self.flags.load(Ordering::Relaxed) & flags::O_APPEND != 0 {
            let _append = APPEND.lock();
            let end = self.inode.metadata().size;
            return self.inode.write_at(end, buf);
        }
        self.inode.write_at(offset, buf)
    }

    fn seek(&self, pos: SeekFrom) -> Result<u64> {
        if self.flags.load(Ordering::Relaxed) & flags::O_PATH != 0 {
            return_errno!(EBADF);
        }
        let mut off = self.offset.lock();
        let size = self.inode.metadata().size;
        *off = seek_target(*off, pos, size)?;
        Ok(*off)
    }

    fn metadata(&self) -> Metadata {
        self.inode.metadata()
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, new: u32) -> Result<()> {
        set_changeable_flags(&self.flags, new);
        Ok(())
    }

    fn inode(&self) -> Option<&Arc<dyn Inode>> {
        Some(&self.inode)
    }

    fn path(&self) -> Option<Vec<u8>> {
        Some(self.path.clone())
    }

    fn lock_handle(&self) -> Option<&FileLockHandle> {
        Some(&self.lock)
    }

    fn io_owner(&self) -> Option<&Arc<IoOwner>> {
        Some(&self.owner)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The file position after `lseek(pos)` from position `cur` in a file of
/// `size` bytes; `EINVAL` if it would be negative or past `i64::MAX`.
pub fn seek_target(cur: u64, pos: SeekFrom, size: u64) -> Result<u64> {
    let new = match pos {
        SeekFrom::Start(p) => Some(p),
        SeekFrom::Current(d) => cur.checked_add_signed(d),
        SeekFrom::End(d) => size.checked_add_signed(d),
    };
    match new {
        Some(n) if n <= i64::MAX as u64 => Ok(n),
        _ => return_errno!(EINVAL),
    }
}

/// `F_SETFL`: only `O_APPEND` and `O_NONBLOCK` can change.
pub fn set_changeable_flags(flags: &AtomicU32, new: u32) {
    let changeable = flags::O_APPEND | flags::O_NONBLOCK;
    let old = flags.load(Ordering::Relaxed);
    flags.store((old & !changeable) | (new & changeable), Ordering::Relaxed);
}

/// Whether an inode type can be opened for writing.
pub fn check_open_type(kind: InodeType, flags: u32) -> Result<()> {
    let acc = flags & flags::O_ACCMODE;
    if kind == InodeType::Dir
        && (acc != flags::O_RDONLY || flags & flags::O_TRUNC != 0)
        && flags & flags::O_PATH == 0
    {
        return_errno!(EISDIR);
    }
    if kind != InodeType::Dir && flags & flags::O_DIRECTORY != 0 {
        return_errno!(ENOTDIR);
    }
    Ok(())
}

/// `F_SETFL` on a file whose one changeable status flag is `O_NONBLOCK`
/// (eventfd, epoll, signalfd, timerfd, pidfd): the others are ignored.
pub fn set_nonblock_only(status: &AtomicU32, f: u32) {
    let old = status.load(Ordering::Relaxed);
    status.store(
        (old & !flags::O_NONBLOCK) | (f & flags::O_NONBLOCK),
        Ordering::Relaxed,
    );
}

/// Sets or clears one status flag of an open file (`O_ASYNC` when a file
/// joins or leaves its object's SIGIO list).
pub fn set_status_bit(status: &AtomicU32, bit: u32, on: bool) {
    if on {
        status.fetch_or(bit, Ordering::Relaxed);
    } else {
        status.fetch_and(!bit, Ordering::Relaxed);
    }
}
