//! IPv4 and IPv6 sockets (TCP and UDP) on the loopback interface, through
//! the `smoltcp` stack.
//!
//! One [`Stack`] holds the interface, its device and every stack socket,
//! under one lock. The stack is polled after every socket operation (a
//! packet sent on the loopback device is received in the same poll), and
//! when it asks to be, for retransmissions and delayed ACKs: a timer wakes
//! the poller task at the time `smoltcp` names, so nothing spins. After a
//! poll every waiter of an IP socket re-checks its condition.
//!
//! Adding a network card means another device type and another
//! `Interface` in the stack, polled the same way.

mod loopback;
pub mod tcp;
pub mod udp;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use ostd::sync::{SpinLock, WaitQueue};
use ostd::timer::TimeoutHandle;
use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Address, Ipv6Address};

use self::loopback::Loopback;
use super::family::{AF_INET, AF_INET6, AF_UNSPEC};
use crate::prelude::*;

/// The stack: the loopback interface and every socket.
pub struct Stack {
    iface: Interface,
    device: Loopback,
    sockets: SocketSet<'static>,
    /// Closed sockets still finishing their connection; removed once done.
    orphans: Vec<SocketHandle>,
    /// Bound ports, by protocol.
    ports: [BTreeMap<u16, Vec<PortUse>>; 2],
    next_ephemeral: u16,
    /// The pending poll timer and when it fires.
    timer: Option<(Instant, TimeoutHandle)>,
}

/// Which port table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Proto {
    /// TCP.
    Tcp = 0,
    /// UDP.
    Udp = 1,
}

/// A socket's claim on a port.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct PortUse {
    /// `None`: any address.
    addr: Option<IpAddress>,
    reuse: bool,
    id: u64,
}

/// A port held by a socket; given back with [`Stack::unbind`].
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    proto: Proto,
    /// The local address (`None`: any) and port.
    pub addr: Option<IpAddress>,
    /// The port.
    pub port: u16,
    id: u64,
}

/// Linux's default `ip_local_port_range`.
const EPHEMERAL: core::ops::RangeInclusive<u16> = 32768..=60999;

static STACK: SpinLock<Option<Stack>> = SpinLock::new(None);
/// Every waiter of an IP socket sleeps here; woken after each poll.
static WAIT: WaitQueue = WaitQueue::new();
/// The poller task sleeps here until the timer says to poll.
static POLLER_WAIT: WaitQueue = WaitQueue::new();
static POLL_DUE: AtomicBool = AtomicBool::new(false);
static NEXT_BINDING_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

fn now() -> Instant {
    Instant::from_micros(ostd::timer::monotonic().as_micros() as i64)
}

/// Runs `f` on the stack, creating it on first use (`ENOMEM` if it
/// cannot be), then polls it and wakes waiters.
pub fn with_stack<R>(f: impl FnOnce(&mut Stack) -> R) -> Result<R> {
    let r = {
        let mut guard = STACK.lock();
        if guard.is_none() {
            *guard = Some(Stack::new().ok_or(Error::new(ENOMEM))?);
            start_poller();
        }
        let Some(stack) = guard.as_mut() else {
            return_errno!(ENOMEM);
        };
        let r = f(stack);
        stack.poll();
        r
    };
    wake_waiters();
    Ok(r)
}

/// Like [`with_stack`], but does nothing if there is no stack yet (for
/// releases, which must not allocate).
pub fn with_existing_stack(f: impl FnOnce(&mut Stack)) {
    {
        let mut guard = STACK.lock();
        let Some(stack) = guard.as_mut() else {
            return;
        };
        f(stack);
        stack.poll();
    }
    wake_waiters();
}

/// Runs `f` on the stack without polling it or waking anyone: for
/// questions (readiness, names), which pollers ask while they wait.
pub fn inspect_stack<R>(f: impl FnOnce(&mut Stack) -> R) -> Option<R> {
    STACK.lock().as_mut().map(f)
}

