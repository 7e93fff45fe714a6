//! What the ACPI MADT says about the interrupt hardware: the processors and
//! their local APIC ids, the I/O APIC and the ISA interrupt overrides.
//!
//! The RSDP comes from `hvm_start_info.rsdp_paddr` (QEMU fills it for PVH
//! guests), else from the BIOS areas (the EBDA and 0xE0000–0xFFFFF), as
//! Linux's `acpi_find_root_pointer` does. The `acpi` crate validates the
//! RSDP, the root table and the MADT checksums; the entries are copied into
//! a fixed-size [`Platform`] once at boot, so nothing is allocated and no
//! firmware memory is read afterwards. Anything missing or malformed gives
//! `None`: the caller then keeps the legacy PIC and one CPU.

use core::ptr::NonNull;

use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};

use crate::arch::x86::mm::paddr_to_vaddr;
use crate::sync::Once;

/// Most CPUs brought up (further MADT entries are ignored, with a warning).
pub(crate) const MAX_CPUS: usize = crate::cpu::MAX_CPUS;
/// Most ISA interrupt source overrides kept (there are 16 ISA IRQs).
const MAX_OVERRIDES: usize = 16;

/// The interrupt hardware as the MADT describes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Platform {
    /// Local APIC ids of the enabled processors, the bootstrap processor's
    /// first.
    apic_ids: [u32; MAX_CPUS],
    nr_cpus: usize,
    /// Physical address of the local APIC registers (xAPIC mode).
    pub(crate) local_apic_addr: u64,
    /// The first I/O APIC: its physical address and first GSI.
    pub(crate) io_apic: IoApicInfo,
    overrides: [IsaOverride; MAX_OVERRIDES],
    nr_overrides: usize,
}

/// An I/O APIC.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IoApicInfo {
    /// Physical address of its register window.
    pub(crate) addr: u64,
    /// Global system interrupt of its pin 0.
    pub(crate) gsi_base: u32,
}

/// An ISA IRQ wired to another GSI or with other polarity/trigger than
/// the ISA default (edge, active high).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IsaOverride {
    /// The ISA IRQ.
    pub(crate) irq: u8,
    /// The GSI it arrives at.
    pub(crate) gsi: u32,
    /// MPS INTI flags: bits 0–1 polarity, bits 2–3 trigger mode.
    pub(crate) flags: u16,
}

impl Platform {
    /// Local APIC ids of the enabled processors, the bootstrap processor's
    /// first.
    pub(crate) fn apic_ids(&self) -> &[u32] {
        &self.apic_ids[..self.nr_cpus]
    }

    /// Where ISA IRQ `irq` arrives: its GSI and whether it is active low
    /// and level triggered. Without an override, GSI = IRQ, edge, active
    /// high (ACPI 6.5, 5.2.12.5).
    pub(crate) fn isa_irq(&self, irq: u8) -> IsaRoute {
        let Some(o) = self.overrides[..self.nr_overrides]
            .iter()
            .find(|o| o.irq == irq)
        else {
            return IsaRoute {
                gsi: irq as u32,
                active_low: false,
                level: false,
            };
        };
        // Polarity 0b11 is active low, trigger 0b11 level; 0b00 means "as
        // the bus says", which for ISA is active high and edge.
        IsaRoute {
            gsi: o.gsi,
            active_low: o.flags & 0b11 == 0b11,
            level: (o.flags >> 2) & 0b11 == 0b11,
        }
    }
}

/// Where an ISA IRQ arrives on the I/O APIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IsaRoute {
    /// The global system interrupt.
    pub(crate) gsi: u32,
    /// Active low (else active high).
    pub(crate) active_low: bool,
    /// Level triggered (else edge).
    pub(crate) level: bool,
}

static PLATFORM: Once<Option<Platform>> = Once::new();

/// Parses the MADT. `rsdp` is the RSDP address the boot loader gave, if
/// any; `bsp_apic_id` the APIC id of the calling CPU (the MADT does not say
/// which processor booted). Called once, on the bootstrap processor.
/// `acpi=off` on the command line (Linux's name) ignores the tables.
pub(crate) fn init(rsdp: Option<u64>, bsp_apic_id: u32) {
    let off = crate::boot::kernel_options().any(|w| w == "acpi=off");
    let platform = if off { None } else { parse(rsdp, bsp_apic_id) };
    if platform.is_none() {
        log::warn!("acpi: no usable MADT; one CPU, legacy PIC");
    }
    PLATFORM.set(platform);
}

