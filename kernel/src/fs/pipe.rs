//! Pipes: a bounded byte queue between a read end and a write end.
//!
//! Semantics follow `pipe(7)`: reads block until data or end of file (no
//! writers); writes block until there is room, and writes of at most
//! `PIPE_BUF` bytes are atomic; writing with no readers gives `EPIPE` and
//! `SIGPIPE`; `O_NONBLOCK` turns blocking into `EAGAIN`. Blocking waits end
//! when a signal arrives: with the bytes moved so far, else `ERESTARTSYS`
//! (`EINTR`, or a restart after a `SA_RESTART` handler).
//!
//! The capacity is 64 KiB unless `F_SETPIPE_SZ` changes it (to a power of
//! two number of pages; above `/proc/sys/fs/pipe-max-size` only for root).
//! A write end with `O_DIRECT` (`pipe2`, `F_SETFL`) writes packets: each
//! write of up to `PIPE_BUF` bytes is one packet, a read returns one packet
//! and drops what did not fit, and a packet takes a page of the capacity,
//! as Linux counts it. Ends with `O_ASYNC` get `SIGIO` (see
//! [`sigio`](super::sigio)): readers when data arrives, writers when room
//! appears, both when the other side's last end closes.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use ostd::mm::PAGE_SIZE;
use ostd::sync::{SpinLock, WaitQueue};

use super::file::{FileLike, flags};
use super::inode::{InodeType, Metadata};
use super::lock::FileLockHandle;
use super::sigio::{IoOwner, PollReason, SigioList};
use crate::prelude::*;
use crate::process::signal::sig;

/// Capacity of a new pipe (Linux's default).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;
/// The largest size `F_SETPIPE_SZ` accepts at all (Linux: 2^31).
const MAX_CAPACITY: u64 = 1 << 31;

/// `/proc/sys/fs/pipe-max-size`: the largest capacity an unprivileged
/// process may set.
static MAX_SIZE: AtomicUsize = AtomicUsize::new(1 << 20);

/// A packet of a packet-mode write: where it starts in the byte stream
/// and how long it is.
#[derive(Clone, Copy)]
struct Packet {
    at: u64,
    len: usize,
}

struct State {
    buf: VecDeque<u8>,
    /// Packets not yet read, in order; the bytes between them are plain.
    packets: VecDeque<Packet>,
    /// Bytes of `buf` inside packets.
    packet_bytes: usize,
    /// Position in the byte stream of `buf[0]` (bytes ever read).
    head: u64,
    /// In bytes: a power-of-two number of pages.
    capacity: usize,
    readers: usize,
    writers: usize,
    /// How many times a read (write) end has been opened. A FIFO's blocking
    /// open waits for the other count to change, not for the other end to
    /// be open: a writer that opens, writes and closes before the reader
    /// has run still lets the reader's open return (Linux's `r_counter`
    /// and `w_counter`).
    r_counter: u64,
    w_counter: u64,
    /// Events for edge-triggered epoll: data arriving or the last writer
    /// leaving (for the read end), room appearing or the last reader
    /// leaving (for the write end).
    read_events: u64,
    write_events: u64,
}

/// The shared part of a pipe.
pub struct Pipe {
    state: SpinLock<State>,
    /// Woken when data arrives or the last writer leaves.
    readable: WaitQueue,
    /// Woken when room appears or the last reader leaves.
    writable: WaitQueue,
    /// Read ends with `O_ASYNC`.
    readers_sigio: SigioList,
    /// Write ends with `O_ASYNC`.
    writers_sigio: SigioList,
    ino: u64,
}

/// One end of a pipe.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write: bool,
    flags: AtomicU32,
    lock: FileLockHandle,
    owner: Arc<IoOwner>,
}

impl State {
    /// Capacity in use, in bytes: a packet takes a whole page.
    fn used(&self) -> usize {
        self.packets.len() * PAGE_SIZE + (self.buf.len() - self.packet_bytes)
    }

    /// Capacity in use, in pages (Linux's pipe buffers).
    fn pages_used(&self) -> usize {
        self.packets.len() + (self.buf.len() - self.packet_bytes).div_ceil(PAGE_SIZE)
    }

    fn room(&self) -> usize {
        self.capacity.saturating_sub(self.used())
    }

