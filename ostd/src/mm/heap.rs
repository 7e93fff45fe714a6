//! The kernel heap: a buddy heap that grows by whole blocks of frames.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use buddy_system_allocator::Heap;

use super::PAGE_SIZE;
use super::frame::Segment;
use crate::sync::SpinLock;

/// Initial heap size; the heap grows on demand.
const INITIAL_HEAP: usize = 16 << 20;
/// Smallest growth step.
const MIN_GROWTH: usize = 4 << 20;

struct KernelHeap {
    heap: SpinLock<Heap<40>>,
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap {
    heap: SpinLock::new(Heap::empty()),
};

fn add_memory(heap: &mut Heap<40>, bytes: usize) -> bool {
    let Some(seg) = Segment::alloc(bytes.div_ceil(PAGE_SIZE)) else {
        return false;
    };
    let start = seg.vaddr() as usize;
    let len = seg.len();
    seg.leak();
    // SAFETY: the segment was just allocated, is mapped by the linear map,
    // and is leaked: the heap owns it from now on and nothing else uses it.
    unsafe { heap.add_to_heap(start, start + len) };
    true
}

pub(super) fn init() {
    let ok = add_memory(&mut HEAP.heap.lock(), INITIAL_HEAP);
    assert!(ok, "ostd: no memory for the kernel heap");
}

// SAFETY: allocation is delegated to the buddy heap under a lock that also
// disables interrupts, so it is never re-entered; the heap only hands out
// memory it owns (added in `add_memory`).
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut heap = self.heap.lock();
        if let Ok(p) = heap.alloc(layout) {
            return p.as_ptr();
        }
        let grow = (layout.size().max(layout.align()) * 2).max(MIN_GROWTH);
        if !add_memory(&mut heap, grow) {
            return core::ptr::null_mut();
        }
        heap.alloc(layout)
            .map_or(core::ptr::null_mut(), |p| p.as_ptr())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            self.heap.lock().dealloc(p, layout);
        }
    }
}

/// Bytes currently allocated from the heap and the heap's total size.
pub fn heap_stats() -> (usize, usize) {
    let h = HEAP.heap.lock();
    (h.stats_alloc_actual(), h.stats_total_bytes())
}
