//! Pipes: a bounded byte queue between a read end and a write end.
//!
//! Semantics follow `pipe(7)`: reads block until data or end of file (no
//! writers); writes block until there is room, and writes of at most
//! `PIPE_BUF` bytes are atomic; writing with no readers gives `EPIPE` and
//! `SIGPIPE`; `O_NONBLOCK` turns blocking into `EAGAIN`. Blocking waits end
//! when a signal arrives: with the bytes moved so far, else `ERESTARTSYS`
//! (`EINTR`, or a restart after a `SA_RESTART` handler).

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use ostd::sync::{SpinLock, WaitQueue};

use super::file::{FileLike, flags};
use super::inode::{InodeType, Metadata};
use crate::prelude::*;
use crate::process::signal::sig;

/// Capacity of a pipe (Linux's default).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

struct State {
    buf: VecDeque<u8>,
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
    ino: u64,
}

/// One end of a pipe.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write: bool,
    flags: AtomicU32,
}

static NEXT_INO: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1 << 32);

impl Pipe {
    /// A pipe with no ends open (a FIFO before anyone opens it).
    pub fn new() -> Arc<Pipe> {
        Arc::new(Pipe {
            state: SpinLock::new(State {
                buf: VecDeque::new(),
                readers: 0,
                writers: 0,
                r_counter: 0,
                w_counter: 0,
                read_events: 0,
                write_events: 0,
            }),
            readable: WaitQueue::new(),
            writable: WaitQueue::new(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        })
    }

    fn open_end(self: &Arc<Self>, write: bool, status_flags: u32) -> Arc<PipeEnd> {
        {
            let mut s = self.state.lock();
            if write {
                s.writers += 1;
                s.w_counter += 1;
            } else {
                s.readers += 1;
                s.r_counter += 1;
            }
        }
        self.readable.wake_all();
        self.writable.wake_all();
        crate::fs::poll::notify();
        let acc = if write {
            flags::O_WRONLY
        } else {
            flags::O_RDONLY
        };
        Arc::new(PipeEnd {
            pipe: self.clone(),
            write,
            flags: AtomicU32::new(acc | (status_flags & flags::O_NONBLOCK)),
        })
    }
}

/// Creates a pipe; returns (read end, write end).
pub fn new_pipe(status_flags: u32) -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let pipe = Pipe::new();
    (
        pipe.open_end(false, status_flags),
        pipe.open_end(true, status_flags),
    )
}

/// Opens a FIFO (`fifo(7)`): a reader waits for a writer and vice versa,
/// unless `O_NONBLOCK` (a non-blocking writer with no reader gets `ENXIO`).
pub fn open_fifo(pipe: Arc<Pipe>, oflags: u32) -> Result<Arc<dyn FileLike>> {
    let nonblock = oflags & flags::O_NONBLOCK != 0;
    match oflags & flags::O_ACCMODE {
        flags::O_RDONLY => {
            let end = pipe.open_end(false, oflags);
            let partner = {
                let s = pipe.state.lock();
                (s.writers == 0).then_some(s.w_counter)
            };
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
            let end = pipe.open_end(true, oflags);
            let partner = {
                let s = pipe.state.lock();
                (s.readers == 0).then_some(s.r_counter)
            };
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
                let n = out.len().min(s.buf.len());
                for (o, b) in out.iter_mut().zip(s.buf.drain(..n)) {
                    *o = b;
                }
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
        })?;
        p.writable.wake_all();
        crate::fs::poll::notify();
        Ok(n)
    }

    fn write(&self, data: &[u8]) -> Result<usize> {
        if !self.write {
            return_errno!(EBADF);
        }
        let p = &self.pipe;
        let mut done = 0;
        while done < data.len() || data.is_empty() {
            let r = p.writable.wait_until(|| {
                let mut s = p.state.lock();
                if s.readers == 0 {
                    return Some(Err(Error::new(EPIPE)));
                }
                let room = PIPE_CAPACITY - s.buf.len();
                let left = data.len() - done;
                // Small writes go in whole or not at all.
                let need = if left <= PIPE_BUF { left } else { 1 };
                if room >= need && (room > 0 || left == 0) {
                    let n = left.min(room);
                    if let Err(e) = grow_buffer(&mut s.buf, n) {
                        return Some(Err(e));
                    }
                    s.buf.extend(&data[done..done + n]);
                    s.read_events += 1;
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
        let old = self.flags.load(Ordering::Relaxed);
        self.flags.store(
            (old & !flags::O_NONBLOCK) | (new & flags::O_NONBLOCK),
            Ordering::Relaxed,
        );
        Ok(())
    }

    fn poll(&self) -> crate::fs::poll::IoEvents {
        use crate::fs::poll::IoEvents;
        let s = self.pipe.state.lock();
        let mut ev = IoEvents::empty();
        if self.write {
            if s.readers == 0 {
                ev |= IoEvents::ERR | IoEvents::OUT | IoEvents::WRNORM;
            } else if PIPE_CAPACITY - s.buf.len() >= PIPE_BUF {
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
        {
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
            }
        }
        self.pipe.readable.wake_all();
        self.pipe.writable.wake_all();
        crate::fs::poll::notify();
    }
}
