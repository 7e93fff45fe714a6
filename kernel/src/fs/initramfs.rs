//! Unpacking the initramfs (newc cpio archives, optionally gzipped) into
//! the root file system, as a stream. A damaged archive is reported;
//! everything before the damage is kept.

use alloc::sync::Arc;
use alloc::vec::Vec;

use cpio_newc::{FileType, Header, Sink};

use super::inode::{Inode, InodeType};
use super::ramfs::set_owner_mode;

/// Unpacks `data` into `root`, streaming: files are written as the archive
/// is decompressed, so an image needs little memory besides its files.
pub fn unpack(root: &Arc<dyn Inode>, data: &[u8]) {
    // Nothing unpacked can be larger than memory.
    let limit = ostd::mm::total_frames().saturating_mul(ostd::mm::PAGE_SIZE);
    let mut u = Unpacker {
        root: root.clone(),
        current: None,
        counts: [0; 3],
        dir_times: Vec::new(),
    };
    if let Err(e) = cpio_newc::unpack(data, &mut u, limit) {
        log::error!("initramfs: damaged archive ({e}); keeping what came before");
    }
    // Adding entries moved the directories' modification times: they get
    // the archive's again (Linux's `dir_utime`).
    for (dir, mtime) in u.dir_times {
        super::ramfs::set_mtime_of(&dir, mtime);
    }
    let [files, dirs, links] = u.counts;
    log::info!("initramfs: {files} files, {dirs} directories, {links} symlinks");
}

/// The member being unpacked.
struct Current {
    /// Where it goes; `None` once it failed (the rest of its data is
    /// skipped).
    parent: Option<Arc<dyn Inode>>,
    name: Vec<u8>,
    kind: FileType,
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: u64,
    /// A regular file, created at `begin`, and how much was written.
    file: Option<Arc<dyn Inode>>,
    written: u64,
    /// A symlink's target, collected until `end`.
    target: Vec<u8>,
}

struct Unpacker {
    root: Arc<dyn Inode>,
    current: Option<Current>,
    /// Files, directories and symlinks made.
    counts: [usize; 3],
    /// The directories made, with their modification times.
    dir_times: Vec<(Arc<dyn Inode>, u64)>,
}

impl Unpacker {
    fn name_of(c: &Current) -> &str {
        core::str::from_utf8(&c.name).unwrap_or("?")
    }
}

impl Sink for Unpacker {
    fn begin(&mut self, h: &Header<'_>) {
        let parent = make_parents(&self.root, h.name);
        let name = parent.as_ref().map_or(h.name, |(_, n)| n);
        let mut c = Current {
            parent: parent.as_ref().map(|(p, _)| p.clone()),
            name: name.as_bytes().to_vec(),
            kind: h.file_type(),
            uid: h.uid,
            gid: h.gid,
            mode: h.permissions(),
            mtime: h.mtime as u64,
            file: None,
            written: 0,
            target: Vec::new(),
        };
        if c.parent.is_none() {
            log::warn!("initramfs: skipping {:?}: bad parent", h.name);
        } else if c.kind == FileType::Regular {
            let created = c
                .parent
                .as_ref()
                .map(|p| p.create(name.as_bytes(), InodeType::File, c.mode));
            match created {
                Some(Ok(f)) => c.file = Some(f),
                Some(Err(e)) => {
                    log::warn!("initramfs: cannot create {:?}: {e:?}", h.name);
                    c.parent = None;
                }
                None => {}
            }
        }
        self.current = Some(c);
    }

    fn data(&mut self, chunk: &[u8]) {
        let Some(c) = self.current.as_mut() else {
            return;
        };
        match c.kind {
            FileType::Regular => {
                if let Some(f) = &c.file {
                    match f.write_at(c.written, chunk) {
                        Ok(n) if n == chunk.len() => c.written += n as u64,
                        r => {
                            log::warn!("initramfs: cannot write {:?}: {r:?}", Self::name_of(c));
                            c.file = None;
                            c.parent = None;
                        }
                    }
                }
            }
            // A target longer than `PATH_MAX` is refused at `end`.
            FileType::Symlink if c.target.len() <= cpio_newc::MAX_NAME => {
                let room = (cpio_newc::MAX_NAME + 1 - c.target.len()).min(chunk.len());
                c.target
                    .extend_from_slice(chunk.get(..room).unwrap_or_default());
            }
            _ => {}
        }
    }

    fn end(&mut self) {
        let Some(c) = self.current.take() else {
            return;
        };
        let Some(parent) = &c.parent else {
            return;
        };
        let name = Self::name_of(&c);
        let node = match c.kind {
            FileType::Directory => {
                self.counts[1] += 1;
                match parent.lookup(&c.name) {
                    Ok(existing) if existing.metadata().kind == InodeType::Dir => Ok(existing),
                    _ => parent.create(&c.name, InodeType::Dir, c.mode),
                }
            }
            FileType::Regular => {
                self.counts[0] += 1;
                match c.file.clone() {
                    Some(f) => Ok(f),
                    None => return,
                }
            }
            FileType::Symlink => {
                self.counts[2] += 1;
                if c.target.len() > cpio_newc::MAX_NAME {
                    log::warn!("initramfs: skipping {name:?}: link target too long");
                    return;
                }
                parent.symlink(&c.name, &c.target)
            }
            other => {
                log::debug!("initramfs: skipping {name:?} ({other:?})");
                return;
            }
        };
        match node {
            Ok(n) => {
                set_owner_mode(&n, c.uid, c.gid, c.mode, c.mtime);
                if c.kind == FileType::Directory && self.dir_times.try_reserve(1).is_ok() {
                    self.dir_times.push((n, c.mtime));
                }
            }
            Err(e) => log::warn!("initramfs: cannot create {name:?}: {e:?}"),
        }
    }
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
    Some((cur, name))
}
