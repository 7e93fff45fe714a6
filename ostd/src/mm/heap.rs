//! The kernel heap: buddy heaps over chunks of frames, given back to the
//! frame allocator when they empty.
//!
//! A fork bomb or an out-of-memory storm makes the kernel allocate a lot of
//! small objects for a while (processes, tasks, descriptors). A heap that
//! only grows would keep that memory forever, lost to user space. So the
//! heap is a set of *chunks*, each a naturally aligned block of frames with
//! a buddy heap of its own: allocations go to the lowest chunk that has
//! room (which packs long-lived objects together), and a chunk whose last
//! allocation is freed goes back to the frame allocator, except the first
//! few (the heap never shrinks below its initial size) and, while the heap
//! is nearly full, one spare (so that an allocation and a free at the
//! boundary do not make the heap grow and shrink every time). An
//! allocation larger than a chunk gets a chunk of its own.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use buddy_system_allocator::Heap;

use super::PAGE_SIZE;
use super::frame::{alloc_block, free_block};
use crate::arch::x86::mm::paddr_to_vaddr;
use crate::sync::SpinLock;

/// Size of an ordinary chunk. Small, because one long-lived object
/// allocated during a burst keeps its whole chunk: with several CPUs a
/// fork bomb spreads such objects over more chunks.
const CHUNK_SIZE: usize = 1 << 20;
/// Chunks made at boot and never given back: the initial heap (16 MiB).
const PERMANENT_CHUNKS: usize = 16;
/// The most chunks at once (4 GiB of ordinary chunks).
const MAX_CHUNKS: usize = 4096;
/// Buddy orders per chunk: blocks up to 2^35 bytes, far beyond any chunk.
const ORDER: usize = 36;

/// One chunk: `[start, end)` in the linear map, and its buddy heap.
struct Chunk {
    start: usize,
    end: usize,
    /// The frame-allocator order of the block behind the chunk.
    order: usize,
    /// Made at boot, never given back. (Not "one of the lowest": chunks
    /// are ordered by address, and one made later for a large allocation
    /// may lie below the boot chunks.)
    permanent: bool,
    heap: Heap<ORDER>,
}

struct KernelHeap {
    /// Chunks ordered by start address; `None` past `len`.
    chunks: [Option<Chunk>; MAX_CHUNKS],
    len: usize,
    /// The chunk that served the last allocation, tried first.
    hint: usize,
    /// Bytes allocated, and bytes of memory the chunks hold.
    allocated: usize,
    total: usize,
}

struct GlobalHeap(SpinLock<KernelHeap>);

#[global_allocator]
static HEAP: GlobalHeap = GlobalHeap(SpinLock::new(KernelHeap {
    chunks: [const { None }; MAX_CHUNKS],
    len: 0,
    hint: 0,
    allocated: 0,
    total: 0,
}));

