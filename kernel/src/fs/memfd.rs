//! `memfd_create(2)`: an anonymous RAM file, with file seals
//! (`F_ADD_SEALS`, `F_GET_SEALS`).
//!
//! A memfd is a RAM-fs regular file that is in no directory: it lives as
//! long as a descriptor or a mapping refers to it, and `/proc/PID/fd`
//! shows it as `/memfd:NAME (deleted)`. Seals restrict what anyone may do
//! with it from then on: `F_SEAL_SHRINK` and `F_SEAL_GROW` fix the size,
//! `F_SEAL_WRITE` forbids writing (also through shared mappings),
//! `F_SEAL_FUTURE_WRITE` forbids new ways to write, `F_SEAL_EXEC` fixes
//! the execute bits, and `F_SEAL_SEAL` forbids more seals. Forbidden
//! operations fail with `EPERM`, as on Linux.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::time::Duration;

use ostd::mm::PAGE_SIZE;
use ostd::sync::Mutex;

use super::file::{FileLike, OpenFile, flags};
use super::inode::{FsStats, Inode, Metadata};
use super::ramfs::RamInode;
use crate::prelude::*;
use crate::vm::Vmo;

/// `F_SEAL_*` bits.
#[allow(missing_docs)]
pub mod seals {
    pub const F_SEAL_SEAL: u32 = 0x1;
    pub const F_SEAL_SHRINK: u32 = 0x2;
    pub const F_SEAL_GROW: u32 = 0x4;
    pub const F_SEAL_WRITE: u32 = 0x8;
    pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
    pub const F_SEAL_EXEC: u32 = 0x20;
    pub const ALL: u32 = 0x3f;
}
use seals::*;

/// `memfd_create` flags.
#[allow(missing_docs)]
pub mod mfd {
    pub const MFD_CLOEXEC: u32 = 0x1;
    pub const MFD_ALLOW_SEALING: u32 = 0x2;
    pub const MFD_HUGETLB: u32 = 0x4;
    pub const MFD_NOEXEC_SEAL: u32 = 0x8;
    pub const MFD_EXEC: u32 = 0x10;
}

/// Longest name (Linux's `MFD_NAME_MAX_LEN`: `NAME_MAX` less `memfd:`).
pub const NAME_MAX: usize = 249;

/// The inode of a memfd: a RAM-fs file and its seals.
pub struct MemFdInode {
    file: Arc<RamInode>,
    /// Held across every operation a seal may forbid, so that a seal
    /// added meanwhile either sees it done or stops it.
    seals: Mutex<u32>,
}

/// Creates a memfd named `name` with `memfd_create`'s `flags` (already
/// checked): an open file for reading and writing. Without
/// `MFD_ALLOW_SEALING` it is sealed with `F_SEAL_SEAL`; with
/// `MFD_NOEXEC_SEAL` it has no execute bits, and `F_SEAL_EXEC`.
pub fn create(name: &str, flags: u32) -> Result<Arc<dyn FileLike>> {
    let noexec = flags & mfd::MFD_NOEXEC_SEAL != 0;
    let file = RamInode::new_unlinked_file(if noexec { 0o666 } else { 0o777 })?;
    let initial = if noexec {
        F_SEAL_EXEC
    } else if flags & mfd::MFD_ALLOW_SEALING != 0 {
        0
    } else {
        F_SEAL_SEAL
    };
    let inode: Arc<dyn Inode> = Arc::new(MemFdInode {
        file,
        seals: Mutex::new(initial),
    });
    Ok(OpenFile::new(
        inode,
        format!("/memfd:{name} (deleted)").into_bytes(),
        flags::O_RDWR | flags::O_LARGEFILE,
    ))
}

/// `F_GET_SEALS`: the seals of a memfd; other RAM-fs files count as
/// sealed with `F_SEAL_SEAL` (they are shmem files on Linux); anything
/// else is `EINVAL`.
pub fn get_seals(file: &Arc<dyn FileLike>) -> Result<u32> {
    let inode = file.inode().ok_or(Error::new(EINVAL))?;
    if let Some(m) = inode.as_any().downcast_ref::<MemFdInode>() {
        return Ok(*m.seals.lock());
    }
    if inode.as_any().is::<RamInode>() {
        return Ok(F_SEAL_SEAL);
    }
    return_errno!(EINVAL)
}

