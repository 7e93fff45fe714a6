//! x86-64 support: CPU tables, devices of the PC platform, assembly entry
//! points.
//!
//! Interrupts: with a usable ACPI MADT, each CPU's local APIC takes
//! interrupts and its timer makes the tick, the I/O APIC delivers the
//! devices' IRQs to the bootstrap processor, and the 8259 PICs are masked;
//! without one, the PICs and the PIT do it all on one CPU, as on a PC/AT.

pub(crate) mod acpi;
pub(crate) mod ap_boot;
pub(crate) mod apic;
pub(crate) mod boot;
pub(crate) mod cpu;
pub(crate) mod gdt;
pub(crate) mod idt;
pub(crate) mod ioapic;
pub(crate) mod irq;
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

/// Programs the interrupt controllers and the tick on the bootstrap
/// processor; interrupts stay off. `rsdp` is the ACPI RSDP address the
/// boot loader gave, if any.
pub(crate) fn init_interrupts(rsdp: Option<u64>) {
    // Remapped even when masked, so that a stray PIC interrupt arrives at
    // an interrupt vector rather than at an exception's.
    pic::init();
    acpi::init(rsdp, apic::boot_apic_id());
    match acpi::platform() {
        Some(platform) => {
            pic::mask_all();
            apic::init(platform.local_apic_addr);
            apic::init_this_cpu();
            irq::set_apic_mode();
            ioapic::init(platform.io_apic);
            let bsp = apic::bsp_apic_id();
            let com1 = platform.isa_irq(serial::COM1_IRQ);
            if !ioapic::route(com1, irq::SERIAL, bsp) {
                log::warn!("apic: no I/O APIC pin for COM1 (GSI {})", com1.gsi);
            }
            if apic::start_timer(crate::timer::TICK_HZ) {
                pit::stop_channel0();
            } else {
                log::warn!("apic: the local APIC timer does not count; ticking with the PIT");
                pit::start_periodic(crate::timer::TICK_HZ);
                ioapic::route(platform.isa_irq(pit::IRQ), irq::TIMER, bsp);
            }
        }
        None => {
            pic::unmask_legacy();
            pit::start_periodic(crate::timer::TICK_HZ);
        }
    }
    serial::enable_rx_interrupt();
}

/// Enables maskable interrupts.
pub(crate) fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}
