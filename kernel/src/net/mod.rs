//! Sockets: the [`Socket`] interface every address family implements, and
//! [`SocketFile`], the open file a socket descriptor refers to.
//!
//! As in Linux, addresses cross this interface as the raw bytes of a
//! `struct sockaddr`: each family reads and writes its own. The syscall
//! layer (`syscall/socket.rs`) only moves addresses, message headers and
//! control messages between user memory and the types here.
//!
//! Data is moved through [`DataSource`] and [`DataSink`], so that a socket
//! copies user memory in pieces as buffer space allows, and never while it
//! holds one of its locks (a copy may fault and sleep).

pub mod ip;
pub mod options;
pub mod unix;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use core::time::Duration;

use ostd::sync::WaitQueue;

use crate::fs::file::{FileLike, flags};
use crate::fs::inode::{InodeType, Metadata};
use crate::fs::lock::FileLockHandle;
use crate::fs::poll::IoEvents;
use crate::fs::sigio::IoOwner;
use crate::prelude::*;

/// Address families.
pub mod family {
    /// `AF_UNSPEC`.
    pub const AF_UNSPEC: u16 = 0;
    /// `AF_UNIX` (`AF_LOCAL`).
    pub const AF_UNIX: u16 = 1;
    /// `AF_INET`.
    pub const AF_INET: u16 = 2;
    /// `AF_INET6`.
    pub const AF_INET6: u16 = 10;
    /// `AF_MAX`: families are below this.
    pub const AF_MAX: i32 = 46;
}

/// `MSG_*` flags of `send` and `recv`.
pub mod msg {
    /// Out-of-band data.
    pub const OOB: u32 = 0x1;
    /// Look at the data without taking it.
    pub const PEEK: u32 = 0x2;
    /// Control data was cut short (output).
    pub const CTRUNC: u32 = 0x8;
    /// Return the real length of a longer datagram; set when one was cut.
    pub const TRUNC: u32 = 0x20;
    /// Do not block.
    pub const DONTWAIT: u32 = 0x40;
    /// End of record.
    pub const EOR: u32 = 0x80;
    /// Wait for the full request.
    pub const WAITALL: u32 = 0x100;
    /// No `SIGPIPE` on a broken connection.
    pub const NOSIGNAL: u32 = 0x4000;
    /// More data follows.
    pub const MORE: u32 = 0x8000;
    /// `recvmmsg`: do not block after the first message.
    pub const WAITFORONE: u32 = 0x10000;
    /// Received descriptors are close-on-exec.
    pub const CMSG_CLOEXEC: u32 = 0x4000_0000;
}

/// `SOCK_*` types.
pub mod sock {
    /// `SOCK_STREAM`.
    pub const STREAM: i32 = 1;
    /// `SOCK_DGRAM`.
    pub const DGRAM: i32 = 2;
    /// `SOCK_RAW`.
    pub const RAW: i32 = 3;
    /// `SOCK_SEQPACKET`.
    pub const SEQPACKET: i32 = 5;
    /// Types are below this (`SOCK_MAX`).
    pub const MAX: i32 = 11;
    /// The type's bits (the rest are flags).
    pub const TYPE_MASK: i32 = 0xf;
    /// `SOCK_NONBLOCK`.
    pub const NONBLOCK: i32 = super::flags::O_NONBLOCK as i32;
    /// `SOCK_CLOEXEC`.
    pub const CLOEXEC: i32 = super::flags::O_CLOEXEC as i32;
}

/// The kind of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    /// A reliable byte stream.
    Stream,
    /// Datagrams, with boundaries.
    Dgram,
    /// A connection carrying datagrams, with boundaries.
    SeqPacket,
}

impl SockType {
    /// The `SOCK_*` number.
    pub fn raw(self) -> i32 {
        match self {
            Self::Stream => sock::STREAM,
            Self::Dgram => sock::DGRAM,
            Self::SeqPacket => sock::SEQPACKET,
        }
    }
}

/// A process's identity as sockets see it (`struct ucred`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UCred {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl UCred {
    /// What `SO_PEERCRED` reports before a connection: no process, ids -1.
    pub const NONE: UCred = UCred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };

    /// The calling process with its effective ids (`SO_PEERCRED`).
    pub fn current_effective() -> UCred {
        match crate::process::try_current_thread() {
            Some(t) => {
                let c = t.credentials();
                UCred {
                    pid: t.process().pid() as i32,
                    uid: c.euid,
                    gid: c.egid,
                }
            }
            None => UCred {
                pid: 0,
                uid: 0,
                gid: 0,
            },
        }
    }

    /// The calling process with its real ids (what `SCM_CREDENTIALS`
    /// carries when the sender gives none).
    pub fn current_real() -> UCred {
        match crate::process::try_current_thread() {
            Some(t) => {
                let c = t.credentials();
                UCred {
                    pid: t.process().pid() as i32,
                    uid: c.ruid,
                    gid: c.rgid,
                }
            }
            None => UCred {
                pid: 0,
                uid: 0,
                gid: 0,
            },
        }
    }

    /// `struct ucred` as bytes.
    pub fn to_bytes(self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..8].copy_from_slice(&self.uid.to_le_bytes());
        b[8..].copy_from_slice(&self.gid.to_le_bytes());
        b
    }
}

