//! Physical frames: the allocator and the reference-counted [`Frame`] handle.
//!
//! Every frame has a metadata slot holding its reference count. A [`Frame`]
//! is one counted reference; cloning it increments the count and dropping
//! the last reference returns the frame to the buddy allocator. Page tables
//! hold references too (see `VmSpace`), so "is this frame shared?" — the
//! question copy-on-write asks — is one atomic load.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use frame_allocator::{BuddyAllocator, Link, order_for};

use super::{PAGE_SIZE, Paddr};
use crate::arch::x86::mm::paddr_to_vaddr;
use crate::sync::{Once, SpinLock};

struct FrameMeta {
    refcount: AtomicU32,
}

static META: Once<&'static [FrameMeta]> = Once::new();
static ALLOCATOR: SpinLock<Option<BuddyAllocator<'static>>> = SpinLock::new(None);
static TOTAL_FRAMES: AtomicUsize = AtomicUsize::new(0);

/// Sets up the allocator. `meta_mem` and `link_mem` are zeroed, unused
/// memory with room for `nr_frames` entries each; `free` yields the frame
/// ranges `[start, end)` to make allocatable.
pub(super) fn init(
    meta: &'static mut [AtomicU32],
    links: &'static mut [Link],
    free: impl Iterator<Item = (usize, usize)>,
) {
    let mut alloc = BuddyAllocator::new(links);
    for (start, end) in free {
        alloc.add_range(start, end);
    }
    TOTAL_FRAMES.store(alloc.free_frames(), Ordering::Relaxed);
    ALLOCATOR_FREE.store(alloc.free_frames(), Ordering::Relaxed);
    RESERVED_FRAMES.store(reserve_for(alloc.free_frames()), Ordering::Relaxed);
    *ALLOCATOR.lock() = Some(alloc);
    // SAFETY: `FrameMeta` is a `repr(Rust)` struct with a single
    // `AtomicU32` field, so it has the same layout; the slice is exclusively
    // ours and lives forever.
    let meta: &'static [FrameMeta] =
        unsafe { core::slice::from_raw_parts(meta.as_ptr() as *const FrameMeta, meta.len()) };
    META.set(meta);
}

fn meta(paddr: Paddr) -> &'static FrameMeta {
    &META.expect_init()[paddr as usize / PAGE_SIZE]
}

/// Frames that only the kernel's own allocations may take (its heap and
/// page tables): what user space makes the kernel allocate (user pages,
/// their page tables, kernel stacks of new threads) fails first, with
/// `ENOMEM` or the OOM killer, while the kernel can still allocate what it
/// needs to handle that, tear processes down and give memory back.
static RESERVED_FRAMES: AtomicUsize = AtomicUsize::new(0);

/// The reserve for a machine of `total` frames: 1/64 of memory, between
/// 4 MiB and 64 MiB.
fn reserve_for(total: usize) -> usize {
    (total / 64).clamp((4 << 20) / PAGE_SIZE, (64 << 20) / PAGE_SIZE)
}

/// Who an allocation is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum For {
    /// The kernel itself: may use the reserve.
    Kernel,
    /// User space, directly or not: leaves the reserve alone.
    User,
}

/// Allocates `2^order` contiguous frames; returns the first address.
pub(crate) fn alloc_block(order: usize) -> Option<Paddr> {
    alloc_block_for(order, For::Kernel)
}

/// Allocates `2^order` contiguous frames for `purpose`.
pub(crate) fn alloc_block_for(order: usize, purpose: For) -> Option<Paddr> {
    let _irq = crate::sync::disable_irqs();
    if order == 0
        && let Some(frame) = crate::cpu::this_cpu()
            .frame_cache
            .pop(purpose_allows(purpose))
    {
        return Some(frame);
    }
    let mut guard = ALLOCATOR.lock();
    let a = guard.as_mut()?;
    let cached = FrameCache::total();
    if purpose == For::User
        && a.free_frames() + cached < (1 << order) + RESERVED_FRAMES.load(Ordering::Relaxed)
    {
        return None;
    }
    let frame = a.alloc(order)?;
    ALLOCATOR_FREE.store(a.free_frames(), Ordering::Relaxed);
    if order == 0 {
        // Take a few more for this CPU while the lock is held, as far as
        // the reserve allows.
        let cache = &crate::cpu::this_cpu().frame_cache;
        let room = a
            .free_frames()
            .saturating_sub(RESERVED_FRAMES.load(Ordering::Relaxed));
        for _ in 0..FrameCache::REFILL.min(room) {
            let Some(f) = a.alloc(0) else { break };
            if !cache.push((f * PAGE_SIZE) as Paddr) {
                a.dealloc(f, 0);
                break;
            }
        }
        ALLOCATOR_FREE.store(a.free_frames(), Ordering::Relaxed);
    }
    Some((frame * PAGE_SIZE) as Paddr)
}

