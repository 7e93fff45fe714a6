//! A buddy allocator of physical frame numbers.
//!
//! The free lists are intrusive: their links live in an array with one
//! [`Link`] per frame, which the caller provides (the kernel carves it out of
//! physical memory at boot). So the allocator itself never allocates, which
//! lets the kernel heap grow by asking it for frames.
//!
//! A block of order `k` is `2^k` frames whose first frame number is a
//! multiple of `2^k`. Allocation takes the smallest free block that fits and
//! splits it; freeing merges a block with its buddy while the buddy is free.
//! Both are `O(MAX_ORDER)`.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

/// Number of block orders: the largest block is `2^(ORDERS-1)` frames.
pub const ORDERS: usize = 16;

const NIL: u32 = u32::MAX;

/// Per-frame bookkeeping for the free lists. Meaningful only for the first
/// frame of a free block.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    next: u32,
    prev: u32,
    order: u8,
    free: bool,
}

impl Link {
    /// A link for a frame that is not (yet) free.
    pub const EMPTY: Link = Link {
        next: NIL,
        prev: NIL,
        order: 0,
        free: false,
    };
}

/// The allocator. Frame numbers index `links` directly.
pub struct BuddyAllocator<'a> {
    links: &'a mut [Link],
    heads: [u32; ORDERS],
    free_frames: usize,
}

impl<'a> BuddyAllocator<'a> {
    /// Creates an allocator with no free frames. `links` must have one entry
    /// for every frame number that may ever be added, and at most `u32::MAX`.
    pub fn new(links: &'a mut [Link]) -> Self {
        links.fill(Link::EMPTY);
        Self {
            links,
            heads: [NIL; ORDERS],
            free_frames: 0,
        }
    }

    /// Number of frames currently free.
    pub fn free_frames(&self) -> usize {
        self.free_frames
    }

    /// Adds the frames `[start, end)` to the free pool. Frames outside the
    /// link array are ignored.
    pub fn add_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.links.len()).min(NIL as usize);
        let mut frame = start;
        while frame < end {
            // The largest aligned block that starts at `frame` and fits.
            let mut order = (frame.trailing_zeros() as usize).min(ORDERS - 1);
            while frame + (1 << order) > end {
                order -= 1;
            }
            self.dealloc(frame, order);
            frame += 1 << order;
        }
    }

    /// Allocates a block of `2^order` frames; returns its first frame.
    pub fn alloc(&mut self, order: usize) -> Option<usize> {
        if order >= ORDERS {
            return None;
        }
        let found = (order..ORDERS).find(|&o| self.heads[o] != NIL)?;
        let frame = self.heads[found] as usize;
        self.remove(frame, found);
        // Split: return the upper halves to the lists of lower orders.
        let mut o = found;
        while o > order {
            o -= 1;
            self.push(frame + (1 << o), o);
        }
        self.free_frames -= 1 << order;
        Some(frame)
    }

    /// Frees a block of `2^order` frames starting at `frame`, which must have
    /// come from [`alloc`](Self::alloc) with the same order (or be a range
    /// being added). Panics on a double free: that is a kernel bug.
    pub fn dealloc(&mut self, mut frame: usize, mut order: usize) {
        assert!(!self.links[frame].free, "frame {frame:#x} freed twice");
        self.free_frames += 1 << order;
        while order + 1 < ORDERS {
            let buddy = frame ^ (1 << order);
            match self.links.get(buddy) {
                Some(l) if l.free && l.order as usize == order => {}
                _ => break,
            }
            self.remove(buddy, order);
            frame = frame.min(buddy);
            order += 1;
        }
        self.push(frame, order);
    }

    fn push(&mut self, frame: usize, order: usize) {
        let head = self.heads[order];
        self.links[frame] = Link {
            next: head,
            prev: NIL,
            order: order as u8,
            free: true,
        };
        if head != NIL {
            self.links[head as usize].prev = frame as u32;
        }
        self.heads[order] = frame as u32;
    }

    fn remove(&mut self, frame: usize, order: usize) {
        let Link { next, prev, .. } = self.links[frame];
        if prev == NIL {
            self.heads[order] = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next != NIL {
            self.links[next as usize].prev = prev;
        }
        self.links[frame] = Link::EMPTY;
    }
}

/// The smallest order whose block holds `frames` frames.
pub fn order_for(frames: usize) -> usize {
    frames.max(1).next_power_of_two().trailing_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn alloc_free_restores_everything() {
        let mut links = vec![Link::EMPTY; 1024];
        let mut a = BuddyAllocator::new(&mut links);
        a.add_range(3, 1000);
        assert_eq!(a.free_frames(), 997);
        let mut got = Vec::new();
        while let Some(f) = a.alloc(0) {
            got.push(f);
        }
        assert_eq!(got.len(), 997);
        let set: HashSet<_> = got.iter().copied().collect();
        assert_eq!(set.len(), 997);
        assert!(got.iter().all(|&f| (3..1000).contains(&f)));
        for f in got {
            a.dealloc(f, 0);
        }
        assert_eq!(a.free_frames(), 997);
        // Fully merged again: a large aligned block is available.
        assert_eq!(a.alloc(8), Some(256));
    }

    #[test]
    fn blocks_are_aligned_and_disjoint() {
        let mut links = vec![Link::EMPTY; 4096];
        let mut a = BuddyAllocator::new(&mut links);
        a.add_range(0, 4096);
        let mut used = vec![false; 4096];
        let mut blocks = Vec::new();
        for i in 0..200 {
            let order = i % 5;
            let f = a.alloc(order).unwrap();
            assert_eq!(f % (1 << order), 0);
            for x in f..f + (1 << order) {
                assert!(!used[x]);
                used[x] = true;
            }
            blocks.push((f, order));
        }
        for (f, o) in blocks.into_iter().rev() {
            a.dealloc(f, o);
        }
        assert_eq!(a.free_frames(), 4096);
        assert_eq!(a.alloc(12), Some(0));
    }

    #[test]
    fn exhaustion_and_too_large() {
        let mut links = vec![Link::EMPTY; 16];
        let mut a = BuddyAllocator::new(&mut links);
        a.add_range(0, 16);
        assert_eq!(a.alloc(ORDERS), None);
        assert_eq!(a.alloc(5), None);
        assert!(a.alloc(4).is_some());
        assert_eq!(a.alloc(0), None);
    }

    #[test]
    #[should_panic]
    fn double_free_panics() {
        let mut links = vec![Link::EMPTY; 16];
        let mut a = BuddyAllocator::new(&mut links);
        a.add_range(0, 16);
        let f = a.alloc(0).unwrap();
        a.dealloc(f, 0);
        a.dealloc(f, 0);
    }

    #[test]
    fn order_for_rounds_up() {
        assert_eq!(order_for(0), 0);
        assert_eq!(order_for(1), 0);
        assert_eq!(order_for(2), 1);
        assert_eq!(order_for(3), 2);
        assert_eq!(order_for(16), 4);
    }
}
