//! The `SOL_SOCKET` options every socket keeps: buffer sizes, timeouts,
//! `SO_LINGER`, `SO_REUSEADDR`, `SO_PASSCRED`.
//!
//! Values are stored and reported as Linux does: a buffer size set is
//! doubled (room for bookkeeping) and clamped between a minimum and twice
//! the system maximum; a timeout of zero means none; `SO_LINGER` keeps the
//! old time when it is turned off.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;

use ostd::sync::SpinLock;

use crate::prelude::*;

/// `SOL_SOCKET`.
pub const SOL_SOCKET: i32 = 1;

/// `SO_*` option numbers.
#[allow(missing_docs)]
pub mod so {
    pub const DEBUG: i32 = 1;
    pub const REUSEADDR: i32 = 2;
    pub const TYPE: i32 = 3;
    pub const ERROR: i32 = 4;
    pub const SNDBUF: i32 = 7;
    pub const RCVBUF: i32 = 8;
    pub const KEEPALIVE: i32 = 9;
    pub const LINGER: i32 = 13;
    pub const REUSEPORT: i32 = 15;
    pub const PASSCRED: i32 = 16;
    pub const PEERCRED: i32 = 17;
    pub const RCVLOWAT: i32 = 18;
    pub const SNDLOWAT: i32 = 19;
    pub const RCVTIMEO: i32 = 20;
    pub const SNDTIMEO: i32 = 21;
    pub const ACCEPTCONN: i32 = 30;
    pub const SNDBUFFORCE: i32 = 32;
    pub const RCVBUFFORCE: i32 = 33;
    pub const PROTOCOL: i32 = 38;
    pub const DOMAIN: i32 = 39;
}

/// `net.core.wmem_default` and `rmem_default`.
pub const DEFAULT_BUF: usize = 212_992;
/// `net.core.wmem_max` and `rmem_max` (Linux's defaults).
pub const MAX_BUF: usize = 212_992;
/// `SOCK_MIN_SNDBUF`.
pub const MIN_SNDBUF: usize = 4608;
/// `SOCK_MIN_RCVBUF`.
pub const MIN_RCVBUF: usize = 2304;

