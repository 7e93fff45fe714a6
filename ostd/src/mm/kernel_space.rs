//! The kernel page table: a linear map of physical memory (2 MiB pages) and
//! the kernel image with per-section permissions (4 KiB pages: text is
//! read-only and executable, read-only data is not executable, data is
//! writable and not executable).

use core::sync::atomic::{AtomicU64, Ordering};

use super::PAGE_SIZE;
use super::frame::{alloc_block, free_block};
use crate::arch::x86::mm::{KERNEL_VMA, LINEAR_MAP_BASE, load_root, paddr_to_vaddr, pte};

static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);
/// Serialises changes to the kernel page table after boot (mapping and
/// unmapping kernel pages, freeing tables), which any CPU may make.
static KERNEL_PT_LOCK: crate::sync::SpinLock<()> = crate::sync::SpinLock::new(());

/// Physical address of the kernel PML4.
pub(crate) fn kernel_root() -> u64 {
    KERNEL_ROOT.load(Ordering::Relaxed)
}

/// Loads the kernel's own page table (no user half), for tasks that have
/// no address space.
pub(crate) fn load_kernel_root() {
    let root = kernel_root();
    if crate::arch::x86::mm::current_root() != root {
        // SAFETY: the kernel page table maps the kernel exactly as every
        // user space does (they share its kernel half).
        unsafe { load_root(root) };
    }
}

unsafe extern "C" {
    static __kernel_text_start: u8;
    static __kernel_text_end: u8;
    static __kernel_rodata_end: u8;
    static __kernel_end: u8;
}

fn new_table() -> u64 {
    let p = alloc_block(0).expect("ostd: out of memory building the kernel page table");
    // SAFETY: a freshly allocated frame, mapped by the linear map, that no
    // one else references.
    unsafe { super::frame::zero_page(paddr_to_vaddr(p)) };
    p
}

fn entry(table: u64, index: usize) -> *mut u64 {
    (paddr_to_vaddr(table) as usize + index * 8) as *mut u64
}

/// Writes a page table entry of the kernel page table.
fn set(table: u64, index: usize, value: u64) {
    // SAFETY: `table` is a page-table frame of the kernel page table
    // (allocated here and reachable from its root, so not freed: a table
    // is unlinked before `free_empty_table` frees it); index < 512. An
    // entry is one aligned word, written whole; callers change entries
    // only of regions they own, during boot or under `KERNEL_PT_LOCK`.
    unsafe { entry(table, index).write_volatile(value) };
}

fn get(table: u64, index: usize) -> u64 {
    // SAFETY: as in `set`.
    unsafe { entry(table, index).read_volatile() }
}

pub(super) fn init(ram_end: u64) {
    let root = new_table();
    // Pre-create every kernel-half PDPT so the kernel half of all address
    // spaces stays identical without ever copying entries again.
    for i in 256..512 {
        set(root, i, new_table() | pte::PRESENT | pte::WRITABLE);
    }

    // Linear map of [0, max(4 GiB, end of RAM)) with 2 MiB pages.
    let linear_end = ram_end.max(4 << 30).next_multiple_of(1 << 30);
    let nx = pte::NO_EXECUTE;
    let mut paddr = 0u64;
    while paddr < linear_end {
        let vaddr = LINEAR_MAP_BASE + paddr;
        let pdpt = get(root, pml4_index(vaddr)) & pte::ADDR_MASK;
        let pd = new_table();
        set(pdpt, pdpt_index(vaddr), pd | pte::PRESENT | pte::WRITABLE);
        for i in 0..512 {
            let p = paddr + (i << 21);
            set(
                pd,
                i as usize,
                p | pte::PRESENT | pte::WRITABLE | pte::HUGE | pte::GLOBAL | nx,
            );
        }
        paddr += 1 << 30;
    }

    // The kernel image, page by page.
    let text_start = &raw const __kernel_text_start as u64;
    let text_end = &raw const __kernel_text_end as u64;
    let rodata_end = &raw const __kernel_rodata_end as u64;
    let end = (&raw const __kernel_end as u64).next_multiple_of(PAGE_SIZE as u64);
    // The boot trampoline (below text) stays executable at its kernel
    // address, harmlessly; it is never called again.
    let image_start = KERNEL_VMA + (super::kernel_phys_range().0);
    let mut va = image_start;
    while va < end {
        let flags = if va >= text_start && va < text_end {
            pte::PRESENT | pte::GLOBAL
        } else if va >= text_end && va < rodata_end {
            pte::PRESENT | pte::GLOBAL | nx
        } else if va < text_start {
            pte::PRESENT | pte::WRITABLE
        } else {
            pte::PRESENT | pte::WRITABLE | pte::GLOBAL | nx
        };
        let pt = walk_create(root, va);
        set(pt, pt_index(va), (va - KERNEL_VMA) | flags);
        va += PAGE_SIZE as u64;
    }

    KERNEL_ROOT.store(root, Ordering::Relaxed);
    // SAFETY: the new root maps the kernel image at the same addresses with
    // compatible permissions, the boot stack (in .bss) and all RAM through
    // the linear map, so execution continues seamlessly.
    unsafe { load_root(root) };
}

