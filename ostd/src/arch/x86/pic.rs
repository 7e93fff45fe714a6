//! The legacy 8259 interrupt controllers, remapped to vectors 32..48: they
//! deliver the IRQs only when there is no I/O APIC (see `irq`).

use x86_64::instructions::port::Port;

/// First vector of the IRQ range.
const IRQ_BASE: u8 = super::irq::ISA_IRQ_BASE;

fn outb(port: u16, value: u8) {
    // SAFETY: ports 0x20/0x21/0xa0/0xa1 are the PICs, owned by this module;
    // writes only change interrupt routing.
    unsafe { Port::<u8>::new(port).write(value) }
}

pub(crate) fn init() {
    // ICW1..ICW4: edge triggered, cascaded, vectors 32 and 40, 8086 mode.
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, IRQ_BASE);
    outb(0xa1, IRQ_BASE + 8);
    outb(0x21, 4);
    outb(0xa1, 2);
    outb(0x21, 0x01);
    outb(0xa1, 0x01);
    mask_all();
}

/// Masks every IRQ: the I/O APIC delivers them instead.
pub(crate) fn mask_all() {
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

/// Unmasks the timer, the cascade and COM1 only, for the legacy path.
pub(crate) fn unmask_legacy() {
    let mask: u8 = !((1 << super::pit::IRQ) | (1 << 2) | (1 << super::serial::COM1_IRQ));
    outb(0x21, mask);
    outb(0xa1, 0xff);
}

/// Acknowledges an IRQ so that the PIC delivers the next one.
pub(crate) fn end_of_interrupt(irq: u8) {
    if irq >= 8 {
        outb(0xa0, 0x20);
    }
    outb(0x20, 0x20);
}
