//! UDP sockets.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use ostd::sync::SpinLock;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp::{PacketBuffer, PacketMetadata, Socket as StackSocket, UdpMetadata};
use smoltcp::wire::{IpEndpoint, IpListenEndpoint};

use super::{
    Binding, Family, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_UDP, Proto, SockAddr, Stack, check_local,
    encode_addr, inspect_stack, parse_addr, remote, with_existing_stack, with_stack,
};
use crate::fs::poll::IoEvents;
use crate::net::options::{SOL_SOCKET, SocketOptions, so};
use crate::net::{
    DataSink, DataSource, Deadline, Received, SendArgs, SockType, Socket, alloc_data, msg,
};
use crate::prelude::*;

/// Payload bytes each direction of a socket holds.
const PAYLOAD: usize = 128 * 1024;
/// Datagrams each direction holds.
const PACKETS: usize = 256;
/// The largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65507;

struct Inner {
    handle: Option<SocketHandle>,
    binding: Option<Binding>,
    /// `connect`: the default destination and the only source accepted.
    peer: Option<IpEndpoint>,
    released: bool,
}

/// A UDP socket.
pub struct UdpSocket {
    family: Family,
    inner: SpinLock<Inner>,
    opts: SocketOptions,
}

fn new_stack_socket() -> Result<StackSocket<'static>> {
    let meta = |n| {
        let mut v = Vec::new();
        v.try_reserve_exact(n).map_err(|_| Error::new(ENOMEM))?;
        v.resize(n, PacketMetadata::EMPTY);
        Ok::<_, Error>(v)
    };
    let rx = PacketBuffer::new(meta(PACKETS)?, alloc_data(PAYLOAD)?);
    let tx = PacketBuffer::new(meta(PACKETS)?, alloc_data(PAYLOAD)?);
    Ok(StackSocket::new(rx, tx))
}

impl UdpSocket {
    /// A new socket of `family`.
    pub fn new(family: Family) -> Arc<UdpSocket> {
        Arc::new(UdpSocket {
            family,
            inner: SpinLock::new(Inner {
                handle: None,
                binding: None,
                peer: None,
                released: false,
            }),
            opts: SocketOptions::new(),
        })
    }

    /// Binds (to an ephemeral port if `port` is 0) and opens the stack
    /// socket; `fresh` is the stack socket to use if there is none yet.
    fn bind_inner(
        &self,
        stack: &mut Stack,
        addr: Option<smoltcp::wire::IpAddress>,
        port: u16,
        fresh: StackSocket<'static>,
    ) -> Result<SocketHandle> {
        let mut inner = self.inner.lock();
        if let Some(h) = inner.handle {
            return Ok(h);
        }
        let b = stack.bind(Proto::Udp, addr, port, self.opts.reuseaddr())?;
        let mut s = fresh;
        if s.bind(IpListenEndpoint { addr, port: b.port }).is_err() {
            stack.unbind(&b);
            return_errno!(EINVAL);
        }
        let h = stack.sockets().add(s);
        inner.handle = Some(h);
        inner.binding = Some(b);
        Ok(h)
    }

    /// The stack socket, binding to an ephemeral port first if needed.
    fn ensure_bound(&self) -> Result<SocketHandle> {
        if let Some(h) = self.inner.lock().handle {
            return Ok(h);
        }
        let fresh = new_stack_socket()?;
        with_stack(|stack| self.bind_inner(stack, None, 0, fresh))?
    }
}

impl Socket for UdpSocket {
    fn domain(&self) -> u16 {
        self.family.raw()
    }

    fn sock_type(&self) -> SockType {
        SockType::Dgram
    }

    fn protocol(&self) -> i32 {
        IPPROTO_UDP
    }

    fn bind(&self, raw: &[u8]) -> Result<()> {
        let SockAddr::Ip(ep) = parse_addr(raw, self.family)? else {
            return_errno!(EAFNOSUPPORT);
        };
        let addr = check_local(ep.addr)?;
        super::check_bind_port(ep.port)?;
        if self.inner.lock().handle.is_some() {
            return_errno!(EINVAL);
        }
        let fresh = new_stack_socket()?;
        with_stack(|stack| {
            if self.inner.lock().handle.is_some() {
                return_errno!(EINVAL);
            }
            self.bind_inner(stack, addr, ep.port, fresh).map(|_| ())
        })?
    }

    fn listen(&self, _backlog: i32) -> Result<()> {
        return_errno!(EOPNOTSUPP)
    }

    fn accept(&self, _nonblock: bool) -> Result<(Arc<dyn Socket>, Vec<u8>)> {
        return_errno!(EOPNOTSUPP)
    }

    fn connect(&self, raw: &[u8], _nonblock: bool) -> Result<()> {
        match parse_addr(raw, self.family)? {
            SockAddr::Unspec => {
                self.inner.lock().peer = None;
                Ok(())
            }
            SockAddr::Ip(ep) => {
                let ep = remote(self.family, ep)?;
                self.ensure_bound()?;
                self.inner.lock().peer = Some(ep);
                Ok(())
            }
        }
    }

