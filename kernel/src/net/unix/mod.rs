//! Unix-domain sockets (`unix(7)`): streams, datagrams and sequenced
//! packets between processes of this machine, named by paths or abstract
//! names, carrying descriptors (`SCM_RIGHTS`) and credentials
//! (`SCM_CREDENTIALS`).
//!
//! Each socket has one lock over its state and receive queue; a sender
//! takes its own lock, lets go, then takes the receiver's, so no two
//! socket locks are ever held together (a datagram socket may send to
//! itself). Files and messages are dropped only after the locks are let
//! go: dropping a passed file may release another socket.
//!
//! A stream `connect` queues a new socket (the "embryo") on the
//! listener, already connected to the caller, as Linux does: the client
//! may send before the server accepts.

pub mod addr;
mod gc;
mod message;

use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use ostd::sync::SpinLock;

use self::addr::{Binding, UnixAddr};
use self::message::{Message, Shared};
use super::options::{SOL_SOCKET, SocketOptions, so};
use super::{
    Ancillary, DataSink, DataSource, Deadline, Received, SendArgs, SockType, Socket, SocketFile,
    UCred, alloc_data, family, is_partial_stop, msg, raise_sigpipe, wait_for,
};
use crate::fs::file::FileLike;
use crate::fs::poll::IoEvents;
use crate::prelude::*;

/// `RCV_SHUTDOWN`: nothing more will be read.
const RCV_SHUTDOWN: u8 = 1;
/// `SEND_SHUTDOWN`: nothing more will be sent.
const SEND_SHUTDOWN: u8 = 2;
const SHUTDOWN_MASK: u8 = 3;

/// `net.core.somaxconn`: the largest listen backlog.
const SOMAXCONN: usize = 4096;
/// `net.unix.max_dgram_qlen`: datagrams queued for a receiver that is not
/// connected back to the sender before senders wait.
const MAX_DGRAM_QLEN: usize = 10;
/// Linux's `SCM_MAX_FD`: descriptors in one message.
pub const SCM_MAX_FD: usize = 253;
/// How deep sockets carrying sockets may nest in flight (Linux's
/// `MAX_RECURSION_LEVEL`); deeper sends fail with `ETOOMANYREFS`, which
/// also bounds the recursion of releasing them.
const MAX_RECURSION_LEVEL: u32 = 4;
/// Largest piece a stream send queues at once.
const STREAM_CHUNK: usize = 64 * 1024;

enum Conn {
    /// Neither connected nor listening.
    None,
    /// Listening, with connections waiting for `accept`.
    Listening {
        backlog: VecDeque<Arc<UnixSocket>>,
        max: usize,
    },
    /// Connected (for datagrams: the default destination and the only
    /// sender accepted).
    Connected(Arc<UnixSocket>),
}

struct State {
    addr: Option<UnixAddr>,
    binding: Option<Binding>,
    /// A `bind` is in progress (names are claimed without the lock).
    binding_now: bool,
    conn: Conn,
    /// A stream `connect` is in progress.
    connecting: bool,
    shutdown: u8,
    /// `sk_err`: reported once, by the next receive or `SO_ERROR`.
    error: Option<Errno>,
    rx: VecDeque<Message>,
    /// `SO_PEERCRED`.
    peer_cred: Option<UCred>,
    released: bool,
}

/// A Unix-domain socket.
pub struct UnixSocket {
    ty: SockType,
    state: SpinLock<State>,
    shared: Arc<Shared>,
    opts: SocketOptions,
    /// How deep sockets nest in this socket's queue (see
    /// [`MAX_RECURSION_LEVEL`]); only grows.
    depth: AtomicU32,
    /// The next socket on the [`PARKED`] list.
    parked_next: SpinLock<Option<Arc<UnixSocket>>>,
    /// Messages in queues that hold this socket's open file.
    inflight: AtomicUsize,
    /// Whether the collector knows this socket.
    registered: AtomicBool,
    this: Weak<UnixSocket>,
}

impl UnixSocket {
    /// A new unconnected socket.
    pub fn new(ty: SockType) -> Arc<UnixSocket> {
        Arc::new_cyclic(|this| UnixSocket {
            ty,
            state: SpinLock::new(State {
                addr: None,
                binding: None,
                binding_now: false,
                conn: Conn::None,
                connecting: false,
                shutdown: 0,
                error: None,
                rx: VecDeque::new(),
                peer_cred: None,
                released: false,
            }),
            shared: Shared::new(),
            opts: SocketOptions::new(),
            depth: AtomicU32::new(0),
            parked_next: SpinLock::new(None),
            inflight: AtomicUsize::new(0),
            registered: AtomicBool::new(false),
            this: this.clone(),
        })
    }

