//! The RAM file system: the root file system, filled from the initramfs,
//! and every `tmpfs` mount.
//!
//! File contents live in a [`Vmo`], so mapping a file shares its pages.
//! Each instance has limits, as Linux's tmpfs: `size=` (pages, half of RAM
//! by default) and `nr_inodes=`; past them, writes and file creation fail
//! with `ENOSPC`, and `statfs` (so `df`) shows them.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ostd::mm::PAGE_SIZE;
use ostd::sync::Mutex;

use super::inode::{FsStats, Inode, InodeType, Metadata};
use crate::prelude::*;
use crate::vm::{PageQuota, Vmo};

static NEXT_INO: AtomicU64 = AtomicU64::new(2);
/// Device number reported for the RAM file system.
const RAMFS_DEV: u64 = 1;
/// `TMPFS_MAGIC`, reported by `statfs`.
const TMPFS_MAGIC: u64 = 0x0102_1994;

/// What the inodes of one RAM file system share: its limits and usage.
pub struct RamFs {
    pages: Arc<PageQuota>,
    max_inodes: AtomicU64,
    inodes: AtomicU64,
    /// Serialises renames, as Linux's per-super-block rename mutex: while
    /// it is held the tree's shape changes only through the holder, so
    /// the subtree check and the move of a rename are one step, and which
    /// of two directories is the ancestor cannot change.
    rename_lock: Mutex<()>,
    /// Mounted read-only (`ro`, `remount,ro`): every change is `EROFS`.
    read_only: AtomicBool,
}

impl RamFs {
    /// Linux's tmpfs defaults: half of RAM, and as many inodes as half of
    /// RAM has pages.
    fn with_defaults() -> Arc<Self> {
        let half = (ostd::mm::total_frames() / 2) as u64;
        Arc::new(Self {
            pages: Arc::new(PageQuota::new(half)),
            max_inodes: AtomicU64::new(half),
            inodes: AtomicU64::new(0),
            rename_lock: Mutex::new(()),
            read_only: AtomicBool::new(false),
        })
    }

    /// Applies mount options: `size=` (bytes, with a `k`, `m` or `g`
    /// suffix, or `%` of RAM), `nr_blocks=`, `nr_inodes=` (0 for no
    /// limit, as Linux), and `mode=`, `uid=`, `gid=` (for the root, by the
    /// caller). Other options are `EINVAL`, as tmpfs's parser says.
    pub fn apply_options(&self, options: &str) -> Result<()> {
        let (mut pages, mut inodes) = (None, None);
        for opt in options.split(',').filter(|o| !o.is_empty()) {
            let (key, value) = opt.split_once('=').unwrap_or((opt, ""));
            match key {
                "size" => pages = Some(parse_size(value)?.div_ceil(PAGE_SIZE as u64)),
                "nr_blocks" => pages = Some(parse_count(value)?),
                "nr_inodes" => inodes = Some(parse_count(value)?),
                "mode" | "uid" | "gid" => {}
                "ro" => self.read_only.store(true, Ordering::Relaxed),
                "rw" => self.read_only.store(false, Ordering::Relaxed),
                _ => return_errno_with_message!(EINVAL, "unknown tmpfs option"),
            }
        }
        let unlimited = |v: u64| if v == 0 { u64::MAX } else { v };
        if let Some(p) = pages {
            self.pages.set_limit(unlimited(p))?;
        }
        if let Some(i) = inodes {
            let i = unlimited(i);
            if i < self.inodes.load(Ordering::Relaxed) {
                return_errno!(EINVAL);
            }
            self.max_inodes.store(i, Ordering::Relaxed);
        }
        Ok(())
    }

    fn take_inode(&self) -> Result<()> {
        let max = self.max_inodes.load(Ordering::Relaxed);
        self.inodes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|_| ())
            .map_err(|_| Error::new(ENOSPC))
    }
}

/// A tmpfs size: bytes with an optional `k`, `m`, `g` suffix, or a
/// percentage of RAM.
fn parse_size(v: &str) -> Result<u64> {
    if let Some(pct) = v.strip_suffix('%') {
        let pct: u64 = pct.parse().map_err(|_| Error::new(EINVAL))?;
        let ram = ostd::mm::total_frames() as u64 * PAGE_SIZE as u64;
        return Ok(ram / 100 * pct);
    }
    parse_count(v)
}

