//! The I/O APIC: routes device interrupts (GSIs) to a CPU's local APIC.
//!
//! Its registers are reached through two words of an MMIO window: the
//! register number is written at offset 0 (IOREGSEL), the value is then
//! read or written at offset 0x10 (IOWIN). A lock keeps the pair together.
//! Only the first I/O APIC of the MADT is used: on the PC it serves the
//! ISA IRQs, the only devices this kernel drives.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::acpi::{IoApicInfo, IsaRoute};
use super::mm::paddr_to_vaddr;
use crate::sync::SpinLock;

const IOREGSEL: u64 = 0x00;
const IOWIN: u64 = 0x10;
const REG_VERSION: u32 = 0x01;
const REG_REDIRECTION: u32 = 0x10;

const MASKED: u32 = 1 << 16;
const LEVEL: u32 = 1 << 15;
const ACTIVE_LOW: u32 = 1 << 13;

/// Linear-map address of the register window; 0 before [`init`].
static BASE: AtomicU64 = AtomicU64::new(0);
static GSI_BASE: AtomicU32 = AtomicU32::new(0);
static NR_PINS: AtomicU32 = AtomicU32::new(0);
/// Held across each IOREGSEL/IOWIN pair.
static WINDOW: SpinLock<()> = SpinLock::new(());

/// Takes over the I/O APIC described by the MADT and masks every pin.
pub(crate) fn init(info: IoApicInfo) {
    BASE.store(paddr_to_vaddr(info.addr), Ordering::Relaxed);
    GSI_BASE.store(info.gsi_base, Ordering::Relaxed);
    let nr_pins = ((read(REG_VERSION) >> 16) & 0xff) + 1;
    NR_PINS.store(nr_pins, Ordering::Relaxed);
    for pin in 0..nr_pins {
        write(REG_REDIRECTION + 2 * pin, MASKED);
        write(REG_REDIRECTION + 2 * pin + 1, 0);
    }
}

/// Number of pins (redirection entries).
pub(crate) fn nr_pins() -> u32 {
    NR_PINS.load(Ordering::Relaxed)
}

/// Delivers the interrupt of `route` as `vector`, fixed delivery, to the
/// CPU with APIC id `apic_id` (physical destination mode), and unmasks it.
/// Returns false if this I/O APIC has no pin for that GSI.
pub(crate) fn route(route: IsaRoute, vector: u8, apic_id: u32) -> bool {
    let Some(pin) = route
        .gsi
        .checked_sub(GSI_BASE.load(Ordering::Relaxed))
        .filter(|&p| p < nr_pins())
    else {
        return false;
    };
    let mut low = vector as u32;
    if route.active_low {
        low |= ACTIVE_LOW;
    }
    if route.level {
        low |= LEVEL;
    }
    // Destination first, so the entry is never live with a stale one.
    write(REG_REDIRECTION + 2 * pin + 1, (apic_id & 0xff) << 24);
    write(REG_REDIRECTION + 2 * pin, low);
    true
}

fn read(reg: u32) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    let _window = WINDOW.lock();
    // SAFETY: `init` set BASE to the linear-map address of the I/O APIC's
    // register window (below 4 GiB, always mapped); IOREGSEL and IOWIN are
    // aligned 32-bit registers in it, used only here, under WINDOW.
    unsafe {
        ((base + IOREGSEL) as *mut u32).write_volatile(reg);
        ((base + IOWIN) as *const u32).read_volatile()
    }
}

fn write(reg: u32, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    let _window = WINDOW.lock();
    // SAFETY: as in `read`; writes change only interrupt routing.
    unsafe {
        ((base + IOREGSEL) as *mut u32).write_volatile(reg);
        ((base + IOWIN) as *mut u32).write_volatile(value);
    }
}
