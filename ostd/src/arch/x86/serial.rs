//! The 16550 UARTs: COM1 is the console, COM2 the status channel to the
//! host runner (see `doc/runner-protocol.md`).

use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;
const COM2: u16 = 0x2f8;
/// IRQ line of COM1 on the legacy PIC.
pub(crate) const COM1_IRQ: u8 = 4;

fn outb(port: u16, value: u8) {
    // SAFETY: the ports written here belong to the UARTs at COM1/COM2, which
    // this module owns; writing their registers has no memory effects.
    unsafe { Port::<u8>::new(port).write(value) }
}

fn inb(port: u16) -> u8 {
    // SAFETY: as in `outb`: reading UART registers has no memory effects
    // (reading RBR consumes a received byte, which is what callers want).
    unsafe { Port::<u8>::new(port).read() }
}

fn init_port(base: u16) {
    outb(base + 1, 0x00); // no interrupts
    outb(base + 3, 0x80); // DLAB
    outb(base, 0x01); // divisor 1: 115200 baud
    outb(base + 1, 0x00);
    outb(base + 3, 0x03); // 8N1
    outb(base + 2, 0xc7); // FIFO on, cleared, 14-byte threshold
    outb(base + 4, 0x0b); // DTR, RTS, OUT2 (routes the IRQ)
}

pub(crate) fn init() {
    init_port(COM1);
    init_port(COM2);
}

/// Raises an interrupt when a byte arrives on COM1.
pub(crate) fn enable_rx_interrupt() {
    outb(COM1 + 1, 0x01);
}

fn write_byte_to(base: u16, b: u8) {
    while inb(base + 5) & 0x20 == 0 {
        core::hint::spin_loop();
    }
    outb(base, b);
}

/// Writes bytes to the console exactly as given.
pub(crate) fn write_console(bytes: &[u8]) {
    for &b in bytes {
        write_byte_to(COM1, b);
    }
}

/// Writes bytes to the status channel.
pub(crate) fn write_status(bytes: &[u8]) {
    for &b in bytes {
        write_byte_to(COM2, b);
    }
}

/// Reads one pending byte from the console, if any.
pub(crate) fn read_console() -> Option<u8> {
    (inb(COM1 + 5) & 1 != 0).then(|| inb(COM1))
}
