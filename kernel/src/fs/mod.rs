//! File systems: the inode interface, the RAM file system at `/` (filled
//! from the initramfs), open files and descriptor tables, terminals,
//! and path resolution.

pub mod devfs;
pub mod devpts;
pub mod epoll;
pub mod file;
pub mod file_table;
pub mod initramfs;
pub mod inode;
pub mod lock;
pub mod memfd;
pub mod mount;
pub mod pidfd;
pub mod pipe;
pub mod poll;
pub mod procfs;
pub mod ramfs;
pub mod sigio;
pub mod signalfd;
pub mod timerfd;
pub mod tty;
pub mod xattr;

use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::Once;

use self::inode::{Inode, InodeType};
use crate::prelude::*;

/// Symbolic links followed in one resolution before `ELOOP` (Linux: 40).
pub const MAX_SYMLINKS: u32 = 40;

static ROOT: Once<Arc<dyn Inode>> = Once::new();

/// Creates the root file system and unpacks the initramfs into it.
pub fn init(initramfs: Option<&[u8]>) {
    let root: Arc<dyn Inode> = ramfs::RamInode::new_root();
    ROOT.set(root.clone());
    match initramfs {
        Some(data) => initramfs::unpack(&root, data),
        None => log::warn!("fs: no initramfs; the root file system is empty"),
    }
}

/// The root directory.
pub fn root() -> Arc<dyn Inode> {
    ROOT.expect_init().clone()
}

/// Where relative paths start, and the process's view of the tree.
#[derive(Clone)]
pub struct FsContext {
    /// The root directory (`chroot`).
    pub root: Arc<dyn Inode>,
    /// The working directory.
    pub cwd: Arc<dyn Inode>,
    /// Absolute path of the working directory (bytes, as every path).
    pub cwd_path: Vec<u8>,
    /// The file mode creation mask.
    pub umask: u32,
}

/// The non-empty components of `path`.
pub fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

impl FsContext {
    /// Root and working directory at `/`.
    pub fn new() -> Self {
        Self {
            root: root(),
            cwd: root(),
            cwd_path: b"/".to_vec(),
            umask: 0o022,
        }
    }

    /// Resolves `path` relative to `start` (or the working directory).
    pub fn lookup(
        &self,
        start: Option<&Arc<dyn Inode>>,
        path: &[u8],
        follow: bool,
    ) -> Result<Arc<dyn Inode>> {
        kpath::check_path(path).map_err(path_error)?;
        if path.is_empty() {
            return_errno!(ENOENT);
        }
        let mut links = 0;
        let start = start.unwrap_or(&self.cwd).clone();
        // A trailing slash makes the last component a directory, so a
        // symlink there is always followed.
        let follow = follow || path.ends_with(b"/");
        let node = self.walk(start, path, follow, &mut links)?;
        if path.ends_with(b"/") && node.metadata().kind != InodeType::Dir {
            return_errno!(ENOTDIR);
        }
        Ok(node)
    }

    /// The absolute path of `path` with `.`, `..` and symbolic links
    /// resolved, as `realpath(3)` gives (for `/proc/PID/exe`).
    pub fn canonical_path(&self, path: &[u8]) -> Result<Vec<u8>> {
        let mut parts: Vec<Vec<u8>> = if path.starts_with(b"/") {
            Vec::new()
        } else {
            components(&self.cwd_path).map(|c| c.to_vec()).collect()
        };
        let mut pending: alloc::collections::VecDeque<Vec<u8>> =
            components(path).map(|c| c.to_vec()).collect();
        let mut links = 0;
        while let Some(comp) = pending.pop_front() {
            match comp.as_slice() {
                b"." => continue,
                b".." => {
                    parts.pop();
                    continue;
                }
                _ => {}
            }
            let dir = self.lookup(None, &join_absolute(&parts), true)?;
            let node = dir.lookup(&comp)?;
            if node.metadata().kind == InodeType::Symlink {
                links += 1;
                if links > MAX_SYMLINKS {
                    return_errno!(ELOOP);
                }
                let target = node.read_link()?;
                if target.starts_with(b"/") {
                    parts.clear();
                }
                for (i, c) in components(&target).enumerate() {
                    pending.insert(i, c.to_vec());
                }
            } else {
                parts.push(comp);
            }
        }
        Ok(join_absolute(&parts))
    }