    /// Moves the next bytes to `out`: one packet (what does not fit is
    /// dropped), or the plain bytes before the next packet.
    fn take(&mut self, out: &mut [u8]) -> usize {
        let (n, consumed) = match self.packets.front() {
            Some(p) if p.at == self.head => {
                let len = p.len;
                self.packets.pop_front();
                self.packet_bytes -= len;
                (out.len().min(len), len)
            }
            next => {
                let plain = next.map_or(self.buf.len(), |p| (p.at - self.head) as usize);
                let n = out.len().min(plain);
                (n, n)
            }
        };
        for (o, b) in out.iter_mut().zip(self.buf.drain(..consumed)) {
            *o = b;
        }
        self.head += consumed as u64;
        n
    }

    /// Appends `data` as one packet.
    fn push_packet(&mut self, data: &[u8]) {
        self.packets.push_back(Packet {
            at: self.head + self.buf.len() as u64,
            len: data.len(),
        });
        self.packet_bytes += data.len();
        self.buf.extend(data);
    }
}

impl Pipe {
    /// A pipe with no ends open (a FIFO before anyone opens it).
    pub fn new() -> Arc<Pipe> {
        Arc::new(Pipe {
            state: SpinLock::new(State {
                buf: VecDeque::new(),
                packets: VecDeque::new(),
                packet_bytes: 0,
                head: 0,
                capacity: PIPE_CAPACITY,
                readers: 0,
                writers: 0,
                r_counter: 0,
                w_counter: 0,
                read_events: 0,
                write_events: 0,
            }),
            readable: WaitQueue::new(),
            writable: WaitQueue::new(),
            readers_sigio: SigioList::new(),
            writers_sigio: SigioList::new(),
            ino: super::inode::next_pseudo_ino(),
        })
    }

    /// `F_GETPIPE_SZ`.
    pub fn capacity(&self) -> usize {
        self.state.lock().capacity
    }

    /// `F_SETPIPE_SZ`: sets the capacity to `size` rounded up to a power
    /// of two number of pages and returns it. `EINVAL` past 2^31, `EPERM`
    /// for an unprivileged caller growing it past `pipe-max-size`, `EBUSY`
    /// if what the pipe holds would not fit (Linux's `pipe_set_size`).
    pub fn set_capacity(&self, size: u32, privileged: bool) -> Result<usize> {
        let size = round_size(size as u64).ok_or(Error::new(EINVAL))?;
        {
            let mut s = self.state.lock();
            if size > s.capacity && size > max_size() && !privileged {
                return_errno!(EPERM);
            }
            if size / PAGE_SIZE < s.pages_used() {
                return_errno!(EBUSY);
            }
            // Growing makes room: an event for edge-triggered epoll.
            s.write_events += u64::from(size > s.capacity);
            s.capacity = size;
        }
        self.writable.wake_all();
        crate::fs::poll::notify();
        Ok(size)
    }

    fn open_end(self: &Arc<Self>, write: bool, status_flags: u32) -> Arc<PipeEnd> {
        self.open_end_alone(write, status_flags).0
    }

    /// Opens an end, and tells (in the same critical section, as Linux
    /// does under `pipe->mutex`) whether the other side had no end open:
    /// then the number of opens of the other side so far, which a blocking
    /// FIFO open waits to see change. Looked at later, an open and close of
    /// the other end in between would go unnoticed and the wait would
    /// never end.
    fn open_end_alone(
        self: &Arc<Self>,
        write: bool,
        status_flags: u32,
    ) -> (Arc<PipeEnd>, Option<u64>) {
        let alone = {
            let mut s = self.state.lock();
            if write {
                s.writers += 1;
                s.w_counter += 1;
                (s.readers == 0).then_some(s.r_counter)
            } else {
                s.readers += 1;
                s.r_counter += 1;
                (s.writers == 0).then_some(s.w_counter)
            }
        };
        self.readable.wake_all();
        self.writable.wake_all();
        crate::fs::poll::notify();
        // As Linux's `create_pipe_files`: only the write end records
        // `O_DIRECT`, since writers make the packets.
        let (acc, keep) = if write {
            (flags::O_WRONLY, flags::O_NONBLOCK | flags::O_DIRECT)
        } else {
            (flags::O_RDONLY, flags::O_NONBLOCK)
        };
        let end = Arc::new(PipeEnd {
            pipe: self.clone(),
            write,
            flags: AtomicU32::new(acc | (status_flags & keep)),
            lock: FileLockHandle::new(),
            owner: IoOwner::new(),
        });
        (end, alone)
    }
}