/// Whether an allocation for `purpose` may take a cached frame: user
/// allocations only while the free frames outside the caches cover the
/// reserve (the caches are small, so this rarely matters).
fn purpose_allows(purpose: For) -> bool {
    purpose == For::Kernel
        || ALLOCATOR_FREE.load(Ordering::Relaxed) >= RESERVED_FRAMES.load(Ordering::Relaxed)
}

/// Frees a block from [`alloc_block`].
pub(crate) fn free_block(paddr: Paddr, order: usize) {
    let _irq = crate::sync::disable_irqs();
    let cache = &crate::cpu::this_cpu().frame_cache;
    if order == 0 && cache.push(paddr) {
        return;
    }
    let mut guard = ALLOCATOR.lock();
    let Some(a) = guard.as_mut() else {
        return;
    };
    a.dealloc(paddr as usize / PAGE_SIZE, order);
    if order == 0 {
        // The cache is full: give half of it back with this one.
        for _ in 0..FrameCache::CAPACITY / 2 {
            match cache.take() {
                Some(f) => a.dealloc(f as usize / PAGE_SIZE, 0),
                None => break,
            }
        }
    }
    ALLOCATOR_FREE.store(a.free_frames(), Ordering::Relaxed);
}

/// Number of free frames (the caches of the CPUs included).
pub fn free_frames() -> usize {
    ALLOCATOR.lock().as_ref().map_or(0, |a| a.free_frames()) + FrameCache::total()
}

/// The buddy allocator's free frames as of its last change (a hint read
/// without its lock).
static ALLOCATOR_FREE: AtomicUsize = AtomicUsize::new(0);

/// Frames in the caches of all CPUs.
static CACHED: AtomicUsize = AtomicUsize::new(0);

/// A CPU's few free frames, so that most single-frame allocations and
/// frees (a page fault, an unmap) do not take the allocator's lock. Used
/// only by its CPU, with interrupts off.
pub(crate) struct FrameCache {
    frames: core::cell::UnsafeCell<[Paddr; FrameCache::CAPACITY]>,
    len: core::cell::Cell<usize>,
}

// SAFETY: a CPU's cache is touched only by that CPU with interrupts
// disabled (`alloc_block_for`, `free_block`), so never by two contexts at
// once.
unsafe impl Sync for FrameCache {}

impl FrameCache {
    const CAPACITY: usize = 32;
    const REFILL: usize = 15;

    pub(crate) const fn new() -> Self {
        Self {
            frames: core::cell::UnsafeCell::new([0; Self::CAPACITY]),
            len: core::cell::Cell::new(0),
        }
    }

    fn total() -> usize {
        CACHED.load(Ordering::Relaxed)
    }

    /// Takes a frame (if `allowed`); the caller is the cache's CPU with
    /// interrupts off.
    fn pop(&self, allowed: bool) -> Option<Paddr> {
        if !allowed {
            return None;
        }
        self.take()
    }

    fn take(&self) -> Option<Paddr> {
        let n = self.len.get().checked_sub(1)?;
        self.len.set(n);
        CACHED.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: see the `Sync` impl: no other reference to the array
        // exists while the cache's CPU runs this with interrupts off.
        Some(unsafe { (*self.frames.get())[n] })
    }

