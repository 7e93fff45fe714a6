//! TCP sockets.
//!
//! A listening socket keeps one stack socket listening per backlog slot:
//! a connection arriving takes one, and `accept` hands it out and puts a
//! fresh one in its place. A closed connection is left to the stack to
//! finish (FIN and its ACK) and is then dropped.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, Ordering};

use ostd::sync::SpinLock;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{Socket as StackSocket, SocketBuffer, State as TcpState};
use smoltcp::wire::{IpEndpoint, IpListenEndpoint};

use super::{
    Binding, Family, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, Proto, SockAddr, Stack, check_local,
    encode_addr, inspect_stack, parse_addr, remote, with_existing_stack, with_stack,
};
use crate::fs::poll::IoEvents;
use crate::net::options::{SOL_SOCKET, SocketOptions, read_i32, so};
use crate::net::{
    DataSink, DataSource, Deadline, Received, SendArgs, SockType, Socket, alloc_data,
    is_partial_stop, msg, raise_sigpipe,
};
use crate::prelude::*;

/// Bytes of each stack socket's receive and send buffers.
const BUFFER: usize = 64 * 1024;
/// Stack sockets a listener keeps at most.
const MAX_BACKLOG: usize = 32;
/// `TCP_NODELAY`.
const TCP_NODELAY: i32 = 1;
/// Largest piece moved through a kernel buffer at once.
const CHUNK: usize = 64 * 1024;

enum Conn {
    /// Not connected (maybe bound).
    Idle,
    /// Listening on stack sockets, one per backlog slot.
    Listening(Vec<SocketHandle>),
    /// `connect` started.
    Connecting(SocketHandle),
    /// Connected.
    Connected(SocketHandle),
}

struct Inner {
    binding: Option<Binding>,
    conn: Conn,
    /// `SO_ERROR`.
    error: Option<Errno>,
    shut_rd: bool,
    released: bool,
}

/// A TCP socket.
pub struct TcpSocket {
    family: Family,
    inner: SpinLock<Inner>,
    opts: SocketOptions,
    nodelay: AtomicBool,
}

/// A stack socket with buffers of [`BUFFER`] bytes (`ENOMEM` without
/// memory for them).
fn new_stack_socket() -> Result<StackSocket<'static>> {
    let rx = alloc_data(BUFFER)?;
    let tx = alloc_data(BUFFER)?;
    Ok(StackSocket::new(
        SocketBuffer::new(rx),
        SocketBuffer::new(tx),
    ))
}

impl TcpSocket {
    /// A new socket of `family`.
    pub fn new(family: Family) -> Arc<TcpSocket> {
        Arc::new(TcpSocket {
            family,
            inner: SpinLock::new(Inner {
                binding: None,
                conn: Conn::Idle,
                error: None,
                shut_rd: false,
                released: false,
            }),
            opts: SocketOptions::new(),
            nodelay: AtomicBool::new(false),
        })
    }

    fn connected(family: Family, handle: SocketHandle) -> Arc<TcpSocket> {
        let s = Self::new(family);
        s.inner.lock().conn = Conn::Connected(handle);
        s
    }

    fn handle(&self) -> Option<SocketHandle> {
        match self.inner.lock().conn {
            Conn::Connected(h) | Conn::Connecting(h) => Some(h),
            _ => None,
        }
    }

    /// Binds to an ephemeral port if unbound.
    fn ensure_bound(&self, stack: &mut Stack, inner: &mut Inner) -> Result<Binding> {
        if let Some(b) = inner.binding {
            return Ok(b);
        }
        let b = stack.bind(Proto::Tcp, None, 0, false)?;
        inner.binding = Some(b);
        Ok(b)
    }

    fn local_endpoint(&self) -> IpEndpoint {
        let inner = self.inner.lock();
        let (addr, port) = inner.binding.map_or((None, 0), |b| (b.addr, b.port));
        let conn_local = match inner.conn {
            Conn::Connected(h) | Conn::Connecting(h) => Some(h),
            _ => None,
        };
        drop(inner);
        if let Some(h) = conn_local
            && let Some(Some(ep)) =
                inspect_stack(|s| s.sockets().get::<StackSocket>(h).local_endpoint())
        {
            return ep;
        }
        IpEndpoint::new(addr.unwrap_or(self.family.any()), port)
    }