/// A number with an optional `k`, `m` or `g` suffix (powers of 1024).
fn parse_count(v: &str) -> Result<u64> {
    let (digits, shift) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 30),
        _ => (v, 0),
    };
    let n: u64 = digits.parse().map_err(|_| Error::new(EINVAL))?;
    n.checked_mul(1 << shift).ok_or(Error::new(EINVAL))
}

enum Content {
    File(Arc<Vmo>),
    Dir(BTreeMap<Vec<u8>, Arc<RamInode>>),
    Symlink(Vec<u8>),
    Special,
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    size: u64,
    rdev: u64,
    atime: core::time::Duration,
    mtime: core::time::Duration,
    ctime: core::time::Duration,
}

/// An inode of the RAM file system.
pub struct RamInode {
    fs: Arc<RamFs>,
    ino: u64,
    kind: InodeType,
    // Lock order: a directory's `content` before a child directory's
    // `content` (rmdir, rename), and an inode's `content` before its
    // `meta`; `parent` is only ever taken alone.
    meta: Mutex<Meta>,
    content: Mutex<Content>,
    parent: Mutex<Weak<RamInode>>,
    this: Weak<RamInode>,
    /// For a FIFO: the pipe shared by everyone who opens it.
    fifo: Mutex<Option<Arc<super::pipe::Pipe>>>,
    /// Extended attributes.
    xattrs: super::xattr::Xattrs,
}

impl RamInode {
    /// A new root directory of a new file system, with tmpfs's default
    /// limits.
    pub fn new_root() -> Arc<Self> {
        let fs = RamFs::with_defaults();
        // The first inode of a fresh file system is always within limits.
        let _ = fs.take_inode();
        Self::new_in(fs, InodeType::Dir, 0o755, Weak::new())
    }

    /// A regular file in no directory, with link count 0, that lives as
    /// long as it is referenced (`memfd_create`). Such files share a file
    /// system of their own, with tmpfs's default limits (Linux's internal
    /// `shm_mnt`): `ENOSPC` past its inode limit or when user memory is
    /// low.
    pub fn new_unlinked_file(mode: u32) -> Result<Arc<Self>> {
        static UNLINKED: ostd::sync::SpinLock<Option<Arc<RamFs>>> = ostd::sync::SpinLock::new(None);
        let fs = UNLINKED
            .lock()
            .get_or_insert_with(RamFs::with_defaults)
            .clone();
        if crate::vm::oom::user_memory_low() {
            return_errno!(ENOSPC);
        }
        fs.take_inode()?;
        let node = Self::new_in(fs, InodeType::File, mode, Weak::new());
        node.meta.lock().nlink = 0;
        Ok(node)
    }

    /// The file system this inode belongs to.
    pub fn fs(&self) -> &Arc<RamFs> {
        &self.fs
    }

    /// A new inode in this inode's file system (`ENOSPC` past its inode
    /// limit).
    fn new_child(&self, kind: InodeType, mode: u32, parent: Weak<RamInode>) -> Result<Arc<Self>> {
        if crate::vm::oom::user_memory_low() {
            return_errno!(ENOSPC);
        }
        self.fs.take_inode()?;
        Ok(Self::new_in(self.fs.clone(), kind, mode, parent))
    }

    /// A new inode of `fs`, already counted in its inodes.
    fn new_in(fs: Arc<RamFs>, kind: InodeType, mode: u32, parent: Weak<RamInode>) -> Arc<Self> {
        let now = ostd::timer::wall_clock();
        let content = match kind {
            InodeType::File => Content::File(Arc::new(Vmo::new_file(Some(fs.pages.clone())))),
            InodeType::Dir => Content::Dir(BTreeMap::new()),
            InodeType::Symlink => Content::Symlink(Vec::new()),
            _ => Content::Special,
        };
        Arc::new_cyclic(|this| Self {
            fs,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            kind,
            meta: Mutex::new(Meta {
                mode: mode & 0o7777,
                uid: 0,
                gid: 0,
                nlink: if kind == InodeType::Dir { 2 } else { 1 },
                size: 0,
                rdev: 0,
                atime: now,
                mtime: now,
                ctime: now,
            }),
            content: Mutex::new(content),
            parent: Mutex::new(parent),
            this: this.clone(),
            fifo: Mutex::new(None),
            xattrs: super::xattr::Xattrs::new(),
        })
    }

