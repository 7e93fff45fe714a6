//! Interrupt vectors, in one place, and the end-of-interrupt for each
//! interrupt controller.
//!
//! Every vector from 32 up is an interrupt, never an exception:
//!
//! | vectors     | what                                                    |
//! |-------------|---------------------------------------------------------|
//! | 32          | the tick: the local APIC timer (or PIT IRQ 0 as a fallback) |
//! | 32 + n      | ISA IRQ n (n < 16), through the I/O APIC or the 8259 PIC |
//! | 0xFB..=0xFD | inter-processor interrupts ([`IPI_VECTORS`])            |
//! | 0xFE        | local APIC error                                        |
//! | 0xFF        | local APIC spurious interrupt (no EOI)                  |
//!
//! ISA IRQ n keeps vector 32 + n whichever controller delivers it, so the
//! legacy fallback (no usable MADT) and the APIC path dispatch alike. The
//! IPIs use the highest priority class, as Linux's do.

use core::sync::atomic::{AtomicBool, Ordering};

use super::serial::COM1_IRQ;

/// First vector of the ISA IRQs (and of all interrupts).
pub(crate) const ISA_IRQ_BASE: u8 = 32;
/// The periodic tick.
pub(crate) const TIMER: u8 = ISA_IRQ_BASE;
/// COM1, the console.
pub(crate) const SERIAL: u8 = ISA_IRQ_BASE + COM1_IRQ;
/// IPI: flush TLB entries (the sender says which, in memory it shares).
pub(crate) const IPI_TLB_FLUSH: u8 = 0xfb;
/// IPI: run a function the sender queued (Linux's CALL_FUNCTION_VECTOR).
pub(crate) const IPI_CALL_FUNCTION: u8 = 0xfc;
/// IPI: the receiver should reschedule (Linux's RESCHEDULE_VECTOR).
pub(crate) const IPI_RESCHEDULE: u8 = 0xfd;
/// Local APIC internal error.
pub(crate) const APIC_ERROR: u8 = 0xfe;
/// Local APIC spurious interrupt: delivered without setting an in-service
/// bit, so it must not be acknowledged.
pub(crate) const SPURIOUS: u8 = 0xff;

/// The IPI vectors, lowest first.
pub(crate) const IPI_VECTORS: [u8; 3] = [IPI_TLB_FLUSH, IPI_CALL_FUNCTION, IPI_RESCHEDULE];

/// Whether a trap vector is an interrupt (as opposed to an exception).
pub(crate) const fn is_interrupt(vector: u64) -> bool {
    vector >= ISA_IRQ_BASE as u64 && vector <= 0xff
}

/// Whether the local and I/O APICs deliver interrupts (else the 8259 PIC).
static APIC_MODE: AtomicBool = AtomicBool::new(false);

/// Records that the APICs took over from the PIC.
pub(crate) fn set_apic_mode() {
    APIC_MODE.store(true, Ordering::Relaxed);
}

/// Whether the local and I/O APICs deliver interrupts.
pub(crate) fn apic_mode() -> bool {
    APIC_MODE.load(Ordering::Relaxed)
}

/// Acknowledges interrupt `vector` so that the controller delivers the next
/// one of its priority. Not for [`SPURIOUS`].
pub(crate) fn end_of_interrupt(vector: u8) {
    if apic_mode() {
        super::apic::eoi();
    } else if let Some(irq) = vector.checked_sub(ISA_IRQ_BASE).filter(|&i| i < 16) {
        super::pic::end_of_interrupt(irq);
    }
}
