//! `Vmar`: the regions of a process's address space.
//!
//! A `Vmar` keeps the list of mapped regions (VMAs) and the page table
//! (`VmSpace`) that caches their pages. Pages are created lazily by the
//! page-fault handler:
//!
//! * private anonymous memory gets a zeroed frame;
//! * shared memory (anonymous or file) maps the `Vmo`'s frame itself;
//! * private file memory maps the file's frame read-only and copies it on
//!   the first write.
//!
//! `fork` shares every page of private writable regions read-only between
//! parent and child ([`VmSpace::share_into`]), marking them with `SOFT0`
//! ("copy on write"). A write fault then copies the page, or, when the
//! frame's reference count shows it is no longer shared, only restores
//! write access. No page data is copied at fork time.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;

use ostd::mm::{Frame, PageFlags, UserAccessError, VmSpace};
use ostd::sync::Mutex;

use super::{PAGE_SIZE, VmPerms, Vmo, page_down, page_up};
use crate::ipc::shm::ShmAttachment;
use crate::prelude::*;
use crate::util::plain::Plain;

/// Address-space layout constants (no randomisation).
pub mod layout {
    /// Lowest address a mapping may have (Linux's default `mmap_min_addr`).
    pub const MMAP_MIN_ADDR: u64 = 0x1_0000;
    /// End of user space usable for mappings.
    pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
    /// Linux's `TASK_SIZE_MAX`: addresses from here up are not user
    /// addresses for `arch_prctl`, `clone`'s TLS and the like.
    pub const TASK_SIZE_MAX: u64 = 0x0000_7fff_ffff_f000;
    /// Top of the initial stack.
    pub const STACK_TOP: u64 = 0x0000_7fff_ffff_f000;
    /// Maximum stack size (the default `RLIMIT_STACK`).
    pub const STACK_SIZE: u64 = 8 << 20;
    /// Mappings without an address hint are placed below this, top-down.
    pub const MMAP_TOP: u64 = STACK_TOP - STACK_SIZE - (1 << 30);
    /// Load address of position-independent executables.
    pub const PIE_BASE: u64 = 0x5555_5555_4000;
}

/// Linux's default `vm.max_map_count`: a process may have this many
/// regions; mapping, splitting or protecting beyond it fails with `ENOMEM`
/// (each region costs kernel memory).
const MAX_MAP_COUNT: usize = 65530;

/// "Copy on write": set on pages of private writable regions that are
/// mapped read-only until the first write.
const COW: PageFlags = PageFlags::SOFT0;

#[derive(Clone)]
struct Vma {
    start: u64,
    end: u64,
    perms: VmPerms,
    shared: bool,
    /// The object behind the region and the offset of `start` in it.
    backing: Option<(Arc<Vmo>, u64)>,
    /// A System V shared memory segment's attachment: cloned and dropped
    /// with the region, which is how the segment counts its attachments.
    shm: Option<ShmAttachment>,
    /// `mlock`ed (Linux's `VM_LOCKED`): its pages stay resident.
    locked: bool,
    /// `MADV_DONTFORK`: a child made by `fork` does not get the region.
    dont_fork: bool,
    /// `MADV_WIPEONFORK`: a child made by `fork` gets it zero-filled.
    wipe_on_fork: bool,
    /// The file mapped, as `/proc/PID/maps` names it.
    name: Option<Arc<MapName>>,
}

/// The file a region maps, as `/proc/PID/maps` shows it.
#[derive(Debug)]
pub struct MapName {
    /// Absolute path.
    pub path: alloc::vec::Vec<u8>,
    /// Device number of its file system.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

/// A region as `/proc/PID/maps` shows it.
pub struct RegionInfo {
    /// The addresses it covers.
    pub range: Range<u64>,
    /// Its permissions.
    pub perms: VmPerms,
    /// `MAP_SHARED`.
    pub shared: bool,
    /// Offset in the mapped file.
    pub offset: u64,
    /// The file mapped, if it is named.
    pub name: Option<Arc<MapName>>,
    /// Part of the program break's heap.
    pub heap: bool,
}

impl Vma {
    fn page_flags(&self) -> PageFlags {
        let mut f = PageFlags::empty();
        if self.perms.is_empty() {
            // `PROT_NONE`: the page keeps its contents, unreachable.
            f |= PageFlags::NO_ACCESS;
        }
        if self.perms.contains(VmPerms::WRITE) {
            f |= PageFlags::WRITE;
        }
        if self.perms.contains(VmPerms::EXEC) {
            f |= PageFlags::EXEC;
        }
        f
    }

    /// The part of this VMA within `[start, end)`, with the backing offset
    /// adjusted.
    fn slice(&self, start: u64, end: u64) -> Vma {
        let mut v = self.clone();
        v.start = start.max(self.start);
        v.end = end.min(self.end);
        if let Some((vmo, off)) = &self.backing {
            v.backing = Some((vmo.clone(), off + (v.start - self.start)));
        }
        v
    }
}

struct Inner {
    vmas: BTreeMap<u64, Vma>,
    /// Where the next top-down search for free space starts.
    free_hint: u64,
    brk_start: u64,
    brk: u64,
    /// `mlockall(MCL_FUTURE)`: new regions are locked.
    lock_future: bool,
}

/// What to map.
pub struct MapOptions {
    /// Length in bytes (rounded up to pages).
    pub len: u64,
    /// Permissions.
    pub perms: VmPerms,
    /// `MAP_SHARED` (else private).
    pub shared: bool,
    /// A file's memory object and the offset to map from (else anonymous).
    pub backing: Option<(Arc<Vmo>, u64)>,
    /// Where: `Some((addr, fixed))`; `fixed` replaces what is there.
    pub addr: Option<(u64, bool)>,
}

/// Where `mmap` puts a new region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Anywhere free, top-down.
    Anywhere,
    /// At the (page-rounded) hint if that range is free, else anywhere.
    Hint(u64),
    /// Exactly there, replacing what is mapped (`MAP_FIXED`).
    Fixed(u64),
    /// Exactly there, `EEXIST` if anything is mapped in the range
    /// (`MAP_FIXED_NOREPLACE`).
    FixedNoReplace(u64),
    /// Anywhere free between 1 GiB and 2 GiB (`MAP_32BIT`, as Linux
    /// places it on x86-64).
    Low2GiB,
}

/// What the caller may map: the limits Linux's `may_expand_vm` applies
/// when a region is added or grows (`RLIMIT_AS` on all mapped memory,
/// `RLIMIT_DATA` on private writable memory other than the stack; soft
/// limits, in bytes), and whether it may map below `mmap_min_addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmLimits {
    /// `RLIMIT_AS`.
    pub address_space: u64,
    /// `RLIMIT_DATA`.
    pub data: u64,
    /// Fixed mappings may go below [`layout::MMAP_MIN_ADDR`] (Linux's
    /// `CAP_SYS_RAWIO`); else they fail with `EPERM` there.
    pub low_addresses: bool,
}

impl VmLimits {
    /// No limit (and no mapping below `mmap_min_addr`).
    pub const NONE: VmLimits = VmLimits {
        address_space: u64::MAX,
        data: u64::MAX,
        low_addresses: false,
    };

    /// `EPERM` if a fixed mapping at `addr` is below `mmap_min_addr`
    /// without the privilege (Linux's `cap_mmap_addr`).
    fn check_addr(&self, addr: u64) -> Result<()> {
        if addr < layout::MMAP_MIN_ADDR && !self.low_addresses {
            return_errno_with_message!(EPERM, "below mmap_min_addr");
        }
        Ok(())
    }

