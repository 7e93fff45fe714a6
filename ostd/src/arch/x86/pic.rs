//! The legacy 8259 interrupt controllers, remapped to vectors 32..48.

use x86_64::instructions::port::Port;

/// First vector of the IRQ range.
pub(crate) const IRQ_BASE: u8 = 32;
/// The timer (PIT channel 0).
pub(crate) const TIMER_IRQ: u8 = 0;

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
    // Unmask the timer, the cascade and COM1 only.
    let mask: u8 = !((1 << TIMER_IRQ) | (1 << 2) | (1 << super::serial::COM1_IRQ));
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