    /// Two sockets connected to each other (`socketpair`), each with the
    /// caller as its peer's credentials.
    pub fn new_pair(ty: SockType) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
        let a = Self::new(ty);
        let b = Self::new(ty);
        let cred = UCred::current_effective();
        for (s, peer) in [(&a, &b), (&b, &a)] {
            let mut st = s.state.lock();
            st.conn = Conn::Connected(peer.clone());
            st.peer_cred = Some(cred);
        }
        (a, b)
    }

    fn me(&self) -> Result<Arc<UnixSocket>> {
        self.this.upgrade().ok_or(Error::new(EBADF))
    }

    fn connection_oriented(&self) -> bool {
        self.ty != SockType::Dgram
    }

    fn peer(&self) -> Option<Arc<UnixSocket>> {
        match &self.state.lock().conn {
            Conn::Connected(p) => Some(p.clone()),
            _ => None,
        }
    }

    /// Binds to an automatic abstract name if unbound (before sending with
    /// `SO_PASSCRED`, as Linux does, so the receiver can tell senders
    /// apart).
    fn autobind_if_passcred(&self) -> Result<()> {
        if self.opts.passcred() && self.state.lock().addr.is_none() {
            let raw = addr::unnamed_raw();
            match self.bind(&raw) {
                Ok(()) => {}
                Err(e) if e.errno() == EINVAL => {} // bound meanwhile
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Looks `addr` up as a peer of this socket's type.
    fn lookup_peer(&self, addr: &UnixAddr) -> Result<Arc<UnixSocket>> {
        let other = addr::lookup(addr)?;
        if other.ty != self.ty {
            return_errno!(EPROTOTYPE);
        }
        Ok(other)
    }

    /// Checks the files of an `SCM_RIGHTS` message going to `to`: not too
    /// many in flight, and sockets carrying sockets nest only so deep
    /// (`ETOOMANYREFS`).
    fn admit_files(&self, files: &[Arc<dyn FileLike>], to: &UnixSocket) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let mut level = 0;
        for f in files {
            if let Some(s) = f
                .as_any()
                .downcast_ref::<SocketFile>()
                .and_then(|sf| sf.socket().as_any().downcast_ref::<UnixSocket>())
            {
                level = level.max(s.depth.load(Ordering::Acquire) + 1);
            }
        }
        if level > MAX_RECURSION_LEVEL {
            return_errno!(ETOOMANYREFS);
        }
        gc::maybe_collect(false);
        if message::check_inflight(files.len()).is_err() {
            gc::maybe_collect(true);
            message::check_inflight(files.len())?;
        }
        to.depth.fetch_max(level, Ordering::AcqRel);
        Ok(())
    }

    /// The credentials a message carries: those given (checked), else the
    /// sender's.
    fn message_cred(given: Option<UCred>) -> Result<UCred> {
        let Some(c) = given else {
            return Ok(UCred::current_real());
        };
        // Linux's `scm_check_creds`: one's own ids, unless privileged
        // (`CAP_SYS_ADMIN` for the pid, `CAP_SETUID`, `CAP_SETGID`).
        use linux_raw_sys::general::{CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN};
        let thread = crate::process::current_thread()?;
        let process = thread.process();
        let cred = thread.credentials();
        let pid_ok = c.pid == process.pid() as i32 || cred.has_cap(CAP_SYS_ADMIN);
        let uid_ok = [cred.ruid, cred.euid, cred.suid].contains(&c.uid) || cred.has_cap(CAP_SETUID);
        let gid_ok = [cred.rgid, cred.egid, cred.sgid].contains(&c.gid) || cred.has_cap(CAP_SETGID);
        if !(pid_ok && uid_ok && gid_ok) {
            return_errno!(EPERM);
        }
        Ok(c)
    }

    /// Calls `f` on every file queued here (for the collector).
    fn for_each_queued_file(&self, mut f: impl FnMut(&Arc<dyn FileLike>)) {
        let st = self.state.lock();
        for m in &st.rx {
            m.files().iter().for_each(&mut f);
        }
    }

    /// Takes the whole receive queue (the collector drops it).
    fn take_queue(&self) -> VecDeque<Message> {
        core::mem::take(&mut self.state.lock().rx)
    }

    /// Wakes this socket's waiters and every poller.
    fn wake(&self) {
        self.shared.wake();
    }

    // ----- connections -----

    fn connect_stream(&self, raw: &[u8], nonblock: bool) -> Result<()> {
        let target = UnixAddr::parse_peer(raw)?;
        self.autobind_if_passcred()?;
        let listener = self.lookup_peer(&target)?;
        let me = self.me()?;
        let embryo = UnixSocket::new(self.ty);
        let deadline = Deadline::after(self.opts.sndtimeo());
        // Wait for room in the backlog first: Linux checks the caller's
        // own state only then.
        wait_for(&listener.shared.wait, nonblock, &deadline, || {
            let st = listener.state.lock();
            match &st.conn {
                Conn::Listening { backlog, max } if !st.released => {
                    (backlog.len() <= *max).then_some(Ok(()))
                }
                _ => Some(Err(Error::new(ECONNREFUSED))),
            }
        })?;
        {
            let mut st = self.state.lock();
            match st.conn {
                Conn::None if !st.connecting => st.connecting = true,
                Conn::Connected(_) => return_errno!(EISCONN),
                Conn::None => return_errno!(EALREADY),
                Conn::Listening { .. } => return_errno!(EINVAL),
            }
        }
        // The embryo: connected to us, named as the listener, with our
        // credentials as its peer's.
        {
            let mut st = embryo.state.lock();
            st.conn = Conn::Connected(me.clone());
            st.peer_cred = Some(UCred::current_effective());
        }
        let queued = {
            let mut guard = listener.state.lock();
            let st = &mut *guard;
            let listener_cred = st.peer_cred;
            let addr = st.addr.clone();
            match &mut st.conn {
                Conn::Listening { backlog, .. } if !st.released => {
                    backlog.push_back(embryo.clone());
                    Ok((listener_cred, addr))
                }
                _ => Err(Error::new(ECONNREFUSED)),
            }
        };
        let (listener_cred, listener_addr) = match queued {
            Ok(v) => v,
            Err(e) => {
                self.state.lock().connecting = false;
                embryo.release();
                return Err(e);
            }
        };
        embryo.state.lock().addr = listener_addr;
        {
            let mut st = self.state.lock();
            st.connecting = false;
            st.conn = Conn::Connected(embryo);
            st.peer_cred = listener_cred;
        }
        listener.wake();
        self.wake();
        Ok(())
    }

    fn connect_dgram(&self, raw: &[u8]) -> Result<()> {
        if raw.len() < 2 {
            return_errno!(EINVAL);
        }
        if u16::from_le_bytes([raw[0], raw[1]]) == family::AF_UNSPEC {
            // Dissolves the association (1003.1g).
            let old = core::mem::replace(&mut self.state.lock().conn, Conn::None);
            drop(old);
            self.wake();
            return Ok(());
        }
        let target = UnixAddr::parse_peer(raw)?;
        self.autobind_if_passcred()?;
        let other = self.lookup_peer(&target)?;
        if !self.may_send_to(&other) {
            return_errno!(EPERM);
        }
        let old = core::mem::replace(&mut self.state.lock().conn, Conn::Connected(other));
        drop(old);
        self.wake();
        Ok(())
    }

    /// Linux's `unix_may_send`: a datagram socket connected elsewhere
    /// takes datagrams from its peer only.
    fn may_send_to(&self, other: &UnixSocket) -> bool {
        match &other.state.lock().conn {
            Conn::Connected(p) => core::ptr::eq(&**p, self),
            _ => true,
        }
    }

    // ----- sending -----

    fn send_stream(&self, src: &mut dyn DataSource, args: SendArgs) -> Result<usize> {
        if args.flags & msg::OOB != 0 {
            return_errno!(EOPNOTSUPP);
        }
        let nosignal = args.flags & msg::NOSIGNAL != 0;
        let peer = {
            let st = self.state.lock();
            let connected = matches!(st.conn, Conn::Connected(_));
            if args.addr.is_some() {
                return_errno!(if connected { EISCONN } else { EOPNOTSUPP });
            }
            match &st.conn {
                Conn::Connected(p) => p.clone(),
                _ => return_errno!(ENOTCONN),
            }
        };
        let broken = |sent: usize| -> Result<usize> {
            if sent > 0 {
                return Ok(sent);
            }
            if !nosignal {
                raise_sigpipe();
            }
            return_errno!(EPIPE)
        };
        if self.state.lock().shutdown & SEND_SHUTDOWN != 0 {
            return broken(0);
        }
        let cred = Self::message_cred(args.ancillary.creds)?;
        let mut files = args.ancillary.files;
        let total = src.len();
        if total > 0 {
            self.admit_files(&files, &peer)?;
        } else {
            files.clear();
        }
        let from = self.state.lock().addr.clone();
        let deadline = Deadline::after(self.opts.sndtimeo());
        let mut sent = 0;
        while sent < total {
            let sndbuf = self.opts.sndbuf();
            let r = wait_for(&self.shared.wait, args.nonblock, &deadline, || {
                if self.state.lock().shutdown & SEND_SHUTDOWN != 0 {
                    return Some(Err(Error::new(EPIPE)));
                }
                if self.shared.wmem.load(Ordering::Acquire) < sndbuf {
                    return Some(Ok(()));
                }
                None
            });
            if let Err(e) = r {
                return match e.errno() {
                    EPIPE => broken(sent),
                    _ if sent > 0 && is_partial_stop(&e) => Ok(sent),
                    _ => Err(e),
                };
            }
            let size = (total - sent).min(sndbuf / 2 - 64).min(STREAM_CHUNK);
            let mut data = match alloc_data(size) {
                Ok(d) => d,
                Err(e) => return if sent > 0 { Ok(sent) } else { Err(e) },
            };
            if let Err(e) = src.read_at(sent, &mut data) {
                return if sent > 0 { Ok(sent) } else { Err(e) };
            }
            let m = Message::new(
                data,
                core::mem::take(&mut files),
                cred,
                from.clone(),
                &self.shared,
            );
            if let Err(m) = peer.enqueue_stream(m) {
                drop(m);
                return broken(sent);
            }
            peer.wake();
            sent += size;
        }
        Ok(sent)
    }

    /// Queues a stream piece here; gives it back if this end is gone or
    /// shut for reading (the sender gets `EPIPE`).
    fn enqueue_stream(&self, m: Message) -> core::result::Result<(), Message> {
        let mut st = self.state.lock();
        if st.released || st.shutdown & RCV_SHUTDOWN != 0 {
            return Err(m);
        }
        st.rx.push_back(m);
        Ok(())
    }

    fn send_dgram(&self, src: &mut dyn DataSource, args: SendArgs) -> Result<usize> {
        if args.flags & msg::OOB != 0 {
            return_errno!(EOPNOTSUPP);
        }
        let seqpacket = self.ty == SockType::SeqPacket;
        let (target, via_peer) = if seqpacket {
            // The address is ignored on a connection.
            let st = self.state.lock();
            match &st.conn {
                Conn::Connected(p) => (p.clone(), true),
                _ => return_errno!(ENOTCONN),
            }
        } else {
            match &args.addr {
                Some(raw) => {
                    let a = UnixAddr::parse_peer(raw)?;
                    (self.lookup_peer(&a)?, false)
                }
                None => (self.peer().ok_or(Error::new(ENOTCONN))?, true),
            }
        };
        self.autobind_if_passcred()?;
        let len = src.len();
        let sndbuf = self.opts.sndbuf();
        if len > sndbuf - 32 {
            return_errno!(EMSGSIZE);
        }
        if seqpacket && self.state.lock().shutdown & SEND_SHUTDOWN != 0 {
            return_errno!(EPIPE);
        }
        let cred = Self::message_cred(args.ancillary.creds)?;
        let mut data = alloc_data(len)?;
        src.read_at(0, &mut data)?;
        let deadline = Deadline::after(self.opts.sndtimeo());
        let me = self.me()?;
        // Room in our own send buffer.
        wait_for(&self.shared.wait, args.nonblock, &deadline, || {
            (self.shared.wmem.load(Ordering::Acquire) < sndbuf).then_some(Ok(()))
        })?;
        self.admit_files(&args.ancillary.files, &target)?;
        let from = self.state.lock().addr.clone();
        let mut m = Some(Message::new(
            data,
            args.ancillary.files,
            cred,
            from,
            &self.shared,
        ));
        let r = wait_for(&target.shared.wait, args.nonblock, &deadline, || {
            let mut st = target.state.lock();
            if st.released {
                return Some(Err(Error::new(if seqpacket {
                    EPIPE
                } else {
                    ECONNREFUSED
                })));
            }
            let back_to_us = matches!(&st.conn, Conn::Connected(p) if Arc::ptr_eq(p, &me));
            if !seqpacket && !back_to_us && matches!(st.conn, Conn::Connected(_)) {
                return Some(Err(Error::new(EPERM)));
            }
            if st.shutdown & RCV_SHUTDOWN != 0 {
                return Some(Err(Error::new(EPIPE)));
            }
            if !seqpacket && !back_to_us && st.rx.len() > MAX_DGRAM_QLEN {
                return None;
            }
            st.rx.extend(m.take());
            Some(Ok(()))
        });
        drop(m);
        match r {
            Ok(()) => {
                target.wake();
                Ok(len)
            }
            Err(e) => {
                if e.errno() == ECONNREFUSED && via_peer {
                    // The peer is gone: forget it (the next send says
                    // ENOTCONN, as on Linux).
                    let old = {
                        let mut st = self.state.lock();
                        match &st.conn {
                            Conn::Connected(p) if Arc::ptr_eq(p, &target) => {
                                Some(core::mem::replace(&mut st.conn, Conn::None))
                            }
                            _ => None,
                        }
                    };
                    drop(old);
                }
                Err(e)
            }
        }
    }

    // ----- receiving -----

    fn recv_stream(&self, dst: &mut dyn DataSink, flags: u32, nonblock: bool) -> Result<Received> {
        if flags & msg::OOB != 0 {
            return_errno!(EOPNOTSUPP);
        }
        if !matches!(self.state.lock().conn, Conn::Connected(_)) {
            return_errno!(EINVAL);
        }
        let peek = flags & msg::PEEK != 0;
        let want = dst.len();
        let target = if flags & msg::WAITALL != 0 {
            want.max(1)
        } else {
            1
        };
        let passcred = self.opts.passcred();
        let deadline = Deadline::after(self.opts.rcvtimeo());
        let mut out = Received::default();
        let mut copied = 0;
        let mut cred: Option<UCred> = None;
        loop {
            // Take what is there (at most a chunk) under the lock; copy it
            // to the user after.
            let mut chunk: Vec<u8> = Vec::new();
            let mut done_msgs: Vec<Message> = Vec::new();
            let mut stop = false;
            let more = wait_for(
                &self.shared.wait,
                nonblock && copied == 0,
                &deadline,
                || {
                    let mut st = self.state.lock();
                    let unread: usize = st.rx.iter().map(|m| m.unread().len()).sum();
                    let avail = if peek {
                        unread.saturating_sub(copied)
                    } else {
                        unread
                    };
                    if avail > 0 || (want == 0 && !st.rx.is_empty()) {
                        return Some(Ok(true));
                    }
                    if copied >= target {
                        return Some(Ok(false));
                    }
                    if let Some(e) = st.error.take() {
                        return Some(Err(Error::new(e)));
                    }
                    if st.shutdown & RCV_SHUTDOWN != 0 || (copied > 0 && nonblock) {
                        return Some(Ok(false));
                    }
                    None
                },
            );
            match more {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) if copied > 0 && (is_partial_stop(&e) || e.errno() == ECONNRESET) => break,
                Err(e) => return Err(e),
            }
            {
                let mut st = self.state.lock();
                let mut skip = if peek { copied } else { 0 };
                let mut i = 0;
                while i < st.rx.len() && copied + chunk.len() < want.max(1) {
                    let m = &mut st.rx[i];
                    if passcred {
                        match cred {
                            Some(c) if c != m.cred => {
                                stop = true;
                                break;
                            }
                            _ => cred = Some(m.cred),
                        }
                    }
                    let avail = m.unread().len();
                    if skip >= avail && peek {
                        skip -= avail;
                        i += 1;
                        if m.has_files() {
                            stop = true;
                            break;
                        }
                        continue;
                    }
                    let n = (avail - skip)
                        .min(want - copied - chunk.len())
                        .min(STREAM_CHUNK - chunk.len());
                    if chunk.try_reserve(n).is_err() {
                        stop = true;
                        break;
                    }
                    chunk.extend_from_slice(&m.unread()[skip..skip + n]);
                    skip = 0;
                    let has_files = m.has_files();
                    if peek {
                        if has_files {
                            out.ancillary.files = m.clone_files();
                            stop = true;
                            break;
                        }
                        i += 1;
                    } else {
                        m.read += n;
                        if has_files {
                            out.ancillary.files = m.take_files();
                        }
                        if !m.unread().is_empty() {
                            // Room ran out first.
                            break;
                        }
                        if let Some(m) = st.rx.pop_front() {
                            done_msgs.push(m);
                        }
                        if has_files {
                            stop = true;
                            break;
                        }
                    }
                    if chunk.len() >= STREAM_CHUNK || want == 0 {
                        break;
                    }
                }
            }
            drop(done_msgs);
            if let Err(e) = dst.write_at(copied, &chunk) {
                if copied == 0 {
                    return Err(e);
                }
                break;
            }
            copied += chunk.len();
            self.wake();
            if stop || copied >= want || chunk.is_empty() {
                break;
            }
        }
        out.len = copied;
        if passcred {
            out.ancillary.creds = Some(cred.unwrap_or(UCred::NONE));
        }
        if let Some(p) = self.peer() {
            out.addr = p.name_raw_opt().unwrap_or_default();
        }
        Ok(out)
    }

    fn recv_dgram(&self, dst: &mut dyn DataSink, flags: u32, nonblock: bool) -> Result<Received> {
        if flags & msg::OOB != 0 {
            return_errno!(EOPNOTSUPP);
        }
        if self.ty == SockType::SeqPacket && !matches!(self.state.lock().conn, Conn::Connected(_)) {
            return_errno!(ENOTCONN);
        }
        let peek = flags & msg::PEEK != 0;
        let deadline = Deadline::after(self.opts.rcvtimeo());
        // (data, files, cred, from), or None for end of file.
        let got = wait_for(&self.shared.wait, nonblock, &deadline, || {
            let mut st = self.state.lock();
            if peek {
                if let Some(m) = st.rx.front() {
                    let mut data = Vec::new();
                    if data.try_reserve_exact(m.data.len()).is_err() {
                        return Some(Err(Error::new(ENOMEM)));
                    }
                    data.extend_from_slice(&m.data);
                    return Some(Ok(Some((
                        data,
                        m.clone_files(),
                        m.cred,
                        m.from.clone(),
                        None,
                    ))));
                }
            } else if let Some(mut m) = st.rx.pop_front() {
                let data = core::mem::take(&mut m.data);
                let files = m.take_files();
                let (cred, from) = (m.cred, m.from.clone());
                return Some(Ok(Some((data, files, cred, from, Some(m)))));
            }
            if let Some(e) = st.error.take() {
                return Some(Err(Error::new(e)));
            }
            if st.shutdown & RCV_SHUTDOWN != 0 {
                return Some(Ok(None));
            }
            None
        })?;
        let Some((data, files, cred, from, consumed)) = got else {
            return Ok(Received::default());
        };
        drop(consumed);
        self.wake();
        let n = data.len().min(dst.len());
        dst.write_at(0, &data[..n])?;
        let mut out = Received {
            len: n,
            ..Received::default()
        };
        if data.len() > n {
            out.flags |= msg::TRUNC;
            if flags & msg::TRUNC != 0 {
                out.len = data.len();
            }
        }
        out.addr = from.map(|a| a.to_raw()).unwrap_or_default();
        out.ancillary = Ancillary {
            files,
            creds: self.opts.passcred().then_some(cred),
        };
        Ok(out)
    }

    fn name_raw_opt(&self) -> Option<Vec<u8>> {
        self.state.lock().addr.as_ref().map(|a| a.to_raw())
    }

    /// Releases a socket: also for embryos never accepted, whose client
    /// sees the connection reset.
    fn release_inner(&self, embryo: bool) {
        let nested = RELEASING.fetch_add(1, Ordering::AcqRel) > 0;
        let (binding, conn, rx) = {
            let mut st = self.state.lock();
            if st.released {
                drop(st);
                finish_release();
                return;
            }
            st.released = true;
            st.shutdown = SHUTDOWN_MASK;
            let unread = !st.rx.is_empty();
            // Inside another release, the queue (which may hold sockets
            // that hold sockets...) is left for the outermost one to drop.
            let rx = if nested {
                VecDeque::new()
            } else {
                core::mem::take(&mut st.rx)
            };
            (
                st.binding.take(),
                core::mem::replace(&mut st.conn, Conn::None),
                (rx, unread),
            )
        };
        let (rx, unread) = rx;
        if nested && unread {
            self.park();
        }
        if let Some(b) = &binding {
            addr::unbind(b);
        }
        match &conn {
            Conn::Listening { backlog, .. } => {
                for e in backlog {
                    e.release_inner(true);
                }
            }
            Conn::Connected(peer) if self.connection_oriented() => {
                {
                    let mut st = peer.state.lock();
                    st.shutdown = SHUTDOWN_MASK;
                    if unread || embryo {
                        st.error = Some(ECONNRESET);
                    }
                }
                peer.wake();
            }
            _ => {}
        }
        drop(conn);
        drop(rx);
        drop(binding);
        self.wake();
        finish_release();
    }

    /// Puts this released socket on the list whose queues the outermost
    /// release drops.
    fn park(&self) {
        let Some(me) = self.this.upgrade() else {
            return;
        };
        let mut head = PARKED.lock();
        *self.parked_next.lock() = head.take();
        *head = Some(me);
    }
}