    /// Sets the modification time (e.g. from the initramfs).
    pub fn set_mtime(&self, secs: u64) {
        let t = core::time::Duration::from_secs(secs);
        let mut m = self.meta.lock();
        m.mtime = t;
        m.ctime = t;
    }

    /// Whether this directory is `other` or one of its ancestors. Stable
    /// only under the file system's rename lock.
    fn is_ancestor_of(&self, other: &RamInode) -> bool {
        let mut cur = other.this.upgrade();
        while let Some(c) = cur {
            if core::ptr::eq(&*c, self) {
                return true;
            }
            cur = c.parent.lock().upgrade();
        }
        false
    }

    fn child(&self, name: &[u8]) -> Result<Arc<RamInode>> {
        match &*self.content.lock() {
            Content::Dir(children) => children.get(name).cloned().ok_or(Error::new(ENOENT)),
            _ => return_errno!(ENOTDIR),
        }
    }

    fn insert(&self, name: &[u8], node: Arc<RamInode>) -> Result<()> {
        kpath::check_name(name).map_err(|e| Error::new(Errno(e.errno() as u32)))?;
        if self.meta.lock().nlink == 0 {
            return_errno!(ENOENT); // the directory was removed
        }
        match &mut *self.content.lock() {
            Content::Dir(children) => {
                if children.contains_key(name) {
                    return_errno!(EEXIST);
                }
                if node.kind == InodeType::Dir {
                    self.meta.lock().nlink += 1;
                }
                children.insert(name.to_vec(), node);
                self.touch_dir();
                Ok(())
            }
            _ => return_errno!(ENOTDIR),
        }
    }

    /// An entry of this directory changed: its mtime and ctime are now.
    fn touch_dir(&self) {
        let now = ostd::timer::wall_clock();
        let mut m = self.meta.lock();
        m.mtime = now;
        m.ctime = now;
    }
}

impl Inode for RamInode {
    fn metadata(&self) -> Metadata {
        // Lock order: `content` before `meta` (as `insert` takes them).
        let content = self.content.lock();
        let m = self.meta.lock();
        let size = match &*content {
            Content::Symlink(t) => t.len() as u64,
            Content::Dir(c) => (c.len() as u64 + 2) * 32,
            _ => m.size,
        };
        // What memory holds, in 512-byte units, as tmpfs counts: a sparse
        // file has only its pages.
        let blocks = match &*content {
            Content::File(vmo) => (vmo.resident_pages() * (PAGE_SIZE / 512)) as u64,
            _ => 0,
        };
        drop(content);
        Metadata {
            ino: self.ino,
            dev: RAMFS_DEV,
            kind: self.kind,
            mode: m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            size,
            rdev: m.rdev,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            blocks,
        }
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let vmo = match &*self.content.lock() {
            Content::File(v) => v.clone(),
            Content::Dir(_) => return_errno!(EISDIR),
            _ => return_errno!(EINVAL),
        };
        let size = {
            let mut m = self.meta.lock();
            touch_atime(&mut m);
            m.size
        };
        if offset >= size {
            return Ok(0);
        }
        let n = (size - offset).min(buf.len() as u64) as usize;
        vmo.read(offset, &mut buf[..n]);
        Ok(n)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        let vmo = match &*self.content.lock() {
            Content::File(v) => v.clone(),
            Content::Dir(_) => return_errno!(EISDIR),
            _ => return_errno!(EINVAL),
        };
        offset
            .checked_add(buf.len() as u64)
            .ok_or(Error::new(EFBIG))?;
        let written = vmo.write(offset, buf)?;
        let end = offset + written as u64;
        let mut m = self.meta.lock();
        m.size = m.size.max(end);
        vmo.set_size(m.size);
        m.mtime = ostd::timer::wall_clock();
        Ok(written)
    }

