//! Walking and editing 4-level page tables of user address spaces.
//!
//! All functions take the physical address of a PML4 whose user half is
//! owned by one `VmSpace` and must be called with that `VmSpace`'s lock
//! held: that lock is what makes the raw entry accesses here exclusive.
//! Intermediate tables of the user half are allocated here and freed by
//! [`free_user_tables`]; leaf entries own one reference to their frame.

use super::Vaddr;
use super::frame::{For, alloc_block_for, free_block, zero_page};
use crate::arch::x86::mm::{paddr_to_vaddr, pte};

pub(super) const LEVELS: usize = 4;

pub(super) fn index(va: Vaddr, level: usize) -> usize {
    ((va >> (12 + 9 * (level - 1))) & 511) as usize
}

/// Bytes covered by one entry at `level` (1 = 4 KiB).
pub(super) fn entry_span(level: usize) -> u64 {
    1u64 << (12 + 9 * (level - 1))
}

pub(super) fn entry_ptr(table: u64, idx: usize) -> *mut u64 {
    (paddr_to_vaddr(table) as usize + idx * 8) as *mut u64
}

/// Reads an entry.
///
/// # Safety
///
/// `table` must be a live page-table frame of a space whose lock is held.
pub(super) unsafe fn read(table: u64, idx: usize) -> u64 {
    // SAFETY: guaranteed by the caller; idx < 512 by construction.
    unsafe { entry_ptr(table, idx).read_volatile() }
}

/// Writes an entry.
///
/// # Safety
///
/// As for [`read`]; the caller also keeps the frame reference accounting
/// of leaf entries right.
pub(super) unsafe fn write(table: u64, idx: usize, value: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { entry_ptr(table, idx).write_volatile(value) }
}

/// Allocates a zeroed page-table frame (for a user address space: it
/// leaves the kernel's reserve alone).
pub(super) fn new_table() -> Option<u64> {
    let p = alloc_block_for(0, For::User)?;
    TABLES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    // SAFETY: a fresh frame nobody else references.
    unsafe { zero_page(paddr_to_vaddr(p)) };
    Some(p)
}

/// Page-table frames of user address spaces in use (`PageTables` in
/// `/proc/meminfo`).
static TABLES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Frees a table made by [`new_table`].
pub(super) fn free_table(table: u64) {
    TABLES.fetch_sub(1, core::sync::atomic::Ordering::Relaxed);
    free_block(table, 0);
}

/// The number of page-table frames user address spaces hold.
pub fn table_frames() -> usize {
    TABLES.load(core::sync::atomic::Ordering::Relaxed)
}

/// The leaf table (level 1) covering `va`, creating missing levels when
/// `create` is set.
///
/// # Safety
///
/// `root` must be a live PML4 of a space whose lock is held; `va` must be in
/// the user half.
pub(super) unsafe fn leaf_table(root: u64, va: Vaddr, create: bool) -> Option<u64> {
    let mut table = root;
    for level in (2..=LEVELS).rev() {
        let idx = index(va, level);
        // SAFETY: `table` is `root` or a table reached from it.
        let e = unsafe { read(table, idx) };
        table = if e & pte::PRESENT != 0 {
            e & pte::ADDR_MASK
        } else if create {
            let t = new_table()?;
            // SAFETY: as above; user-half intermediate entries are
            // permissive, the leaves decide.
            unsafe { write(table, idx, t | pte::PRESENT | pte::WRITABLE | pte::USER) };
            t
        } else {
            return None;
        };
    }
    Some(table)
}

/// Calls `f(va, table, idx)` for every leaf entry that holds a frame in
/// `[start, end)`, skipping absent subtrees quickly.
///
/// # Safety
///
/// As for [`leaf_table`]; `f` may rewrite the entry it is given.
pub(super) unsafe fn for_each_leaf(
    root: u64,
    start: Vaddr,
    end: Vaddr,
    f: &mut dyn FnMut(Vaddr, u64, usize),
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        for_each_leaf_table(root, start, end, &mut |base, table, first, last| {
            for idx in first..last {
                if crate::arch::x86::mm::leaf_has_frame(read(table, idx)) {
                    f(base + (idx as u64) * entry_span(1), table, idx);
                }
            }
        })
    }
}

/// Calls `f(table_va, table, first, last)` for every leaf table covering
/// part of `[start, end)`: entries `first..last` of `table` are in range.
/// Loops over the entries of one table are tight; this is what makes
/// `fork` of a large address space cheap.
///
/// # Safety
///
/// As for [`leaf_table`].
pub(super) unsafe fn for_each_leaf_table(
    root: u64,
    start: Vaddr,
    end: Vaddr,
    f: &mut dyn FnMut(Vaddr, u64, usize, usize),
) {
    // SAFETY: forwarded from the caller.
    unsafe { walk(root, LEVELS, 0, start, end, f) }
}

unsafe fn walk(
    table: u64,
    level: usize,
    base: Vaddr,
    start: Vaddr,
    end: Vaddr,
    f: &mut dyn FnMut(Vaddr, u64, usize, usize),
) {
    let span = entry_span(level);
    let first = if start > base {
        ((start - base) / span) as usize
    } else {
        0
    };
    if level == 1 {
        let last = if end >= base + 512 * span {
            512
        } else {
            (end - base).div_ceil(span) as usize
        };
        if first < last {
            f(base, table, first, last);
        }
        return;
    }
    for idx in first..512 {
        let va = base + idx as u64 * span;
        if va >= end {
            break;
        }
        // SAFETY: `table` is live under the caller's lock.
        let e = unsafe { read(table, idx) };
        if e & pte::PRESENT == 0 {
            continue;
        }
        // SAFETY: a present non-leaf entry of a user table points at a
        // live table of the same space.
        unsafe { walk(e & pte::ADDR_MASK, level - 1, va, start.max(va), end, f) };
    }
}

/// Frees every user-half page-table frame under `root` (entries 0..256),
/// dropping the frame reference of each present leaf.
///
/// # Safety
///
/// `root` must be a PML4 no longer in use by any CPU and not used again.
pub(super) unsafe fn free_user_tables(root: u64) {
    // SAFETY: forwarded.
    unsafe { free_level(root, LEVELS, 256) }
}

unsafe fn free_level(table: u64, level: usize, entries: usize) {
    for idx in 0..entries {
        // SAFETY: the table is exclusively ours (caller's contract).
        let e = unsafe { read(table, idx) };
        let has = if level == 1 {
            crate::arch::x86::mm::leaf_has_frame(e)
        } else {
            e & pte::PRESENT != 0
        };
        if !has {
            continue;
        }
        let child = e & pte::ADDR_MASK;
        if level == 1 {
            // SAFETY: a present leaf entry owns one reference.
            drop(unsafe { super::frame::Frame::from_raw(child) });
        } else {
            // SAFETY: as above.
            unsafe { free_level(child, level - 1, 512) };
            free_table(child);
        }
    }
}