    /// Settles a connection attempt: `Ok(true)` once connected, the error
    /// if it failed, `Ok(false)` while it goes on.
    fn settle_connect(&self, stack: &mut Stack) -> Result<bool> {
        let mut inner = self.inner.lock();
        let Conn::Connecting(h) = inner.conn else {
            return Ok(matches!(inner.conn, Conn::Connected(_)));
        };
        let state = stack.sockets().get::<StackSocket>(h).state();
        match state {
            TcpState::SynSent | TcpState::SynReceived => Ok(false),
            TcpState::Closed => {
                stack.sockets().remove(h);
                inner.conn = Conn::Idle;
                if let Some(b) = inner.binding.take() {
                    stack.unbind(&b);
                }
                inner.error = None;
                Err(Error::new(ECONNREFUSED))
            }
            _ => {
                inner.conn = Conn::Connected(h);
                Ok(true)
            }
        }
    }

    fn send_data(&self, src: &mut dyn DataSource, args: &SendArgs) -> Result<usize> {
        let h = match self.inner.lock().conn {
            Conn::Connected(h) => h,
            _ => return_errno!(EPIPE),
        };
        let total = src.len();
        let deadline = Deadline::after(self.opts.sndtimeo());
        let mut sent = 0;
        let mut chunk: Vec<u8> = Vec::new();
        let mut chunk_off = 0;
        loop {
            if chunk_off == chunk.len() {
                if sent >= total {
                    break;
                }
                let n = (total - sent).min(CHUNK);
                chunk = match alloc_data(n) {
                    Ok(c) => c,
                    Err(e) => return if sent > 0 { Ok(sent) } else { Err(e) },
                };
                if let Err(e) = src.read_at(sent, &mut chunk) {
                    return if sent > 0 { Ok(sent) } else { Err(e) };
                }
                chunk_off = 0;
            }
            let r = super::wait_for(args.nonblock, &deadline, |stack| {
                let s = stack.sockets().get_mut::<StackSocket>(h);
                if !s.may_send() {
                    return Some(Err(Error::new(EPIPE)));
                }
                match s.send_slice(&chunk[chunk_off..]) {
                    Ok(0) => None,
                    Ok(n) => {
                        stack.poll();
                        Some(Ok(n))
                    }
                    Err(_) => Some(Err(Error::new(EPIPE))),
                }
            });
            match r {
                Ok(n) => {
                    chunk_off += n;
                    sent += n;
                    super::wake_waiters();
                }
                Err(e) if e.errno() == EPIPE => {
                    if sent > 0 {
                        return Ok(sent);
                    }
                    if args.flags & msg::NOSIGNAL == 0 {
                        raise_sigpipe();
                    }
                    return Err(e);
                }
                Err(e) if sent > 0 && is_partial_stop(&e) => return Ok(sent),
                Err(e) => return Err(e),
            }
        }
        Ok(sent)
    }

    fn recv_data(&self, dst: &mut dyn DataSink, flags: u32, nonblock: bool) -> Result<Received> {
        let (h, shut_rd) = {
            let inner = self.inner.lock();
            match inner.conn {
                Conn::Connected(h) => (h, inner.shut_rd),
                _ => return_errno!(ENOTCONN),
            }
        };
        let want = dst.len();
        let peek = flags & msg::PEEK != 0;
        let target = if flags & msg::WAITALL != 0 && !peek {
            want
        } else {
            want.min(1)
        };
        let deadline = Deadline::after(self.opts.rcvtimeo());
        let mut copied = 0;
        loop {
            let cap = (want - copied).min(CHUNK);
            let mut buf = alloc_data(cap)?;
            let r = super::wait_for(nonblock && copied == 0, &deadline, |stack| {
                let s = stack.sockets().get_mut::<StackSocket>(h);
                if s.can_recv() {
                    let n = if peek {
                        s.peek_slice(&mut buf).unwrap_or(0)
                    } else {
                        s.recv_slice(&mut buf).unwrap_or(0)
                    };
                    if n > 0 {
                        stack.poll();
                        return Some(Ok(n));
                    }
                }
                if !s.may_recv() || shut_rd || cap == 0 || copied >= target {
                    return Some(Ok(0));
                }
                if copied > 0 && nonblock {
                    return Some(Ok(0));
                }
                None
            });
            let n = match r {
                Ok(n) => n,
                Err(e) if copied > 0 && is_partial_stop(&e) => break,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            super::wake_waiters();
            if let Err(e) = dst.write_at(copied, &buf[..n]) {
                if copied == 0 {
                    return Err(e);
                }
                break;
            }
            copied += n;
            if peek || copied >= want || copied >= target && !self.readable_now(h) {
                break;
            }
        }
        Ok(Received {
            len: copied,
            ..Received::default()
        })
    }

    fn readable_now(&self, h: SocketHandle) -> bool {
        inspect_stack(|s| s.sockets().get::<StackSocket>(h).can_recv()).unwrap_or(false)
    }
}

impl Socket for TcpSocket {
    fn domain(&self) -> u16 {
        self.family.raw()
    }