/// Options of one socket.
pub struct SocketOptions {
    sndbuf: AtomicUsize,
    rcvbuf: AtomicUsize,
    reuseaddr: AtomicBool,
    passcred: AtomicBool,
    keepalive: AtomicBool,
    /// `None`: no timeout.
    rcvtimeo: SpinLock<Option<Duration>>,
    sndtimeo: SpinLock<Option<Duration>>,
    /// (`l_onoff`, `l_linger` in seconds).
    linger: SpinLock<(bool, u32)>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl SocketOptions {
    /// Linux's defaults.
    pub fn new() -> Self {
        Self {
            sndbuf: AtomicUsize::new(DEFAULT_BUF),
            rcvbuf: AtomicUsize::new(DEFAULT_BUF),
            reuseaddr: AtomicBool::new(false),
            passcred: AtomicBool::new(false),
            keepalive: AtomicBool::new(false),
            rcvtimeo: SpinLock::new(None),
            sndtimeo: SpinLock::new(None),
            linger: SpinLock::new((false, 0)),
        }
    }

    /// `SO_SNDBUF`.
    pub fn sndbuf(&self) -> usize {
        self.sndbuf.load(Ordering::Relaxed)
    }

    /// `SO_RCVBUF`.
    pub fn rcvbuf(&self) -> usize {
        self.rcvbuf.load(Ordering::Relaxed)
    }

    /// `SO_PASSCRED`.
    pub fn passcred(&self) -> bool {
        self.passcred.load(Ordering::Relaxed)
    }

    /// `SO_REUSEADDR`.
    pub fn reuseaddr(&self) -> bool {
        self.reuseaddr.load(Ordering::Relaxed)
    }

    /// `SO_RCVTIMEO`.
    pub fn rcvtimeo(&self) -> Option<Duration> {
        *self.rcvtimeo.lock()
    }

    /// `SO_SNDTIMEO`.
    pub fn sndtimeo(&self) -> Option<Duration> {
        *self.sndtimeo.lock()
    }

    /// Reads a common option; `None` if `name` is not one of them.
    pub fn get(&self, name: i32) -> Option<Vec<u8>> {
        let int = |v: usize| Some((v as i32).to_le_bytes().to_vec());
        match name {
            so::SNDBUF => int(self.sndbuf()),
            so::RCVBUF => int(self.rcvbuf()),
            so::REUSEADDR => int(self.reuseaddr() as usize),
            so::PASSCRED => int(self.passcred() as usize),
            so::KEEPALIVE => int(self.keepalive.load(Ordering::Relaxed) as usize),
            so::RCVLOWAT | so::SNDLOWAT => int(1),
            so::DEBUG | so::REUSEPORT => int(0),
            so::RCVTIMEO => Some(timeval_bytes(self.rcvtimeo())),
            so::SNDTIMEO => Some(timeval_bytes(self.sndtimeo())),
            so::LINGER => {
                let (on, secs) = *self.linger.lock();
                let mut b = (on as i32).to_le_bytes().to_vec();
                b.extend_from_slice(&(secs as i32).to_le_bytes());
                Some(b)
            }
            _ => None,
        }
    }

    /// Sets a common option; `None` if `name` is not one of them. `value`
    /// holds at least an `int` (the caller checked).
    pub fn set(&self, name: i32, value: &[u8]) -> Option<Result<()>> {
        let int = read_i32(value);
        let buf_size =
            |v: i32, min: usize| (v as u32 as usize).min(MAX_BUF).saturating_mul(2).max(min);
        match name {
            so::SNDBUF | so::SNDBUFFORCE => {
                self.sndbuf
                    .store(buf_size(int, MIN_SNDBUF), Ordering::Relaxed);
            }
            so::RCVBUF | so::RCVBUFFORCE => {
                self.rcvbuf
                    .store(buf_size(int, MIN_RCVBUF), Ordering::Relaxed);
            }
            so::REUSEADDR => self.reuseaddr.store(int != 0, Ordering::Relaxed),
            so::PASSCRED => self.passcred.store(int != 0, Ordering::Relaxed),
            so::KEEPALIVE => self.keepalive.store(int != 0, Ordering::Relaxed),
            so::DEBUG | so::REUSEPORT | so::RCVLOWAT | so::SNDLOWAT => {}
            so::RCVTIMEO | so::SNDTIMEO => {
                let t = match parse_timeval(value) {
                    Ok(t) => t,
                    Err(e) => return Some(Err(e)),
                };
                let slot = if name == so::RCVTIMEO {
                    &self.rcvtimeo
                } else {
                    &self.sndtimeo
                };
                *slot.lock() = t;
            }
            so::LINGER => {
                if value.len() < 8 {
                    return Some(Err(Error::new(EINVAL)));
                }
                let secs = read_i32(&value[4..]);
                let mut l = self.linger.lock();
                if int == 0 {
                    l.0 = false;
                } else {
                    *l = (true, secs.max(0) as u32);
                }
            }
            _ => return None,
        }
        Some(Ok(()))
    }
}

/// An `int` at the start of `b` (zero-padded if short).
pub fn read_i32(b: &[u8]) -> i32 {
    let mut a = [0u8; 4];
    let n = b.len().min(4);
    a[..n].copy_from_slice(&b[..n]);
    i32::from_le_bytes(a)
}

/// `sock_set_timeout`: a `struct timeval`; `EDOM` for microseconds out of
/// range; zero means no timeout; a negative time means "do not wait".
fn parse_timeval(b: &[u8]) -> Result<Option<Duration>> {
    if b.len() < 16 {
        return_errno!(EINVAL);
    }
    let mut s = [0u8; 8];
    s.copy_from_slice(&b[..8]);
    let sec = i64::from_le_bytes(s);
    s.copy_from_slice(&b[8..16]);
    let usec = i64::from_le_bytes(s);
    if !(0..1_000_000).contains(&usec) {
        return_errno!(EDOM);
    }
    if sec < 0 {
        return Ok(Some(Duration::ZERO));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    // Kept in whole milliseconds (the tick), rounded up as Linux rounds
    // to jiffies.
    let ms = (usec as u64).div_ceil(1000);
    Ok(Some(
        Duration::from_secs(sec as u64) + Duration::from_millis(ms),
    ))
}

fn timeval_bytes(t: Option<Duration>) -> Vec<u8> {
    let (sec, usec) = match t {
        None => (0i64, 0i64),
        Some(d) => (d.as_secs() as i64, d.subsec_micros() as i64),
    };
    let mut b = sec.to_le_bytes().to_vec();
    b.extend_from_slice(&usec.to_le_bytes());
    b
}
