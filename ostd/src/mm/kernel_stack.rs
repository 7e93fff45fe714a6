//! Kernel stacks with guard pages.
//!
//! Safe Rust can still overflow a stack, so every task stack is mapped in
//! its own slot of a dedicated kernel region, with an unmapped guard page
//! below it. An overflow then faults on the guard page (and, since the CPU
//! cannot push the exception frame there either, becomes a double fault
//! handled on its own IST stack) instead of silently overwriting whatever
//! memory lies below.

use alloc::vec::Vec;

use super::PAGE_SIZE;
use super::frame::{For, alloc_block_for, free_block};
use super::kernel_space::{
    flush_kernel_pages, free_empty_table, map_kernel_page, unmap_kernel_page,
};
use crate::arch::x86::mm::pte;
use crate::sync::SpinLock;

/// Base of the stack region (PML4 slot 300).
const REGION_BASE: u64 = 0xffff_9600_0000_0000;
/// Virtual size of one slot: the stack plus at least one guard page.
const SLOT_SIZE: u64 = 1 << 20;
/// Number of slots: at most this many stacks exist at once (64 GiB of
/// address space, well inside the region's 512 GiB). The kernel's thread
/// limit is far lower; past this, [`KernelStack::new`] fails cleanly.
pub(crate) const MAX_STACKS: usize = 1 << 16;

/// Which slots are in use, one bit each. A fixed bitmap, so that freeing a
/// stack (on the exit path) never allocates. The lowest free slot is
/// always taken, so stacks stay packed at the bottom of the region and
/// reuse the page tables already there.
struct Slots {
    used: [u64; MAX_STACKS / 64],
    /// No word below this one has a free bit.
    first_free_word: usize,
}

impl Slots {
    fn take(&mut self) -> Option<u64> {
        for w in self.first_free_word..self.used.len() {
            let bits = self.used[w];
            if bits != u64::MAX {
                let bit = bits.trailing_ones() as usize;
                self.used[w] |= 1 << bit;
                self.first_free_word = w;
                return Some((w * 64 + bit) as u64);
            }
        }
        self.first_free_word = self.used.len();
        None
    }

    fn release(&mut self, slot: u64) {
        let slot = slot as usize;
        self.used[slot / 64] &= !(1 << (slot % 64));
        self.first_free_word = self.first_free_word.min(slot / 64);
    }
}

static SLOTS: SpinLock<Slots> = SpinLock::new(Slots {
    used: [0; MAX_STACKS / 64],
    first_free_word: 0,
});

/// Stacks kept mapped after their task ended, for the next tasks: creating
/// and ending a thread then maps, unmaps and flushes nothing (Linux keeps
/// such a cache too). Fixed-size, so that putting a stack back never
/// allocates.
const CACHED_STACKS: usize = 8;

struct Cache {
    stacks: [Option<(u64, Vec<u64>)>; CACHED_STACKS],
}

static CACHE: SpinLock<Cache> = SpinLock::new(Cache {
    stacks: [const { None }; CACHED_STACKS],
});

/// Pages mapped for kernel stacks, in use or cached (`KernelStack` in
/// `/proc/meminfo`).
static MAPPED_PAGES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Bytes of memory in kernel stacks (in use or kept for reuse).
pub fn kernel_stack_bytes() -> usize {
    MAPPED_PAGES.load(core::sync::atomic::Ordering::Relaxed) * PAGE_SIZE
}

/// A mapped kernel stack; unmapped and freed on drop.
#[derive(Debug)]
pub(crate) struct KernelStack {
    slot: u64,
    pages: usize,
    frames: Vec<u64>,
}