impl KernelHeap {
    /// Makes a chunk of at least `bytes` (rounded up to a power-of-two
    /// number of frames); returns its index.
    fn grow(&mut self, bytes: usize, permanent: bool) -> Option<usize> {
        if self.len == MAX_CHUNKS {
            return None;
        }
        let frames = bytes.div_ceil(PAGE_SIZE).next_power_of_two();
        let order = frames.trailing_zeros() as usize;
        let paddr = alloc_block(order)?;
        let start = paddr_to_vaddr(paddr) as usize;
        let end = start + (PAGE_SIZE << order);
        let mut heap = Heap::<ORDER>::empty();
        // SAFETY: the block was just taken from the frame allocator, is
        // mapped by the linear map, and belongs to this chunk alone until
        // `shrink` gives it back (only when nothing is allocated in it).
        unsafe { heap.add_to_heap(start, end) };
        let at = self.chunks[..self.len]
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.start > start))
            .unwrap_or(self.len);
        self.chunks[at..=self.len].rotate_right(1);
        self.chunks[at] = Some(Chunk {
            start,
            end,
            order,
            permanent,
            heap,
        });
        self.len += 1;
        self.total += end - start;
        Some(at)
    }

    /// The chunk holding address `p`.
    fn find(&self, p: usize) -> Option<usize> {
        // Most frees are of recent allocations, in the chunk that served
        // the last one.
        if let Some(c) = self.chunks.get(self.hint).and_then(Option::as_ref)
            && (c.start..c.end).contains(&p)
        {
            return Some(self.hint);
        }
        let chunks = &self.chunks[..self.len];
        let i = chunks.partition_point(|c| c.as_ref().is_some_and(|c| c.start <= p));
        let i = i.checked_sub(1)?;
        chunks[i].as_ref().filter(|c| p < c.end).map(|_| i)
    }

    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        let hint = self.hint.min(self.len.saturating_sub(1));
        let order = core::iter::once(hint).chain((0..self.len).filter(|&i| i != hint));
        for i in order {
            let Some(c) = self.chunks[i].as_mut() else {
                continue;
            };
            if let Ok(p) = c.heap.alloc(layout) {
                self.allocated += layout.size();
                self.hint = i;
                return p.as_ptr();
            }
        }
        // A request bigger than a chunk gets a naturally aligned block of
        // its own size rounded up to a power of two, which the buddy heap
        // hands out whole.
        let need = layout.size().max(layout.align());
        let Some(i) = self.grow(need.max(CHUNK_SIZE), false) else {
            return core::ptr::null_mut();
        };
        self.hint = i;
        let Some(c) = self.chunks[i].as_mut() else {
            return core::ptr::null_mut();
        };
        match c.heap.alloc(layout) {
            Ok(p) => {
                self.allocated += layout.size();
                p.as_ptr()
            }
            Err(()) => core::ptr::null_mut(),
        }
    }

    fn dealloc(&mut self, p: NonNull<u8>, layout: Layout) {
        let Some(i) = self.find(p.as_ptr() as usize) else {
            return;
        };
        let Some(c) = self.chunks[i].as_mut() else {
            return;
        };
        c.heap.dealloc(p, layout);
        self.allocated -= layout.size();
        // Room made in a lower chunk is used first: long-lived objects then
        // collect in the low chunks instead of keeping a high one alive.
        if i < self.hint {
            self.hint = i;
        }
        if c.heap.stats_alloc_actual() == 0 {
            self.shrink();
        }
    }

    /// Gives empty chunks back to the frame allocator, keeping the
    /// permanent ones, and one spare while the heap is nearly full (so that
    /// an allocation and a free at the boundary do not make it grow and
    /// shrink every time; once use falls, the spare goes back too, or
    /// memory would stay lower after every burst).
    fn shrink(&mut self) {
        let in_use: usize = self.chunks[..self.len]
            .iter()
            .filter_map(|c| {
                let c = c.as_ref()?;
                (c.permanent || c.heap.stats_alloc_actual() != 0).then(|| c.end - c.start)
            })
            .sum();
        let mut spare = self.allocated <= in_use / 4 * 3;
        let mut i = self.len;
        while i > 0 {
            i -= 1;
            let Some(c) = self.chunks[i].as_ref() else {
                continue;
            };
            if c.permanent || c.heap.stats_alloc_actual() != 0 {
                continue;
            }
            // The spare is an ordinary chunk: one made for a large
            // allocation always goes back.
            if !spare && c.end - c.start == CHUNK_SIZE {
                spare = true;
                continue;
            }
            if let Some(c) = self.chunks[i].take() {
                self.chunks[i..self.len].rotate_left(1);
                self.len -= 1;
                self.total -= c.end - c.start;
                // The chunk's heap is dropped with it; nothing in the block
                // is allocated, so no pointer into it is live.
                free_block(c.start as u64 - paddr_to_vaddr(0), c.order);
            }
        }
    }
}

pub(super) fn init() {
    let mut heap = HEAP.0.lock();
    for _ in 0..PERMANENT_CHUNKS {
        let ok = heap.grow(CHUNK_SIZE, true).is_some();
        assert!(ok, "ostd: no memory for the kernel heap");
    }
}

// SAFETY: allocation is delegated to buddy heaps under a lock that also
// disables interrupts, so it is never re-entered; each heap only hands out
// memory of its own chunk, and a chunk's memory leaves the heap only when
// its buddy heap reports nothing allocated.
unsafe impl GlobalAlloc for GlobalHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0.lock().alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            self.0.lock().dealloc(p, layout);
        }
    }
}

/// Bytes currently allocated from the heap and the heap's total size.
pub fn heap_stats() -> (usize, usize) {
    let h = HEAP.0.lock();
    (h.allocated, h.total)
}

/// Number of chunks the heap holds now (for tests).
#[cfg(feature = "ktest")]
pub(super) fn chunk_count() -> usize {
    HEAP.0.lock().len
}