/// Control data that travels with a message.
#[derive(Default)]
pub struct Ancillary {
    /// `SCM_RIGHTS`: open files.
    pub files: Vec<Arc<dyn FileLike>>,
    /// `SCM_CREDENTIALS`.
    pub creds: Option<UCred>,
}

/// How to send.
#[derive(Default)]
pub struct SendArgs {
    /// The destination (`sendto`), as a raw `sockaddr`.
    pub addr: Option<Vec<u8>>,
    /// `MSG_*` flags.
    pub flags: u32,
    /// Do not block (`O_NONBLOCK` or `MSG_DONTWAIT`).
    pub nonblock: bool,
    /// Control data.
    pub ancillary: Ancillary,
}

/// What a receive got.
#[derive(Default)]
pub struct Received {
    /// The return value: bytes copied, or with `MSG_TRUNC` on a datagram
    /// socket its full length.
    pub len: usize,
    /// `MSG_*` flags for `msg_flags` (`MSG_TRUNC`).
    pub flags: u32,
    /// The sender's address, raw (empty if unknown or unnamed).
    pub addr: Vec<u8>,
    /// Control data for the receiver.
    pub ancillary: Ancillary,
}

/// Where the bytes of a send come from.
pub trait DataSource {
    /// Bytes in total.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies the bytes at `offset` into `buf`.
    fn read_at(&mut self, offset: usize, buf: &mut [u8]) -> Result<()>;
}

/// Where received bytes go.
pub trait DataSink {
    /// Room in total.
    fn len(&self) -> usize;
    /// Whether there is none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies `data` to `offset`.
    fn write_at(&mut self, offset: usize, data: &[u8]) -> Result<()>;
}

