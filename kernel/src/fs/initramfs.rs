//! Unpacking the initramfs (a newc cpio archive, optionally gzipped) into
//! the root file system. A damaged archive is reported; everything before
//! the damage is kept.

use alloc::string::String;
use alloc::sync::Arc;

use cpio_newc::FileType;

use super::inode::{Inode, InodeType};
use super::ramfs::set_owner_mode;

/// Largest decompressed initramfs accepted.
const MAX_UNPACKED: usize = 1 << 30;

/// Unpacks `data` into `root`.
pub fn unpack(root: &Arc<dyn Inode>, data: &[u8]) {
    let bytes = match cpio_newc::decompress(data, MAX_UNPACKED) {
        Ok(b) => b,
        Err(e) => {
            log::error!("initramfs: cannot decompress ({e:?}); the root file system is empty");
            return;
        }
    };
    let (mut files, mut dirs, mut links) = (0, 0, 0);
    // Directories' modification times, set again at the end: adding
    // their entries moved them (Linux's `dir_utime`).
    let mut dir_times = alloc::vec::Vec::new();
    for entry in cpio_newc::entries(&bytes) {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                log::error!("initramfs: damaged archive ({e:?}); keeping what came before");
                break;
            }
        };
        let (parent, name) = match make_parents(root, entry.name) {
            Some(p) => p,
            None => {
                log::warn!("initramfs: skipping {:?}: bad parent", entry.name);
                continue;
            }
        };
        let mode = entry.permissions();
        let node = match entry.file_type() {
            FileType::Directory => {
                dirs += 1;
                match parent.lookup(name.as_bytes()) {
                    Ok(existing) if existing.metadata().kind == InodeType::Dir => Ok(existing),
                    _ => parent.create(name.as_bytes(), InodeType::Dir, mode),
                }
            }
            FileType::Regular => {
                files += 1;
                parent
                    .create(name.as_bytes(), InodeType::File, mode)
                    .and_then(|f| {
                        f.write_at(0, entry.data)?;
                        Ok(f)
                    })
            }
            FileType::Symlink => {
                links += 1;
                parent.symlink(name.as_bytes(), entry.data)
            }
            other => {
                log::debug!("initramfs: skipping {:?} ({other:?})", entry.name);
                continue;
            }
        };
        match node {
            Ok(n) => {
                set_owner_mode(&n, entry.uid, entry.gid, mode, entry.mtime as u64);
                if n.metadata().kind == InodeType::Dir && dir_times.try_reserve(1).is_ok() {
                    dir_times.push((n, entry.mtime as u64));
                }
            }
            Err(e) => log::warn!("initramfs: cannot create {:?}: {e:?}", entry.name),
        }
    }
    for (dir, mtime) in dir_times {
        super::ramfs::set_mtime_of(&dir, mtime);
    }
    log::info!("initramfs: {files} files, {dirs} directories, {links} symlinks");
}

/// Creates the missing directories of `path`; returns the parent and the
/// last name.
fn make_parents<'a>(root: &Arc<dyn Inode>, path: &'a str) -> Option<(Arc<dyn Inode>, &'a str)> {
    let path = path.trim_matches('/');
    let (dirs, name) = match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    };
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    let mut cur = root.clone();
    for comp in dirs.split('/').filter(|c| !c.is_empty()) {
        if comp == "." || comp == ".." {
            return None;
        }
        cur = match cur.lookup(comp.as_bytes()) {
            Ok(n) if n.metadata().kind == InodeType::Dir => n,
            Ok(_) => return None,
            Err(_) => cur.create(comp.as_bytes(), InodeType::Dir, 0o755).ok()?,
        };
    }
    let _ = String::new();
    Some((cur, name))
}