/// Wakes every IP waiter and poller.
fn wake_waiters() {
    WAIT.wake_all();
    crate::fs::poll::notify();
}

/// The queue IP socket waiters sleep on.
pub fn wait_queue() -> &'static WaitQueue {
    &WAIT
}

fn start_poller() {
    let task = ostd::task::TaskOptions::new(|| {
        loop {
            POLLER_WAIT.wait_until(|| POLL_DUE.swap(false, Ordering::AcqRel).then_some(()));
            if let Some(stack) = STACK.lock().as_mut() {
                stack.timer = None;
                stack.poll();
            }
            wake_waiters();
        }
    })
    .spawn();
    if task.is_none() {
        log::error!("net: cannot start the IP poller task");
    }
}

impl Stack {
    fn new() -> Option<Stack> {
        let mut device = Loopback::new()?;
        let config = Config::new(HardwareAddress::Ip);
        let mut iface = Interface::new(config, &mut device, now());
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 128));
        });
        Some(Stack {
            iface,
            device,
            sockets: SocketSet::new(Vec::new()),
            orphans: Vec::new(),
            ports: [BTreeMap::new(), BTreeMap::new()],
            next_ephemeral: *EPHEMERAL.start(),
            timer: None,
        })
    }

    /// Processes every packet in flight, drops finished orphans, and
    /// arms the timer for the next time the stack wants a poll.
    fn poll(&mut self) {
        let t = now();
        for _ in 0..10_000 {
            let changed = self.iface.poll(t, &mut self.device, &mut self.sockets)
                == PollResult::SocketStateChanged;
            if !changed && !self.device.has_packets() {
                break;
            }
        }
        self.collect_orphans();
        let Some(delay) = self.iface.poll_delay(t, &self.sockets) else {
            return;
        };
        let at = t + delay;
        if self.timer.as_ref().is_some_and(|(when, _)| *when <= at) {
            return;
        }
        if let Some((_, old)) = self.timer.take() {
            old.cancel();
        }
        let micros = delay.total_micros().max(1000);
        let handle = ostd::timer::add_timeout(Duration::from_micros(micros), || {
            POLL_DUE.store(true, Ordering::Release);
            POLLER_WAIT.wake_all();
        });
        self.timer = Some((at, handle));
    }

    fn collect_orphans(&mut self) {
        use smoltcp::socket::tcp::State;
        let sockets = &mut self.sockets;
        self.orphans.retain(|&h| {
            let s = sockets.get::<smoltcp::socket::tcp::Socket>(h);
            let done = matches!(s.state(), State::Closed | State::TimeWait);
            if done {
                sockets.remove(h);
            }
            !done
        });
    }

    /// The socket set.
    pub fn sockets(&mut self) -> &mut SocketSet<'static> {
        &mut self.sockets
    }

    /// The interface's context (for `connect`).
    pub fn context_and_sockets(
        &mut self,
    ) -> (&mut smoltcp::iface::Context, &mut SocketSet<'static>) {
        (self.iface.context(), &mut self.sockets)
    }

    /// Hands a closed TCP socket to the stack to finish its connection.
    pub fn orphan(&mut self, h: SocketHandle) {
        self.orphans.push(h);
    }

    /// Claims `port` (0: a free ephemeral one) at `addr` (`None`: any).
    /// `EADDRINUSE` if another socket holds it at an overlapping address,
    /// unless both allow reuse.
    pub fn bind(
        &mut self,
        proto: Proto,
        addr: Option<IpAddress>,
        port: u16,
        reuse: bool,
    ) -> Result<Binding> {
        let table = &mut self.ports[proto as usize];
        let port = if port == 0 {
            let span = (*EPHEMERAL.end() - *EPHEMERAL.start()) as usize + 1;
            let mut found = None;
            for _ in 0..span {
                let p = self.next_ephemeral;
                self.next_ephemeral = if p >= *EPHEMERAL.end() {
                    *EPHEMERAL.start()
                } else {
                    p + 1
                };
                if table.get(&p).is_none_or(|v| v.is_empty()) {
                    found = Some(p);
                    break;
                }
            }
            found.ok_or(Error::new(EADDRINUSE))?
        } else {
            let users = table.get(&port).map(|v| v.as_slice()).unwrap_or(&[]);
            let clash = users.iter().any(|u| {
                let overlap = u.addr.is_none() || addr.is_none() || u.addr == addr;
                overlap && !(u.reuse && reuse)
            });
            if clash {
                return_errno!(EADDRINUSE);
            }
            port
        };
        let id = NEXT_BINDING_ID.fetch_add(1, Ordering::Relaxed);
        let entry = table.entry(port).or_default();
        entry.try_reserve(1).map_err(|_| Error::new(ENOMEM))?;
        entry.push(PortUse { addr, reuse, id });
        Ok(Binding {
            proto,
            addr,
            port,
            id,
        })
    }

    /// Gives a port back.
    pub fn unbind(&mut self, b: &Binding) {
        let table = &mut self.ports[b.proto as usize];
        if let Some(v) = table.get_mut(&b.port) {
            v.retain(|u| u.id != b.id);
            if v.is_empty() {
                table.remove(&b.port);
            }
        }
    }

    /// Marks a port as not reusable by others (a listening TCP socket).
    pub fn set_listening(&mut self, b: &Binding) {
        if let Some(v) = self.ports[b.proto as usize].get_mut(&b.port) {
            for u in v.iter_mut().filter(|u| u.id == b.id) {
                u.reuse = false;
            }
        }
    }
}