    /// Keeps a frame if there is room.
    fn push(&self, paddr: Paddr) -> bool {
        let n = self.len.get();
        if n == Self::CAPACITY {
            return false;
        }
        // SAFETY: as in `take`.
        unsafe { (*self.frames.get())[n] = paddr };
        self.len.set(n + 1);
        CACHED.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// Number of frames the allocator managed at boot.
pub fn total_frames() -> usize {
    TOTAL_FRAMES.load(Ordering::Relaxed)
}

/// Number of free frames that user memory may still take (the free frames
/// minus the kernel's reserve).
pub fn free_frames_for_user() -> usize {
    free_frames().saturating_sub(RESERVED_FRAMES.load(Ordering::Relaxed))
}

/// A reference-counted handle to one physical page.
#[derive(Debug)]
pub struct Frame {
    paddr: Paddr,
}

impl Frame {
    /// Allocates a frame for user memory (it leaves the kernel's reserve
    /// alone; see `RESERVED_FRAMES`). Its previous contents are unspecified.
    pub fn alloc() -> Option<Frame> {
        let paddr = alloc_block_for(0, For::User)?;
        meta(paddr).refcount.store(1, Ordering::Relaxed);
        Some(Frame { paddr })
    }

    /// Allocates a zero-filled frame.
    pub fn alloc_zeroed() -> Option<Frame> {
        let f = Self::alloc()?;
        f.zero();
        Some(f)
    }

    /// Physical address.
    pub fn paddr(&self) -> Paddr {
        self.paddr
    }

    /// Number of references: handles plus page table mappings.
    pub fn ref_count(&self) -> u32 {
        meta(self.paddr).refcount.load(Ordering::Acquire)
    }

    /// Fills the frame with zeros.
    pub fn zero(&self) {
        // SAFETY: the frame is RAM mapped by the linear map and we hold a
        // reference, so it is not freed meanwhile. Its contents are plain
        // bytes; concurrent writers (user mappings) can only make the result
        // unspecified, never unsound.
        unsafe { zero_page(paddr_to_vaddr(self.paddr)) };
    }

    /// Copies the whole contents of `src` into this frame.
    pub fn copy_from(&self, src: &Frame) {
        // SAFETY: both frames are live (we hold references) and distinct or
        // identical pages of RAM in the linear map; bytes are plain data.
        unsafe { copy_page(paddr_to_vaddr(self.paddr), paddr_to_vaddr(src.paddr)) };
    }

    /// Reads `buf.len()` bytes at `offset`. Panics if out of the page.
    ///
    /// User space may write the frame at the same time (through a mapping,
    /// on another CPU): the copy is an assembly `rep movsb`, outside the
    /// Rust memory model, so a racing write only makes the bytes read
    /// unspecified, never undefined behaviour.
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) {
        assert!(
            offset
                .checked_add(buf.len())
                .is_some_and(|e| e <= PAGE_SIZE)
        );
        // SAFETY: the source range was checked to lie within this live
        // frame; the destination is a Rust buffer we borrow mutably.
        unsafe {
            copy_bytes(
                buf.as_mut_ptr(),
                (paddr_to_vaddr(self.paddr) as usize + offset) as *const u8,
                buf.len(),
            )
        };
    }

    /// Writes `buf` at `offset`. Panics if out of the page. As with
    /// [`read_bytes`](Self::read_bytes), concurrent user access is sound.
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) {
        assert!(
            offset
                .checked_add(buf.len())
                .is_some_and(|e| e <= PAGE_SIZE)
        );
        // SAFETY: the range was checked to lie within this live frame, which
        // no Rust reference points into (frames are only accessed by copies).
        unsafe {
            copy_bytes(
                (paddr_to_vaddr(self.paddr) as usize + offset) as *mut u8,
                buf.as_ptr(),
                buf.len(),
            )
        };
    }

    /// Adds a reference to the frame at `paddr` without creating a handle
    /// (the reference is owned by a page table entry).
    ///
    /// # Safety
    ///
    /// As for [`clone_raw`](Self::clone_raw).
    pub(crate) unsafe fn inc_ref_raw(paddr: Paddr) {
        inc_ref(paddr);
    }

    /// Gives up this handle without decrementing the count; the reference
    /// is now owned by whoever keeps the address (a page table entry).
    pub(crate) fn into_raw(self) -> Paddr {
        let p = self.paddr;
        core::mem::forget(self);
        p
    }

    /// Takes back a reference given up by [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    ///
    /// `paddr` must carry a reference obtained from `into_raw` that has not
    /// been taken back yet.
    pub(crate) unsafe fn from_raw(paddr: Paddr) -> Frame {
        Frame { paddr }
    }

    /// A new handle to the frame at `paddr`, which must be referenced by
    /// someone else for the duration of this call.
    ///
    /// # Safety
    ///
    /// `paddr` must be a frame with a nonzero count that cannot drop to zero
    /// during this call (e.g. held by a locked page table).
    pub(crate) unsafe fn clone_raw(paddr: Paddr) -> Frame {
        inc_ref(paddr);
        Frame { paddr }
    }
}

impl Clone for Frame {
    fn clone(&self) -> Self {
        inc_ref(self.paddr);
        Frame { paddr: self.paddr }
    }
}