/// `F_ADD_SEALS`, with the checks of Linux's `memfd_add_seals`: `EPERM`
/// if the file is not open for writing or already has `F_SEAL_SEAL`,
/// `EINVAL` for unknown seals or a file that cannot have seals, `EBUSY`
/// for `F_SEAL_WRITE` while a shared mapping exists (Linux counts every
/// shared mapping that could be made writable with `mprotect`).
pub fn add_seals(file: &Arc<dyn FileLike>, new: u32) -> Result<()> {
    let f = file.status_flags();
    if f & flags::O_ACCMODE == flags::O_RDONLY || f & flags::O_PATH != 0 {
        return_errno!(EPERM);
    }
    if new & !ALL != 0 {
        return_errno!(EINVAL);
    }
    let inode = file.inode().ok_or(Error::new(EINVAL))?;
    let Some(m) = inode.as_any().downcast_ref::<MemFdInode>() else {
        if inode.as_any().is::<RamInode>() {
            return_errno!(EPERM);
        }
        return_errno!(EINVAL)
    };
    let mut seals = m.seals.lock();
    if *seals & F_SEAL_SEAL != 0 {
        return_errno!(EPERM);
    }
    let vmo = m.file.vmo();
    if new & F_SEAL_WRITE != 0
        && *seals & F_SEAL_WRITE == 0
        && let Some(vmo) = &vmo
    {
        // Forbidden first, then looked for: a mapping made meanwhile is
        // either found or refused (see `Vmar::map`).
        let was_denied = vmo.shared_write_denied();
        vmo.set_shared_write_denied(true);
        if mapped_shared(vmo) {
            vmo.set_shared_write_denied(was_denied);
            return_errno_with_message!(EBUSY, "the memfd has shared mappings");
        }
    }
    let mut new = new;
    // F_SEAL_EXEC on an executable file implies the write seals (W^X).
    if new & F_SEAL_EXEC != 0 && m.file.metadata().mode & 0o111 != 0 {
        new |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
    }
    *seals |= new;
    if *seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0
        && let Some(vmo) = &vmo
    {
        vmo.set_shared_write_denied(true);
    }
    Ok(())
}

/// Whether some process maps `vmo` shared.
fn mapped_shared(vmo: &Arc<Vmo>) -> bool {
    let vmars: Vec<_> = crate::process::all_processes()
        .iter()
        .map(|p| p.vmar())
        .collect();
    vmars.iter().any(|v| v.maps_shared(vmo))
}

impl MemFdInode {
    /// How much of a write of `len` bytes at `offset` the seals allow
    /// (`EPERM` if none). Linux checks a write page by page: with
    /// `F_SEAL_GROW`, the pages that stay within the file are written and
    /// the write comes back short at the first that would not.
    fn writable_len(seals: u32, offset: u64, len: usize, size: u64) -> Result<usize> {
        if seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            return_errno_with_message!(EPERM, "the memfd is sealed against writing");
        }
        let stop = offset.saturating_add(len as u64);
        if seals & F_SEAL_GROW == 0 || stop <= size {
            return Ok(len);
        }
        let page = PAGE_SIZE as u64;
        let mut end = offset;
        while end < stop {
            let chunk_end = (end / page + 1).saturating_mul(page).min(stop);
            if chunk_end > size {
                break;
            }
            end = chunk_end;
        }
        if end == offset {
            return_errno_with_message!(EPERM, "the memfd is sealed against growing");
        }
        Ok((end - offset) as usize)
    }
}

impl Inode for MemFdInode {
    fn metadata(&self) -> Metadata {
        self.file.metadata()
    }

    fn xattrs(&self) -> Option<&super::xattr::Xattrs> {
        self.file.xattrs()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.file.read_at(offset, buf)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        let seals = self.seals.lock();
        let size = self.file.metadata().size;
        let len = Self::writable_len(*seals, offset, buf.len(), size)?;
        self.file.write_at(offset, &buf[..len])
    }