/// Releases in progress. Dropping a queue drops the files in it, which
/// may release sockets whose queues hold more sockets, without bound: so
/// a release inside another leaves its queue on [`PARKED`], and the
/// outermost release drops those queues one after another.
static RELEASING: AtomicUsize = AtomicUsize::new(0);
/// Released sockets whose queues are still to be dropped, linked through
/// `parked_next` (no allocation on this path).
static PARKED: SpinLock<Option<Arc<UnixSocket>>> = SpinLock::new(None);

/// Ends a release; the last one to end drops the parked queues.
fn finish_release() {
    loop {
        if RELEASING.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let next = {
            let mut head = PARKED.lock();
            let s = head.take();
            if let Some(s) = &s {
                *head = s.parked_next.lock().take();
            }
            s
        };
        let Some(sock) = next else {
            return;
        };
        RELEASING.fetch_add(1, Ordering::AcqRel);
        let rx = core::mem::take(&mut sock.state.lock().rx);
        drop(rx);
        drop(sock);
    }
}

impl Socket for UnixSocket {
    fn domain(&self) -> u16 {
        family::AF_UNIX
    }

    fn sock_type(&self) -> SockType {
        self.ty
    }

    fn bind(&self, raw: &[u8]) -> Result<()> {
        let addr = UnixAddr::parse_bind(raw)?;
        let me = self.me()?;
        {
            let mut st = self.state.lock();
            if st.addr.is_some() || st.binding_now {
                return_errno!(EINVAL);
            }
            st.binding_now = true;
        }
        let r = match &addr {
            None => addr::autobind(&me),
            Some(a @ UnixAddr::Abstract(n)) => addr::bind_abstract(n, &me).map(|b| (a.clone(), b)),
            Some(a @ UnixAddr::Path(p)) => addr::bind_path(p, &me).map(|b| (a.clone(), b)),
        };
        let mut st = self.state.lock();
        st.binding_now = false;
        let (a, b) = r?;
        st.addr = Some(a);
        st.binding = Some(b);
        Ok(())
    }

