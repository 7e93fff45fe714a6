//! `VmSpace`: a user address space.
//!
//! A `VmSpace` owns a page table whose kernel half is shared with every
//! other space and whose user half maps frames with user permissions. Each
//! mapped page holds one reference to its [`Frame`], so frames are freed
//! exactly when the last mapping and handle are gone. Methods lock the
//! space. A space knows the CPUs that have it loaded; a change that removes
//! or restricts a mapping is flushed from this CPU's TLB and shot down on
//! the others (see `crate::smp`) before the call returns, and the frames
//! it unmapped are freed only after that.

use alloc::sync::Arc;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};

use bitflags::bitflags;

use super::frame::Frame;
use super::kernel_space::kernel_root;
use super::page_table::{
    self as pt, for_each_leaf, for_each_leaf_table, free_user_tables, leaf_table,
};
use super::user_copy::{self, UserAccessError};
use super::{PAGE_SIZE, Vaddr};
use crate::arch::x86::mm::{
    USER_SPACE_END, current_root, flush_all, flush_page, leaf_has_frame, load_root, pte,
};
use crate::sync::SpinLock;

bitflags! {
    /// Permissions and software bits of a user page. Pages are readable
    /// unless `NO_ACCESS` is set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PageFlags: u8 {
        /// Writable.
        const WRITE = 1 << 0;
        /// Executable.
        const EXEC = 1 << 1;
        /// Free for the kernel's use (e.g. "copy on write").
        const SOFT0 = 1 << 2;
        /// Free for the kernel's use.
        const SOFT1 = 1 << 3;
        /// No access at all (`PROT_NONE`): the page keeps its frame, but
        /// every access faults. `WRITE` and `EXEC` are then ignored.
        const NO_ACCESS = 1 << 4;
    }
}

impl PageFlags {
    fn to_pte(self) -> u64 {
        let mut e = pte::USER;
        if self.contains(Self::NO_ACCESS) {
            e |= pte::PROT_NONE | pte::NO_EXECUTE;
        } else {
            e |= pte::PRESENT;
            if self.contains(Self::WRITE) {
                e |= pte::WRITABLE;
            }
            if !self.contains(Self::EXEC) {
                e |= pte::NO_EXECUTE;
            }
        }
        if self.contains(Self::SOFT0) {
            e |= pte::AVAIL0;
        }
        if self.contains(Self::SOFT1) {
            e |= pte::AVAIL1;
        }
        e
    }

    fn from_pte(e: u64) -> Self {
        let mut f = Self::empty();
        if e & pte::PRESENT == 0 {
            f |= Self::NO_ACCESS;
        } else {
            f.set(Self::WRITE, e & pte::WRITABLE != 0);
            f.set(Self::EXEC, e & pte::NO_EXECUTE == 0);
        }
        f.set(Self::SOFT0, e & pte::AVAIL0 != 0);
        f.set(Self::SOFT1, e & pte::AVAIL1 != 0);
        f
    }
}

/// Why a `VmSpace` operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmSpaceError {
    /// The address or range is not page-aligned or not in user space.
    BadAddress,
    /// No memory for page tables.
    NoMemory,
}

/// A user address space.
pub struct VmSpace {
    /// The PML4; the lock serialises every change to the page tables.
    root: SpinLock<u64>,
    /// The same address, readable without the lock (it never changes).
    root_paddr: u64,
    /// The CPUs that have the space loaded (bit `n`: CPU `n`). A CPU sets
    /// its bit before it loads the space and clears it after it loaded
    /// another one, so a CPU not in the set caches none of its entries.
    cpus: AtomicU64,
}

/// Pending TLB invalidations of a space: flushed on this CPU if it has the
/// space loaded, and on every other CPU that has.
struct Flusher<'a> {
    space: &'a VmSpace,
    pages: [u64; 16],
    n: usize,
    all: bool,
}

impl<'a> Flusher<'a> {
    fn new(space: &'a VmSpace) -> Self {
        Self {
            space,
            pages: [0; 16],
            n: 0,
            all: false,
        }
    }

    fn add(&mut self, va: Vaddr) {
        if self.all {
            return;
        }
        if self.n < self.pages.len() {
            self.pages[self.n] = va;
            self.n += 1;
        } else {
            self.all = true;
        }
    }