    fn sock_type(&self) -> SockType {
        SockType::Stream
    }

    fn protocol(&self) -> i32 {
        IPPROTO_TCP
    }

    fn bind(&self, raw: &[u8]) -> Result<()> {
        let SockAddr::Ip(ep) = parse_addr(raw, self.family)? else {
            return_errno!(EAFNOSUPPORT);
        };
        let addr = check_local(ep.addr)?;
        super::check_bind_port(ep.port)?;
        let reuse = self.opts.reuseaddr();
        // Lock order everywhere: the stack, then the socket.
        with_stack(|stack| {
            let mut inner = self.inner.lock();
            if inner.binding.is_some() || !matches!(inner.conn, Conn::Idle) {
                return_errno!(EINVAL);
            }
            inner.binding = Some(stack.bind(Proto::Tcp, addr, ep.port, reuse)?);
            Ok(())
        })?
    }

    fn listen(&self, backlog: i32) -> Result<()> {
        let slots = (backlog.max(0) as usize + 1).min(MAX_BACKLOG);
        let mut fresh = Vec::new();
        for _ in 0..slots {
            fresh.push(new_stack_socket()?);
        }
        with_stack(|stack| -> Result<()> {
            let mut guard = self.inner.lock();
            let inner = &mut *guard;
            match inner.conn {
                Conn::Idle | Conn::Listening(_) => {}
                _ => return_errno!(EINVAL),
            }
            let b = self.ensure_bound(stack, inner)?;
            stack.set_listening(&b);
            let ep = IpListenEndpoint {
                addr: b.addr,
                port: b.port,
            };
            let mut handles = match core::mem::replace(&mut inner.conn, Conn::Idle) {
                Conn::Listening(h) => h,
                _ => Vec::new(),
            };
            for mut s in fresh {
                if handles.len() >= slots {
                    break;
                }
                if s.listen(ep).is_err() {
                    continue;
                }
                handles.push(stack.sockets().add(s));
            }
            inner.conn = Conn::Listening(handles);
            Ok(())
        })??;
        Ok(())
    }

    fn accept(&self, nonblock: bool) -> Result<(Arc<dyn Socket>, Vec<u8>)> {
        if !matches!(self.inner.lock().conn, Conn::Listening(_)) {
            return_errno!(EINVAL);
        }
        let fresh = new_stack_socket()?;
        let mut fresh = Some(fresh);
        let deadline = Deadline::after(self.opts.rcvtimeo());
        let (h, peer) = super::wait_for(nonblock, &deadline, |stack| {
            let mut inner = self.inner.lock();
            let Conn::Listening(handles) = &mut inner.conn else {
                return Some(Err(Error::new(EINVAL)));
            };
            let pos = handles.iter().position(|&h| {
                let s = stack.sockets().get::<StackSocket>(h);
                !matches!(
                    s.state(),
                    TcpState::Listen | TcpState::SynReceived | TcpState::Closed
                )
            })?;
            let h = handles.remove(pos);
            let peer = stack.sockets().get::<StackSocket>(h).remote_endpoint();
            let ep = stack.sockets().get::<StackSocket>(h).listen_endpoint();
            if let Some(mut s) = fresh.take()
                && s.listen(ep).is_ok()
            {
                handles.push(stack.sockets().add(s));
            }
            Some(Ok((h, peer)))
        })?;
        let new = TcpSocket::connected(self.family, h);
        new.nodelay
            .store(self.nodelay.load(Ordering::Relaxed), Ordering::Relaxed);
        let peer = peer.map_or_else(
            || encode_addr(self.family, IpEndpoint::new(self.family.any(), 0)),
            |p| encode_addr(self.family, p),
        );
        Ok((new, peer))
    }