    fn listen(&self, backlog: i32) -> Result<()> {
        if !self.connection_oriented() {
            return_errno!(EOPNOTSUPP);
        }
        let max = (backlog as u32 as usize).min(SOMAXCONN);
        {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            if st.addr.is_none() {
                return_errno!(EINVAL);
            }
            match &mut st.conn {
                Conn::None if !st.connecting => {}
                Conn::Listening { max: m, .. } => *m = max,
                _ => return_errno!(EINVAL),
            }
            if matches!(st.conn, Conn::None) {
                st.conn = Conn::Listening {
                    backlog: VecDeque::new(),
                    max,
                };
                st.peer_cred = Some(UCred::current_effective());
            }
        }
        self.wake();
        Ok(())
    }

    fn accept(&self, nonblock: bool) -> Result<(Arc<dyn Socket>, Vec<u8>)> {
        if !self.connection_oriented() {
            return_errno!(EOPNOTSUPP);
        }
        let deadline = Deadline::after(self.opts.rcvtimeo());
        let new = wait_for(&self.shared.wait, nonblock, &deadline, || {
            let mut st = self.state.lock();
            match &mut st.conn {
                Conn::Listening { backlog, .. } => backlog.pop_front().map(Ok),
                _ => Some(Err(Error::new(EINVAL))),
            }
        })?;
        self.wake();
        let peer_addr = new
            .peer()
            .and_then(|p| p.name_raw_opt())
            .unwrap_or_else(addr::unnamed_raw);
        Ok((new, peer_addr))
    }

