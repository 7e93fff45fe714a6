//! `Vmo`: a virtual memory object — pages of memory that can be mapped.
//!
//! A RAM-fs file's contents and a shared anonymous mapping are both VMOs:
//! mapping one shares its frames, so writes through a mapping and `write(2)`
//! to the file see the same memory, as with Linux's page cache. Missing
//! pages read as zeros and are allocated on first use.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ostd::mm::{Frame, PAGE_SIZE};
use ostd::sync::Mutex;

use crate::prelude::*;

/// Pages held by every quota together (what `/proc/meminfo` shows as
/// `Shmem`: the RAM file systems' pages).
static SHMEM_PAGES: AtomicU64 = AtomicU64::new(0);

/// Pages the RAM file systems hold, all together.
pub fn shmem_pages() -> u64 {
    SHMEM_PAGES.load(Ordering::Relaxed)
}

/// A limit on the pages a set of memory objects may hold together: a
/// tmpfs's `size=`. Beyond it, writes fail with `ENOSPC` and faults on
/// shared mappings raise `SIGBUS`, as on Linux.
pub struct PageQuota {
    limit: AtomicU64,
    used: AtomicU64,
}

impl PageQuota {
    /// A quota of `limit` pages.
    pub fn new(limit: u64) -> Self {
        Self {
            limit: AtomicU64::new(limit),
            used: AtomicU64::new(0),
        }
    }

    /// Pages allowed.
    pub fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Changes the limit (`EINVAL` below what is in use, as tmpfs's
    /// remount).
    pub fn set_limit(&self, limit: u64) -> Result<()> {
        if limit < self.used() {
            return_errno!(EINVAL);
        }
        self.limit.store(limit, Ordering::Relaxed);
        Ok(())
    }

    /// Pages in use.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn charge(&self) -> Result<()> {
        let limit = self.limit();
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                (u < limit).then_some(u + 1)
            })
            .map(|_| {
                SHMEM_PAGES.fetch_add(1, Ordering::Relaxed);
            })
            .map_err(|_| Error::new(ENOSPC))
    }

    fn uncharge(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::AcqRel);
        SHMEM_PAGES.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Pages of memory, indexed from 0. Sparse: a huge file with few pages
/// costs only those pages.
pub struct Vmo {
    /// Unique for the kernel's lifetime (futex keys name the object).
    id: u64,
    pages: Mutex<BTreeMap<usize, Frame>>,
    /// The file system's quota the pages count against, if any.
    quota: Option<Arc<PageQuota>>,
    /// A file's size, kept by its file system: mappings cannot fault in
    /// pages wholly past it. `u64::MAX` for anonymous memory.
    size: AtomicU64,
    /// No shared mapping may write to it (a memfd sealed against
    /// writing): such mappings cannot be made or made writable.
    shared_write_denied: AtomicBool,
}

impl Default for Vmo {
    fn default() -> Self {
        Self::new()
    }
}