    fn unlimited(&self) -> bool {
        self.address_space == u64::MAX && self.data == u64::MAX
    }
}

/// The next address-space number.
static NEXT_VMAR_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// The address space of a process.
pub struct Vmar {
    inner: Mutex<Inner>,
    space: Arc<VmSpace>,
    /// A number no other address space ever has (an address can be reused
    /// once a space is freed): what private futexes are keyed by.
    id: u64,
}

impl Vmar {
    /// An empty address space.
    pub fn new() -> Result<Arc<Self>> {
        let space = VmSpace::new().map_err(|_| Error::new(ENOMEM))?;
        Ok(Arc::new(Self {
            inner: Mutex::new(Inner {
                vmas: BTreeMap::new(),
                free_hint: layout::MMAP_TOP,
                lock_future: false,
                brk_start: 0,
                brk: 0,
            }),
            space: Arc::new(space),
            id: NEXT_VMAR_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed),
        }))
    }

    /// The space's number, never reused (see `id`).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The page table.
    pub fn vm_space(&self) -> &Arc<VmSpace> {
        &self.space
    }

    /// Makes this the current task's address space.
    pub fn activate(&self) {
        self.space.activate();
    }

    /// Maps a region; returns its address.
    pub fn map(&self, opts: MapOptions) -> Result<u64> {
        self.map_with(opts, &mut None)
    }

    /// `mmap`: maps a region at `placement` (`opts.addr` is not used),
    /// within `limits`; returns its address.
    pub fn map_placed(
        &self,
        opts: MapOptions,
        placement: Placement,
        limits: VmLimits,
    ) -> Result<u64> {
        self.map_in(opts, placement, limits, &mut None)
    }

    /// [`map`](Self::map), the region holding `shm` (taken out of it once
    /// the region exists).
    fn map_with(&self, opts: MapOptions, shm: &mut Option<ShmAttachment>) -> Result<u64> {
        let placement = match opts.addr {
            Some((addr, true)) => Placement::Fixed(addr),
            Some((hint, false)) if hint != 0 => Placement::Hint(hint),
            _ => Placement::Anywhere,
        };
        self.map_in(opts, placement, VmLimits::NONE, shm)
    }

    fn map_in(
        &self,
        opts: MapOptions,
        placement: Placement,
        limits: VmLimits,
        shm: &mut Option<ShmAttachment>,
    ) -> Result<u64> {
        let len = page_up(opts.len);
        if len == 0 || len > layout::USER_END {
            return_errno!(ENOMEM);
        }
        let mut inner = self.inner.lock();
        // Checked under the lock that `maps_shared` takes: a seal
        // against writing either sees this mapping or stops it.
        if opts.shared && opts.perms.contains(VmPerms::WRITE) && denies_shared_write(&opts.backing)
        {
            return_errno_with_message!(EPERM, "the file is sealed against writing");
        }
        // A fixed mapping may split a region in two (and then take a slot).
        if inner.vmas.len() + 2 > MAX_MAP_COUNT {
            return_errno_with_message!(ENOMEM, "too many mappings");
        }
        super::oom::check_user_memory()?;
        let data = is_data(opts.shared, opts.perms);
        let start = match placement {
            Placement::Fixed(addr) | Placement::FixedNoReplace(addr) => {
                if addr % PAGE_SIZE != 0 {
                    return_errno!(EINVAL);
                }
                if addr.checked_add(len).is_none_or(|e| e > layout::USER_END) {
                    return_errno!(ENOMEM);
                }
                limits.check_addr(addr)?;
                if matches!(placement, Placement::FixedNoReplace(_))
                    && !is_free_range(&inner, addr, addr + len)
                {
                    return_errno!(EEXIST);
                }
                // What is replaced no longer counts against the limits.
                check_expand(&inner, limits, len, data, Some(addr..addr + len))?;
                self.remove_range(&mut inner, addr, addr + len);
                addr
            }
            Placement::Hint(hint) => {
                check_expand(&inner, limits, len, data, None)?;
                let hint = page_down(hint).max(layout::MMAP_MIN_ADDR);
                if is_free(&inner, hint, len) {
                    hint
                } else {
                    find_free(&mut inner, len)?
                }
            }
            Placement::Low2GiB => {
                check_expand(&inner, limits, len, data, None)?;
                find_free_below(&inner, LOW_2GIB_TOP, len, LOW_2GIB_BOTTOM)
                    .ok_or(Error::new(ENOMEM))?
            }
            Placement::Anywhere => {
                check_expand(&inner, limits, len, data, None)?;
                find_free(&mut inner, len)?
            }
        };
        let locked = inner.lock_future;
        insert_merging(
            &mut inner,
            Vma {
                start,
                end: start + len,
                perms: opts.perms,
                shared: opts.shared,
                backing: opts.backing,
                shm: shm.take(),
                locked,
                dont_fork: false,
                wipe_on_fork: false,
                name: None,
            },
        );
        Ok(start)
    }

    /// Unmaps `[start, start+len)`.
    pub fn unmap(&self, start: u64, len: u64) -> Result<()> {
        if !start.is_multiple_of(PAGE_SIZE) || len == 0 {
            return_errno!(EINVAL);
        }
        let end = start.checked_add(page_up(len)).ok_or(Error::new(EINVAL))?;
        if end > layout::USER_END + PAGE_SIZE {
            return_errno!(EINVAL);
        }
        let mut inner = self.inner.lock();
        if inner.vmas.len() + 1 > MAX_MAP_COUNT {
            return_errno_with_message!(ENOMEM, "too many mappings");
        }
        self.remove_range(&mut inner, start, end.min(layout::USER_END));
        Ok(())
    }

    /// Removes VMAs and pages in `[start, end)`, splitting partial VMAs.
    fn remove_range(&self, inner: &mut Inner, start: u64, end: u64) {
        drop(carve(inner, start, end));
        // Let the next search find the hole first.
        inner.free_hint = inner.free_hint.max(end.min(layout::MMAP_TOP));
        let _ = self.space.unmap(start..end);
    }

    /// Changes permissions of `[start, start+len)` (`mprotect`). Private
    /// memory made writable becomes data and counts against `RLIMIT_DATA`
    /// (`limits.data`; `ENOMEM` past it, as Linux's `mprotect_fixup`).
    pub fn protect(&self, start: u64, len: u64, perms: VmPerms, limits: VmLimits) -> Result<()> {
        if !start.is_multiple_of(PAGE_SIZE) {
            return_errno!(EINVAL);
        }
        let end = start.checked_add(page_up(len)).ok_or(Error::new(ENOMEM))?;
        if len == 0 {
            return Ok(());
        }
        let mut inner = self.inner.lock();
        // Linux: ENOMEM if any part of the range is unmapped, or if the
        // regions it splits would pass the limit.
        if !is_covered(&inner, start, end) || inner.vmas.len() + 2 > MAX_MAP_COUNT {
            return_errno!(ENOMEM);
        }
        if perms.contains(VmPerms::WRITE) && has_read_only_shm(&inner, start, end) {
            return_errno!(EACCES);
        }
        // A shared mapping of a file sealed against writing cannot become
        // writable (Linux clears its VM_MAYWRITE).
        if perms.contains(VmPerms::WRITE)
            && inner
                .vmas
                .range(..end)
                .rev()
                .take_while(|(_, v)| v.end > start)
                .any(|(_, v)| v.shared && denies_shared_write(&v.backing))
        {
            return_errno!(EACCES);
        }
        if perms.contains(VmPerms::WRITE) && limits.data != u64::MAX {
            let becoming_data: u64 = inner
                .vmas
                .range(..end)
                .rev()
                .take_while(|(_, v)| v.end > start)
                .filter(|(_, v)| !v.shared && !is_data_vma(v) && v.end != layout::STACK_TOP)
                .map(|(_, v)| v.end.min(end) - v.start.max(start))
                .sum();
            let data = vm_counts(&inner, 0, u64::MAX).1;
            if becoming_data > 0 && data + becoming_data > page_down(limits.data) {
                return_errno_with_message!(ENOMEM, "RLIMIT_DATA reached");
            }
        }
        for mut mid in carve(&mut inner, start, end) {
            mid.perms = perms;
            let shared = mid.shared;
            let (s, e) = (mid.start, mid.end);
            inner.vmas.insert(s, mid);
            let _ = self.space.protect(s..e, |old| {
                let mut f = old & (PageFlags::SOFT0 | PageFlags::SOFT1);
                // `PROT_NONE` keeps the frame but takes every access away.
                f.set(PageFlags::NO_ACCESS, perms.is_empty());
                f.set(PageFlags::EXEC, perms.contains(VmPerms::EXEC));
                if shared {
                    f.set(PageFlags::WRITE, perms.contains(VmPerms::WRITE));
                } else if perms.contains(VmPerms::WRITE) {
                    // Private pages get write access through a write fault,
                    // which copies them if they are shared.
                    if old.contains(PageFlags::WRITE) {
                        f |= PageFlags::WRITE;
                    } else {
                        f |= COW;
                    }
                }
                f
            });
        }
        Ok(())
    }

    /// Handles a page fault at `addr`. `Err(EFAULT)` means the access is
    /// not allowed (the caller raises `SIGSEGV` or returns `EFAULT`).
    pub fn handle_page_fault(&self, addr: u64, write: bool, exec: bool) -> Result<()> {
        let inner = self.inner.lock();
        let vma = match inner.vmas.range(..=addr).next_back() {
            Some((_, v)) if v.end > addr => v,
            _ => return_errno_with_message!(EFAULT, "no mapping"),
        };
        if (write && !vma.perms.contains(VmPerms::WRITE))
            || (exec && !vma.perms.contains(VmPerms::EXEC))
            || (!write && !exec && vma.perms.is_empty())
        {
            return_errno_with_message!(EFAULT, "access not permitted");
        }
        self.fault_in(vma, page_down(addr), write)
    }

    /// A page fault reported by the CPU (`present`: the page was mapped and
    /// the access violated its protection).
    pub fn handle_fault(&self, addr: u64, write: bool, exec: bool, present: bool) -> Result<()> {
        if present {
            self.handle_page_fault(addr, write, exec)
        } else {
            self.handle_missing_page(addr, write, exec)
        }
    }

    /// Like [`handle_page_fault`](Self::handle_page_fault) when the CPU
    /// reported that no page was mapped: private anonymous memory then
    /// takes a shorter path (one page-table walk).
    pub fn handle_missing_page(&self, addr: u64, write: bool, exec: bool) -> Result<()> {
        {
            let inner = self.inner.lock();
            if let Some((_, vma)) = inner.vmas.range(..=addr).next_back()
                && vma.end > addr
                && vma.backing.is_none()
                && !vma.perms.is_empty()
                && (!write || vma.perms.contains(VmPerms::WRITE))
                && (!exec || vma.perms.contains(VmPerms::EXEC))
            {
                let frame = Frame::alloc_zeroed().ok_or(Error::new(ENOMEM))?;
                let mapped = self
                    .space
                    .map_if_absent(page_down(addr), frame, vma.page_flags())
                    .map_err(|_| Error::new(ENOMEM))?;
                if mapped {
                    return Ok(());
                }
            }
        }
        self.handle_page_fault(addr, write, exec)
    }

    /// Makes the page at `page` present; with `write`, also private to this
    /// address space (copied if shared) and, if the region allows it,
    /// writable. Permissions are not checked here.
    fn fault_in(&self, vma: &Vma, page: u64, write: bool) -> Result<()> {
        let flags = vma.page_flags();
        if let Some((frame, pflags)) = self.space.query(page) {
            if !write || pflags.contains(PageFlags::WRITE) {
                return Ok(()); // Already resolved (e.g. by another thread).
            }
            // Copy on write. Our `frame` handle plus the mapping make two
            // references; more means someone else shares the page (another
            // address space after fork, or the file's own page cache), and
            // then the writer gets its own copy.
            let new_flags = flags - COW;
            if vma.shared || frame.ref_count() <= 2 {
                self.space
                    .protect(page..page + PAGE_SIZE, |_| new_flags)
                    .map_err(|_| Error::new(EFAULT))?;
            } else {
                let copy = Frame::alloc().ok_or(Error::new(ENOMEM))?;
                copy.copy_from(&frame);
                drop(frame);
                self.space
                    .map(page, copy, new_flags)
                    .map_err(|_| Error::new(ENOMEM))?;
            }
            return Ok(());
        }

        let frame = match &vma.backing {
            None => Frame::alloc_zeroed().ok_or(Error::new(ENOMEM))?,
            Some((vmo, off)) => {
                let idx = ((off + (page - vma.start)) / PAGE_SIZE) as usize;
                let f = vmo.mapped_page(idx)?;
                if vma.shared {
                    f
                } else if write {
                    let copy = Frame::alloc().ok_or(Error::new(ENOMEM))?;
                    copy.copy_from(&f);
                    copy
                } else {
                    // Share the file's page until the first write.
                    let mut ro = flags - PageFlags::WRITE;
                    if flags.contains(PageFlags::WRITE) {
                        ro |= COW;
                    }
                    self.space
                        .map(page, f, ro)
                        .map_err(|_| Error::new(ENOMEM))?;
                    return Ok(());
                }
            }
        };
        self.space
            .map(page, frame, flags)
            .map_err(|_| Error::new(ENOMEM))?;
        Ok(())
    }

    /// A copy-on-write duplicate for `fork`.
    pub fn fork(&self) -> Result<Arc<Vmar>> {
        let child = Vmar::new()?;
        let inner = self.inner.lock();
        {
            let mut ci = child.inner.lock();
            ci.vmas = inner
                .vmas
                .iter()
                .filter(|(_, v)| !v.dont_fork)
                .map(|(&k, v)| (k, v.clone()))
                .collect();
            // Memory locks are not inherited (Linux's `dup_mmap`).
            for v in ci.vmas.values_mut() {
                v.locked = false;
            }
            ci.brk_start = inner.brk_start;
            ci.brk = inner.brk;
        }
        // Regions the child does not get, or gets without their pages.
        for v in inner
            .vmas
            .values()
            .filter(|v| !v.dont_fork && !v.wipe_on_fork)
        {
            let private_writable = !v.shared && v.perms.contains(VmPerms::WRITE);
            self.space
                .share_into(&child.space, v.start..v.end, private_writable, COW)
                .map_err(|_| Error::new(ENOMEM))?;
        }
        Ok(child)
    }

    /// Sets up the heap right after the program's last segment.
    pub fn init_brk(&self, start: u64) {
        let mut inner = self.inner.lock();
        inner.brk_start = page_up(start);
        inner.brk = inner.brk_start;
    }

    /// `brk(2)`: moves the program break; returns the new (or unchanged)
    /// break. Growing it counts against `limits` as Linux's `brk` does: the heap's
    /// size against `RLIMIT_DATA` (`check_data_rlimit`), then the new
    /// pages against both limits (`may_expand_vm`).
    pub fn set_brk(&self, new: u64, limits: VmLimits) -> u64 {
        let mut inner = self.inner.lock();
        let (start, old) = (inner.brk_start, inner.brk);
        if new < start || new > layout::MMAP_TOP {
            return old;
        }
        let (old_end, new_end) = (page_up(old), page_up(new));
        if new > old && limits.data != u64::MAX && new - start > limits.data {
            return old;
        }
        if new_end > old_end {
            if !is_free(&inner, old_end, new_end - old_end)
                || check_expand(&inner, limits, new_end - old_end, true, None).is_err()
                || super::oom::check_commit(new_end - old_end).is_err()
                || inner.vmas.len() + 1 > MAX_MAP_COUNT
            {
                return old;
            }
            // Extend (or create) the heap VMA.
            let heap = inner
                .vmas
                .range(..old_end)
                .next_back()
                .map(|(&k, v)| (k, v.end))
                .filter(|&(k, e)| e == old_end && k >= start);
            match heap {
                Some((k, _)) => {
                    if let Some(v) = inner.vmas.get_mut(&k) {
                        v.end = new_end;
                    }
                }
                None => {
                    let locked = inner.lock_future;
                    inner.vmas.insert(
                        old_end,
                        Vma {
                            start: old_end,
                            end: new_end,
                            perms: VmPerms::READ | VmPerms::WRITE,
                            shared: false,
                            backing: None,
                            shm: None,
                            locked,
                            dont_fork: false,
                            wipe_on_fork: false,
                            name: None,
                        },
                    );
                }
            }
        } else if new_end < old_end {
            self.remove_range(&mut inner, new_end, old_end);
        }
        inner.brk = new;
        new
    }

    /// `mremap(2)`: shrink in place, grow in place if free, else move
    /// (with `may_move`); with `how.to` or `how.dont_unmap`, always move
    /// (Linux's `mremap_to`). Flag combinations are checked by the caller.
    pub fn remap(
        &self,
        old: u64,
        old_len: u64,
        new_len: u64,
        how: Remap,
        limits: VmLimits,
    ) -> Result<u64> {
        if !old.is_multiple_of(PAGE_SIZE) || new_len == 0 || new_len > layout::USER_END {
            return_errno!(EINVAL);
        }
        let (old_len, new_len) = (page_up(old_len), page_up(new_len));
        // A range that wraps past the top of the address space, or leaves
        // user space, holds no mapping (Linux: EFAULT).
        let old_end = old
            .checked_add(old_len)
            .filter(|&e| e <= layout::USER_END)
            .ok_or(Error::new(EFAULT))?;
        let mut inner = self.inner.lock();
        let Some(first) = vma_at(&inner, old) else {
            return_errno!(EFAULT);
        };
        // An old size of 0 duplicates a shared mapping (an old DOS
        // emulator's trick Linux keeps); a private one cannot be.
        if old_len == 0 {
            if !first.shared {
                return_errno!(EINVAL);
            }
            if !how.may_move || how.to.is_some() || how.dont_unmap {
                return_errno!(ENOMEM);
            }
            let mut copy = first.slice(old, old);
            check_expand(&inner, limits, new_len, false, None)?;
            let new = find_free(&mut inner, new_len)?;
            copy.start = new;
            copy.end = new + new_len;
            inner.vmas.insert(new, copy);
            return Ok(new);
        }
        if how.to.is_some() || how.dont_unmap {
            return self.remap_to(&mut inner, old, old_len, new_len, how, limits);
        }
        let vma = match vma_at(&inner, old) {
            Some(v) if v.end >= old_end => v.clone(),
            _ => return_errno!(EFAULT),
        };
        if new_len <= old_len {
            self.remove_range(&mut inner, old + new_len, old_end);
            return Ok(old);
        }
        check_expand(&inner, limits, new_len - old_len, is_data_vma(&vma), None)?;
        if !vma.shared && vma.perms.contains(VmPerms::WRITE) {
            super::oom::check_commit(new_len - old_len)?;
        }
        if vma.end == old_end && is_free(&inner, old_end, new_len - old_len) {
            if let Some(v) = inner.vmas.get_mut(&vma.start) {
                v.end = old + new_len;
            }
            return Ok(old);
        }
        if !how.may_move {
            return_errno!(ENOMEM);
        }
        let new = find_free(&mut inner, new_len)?;
        self.move_pages(&mut inner, &vma, old, old_len, new, new_len, false)?;
        Ok(new)
    }

    /// The moving part of [`remap`](Self::remap), in Linux's order: the
    /// target is checked (`EINVAL` if unaligned, outside user space or
    /// overlapping the source) and cleared, the source shrunk, then the
    /// pages moved.
    fn remap_to(
        &self,
        inner: &mut Inner,
        old: u64,
        mut old_len: u64,
        new_len: u64,
        how: Remap,
        limits: VmLimits,
    ) -> Result<u64> {
        if let Some(to) = how.to {
            if !to.is_multiple_of(PAGE_SIZE) || to > layout::USER_END - new_len {
                return_errno!(EINVAL);
            }
            if old + old_len > to && to + new_len > old {
                return_errno!(EINVAL);
            }
            limits.check_addr(to)?;
            self.remove_range(inner, to, to + new_len);
        }
        if old_len > new_len {
            self.remove_range(inner, old + new_len, old + old_len);
            old_len = new_len;
        }
        let vma = match vma_at(inner, old) {
            Some(v) if v.end - old >= old_len => v.clone(),
            _ => return_errno!(EFAULT),
        };
        // With MREMAP_DONTUNMAP the source stays mapped: the whole new
        // range is added.
        let added = if how.dont_unmap {
            new_len
        } else {
            new_len - old_len
        };
        check_expand(inner, limits, added, is_data_vma(&vma), None)?;
        if added > 0 && !vma.shared && vma.perms.contains(VmPerms::WRITE) {
            super::oom::check_commit(added)?;
        }
        if inner.vmas.len() + 3 > MAX_MAP_COUNT {
            return_errno_with_message!(ENOMEM, "too many mappings");
        }
        let new = match how.to {
            Some(to) => to,
            None => find_free(inner, new_len)?,
        };
        self.move_pages(inner, &vma, old, old_len, new, new_len, how.dont_unmap)?;
        Ok(new)
    }

    /// Moves the part `[old, old + old_len)` of `vma` to a region at `new`
    /// of `new_len` bytes, with its pages. With `keep_source`
    /// (`MREMAP_DONTUNMAP`), the source region stays, without pages: a
    /// private anonymous one reads zeros, others fault in their object's
    /// pages again.
    #[allow(clippy::too_many_arguments)]
    fn move_pages(
        &self,
        inner: &mut Inner,
        vma: &Vma,
        old: u64,
        old_len: u64,
        new: u64,
        new_len: u64,
        keep_source: bool,
    ) -> Result<()> {
        let old_end = old + old_len;
        let mut moved = vma.slice(old, old_end);
        moved.start = new;
        moved.end = new + new_len;
        let mut page = old;
        while page < old_end {
            if let Some((f, flags)) = self.space.query(page) {
                self.space
                    .map(new + (page - old), f, flags)
                    .map_err(|_| Error::new(ENOMEM))?;
            }
            page += PAGE_SIZE;
        }
        if keep_source {
            let _ = self.space.unmap(old..old_end);
        } else {
            self.remove_range(inner, old, old_end);
        }
        inner.vmas.insert(new, moved);
        Ok(())
    }

    /// `mincore(2)`: one byte per page of `[addr, addr+len)`, 1 if the page
    /// is resident. `ENOMEM` if part of the range is unmapped.
    pub fn residency(&self, addr: u64, len: u64) -> Result<Vec<u8>> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return_errno!(EINVAL);
        }
        let end = addr.checked_add(page_up(len)).ok_or(Error::new(ENOMEM))?;
        if !is_covered(&self.inner.lock(), addr, end) {
            return_errno!(ENOMEM);
        }
        Ok((addr..end)
            .step_by(PAGE_SIZE as usize)
            .map(|p| self.space.query(p).is_some() as u8)
            .collect())
    }

    /// Whether any mapping overlaps `[addr, addr+len)`.
    pub fn overlaps(&self, addr: u64, len: u64) -> bool {
        !is_free_range(&self.inner.lock(), addr, addr.saturating_add(page_up(len)))
    }

    /// Whether `[addr, addr+len)` is entirely mapped (for `mincore`-like
    /// checks and `msync`).
    pub fn is_mapped(&self, addr: u64, len: u64) -> bool {
        is_covered(&self.inner.lock(), addr, addr.saturating_add(len))
    }

    /// Whether a shared mapping of `vmo` exists here: writable, or one
    /// that could be made writable (a memfd cannot be sealed against
    /// writing then).
    pub fn maps_shared(&self, vmo: &Arc<Vmo>) -> bool {
        self.inner
            .lock()
            .vmas
            .values()
            .any(|v| v.shared && v.backing.as_ref().is_some_and(|(o, _)| Arc::ptr_eq(o, vmo)))
    }

    /// Unmaps the pages of regions backed by the object `vmo_id` from page
    /// `first` of the object on (the object shrank): the regions stay, and
    /// faults on those pages now find the object's end.
    pub fn unmap_object_from(&self, vmo_id: u64, first: u64) {
        let inner = self.inner.lock();
        for v in inner.vmas.values() {
            let Some((vmo, off)) = &v.backing else {
                continue;
            };
            if vmo.id() != vmo_id {
                continue;
            }
            let first_page = off / PAGE_SIZE;
            let skip = first.saturating_sub(first_page).saturating_mul(PAGE_SIZE);
            let from = v.start.saturating_add(skip);
            if from < v.end {
                let _ = self.space.unmap(from..v.end);
            }
        }
    }

    /// `mlock`/`munlock` (`lock`) of `[start, end)` (page aligned): `ENOMEM`
    /// if part of it is unmapped or, with a `limit` (the caller lacks the
    /// privilege), if the locked memory would pass it. With `populate`,
    /// the pages are faulted in.
    pub fn lock_range(
        &self,
        start: u64,
        end: u64,
        lock: bool,
        populate: bool,
        limit: Option<u64>,
    ) -> Result<()> {
        let mut inner = self.inner.lock();
        if !is_covered(&inner, start, end) {
            return_errno!(ENOMEM);
        }
        if lock && let Some(limit) = limit {
            let (total, locked_here) = locked_counts(&inner, start, end);
            let locked = total - locked_here + (end - start);
            if locked > page_down(limit) {
                return_errno_with_message!(ENOMEM, "RLIMIT_MEMLOCK reached");
            }
        }
        if inner.vmas.len() + 2 > MAX_MAP_COUNT {
            return_errno!(ENOMEM);
        }
        for mut v in carve(&mut inner, start, end) {
            v.locked = lock;
            inner.vmas.insert(v.start, v);
        }
        drop(inner);
        if lock && populate {
            self.populate_locked(start, end)?;
        }
        Ok(())
    }

    /// `mlockall` (`current`, `future`) and `munlockall` (neither): `ENOMEM`
    /// if, with a `limit`, all mapped memory would pass it.
    pub fn lock_all(
        &self,
        current: bool,
        future: bool,
        populate: bool,
        limit: Option<u64>,
    ) -> Result<()> {
        let mut inner = self.inner.lock();
        if current
            && let Some(limit) = limit
            && vm_counts(&inner, 0, u64::MAX).0 > page_down(limit)
        {
            return_errno_with_message!(ENOMEM, "RLIMIT_MEMLOCK reached");
        }
        inner.lock_future = future;
        let ranges: Vec<(u64, u64)> = if current || !future {
            inner
                .vmas
                .values_mut()
                .map(|v| {
                    v.locked = current;
                    (v.start, v.end)
                })
                .collect()
        } else {
            Vec::new()
        };
        drop(inner);
        if current && populate {
            for (s, e) in ranges {
                self.populate_locked(s, e)?;
            }
        }
        Ok(())
    }

    /// Whether new regions are locked (`mlockall(MCL_FUTURE)`).
    pub fn locks_future(&self) -> bool {
        self.inner.lock().lock_future
    }

    /// Locked memory, in bytes.
    pub fn locked_bytes(&self) -> u64 {
        locked_counts(&self.inner.lock(), 0, 0).0
    }

    /// Faults in the accessible pages of `[start, end)` that are still
    /// mapped (another thread may have unmapped some meanwhile).
    fn populate_locked(&self, start: u64, end: u64) -> Result<()> {
        let inner = self.inner.lock();
        let mut page = start;
        while page < end {
            if let Some(v) = vma_at(&inner, page)
                && !v.perms.is_empty()
            {
                let write = !v.shared && v.perms.contains(VmPerms::WRITE);
                self.fault_in(v, page, write)?;
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }

    /// `msync` of `[start, end)`: the pages of shared file mappings are the
    /// file's own, so there is nothing to write back; `EBUSY` for
    /// `MS_INVALIDATE` (`invalidate`) over locked memory, else `ENOMEM` if
    /// part of the range is unmapped.
    pub fn sync_range(&self, start: u64, end: u64, invalidate: bool) -> Result<()> {
        let inner = self.inner.lock();
        if invalidate
            && inner
                .vmas
                .range(..end)
                .rev()
                .take_while(|(_, v)| v.end > start)
                .any(|(_, v)| v.locked)
        {
            return_errno!(EBUSY);
        }
        if !is_covered(&inner, start, end) {
            return_errno!(ENOMEM);
        }
        Ok(())
    }

    /// `madvise(MADV_DONTNEED)` over `[start, end)`: drops the pages, so
    /// private anonymous memory reads zeros again and file or shared memory
    /// its object's contents. `EINVAL` over locked memory; `ENOMEM` if part
    /// of the range is unmapped (the mapped parts are done).
    pub fn discard_pages(&self, start: u64, end: u64) -> Result<()> {
        let inner = self.inner.lock();
        let regions: Vec<(u64, u64, bool)> = inner
            .vmas
            .range(..end)
            .rev()
            .take_while(|(_, v)| v.end > start)
            .map(|(_, v)| (v.start.max(start), v.end.min(end), v.locked))
            .collect();
        if regions.iter().any(|r| r.2) {
            return_errno!(EINVAL);
        }
        for (s, e, _) in &regions {
            let _ = self.space.unmap(*s..*e);
        }
        if !is_covered(&inner, start, end) {
            return_errno!(ENOMEM);
        }
        Ok(())
    }

    /// The fork-time `madvise` advice over `[start, end)`:
    /// `MADV_DONTFORK`/`MADV_DOFORK` and `MADV_WIPEONFORK`/`MADV_KEEPONFORK`
    /// (which Linux allows on private anonymous memory only: `EINVAL`
    /// otherwise). `ENOMEM` if part of the range is unmapped.
    pub fn advise_fork(&self, start: u64, end: u64, advice: ForkAdvice) -> Result<()> {
        let mut inner = self.inner.lock();
        if !is_covered(&inner, start, end) {
            return_errno!(ENOMEM);
        }
        let wipe = matches!(advice, ForkAdvice::WipeOnFork);
        if wipe
            && inner
                .vmas
                .range(..end)
                .rev()
                .take_while(|(_, v)| v.end > start)
                .any(|(_, v)| v.shared || v.backing.is_some())
        {
            return_errno!(EINVAL);
        }
        if inner.vmas.len() + 2 > MAX_MAP_COUNT {
            return_errno!(ENOMEM);
        }
        for mut v in carve(&mut inner, start, end) {
            match advice {
                ForkAdvice::DontFork => v.dont_fork = true,
                ForkAdvice::DoFork => v.dont_fork = false,
                ForkAdvice::WipeOnFork => v.wipe_on_fork = true,
                ForkAdvice::KeepOnFork => v.wipe_on_fork = false,
            }
            inner.vmas.insert(v.start, v);
        }
        Ok(())
    }

    /// `madvise(MADV_REMOVE)` over `[start, end)`: frees the backing store
    /// of shared memory (the pages read zeros again); `EINVAL` if part of
    /// the range is not shared, `ENOMEM` if part is unmapped.
    pub fn remove_backing(&self, start: u64, end: u64) -> Result<()> {
        let inner = self.inner.lock();
        if !is_covered(&inner, start, end) {
            return_errno!(ENOMEM);
        }
        let parts: Vec<(u64, u64, Arc<Vmo>, u64)> = inner
            .vmas
            .range(..end)
            .rev()
            .take_while(|(_, v)| v.end > start)
            .filter_map(|(_, v)| {
                let (vmo, off) = v.backing.as_ref().filter(|_| v.shared)?;
                let (s, e) = (v.start.max(start), v.end.min(end));
                Some((s, e, vmo.clone(), off + (s - v.start)))
            })
            .collect();
        let regions = inner
            .vmas
            .range(..end)
            .rev()
            .take_while(|(_, v)| v.end > start)
            .count();
        if parts.len() != regions {
            return_errno!(EINVAL);
        }
        for (s, e, vmo, off) in parts {
            vmo.punch(off, e - s);
            let _ = self.space.unmap(s..e);
        }
        Ok(())
    }

    /// Names the file-backed regions within `[start, start+len)` after the
    /// file they map (for `/proc/PID/maps`).
    pub fn name_region(&self, start: u64, len: u64, name: Arc<MapName>) {
        let end = start.saturating_add(len);
        let mut inner = self.inner.lock();
        for v in inner.vmas.range_mut(..end).map(|(_, v)| v) {
            if v.end > start && v.backing.is_some() && v.shm.is_none() {
                v.name = Some(name.clone());
            }
        }
    }

    /// Every region with what `/proc/PID/maps` shows of it.
    pub fn region_info(&self) -> Vec<RegionInfo> {
        let inner = self.inner.lock();
        let heap = inner.brk_start..page_up(inner.brk);
        inner
            .vmas
            .values()
            .map(|v| RegionInfo {
                range: v.start..v.end,
                perms: v.perms,
                shared: v.shared,
                offset: match (&v.name, &v.backing) {
                    (Some(_), Some((_, off))) => *off,
                    _ => 0,
                },
                name: v.name.clone(),
                heap: v.backing.is_none()
                    && !heap.is_empty()
                    && v.start >= heap.start
                    && v.end <= heap.end,
            })
            .collect()
    }

    /// Regions as `(range, perms, shared, has_backing)`, for `/proc/self/maps`.
    pub fn regions(&self) -> Vec<(Range<u64>, VmPerms, bool, bool)> {
        self.inner
            .lock()
            .vmas
            .values()
            .map(|v| (v.start..v.end, v.perms, v.shared, v.backing.is_some()))
            .collect()
    }

    // ---- Access to user memory of this address space ----

    /// Copies from user memory. The space must be the current task's
    /// (else `EFAULT`).
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        loop {
            match self.space.read_user(addr + done as u64, &mut buf[done..]) {
                Ok(()) => return Ok(()),
                Err(UserAccessError::Fault(f)) => {
                    done += f.copied;
                    self.fault_for_kernel(f.addr, false)?;
                }
                Err(UserAccessError::NotActive) => {
                    return_errno_with_message!(EFAULT, "not the current address space")
                }
            }
        }
    }

    /// Copies to user memory. The space must be the current task's (else
    /// `EFAULT`).
    pub fn write_bytes(&self, addr: u64, buf: &[u8]) -> Result<()> {
        let mut done = 0;
        loop {
            match self.space.write_user(addr + done as u64, &buf[done..]) {
                Ok(()) => return Ok(()),
                Err(UserAccessError::Fault(f)) => {
                    done += f.copied;
                    self.fault_for_kernel(f.addr, true)?;
                }
                Err(UserAccessError::NotActive) => {
                    return_errno_with_message!(EFAULT, "not the current address space")
                }
            }
        }
    }

    /// Resolves a fault the kernel took on user memory of this space. As
    /// for a fault of user code, running out of frames calls the OOM
    /// killer and tries again, until the caller is killed or interrupted;
    /// anything else is `EFAULT`.
    fn fault_for_kernel(&self, addr: u64, write: bool) -> Result<()> {
        const MAX_TRIES: usize = 1000;
        for _ in 0..MAX_TRIES {
            match self.handle_page_fault(addr, write, false) {
                Ok(()) => return Ok(()),
                Err(e) if e.errno() == ENOMEM => {
                    let Some(t) = crate::process::try_current_thread() else {
                        break;
                    };
                    if t.has_pending_work() {
                        break;
                    }
                    super::oom::out_of_memory(&t);
                }
                Err(_) => break,
            }
        }
        return_errno!(EFAULT)
    }

    /// Faults in every page of `[start, start + len)` now (`MAP_POPULATE`):
    /// `ENOMEM` if memory runs short, without calling the OOM killer.
    pub fn populate(&self, start: u64, len: u64, write: bool) -> Result<()> {
        let inner = self.inner.lock();
        let mut page = page_down(start);
        let end = start.saturating_add(len);
        while page < end {
            let vma = match inner.vmas.range(..=page).next_back() {
                Some((_, v)) if v.end > page => v,
                _ => return_errno!(ENOMEM),
            };
            if !vma.perms.is_empty() {
                let write = write && vma.perms.contains(VmPerms::WRITE);
                self.fault_in(vma, page, write)?;
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }

    /// What a shared futex operation on the word at `addr` is keyed by,
    /// as Linux's `get_futex_key`: for a shared mapping, its memory object
    /// and the word's offset in it (`Some((object id, offset))`), so that
    /// every process mapping that memory meets on one key; for a private
    /// mapping `None` (the address space and address). `EFAULT` unless the
    /// word can be read (mapped, not `PROT_NONE`, not past a file's end).
    pub fn futex_object(&self, addr: u64) -> Result<Option<(u64, u64)>> {
        self.read_val::<u32>(addr)?;
        let inner = self.inner.lock();
        let vma = match inner.vmas.range(..=addr).next_back() {
            Some((_, v)) if v.end > addr && !v.perms.is_empty() => v,
            _ => return_errno!(EFAULT),
        };
        Ok(match &vma.backing {
            Some((vmo, off)) if vma.shared => Some((vmo.id(), off + (addr - vma.start))),
            _ => None,
        })
    }

    /// Atomically replaces the `u32` at `addr` (4-byte aligned, else
    /// `EINVAL`) with `new` if it holds `expected`, faulting the page in
    /// writable first if needed; returns the value it held (`expected`
    /// when the exchange happened). For futex words, which user space
    /// changes concurrently.
    pub fn cmpxchg_u32(&self, addr: u64, expected: u32, new: u32) -> Result<u32> {
        if !addr.is_multiple_of(4) {
            return_errno!(EINVAL);
        }
        // A fault is resolved and the exchange retried; a page that keeps
        // disappearing (unmapped and remapped by another thread) ends it.
        for _ in 0..16 {
            match self.space.cmpxchg_user_u32(addr, expected, new) {
                Ok(v) => return Ok(v),
                Err(UserAccessError::Fault(f)) => self.fault_for_kernel(f.addr, true)?,
                Err(UserAccessError::NotActive) => {
                    return_errno_with_message!(EFAULT, "not the current address space")
                }
            }
        }
        return_errno!(EFAULT)
    }

    /// Reads a plain value from user memory.
    pub fn read_val<T: Plain>(&self, addr: u64) -> Result<T> {
        let mut buf = [0u8; 512];
        let b = buf.get_mut(..T::SIZE).ok_or(Error::new(EINVAL))?;
        self.read_bytes(addr, b)?;
        Ok(T::read_bytes(b))
    }

    /// Writes a plain value to user memory.
    pub fn write_val<T: Plain>(&self, addr: u64, val: &T) -> Result<()> {
        let mut buf = [0u8; 512];
        let b = buf.get_mut(..T::SIZE).ok_or(Error::new(EINVAL))?;
        val.write_bytes(b);
        self.write_bytes(addr, b)
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the
    /// NUL); `ENAMETOOLONG` if longer.
    pub fn read_cstring(&self, addr: u64, max: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut pos = addr;
        loop {
            // Read up to the end of the page so we never touch the next
            // page needlessly.
            let chunk = (PAGE_SIZE - pos % PAGE_SIZE).min(256) as usize;
            let mut buf = [0u8; 256];
            self.read_bytes(pos, &mut buf[..chunk])?;
            if let Some(n) = buf[..chunk].iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..n]);
                if out.len() > max {
                    return_errno!(ENAMETOOLONG);
                }
                return Ok(out);
            }
            out.extend_from_slice(&buf[..chunk]);
            if out.len() > max {
                return_errno!(ENAMETOOLONG);
            }
            pos += chunk as u64;
        }
    }

    /// Writes into this address space through its frames, whatever the
    /// pages' permissions and whether or not the space is active: used to
    /// load a new program (stack, `.bss` fix-ups) before `execve` commits.
    pub fn write_bytes_force(&self, addr: u64, buf: &[u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let pos = addr + done as u64;
            let page = page_down(pos);
            let off = (pos - page) as usize;
            let n = (PAGE_SIZE as usize - off).min(buf.len() - done);
            {
                let inner = self.inner.lock();
                let vma = match inner.vmas.range(..=page).next_back() {
                    Some((_, v)) if v.end > page => v,
                    _ => return_errno!(EFAULT),
                };
                self.fault_in(vma, page, true)?;
            }
            let (frame, _) = self.space.query(page).ok_or(Error::new(EFAULT))?;
            frame.write_bytes(off, &buf[done..done + n]);
            done += n;
        }
        Ok(())
    }
}

