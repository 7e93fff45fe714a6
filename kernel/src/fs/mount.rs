//! The mount table: which file system's root hides which directory.
//!
//! Path resolution (`FsContext::walk`) crosses into a mounted file system
//! when it reaches a mount point, and `..` at a mounted root leads back to
//! the mount point's parent.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::SpinLock;

use super::inode::Inode;
use crate::prelude::*;

/// A mounted file system.
#[derive(Clone)]
pub struct Mount {
    /// The directory it is mounted on.
    pub mountpoint: Arc<dyn Inode>,
    /// Its root directory.
    pub root: Arc<dyn Inode>,
    /// The source as given to `mount` (e.g. `proc`).
    pub source: String,
    /// Absolute path of the mount point.
    pub target: String,
    /// File system type (e.g. `proc`, `tmpfs`).
    pub fstype: String,
    /// The mount id (`statx`'s `stx_mnt_id`), given by [`mount`].
    pub id: u64,
}

/// The mount id of the root file system.
pub const ROOT_MOUNT_ID: u64 = 1;
static NEXT_MOUNT_ID: AtomicU64 = AtomicU64::new(ROOT_MOUNT_ID + 1);

/// The most mounts at once (Linux's `fs.mount-max` default): beyond it,
/// `mount` fails with `ENOSPC`.
pub const MAX_MOUNTS: usize = 100_000;

/// The mount table. Path resolution asks it at every step whether a
/// directory is a mount point, so that question is a binary search, not a
/// walk of every mount (a program mounting thousands of times must not
/// make every path lookup of every process slow).
struct Table {
    /// Every mount, oldest first (so in increasing id order).
    list: Vec<Mount>,
    /// `(address of the mount point, id)`, sorted: the mounts stacked on a
    /// directory, the latest last.
    by_point: Vec<(usize, u64)>,
    /// `(address of the root, id)`, sorted.
    by_root: Vec<(usize, u64)>,
}

static MOUNTS: SpinLock<Table> = SpinLock::new(Table {
    list: Vec::new(),
    by_point: Vec::new(),
    by_root: Vec::new(),
});

/// The identity of an inode in the indexes: its address, stable while a
/// mount holds it.
fn key(inode: &Arc<dyn Inode>) -> usize {
    Arc::as_ptr(inode) as *const () as usize
}

/// The latest id filed under `key` in `index`.
fn latest(index: &[(usize, u64)], key: usize) -> Option<u64> {
    let end = index.partition_point(|&(k, _)| k <= key);
    let (k, id) = *index.get(end.checked_sub(1)?)?;
    (k == key).then_some(id)
}

/// Files `entry` in the sorted `index` (room was reserved).
fn file(index: &mut Vec<(usize, u64)>, entry: (usize, u64)) {
    let at = index.partition_point(|&e| e < entry);
    index.insert(at, entry);
}

/// Takes `entry` out of the sorted `index`.
fn unfile(index: &mut Vec<(usize, u64)>, entry: (usize, u64)) {
    if let Ok(at) = index.binary_search(&entry) {
        index.remove(at);
    }
}

impl Table {
    fn get(&self, id: u64) -> Option<&Mount> {
        let at = self.list.binary_search_by_key(&id, |m| m.id).ok()?;
        self.list.get(at)
    }
}

/// The root of the file system mounted on `dir`, if any (the latest mount).
pub fn mounted_on(dir: &Arc<dyn Inode>) -> Option<Arc<dyn Inode>> {
    let t = MOUNTS.lock();
    let id = latest(&t.by_point, key(dir))?;
    t.get(id).map(|m| m.root.clone())
}

/// The mount point that `root` (a mounted root) hides, if it is one.
pub fn mountpoint_of(root: &Arc<dyn Inode>) -> Option<Arc<dyn Inode>> {
    let t = MOUNTS.lock();
    let id = latest(&t.by_root, key(root))?;
    t.get(id).map(|m| m.mountpoint.clone())
}

/// Mounts `root` on `mountpoint`, with a new mount id. `ENOSPC` beyond
/// [`MAX_MOUNTS`], `ENOMEM` without memory for the table.
pub fn mount(mut m: Mount) -> Result<()> {
    let mut t = MOUNTS.lock();
    if t.list.len() >= MAX_MOUNTS {
        return_errno_with_message!(ENOSPC, "too many mounts");
    }
    if t.list.try_reserve(1).is_err()
        || t.by_point.try_reserve(1).is_err()
        || t.by_root.try_reserve(1).is_err()
    {
        return_errno!(ENOMEM);
    }
    m.id = NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed);
    file(&mut t.by_point, (key(&m.mountpoint), m.id));
    file(&mut t.by_root, (key(&m.root), m.id));
    t.list.push(m);
    Ok(())
}

/// The id of the mount `inode` is in: the mount whose root is the top of
/// `inode`'s file system (found through the parents), or the root file
/// system's.
pub fn mount_id_of(inode: &Arc<dyn Inode>) -> u64 {
    let mut top = inode.clone();
    // Bounded: a file system's tree is finite, but trust no parent chain.
    for _ in 0..4096 {
        match top.parent() {
            Some(p) => top = p,
            None => break,
        }
    }
    latest(&MOUNTS.lock().by_root, key(&top)).unwrap_or(ROOT_MOUNT_ID)
}

/// Unmounts the latest file system mounted with root `root`.
pub fn umount(root: &Arc<dyn Inode>) -> Result<()> {
    let id = latest(&MOUNTS.lock().by_root, key(root)).ok_or(Error::new(EINVAL))?;
    remove(id)
}

/// Unmounts the top of the mounts stacked on the directory `point` (what a
/// path naming `point` leads to). Unlike [`umount`], this tells apart bind
/// mounts that share a root. `EINVAL` if nothing is mounted there.
pub fn umount_at(point: &Arc<dyn Inode>) -> Result<()> {
    let id = {
        let t = MOUNTS.lock();
        let mut cur = key(point);
        let mut top = None;
        // Each step is one mount of a finite table; a mount of a directory
        // on itself (a bind mount stacked on its own root) ends the chain.
        for _ in 0..=t.list.len() {
            let Some(id) = latest(&t.by_point, cur) else {
                break;
            };
            top = Some(id);
            let next = t.get(id).map_or(cur, |m| key(&m.root));
            if next == cur {
                break;
            }
            cur = next;
        }
        top.ok_or(Error::new(EINVAL))?
    };
    remove(id)
}

/// Takes the mount `id` out of the table.
fn remove(id: u64) -> Result<()> {
    let mut t = MOUNTS.lock();
    let at = t
        .list
        .binary_search_by_key(&id, |m| m.id)
        .map_err(|_| Error::new(EINVAL))?;
    let m = t.list.remove(at);
    unfile(&mut t.by_point, (key(&m.mountpoint), id));
    unfile(&mut t.by_root, (key(&m.root), id));
    drop(t);
    // The inodes the mount held go outside the lock.
    drop(m);
    Ok(())
}

/// All mounts, oldest first (for `/proc/mounts`).
pub fn mounts() -> Vec<Mount> {
    MOUNTS.lock().list.clone()
}

/// `EROFS` if `inode` lives in a file system mounted read-only (checked
/// by every call that changes a file system: Linux's `mnt_want_write`).
pub fn check_writable(inode: &Arc<dyn Inode>) -> Result<()> {
    if inode.read_only() {
        return_errno!(EROFS);
    }
    Ok(())
}