/// Creates a pipe; returns (read end, write end). `status_flags` may hold
/// `O_NONBLOCK` and `O_DIRECT` (packet mode).
pub fn new_pipe(status_flags: u32) -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let pipe = Pipe::new();
    (
        pipe.open_end(false, status_flags),
        pipe.open_end(true, status_flags),
    )
}

/// The pipe `file` is an end of, if it is one (a pipe or a FIFO).
pub fn pipe_of(file: &dyn FileLike) -> Option<&Arc<Pipe>> {
    let any = file.as_any();
    any.downcast_ref::<PipeEnd>()
        .map(|e| &e.pipe)
        .or_else(|| any.downcast_ref::<DuplexEnd>().map(|d| &d.r.pipe))
}

/// `size` rounded as a pipe capacity: at least a page, a power-of-two
/// number of pages; `None` past 2^31 (Linux's `round_pipe_size`).
fn round_size(size: u64) -> Option<usize> {
    if size > MAX_CAPACITY {
        return None;
    }
    Some((size as usize).max(PAGE_SIZE).next_power_of_two())
}

/// `/proc/sys/fs/pipe-max-size`.
pub fn max_size() -> usize {
    MAX_SIZE.load(Ordering::Relaxed)
}

/// Sets `/proc/sys/fs/pipe-max-size`, rounded as a capacity; `EINVAL`
/// past 2^31.
pub fn set_max_size(size: u64) -> Result<()> {
    let size = u32::try_from(size)
        .ok()
        .and_then(|s| round_size(s as u64))
        .ok_or(Error::new(EINVAL))?;
    MAX_SIZE.store(size, Ordering::Relaxed);
    Ok(())
}

/// Opens a FIFO (`fifo(7)`): a reader waits for a writer and vice versa,
/// unless `O_NONBLOCK` (a non-blocking writer with no reader gets `ENXIO`).
pub fn open_fifo(pipe: Arc<Pipe>, oflags: u32) -> Result<Arc<dyn FileLike>> {
    let nonblock = oflags & flags::O_NONBLOCK != 0;
    let oflags = oflags & !flags::O_DIRECT;
    match oflags & flags::O_ACCMODE {
        flags::O_RDONLY => {
            let (end, partner) = pipe.open_end_alone(false, oflags);
            if let Some(seen) = partner
                && !nonblock
            {
                wait_for_partner(&pipe.readable, || pipe.state.lock().w_counter != seen)?;
            }
            Ok(end)
        }
        flags::O_WRONLY => {
            if nonblock && pipe.state.lock().readers == 0 {
                return_errno!(ENXIO);
            }
            let (end, partner) = pipe.open_end_alone(true, oflags);
            if let Some(seen) = partner
                && !nonblock
            {
                wait_for_partner(&pipe.writable, || pipe.state.lock().r_counter != seen)?;
            }
            Ok(end)
        }
        // O_RDWR: Linux allows it and never blocks.
        _ => {
            let r = pipe.open_end(false, oflags);
            Ok(Arc::new(DuplexEnd {
                r,
                w: pipe.open_end(true, oflags),
            }))
        }
    }
}

/// Opens another end of an anonymous pipe (through `/proc/PID/fd/N`): as
/// for a FIFO, but never waiting for the other end nor failing without
/// one (Linux's `fifo_open` for a pipefs inode).
pub fn reopen_pipe(pipe: Arc<Pipe>, oflags: u32) -> Arc<dyn FileLike> {
    let oflags = oflags & !flags::O_DIRECT;
    match oflags & flags::O_ACCMODE {
        flags::O_RDONLY => pipe.open_end(false, oflags),
        flags::O_WRONLY => pipe.open_end(true, oflags),
        _ => Arc::new(DuplexEnd {
            r: pipe.open_end(false, oflags),
            w: pipe.open_end(true, oflags),
        }),
    }
}

/// Sleeps on `queue` until `arrived` (the other end was opened). A signal
/// ends the wait with `ERESTARTSYS`, as in Linux's `wait_for_partner`.
fn wait_for_partner(queue: &WaitQueue, arrived: impl Fn() -> bool) -> Result<()> {
    queue.wait_until(|| (arrived() || interrupted()).then_some(()));
    if arrived() {
        Ok(())
    } else {
        return_errno!(ERESTARTSYS)
    }
}

/// A FIFO opened for reading and writing.
struct DuplexEnd {
    r: Arc<PipeEnd>,
    w: Arc<PipeEnd>,
}

