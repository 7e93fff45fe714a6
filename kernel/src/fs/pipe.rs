//! Pipes: a bounded byte queue between a read end and a write end.
//!
//! Semantics follow `pipe(7)`: reads block until data or end of file (no
//! writers); writes block until there is room, and writes of at most
//! `PIPE_BUF` bytes are atomic; writing with no readers gives `EPIPE` and
//! `SIGPIPE`; `O_NONBLOCK` turns blocking into `EAGAIN`. Blocking waits end
//! with `EINTR` when a signal arrives.

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

/// Creates a pipe; returns (read end, write end).
pub fn new_pipe(status_flags: u32) -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let pipe = Arc::new(Pipe {
        state: SpinLock::new(State {
            buf: VecDeque::new(),
            readers: 1,
            writers: 1,
        }),
        readable: WaitQueue::new(),
        writable: WaitQueue::new(),
        ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
    });
    let fl = status_flags & flags::O_NONBLOCK;
    let r = Arc::new(PipeEnd {
        pipe: pipe.clone(),
        write: false,
        flags: AtomicU32::new(flags::O_RDONLY | fl),
    });
    let w = Arc::new(PipeEnd {
        pipe,
        write: true,
        flags: AtomicU32::new(flags::O_WRONLY | fl),
    });
    (r, w)
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
                return Some(Ok(n));
            }
            if s.writers == 0 {
                return Some(Ok(0));
            }
            if self.nonblocking() {
                return Some(Err(Error::new(EAGAIN)));
            }
            if interrupted() {
                return Some(Err(Error::new(EINTR)));
            }
            None
        })?;
        p.writable.wake_all();
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
                    s.buf.extend(&data[done..done + n]);
                    return Some(Ok(n));
                }
                if self.nonblocking() {
                    return Some(Err(Error::new(EAGAIN)));
                }
                if interrupted() {
                    return Some(Err(Error::new(EINTR)));
                }
                None
            });
            match r {
                Ok(n) => {
                    done += n;
                    p.readable.wake_all();
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
                Err(e) if done > 0 && (e.errno() == EAGAIN || e.errno() == EINTR) => {
                    return Ok(done);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn metadata(&self) -> Metadata {
        let now = ostd::timer::wall_clock();
        Metadata {
            ino: self.pipe.ino,
            dev: 12,
            kind: InodeType::Fifo,
            mode: 0o600,
            nlink: 1,
            uid: 0,
            gid: 0,
            size: 0,
            rdev: 0,
            atime: now,
            mtime: now,
            ctime: now,
            blocks: 0,
        }
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

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        if cmd == linux_raw_sys::ioctl::FIONREAD {
            let n = self.pipe.state.lock().buf.len() as i32;
            crate::process::current_vmar().write_val(arg, &n)?;
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
            } else {
                s.readers -= 1;
            }
        }
        self.pipe.readable.wake_all();
        self.pipe.writable.wake_all();
    }
}