// ---- System V shared memory attachments ----

impl Vmar {
    /// `shmat`: maps a shared memory segment (`opts.backing`) as a region
    /// holding `attachment`; if that fails, the attachment is given up.
    pub fn map_shm(&self, opts: MapOptions, attachment: ShmAttachment) -> Result<u64> {
        let mut shm = Some(attachment);
        let result = self.map_with(opts, &mut shm);
        if let Some(unused) = shm {
            unused.abandon();
        }
        result
    }

    /// `shmdt(addr)`, as Linux's: finds the first segment region at or
    /// above `addr` that maps its segment from offset `region.start - addr`
    /// (the start of an attachment, or a piece of one that `mprotect` or
    /// `munmap` split off), unmaps it, then the other regions of the same
    /// segment within the segment's size from `addr` that map it the same
    /// way. `EINVAL` if there is none.
    pub fn detach_shm(&self, addr: u64) -> Result<()> {
        let mut inner = self.inner.lock();
        let attached_at = |v: &Vma| {
            let shm = v.shm.as_ref()?;
            let (_, off) = v.backing.as_ref()?;
            (v.start - addr == *off).then(|| (shm.segment(), shm.segment_size()))
        };
        let Some((first, (segment, size))) = inner
            .vmas
            .range(addr..)
            .find_map(|(_, v)| attached_at(v).map(|found| (v.start..v.end, found)))
        else {
            return_errno!(EINVAL);
        };
        let limit = addr.saturating_add(page_up(size));
        let mut ranges = Vec::new();
        ranges.push(first.clone());
        ranges.extend(
            inner
                .vmas
                .range(first.end..)
                .take_while(|(_, v)| v.end <= limit)
                .filter(|(_, v)| attached_at(v).is_some_and(|(s, _)| s == segment))
                .map(|(_, v)| v.start..v.end),
        );
        for r in ranges {
            self.remove_range(&mut inner, r.start, r.end);
        }
        Ok(())
    }
}