impl FileLike for DuplexEnd {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.r.read(buf)
    }
    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.w.write(buf)
    }
    fn metadata(&self) -> Metadata {
        self.r.metadata()
    }
    fn status_flags(&self) -> u32 {
        (self.r.status_flags() & !flags::O_ACCMODE) | flags::O_RDWR
    }
    fn set_status_flags(&self, f: u32) -> Result<()> {
        self.r.set_status_flags(f)?;
        self.w.set_status_flags(f)
    }
    fn poll(&self) -> crate::fs::poll::IoEvents {
        self.r.poll() | self.w.poll()
    }
    fn lock_handle(&self) -> Option<&FileLockHandle> {
        self.r.lock_handle()
    }
    fn io_owner(&self) -> Option<&Arc<IoOwner>> {
        self.r.io_owner()
    }
    fn set_async(&self, fd: i32, on: bool) -> Result<()> {
        // One description reading and writing: on both lists, with one
        // owner.
        let pipe = &self.r.pipe;
        pipe.readers_sigio.set(fd, &self.r.owner, on)?;
        pipe.writers_sigio.set(fd, &self.r.owner, on)?;
        self.r.set_async_flag(on);
        self.w.set_async_flag(on);
        Ok(())
    }
    fn event_counts(&self) -> (u64, u64) {
        self.r.event_counts()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Makes room for `n` more bytes in a pipe's buffer. Pipe data is memory
/// user space asks for, so the buffer grows only while user memory is
/// available (not into the kernel's reserve), and fails with `ENOMEM`, as
/// Linux's `pipe_write` does when it cannot get a page, rather than stop
/// the kernel.
fn grow_buffer(buf: &mut VecDeque<u8>, n: usize) -> Result<()> {
    if buf.capacity() - buf.len() >= n {
        return Ok(());
    }
    let pages = (buf.len() + n).div_ceil(ostd::mm::PAGE_SIZE);
    if ostd::mm::free_frames_for_user() < pages {
        return_errno_with_message!(ENOMEM, "no memory for pipe data");
    }
    buf.try_reserve(n).map_err(|_| Error::new(ENOMEM))
}

fn interrupted() -> bool {
    crate::process::try_current_thread().is_some_and(|t| t.has_pending_work())
}

impl PipeEnd {
    fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & flags::O_NONBLOCK != 0
    }

    fn packets(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & flags::O_DIRECT != 0
    }

    fn set_async_flag(&self, on: bool) {
        super::file::set_status_bit(&self.flags, flags::O_ASYNC, on);
    }
}

impl FileLike for PipeEnd {
    fn read(&self, out: &mut [u8]) -> Result<usize> {
        if self.write {
            return_errno!(EBADF);
        }
        if out.is_empty() {
            return Ok(0);
        }
        let p = &self.pipe;
        let n = p.readable.wait_until(|| {
            let mut s = p.state.lock();
            if !s.buf.is_empty() {
                let n = s.take(out);
                s.write_events += 1;
                return Some(Ok(n));
            }
            if s.writers == 0 {
                return Some(Ok(0));
            }
            if self.nonblocking() {
                return Some(Err(Error::new(EAGAIN)));
            }
            if interrupted() {
                return Some(Err(Error::new(ERESTARTSYS)));
            }
            None
        });
        // Linux's `pipe_read` signals writers on the way out, whatever the
        // outcome, unless a signal ended the wait.
        if n.as_ref().is_err_and(|e| e.errno() == ERESTARTSYS) {
            return n;
        }
        p.writable.wake_all();
        crate::fs::poll::notify();
        p.writers_sigio.notify(PollReason::Out);
        n
    }