    fn connect(&self, raw: &[u8], nonblock: bool) -> Result<()> {
        match self.ty {
            SockType::Dgram => self.connect_dgram(raw),
            _ => self.connect_stream(raw, nonblock),
        }
    }

    fn send(&self, src: &mut dyn DataSource, args: SendArgs) -> Result<usize> {
        match self.ty {
            SockType::Stream => self.send_stream(src, args),
            _ => self.send_dgram(src, args),
        }
    }

    fn recv(&self, dst: &mut dyn DataSink, flags: u32, nonblock: bool) -> Result<Received> {
        match self.ty {
            SockType::Stream => self.recv_stream(dst, flags, nonblock),
            _ => self.recv_dgram(dst, flags, nonblock),
        }
    }

    fn shutdown(&self, how: i32) -> Result<()> {
        // SHUT_RD, SHUT_WR, SHUT_RDWR become RCV, SEND, both.
        if !(0..=2).contains(&how) {
            return_errno!(EINVAL);
        }
        let mode = (how + 1) as u8;
        let peer = {
            let mut st = self.state.lock();
            st.shutdown |= mode;
            match &st.conn {
                Conn::Connected(p) if self.connection_oriented() => Some(p.clone()),
                _ => None,
            }
        };
        if let Some(p) = peer {
            let mut peer_mode = 0;
            if mode & RCV_SHUTDOWN != 0 {
                peer_mode |= SEND_SHUTDOWN;
            }
            if mode & SEND_SHUTDOWN != 0 {
                peer_mode |= RCV_SHUTDOWN;
            }
            p.state.lock().shutdown |= peer_mode;
            p.wake();
        }
        self.wake();
        Ok(())
    }