/// `madvise` advice about what `fork` does with a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkAdvice {
    /// `MADV_DONTFORK`.
    DontFork,
    /// `MADV_DOFORK`.
    DoFork,
    /// `MADV_WIPEONFORK`.
    WipeOnFork,
    /// `MADV_KEEPONFORK`.
    KeepOnFork,
}

/// How `mremap` may move a region.
#[derive(Clone, Copy, Debug, Default)]
pub struct Remap {
    /// `MREMAP_MAYMOVE`.
    pub may_move: bool,
    /// `MREMAP_FIXED`: the new address.
    pub to: Option<u64>,
    /// `MREMAP_DONTUNMAP`.
    pub dont_unmap: bool,
}

/// The region holding `addr`.
fn vma_at(inner: &Inner, addr: u64) -> Option<&Vma> {
    match inner.vmas.range(..=addr).next_back() {
        Some((_, v)) if v.end > addr => Some(v),
        _ => None,
    }
}

/// Where `MAP_32BIT` mappings go: Linux's x86-64 `find_start_end` uses
/// the second gigabyte, leaving the first to the program and its heap.
const LOW_2GIB_BOTTOM: u64 = 0x4000_0000;
const LOW_2GIB_TOP: u64 = 0x8000_0000;

/// Whether a region counts as data for `RLIMIT_DATA` (Linux's
/// `is_data_mapping`: private and writable; the stack is left out by the
/// caller).
fn is_data(shared: bool, perms: VmPerms) -> bool {
    !shared && perms.contains(VmPerms::WRITE)
}