/// The MADT's description of the machine, if it had a usable one.
pub(crate) fn platform() -> Option<&'static Platform> {
    PLATFORM.get().and_then(Option::as_ref)
}

fn parse(rsdp: Option<u64>, bsp_apic_id: u32) -> Option<Platform> {
    let tables = match rsdp.filter(|&a| a != 0) {
        // SAFETY: the address is the boot loader's claim; `from_rsdp` reads
        // the RSDP-sized range there through `LinearMap`, which only hands
        // out ranges inside the always-mapped first 4 GiB, and it validates
        // the signature and checksum before trusting any field.
        Some(addr) => unsafe { AcpiTables::from_rsdp(LinearMap, addr as usize) },
        // SAFETY: the machine boots through PVH from a BIOS (SeaBIOS under
        // QEMU): the EBDA pointer and 0xE0000–0xFFFFF are the BIOS areas,
        // inside the first 4 GiB that `LinearMap` maps.
        None => unsafe { AcpiTables::search_for_rsdp_bios(LinearMap) },
    };
    let tables = tables
        .inspect_err(|e| log::warn!("acpi: no valid RSDP/RSDT: {e:?}"))
        .ok()?;
    let madt = tables
        .find_table::<Madt>()
        .inspect_err(|e| log::warn!("acpi: no valid MADT: {e:?}"))
        .ok()?;
    if !entries_well_formed(&madt) {
        log::warn!("acpi: MADT entries are malformed");
        return None;
    }

    let mut io_apic = None;
    let mut p = Platform {
        apic_ids: [0; MAX_CPUS],
        nr_cpus: 1,
        local_apic_addr: madt.get().local_apic_address as u64,
        io_apic: IoApicInfo {
            addr: 0,
            gsi_base: 0,
        },
        overrides: [IsaOverride::default(); MAX_OVERRIDES],
        nr_overrides: 0,
    };
    p.apic_ids[0] = bsp_apic_id;
    let mut bsp_listed = false;
    let mut add_cpu = |p: &mut Platform, id: u32, flags: u32| {
        // Bit 0: enabled; bit 1: can be enabled later (hot-plug, ignored).
        if flags & 1 == 0 {
            return;
        }
        if id == bsp_apic_id {
            bsp_listed = true;
        } else if p.nr_cpus < MAX_CPUS {
            p.apic_ids[p.nr_cpus] = id;
            p.nr_cpus += 1;
        } else {
            log::warn!("acpi: CPU with APIC id {id} ignored (more than {MAX_CPUS})");
        }
    };
    for entry in madt.get().entries() {
        match entry {
            MadtEntry::LocalApic(e) => add_cpu(&mut p, e.apic_id as u32, e.flags),
            MadtEntry::LocalX2Apic(e) => add_cpu(&mut p, e.x2apic_id, e.flags),
            MadtEntry::IoApic(e) if io_apic.is_none() => {
                io_apic = Some(IoApicInfo {
                    addr: e.io_apic_address as u64,
                    gsi_base: e.global_system_interrupt_base,
                });
            }
            MadtEntry::InterruptSourceOverride(e)
                if e.bus == 0 && e.irq < 16 && p.nr_overrides < MAX_OVERRIDES =>
            {
                p.overrides[p.nr_overrides] = IsaOverride {
                    irq: e.irq,
                    gsi: e.global_system_interrupt,
                    flags: e.flags,
                };
                p.nr_overrides += 1;
            }
            MadtEntry::LocalApicAddressOverride(e) => {
                p.local_apic_addr = e.local_apic_address;
            }
            _ => {}
        }
    }
    if !bsp_listed {
        log::warn!("acpi: the MADT does not list the boot CPU (APIC id {bsp_apic_id})");
    }
    let Some(io_apic) = io_apic else {
        log::warn!("acpi: the MADT lists no I/O APIC");
        return None;
    };
    p.io_apic = io_apic;
    Some(p)
}

