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
pub mod sysfs;
pub mod timerfd;
pub mod tty;

use alloc::string::{String, ToString};
use alloc::sync::Arc;

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
    /// Absolute path of the working directory.
    pub cwd_path: String,
    /// The file mode creation mask.
    pub umask: u32,
}

impl FsContext {
    /// Root and working directory at `/`.
    pub fn new() -> Self {
        Self {
            root: root(),
            cwd: root(),
            cwd_path: "/".to_string(),
            umask: 0o022,
        }
    }

    /// Resolves `path` relative to `start` (or the working directory).
    pub fn lookup(
        &self,
        start: Option<&Arc<dyn Inode>>,
        path: &str,
        follow: bool,
    ) -> Result<Arc<dyn Inode>> {
        kpath::check_path(path.as_bytes()).map_err(path_error)?;
        if path.is_empty() {
            return_errno!(ENOENT);
        }
        Ok(self.lookup_for_open(start, path, follow)?.0)
    }

    /// Like [`lookup`](Self::lookup), and also tells whether the last step
    /// went through a descriptor's magic link (`/proc/PID/fd/N`, also
    /// reached as `/dev/stdout`, ...): then it gives what that descriptor's
    /// file shows as its path, which a file opened this way shows too.
    pub fn lookup_for_open(
        &self,
        start: Option<&Arc<dyn Inode>>,
        path: &str,
        follow: bool,
    ) -> Result<(Arc<dyn Inode>, Option<String>)> {
        kpath::check_path(path.as_bytes()).map_err(path_error)?;
        if path.is_empty() {
            return_errno!(ENOENT);
        }
        let mut walk = Walk {
            links: 0,
            magic_path: None,
        };
        let start = start.unwrap_or(&self.cwd).clone();
        // A trailing slash makes the last component a directory, so a
        // symlink there is always followed.
        let follow = follow || path.ends_with('/');
        let node = self.walk(start, path, follow, &mut walk)?;
        if path.ends_with('/') && node.metadata().kind != InodeType::Dir {
            return_errno!(ENOTDIR);
        }
        Ok((node, walk.magic_path))
    }

    /// The absolute path of `path` with `.`, `..` and symbolic links
    /// resolved, as `realpath(3)` gives (for `/proc/PID/exe`).
    pub fn canonical_path(&self, path: &str) -> Result<String> {
        let mut parts: alloc::vec::Vec<String> = if path.starts_with('/') {
            alloc::vec::Vec::new()
        } else {
            self.cwd_path
                .split('/')
                .filter(|c| !c.is_empty())
                .map(|c| c.to_string())
                .collect()
        };
        let mut pending: alloc::collections::VecDeque<String> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .map(|c| c.to_string())
            .collect();
        let mut links = 0;
        while let Some(comp) = pending.pop_front() {
            match comp.as_str() {
                "." => continue,
                ".." => {
                    parts.pop();
                    continue;
                }
                _ => {}
            }
            let mut here = String::from("/");
            here.push_str(&parts.join("/"));
            let dir = self.lookup(None, &here, true)?;
            let node = dir.lookup(&comp)?;
            if node.metadata().kind == InodeType::Symlink {
                links += 1;
                if links > MAX_SYMLINKS {
                    return_errno!(ELOOP);
                }
                let target = node.read_link()?;
                if target.starts_with('/') {
                    parts.clear();
                }
                for (i, c) in target.split('/').filter(|c| !c.is_empty()).enumerate() {
                    pending.insert(i, c.to_string());
                }
            } else {
                parts.push(comp);
            }
        }
        let mut s = String::from("/");
        s.push_str(&parts.join("/"));
        Ok(s)
    }

    /// Resolves all but the last component of `path`: returns the
    /// directory and the last name (`"."` for a path like `/`).
    pub fn lookup_parent<'p>(
        &self,
        start: Option<&Arc<dyn Inode>>,
        path: &'p str,
    ) -> Result<(Arc<dyn Inode>, &'p str)> {
        kpath::check_path(path.as_bytes()).map_err(path_error)?;
        if path.is_empty() {
            return_errno!(ENOENT);
        }
        let trimmed = path.trim_end_matches('/');
        if trimmed.is_empty() {
            // "/" (or "//"): the root itself, which always exists.
            return Ok((self.root.clone(), "."));
        }
        let (dir, name) = match trimmed.rfind('/') {
            Some(i) => (&trimmed[..i.max(1).min(trimmed.len())], &trimmed[i + 1..]),
            None => ("", trimmed),
        };
        let dir = if trimmed.starts_with('/') && !dir.starts_with('/') {
            "/"
        } else {
            dir
        };
        let start = start.unwrap_or(&self.cwd).clone();
        let mut walk = Walk {
            links: 0,
            magic_path: None,
        };
        let parent = if dir.is_empty() {
            start
        } else {
            self.walk(start, dir, true, &mut walk)?
        };
        if parent.metadata().kind != InodeType::Dir {
            return_errno!(ENOTDIR);
        }
        kpath::check_name(name.as_bytes()).map_err(path_error)?;
        Ok((parent, if name.is_empty() { "." } else { name }))
    }

    fn walk(
        &self,
        start: Arc<dyn Inode>,
        path: &str,
        follow_last: bool,
        walk: &mut Walk,
    ) -> Result<Arc<dyn Inode>> {
        let cred = crate::process::credentials::current();
        let mut cur = if path.starts_with('/') {
            self.root.clone()
        } else {
            start
        };
        let comps: alloc::vec::Vec<&str> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            let meta = cur.metadata();
            if meta.kind != InodeType::Dir {
                return_errno!(ENOTDIR);
            }
            if !cred.may_access(&meta, crate::process::credentials::access::X) {
                return_errno!(EACCES);
            }
            kpath::check_name(comp.as_bytes()).map_err(path_error)?;
            walk.magic_path = None;
            if *comp == ".." {
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
                walk.links += 1;
                if walk.links > MAX_SYMLINKS {
                    return_errno!(ELOOP);
                }
                if let Some(found) = procfs::magic_link(&child) {
                    // Not a path but the open file itself (Linux's
                    // `nd_jump_link`).
                    let (node, path) = found?;
                    walk.magic_path = Some(path);
                    node
                } else {
                    let target = child.read_link()?;
                    if target.is_empty() {
                        return_errno!(ENOENT);
                    }
                    self.walk(cur, &target, true, walk)?
                }
            } else {
                child
            };
            cur = enter_mounts(child);
        }
        Ok(cur)
    }
}

/// The state of one path resolution.
struct Walk {
    /// Symbolic links followed so far.
    links: u32,
    /// Set when the last step went through a magic link: the path of the
    /// file it led to.
    magic_path: Option<String>,
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
