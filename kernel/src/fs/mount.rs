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

static MOUNTS: SpinLock<Vec<Mount>> = SpinLock::new(Vec::new());

fn same(a: &Arc<dyn Inode>, b: &Arc<dyn Inode>) -> bool {
    core::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

/// The root of the file system mounted on `dir`, if any (the latest mount).
pub fn mounted_on(dir: &Arc<dyn Inode>) -> Option<Arc<dyn Inode>> {
    let mounts = MOUNTS.lock();
    if mounts.is_empty() {
        return None;
    }
    mounts
        .iter()
        .rev()
        .find(|m| same(&m.mountpoint, dir))
        .map(|m| m.root.clone())
}

/// The mount point that `root` (a mounted root) hides, if it is one.
pub fn mountpoint_of(root: &Arc<dyn Inode>) -> Option<Arc<dyn Inode>> {
    let mounts = MOUNTS.lock();
    if mounts.is_empty() {
        return None;
    }
    mounts
        .iter()
        .rev()
        .find(|m| same(&m.root, root))
        .map(|m| m.mountpoint.clone())
}

/// Mounts `root` on `mountpoint`, with a new mount id.
pub fn mount(mut m: Mount) {
    m.id = NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed);
    MOUNTS.lock().push(m);
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
    MOUNTS
        .lock()
        .iter()
        .rev()
        .find(|m| same(&m.root, &top))
        .map_or(ROOT_MOUNT_ID, |m| m.id)
}

/// Unmounts the file system whose root is `root` (or which is mounted on
/// `root`'s mount point).
pub fn umount(root: &Arc<dyn Inode>) -> Result<()> {
    let mut mounts = MOUNTS.lock();
    let idx = mounts
        .iter()
        .rposition(|m| same(&m.root, root))
        .ok_or(Error::new(EINVAL))?;
    mounts.remove(idx);
    Ok(())
}

/// All mounts, oldest first (for `/proc/mounts`).
pub fn mounts() -> Vec<Mount> {
    MOUNTS.lock().clone()
}

/// `EROFS` if `inode` lives in a file system mounted read-only (checked
/// by every call that changes a file system: Linux's `mnt_want_write`).
pub fn check_writable(inode: &Arc<dyn Inode>) -> Result<()> {
    if inode.read_only() {
        return_errno!(EROFS);
    }
    Ok(())
}
