//! The loopback device: what is sent is received, in order.
//!
//! It is a device of the stack like any other (`smoltcp::phy::Device`,
//! raw IP packets): a network card (virtio-net) is another type that
//! implements the trait, with its own interface in [`super::Stack`].

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Packets queued at most; more are dropped, as a full device queue does
/// (TCP sends them again).
const MAX_QUEUED: usize = 4096;
/// The largest packet: Linux's `lo` has an MTU of 65536, but an IPv4
/// packet's length field stops at 65535.
pub const MTU: usize = 65535;

/// A queue of packets from the stack to itself.
pub struct Loopback {
    queue: VecDeque<Vec<u8>>,
    /// Where a packet that is dropped is built.
    scratch: Vec<u8>,
}

impl Loopback {
    /// An empty device; `None` without memory for it.
    pub fn new() -> Option<Self> {
        let mut scratch = Vec::new();
        scratch.try_reserve_exact(MTU).ok()?;
        scratch.resize(MTU, 0);
        Some(Self {
            queue: VecDeque::new(),
            scratch,
        })
    }

    /// Whether packets wait to be received.
    pub fn has_packets(&self) -> bool {
        !self.queue.is_empty()
    }
}

impl Device for Loopback {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = MTU;
        caps.medium = Medium::Ip;
        caps.checksum = ChecksumCapabilities::ignored();
        caps
    }

    fn receive(&mut self, _now: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let packet = self.queue.pop_front()?;
        Some((
            RxToken { packet },
            TxToken {
                queue: &mut self.queue,
                scratch: &mut self.scratch,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            queue: &mut self.queue,
            scratch: &mut self.scratch,
        })
    }
}

/// A packet received.
pub struct RxToken {
    packet: Vec<u8>,
}

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.packet)
    }
}

/// Room to send a packet.
pub struct TxToken<'a> {
    queue: &'a mut VecDeque<Vec<u8>>,
    scratch: &'a mut Vec<u8>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        // A packet that cannot be queued (full queue, no memory) is built
        // in a scratch buffer and dropped, as a device drops it.
        let mut packet = Vec::new();
        let keep = self.queue.len() < MAX_QUEUED
            && ostd::mm::free_frames_for_user() > len.div_ceil(ostd::mm::PAGE_SIZE)
            && packet.try_reserve_exact(len).is_ok();
        if !keep && len <= self.scratch.len() {
            return f(&mut self.scratch[..len]);
        }
        packet.resize(len, 0);
        let r = f(&mut packet);
        self.queue.push_back(packet);
        r
    }
}