    /// Resolves all but the last component of `path`: returns the
    /// directory and the last name (`"."` for a path like `/`).
    pub fn lookup_parent<'p>(
        &self,
        start: Option<&Arc<dyn Inode>>,
        path: &'p [u8],
    ) -> Result<(Arc<dyn Inode>, &'p [u8])> {
        kpath::check_path(path).map_err(path_error)?;
        if path.is_empty() {
            return_errno!(ENOENT);
        }
        let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        let trimmed = &path[..end];
        if trimmed.is_empty() {
            // "/" (or "//"): the root itself, which always exists.
            return Ok((self.root.clone(), b"."));
        }
        let (dir, name) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) => (&trimmed[..i.max(1).min(trimmed.len())], &trimmed[i + 1..]),
            None => (&b""[..], trimmed),
        };
        let dir = if trimmed.starts_with(b"/") && !dir.starts_with(b"/") {
            &b"/"[..]
        } else {
            dir
        };
        let start = start.unwrap_or(&self.cwd).clone();
        let mut links = 0;
        let parent = if dir.is_empty() {
            start
        } else {
            self.walk(start, dir, true, &mut links)?
        };
        if parent.metadata().kind != InodeType::Dir {
            return_errno!(ENOTDIR);
        }
        kpath::check_name(name).map_err(path_error)?;
        Ok((parent, if name.is_empty() { b"." } else { name }))
    }

    fn walk(
        &self,
        start: Arc<dyn Inode>,
        path: &[u8],
        follow_last: bool,
        links: &mut u32,
    ) -> Result<Arc<dyn Inode>> {
        let cred = crate::process::credentials::current();
        let mut cur = if path.starts_with(b"/") {
            self.root.clone()
        } else {
            start
        };
        let comps: Vec<&[u8]> = components(path).filter(|c| *c != b".").collect();
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            let meta = cur.metadata();
            if meta.kind != InodeType::Dir {
                return_errno!(ENOTDIR);
            }
            if !cred.may_access(&meta, crate::process::credentials::access::X) {
                return_errno!(EACCES);
            }
            kpath::check_name(comp).map_err(path_error)?;
            if *comp == b".." {
                if Arc::ptr_eq(&cur, &self.root) {
                    continue;
                }
                // At the root of a mounted file system, `..` is the parent
                // of the directory it is mounted on.
                while let Some(mp) = mount::mountpoint_of(&cur) {
                    cur = mp;
                }
                if let Some(p) = cur.parent() {
                    cur = p;
                }
                continue;
            }
            let child = cur.lookup(comp)?;
            let child = if child.metadata().kind == InodeType::Symlink && (!last || follow_last) {
                *links += 1;
                if *links > MAX_SYMLINKS {
                    return_errno!(ELOOP);
                }
                let target = child.read_link()?;
                if target.is_empty() {
                    return_errno!(ENOENT);
                }
                self.walk(cur, &target, true, links)?
            } else {
                child
            };
            cur = enter_mounts(child);
        }
        Ok(cur)
    }
}

/// `/` followed by `parts` joined with `/`.
pub fn join_absolute<T: AsRef<[u8]>>(parts: &[T]) -> Vec<u8> {
    let mut s = b"/".to_vec();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push(b'/');
        }
        s.extend_from_slice(p.as_ref());
    }
    s
}

/// The root of whatever is mounted on `dir` (repeatedly), or `dir`.
fn enter_mounts(mut dir: Arc<dyn Inode>) -> Arc<dyn Inode> {
    while let Some(root) = mount::mounted_on(&dir) {
        if Arc::ptr_eq(&root, &dir) {
            break;
        }
        dir = root;
    }
    dir
}

impl Default for FsContext {
    fn default() -> Self {
        Self::new()
    }
}

fn path_error(e: kpath::PathError) -> Error {
    Error::new(Errno(e.errno() as u32))
}