/// The initial stack (the region ending at the stack top) is not data.
fn is_data_vma(v: &Vma) -> bool {
    is_data(v.shared, v.perms) && v.end != layout::STACK_TOP
}

/// Locked bytes in all, and within `[start, end)`.
fn locked_counts(inner: &Inner, start: u64, end: u64) -> (u64, u64) {
    let (mut total, mut here) = (0, 0);
    for v in inner.vmas.values().filter(|v| v.locked) {
        total += v.end - v.start;
        let (s, e) = (v.start.max(start), v.end.min(end));
        if s < e {
            here += e - s;
        }
    }
    (total, here)
}

/// Bytes mapped in `[start, end)`, and how many of them are data.
fn vm_counts(inner: &Inner, start: u64, end: u64) -> (u64, u64) {
    let (mut total, mut data) = (0, 0);
    for v in inner
        .vmas
        .range(..end)
        .rev()
        .take_while(|(_, v)| v.end > start)
        .map(|(_, v)| v)
    {
        let n = v.end.min(end) - v.start.max(start);
        total += n;
        if is_data_vma(v) {
            data += n;
        }
    }
    (total, data)
}

/// Linux's `may_expand_vm`: `ENOMEM` if adding `len` bytes (data or not),
/// after taking out what is mapped in `replaced`, passes `RLIMIT_AS`, or
/// for data `RLIMIT_DATA`. Free when there are no limits (the usual case).
fn check_expand(
    inner: &Inner,
    limits: VmLimits,
    len: u64,
    data: bool,
    replaced: Option<Range<u64>>,
) -> Result<()> {
    if limits.unlimited() {
        return Ok(());
    }
    let (total, data_now) = vm_counts(inner, 0, u64::MAX);
    let (gone, gone_data) = replaced.map_or((0, 0), |r| vm_counts(inner, r.start, r.end));
    let total = total - gone;
    if total.saturating_add(len) > page_down(limits.address_space) {
        return_errno_with_message!(ENOMEM, "RLIMIT_AS reached");
    }
    if data && (data_now - gone_data).saturating_add(len) > page_down(limits.data) {
        return_errno_with_message!(ENOMEM, "RLIMIT_DATA reached");
    }
    Ok(())
}

