//! x86-64 support: CPU tables, devices of the PC platform, assembly entry
//! points.

pub(crate) mod apic;
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

/// Loads the bootstrap processor's GDT/TSS and the IDT (filling it), and
/// enables the FPU/SSE/XSAVE features.
pub(crate) fn init_cpu() {
    // SAFETY: boot, on the bootstrap processor with interrupts off, after
    // `cpu::init_this_cpu`; the IST stacks are the BSP's static ones.
    unsafe { crate::cpu::init_tables(gdt::bsp_ist_tops()) };
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
