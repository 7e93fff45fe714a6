//! Traps taken in kernel mode: interrupts and exceptions.
//!
//! Interrupts are dispatched to the timer, the console and handlers the
//! kernel registers. An exception in kernel mode is a kernel bug, except a
//! page fault in a user-copy routine, which is fixed up (see
//! `mm::user_copy`); anything else prints a report and panics. NMIs and
//! machine checks come here from user mode too (see `arch::x86::idt`): an
//! NMI is reported and ignored, a machine check is fatal.

use crate::arch::x86::idt::TrapFrame;
use crate::arch::x86::irq;

/// Non-maskable interrupt.
const NMI: u64 = 2;
/// Page fault.
pub(crate) const PAGE_FAULT: u64 = 14;

const EXCEPTION_NAMES: [&str; 32] = [
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range exceeded",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor segment overrun",
    "invalid TSS",
    "segment not present",
    "stack-segment fault",
    "general protection fault",
    "page fault",
    "reserved",
    "x87 floating-point error",
    "alignment check",
    "machine check",
    "SIMD floating-point error",
    "virtualization exception",
    "control protection exception",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection",
    "VMM communication",
    "security exception",
    "reserved",
];

/// Name of an exception vector.
pub fn exception_name(vector: u64) -> &'static str {
    EXCEPTION_NAMES
        .get(vector as usize)
        .copied()
        .unwrap_or("interrupt")
}

/// Reads CR2, the faulting address of the last page fault.
pub(crate) fn read_cr2() -> u64 {
    x86_64::registers::control::Cr2::read_raw()
}

/// Handles an interrupt (from kernel or user mode): any vector for which
/// [`is_irq`] holds. Interrupts are disabled.
pub(crate) fn handle_irq(vector: u64) {
    let vector = vector as u8;
    match vector {
        // Not in service: no end of interrupt.
        irq::SPURIOUS => {}
        irq::TIMER => {
            irq::end_of_interrupt(vector);
            crate::timer::on_tick();
        }
        irq::SERIAL => {
            crate::console::on_serial_interrupt();
            irq::end_of_interrupt(vector);
        }
        irq::IPI_TLB_FLUSH | irq::IPI_CALL_FUNCTION | irq::IPI_RESCHEDULE => {
            crate::smp::handle_ipi(vector);
            irq::end_of_interrupt(vector);
        }
        irq::APIC_ERROR => {
            let errors = crate::arch::x86::apic::take_errors();
            irq::end_of_interrupt(vector);
            crate::console::emergency_print(format_args!("local APIC error {errors:#x}\n"));
        }
        _ => irq::end_of_interrupt(vector),
    }
}

/// Whether a trap vector is an interrupt: every vector from 32 up (the
/// exceptions are 0..32; see `arch::x86::irq` for the layout).
pub(crate) fn is_irq(vector: u64) -> bool {
    irq::is_interrupt(vector)
}

#[unsafe(no_mangle)]
extern "C" fn __ostd_kernel_trap(frame: &mut TrapFrame) {
    if is_irq(frame.vector) {
        handle_irq(frame.vector);
        // Preempt only code that could have been interrupted anyway.
        if frame.rflags & (1 << 9) != 0 {
            crate::task::preempt_if_needed();
        }
        return;
    }
    if frame.vector == NMI {
        // Nothing in this port raises NMIs (no watchdog, no IPIs yet); one
        // injected from outside is reported and otherwise ignored, as
        // Linux does with an NMI of unknown reason.
        crate::console::emergency_print(format_args!(
            "NMI received at RIP {:#x}; ignored\n",
            frame.rip
        ));
        return;
    }
    if frame.vector == PAGE_FAULT {
        let addr = read_cr2();
        if let Some(resume) = crate::mm::user_copy_fixup(frame.rip, addr) {
            frame.rip = resume;
            return;
        }
    }
    kernel_exception(frame);
}

fn kernel_exception(frame: &TrapFrame) -> ! {
    // Print without allocating or locking: the heap or a lock may be what
    // broke.
    crate::console::emergency_print(format_args!(
        "\nkernel-mode exception {} ({}) error code {:#x} at RIP {:#x}{}\n",
        frame.vector,
        exception_name(frame.vector),
        frame.error_code,
        frame.rip,
        if frame.vector == PAGE_FAULT {
            " (page fault)"
        } else {
            ""
        },
    ));
    if frame.vector == PAGE_FAULT || frame.vector == 8 {
        let cr2 = read_cr2();
        crate::console::emergency_print(format_args!("  CR2 (faulting address) {cr2:#x}\n"));
        if crate::mm::is_guard_page(cr2) {
            crate::console::emergency_print(format_args!(
                "  kernel stack overflow (guard page hit)\n"
            ));
        }
    }
    crate::console::emergency_print(format_args!(
        "  rax {:#x} rbx {:#x} rcx {:#x} rdx {:#x}\n  rsi {:#x} rdi {:#x} rbp {:#x} rsp {:#x}\n  r8 {:#x} r9 {:#x} r10 {:#x} r11 {:#x}\n  r12 {:#x} r13 {:#x} r14 {:#x} r15 {:#x}\n  rflags {:#x} cs {:#x}\n",
        frame.rax,
        frame.rbx,
        frame.rcx,
        frame.rdx,
        frame.rsi,
        frame.rdi,
        frame.rbp,
        frame.rsp,
        frame.r8,
        frame.r9,
        frame.r10,
        frame.r11,
        frame.r12,
        frame.r13,
        frame.r14,
        frame.r15,
        frame.rflags,
        frame.cs
    ));
    panic!(
        "unhandled {} in kernel mode at RIP {:#x}",
        exception_name(frame.vector),
        frame.rip
    );
}

#[cfg(feature = "ktest")]
mod test {
    use crate::prelude::ktest;

    #[ktest]
    fn nmi_returns_to_the_interrupted_code() {
        // A software `int 2` goes through the NMI gate and its IST stack,
        // like a real NMI: the handler must return right here with every
        // register as it was.
        let before: u64 = 0x1234_5678_9abc_def0;
        let after: u64;
        // SAFETY: vector 2 has a gate (see `arch::x86::idt`) whose handler
        // returns with `iretq`; the asm clobbers nothing it does not name.
        unsafe {
            core::arch::asm!(
                "mov {r}, {b}",
                "int 2",
                b = in(reg) before,
                r = out(reg) after,
            )
        };
        assert_eq!(after, before);
    }
}