impl KernelStack {
    /// Allocates a stack of `size` bytes (rounded up to pages, at most the
    /// slot size minus the guard page). `None` when memory or slots run out.
    pub(crate) fn new(size: usize) -> Option<KernelStack> {
        let pages = size
            .div_ceil(PAGE_SIZE)
            .min((SLOT_SIZE as usize / PAGE_SIZE) - 1);
        if let Some((slot, frames)) = CACHE
            .lock()
            .stacks
            .iter_mut()
            .find(|c| c.as_ref().is_some_and(|(_, f)| f.len() == pages))
            .and_then(Option::take)
        {
            return Some(KernelStack {
                slot,
                pages,
                frames,
            });
        }
        let mut frames = Vec::new();
        frames.try_reserve_exact(pages).ok()?;
        let slot = SLOTS.lock().take()?;
        let mut stack = KernelStack {
            slot,
            pages: 0,
            frames,
        };
        let top = stack.top();
        for i in 0..pages {
            // A new thread's stack is memory user space asked for.
            let Some(f) = alloc_block_for(0, For::User) else {
                return None; // `stack` is dropped: what was mapped is undone
            };
            let va = top - ((i + 1) * PAGE_SIZE) as u64;
            if !map_kernel_page(va, f, pte::WRITABLE | pte::NO_EXECUTE) {
                free_block(f, 0);
                return None;
            }
            stack.frames.push(f);
            stack.pages += 1;
            MAPPED_PAGES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
        Some(stack)
    }

    /// The address just above the stack (its initial stack pointer).
    pub(crate) fn top(&self) -> u64 {
        REGION_BASE + (self.slot + 1) * SLOT_SIZE
    }

    /// The lowest mapped address; the page below is the guard page.
    #[allow(dead_code)]
    pub(crate) fn bottom(&self) -> u64 {
        self.top() - (self.pages * PAGE_SIZE) as u64
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        // A whole stack is kept for reuse while the cache has room.
        if self.pages == self.frames.len() && self.pages > 0 {
            let mut cache = CACHE.lock();
            if let Some(free) = cache.stacks.iter_mut().find(|c| c.is_none()) {
                *free = Some((self.slot, core::mem::take(&mut self.frames)));
                return;
            }
        }
        release(self.slot, &self.frames);
    }
}

/// Unmaps and frees a stack's frames and gives its slot back.
fn release(slot: u64, frames: &[u64]) {
    let top = REGION_BASE + (slot + 1) * SLOT_SIZE;
    let page = |i: usize| top - ((i + 1) * PAGE_SIZE) as u64;
    for i in 0..frames.len() {
        unmap_kernel_page(page(i));
    }
    // No CPU may still reach a frame through a stale entry once it is
    // reused: every CPU flushes before the frames go back.
    let mut done = 0;
    while done < frames.len() {
        let n = (frames.len() - done).min(16);
        let mut vas = [0u64; 16];
        for (k, slot) in vas[..n].iter_mut().enumerate() {
            *slot = page(done + k);
        }
        flush_kernel_pages(&vas[..n]);
        done += n;
    }
    for &f in frames {
        free_block(f, 0);
    }
    MAPPED_PAGES.fetch_sub(frames.len(), core::sync::atomic::Ordering::Relaxed);
    // The page table of the slot's 2 MiB goes too if no stack is left in
    // it (a fork bomb's stacks leave no tables behind).
    if !frames.is_empty() {
        free_empty_table(top - 1);
    }
    SLOTS.lock().release(slot);
}

/// Frees the stacks kept for reuse (for tests that count frames).
#[allow(dead_code)]
pub(crate) fn drain_cache() {
    loop {
        let Some((slot, frames)) = CACHE.lock().stacks.iter_mut().find_map(Option::take) else {
            return;
        };
        release(slot, &frames);
    }
}

/// Whether `addr` is in a guard page of the stack region (for reporting a
/// stack overflow).
pub(crate) fn is_guard_page(addr: u64) -> bool {
    // Every unmapped page of the region is a guard page: a fault there is
    // an overflow.
    (REGION_BASE..REGION_BASE + (1 << 39)).contains(&addr)
}