/// Most references a frame may have. Far beyond anything reachable (every
/// reference is a handle or a page-table entry, each costing memory), so
/// exceeding it means handles were leaked with `mem::forget`: like `Arc`,
/// stop rather than let the count wrap and free a frame still in use.
const MAX_REFCOUNT: u32 = u32::MAX / 2;

/// Sets a frame's reference count (tests of the overflow check only).
#[cfg(feature = "ktest")]
pub(super) fn set_ref_count_for_test(frame: &Frame, count: u32) {
    meta(frame.paddr).refcount.store(count, Ordering::Relaxed);
}

fn inc_ref(paddr: Paddr) {
    let old = meta(paddr).refcount.fetch_add(1, Ordering::Relaxed);
    if old == 0 {
        // Every caller holds a reference already: a count of zero means the
        // frame was freed (and may belong to someone else by now). Cheap to
        // notice here, and silent memory corruption otherwise.
        log::error!("ostd: frame {paddr:#x} referenced again after it was freed (a bug)");
    }
    if old >= MAX_REFCOUNT {
        meta(paddr).refcount.fetch_sub(1, Ordering::Relaxed);
        panic!("ostd: frame {paddr:#x}: reference count overflow");
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        match meta(self.paddr).refcount.fetch_sub(1, Ordering::Release) {
            1 => {
                core::sync::atomic::fence(Ordering::Acquire);
                free_block(self.paddr, 0);
            }
            0 => {
                // A reference dropped twice: the count is put back so that
                // the frame is not freed again later, and the bug reported.
                meta(self.paddr).refcount.store(0, Ordering::Relaxed);
                log::error!(
                    "ostd: frame {:#x} dropped after it was freed (a bug)",
                    self.paddr
                );
            }
            _ => {}
        }
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Self) -> bool {
        self.paddr == other.paddr
    }
}

/// Physically contiguous frames, owned as a unit and freed on drop (kernel
/// stacks, DMA-style buffers). Not reference counted per frame.
#[derive(Debug)]
pub struct Segment {
    paddr: Paddr,
    order: usize,
}

impl Segment {
    /// Allocates at least `nframes` contiguous frames (rounded up to a power
    /// of two).
    pub fn alloc(nframes: usize) -> Option<Segment> {
        let order = order_for(nframes);
        let paddr = alloc_block(order)?;
        Some(Segment { paddr, order })
    }

    /// Physical address of the first frame.
    pub fn paddr(&self) -> Paddr {
        self.paddr
    }

    /// Size in bytes (never zero).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        PAGE_SIZE << self.order
    }

    /// Kernel virtual address of the first byte (in the linear map).
    pub fn vaddr(&self) -> u64 {
        paddr_to_vaddr(self.paddr)
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        free_block(self.paddr, self.order);
    }
}

/// Copies `len` bytes from `src` to `dst` with `rep movsb`.
///
/// # Safety
///
/// Both ranges must be mapped kernel memory, `dst` writable; `dst` must not
/// be covered by a live Rust reference other than the caller's `&mut`.
/// The ranges may be changed concurrently by user code (the copy is
/// opaque assembly; only the bytes copied are then unspecified).
unsafe fn copy_bytes(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: guaranteed by the caller; DF is clear in kernel code.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") len => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        )
    };
}

/// Zeroes the 4 KiB page at kernel virtual address `vaddr`.
///
/// # Safety
///
/// `vaddr` must be a mapped, writable, page-aligned kernel page to which no
/// Rust reference exists.
pub(crate) unsafe fn zero_page(vaddr: u64) {
    // SAFETY: guaranteed by the caller; `rep stosq` writes exactly 4096
    // bytes from `vaddr`.
    unsafe {
        core::arch::asm!(
            "rep stosq",
            inout("rcx") PAGE_SIZE / 8 => _,
            inout("rdi") vaddr => _,
            in("rax") 0u64,
            options(nostack, preserves_flags)
        )
    };
}

/// Copies the 4 KiB page at `src` to `dst` (kernel virtual addresses).
///
/// # Safety
///
/// Both must be mapped, page-aligned kernel pages; `dst` writable, with no
/// Rust reference to it.
pub(crate) unsafe fn copy_page(dst: u64, src: u64) {
    // SAFETY: guaranteed by the caller; `rep movsq` copies 4096 bytes.
    unsafe {
        core::arch::asm!(
            "rep movsq",
            inout("rcx") PAGE_SIZE / 8 => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        )
    };
}