/// Checks that the MADT's entries tile the table and are at least as long
/// as the structures read for them: the crate's iterator trusts each
/// entry's length byte (a zero would make it loop forever, a short entry
/// would be read past its end).
fn entries_well_formed(madt: &PhysicalMapping<LinearMap, Madt>) -> bool {
    let header = size_of::<Madt>();
    let total = madt.region_length();
    let Some(len) = total.checked_sub(header) else {
        return false;
    };
    let base = madt.virtual_start().as_ptr() as *const u8;
    // SAFETY: the mapping covers `region_length` bytes (the table length the
    // crate validated the checksum over), all readable through the linear
    // map; any byte is a valid `u8`.
    let bytes = unsafe { core::slice::from_raw_parts(base.add(header), len) };
    let mut at = 0;
    while at < bytes.len() {
        let Some(&[kind, entry_len]) = bytes.get(at..at + 2) else {
            return false;
        };
        let need = match kind {
            0 => 8,     // processor local APIC
            1 => 12,    // I/O APIC
            2 => 10,    // interrupt source override
            3 | 4 => 6, // NMI source, local APIC NMI
            5 => 12,    // local APIC address override
            9 => 16,    // processor local x2APIC
            10 => 12,   // local x2APIC NMI
            _ => 2,
        };
        if (entry_len as usize) < need || at + entry_len as usize > bytes.len() {
            return false;
        }
        at += entry_len as usize;
    }
    true
}

/// Maps ACPI tables for the `acpi` crate through the linear map.
#[derive(Clone, Copy, Debug)]
struct LinearMap;

/// The part of physical memory mapped both by the boot page tables and by
/// the kernel's: firmware tables lie below 4 GiB on the machines we run on;
/// a table claimed beyond is read as zeros (and so fails validation).
const ALWAYS_MAPPED_END: u64 = 4 << 30;

/// A page of zeros standing in for tables outside [`ALWAYS_MAPPED_END`].
#[repr(align(4096))]
struct ZeroPage([u8; 4096]);
static ZERO_PAGE: ZeroPage = ZeroPage([0; 4096]);

impl AcpiHandler for LinearMap {
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let in_range = (physical_address as u64)
            .checked_add(size as u64)
            .is_some_and(|end| end <= ALWAYS_MAPPED_END);
        let vaddr = if in_range {
            paddr_to_vaddr(physical_address as u64) as *mut T
        } else if size <= ZERO_PAGE.0.len() {
            log::warn!("acpi: table at {physical_address:#x} is beyond 4 GiB; ignored");
            ZERO_PAGE.0.as_ptr() as *mut T
        } else {
            // The crate asks for a large range only after reading a valid
            // header of that length there, which a zero page never is.
            panic!("acpi: {size} bytes at {physical_address:#x} requested beyond 4 GiB");
        };
        // SAFETY: `vaddr` is non-null (a linear-map address or a static)
        // and `size` bytes from it are mapped and readable: the first 4 GiB
        // are linearly mapped at all times (boot and kernel page tables),
        // or it is the zero page, at least as large. The crate only reads
        // through it (ACPI tables are never written here); zero-page data
        // fails every signature check, so it is never read as a table.
        unsafe {
            PhysicalMapping::new(
                physical_address,
                NonNull::new_unchecked(vaddr),
                size,
                size,
                *self,
            )
        }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {
        // The linear map is permanent.
    }
}

#[cfg(feature = "ktest")]
mod test {
    use super::*;
    use crate::prelude::ktest;

    #[ktest]
    fn isa_overrides_are_honoured() {
        let mut p = Platform {
            apic_ids: [0; MAX_CPUS],
            nr_cpus: 1,
            local_apic_addr: 0xfee0_0000,
            io_apic: IoApicInfo {
                addr: 0xfec0_0000,
                gsi_base: 0,
            },
            overrides: [IsaOverride::default(); MAX_OVERRIDES],
            nr_overrides: 2,
        };
        p.overrides[0] = IsaOverride {
            irq: 0,
            gsi: 2,
            flags: 0,
        };
        p.overrides[1] = IsaOverride {
            irq: 9,
            gsi: 9,
            flags: 0b1111,
        };
        let edge_high = |gsi| IsaRoute {
            gsi,
            active_low: false,
            level: false,
        };
        assert_eq!(p.isa_irq(0), edge_high(2));
        assert_eq!(p.isa_irq(4), edge_high(4));
        assert_eq!(
            p.isa_irq(9),
            IsaRoute {
                gsi: 9,
                active_low: true,
                level: true
            }
        );
    }

    #[ktest]
    fn the_boot_cpu_is_listed_first() {
        if let Some(p) = platform() {
            assert_eq!(p.apic_ids()[0], crate::arch::x86::apic::bsp_apic_id());
        }
    }
}
