//! Ending the machine: report a status to the host runner and power off
//! QEMU (see `doc/runner-protocol.md`).

use x86_64::instructions::port::Port;

/// How the machine ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// A normal power-off with a status (0–255).
    Code(u8),
    /// A kernel panic.
    Panic,
}

/// Reports `status` on the status channel and exits QEMU.
pub fn exit_qemu(status: ExitStatus) -> ! {
    let v: u32 = match status {
        ExitStatus::Code(n) => {
            // Formatted by hand: this path must not allocate.
            let mut line = *b"exit 000\n";
            line[5] = b'0' + n / 100;
            line[6] = b'0' + n / 10 % 10;
            line[7] = b'0' + n % 10;
            let digits = if n >= 100 {
                5
            } else if n >= 10 {
                6
            } else {
                7
            };
            crate::arch::x86::serial::write_status(b"exit ");
            crate::arch::x86::serial::write_status(&line[digits..]);
            n as u32 & 0x7f
        }
        ExitStatus::Panic => {
            crate::arch::x86::serial::write_status(b"panic\n");
            0x7f
        }
    };
    // SAFETY: port 0xf4 is QEMU's isa-debug-exit device; writing to it ends
    // the virtual machine, which is the intent.
    unsafe { Port::<u32>::new(0xf4).write(v) };
    // Without the device (e.g. another machine), stop here.
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