    fn resize(&self, size: u64) -> Result<()> {
        let vmo = match &*self.content.lock() {
            Content::File(v) => v.clone(),
            Content::Dir(_) => return_errno!(EISDIR),
            _ => return_errno!(EINVAL),
        };
        let mut m = self.meta.lock();
        // Also drops pages `fallocate` kept beyond the old size.
        vmo.truncate(size);
        m.size = size;
        vmo.set_size(size);
        // Linux's tmpfs sets both times on every truncate, even to the
        // same size.
        let now = ostd::timer::wall_clock();
        m.mtime = now;
        m.ctime = now;
        Ok(())
    }

    fn fs_stats(&self) -> FsStats {
        let fs = &self.fs;
        let blocks = fs.pages.limit();
        let files = fs.max_inodes.load(Ordering::Relaxed);
        FsStats {
            magic: TMPFS_MAGIC,
            blocks,
            blocks_free: blocks.saturating_sub(fs.pages.used()),
            files,
            files_free: files.saturating_sub(fs.inodes.load(Ordering::Relaxed)),
        }
    }

    fn allocate(&self, offset: u64, len: u64, keep_size: bool, punch_hole: bool) -> Result<()> {
        let vmo = match &*self.content.lock() {
            Content::File(v) => v.clone(),
            Content::Dir(_) => return_errno!(EISDIR),
            _ => return_errno!(ENODEV),
        };
        let end = offset.checked_add(len).ok_or(Error::new(EFBIG))?;
        if punch_hole {
            let size = self.meta.lock().size;
            vmo.punch(offset, end.min(size).saturating_sub(offset));
            return Ok(());
        }
        let first = (offset / PAGE_SIZE as u64) as usize;
        let last = end.div_ceil(PAGE_SIZE as u64) as usize;
        vmo.populate(first, last)?;
        if !keep_size {
            let mut m = self.meta.lock();
            if end > m.size {
                m.size = end;
                vmo.set_size(end);
            }
            m.ctime = ostd::timer::wall_clock();
        }
        Ok(())
    }