    fn write(&self, data: &[u8]) -> Result<usize> {
        if !self.write {
            return_errno!(EBADF);
        }
        let p = &self.pipe;
        let packets = self.packets();
        let mut done = 0;
        while done < data.len() || data.is_empty() {
            let r = p.writable.wait_until(|| {
                let mut s = p.state.lock();
                if s.readers == 0 {
                    return Some(Err(Error::new(EPIPE)));
                }
                let room = s.room();
                let left = data.len() - done;
                if packets && left == 0 {
                    return Some(Ok(0));
                }
                if packets && room >= PAGE_SIZE {
                    let n = left.min(PIPE_BUF);
                    if let Err(e) = grow_buffer(&mut s.buf, n) {
                        return Some(Err(e));
                    }
                    s.push_packet(&data[done..done + n]);
                    s.read_events += 1;
                    return Some(Ok(n));
                }
                // Small writes go in whole or not at all.
                let need = if left <= PIPE_BUF { left } else { 1 };
                if !packets && room >= need && (room > 0 || left == 0) {
                    let n = left.min(room);
                    if let Err(e) = grow_buffer(&mut s.buf, n) {
                        return Some(Err(e));
                    }
                    s.buf.extend(&data[done..done + n]);
                    s.read_events += u64::from(n > 0);
                    return Some(Ok(n));
                }
                if self.nonblocking() {
                    return Some(Err(Error::new(EAGAIN)));
                }
                if interrupted() {
                    return Some(Err(Error::new(ERESTARTSYS)));
                }
                None
            });
            match r {
                Ok(n) => {
                    done += n;
                    p.readable.wake_all();
                    crate::fs::poll::notify();
                    if data.is_empty() {
                        break;
                    }
                    p.readers_sigio.notify(PollReason::In);
                }
                Err(e) if e.errno() == EPIPE => {
                    if let Some(t) = crate::process::try_current_thread() {
                        t.send_signal(sig::SIGPIPE);
                    }
                    if done > 0 {
                        return Ok(done);
                    }
                    return Err(e);
                }
                Err(e)
                    if done > 0
                        && (e.errno() == EAGAIN
                            || e.errno() == ERESTARTSYS
                            || e.errno() == ENOMEM) =>
                {
                    return Ok(done);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn metadata(&self) -> Metadata {
        Metadata::anonymous(self.pipe.ino, 12, InodeType::Fifo, 0o600, 0)
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, new: u32) -> Result<()> {
        // `O_DIRECT` switches packet mode (Linux allows it on pipes).
        let changeable = flags::O_NONBLOCK | flags::O_DIRECT;
        let old = self.flags.load(Ordering::Relaxed);
        self.flags
            .store((old & !changeable) | (new & changeable), Ordering::Relaxed);
        Ok(())
    }

    fn lock_handle(&self) -> Option<&FileLockHandle> {
        Some(&self.lock)
    }

    fn io_owner(&self) -> Option<&Arc<IoOwner>> {
        Some(&self.owner)
    }

    fn set_async(&self, fd: i32, on: bool) -> Result<()> {
        let list = if self.write {
            &self.pipe.writers_sigio
        } else {
            &self.pipe.readers_sigio
        };
        list.set(fd, &self.owner, on)?;
        self.set_async_flag(on);
        Ok(())
    }

    fn poll(&self) -> crate::fs::poll::IoEvents {
        use crate::fs::poll::IoEvents;
        let s = self.pipe.state.lock();
        let mut ev = IoEvents::empty();
        if self.write {
            if s.readers == 0 {
                ev |= IoEvents::ERR | IoEvents::OUT | IoEvents::WRNORM;
            } else if s.room() >= PIPE_BUF {
                ev |= IoEvents::OUT | IoEvents::WRNORM;
            }
        } else {
            if !s.buf.is_empty() {
                ev |= IoEvents::IN | IoEvents::RDNORM;
            }
            if s.writers == 0 {
                ev |= IoEvents::HUP;
            }
        }
        ev
    }

    fn event_counts(&self) -> (u64, u64) {
        let s = self.pipe.state.lock();
        (s.read_events, s.write_events)
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        if cmd == linux_raw_sys::ioctl::FIONREAD {
            let n = self.pipe.state.lock().buf.len() as i32;
            crate::process::current_vmar()?.write_val(arg, &n)?;
            return Ok(0);
        }
        return_errno!(ENOTTY)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        // This description signals no more (Linux turns `fasync` off
        // before releasing the end).
        let _ = self.pipe.readers_sigio.set(0, &self.owner, false);
        let _ = self.pipe.writers_sigio.set(0, &self.owner, false);
        let one_side_left = {
            let mut s = self.pipe.state.lock();
            if self.write {
                s.writers -= 1;
                s.read_events += u64::from(s.writers == 0);
            } else {
                s.readers -= 1;
                s.write_events += u64::from(s.readers == 0);
            }
            // The last end gone: what is left is nobody's (a FIFO opened
            // again starts empty, as on Linux).
            if s.readers == 0 && s.writers == 0 {
                s.buf = VecDeque::new();
                s.packets = VecDeque::new();
                s.packet_bytes = 0;
            }
            (s.readers == 0) != (s.writers == 0)
        };
        self.pipe.readable.wake_all();
        self.pipe.writable.wake_all();
        crate::fs::poll::notify();
        if one_side_left {
            self.pipe.readers_sigio.notify(PollReason::In);
            self.pipe.writers_sigio.notify(PollReason::Out);
        }
    }
}