/// Sleeps until `cond` gives a result, polling being done by others; see
/// [`super::wait_for`].
pub fn wait_for<R>(
    nonblock: bool,
    deadline: &super::Deadline,
    mut cond: impl FnMut(&mut Stack) -> Option<Result<R>>,
) -> Result<R> {
    super::wait_for(&WAIT, nonblock, deadline, || {
        let mut guard = STACK.lock();
        let stack = guard.as_mut()?;
        cond(stack)
    })
}

/// The family of an IP socket.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    /// `AF_INET`.
    V4,
    /// `AF_INET6`.
    V6,
}

impl Family {
    /// The `AF_*` number.
    pub fn raw(self) -> u16 {
        match self {
            Family::V4 => AF_INET,
            Family::V6 => AF_INET6,
        }
    }

    /// The unspecified address of this family.
    pub fn any(self) -> IpAddress {
        match self {
            Family::V4 => IpAddress::Ipv4(Ipv4Address::UNSPECIFIED),
            Family::V6 => IpAddress::Ipv6(Ipv6Address::UNSPECIFIED),
        }
    }
}

/// What a socket address says.
pub enum SockAddr {
    /// `AF_UNSPEC` (dissolve an association).
    Unspec,
    /// An address and port.
    Ip(IpEndpoint),
}

/// Parses a `sockaddr_in` or `sockaddr_in6` for a socket of `family`:
/// `EINVAL` if too short, `EAFNOSUPPORT` for another family.
pub fn parse_addr(raw: &[u8], family: Family) -> Result<SockAddr> {
    if raw.len() < 2 {
        return_errno!(EINVAL);
    }
    let fam = u16::from_le_bytes([raw[0], raw[1]]);
    if fam == AF_UNSPEC {
        return Ok(SockAddr::Unspec);
    }
    match family {
        Family::V4 => {
            if raw.len() < 16 {
                return_errno!(EINVAL);
            }
            if fam != AF_INET {
                return_errno!(EAFNOSUPPORT);
            }
            let port = u16::from_be_bytes([raw[2], raw[3]]);
            let addr = Ipv4Address::new(raw[4], raw[5], raw[6], raw[7]);
            Ok(SockAddr::Ip(IpEndpoint::new(IpAddress::Ipv4(addr), port)))
        }
        Family::V6 => {
            // SIN6_LEN_RFC2133: the scope id may be left out.
            if raw.len() < 24 {
                return_errno!(EINVAL);
            }
            if fam != AF_INET6 {
                return_errno!(EAFNOSUPPORT);
            }
            let port = u16::from_be_bytes([raw[2], raw[3]]);
            let mut a = [0u8; 16];
            a.copy_from_slice(&raw[8..24]);
            Ok(SockAddr::Ip(IpEndpoint::new(
                IpAddress::Ipv6(Ipv6Address::from_octets(a)),
                port,
            )))
        }
    }
}