/// Whether a region in `[start, end)` is a read-only (`SHM_RDONLY`)
/// attachment of a shared memory segment.
fn has_read_only_shm(inner: &Inner, start: u64, end: u64) -> bool {
    inner
        .vmas
        .range(..end)
        .rev()
        .take_while(|(_, v)| v.end > start)
        .any(|(_, v)| v.shm.as_ref().is_some_and(|a| !a.may_write()))
}

/// Adds `vma`, merged with its neighbours when they are private anonymous
/// memory with the same permissions, as Linux merges them: mapping page
/// after page then makes one region, not one per page.
fn insert_merging(inner: &mut Inner, mut vma: Vma) {
    let mergeable = |a: &Vma, b: &Vma| {
        a.backing.is_none()
            && b.backing.is_none()
            && !a.shared
            && !b.shared
            && a.perms == b.perms
            && a.locked == b.locked
            && a.dont_fork == b.dont_fork
            && a.wipe_on_fork == b.wipe_on_fork
    };
    if let Some((&k, prev)) = inner.vmas.range(..vma.start).next_back()
        && prev.end == vma.start
        && mergeable(prev, &vma)
    {
        vma.start = k;
        inner.vmas.remove(&k);
    }
    if let Some(next) = inner.vmas.get(&vma.end)
        && mergeable(next, &vma)
    {
        vma.end = next.end;
        let k = next.start;
        inner.vmas.remove(&k);
    }
    inner.vmas.insert(vma.start, vma);
}