    /// Flushes, and returns once every CPU has. Called with the space's
    /// lock held (so interrupts are off, and no CPU refills an entry from
    /// the old tables once it has flushed, except through the new ones).
    fn finish(self) {
        if self.n == 0 && !self.all {
            return;
        }
        debug_assert!(!x86_64::instructions::interrupts::are_enabled());
        // The page-table writes before this fence, and this CPU's look at
        // the set after it, are ordered: a CPU that loads the space later
        // (setting its bit first, with a locked instruction) walks the new
        // entries.
        core::sync::atomic::fence(Ordering::SeqCst);
        let cpus = self.space.cpus.load(Ordering::Acquire);
        let me = 1u64 << crate::cpu::this_cpu_index();
        if cpus & me != 0 {
            if self.all {
                flush_all();
            } else {
                for &va in &self.pages[..self.n] {
                    flush_page(va);
                }
            }
        }
        let others = cpus & !me;
        if others != 0 {
            let pages = &self.pages[..self.n];
            crate::smp::shootdown(others, self.space.root_paddr, pages, self.all);
        }
    }
}

fn check_range(range: &Range<Vaddr>) -> Result<(), VmSpaceError> {
    let aligned =
        range.start.is_multiple_of(PAGE_SIZE as u64) && range.end.is_multiple_of(PAGE_SIZE as u64);
    if !aligned || range.start > range.end || range.end > USER_SPACE_END {
        return Err(VmSpaceError::BadAddress);
    }
    Ok(())
}

impl VmSpace {
    /// An empty address space (only the kernel half is mapped).
    pub fn new() -> Result<Self, VmSpaceError> {
        let root = pt::new_table().ok_or(VmSpaceError::NoMemory)?;
        let kroot = kernel_root();
        for idx in 256..512 {
            // SAFETY: `root` is a fresh table we own; `kroot` is the kernel
            // PML4, whose kernel-half entries never change after boot.
            unsafe { pt::write(root, idx, pt::read(kroot, idx)) };
        }
        Ok(Self {
            root: SpinLock::new(root),
            root_paddr: root,
            cpus: AtomicU64::new(0),
        })
    }

    /// Maps `frame` at `va` with `flags`, replacing (and returning) any
    /// frame mapped there before.
    pub fn map(
        &self,
        va: Vaddr,
        frame: Frame,
        flags: PageFlags,
    ) -> Result<Option<Frame>, VmSpaceError> {
        check_range(&(va..va + PAGE_SIZE as u64))?;
        let root = self.root.lock();
        // SAFETY: the space's lock is held and `va` is a user address.
        let table = unsafe { leaf_table(*root, va, true) }.ok_or(VmSpaceError::NoMemory)?;
        let idx = pt::index(va, 1);
        // SAFETY: `table` is live under the lock; the old entry's reference
        // moves into the returned `Frame`, the new frame's into the entry.
        let old = unsafe { pt::read(table, idx) };
        unsafe { pt::write(table, idx, frame.into_raw() | flags.to_pte()) };
        let old = leaf_has_frame(old).then(|| {
            // SAFETY: a present leaf entry owns a frame reference.
            unsafe { Frame::from_raw(old & pte::ADDR_MASK) }
        });
        if old.is_some() {
            let mut flusher = Flusher::new(self);
            flusher.add(va);
            flusher.finish();
        }
        Ok(old)
    }

    /// Maps `frame` at `va` only if nothing is mapped there (one page-table
    /// walk: the fast path of a fault on a missing page). Returns whether it
    /// mapped; if not, `frame` is dropped.
    pub fn map_if_absent(
        &self,
        va: Vaddr,
        frame: Frame,
        flags: PageFlags,
    ) -> Result<bool, VmSpaceError> {
        check_range(&(va..va + PAGE_SIZE as u64))?;
        let root = self.root.lock();
        // SAFETY: the space's lock is held and `va` is a user address.
        let table = unsafe { leaf_table(*root, va, true) }.ok_or(VmSpaceError::NoMemory)?;
        let idx = pt::index(va, 1);
        // SAFETY: `table` is live under the lock.
        if leaf_has_frame(unsafe { pt::read(table, idx) }) {
            return Ok(false);
        }
        // SAFETY: as above; the frame's reference moves into the entry. No
        // TLB flush: a non-present entry is never cached.
        unsafe { pt::write(table, idx, frame.into_raw() | flags.to_pte()) };
        Ok(true)
    }

    /// Unmaps every page in `range`; the frames lose their references.
    pub fn unmap(&self, range: Range<Vaddr>) -> Result<(), VmSpaceError> {
        check_range(&range)?;
        let root = self.root.lock();
        let mut flusher = Flusher::new(self);
        let mut dropped = alloc::vec::Vec::new();
        // SAFETY: lock held, user range; each cleared entry's reference is
        // moved into `dropped` and released after the TLB flush.
        unsafe {
            for_each_leaf(*root, range.start, range.end, &mut |va, table, idx| {
                let e = pt::read(table, idx);
                pt::write(table, idx, 0);
                dropped.push(e & pte::ADDR_MASK);
                flusher.add(va);
            });
        }
        flusher.finish();
        drop(root);
        for p in dropped {
            // SAFETY: each address came from a present leaf entry that owned
            // a reference and was cleared above.
            drop(unsafe { Frame::from_raw(p) });
        }
        Ok(())
    }