    fn connect(&self, raw: &[u8], nonblock: bool) -> Result<()> {
        let ep = match parse_addr(raw, self.family)? {
            SockAddr::Ip(ep) => remote(self.family, ep)?,
            SockAddr::Unspec => return_errno!(EAFNOSUPPORT),
        };
        if ep.port == 0 {
            return_errno!(ECONNREFUSED);
        }
        let mut sock = new_stack_socket()?;
        sock.set_nagle_enabled(!self.nodelay.load(Ordering::Relaxed));
        with_stack(|stack| -> Result<()> {
            let mut guard = self.inner.lock();
            let inner = &mut *guard;
            match inner.conn {
                Conn::Connecting(_) => return_errno!(EALREADY),
                Conn::Connected(_) => return_errno!(EISCONN),
                Conn::Listening(_) => return_errno!(EINVAL),
                Conn::Idle => {}
            }
            let b = self.ensure_bound(stack, inner)?;
            let local = IpListenEndpoint {
                addr: b.addr,
                port: b.port,
            };
            let (cx, _) = stack.context_and_sockets();
            sock.connect(cx, ep, local)
                .map_err(|_| Error::new(EADDRNOTAVAIL))?;
            inner.conn = Conn::Connecting(stack.sockets().add(sock));
            Ok(())
        })??;
        let deadline = Deadline::after(self.opts.sndtimeo());
        let r = super::wait_for(false, &deadline, |stack| match self.settle_connect(stack) {
            Ok(true) => Some(Ok(())),
            Ok(false) if nonblock => Some(Err(Error::new(EINPROGRESS))),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        });
        match r {
            Err(e) if e.errno() == EAGAIN => return_errno!(EINPROGRESS),
            Err(e) if e.errno() == ERESTARTSYS => return_errno!(EINTR),
            other => other,
        }
    }

    fn send(&self, src: &mut dyn DataSource, args: SendArgs) -> Result<usize> {
        if args.flags & msg::OOB != 0 {
            return_errno!(EOPNOTSUPP);
        }
        match self.inner.lock().conn {
            Conn::Connected(_) => {}
            Conn::Connecting(_) if args.nonblock => return_errno!(EAGAIN),
            _ => {
                if args.flags & msg::NOSIGNAL == 0 {
                    raise_sigpipe();
                }
                return_errno!(EPIPE)
            }
        }
        self.send_data(src, &args)
    }

    fn recv(&self, dst: &mut dyn DataSink, flags: u32, nonblock: bool) -> Result<Received> {
        if flags & msg::OOB != 0 {
            return_errno!(EINVAL);
        }
        self.recv_data(dst, flags, nonblock)
    }

    fn shutdown(&self, how: i32) -> Result<()> {
        if !(0..=2).contains(&how) {
            return_errno!(EINVAL);
        }
        let h = {
            let mut inner = self.inner.lock();
            let h = match inner.conn {
                Conn::Connected(h) => h,
                _ => return_errno!(ENOTCONN),
            };
            if how != 1 {
                inner.shut_rd = true;
            }
            h
        };
        if how != 0 {
            with_stack(|s| s.sockets().get_mut::<StackSocket>(h).close())?;
        } else {
            super::wake_waiters();
        }
        Ok(())
    }

    fn name(&self) -> Vec<u8> {
        encode_addr(self.family, self.local_endpoint())
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        let h = match self.inner.lock().conn {
            Conn::Connected(h) => h,
            _ => return_errno!(ENOTCONN),
        };
        let ep = inspect_stack(|s| s.sockets().get::<StackSocket>(h).remote_endpoint())
            .flatten()
            .ok_or(Error::new(ENOTCONN))?;
        Ok(encode_addr(self.family, ep))
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        let int = |v: i32| Ok(v.to_le_bytes().to_vec());
        match level {
            SOL_SOCKET => match name {
                so::TYPE => int(SockType::Stream.raw()),
                so::DOMAIN => int(self.family.raw() as i32),
                so::PROTOCOL => int(IPPROTO_TCP),
                so::ACCEPTCONN => int(matches!(self.inner.lock().conn, Conn::Listening(_)) as i32),
                so::ERROR => {
                    let pending = self.inner.lock().error.take();
                    let e = match pending {
                        Some(e) => Some(e),
                        None => with_stack(|s| self.settle_connect(s).err())?.map(|e| e.errno()),
                    };
                    int(e.map_or(0, |e| e.0 as i32))
                }
                so::PEERCRED => return_errno!(ENOPROTOOPT),
                _ => self.opts.get(name).ok_or(Error::new(ENOPROTOOPT)),
            },
            IPPROTO_TCP => match name {
                TCP_NODELAY => int(self.nodelay.load(Ordering::Relaxed) as i32),
                _ => return_errno!(ENOPROTOOPT),
            },
            IPPROTO_IP | IPPROTO_IPV6 => return_errno!(ENOPROTOOPT),
            _ => return_errno!(EOPNOTSUPP),
        }
    }