    fn vmo(&self) -> Option<Arc<Vmo>> {
        match &*self.content.lock() {
            Content::File(v) => Some(v.clone()),
            _ => None,
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        Ok(self.child(name)?)
    }

    fn parent(&self) -> Option<Arc<dyn Inode>> {
        let p = self.parent.lock().upgrade()?;
        Some(p)
    }

    fn create(&self, name: &[u8], kind: InodeType, mode: u32) -> Result<Arc<dyn Inode>> {
        let node = self.new_child(kind, mode, self.this.clone())?;
        self.insert(name, node.clone())?;
        Ok(node)
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<Arc<dyn Inode>> {
        let node = self.new_child(InodeType::Symlink, 0o777, self.this.clone())?;
        *node.content.lock() = Content::Symlink(target.to_vec());
        self.insert(name, node.clone())?;
        Ok(node)
    }

    fn readdir(&self) -> Result<Vec<(Vec<u8>, u64, InodeType)>> {
        let entries = match &*self.content.lock() {
            Content::Dir(c) => c.iter().map(|(n, i)| (n.clone(), i.ino, i.kind)).collect(),
            _ => return_errno!(ENOTDIR),
        };
        // Listing a directory reads it (relatime, as file reads).
        touch_atime(&mut self.meta.lock());
        Ok(entries)
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let mut content = self.content.lock();
        let Content::Dir(children) = &mut *content else {
            return_errno!(ENOTDIR)
        };
        let child = children.get(name).ok_or(Error::new(ENOENT))?;
        if child.kind == InodeType::Dir {
            return_errno!(EISDIR);
        }
        let child = children.remove(name).ok_or(Error::new(ENOENT))?;
        drop(content);
        self.touch_dir();
        let mut m = child.meta.lock();
        m.nlink = m.nlink.saturating_sub(1);
        m.ctime = ostd::timer::wall_clock();
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        if name == b"." {
            return_errno!(EINVAL);
        }
        if name == b".." {
            return_errno!(ENOTEMPTY);
        }
        let mut content = self.content.lock();
        let Content::Dir(children) = &mut *content else {
            return_errno!(ENOTDIR)
        };
        let child = children.get(name).ok_or(Error::new(ENOENT))?;
        if child.kind != InodeType::Dir {
            return_errno!(ENOTDIR);
        }
        if matches!(&*child.content.lock(), Content::Dir(c) if !c.is_empty()) {
            return_errno!(ENOTEMPTY);
        }
        if super::mount::mounted_on(&(child.clone() as Arc<dyn Inode>)).is_some() {
            return_errno!(EBUSY);
        }
        let child = children.remove(name).ok_or(Error::new(ENOENT))?;
        drop(content);
        child.meta.lock().nlink = 0;
        self.touch_dir();
        let mut m = self.meta.lock();
        m.nlink = m.nlink.saturating_sub(1);
        Ok(())
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        let target = target
            .as_any()
            .downcast_ref::<RamInode>()
            .ok_or(Error::new(EXDEV))?;
        if target.kind == InodeType::Dir {
            return_errno!(EPERM);
        }
        let node = target.this.upgrade().ok_or(Error::new(ENOENT))?;
        self.insert(name, node)?;
        let mut m = target.meta.lock();
        m.nlink += 1;
        m.ctime = ostd::timer::wall_clock();
        Ok(())
    }

    fn rename(&self, old: &[u8], new_dir: &Arc<dyn Inode>, new: &[u8]) -> Result<()> {
        let new_dir_ram = new_dir
            .as_any()
            .downcast_ref::<RamInode>()
            .ok_or(Error::new(EXDEV))?;
        if !Arc::ptr_eq(&self.fs, &new_dir_ram.fs) {
            return_errno!(EXDEV);
        }
        if old == b"." || old == b".." || new == b"." || new == b".." {
            return_errno!(EBUSY);
        }
        kpath::check_name(new).map_err(|e| Error::new(Errno(e.errno() as u32)))?;
        let _serial = self.fs.rename_lock.lock();
        let node = self.child(old)?;
        // Moving a directory into its own subtree is invalid.
        if node.kind == InodeType::Dir && node.is_ancestor_of(new_dir_ram) {
            return_errno!(EINVAL);
        }
        if let Ok(existing) = new_dir_ram.child(new) {
            if Arc::ptr_eq(&existing, &node) {
                return Ok(());
            }
            match (node.kind == InodeType::Dir, existing.kind == InodeType::Dir) {
                (true, false) => return_errno!(ENOTDIR),
                (false, true) => return_errno!(EISDIR),
                (true, true) => new_dir_ram.rmdir(new)?,
                (false, false) => new_dir_ram.unlink(new)?,
            }
        }
        // Move the entry with both directories' entries locked, so that
        // it is never in neither or in both; the ancestor first, as rmdir
        // locks a parent before its child.
        if core::ptr::eq(self, new_dir_ram) {
            let mut content = self.content.lock();
            let Content::Dir(children) = &mut *content else {
                return_errno!(ENOTDIR)
            };
            move_entry(children, old, &node, None, new)?;
        } else {
            let self_first = self.is_ancestor_of(new_dir_ram)
                || (!new_dir_ram.is_ancestor_of(self) && self.ino < new_dir_ram.ino);
            let (mut from, mut to) = if self_first {
                let from = self.content.lock();
                (from, new_dir_ram.content.lock())
            } else {
                let to = new_dir_ram.content.lock();
                (self.content.lock(), to)
            };
            let (Content::Dir(from), Content::Dir(to)) = (&mut *from, &mut *to) else {
                return_errno!(ENOTDIR)
            };
            if new_dir_ram.meta.lock().nlink == 0 {
                return_errno!(ENOENT); // the target directory was removed
            }
            move_entry(from, old, &node, Some(to), new)?;
            if node.kind == InodeType::Dir {
                let mut m = self.meta.lock();
                m.nlink = m.nlink.saturating_sub(1);
                new_dir_ram.meta.lock().nlink += 1;
            }
        }
        *node.parent.lock() = new_dir_ram.this.clone();
        node.meta.lock().ctime = ostd::timer::wall_clock();
        self.touch_dir();
        new_dir_ram.touch_dir();
        Ok(())
    }

    fn exchange(&self, old: &[u8], new_dir: &Arc<dyn Inode>, new: &[u8]) -> Result<()> {
        let other = new_dir
            .as_any()
            .downcast_ref::<RamInode>()
            .ok_or(Error::new(EXDEV))?;
        if !Arc::ptr_eq(&self.fs, &other.fs) {
            return_errno!(EXDEV);
        }
        if [old, new].iter().any(|n| *n == b"." || *n == b"..") {
            return_errno!(EBUSY);
        }
        let _serial = self.fs.rename_lock.lock();
        let a = self.child(old)?;
        let b = other.child(new)?;
        if Arc::ptr_eq(&a, &b) {
            return Ok(());
        }
        // Neither directory may move into its own subtree.
        if (a.kind == InodeType::Dir && a.is_ancestor_of(other))
            || (b.kind == InodeType::Dir && b.is_ancestor_of(self))
        {
            return_errno!(EINVAL);
        }
        let swap = |from: &mut BTreeMap<Vec<u8>, Arc<RamInode>>,
                    to: Option<&mut BTreeMap<Vec<u8>, Arc<RamInode>>>|
         -> Result<()> {
            let still = |m: &BTreeMap<Vec<u8>, Arc<RamInode>>, n: &[u8], x: &Arc<RamInode>| {
                m.get(n).is_some_and(|e| Arc::ptr_eq(e, x))
            };
            match to {
                None => {
                    if !still(from, old, &a) || !still(from, new, &b) {
                        return_errno!(ENOENT);
                    }
                    from.insert(old.to_vec(), b.clone());
                    from.insert(new.to_vec(), a.clone());
                }
                Some(to) => {
                    if !still(from, old, &a) || !still(to, new, &b) {
                        return_errno!(ENOENT);
                    }
                    from.insert(old.to_vec(), b.clone());
                    to.insert(new.to_vec(), a.clone());
                }
            }
            Ok(())
        };
        if core::ptr::eq(self, other) {
            let mut content = self.content.lock();
            let Content::Dir(children) = &mut *content else {
                return_errno!(ENOTDIR)
            };
            swap(children, None)?;
        } else {
            let self_first =
                self.is_ancestor_of(other) || (!other.is_ancestor_of(self) && self.ino < other.ino);
            let (mut from, mut to) = if self_first {
                let from = self.content.lock();
                (from, other.content.lock())
            } else {
                let to = other.content.lock();
                (self.content.lock(), to)
            };
            let (Content::Dir(from), Content::Dir(to)) = (&mut *from, &mut *to) else {
                return_errno!(ENOTDIR)
            };
            swap(from, Some(to))?;
            // A directory moving to the other parent takes its `..` link.
            let a_dir = a.kind == InodeType::Dir;
            if a_dir != (b.kind == InodeType::Dir) {
                let (gains, loses) = if a_dir { (other, self) } else { (self, other) };
                gains.meta.lock().nlink += 1;
                let mut m = loses.meta.lock();
                m.nlink = m.nlink.saturating_sub(1);
            }
            *a.parent.lock() = other.this.clone();
            *b.parent.lock() = self.this.clone();
        }
        let now = ostd::timer::wall_clock();
        a.meta.lock().ctime = now;
        b.meta.lock().ctime = now;
        self.touch_dir();
        other.touch_dir();
        Ok(())
    }

    fn xattrs(&self) -> Option<&super::xattr::Xattrs> {
        Some(&self.xattrs)
    }

    fn read_only(&self) -> bool {
        self.fs.read_only.load(Ordering::Relaxed)
    }

    fn set_mode(&self, mode: u32) -> Result<()> {
        let mut m = self.meta.lock();
        m.mode = mode & 0o7777;
        m.ctime = ostd::timer::wall_clock();
        Ok(())
    }

    fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        let mut m = self.meta.lock();
        if let Some(u) = uid {
            m.uid = u;
        }
        if let Some(g) = gid {
            m.gid = g;
        }
        m.ctime = ostd::timer::wall_clock();
        Ok(())
    }

    fn set_times(
        &self,
        atime: Option<core::time::Duration>,
        mtime: Option<core::time::Duration>,
    ) -> Result<()> {
        let mut m = self.meta.lock();
        if let Some(a) = atime {
            m.atime = a;
        }
        if let Some(t) = mtime {
            m.mtime = t;
        }
        m.ctime = ostd::timer::wall_clock();
        Ok(())
    }

    fn open_special(&self, flags: u32) -> Option<Result<Arc<dyn super::file::FileLike>>> {
        // A socket inode is reached with `connect`, not `open` (Linux:
        // `ENXIO`).
        if self.kind == InodeType::Socket {
            return Some(Err(Error::new(ENXIO)));
        }
        // A device node made by `mknod` opens the device of its number.
        if matches!(self.kind, InodeType::CharDevice | InodeType::BlockDevice) {
            if self.kind == InodeType::BlockDevice {
                return Some(Err(Error::new(ENXIO)));
            }
            let rdev = self.meta.lock().rdev;
            return Some(super::devfs::open_device(rdev, flags));
        }
        if self.kind != InodeType::Fifo {
            return None;
        }
        // Take the pipe and let go of the lock before blocking in the open:
        // the other end's open needs it too.
        let pipe = self
            .fifo
            .lock()
            .get_or_insert_with(super::pipe::Pipe::new)
            .clone();
        Some(super::pipe::open_fifo(pipe, flags))
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        match &*self.content.lock() {
            Content::Symlink(t) => Ok(t.clone()),
            _ => return_errno!(EINVAL),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Sets owner and mode of a RAM inode (initramfs unpacking).
pub fn set_owner_mode(inode: &Arc<dyn Inode>, uid: u32, gid: u32, mode: u32, mtime: u64) {
    if let Some(r) = inode.as_any().downcast_ref::<RamInode>() {
        let mut m = r.meta.lock();
        m.uid = uid;
        m.gid = gid;
        m.mode = mode & 0o7777;
        drop(m);
        r.set_mtime(mtime);
    }
}

/// Sets the modification (and change) time of a RAM inode, in seconds.
pub fn set_mtime_of(inode: &Arc<dyn Inode>, secs: u64) {
    if let Some(r) = inode.as_any().downcast_ref::<RamInode>() {
        r.set_mtime(secs);
    }
}

/// Sets the device number of a RAM device node (`mknod`).
pub fn set_rdev(inode: &Arc<dyn Inode>, rdev: u64) {
    if let Some(r) = inode.as_any().downcast_ref::<RamInode>() {
        r.meta.lock().rdev = rdev;
    }
}

/// `relatime`: a read updates the access time only if it is not after
/// the last modification or status change, or is a day old.
fn touch_atime(m: &mut Meta) {
    const DAY: core::time::Duration = core::time::Duration::from_secs(24 * 60 * 60);
    let now = ostd::timer::wall_clock();
    if m.atime <= m.mtime || m.atime <= m.ctime || m.atime + DAY <= now {
        m.atime = now;
    }
}

/// Moves `node`, found as `old` in `from`, to `new` in `to` (or in `from`
/// when `to` is `None`): `ENOENT` if `old` no longer names `node` (another
/// call removed it meanwhile), `EEXIST` if `new` was taken meanwhile.
fn move_entry(
    from: &mut BTreeMap<Vec<u8>, Arc<RamInode>>,
    old: &[u8],
    node: &Arc<RamInode>,
    to: Option<&mut BTreeMap<Vec<u8>, Arc<RamInode>>>,
    new: &[u8],
) -> Result<()> {
    if !from.get(old).is_some_and(|n| Arc::ptr_eq(n, node)) {
        return_errno!(ENOENT);
    }
    let to = match to {
        Some(to) => to,
        None if old == new => return Ok(()),
        None => &mut *from,
    };
    if to.contains_key(new) {
        return_errno!(EEXIST);
    }
    // Insert before removing: if the map cannot grow, nothing has moved.
    to.insert(new.to_vec(), node.clone());
    from.remove(old);
    Ok(())
}

impl Drop for RamInode {
    fn drop(&mut self) {
        self.fs.inodes.fetch_sub(1, Ordering::AcqRel);
    }
}