    /// Rewrites the flags of every mapped page in `range` with `f`.
    pub fn protect(
        &self,
        range: Range<Vaddr>,
        mut f: impl FnMut(PageFlags) -> PageFlags,
    ) -> Result<(), VmSpaceError> {
        check_range(&range)?;
        let root = self.root.lock();
        let mut flusher = Flusher::new(self);
        // SAFETY: lock held, user range; only the flag bits change, so the
        // frame reference stays with the entry.
        unsafe {
            for_each_leaf(*root, range.start, range.end, &mut |va, table, idx| {
                let e = pt::read(table, idx);
                let new = (e & pte::ADDR_MASK) | f(PageFlags::from_pte(e)).to_pte();
                if new != e & !(pte::ACCESSED | pte::DIRTY) {
                    pt::write(table, idx, new);
                    flusher.add(va);
                }
            });
        }
        flusher.finish();
        Ok(())
    }

    /// The frame mapped at `va` (page-aligned down) and its flags.
    pub fn query(&self, va: Vaddr) -> Option<(Frame, PageFlags)> {
        if va >= USER_SPACE_END {
            return None;
        }
        let va = va & !(PAGE_SIZE as u64 - 1);
        let root = self.root.lock();
        // SAFETY: lock held, user address.
        let table = unsafe { leaf_table(*root, va, false) }?;
        // SAFETY: as above.
        let e = unsafe { pt::read(table, pt::index(va, 1)) };
        if !leaf_has_frame(e) {
            return None;
        }
        // SAFETY: the entry holds a reference and cannot be cleared while we
        // hold the lock, so the count stays nonzero during the increment.
        let frame = unsafe { Frame::clone_raw(e & pte::ADDR_MASK) };
        Some((frame, PageFlags::from_pte(e)))
    }

    /// Number of pages mapped in the whole user half (the resident set).
    pub fn resident_pages(&self) -> usize {
        let root = self.root.lock();
        let mut n = 0;
        // SAFETY: lock held; the walk only reads entries.
        unsafe {
            for_each_leaf_table(*root, 0, USER_SPACE_END, &mut |_, table, first, last| {
                n += (first..last)
                    .filter(|&i| leaf_has_frame(pt::read(table, i)))
                    .count();
            });
        }
        n
    }

    /// Copies the mappings of `range` into `child` (sharing the frames).
    /// With `write_protect`, both copies become read-only and `mark` is
    /// added to their flags: this is how `fork` shares private pages until
    /// the first write. No page data is copied.
    pub fn share_into(
        &self,
        child: &VmSpace,
        range: Range<Vaddr>,
        write_protect: bool,
        mark: PageFlags,
    ) -> Result<(), VmSpaceError> {
        check_range(&range)?;
        // Entries of the child are replaced without a TLB flush, which is
        // only sound if no CPU has the child loaded.
        if core::ptr::eq(self, child) || child.cpus.load(Ordering::Acquire) != 0 {
            return Err(VmSpaceError::BadAddress);
        }
        let root = self.root.lock();
        let child_root = child.root.lock();
        let mut flusher = Flusher::new(self);
        let mut result = Ok(());
        let cow_bits = mark.to_pte() & (pte::AVAIL0 | pte::AVAIL1);
        // SAFETY: both locks are held (distinct spaces), the range is user
        // space. Each copied entry gets its own frame reference.
        unsafe {
            for_each_leaf_table(
                *root,
                range.start,
                range.end,
                &mut |base, table, first, last| {
                    if result.is_err() {
                        return;
                    }
                    // The child's leaf table: looked up once per 512 entries.
                    let Some(ctable) =
                        leaf_table(*child_root, base + first as u64 * PAGE_SIZE as u64, true)
                    else {
                        result = Err(VmSpaceError::NoMemory);
                        return;
                    };
                    for idx in first..last {
                        let mut e = pt::read(table, idx);
                        if !leaf_has_frame(e) {
                            continue;
                        }
                        if write_protect && e & pte::WRITABLE != 0 {
                            e = (e & !pte::WRITABLE) | cow_bits;
                            pt::write(table, idx, e);
                            flusher.add(base + idx as u64 * PAGE_SIZE as u64);
                        }
                        let old = pt::read(ctable, idx);
                        Frame::inc_ref_raw(e & pte::ADDR_MASK);
                        pt::write(ctable, idx, e & !(pte::ACCESSED | pte::DIRTY));
                        if leaf_has_frame(old) {
                            drop(Frame::from_raw(old & pte::ADDR_MASK));
                        }
                    }
                },
            );
        }
        flusher.finish();
        result
    }