/// Takes the parts of the VMAs inside `[start, end)` out of the list and
/// returns them, leaving the parts outside (split off) in place.
fn carve(inner: &mut Inner, start: u64, end: u64) -> Vec<Vma> {
    // Regions do not overlap: walking down from `end`, the first one that
    // ends at or below `start` ends the search.
    let keys: Vec<u64> = inner
        .vmas
        .range(..end)
        .rev()
        .take_while(|(_, v)| v.end > start)
        .map(|(&k, _)| k)
        .collect();
    let mut inside = Vec::with_capacity(keys.len());
    for k in keys {
        let Some(v) = inner.vmas.remove(&k) else {
            continue;
        };
        if v.start < start {
            inner.vmas.insert(v.start, v.slice(v.start, start));
        }
        if v.end > end {
            inner.vmas.insert(end, v.slice(end, v.end));
        }
        inside.push(v.slice(start, end));
    }
    inside
}

fn is_free(inner: &Inner, start: u64, len: u64) -> bool {
    let Some(end) = start.checked_add(len) else {
        return false;
    };
    if start < layout::MMAP_MIN_ADDR || end > layout::USER_END {
        return false;
    }
    match inner.vmas.range(..end).next_back() {
        Some((_, v)) => v.end <= start,
        None => true,
    }
}