    fn send(&self, src: &mut dyn DataSource, args: SendArgs) -> Result<usize> {
        if args.flags & msg::OOB != 0 {
            return_errno!(EOPNOTSUPP);
        }
        let dest = match &args.addr {
            Some(raw) => match parse_addr(raw, self.family)? {
                SockAddr::Ip(ep) => remote(self.family, ep)?,
                SockAddr::Unspec => self.inner.lock().peer.ok_or(Error::new(EDESTADDRREQ))?,
            },
            None => self.inner.lock().peer.ok_or(Error::new(EDESTADDRREQ))?,
        };
        if dest.port == 0 {
            return_errno!(EINVAL);
        }
        let len = src.len();
        if len > MAX_DATAGRAM {
            return_errno!(EMSGSIZE);
        }
        let mut data = alloc_data(len)?;
        src.read_at(0, &mut data)?;
        let h = self.ensure_bound()?;
        let deadline = Deadline::after(self.opts.sndtimeo());
        super::wait_for(args.nonblock, &deadline, |stack| {
            let s = stack.sockets().get_mut::<StackSocket>(h);
            match s.send_slice(&data, UdpMetadata::from(dest)) {
                Ok(()) => {
                    stack.poll();
                    Some(Ok(len))
                }
                Err(smoltcp::socket::udp::SendError::BufferFull) => None,
                Err(_) => Some(Err(Error::new(ENETUNREACH))),
            }
        })
        .inspect(|_| super::wake_waiters())
    }

    fn recv(&self, dst: &mut dyn DataSink, flags: u32, nonblock: bool) -> Result<Received> {
        if flags & msg::OOB != 0 {
            return_errno!(EOPNOTSUPP);
        }
        let h = self.ensure_bound()?;
        let peek = flags & msg::PEEK != 0;
        let deadline = Deadline::after(self.opts.rcvtimeo());
        let (data, from) = super::wait_for(nonblock, &deadline, |stack| {
            let peer = self.inner.lock().peer;
            let s = stack.sockets().get_mut::<StackSocket>(h);
            loop {
                let (payload, meta) = match s.peek() {
                    Ok((p, m)) => (p, *m),
                    Err(_) => return None,
                };
                // A connected socket takes datagrams from its peer only.
                if peer.is_some_and(|p| p != meta.endpoint) {
                    let _ = s.recv();
                    continue;
                }
                let mut v = Vec::new();
                if v.try_reserve_exact(payload.len()).is_err() {
                    return Some(Err(Error::new(ENOMEM)));
                }
                v.extend_from_slice(payload);
                if !peek {
                    let _ = s.recv();
                }
                return Some(Ok((v, meta.endpoint)));
            }
        })?;
        super::wake_waiters();
        let n = data.len().min(dst.len());
        dst.write_at(0, &data[..n])?;
        let mut out = Received {
            len: n,
            addr: encode_addr(self.family, from),
            ..Received::default()
        };
        if data.len() > n {
            out.flags |= msg::TRUNC;
            if flags & msg::TRUNC != 0 {
                out.len = data.len();
            }
        }
        Ok(out)
    }

    fn shutdown(&self, how: i32) -> Result<()> {
        if !(0..=2).contains(&how) {
            return_errno!(EINVAL);
        }
        if self.inner.lock().peer.is_none() {
            return_errno!(ENOTCONN);
        }
        Ok(())
    }

    fn name(&self) -> Vec<u8> {
        let b = self.inner.lock().binding;
        let ep = b.map_or(IpEndpoint::new(self.family.any(), 0), |b| {
            IpEndpoint::new(b.addr.unwrap_or(self.family.any()), b.port)
        });
        encode_addr(self.family, ep)
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        let p = self.inner.lock().peer.ok_or(Error::new(ENOTCONN))?;
        Ok(encode_addr(self.family, p))
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        let int = |v: i32| Ok(v.to_le_bytes().to_vec());
        match level {
            SOL_SOCKET => match name {
                so::TYPE => int(SockType::Dgram.raw()),
                so::DOMAIN => int(self.family.raw() as i32),
                so::PROTOCOL => int(IPPROTO_UDP),
                so::ACCEPTCONN | so::ERROR => int(0),
                so::PEERCRED => return_errno!(ENOPROTOOPT),
                _ => self.opts.get(name).ok_or(Error::new(ENOPROTOOPT)),
            },
            IPPROTO_UDP | IPPROTO_IP | IPPROTO_IPV6 => return_errno!(ENOPROTOOPT),
            _ => return_errno!(EOPNOTSUPP),
        }
    }

    fn set_option(&self, level: i32, name: i32, value: &[u8]) -> Result<()> {
        if value.len() < 4 {
            return_errno!(EINVAL);
        }
        match level {
            SOL_SOCKET => self.opts.set(name, value).ok_or(Error::new(ENOPROTOOPT))?,
            IPPROTO_IP | IPPROTO_IPV6 => Ok(()),
            _ => return_errno!(ENOPROTOOPT),
        }
    }

    fn poll(&self) -> IoEvents {
        let Some(h) = self.inner.lock().handle else {
            return IoEvents::OUT | IoEvents::WRNORM;
        };
        inspect_stack(|stack| {
            let s = stack.sockets().get::<StackSocket>(h);
            let mut ev = IoEvents::empty();
            if s.can_recv() {
                ev |= IoEvents::IN | IoEvents::RDNORM;
            }
            if s.can_send() {
                ev |= IoEvents::OUT | IoEvents::WRNORM;
            }
            ev
        })
        .unwrap_or(IoEvents::ERR)
    }

    fn bytes_readable(&self) -> usize {
        let Some(h) = self.inner.lock().handle else {
            return 0;
        };
        inspect_stack(|stack| {
            stack
                .sockets()
                .get_mut::<StackSocket>(h)
                .peek()
                .map_or(0, |(p, _)| p.len())
        })
        .unwrap_or(0)
    }

    fn release(&self) {
        let (h, b) = {
            let mut inner = self.inner.lock();
            if inner.released {
                return;
            }
            inner.released = true;
            (inner.handle.take(), inner.binding.take())
        };
        with_existing_stack(|stack| {
            if let Some(b) = &b {
                stack.unbind(b);
            }
            if let Some(h) = h {
                stack.sockets().remove(h);
            }
        });
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