    /// Whether this is the space loaded on this CPU. While a task runs, the
    /// loaded space is the one it activated (tasks that never activated one
    /// run on the kernel's page table), so for the current task the answer
    /// cannot change under it, even if it is preempted.
    pub fn is_active(&self) -> bool {
        current_root() == self.root_paddr
    }

    /// Copies `dst.len()` bytes from user address `src` of this space, which
    /// must be the active one.
    pub fn read_user(&self, src: Vaddr, dst: &mut [u8]) -> Result<(), UserAccessError> {
        if !self.is_active() {
            return Err(UserAccessError::NotActive);
        }
        Ok(user_copy::copy_from_user(dst, src)?)
    }

    /// Copies `src` to user address `dst` of this space, which must be the
    /// active one.
    pub fn write_user(&self, dst: Vaddr, src: &[u8]) -> Result<(), UserAccessError> {
        if !self.is_active() {
            return Err(UserAccessError::NotActive);
        }
        Ok(user_copy::copy_to_user(dst, src)?)
    }

    /// Sets `len` bytes at user address `dst` of this space (the active one)
    /// to `byte`.
    pub fn fill_user(&self, dst: Vaddr, byte: u8, len: usize) -> Result<(), UserAccessError> {
        if !self.is_active() {
            return Err(UserAccessError::NotActive);
        }
        Ok(user_copy::fill_user(dst, byte, len)?)
    }

    /// Atomically replaces the `u32` at user address `addr` (4-byte
    /// aligned) of this space, the active one, with `new` if it holds
    /// `expected`; returns the value it held. For futexes, whose words user
    /// code changes concurrently.
    pub fn cmpxchg_user_u32(
        &self,
        addr: Vaddr,
        expected: u32,
        new: u32,
    ) -> Result<u32, UserAccessError> {
        if !self.is_active() {
            return Err(UserAccessError::NotActive);
        }
        Ok(user_copy::cmpxchg_user_u32(addr, expected, new)?)
    }

    /// Makes this the address space of the current task and loads it.
    pub fn activate(self: &Arc<Self>) {
        crate::task::set_current_vm_space(self.clone());
    }

    /// Loads the page table on CPU `cpu`, the running one (interrupts are
    /// off); used by the scheduler, which keeps the space alive while it
    /// is loaded and calls [`unloaded_from`](Self::unloaded_from) after it
    /// loads another.
    pub(crate) fn load_on(&self, cpu: usize) {
        // A locked instruction: a shootdown that misses this bit started
        // after it, so its page-table changes are visible to the walks
        // that follow the load.
        self.cpus.fetch_or(1 << cpu, Ordering::SeqCst);
        let root = self.root_paddr;
        if current_root() != root {
            // SAFETY: the root's kernel half equals the kernel page table's,
            // so the kernel keeps running; the caller keeps the space alive
            // while it is loaded.
            unsafe { load_root(root) };
        }
    }

    /// Notes that CPU `cpu` (the running one) loaded another page table:
    /// loading CR3 dropped its entries of this space.
    pub(crate) fn unloaded_from(&self, cpu: usize) {
        self.cpus.fetch_and(!(1 << cpu), Ordering::Release);
    }
}

/// Address spaces whose last handle is gone but whose pages are still
/// being freed (see [`spaces_being_freed`]).
static BEING_FREED: AtomicU64 = AtomicU64::new(0);

/// How many address spaces are being torn down right now: their memory
/// is on its way back to the frame allocator. (Once the last `Arc` of a
/// space is dropped, nothing else shows that freeing a large space, which
/// takes a while, has started but not finished.)
pub fn spaces_being_freed() -> u64 {
    BEING_FREED.load(Ordering::Acquire)
}

impl Drop for VmSpace {
    fn drop(&mut self) {
        BEING_FREED.fetch_add(1, Ordering::AcqRel);
        let root = *self.root.get_mut();
        assert_ne!(current_root(), root, "dropping the active VmSpace");
        // SAFETY: we are the last owner (drop) and the space is not loaded:
        // the active space is always kept alive by the scheduler.
        unsafe {
            free_user_tables(root);
        }
        pt::free_table(root);
        BEING_FREED.fetch_sub(1, Ordering::AcqRel);
    }
}