impl DataSource for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    fn read_at(&mut self, offset: usize, buf: &mut [u8]) -> Result<()> {
        let src = self
            .get(offset..offset + buf.len())
            .ok_or(Error::new(EFAULT))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl DataSink for &mut [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    fn write_at(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        self.get_mut(offset..offset + data.len())
            .ok_or(Error::new(EFAULT))?
            .copy_from_slice(data);
        Ok(())
    }
}

/// A socket of some family.
pub trait Socket: Send + Sync + Any {
    /// `SO_DOMAIN`: the `AF_*` family.
    fn domain(&self) -> u16;
    /// `SO_TYPE`.
    fn sock_type(&self) -> SockType;
    /// `SO_PROTOCOL`.
    fn protocol(&self) -> i32 {
        0
    }
    /// `bind`.
    fn bind(&self, addr: &[u8]) -> Result<()>;
    /// `listen`.
    fn listen(&self, backlog: i32) -> Result<()>;
    /// `accept`: the new connection and its peer's address.
    fn accept(&self, nonblock: bool) -> Result<(Arc<dyn Socket>, Vec<u8>)>;
    /// `connect`.
    fn connect(&self, addr: &[u8], nonblock: bool) -> Result<()>;
    /// `sendmsg`: bytes sent.
    fn send(&self, src: &mut dyn DataSource, args: SendArgs) -> Result<usize>;
    /// `recvmsg`.
    fn recv(&self, dst: &mut dyn DataSink, flags: u32, nonblock: bool) -> Result<Received>;
    /// `shutdown` (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`).
    fn shutdown(&self, how: i32) -> Result<()>;
    /// `getsockname`, raw.
    fn name(&self) -> Vec<u8>;
    /// `getpeername`, raw.
    fn peer_name(&self) -> Result<Vec<u8>>;
    /// `getsockopt`: the value's bytes (the caller cuts them to the
    /// user's length).
    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>>;
    /// `setsockopt`.
    fn set_option(&self, level: i32, name: i32, value: &[u8]) -> Result<()>;
    /// Readiness.
    fn poll(&self) -> IoEvents;
    /// Bytes ready to read (`FIONREAD`).
    fn bytes_readable(&self) -> usize {
        0
    }
    /// The last descriptor is closed: disconnect, give names back, drop
    /// queued data. Must not block.
    fn release(&self);
    /// For downcasting.
    fn as_any(&self) -> &dyn Any;
}

/// Creates a socket (`socket(2)`), with Linux's errors for families,
/// types and protocols it does not have.
pub fn create(domain: i32, ty: i32, protocol: i32) -> Result<Arc<dyn Socket>> {
    if !(0..family::AF_MAX).contains(&domain) {
        return_errno!(EAFNOSUPPORT);
    }
    match domain as u16 {
        family::AF_UNIX => Ok(unix::UnixSocket::new(unix_type(ty, protocol)?)),
        family::AF_INET | family::AF_INET6 => {
            let fam = if domain as u16 == family::AF_INET {
                ip::Family::V4
            } else {
                ip::Family::V6
            };
            Ok(match inet_type(ty, protocol)? {
                SockType::Dgram => ip::udp::UdpSocket::new(fam),
                _ => ip::tcp::TcpSocket::new(fam),
            })
        }
        _ => return_errno!(EAFNOSUPPORT),
    }
}

/// Creates a connected pair (`socketpair(2)`).
pub fn create_pair(
    domain: i32,
    ty: i32,
    protocol: i32,
) -> Result<(Arc<dyn Socket>, Arc<dyn Socket>)> {
    if !(0..family::AF_MAX).contains(&domain) {
        return_errno!(EAFNOSUPPORT);
    }
    match domain as u16 {
        family::AF_UNIX => {
            let (a, b) = unix::UnixSocket::new_pair(unix_type(ty, protocol)?);
            Ok((a, b))
        }
        family::AF_INET | family::AF_INET6 => {
            inet_type(ty, protocol)?;
            return_errno!(EOPNOTSUPP)
        }
        _ => return_errno!(EAFNOSUPPORT),
    }
}

/// `unix_create`: protocol 0 or `PF_UNIX`; `SOCK_RAW` means datagrams.
fn unix_type(ty: i32, protocol: i32) -> Result<SockType> {
    if protocol != 0 && protocol != family::AF_UNIX as i32 {
        return_errno!(EPROTONOSUPPORT);
    }
    match ty {
        sock::STREAM => Ok(SockType::Stream),
        sock::DGRAM | sock::RAW => Ok(SockType::Dgram),
        sock::SEQPACKET => Ok(SockType::SeqPacket),
        _ => return_errno!(ESOCKTNOSUPPORT),
    }
}

/// `inet_create`'s checks: TCP streams and UDP datagrams only.
fn inet_type(ty: i32, protocol: i32) -> Result<SockType> {
    const IPPROTO_TCP: i32 = 6;
    const IPPROTO_UDP: i32 = 17;
    match ty {
        sock::STREAM if protocol == 0 || protocol == IPPROTO_TCP => Ok(SockType::Stream),
        sock::DGRAM if protocol == 0 || protocol == IPPROTO_UDP => Ok(SockType::Dgram),
        sock::STREAM | sock::DGRAM | sock::RAW => return_errno!(EPROTONOSUPPORT),
        _ => return_errno!(ESOCKTNOSUPPORT),
    }
}

/// Splits the `type` argument of `socket` into the type and the flags
/// (`SOCK_NONBLOCK`, `SOCK_CLOEXEC`); `EINVAL` for other bits or a type
/// out of range.
pub fn split_type(ty: i32) -> Result<(i32, bool, bool)> {
    let base = ty & sock::TYPE_MASK;
    let fl = ty & !sock::TYPE_MASK;
    if fl & !(sock::NONBLOCK | sock::CLOEXEC) != 0 || !(1..sock::MAX).contains(&base) {
        return_errno!(EINVAL);
    }
    Ok((base, fl & sock::NONBLOCK != 0, fl & sock::CLOEXEC != 0))
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1 << 40);

/// `st_dev` of sockets (Linux's sockfs is an anonymous device too).
const SOCKFS_DEV: u64 = 8;

/// An open socket: what a socket descriptor refers to.
///
/// It takes `flock` locks and has an `F_SETOWN` owner, as every Linux
/// file does; `O_ASYNC` is accepted but sockets send no `SIGIO` yet.
pub struct SocketFile {
    socket: Arc<dyn Socket>,
    flags: AtomicU32,
    ino: u64,
    lock: FileLockHandle,
    owner: Arc<IoOwner>,
}

impl SocketFile {
    /// Wraps `socket` in an open file.
    pub fn new(socket: Arc<dyn Socket>, nonblock: bool) -> Arc<Self> {
        let nb = if nonblock { flags::O_NONBLOCK } else { 0 };
        Arc::new(Self {
            socket,
            flags: AtomicU32::new(flags::O_RDWR | nb),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            lock: FileLockHandle::new(),
            owner: IoOwner::new(),
        })
    }