    fn name(&self) -> Vec<u8> {
        self.name_raw_opt().unwrap_or_else(addr::unnamed_raw)
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        let p = self.peer().ok_or(Error::new(ENOTCONN))?;
        Ok(p.name_raw_opt().unwrap_or_else(addr::unnamed_raw))
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        if level != SOL_SOCKET {
            return_errno!(EOPNOTSUPP);
        }
        let int = |v: i32| Ok(v.to_le_bytes().to_vec());
        match name {
            so::TYPE => int(self.ty.raw()),
            so::DOMAIN => int(family::AF_UNIX as i32),
            so::PROTOCOL => int(0),
            so::ACCEPTCONN => int(matches!(self.state.lock().conn, Conn::Listening { .. }) as i32),
            so::ERROR => int(self.state.lock().error.take().map_or(0, |e| e.0 as i32)),
            so::PEERCRED => {
                let c = self.state.lock().peer_cred.unwrap_or(UCred::NONE);
                Ok(c.to_bytes().to_vec())
            }
            _ => self.opts.get(name).ok_or(Error::new(ENOPROTOOPT)),
        }
    }

    fn set_option(&self, level: i32, name: i32, value: &[u8]) -> Result<()> {
        if level != SOL_SOCKET {
            return_errno!(EOPNOTSUPP);
        }
        if value.len() < 4 {
            return_errno!(EINVAL);
        }
        let r = self.opts.set(name, value).ok_or(Error::new(ENOPROTOOPT))?;
        self.wake();
        r
    }

