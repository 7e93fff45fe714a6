//! Paging constants and primitives of x86-64.

/// Base of the linear map of all physical memory.
pub(crate) const LINEAR_MAP_BASE: u64 = 0xffff_8000_0000_0000;
/// Virtual address the kernel image is linked at, minus its physical address.
pub(crate) const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;
/// End (exclusive) of the user half of the address space.
pub const USER_SPACE_END: u64 = 0x0000_8000_0000_0000;

/// Page table entry bits.
pub(crate) mod pte {
    pub const PRESENT: u64 = 1 << 0;
    pub const WRITABLE: u64 = 1 << 1;
    pub const USER: u64 = 1 << 2;
    pub const ACCESSED: u64 = 1 << 5;
    pub const DIRTY: u64 = 1 << 6;
    pub const HUGE: u64 = 1 << 7;
    pub const GLOBAL: u64 = 1 << 8;
    pub const AVAIL0: u64 = 1 << 9;
    pub const AVAIL1: u64 = 1 << 10;
    /// A user leaf entry that holds a frame but allows no access (`PROT_NONE`):
    /// not present to the CPU, so every access faults.
    pub const PROT_NONE: u64 = 1 << 11;
    pub const NO_EXECUTE: u64 = 1 << 63;
    pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
}

/// Whether user leaf entry `e` holds a frame (present, or `PROT_NONE`).
pub(crate) const fn leaf_has_frame(e: u64) -> bool {
    e & (pte::PRESENT | pte::PROT_NONE) != 0
}

/// Virtual address of physical address `paddr` in the linear map.
pub(crate) const fn paddr_to_vaddr(paddr: u64) -> u64 {
    paddr + LINEAR_MAP_BASE
}

/// Reads a `T` from physical memory through the linear map.
///
/// # Safety
///
/// `[paddr, paddr + size_of::<T>())` must be mapped by the linear map (RAM,
/// or below 4 GiB during boot) and hold a valid `T`.
pub(crate) unsafe fn read_phys<T: Copy>(paddr: u64) -> T {
    // SAFETY: the caller guarantees the range is mapped and valid for `T`.
    unsafe { core::ptr::read_unaligned(paddr_to_vaddr(paddr) as *const T) }
}

/// Loads a page table root.
///
/// # Safety
///
/// `root` must be the physical address of a valid PML4 that maps the kernel
/// exactly as the current one does.
pub(crate) unsafe fn load_root(root: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) root, options(nostack, preserves_flags)) };
}

/// The current page table root.
pub(crate) fn current_root() -> u64 {
    let root: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe {
        core::arch::asm!("mov {}, cr3", out(reg) root, options(nomem, nostack, preserves_flags))
    };
    root & pte::ADDR_MASK
}

/// Invalidates the TLB entry of one page.
pub(crate) fn flush_page(vaddr: u64) {
    // SAFETY: `invlpg` only drops a cached translation.
    unsafe { core::arch::asm!("invlpg [{}]", in(reg) vaddr, options(nostack, preserves_flags)) };
}

/// Invalidates all non-global TLB entries.
pub(crate) fn flush_all() {
    // SAFETY: reloading CR3 with its own value only drops cached
    // translations.
    unsafe { load_root(current_root()) };
}

/// Invalidates all TLB entries, global ones too (toggling CR4.PGE).
pub(crate) fn flush_all_global() {
    use x86_64::registers::control::{Cr4, Cr4Flags};
    let cr4 = Cr4::read();
    if cr4.contains(Cr4Flags::PAGE_GLOBAL) {
        // SAFETY: clearing and setting PGE again only drops cached
        // translations; interrupts stay as they are, and nothing in between
        // depends on global pages being cached.
        unsafe {
            Cr4::write(cr4 - Cr4Flags::PAGE_GLOBAL);
            Cr4::write(cr4);
        }
    } else {
        flush_all();
    }
}