    /// The socket.
    pub fn socket(&self) -> &Arc<dyn Socket> {
        &self.socket
    }

    /// Whether `O_NONBLOCK` is set.
    pub fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & flags::O_NONBLOCK != 0
    }
}

/// The socket behind an open file; `ENOTSOCK` for anything else.
pub fn socket_of(file: &Arc<dyn FileLike>) -> Result<&SocketFile> {
    file.as_any()
        .downcast_ref::<SocketFile>()
        .ok_or(Error::new(ENOTSOCK))
}

impl FileLike for SocketFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        let mut sink: &mut [u8] = buf;
        Ok(self.socket.recv(&mut sink, 0, self.nonblocking())?.len)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        let mut src: &[u8] = buf;
        let args = SendArgs {
            nonblock: self.nonblocking(),
            ..SendArgs::default()
        };
        self.socket.send(&mut src, args)
    }

    fn metadata(&self) -> Metadata {
        Metadata::anonymous(self.ino, SOCKFS_DEV, InodeType::Socket, 0o777, 0)
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        if cmd == linux_raw_sys::ioctl::FIONREAD {
            let n = self.socket.bytes_readable().min(i32::MAX as usize) as i32;
            crate::process::current_vmar()?.write_val(arg, &n)?;
            return Ok(0);
        }
        return_errno!(ENOTTY)
    }

    fn poll(&self) -> IoEvents {
        self.socket.poll()
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, new: u32) -> Result<()> {
        crate::fs::file::set_changeable_flags(&self.flags, new);
        Ok(())
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

impl Drop for SocketFile {
    fn drop(&mut self) {
        self.socket.release();
    }
}

/// When a blocking socket call gives up (`SO_RCVTIMEO`, `SO_SNDTIMEO`):
/// measured from the start of the call, however many times it sleeps.
#[derive(Clone, Copy)]
pub struct Deadline {
    at: Option<Duration>,
    forever: bool,
}

impl Deadline {
    /// `timeout` from now; `None` waits forever.
    pub fn after(timeout: Option<Duration>) -> Self {
        Self {
            at: timeout.map(|t| ostd::timer::monotonic().saturating_add(t)),
            forever: timeout.is_none(),
        }
    }

    fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_sub(ostd::timer::monotonic()))
    }
}

/// Sleeps on `queue` until `cond` gives a result. Without one: `EAGAIN` if
/// `nonblock` or when the deadline passes; a signal ends the wait with
/// `ERESTARTSYS` (restartable) when there is no timeout, else `EINTR`, as
/// Linux's `sock_intr_errno`.
pub fn wait_for<R>(
    queue: &WaitQueue,
    nonblock: bool,
    deadline: &Deadline,
    mut cond: impl FnMut() -> Option<Result<R>>,
) -> Result<R> {
    if let Some(r) = cond() {
        return r;
    }
    if nonblock {
        return_errno!(EAGAIN);
    }
    let thread = crate::process::try_current_thread();
    loop {
        let remaining = deadline.remaining();
        if remaining == Some(Duration::ZERO) {
            return_errno!(EAGAIN);
        }
        let r = queue.wait_until_or_timeout(
            || {
                if let Some(r) = cond() {
                    return Some(Some(r));
                }
                if thread.as_ref().is_some_and(|t| t.has_pending_work()) {
                    return Some(None);
                }
                None
            },
            remaining,
        );
        match r {
            Some(Some(r)) => return r,
            Some(None) if deadline.forever => return_errno!(ERESTARTSYS),
            Some(None) => return_errno!(EINTR),
            None => {}
        }
    }
}

/// Whether an error ends a transfer that has moved some data with the
/// count so far rather than the error.
pub fn is_partial_stop(e: &Error) -> bool {
    [EAGAIN, EINTR, ERESTARTSYS, ENOMEM, EFAULT].contains(&e.errno())
}

/// Raises `SIGPIPE` for the caller (a write to a broken connection).
pub fn raise_sigpipe() {
    if let Some(t) = crate::process::try_current_thread() {
        t.send_signal(crate::process::signal::sig::SIGPIPE);
    }
}

/// Allocates a buffer of `len` bytes for data user space sends, only while
/// user memory is available (`ENOMEM` otherwise, never the kernel's
/// reserve).
pub fn alloc_data(len: usize) -> Result<Vec<u8>> {
    let pages = len.div_ceil(ostd::mm::PAGE_SIZE);
    if ostd::mm::free_frames_for_user() < pages {
        return_errno_with_message!(ENOMEM, "no memory for socket data");
    }
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Error::new(ENOMEM))?;
    v.resize(len, 0);
    Ok(v)
}
