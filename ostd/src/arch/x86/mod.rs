//! x86-64 support: CPU tables, devices of the PC platform, assembly entry
//! points. This port runs on one CPU (the bootstrap processor); per-CPU state
//! is kept in plain statics.

pub(crate) mod boot;
pub(crate) mod cpu;
pub(crate) mod gdt;
pub(crate) mod idt;
pub(crate) mod mm;
pub(crate) mod pic;
pub(crate) mod pit;
pub(crate) mod random;
pub(crate) mod rtc;
pub(crate) mod serial;
pub(crate) mod tsc;

/// Loads the GDT/TSS and IDT and enables the FPU/SSE/XSAVE features.
pub(crate) fn init_cpu() {
    gdt::init();
    idt::init();
    cpu::init_features();
}

/// Programs the interrupt controller and the timer; interrupts stay off.
pub(crate) fn init_interrupts() {
    pic::init();
    pit::start_periodic(crate::timer::TICK_HZ);
    serial::enable_rx_interrupt();
}

/// Enables maskable interrupts.
pub(crate) fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}
