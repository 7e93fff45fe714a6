//! `Vmo`: a virtual memory object — pages of memory that can be mapped.
//!
//! A RAM-fs file's contents and a shared anonymous mapping are both VMOs:
//! mapping one shares its frames, so writes through a mapping and `write(2)`
//! to the file see the same memory, as with Linux's page cache. Missing
//! pages read as zeros and are allocated on first use.

use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::mm::{Frame, PAGE_SIZE};
use ostd::sync::Mutex;

use crate::prelude::*;

/// Pages of memory, indexed from 0. Sparse: a huge file with few pages
/// costs only those pages.
pub struct Vmo {
    pages: Mutex<BTreeMap<usize, Frame>>,
    /// A file's size, kept by its file system: mappings cannot fault in
    /// pages wholly past it. `u64::MAX` for anonymous memory.
    size: AtomicU64,
}

impl Default for Vmo {
    fn default() -> Self {
        Self::new()
    }
}

impl Vmo {
    /// An empty object for anonymous memory.
    pub fn new() -> Self {
        Self {
            pages: Mutex::new(BTreeMap::new()),
            size: AtomicU64::new(u64::MAX),
        }
    }

    /// An empty object holding a file's contents (size 0).
    pub fn new_file() -> Self {
        Self {
            pages: Mutex::new(BTreeMap::new()),
            size: AtomicU64::new(0),
        }
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
        let f = Frame::alloc_zeroed().ok_or(Error::new(ENOMEM))?;
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

    /// Writes `buf` at byte `offset`, allocating pages as needed.
    pub fn write(&self, offset: u64, buf: &[u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let idx = (pos / PAGE_SIZE as u64) as usize;
            let in_page = (pos % PAGE_SIZE as u64) as usize;
            let n = (PAGE_SIZE - in_page).min(buf.len() - done);
            self.page(idx)?.write_bytes(in_page, &buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Drops pages wholly at or beyond byte `size` and zeroes the tail of
    /// the last partial page (so a later extension reads zeros).
    pub fn truncate(&self, size: u64) {
        let mut pages = self.pages.lock();
        let keep = (size as usize).div_ceil(PAGE_SIZE);
        drop(pages.split_off(&keep));
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
