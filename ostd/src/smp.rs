//! Work between CPUs: the inter-processor interrupts that ask another CPU
//! to reschedule or to flush TLB entries (a *shootdown*).
//!
//! A shootdown is synchronous: the sender returns once every target has
//! flushed, so that the caller may then free the frames the old entries
//! pointed to. Each CPU sends through its own request slot (`REQUESTS`,
//! indexed by sender), marks itself in each target's `PENDING` set,
//! interrupts it, and waits until the targets have cleared their bits in
//! its `ACKS`. A target may have interrupts disabled for a while, for
//! instance while it spins for a lock that the sender holds; so a CPU also
//! answers pending requests whenever it spins for a lock and while it
//! waits for its own acknowledgements, and two CPUs that shoot down at each
//! other, or one that waits for a lock the other holds, cannot deadlock.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::arch::x86::irq::IPI_VECTORS;
use crate::cpu::{MAX_CPUS, this_cpu_index};

/// The vector of the reschedule IPI: its handler does nothing but end the
/// halt or return through the preemption point.
pub(crate) const RESCHEDULE_VECTOR: u8 = crate::arch::x86::irq::IPI_RESCHEDULE;
/// The vector of the TLB shootdown IPI.
pub(crate) const SHOOTDOWN_VECTOR: u8 = crate::arch::x86::irq::IPI_TLB_FLUSH;

/// The most pages a request names one by one; more flush everything.
const MAX_PAGES: usize = 16;

/// Flush every address space's kernel half (`FlushRequest::root`).
pub(crate) const KERNEL_HALF: u64 = u64::MAX;

struct FlushRequest {
    /// The page-table root whose entries changed, or `KERNEL_HALF`.
    root: AtomicU64,
    pages: [AtomicU64; MAX_PAGES],
    nr_pages: AtomicUsize,
    /// Flush everything instead of `pages`.
    all: AtomicBool,
}

static REQUESTS: [FlushRequest; MAX_CPUS] = [const {
    FlushRequest {
        root: AtomicU64::new(0),
        pages: [const { AtomicU64::new(0) }; MAX_PAGES],
        nr_pages: AtomicUsize::new(0),
        all: AtomicBool::new(false),
    }
}; MAX_CPUS];
/// For each CPU, the senders whose requests it has not answered.
static PENDING: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// For each sender, the targets that have not flushed yet.
static ACKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Interrupts CPU `cpu` so that it reschedules.
pub(crate) fn send_reschedule(cpu: usize) {
    send_ipi(cpu, RESCHEDULE_VECTOR);
}

fn send_ipi(cpu: usize, vector: u8) {
    let apic_id = crate::cpu::cpu(cpu).apic_id.load(Ordering::Relaxed);
    crate::arch::x86::apic::send_ipi(apic_id, vector);
}

/// IPIs received, by position in `IPI_VECTORS`, on all CPUs together
/// (for tests).
static RECEIVED: [AtomicU64; IPI_VECTORS.len()] = [const { AtomicU64::new(0) }; IPI_VECTORS.len()];

/// The number of IPIs with `vector` received so far, on all CPUs.
#[cfg(feature = "ktest")]
pub(crate) fn ipis_received(vector: u8) -> u64 {
    IPI_VECTORS
        .iter()
        .position(|&v| v == vector)
        .map_or(0, |i| RECEIVED[i].load(Ordering::Relaxed))
}

/// Handles an IPI (interrupts are off; the caller ends the interrupt).
pub(crate) fn handle_ipi(vector: u8) {
    if let Some(i) = IPI_VECTORS.iter().position(|&v| v == vector) {
        RECEIVED[i].fetch_add(1, Ordering::Relaxed);
    }
    if vector == SHOOTDOWN_VECTOR {
        answer_requests();
    }
    // A reschedule IPI has nothing to do here: the sender set the CPU's
    // flag, and the way out of the interrupt passes a preemption point.
}

/// The mask of the online CPUs other than the running one.
pub(crate) fn other_cpus() -> u64 {
    crate::cpu::online_mask() & !(1 << this_cpu_index())
}

/// Makes the CPUs in `targets` (not the running one) drop their TLB
/// entries for `pages` of the address space with page-table root `root`
/// (or of the kernel half, for [`KERNEL_HALF`]), or all of them with `all`
/// or more than 16 pages; returns once they all have. The caller flushes
/// its own TLB.
pub(crate) fn shootdown(targets: u64, root: u64, pages: &[u64], all: bool) {
    if targets == 0 {
        return;
    }
    let _irq = crate::sync::disable_irqs();
    let me = this_cpu_index();
    let targets = targets & !(1 << me);
    let req = &REQUESTS[me];
    req.root.store(root, Ordering::Relaxed);
    let all = all || pages.len() > MAX_PAGES;
    if !all {
        for (slot, &va) in req.pages.iter().zip(pages) {
            slot.store(va, Ordering::Relaxed);
        }
        req.nr_pages.store(pages.len(), Ordering::Relaxed);
    }
    req.all.store(all, Ordering::Relaxed);
    ACKS[me].store(targets, Ordering::Release);
    for cpu in (0..MAX_CPUS).filter(|c| targets & (1 << c) != 0) {
        PENDING[cpu].fetch_or(1 << me, Ordering::AcqRel);
        send_ipi(cpu, SHOOTDOWN_VECTOR);
    }
    while ACKS[me].load(Ordering::Acquire) != 0 {
        answer_requests();
        core::hint::spin_loop();
    }
}

/// Answers the shootdown requests addressed to the running CPU, if any.
/// Cheap when there are none: called wherever a CPU spins.
#[inline]
pub(crate) fn answer_requests() {
    let me = this_cpu_index();
    if PENDING[me].load(Ordering::Relaxed) == 0 {
        return;
    }
    answer_pending(me);
}

#[cold]
fn answer_pending(me: usize) {
    let senders = PENDING[me].swap(0, Ordering::AcqRel);
    let loaded = crate::arch::x86::mm::current_root();
    for sender in (0..MAX_CPUS).filter(|s| senders & (1 << s) != 0) {
        let req = &REQUESTS[sender];
        let root = req.root.load(Ordering::Relaxed);
        let kernel = root == KERNEL_HALF;
        if kernel || root == loaded {
            if req.all.load(Ordering::Relaxed) {
                if kernel {
                    crate::arch::x86::mm::flush_all_global();
                } else {
                    crate::arch::x86::mm::flush_all();
                }
            } else {
                let n = req.nr_pages.load(Ordering::Relaxed).min(MAX_PAGES);
                for slot in &req.pages[..n] {
                    crate::arch::x86::mm::flush_page(slot.load(Ordering::Relaxed));
                }
            }
        }
        // A CPU that switched away from the space meanwhile reloaded CR3,
        // which dropped its entries: nothing to flush.
        ACKS[sender].fetch_and(!(1 << me), Ordering::Release);
    }
}