    fn resize(&self, new: u64) -> Result<()> {
        let seals = self.seals.lock();
        let size = self.file.metadata().size;
        if (new < size && *seals & F_SEAL_SHRINK != 0) || (new > size && *seals & F_SEAL_GROW != 0)
        {
            return_errno_with_message!(EPERM, "the memfd is sealed against resizing");
        }
        self.file.resize(new)
    }

    fn allocate(&self, offset: u64, len: u64, keep_size: bool, punch_hole: bool) -> Result<()> {
        let seals = self.seals.lock();
        if punch_hole {
            if *seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
                return_errno!(EPERM);
            }
        } else if *seals & F_SEAL_GROW != 0
            && offset.saturating_add(len) > self.file.metadata().size
        {
            return_errno!(EPERM);
        }
        self.file.allocate(offset, len, keep_size, punch_hole)
    }

    fn vmo(&self) -> Option<Arc<Vmo>> {
        self.file.vmo()
    }

    fn set_mode(&self, mode: u32) -> Result<()> {
        let seals = self.seals.lock();
        if *seals & F_SEAL_EXEC != 0 && (mode ^ self.file.metadata().mode) & 0o111 != 0 {
            return_errno_with_message!(EPERM, "the memfd is sealed against mode changes");
        }
        self.file.set_mode(mode)
    }

    fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        self.file.set_owner(uid, gid)
    }

    fn set_times(&self, atime: Option<Duration>, mtime: Option<Duration>) -> Result<()> {
        self.file.set_times(atime, mtime)
    }

    fn fs_stats(&self) -> FsStats {
        self.file.fs_stats()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Reads `memfd_create`'s name argument: at most [`NAME_MAX`] bytes
/// (`EINVAL` beyond), as UTF-8 with invalid bytes replaced.
pub fn name_from_bytes(bytes: &[u8]) -> Result<String> {
    if bytes.len() > NAME_MAX {
        return_errno!(EINVAL);
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(feature = "ktest")]
mod test {
    use ostd::prelude::ktest;

    use super::*;

    #[ktest]
    fn grow_seal_cuts_writes_at_pages() {
        let grow = F_SEAL_GROW;
        assert_eq!(MemFdInode::writable_len(0, 0, 10, 0).unwrap(), 10);
        assert_eq!(MemFdInode::writable_len(grow, 0, 10, 100).unwrap(), 10);
        // Across the end inside one page: nothing.
        assert_eq!(
            MemFdInode::writable_len(grow, 95, 10, 100)
                .unwrap_err()
                .errno(),
            EPERM
        );
        // Across the end and a page boundary: the whole pages inside.
        assert_eq!(MemFdInode::writable_len(grow, 4090, 20, 4096).unwrap(), 6);
        assert_eq!(
            MemFdInode::writable_len(F_SEAL_WRITE, 0, 1, 4096)
                .unwrap_err()
                .errno(),
            EPERM
        );
    }

    #[ktest]
    fn seals_forbid_what_they_say() {
        let f = create("k", mfd::MFD_ALLOW_SEALING).unwrap();
        assert_eq!(get_seals(&f).unwrap(), 0);
        assert_eq!(f.write(b"abc").unwrap(), 3);
        add_seals(&f, F_SEAL_SHRINK | F_SEAL_GROW).unwrap();
        let inode = f.inode().unwrap();
        assert_eq!(inode.resize(1).unwrap_err().errno(), EPERM);
        assert_eq!(inode.resize(8).unwrap_err().errno(), EPERM);
        assert_eq!(add_seals(&f, 0x40).unwrap_err().errno(), EINVAL);
        add_seals(&f, F_SEAL_WRITE | F_SEAL_SEAL).unwrap();
        assert_eq!(f.write_at(0, b"x").unwrap_err().errno(), EPERM);
        assert_eq!(add_seals(&f, F_SEAL_EXEC).unwrap_err().errno(), EPERM);
        assert!(inode.vmo().unwrap().shared_write_denied());
        let sealed = create("s", 0).unwrap();
        assert_eq!(get_seals(&sealed).unwrap(), F_SEAL_SEAL);
    }
}