fn is_free_range(inner: &Inner, start: u64, end: u64) -> bool {
    inner
        .vmas
        .range(..end)
        .next_back()
        .is_none_or(|(_, v)| v.end <= start)
}

/// Whether the object behind a region forbids writable shared mappings.
fn denies_shared_write(backing: &Option<(Arc<Vmo>, u64)>) -> bool {
    backing
        .as_ref()
        .is_some_and(|(vmo, _)| vmo.shared_write_denied())
}

fn is_covered(inner: &Inner, start: u64, end: u64) -> bool {
    // From the region holding `start` (the last one starting at or below
    // it) upwards, while they are contiguous.
    let first = inner
        .vmas
        .range(..=start)
        .next_back()
        .map_or(start, |(&k, _)| k);
    let mut pos = start;
    for v in inner.vmas.range(first..end).map(|(_, v)| v) {
        if v.end <= start {
            continue;
        }
        if v.start > pos {
            return false;
        }
        pos = pos.max(v.end);
        if pos >= end {
            break;
        }
    }
    pos >= end
}

/// Finds a free range of `len` bytes, top-down from `MMAP_TOP`. The
/// search starts below the last range handed out (`free_hint`), so that
/// mapping region after region costs a few steps each, not a walk over all
/// of them; if nothing fits there, the whole space is searched.
fn find_free(inner: &mut Inner, len: u64) -> Result<u64> {
    let floor = layout::MMAP_MIN_ADDR.max(inner.brk_start + (64 << 20));
    let hint = inner.free_hint.min(layout::MMAP_TOP);
    let found = find_free_below(inner, hint, len, floor)
        .or_else(|| find_free_below(inner, layout::MMAP_TOP, len, floor));
    match found {
        Some(start) => {
            inner.free_hint = start;
            Ok(start)
        }
        None => return_errno!(ENOMEM),
    }
}

/// The highest free range of `len` bytes below `top` and above `floor`.
fn find_free_below(inner: &Inner, top: u64, len: u64, floor: u64) -> Option<u64> {
    let mut top = top;
    for v in inner.vmas.range(..top).rev().map(|(_, v)| v) {
        if v.end <= top && top - v.end >= len {
            return Some(top - len);
        }
        top = top.min(v.start);
        if top < floor.saturating_add(len) {
            return None;
        }
    }
    (top >= len && top - len >= floor).then(|| top - len)
}