    fn poll(&self) -> IoEvents {
        let (mut ev, dgram_peer) = {
            let st = self.state.lock();
            let mut ev = IoEvents::empty();
            if st.error.is_some() {
                ev |= IoEvents::ERR;
            }
            if st.shutdown == SHUTDOWN_MASK {
                ev |= IoEvents::HUP;
            }
            if st.shutdown & RCV_SHUTDOWN != 0 {
                ev |= IoEvents::RDHUP | IoEvents::IN | IoEvents::RDNORM;
            }
            let listening = matches!(st.conn, Conn::Listening { .. });
            match &st.conn {
                Conn::Listening { backlog, .. } if !backlog.is_empty() => {
                    ev |= IoEvents::IN | IoEvents::RDNORM;
                }
                _ if !st.rx.is_empty() => ev |= IoEvents::IN | IoEvents::RDNORM,
                _ => {}
            }
            if self.connection_oriented() && matches!(st.conn, Conn::None) {
                ev |= IoEvents::HUP;
            }
            let writable =
                !listening && self.shared.wmem.load(Ordering::Acquire) * 4 <= self.opts.sndbuf();
            if writable {
                ev |= IoEvents::OUT | IoEvents::WRNORM;
            }
            let dgram_peer = match &st.conn {
                Conn::Connected(p) if writable && self.ty == SockType::Dgram => Some(p.clone()),
                _ => None,
            };
            (ev, dgram_peer)
        };
        // A datagram peer not connected back to us may have its queue full.
        if let Some(p) = dgram_peer {
            let full = {
                let st = p.state.lock();
                let back = matches!(&st.conn, Conn::Connected(q) if core::ptr::eq(&**q, self));
                !back && st.rx.len() > MAX_DGRAM_QLEN
            };
            if full {
                ev.remove(IoEvents::OUT | IoEvents::WRNORM);
            }
        }
        ev
    }

    fn bytes_readable(&self) -> usize {
        let st = self.state.lock();
        match self.ty {
            SockType::Stream => st.rx.iter().map(|m| m.unread().len()).sum(),
            _ => st.rx.front().map_or(0, |m| m.data.len()),
        }
    }

    fn release(&self) {
        self.release_inner(false);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
