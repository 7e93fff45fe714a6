//! Inter-processor interrupts and the parking place of the other CPUs.
//!
//! The vectors are in `arch::x86::irq` (`IPI_RESCHEDULE`,
//! `IPI_CALL_FUNCTION`, `IPI_TLB_FLUSH`); `arch::x86::apic::send_ipi`
//! sends one. The trap code acknowledges the interrupt after [`handle`]
//! returns.
//!
//! For now an IPI is only counted, and the application processors wait in
//! [`ap_idle_loop`], taking nothing but IPIs: the scheduler runs on the
//! bootstrap processor alone.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::x86::irq::IPI_VECTORS;

/// IPIs received, by position in `IPI_VECTORS`, on all CPUs together.
static RECEIVED: [AtomicU64; IPI_VECTORS.len()] = [const { AtomicU64::new(0) }; IPI_VECTORS.len()];

/// Handles IPI `vector`, interrupts disabled, before its end of interrupt.
pub(crate) fn handle(vector: u8) {
    if let Some(i) = IPI_VECTORS.iter().position(|&v| v == vector) {
        RECEIVED[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// Number of IPIs with `vector` received so far, on all CPUs.
#[allow(dead_code)]
pub(crate) fn received(vector: u8) -> u64 {
    IPI_VECTORS
        .iter()
        .position(|&v| v == vector)
        .map_or(0, |i| RECEIVED[i].load(Ordering::Relaxed))
}

/// Where an application processor goes once it is set up
/// (`arch::x86::ap_boot::ap_rust_entry`): it halts, waking only for IPIs
/// (its timer is off and device interrupts go to the bootstrap processor).
pub(crate) fn ap_idle_loop(_cpu_index: usize) -> ! {
    loop {
        // `sti; hlt`: an IPI arriving between the two still wakes the halt.
        x86_64::instructions::interrupts::enable_and_hlt();
        x86_64::instructions::interrupts::disable();
    }
}
