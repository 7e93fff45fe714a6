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
use super::frame::{alloc_block, free_block};
use super::kernel_space::{map_kernel_page, unmap_kernel_page};
use crate::arch::x86::mm::pte;
use crate::sync::SpinLock;

/// Base of the stack region (PML4 slot 300).
const REGION_BASE: u64 = 0xffff_9600_0000_0000;
/// Virtual size of one slot: the stack plus at least one guard page.
const SLOT_SIZE: u64 = 1 << 20;

struct Slots {
    next: u64,
    free: Vec<u64>,
}

static SLOTS: SpinLock<Slots> = SpinLock::new(Slots {
    next: 0,
    free: Vec::new(),
});

/// A mapped kernel stack; unmapped and freed on drop.
#[derive(Debug)]
pub struct KernelStack {
    slot: u64,
    pages: usize,
    frames: Vec<u64>,
}

impl KernelStack {
    /// Allocates a stack of `size` bytes (rounded up to pages, at most the
    /// slot size minus the guard page).
    pub fn new(size: usize) -> Option<KernelStack> {
        let pages = size
            .div_ceil(PAGE_SIZE)
            .min((SLOT_SIZE as usize / PAGE_SIZE) - 1);
        let slot = {
            let mut s = SLOTS.lock();
            s.free.pop().unwrap_or_else(|| {
                let n = s.next;
                s.next += 1;
                n
            })
        };
        let mut stack = KernelStack {
            slot,
            pages: 0,
            frames: Vec::with_capacity(pages),
        };
        let top = stack.top();
        for i in 0..pages {
            let Some(f) = alloc_block(0) else {
                return None; // `stack` is dropped: what was mapped is undone
            };
            let va = top - ((i + 1) * PAGE_SIZE) as u64;
            if !map_kernel_page(va, f, pte::WRITABLE | pte::NO_EXECUTE) {
                free_block(f, 0);
                return None;
            }
            stack.frames.push(f);
            stack.pages += 1;
        }
        Some(stack)
    }

    /// The address just above the stack (its initial stack pointer).
    pub fn top(&self) -> u64 {
        REGION_BASE + (self.slot + 1) * SLOT_SIZE
    }

    /// The lowest mapped address; the page below is the guard page.
    pub fn bottom(&self) -> u64 {
        self.top() - (self.pages * PAGE_SIZE) as u64
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        let top = self.top();
        for (i, &f) in self.frames.iter().enumerate() {
            unmap_kernel_page(top - ((i + 1) * PAGE_SIZE) as u64);
            free_block(f, 0);
        }
        SLOTS.lock().free.push(self.slot);
    }
}

/// Whether `addr` is in a guard page of the stack region (for reporting a
/// stack overflow).
pub(crate) fn is_guard_page(addr: u64) -> bool {
    // Every unmapped page of the region is a guard page: a fault there is
    // an overflow.
    (REGION_BASE..REGION_BASE + (1 << 39)).contains(&addr)
}
