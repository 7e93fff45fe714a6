//! Parsing QEMU's `hvm_start_info` (the PVH boot protocol, version 1).
//!
//! Everything is read from physical memory through the boot identity map,
//! copied into fixed-size storage and validated; a malformed structure gives
//! fewer regions or no command line, never a crash.

use super::{BootInfo, MemoryRegion, MemoryRegionKind};
use crate::arch::x86::mm::read_phys;

/// `hvm_start_info.magic`.
const HVM_START_MAGIC: u32 = 0x336e_c578;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct ModlistEntry {
    paddr: u64,
    size: u64,
    cmdline_paddr: u64,
    reserved: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct MemmapEntry {
    addr: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

/// Only the first 4 GiB are mapped while this runs.
const BOOT_MAPPED_END: u64 = 4 << 30;

fn readable(paddr: u64, len: u64) -> bool {
    paddr != 0
        && paddr
            .checked_add(len)
            .is_some_and(|end| end <= BOOT_MAPPED_END)
}

/// Fills `info` from the start info at `paddr`. Returns a description of the
/// problem if the structure is unusable.
pub(crate) fn parse(paddr: u64, info: &mut BootInfo) -> Result<(), &'static str> {
    if !readable(paddr, size_of::<StartInfo>() as u64) {
        return Err("hvm_start_info address out of range");
    }
    // SAFETY: the range was checked to lie in the first 4 GiB, which the
    // boot page tables map through the linear map, and `StartInfo` is plain
    // data valid for any bit pattern.
    let start: StartInfo = unsafe { read_phys(paddr) };
    if start.magic != HVM_START_MAGIC {
        return Err("bad hvm_start_info magic");
    }

    if start.cmdline_paddr != 0 {
        let mut len = 0;
        while len < info.cmdline_buf.len() && readable(start.cmdline_paddr + len as u64, 1) {
            // SAFETY: checked mapped just above; any byte is a valid `u8`.
            let b: u8 = unsafe { read_phys(start.cmdline_paddr + len as u64) };
            if b == 0 {
                break;
            }
            info.cmdline_buf[len] = b;
            len += 1;
        }
        info.cmdline_len = len;
    }

    if start.version >= 1 && start.memmap_entries > 0 {
        let n = (start.memmap_entries as usize).min(info.regions.len());
        for i in 0..n {
            let at = start.memmap_paddr + (i * size_of::<MemmapEntry>()) as u64;
            if !readable(at, size_of::<MemmapEntry>() as u64) {
                break;
            }
            // SAFETY: checked mapped just above; plain data.
            let e: MemmapEntry = unsafe { read_phys(at) };
            let kind = match e.kind {
                1 => MemoryRegionKind::Usable,
                3 => MemoryRegionKind::AcpiReclaimable,
                _ => MemoryRegionKind::Reserved,
            };
            info.push_region(MemoryRegion {
                base: e.addr,
                len: e.size,
                kind,
            });
        }
    } else {
        return Err("hvm_start_info has no memory map (version 0)");
    }

    // `rsdp_paddr` exists from version 1 on; 0 means "not given".
    if start.version >= 1 && start.rsdp_paddr != 0 {
        info.rsdp = Some(start.rsdp_paddr);
    }

    if start.nr_modules > 0 && readable(start.modlist_paddr, size_of::<ModlistEntry>() as u64) {
        // SAFETY: checked mapped in the condition above; plain data.
        let m: ModlistEntry = unsafe { read_phys(start.modlist_paddr) };
        if m.size > 0 && m.paddr.checked_add(m.size).is_some() {
            info.initrd = Some((m.paddr, m.size));
        }
    }
    Ok(())
}