/// The `sockaddr_in` or `sockaddr_in6` of an endpoint.
pub fn encode_addr(family: Family, ep: IpEndpoint) -> Vec<u8> {
    let mut v = Vec::with_capacity(28);
    v.extend_from_slice(&family.raw().to_le_bytes());
    v.extend_from_slice(&ep.port.to_be_bytes());
    match (family, ep.addr) {
        (Family::V4, IpAddress::Ipv4(a)) => {
            v.extend_from_slice(&a.octets());
            v.extend_from_slice(&[0; 8]);
        }
        (Family::V4, IpAddress::Ipv6(_)) => v.extend_from_slice(&[0; 12]),
        (Family::V6, addr) => {
            v.extend_from_slice(&[0; 4]);
            let octets = match addr {
                IpAddress::Ipv6(a) => a.octets(),
                // IPv4-mapped.
                IpAddress::Ipv4(a) => {
                    let mut o = [0u8; 16];
                    o[10] = 0xff;
                    o[11] = 0xff;
                    o[12..].copy_from_slice(&a.octets());
                    o
                }
            };
            v.extend_from_slice(&octets);
            v.extend_from_slice(&[0; 4]);
        }
    }
    v
}

/// Whether `addr` is an address of this machine: `EADDRNOTAVAIL`
/// otherwise. The unspecified address means any.
pub fn check_local(addr: IpAddress) -> Result<Option<IpAddress>> {
    if addr.is_unspecified() {
        return Ok(None);
    }
    match addr {
        IpAddress::Ipv4(a) if a.octets()[0] == 127 => Ok(Some(addr)),
        IpAddress::Ipv6(a) if a == Ipv6Address::LOCALHOST => Ok(Some(addr)),
        _ => return_errno!(EADDRNOTAVAIL),
    }
}

/// The first port anyone may bind (Linux's default
/// `net.ipv4.ip_unprivileged_port_start`).
const UNPRIVILEGED_PORT_START: u16 = 1024;

/// `EACCES` for binding a port below 1024 without `CAP_NET_BIND_SERVICE`
/// (checked after the address and before the socket's state, as Linux's
/// `__inet_bind`).
pub fn check_bind_port(port: u16) -> Result<()> {
    if port != 0
        && port < UNPRIVILEGED_PORT_START
        && !crate::process::credentials::current()
            .has_cap(linux_raw_sys::general::CAP_NET_BIND_SERVICE)
    {
        return_errno!(EACCES);
    }
    Ok(())
}

/// A destination: the unspecified address means this machine, as on
/// Linux; `ENETUNREACH` for an address no interface reaches (there is
/// only the loopback interface) or of the other family.
pub fn remote(family: Family, ep: IpEndpoint) -> Result<IpEndpoint> {
    if ep.addr.is_unspecified() {
        let addr = match family {
            Family::V4 => IpAddress::v4(127, 0, 0, 1),
            Family::V6 => IpAddress::Ipv6(Ipv6Address::LOCALHOST),
        };
        return Ok(IpEndpoint::new(addr, ep.port));
    }
    match (family, ep.addr) {
        (Family::V4, IpAddress::Ipv4(a)) if a.octets()[0] == 127 => Ok(ep),
        (Family::V6, IpAddress::Ipv6(a)) if a == Ipv6Address::LOCALHOST => Ok(ep),
        _ => return_errno!(ENETUNREACH),
    }
}

/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: i32 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: i32 = 17;
/// `IPPROTO_IP`.
pub const IPPROTO_IP: i32 = 0;
/// `IPPROTO_IPV6`.
pub const IPPROTO_IPV6: i32 = 41;