fn next_vmo_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Vmo {
    /// This object's identity, never reused.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// An empty object for anonymous memory.
    pub fn new() -> Self {
        Self {
            id: next_vmo_id(),
            pages: Mutex::new(BTreeMap::new()),
            quota: None,
            size: AtomicU64::new(u64::MAX),
            shared_write_denied: AtomicBool::new(false),
        }
    }

    /// An empty object holding a file's contents (size 0), its pages
    /// counted against `quota`.
    pub fn new_file(quota: Option<Arc<PageQuota>>) -> Self {
        Self {
            id: next_vmo_id(),
            pages: Mutex::new(BTreeMap::new()),
            quota,
            size: AtomicU64::new(0),
            shared_write_denied: AtomicBool::new(false),
        }
    }

    /// Forbids (or allows again) writable shared mappings of the object.
    pub fn set_shared_write_denied(&self, denied: bool) {
        self.shared_write_denied.store(denied, Ordering::Release);
    }

    /// Whether writable shared mappings are forbidden.
    pub fn shared_write_denied(&self) -> bool {
        self.shared_write_denied.load(Ordering::Acquire)
    }

    /// Records the file's size.
    pub fn set_size(&self, size: u64) {
        self.size.store(size, Ordering::Release);
    }

    /// The frame of page `idx` for a mapping: `EIO` if the page lies wholly
    /// past the end of the file (Linux raises `SIGBUS` for such an access,
    /// and a kernel access to it fails with `EFAULT`).
    pub fn mapped_page(&self, idx: usize) -> Result<Frame> {
        let size = self.size.load(Ordering::Acquire);
        if (idx as u64) >= size.div_ceil(PAGE_SIZE as u64) {
            return_errno_with_message!(EIO, "mapped page past the end of the file");
        }
        self.page(idx)
    }

    /// The frame of page `idx`, allocating a zeroed one if missing.
    pub fn page(&self, idx: usize) -> Result<Frame> {
        let mut pages = self.pages.lock();
        if let Some(f) = pages.get(&idx) {
            return Ok(f.clone());
        }
        if let Some(q) = &self.quota {
            q.charge()?;
        }
        let Some(f) = Frame::alloc_zeroed() else {
            if let Some(q) = &self.quota {
                q.uncharge(1);
            }
            return_errno!(ENOMEM);
        };
        pages.insert(idx, f.clone());
        Ok(f)
    }

    /// Reads at byte `offset` into `buf` (missing pages read as zeros).
    pub fn read(&self, offset: u64, buf: &mut [u8]) {
        let pages = self.pages.lock();
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let idx = (pos / PAGE_SIZE as u64) as usize;
            let in_page = (pos % PAGE_SIZE as u64) as usize;
            let n = (PAGE_SIZE - in_page).min(buf.len() - done);
            match pages.get(&idx) {
                Some(f) => f.read_bytes(in_page, &mut buf[done..done + n]),
                None => buf[done..done + n].fill(0),
            }
            done += n;
        }
    }

    /// Writes `buf` at byte `offset`, allocating pages as needed; returns
    /// how much was written (less than asked if space ran out part way).
    pub fn write(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let idx = (pos / PAGE_SIZE as u64) as usize;
            let in_page = (pos % PAGE_SIZE as u64) as usize;
            let n = (PAGE_SIZE - in_page).min(buf.len() - done);
            let page = match self.page(idx) {
                Ok(p) => p,
                // Out of space part way: the bytes written count (a short
                // write, as Linux reports it).
                Err(_) if done > 0 => return Ok(done),
                Err(e) => return Err(e),
            };
            page.write_bytes(in_page, &buf[done..done + n]);
            done += n;
        }
        Ok(done)
    }

    /// Backs pages `first..last` with memory (zeroed), counted against the
    /// quota: `ENOSPC` when it runs out, and then the pages this call took
    /// are given back (as Linux's tmpfs undoes a failed `fallocate`).
    pub fn populate(&self, first: usize, last: usize) -> Result<()> {
        // The lock is taken a page at a time and the page is zeroed
        // outside it: a fallocate of a gigabyte must not keep every other
        // user of the file (readers, page faults) waiting, unkillably,
        // until it is done.
        let mut added = alloc::vec::Vec::new();
        let mut idx = first;
        let result = loop {
            {
                let pages = self.pages.lock();
                while idx < last && pages.contains_key(&idx) {
                    idx += 1;
                }
            }
            if idx >= last {
                break Ok(());
            }
            // Each missing page costs a frame, so the loop ends when memory
            // or the quota does; a thread being killed stops sooner.
            if added.len() % 256 == 255 && crate::process::fatal_signal_pending() {
                break Err(Error::new(EINTR));
            }
            if let Some(q) = &self.quota
                && let Err(e) = q.charge()
            {
                break Err(e);
            }
            let Some(frame) = Frame::alloc_zeroed() else {
                if let Some(q) = &self.quota {
                    q.uncharge(1);
                }
                break Err(Error::new(ENOMEM));
            };
            let mut pages = self.pages.lock();
            match pages.entry(idx) {
                // Written meanwhile: that page stays.
                alloc::collections::btree_map::Entry::Occupied(_) => {
                    drop(pages);
                    if let Some(q) = &self.quota {
                        q.uncharge(1);
                    }
                }
                alloc::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(frame);
                    drop(pages);
                    if added.try_reserve(1).is_err() {
                        break Err(Error::new(ENOMEM));
                    }
                    added.push(idx);
                }
            }
            idx += 1;
        };
        if result.is_err() {
            let mut pages = self.pages.lock();
            let mut gone = 0;
            for i in &added {
                gone += pages.remove(i).is_some() as u64;
            }
            drop(pages);
            if let Some(q) = &self.quota {
                q.uncharge(gone);
            }
        }
        result
    }

    /// Zeroes `[offset, offset + len)`, freeing the whole pages inside it.
    pub fn punch(&self, offset: u64, len: u64) {
        let end = offset.saturating_add(len);
        let first_whole = offset.div_ceil(PAGE_SIZE as u64) as usize;
        let last_whole = (end / PAGE_SIZE as u64) as usize;
        let mut pages = self.pages.lock();
        // Only the pages present are visited: the range may span 2^50
        // pages of a huge sparse file.
        let mut freed = pages.split_off(&first_whole);
        let mut after = freed.split_off(&last_whole.max(first_whole));
        pages.append(&mut after);
        if let Some(q) = &self.quota {
            q.uncharge(freed.len() as u64);
        }
        // The partial pages at either end keep their frames, zeroed in part.
        for (from, to) in [
            (offset, end.min((first_whole as u64) * PAGE_SIZE as u64)),
            ((last_whole as u64 * PAGE_SIZE as u64).max(offset), end),
        ] {
            if from >= to {
                continue;
            }
            let idx = (from / PAGE_SIZE as u64) as usize;
            if let Some(f) = pages.get(&idx) {
                let at = (from % PAGE_SIZE as u64) as usize;
                let zeros = [0u8; PAGE_SIZE];
                f.write_bytes(at, &zeros[..(to - from) as usize]);
            }
        }
    }

    /// Drops pages wholly at or beyond byte `size` and zeroes the tail of
    /// the last partial page (so a later extension reads zeros).
    ///
    /// When the file shrinks, mappings lose their pages past the new end
    /// (Linux's `unmap_mapping_range` on truncation, copies made by
    /// private mappings included): touching them then raises `SIGBUS`.
    pub fn truncate(&self, size: u64) {
        let old = self.size.load(Ordering::Acquire);
        if size < old {
            // New faults see the new size first, then the pages already
            // mapped go (a fault holds its address space's lock while it
            // maps a page, so none slips in between).
            self.set_size(size);
            let first = size.div_ceil(PAGE_SIZE as u64);
            for process in crate::process::all_processes() {
                process.vmar().unmap_object_from(self.id, first);
            }
        }
        let mut pages = self.pages.lock();
        let keep = (size as usize).div_ceil(PAGE_SIZE);
        let gone = pages.split_off(&keep);
        if let Some(q) = &self.quota {
            q.uncharge(gone.len() as u64);
        }
        drop(gone);
        let tail = (size % PAGE_SIZE as u64) as usize;
        if tail != 0
            && let Some(f) = pages.get(&(keep - 1))
        {
            f.write_bytes(tail, &[0u8; PAGE_SIZE][..PAGE_SIZE - tail]);
        }
    }

    /// Number of pages with memory behind them.
    pub fn resident_pages(&self) -> usize {
        self.pages.lock().len()
    }
}

impl Drop for Vmo {
    fn drop(&mut self) {
        if let Some(q) = &self.quota {
            q.uncharge(self.pages.get_mut().len() as u64);
        }
    }
}
