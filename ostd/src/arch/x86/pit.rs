//! The 8254 programmable interval timer: channel 0 drives the periodic tick
//! when the local APIC timer cannot, channel 2 (gated through port 0x61)
//! serves to calibrate the TSC.

use x86_64::instructions::port::Port;

/// The ISA IRQ of channel 0.
pub(crate) const IRQ: u8 = 0;

/// Input clock of the PIT in Hz.
pub(crate) const PIT_HZ: u64 = 1_193_182;

fn outb(port: u16, value: u8) {
    // SAFETY: ports 0x40-0x43 and 0x61 are the PIT and its gate, owned by
    // this module; writes only program the timer.
    unsafe { Port::<u8>::new(port).write(value) }
}

fn inb(port: u16) -> u8 {
    // SAFETY: as in `outb`.
    unsafe { Port::<u8>::new(port).read() }
}

/// Starts channel 0 as a rate generator firing `hz` times a second.
pub(crate) fn start_periodic(hz: u64) {
    let divisor = (PIT_HZ / hz).clamp(1, 0xffff) as u16;
    outb(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2
    outb(0x40, divisor as u8);
    outb(0x40, (divisor >> 8) as u8);
}

/// Stops channel 0 (which the firmware may have left running at 18.2 Hz):
/// in mode 0 the counter waits for a count that never comes.
pub(crate) fn stop_channel0() {
    outb(0x43, 0x30); // channel 0, lobyte/hibyte, mode 0
}

/// Busy-waits `ticks` PIT input cycles on channel 2, calling `f` just before
/// the count starts and returning `f`'s value at that point.
pub(crate) fn wait_channel2<T>(ticks: u16, f: impl FnOnce() -> T) -> T {
    // Gate on, speaker off.
    let gate = inb(0x61);
    outb(0x61, (gate & !0x02) | 0x01);
    outb(0x43, 0xb0); // channel 2, lobyte/hibyte, mode 0 (interrupt on count)
    outb(0x42, ticks as u8);
    outb(0x42, (ticks >> 8) as u8);
    // Restart the count by toggling the gate.
    let g = inb(0x61);
    outb(0x61, g & !0x01);
    let start = f();
    outb(0x61, g | 0x01);
    while inb(0x61) & 0x20 == 0 {
        core::hint::spin_loop();
    }
    outb(0x61, gate);
    start
}
