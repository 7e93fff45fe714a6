//! Memory management: physical frames, the kernel heap, the kernel page
//! table and user address spaces.
//!
//! Physical memory is mapped linearly at `LINEAR_MAP_BASE`, so the kernel
//! reaches any frame without creating mappings. The kernel half of every
//! address space (PML4 entries 256..512) points at the same page-directory
//! tables, all created at boot, so a kernel mapping made later is visible in
//! every user address space without copying.

mod frame;
mod heap;
mod kernel_space;
mod kernel_stack;
mod page_table;
mod user_copy;
mod vm_space;

use core::sync::atomic::AtomicU32;

pub(crate) use frame::FrameCache;
pub use frame::{Frame, Segment, free_frames, free_frames_for_user, total_frames};
pub use heap::heap_stats;
pub(crate) use kernel_space::load_kernel_root;
pub(crate) use kernel_stack::KernelStack;
#[cfg(feature = "ktest")]
pub(crate) use kernel_stack::drain_cache as drain_stack_cache;
pub(crate) use kernel_stack::is_guard_page;
pub use kernel_stack::kernel_stack_bytes;
pub use page_table::table_frames;
pub(crate) use user_copy::fixup as user_copy_fixup;
pub use user_copy::{UserAccessError, UserFault};
pub use vm_space::{PageFlags, VmSpace, VmSpaceError, spaces_being_freed};

pub use crate::arch::x86::mm::USER_SPACE_END;
use crate::arch::x86::mm::paddr_to_vaddr;
use crate::boot::{MemoryRegionKind, boot_info};

/// Size of a page.
pub const PAGE_SIZE: usize = 4096;
/// A physical address.
pub type Paddr = u64;
/// A virtual address.
pub type Vaddr = u64;

/// Frames below this are left alone (BIOS data, real-mode structures).
const LOW_MEMORY_END: u64 = 1 << 20;
/// The boot page tables map this much; early allocations must lie below.
const BOOT_MAPPED_END: u64 = 4 << 30;

unsafe extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_phys_end: u8;
}

fn kernel_phys_range() -> (u64, u64) {
    let start = &raw const __kernel_phys_start as u64;
    let end = &raw const __kernel_phys_end as u64;
    (start, end)
}

/// Ranges of usable RAM not covered by the kernel image or the initrd,
/// clipped to `[lo, hi)`, in page-aligned form.
fn free_ranges(lo: u64, hi: u64) -> impl Iterator<Item = (u64, u64)> {
    let (kstart, kend) = kernel_phys_range();
    let initrd = boot_info()
        .initrd_range()
        .map(|(b, l)| (b, b.saturating_add(l)))
        .unwrap_or((0, 0));
    let reserved = [(0, LOW_MEMORY_END), (kstart, kend), initrd];
    boot_info()
        .memory_regions()
        .iter()
        .filter(|r| r.kind == MemoryRegionKind::Usable)
        .flat_map(move |r| {
            let start = r.base.max(lo).next_multiple_of(PAGE_SIZE as u64);
            let end = (r.base.saturating_add(r.len).min(hi)) & !(PAGE_SIZE as u64 - 1);
            subtract(start, end, reserved)
        })
}

/// `[start, end)` minus each reserved range, as up to four pieces.
fn subtract(start: u64, end: u64, reserved: [(u64, u64); 3]) -> impl Iterator<Item = (u64, u64)> {
    let mut pieces = [(start, end), (0, 0), (0, 0), (0, 0)];
    let mut n = if start < end { 1 } else { 0 };
    for (rs, re) in reserved {
        let rs = rs & !(PAGE_SIZE as u64 - 1);
        let re = re.next_multiple_of(PAGE_SIZE as u64);
        let mut next = [(0, 0); 4];
        let mut m = 0;
        for &(s, e) in &pieces[..n] {
            if re <= s || rs >= e {
                next[m] = (s, e);
                m += 1;
                continue;
            }
            if s < rs && m < 4 {
                next[m] = (s, rs);
                m += 1;
            }
            if re < e && m < 4 {
                next[m] = (re, e);
                m += 1;
            }
        }
        pieces = next;
        n = m;
    }
    pieces.into_iter().take(n)
}

/// Highest usable physical address (exclusive).
fn ram_end() -> u64 {
    boot_info()
        .memory_regions()
        .iter()
        .filter(|r| r.kind == MemoryRegionKind::Usable)
        .map(|r| r.base.saturating_add(r.len))
        .max()
        .unwrap_or(0)
        .min(1 << 40)
}

pub(crate) fn init() {
    let nr_frames = (ram_end() as usize).div_ceil(PAGE_SIZE);
    let meta_bytes = nr_frames * size_of::<AtomicU32>();
    let link_bytes = nr_frames * size_of::<frame_allocator::Link>();
    let need = (meta_bytes + link_bytes).next_multiple_of(PAGE_SIZE) as u64;

    // Carve the bookkeeping arrays out of the first free range that holds
    // them and is mapped by the boot page tables.
    let (carve_start, _) = free_ranges(LOW_MEMORY_END, BOOT_MAPPED_END)
        .find(|&(s, e)| e - s >= need)
        .expect("ostd: not enough memory for frame metadata");
    let carve_end = carve_start + need;
    let base = paddr_to_vaddr(carve_start);
    // SAFETY: `[carve_start, carve_end)` is usable RAM below 4 GiB (mapped
    // by the boot page tables), not part of the kernel image or the initrd,
    // and is excluded from the allocator below, so nothing else ever aliases
    // it. Zero bytes are valid `AtomicU32`s; `Link`s are initialised by
    // `BuddyAllocator::new` before use, and are plain integers and bools
    // for which zero is valid.
    let (meta, links) = unsafe {
        core::ptr::write_bytes(base as *mut u8, 0, need as usize);
        let meta = core::slice::from_raw_parts_mut(base as *mut AtomicU32, nr_frames);
        let links = core::slice::from_raw_parts_mut(
            (base as usize + meta_bytes) as *mut frame_allocator::Link,
            nr_frames,
        );
        (meta, links)
    };
    let free = free_ranges(LOW_MEMORY_END, u64::MAX).flat_map(move |(s, e)| {
        subtract(s, e, [(carve_start, carve_end), (0, 0), (0, 0)])
            .map(|(s, e)| (s as usize / PAGE_SIZE, e as usize / PAGE_SIZE))
    });
    frame::init(meta, links, free);

    kernel_space::init(ram_end());
    heap::init();
    log::info!(
        "mm: {} MiB usable, {} MiB free",
        boot_info().total_usable() >> 20,
        (free_frames() * PAGE_SIZE) >> 20
    );
}

/// The bytes of physical memory `[base, base + len)`, if the range is a
/// reserved piece of RAM that nothing else ever writes: only the initrd.
pub(crate) fn phys_slice(base: u64, len: u64) -> Option<&'static [u8]> {
    let end = base.checked_add(len)?;
    let in_ram = boot_info().memory_regions().iter().any(|r| {
        r.kind == MemoryRegionKind::Usable && r.base <= base && end <= r.base.saturating_add(r.len)
    });
    if !in_ram || boot_info().initrd_range() != Some((base, len)) {
        return None;
    }
    // SAFETY: the range is RAM covered by the linear map, and it is the
    // initrd, which `free_ranges` keeps out of the frame allocator: no one
    // writes it after boot, so a shared `'static` slice is sound.
    Some(unsafe { core::slice::from_raw_parts(paddr_to_vaddr(base) as *const u8, len as usize) })
}

#[cfg(feature = "ktest")]
mod test;