/// Maps one 4 KiB kernel page at `va` (in a region only this module's
/// callers use, such as kernel stacks) to frame `paddr`. Because every
/// kernel-half PDPT is shared by all address spaces, the mapping is visible
/// everywhere at once. Returns false if a page table could not be allocated.
pub(crate) fn map_kernel_page(va: u64, paddr: u64, flags: u64) -> bool {
    let _lock = KERNEL_PT_LOCK.lock();
    let root = kernel_root();
    let Some(pt) = try_walk_create(root, va) else {
        return false;
    };
    set(pt, pt_index(va), paddr | pte::PRESENT | pte::GLOBAL | flags);
    true
}

/// Unmaps a page mapped by [`map_kernel_page`] and flushes it from this
/// CPU's TLB; the caller shoots it down on the others
/// ([`flush_kernel_pages`]) before it reuses the frame.
pub(crate) fn unmap_kernel_page(va: u64) {
    let _lock = KERNEL_PT_LOCK.lock();
    let root = kernel_root();
    if let Some(pt) = try_walk_create(root, va) {
        set(pt, pt_index(va), 0);
    }
    // A global entry survives CR3 reloads; invlpg removes it.
    crate::arch::x86::mm::flush_page(va);
}

/// Frees the page table (level 1) covering `va`, in a region of pages
/// mapped by [`map_kernel_page`], if none of its entries is in use any
/// more.
pub(crate) fn free_empty_table(va: u64) {
    let _lock = KERNEL_PT_LOCK.lock();
    let root = kernel_root();
    let pdpt = get(root, pml4_index(va)) & pte::ADDR_MASK;
    let pd_entry = get(pdpt, pdpt_index(va));
    if pd_entry & pte::PRESENT == 0 {
        return;
    }
    let pd = pd_entry & pte::ADDR_MASK;
    let pt_entry = get(pd, pd_index(va));
    if pt_entry & pte::PRESENT == 0 || pt_entry & pte::HUGE != 0 {
        return;
    }
    let pt = pt_entry & pte::ADDR_MASK;
    if (0..512).any(|i| get(pt, i) & pte::PRESENT != 0) {
        return;
    }
    set(pd, pd_index(va), 0);
    // `invlpg` also drops the cached paging-structure entries, so no CPU
    // walks the freed table afterwards.
    flush_kernel_pages(&[va]);
    free_block(pt, 0);
}

/// Drops the TLB entries of kernel pages `vas` on every CPU; returns once
/// all have.
pub(crate) fn flush_kernel_pages(vas: &[u64]) {
    for &va in vas {
        crate::arch::x86::mm::flush_page(va);
    }
    crate::smp::shootdown(
        crate::smp::other_cpus(),
        crate::smp::KERNEL_HALF,
        vas,
        false,
    );
}

fn try_walk_create(root: u64, va: u64) -> Option<u64> {
    let mut table = get(root, pml4_index(va)) & pte::ADDR_MASK;
    for index in [pdpt_index(va), pd_index(va)] {
        let e = get(table, index);
        table = if e & pte::PRESENT != 0 {
            e & pte::ADDR_MASK
        } else {
            let t = alloc_block(0)?;
            // SAFETY: a fresh frame that no one else references.
            unsafe { super::frame::zero_page(paddr_to_vaddr(t)) };
            set(table, index, t | pte::PRESENT | pte::WRITABLE);
            t
        };
    }
    Some(table)
}

/// Returns the page table (level 1) covering `va`, creating levels as needed.
fn walk_create(root: u64, va: u64) -> u64 {
    let mut table = get(root, pml4_index(va)) & pte::ADDR_MASK;
    for index in [pdpt_index(va), pd_index(va)] {
        let e = get(table, index);
        table = if e & pte::PRESENT != 0 {
            e & pte::ADDR_MASK
        } else {
            let t = new_table();
            set(table, index, t | pte::PRESENT | pte::WRITABLE);
            t
        };
    }
    table
}

fn pml4_index(va: u64) -> usize {
    ((va >> 39) & 511) as usize
}
fn pdpt_index(va: u64) -> usize {
    ((va >> 30) & 511) as usize
}
fn pd_index(va: u64) -> usize {
    ((va >> 21) & 511) as usize
}
fn pt_index(va: u64) -> usize {
    ((va >> 12) & 511) as usize
}