    fn set_option(&self, level: i32, name: i32, value: &[u8]) -> Result<()> {
        if value.len() < 4 {
            return_errno!(EINVAL);
        }
        match level {
            SOL_SOCKET => self.opts.set(name, value).ok_or(Error::new(ENOPROTOOPT))?,
            IPPROTO_TCP => match name {
                TCP_NODELAY => {
                    let on = read_i32(value) != 0;
                    self.nodelay.store(on, Ordering::Relaxed);
                    if let Some(h) = self.handle() {
                        with_stack(|s| {
                            s.sockets().get_mut::<StackSocket>(h).set_nagle_enabled(!on)
                        })?;
                    }
                    Ok(())
                }
                _ => return_errno!(ENOPROTOOPT),
            },
            IPPROTO_IP | IPPROTO_IPV6 => Ok(()),
            _ => return_errno!(ENOPROTOOPT),
        }
    }

    fn poll(&self) -> IoEvents {
        let inner = self.inner.lock();
        let err = inner.error.is_some();
        let shut_rd = inner.shut_rd;
        let conn = match &inner.conn {
            Conn::Idle => None,
            Conn::Listening(hs) => Some((hs.clone(), true)),
            Conn::Connecting(h) | Conn::Connected(h) => Some((alloc::vec![*h], false)),
        };
        drop(inner);
        let mut ev = IoEvents::empty();
        if err {
            ev |= IoEvents::ERR;
        }
        let Some((handles, listening)) = conn else {
            return ev | IoEvents::OUT | IoEvents::HUP;
        };
        let r = inspect_stack(|stack| {
            let mut ev = IoEvents::empty();
            if listening {
                let ready = handles.iter().any(|&h| {
                    !matches!(
                        stack.sockets().get::<StackSocket>(h).state(),
                        TcpState::Listen | TcpState::SynReceived | TcpState::Closed
                    )
                });
                if ready {
                    ev |= IoEvents::IN | IoEvents::RDNORM;
                }
                return ev;
            }
            let s = stack.sockets().get::<StackSocket>(handles[0]);
            match s.state() {
                TcpState::SynSent | TcpState::SynReceived => {}
                TcpState::Closed => ev |= IoEvents::OUT | IoEvents::ERR | IoEvents::HUP,
                _ => {
                    if s.can_recv() {
                        ev |= IoEvents::IN | IoEvents::RDNORM;
                    }
                    if !s.may_recv() || shut_rd {
                        ev |= IoEvents::IN | IoEvents::RDNORM | IoEvents::RDHUP;
                    }
                    if s.can_send() {
                        ev |= IoEvents::OUT | IoEvents::WRNORM;
                    }
                    if !s.may_recv() && !s.may_send() {
                        ev |= IoEvents::HUP;
                    }
                }
            }
            ev
        });
        ev | r.unwrap_or(IoEvents::ERR)
    }

    fn bytes_readable(&self) -> usize {
        match self.handle() {
            Some(h) => {
                inspect_stack(|s| s.sockets().get::<StackSocket>(h).recv_queue()).unwrap_or(0)
            }
            None => 0,
        }
    }

    fn release(&self) {
        let (binding, conn) = {
            let mut inner = self.inner.lock();
            if inner.released {
                return;
            }
            inner.released = true;
            (
                inner.binding.take(),
                core::mem::replace(&mut inner.conn, Conn::Idle),
            )
        };
        with_existing_stack(|stack| {
            if let Some(b) = &binding {
                stack.unbind(b);
            }
            match conn {
                Conn::Idle => {}
                Conn::Listening(handles) => {
                    for h in handles {
                        stack.sockets().get_mut::<StackSocket>(h).abort();
                        stack.orphan(h);
                    }
                }
                Conn::Connecting(h) | Conn::Connected(h) => {
                    let s = stack.sockets().get_mut::<StackSocket>(h);
                    // Unread data makes a close a reset, as on Linux.
                    if s.recv_queue() > 0 {
                        s.abort();
                    } else {
                        s.close();
                    }
                    stack.orphan(h);
                }
            }
        });
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
