//! The inode interface every file system implements.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::time::Duration;

use crate::fs::file::FileLike;
use crate::prelude::*;
use crate::vm::Vmo;

/// What `statfs` reports of a file system: its type, and 4 KiB blocks
/// and inodes, in total and free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsStats {
    /// `f_type`.
    pub magic: u64,
    /// `f_blocks`.
    pub blocks: u64,
    /// `f_bfree` (and `f_bavail`).
    pub blocks_free: u64,
    /// `f_files`.
    pub files: u64,
    /// `f_ffree`.
    pub files_free: u64,
}

impl FsStats {
    /// A file system that holds no data of its own (`proc`, `devtmpfs`):
    /// all sizes zero, as Linux reports them.
    pub fn pseudo(magic: u64) -> Self {
        Self {
            magic,
            blocks: 0,
            blocks_free: 0,
            files: 0,
            files_free: 0,
        }
    }
}

/// Type of an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InodeType {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// Socket.
    Socket,
}

impl InodeType {
    /// The `S_IF*` bits.
    pub fn mode_bits(self) -> u32 {
        use linux_raw_sys::general::*;
        match self {
            Self::File => S_IFREG,
            Self::Dir => S_IFDIR,
            Self::Symlink => S_IFLNK,
            Self::CharDevice => S_IFCHR,
            Self::BlockDevice => S_IFBLK,
            Self::Fifo => S_IFIFO,
            Self::Socket => S_IFSOCK,
        }
    }

    /// From `S_IF*` bits.
    pub fn from_mode(mode: u32) -> Option<Self> {
        use linux_raw_sys::general::*;
        Some(match mode & S_IFMT {
            S_IFREG => Self::File,
            S_IFDIR => Self::Dir,
            S_IFLNK => Self::Symlink,
            S_IFCHR => Self::CharDevice,
            S_IFBLK => Self::BlockDevice,
            S_IFIFO => Self::Fifo,
            S_IFSOCK => Self::Socket,
            _ => return None,
        })
    }

    /// The `DT_*` value for `getdents64`.
    pub fn dirent_type(self) -> u8 {
        match self {
            Self::Fifo => 1,
            Self::CharDevice => 2,
            Self::Dir => 4,
            Self::BlockDevice => 6,
            Self::File => 8,
            Self::Symlink => 10,
            Self::Socket => 12,
        }
    }
}

/// What `stat` reports.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// Inode number.
    pub ino: u64,
    /// Device of the file system.
    pub dev: u64,
    /// Type.
    pub kind: InodeType,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Device number, for device files.
    pub rdev: u64,
    /// Last access.
    pub atime: Duration,
    /// Last modification.
    pub mtime: Duration,
    /// Last status change.
    pub ctime: Duration,
    /// 512-byte blocks used.
    pub blocks: u64,
}

impl Metadata {
    /// Metadata of an object that lives in no file system (a pipe, an
    /// epoll instance, the console), owned by root, with times of now.
    pub fn anonymous(ino: u64, dev: u64, kind: InodeType, mode: u32, rdev: u64) -> Metadata {
        let now = ostd::timer::wall_clock();
        Metadata {
            ino,
            dev,
            kind,
            mode,
            nlink: 1,
            uid: 0,
            gid: 0,
            size: 0,
            rdev,
            atime: now,
            mtime: now,
            ctime: now,
            blocks: 0,
        }
    }
}

/// The next inode number of an object of a pseudo file system (pipes,
/// sockets): one counter for all of them, as Linux's `get_next_ino`, so
/// the numbers look like Linux's (`pipe:[40123]`).
pub fn next_pseudo_ino() -> u64 {
    static NEXT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(4096);
    NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// An inode. Methods a file system does not support return the errno
/// Linux gives for them.
///
/// Names and paths are byte strings, as on Linux: every byte but `/` and
/// NUL may appear in a name, whatever its encoding.
pub trait Inode: Send + Sync + Any {
    /// Metadata.
    fn metadata(&self) -> Metadata;

    /// Reads at `offset`; returns the bytes read (0 at end of file).
    fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        match self.metadata().kind {
            InodeType::Dir => return_errno!(EISDIR),
            _ => return_errno!(EINVAL),
        }
    }

    /// Writes at `offset`; returns the bytes written.
    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        match self.metadata().kind {
            InodeType::Dir => return_errno!(EISDIR),
            _ => return_errno!(EINVAL),
        }
    }

    /// Sets the size (`truncate`).
    fn resize(&self, _size: u64) -> Result<()> {
        return_errno!(EINVAL)
    }

    /// `fallocate`: makes `[offset, offset + len)` backed by memory (and,
    /// unless `keep_size`, part of the file); `ENOSPC` past the file
    /// system's limit. With `punch_hole`, frees the range instead (it reads
    /// as zeros). File systems without the operation: `EOPNOTSUPP`.
    fn allocate(&self, _offset: u64, _len: u64, _keep_size: bool, _punch_hole: bool) -> Result<()> {
        return_errno!(EOPNOTSUPP)
    }

    /// The memory object holding the contents, for `mmap`.
    fn vmo(&self) -> Option<Arc<Vmo>> {
        None
    }

    /// Finds a child of a directory.
    fn lookup(&self, _name: &[u8]) -> Result<Arc<dyn Inode>> {
        return_errno!(ENOTDIR)
    }

    /// The parent directory (a directory's `..`); `None` for a root.
    fn parent(&self) -> Option<Arc<dyn Inode>> {
        None
    }

    /// Creates a child.
    fn create(&self, _name: &[u8], _kind: InodeType, _mode: u32) -> Result<Arc<dyn Inode>> {
        return_errno!(ENOTDIR)
    }

    /// Creates a symbolic link.
    fn symlink(&self, _name: &[u8], _target: &[u8]) -> Result<Arc<dyn Inode>> {
        return_errno!(ENOTDIR)
    }

    /// Lists a directory: `(name, ino, type)` without `.` and `..`.
    fn readdir(&self) -> Result<Vec<(Vec<u8>, u64, InodeType)>> {
        return_errno!(ENOTDIR)
    }

    /// The target of a symbolic link.
    fn read_link(&self) -> Result<Vec<u8>> {
        return_errno!(EINVAL)
    }

    /// Removes a non-directory entry.
    fn unlink(&self, _name: &[u8]) -> Result<()> {
        return_errno!(ENOTDIR)
    }

    /// Removes an empty directory.
    fn rmdir(&self, _name: &[u8]) -> Result<()> {
        return_errno!(ENOTDIR)
    }

    /// Adds a hard link `name` to `target` (same file system).
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<()> {
        return_errno!(ENOTDIR)
    }

    /// Moves entry `old` of this directory to `new` in `new_dir` (same file
    /// system), replacing a compatible existing entry.
    fn rename(&self, _old: &[u8], _new_dir: &Arc<dyn Inode>, _new: &[u8]) -> Result<()> {
        return_errno!(ENOTDIR)
    }

    /// Swaps entry `old` of this directory with entry `new` of `new_dir`
    /// (`renameat2` with `RENAME_EXCHANGE`); both must exist.
    fn exchange(&self, _old: &[u8], _new_dir: &Arc<dyn Inode>, _new: &[u8]) -> Result<()> {
        return_errno!(EINVAL)
    }

    /// The extended attributes, for file systems that keep them (`None`:
    /// `EOPNOTSUPP`).
    fn xattrs(&self) -> Option<&super::xattr::Xattrs> {
        None
    }

    /// Whether the file system holding this inode is mounted read-only
    /// (every change is then `EROFS`).
    fn read_only(&self) -> bool {
        false
    }

    /// Changes the permission bits.
    fn set_mode(&self, _mode: u32) -> Result<()> {
        return_errno!(EPERM)
    }

    /// Changes the owner (`None` keeps a field).
    fn set_owner(&self, _uid: Option<u32>, _gid: Option<u32>) -> Result<()> {
        return_errno!(EPERM)
    }

    /// Changes the access and modification times (`None` keeps a field).
    fn set_times(&self, _atime: Option<Duration>, _mtime: Option<Duration>) -> Result<()> {
        return_errno!(EPERM)
    }

    /// Opens a special file (a device, a FIFO, a procfs file generated on
    /// open) as something other than a plain inode-backed file; `None` for
    /// ordinary files. `flags` are the `open` flags.
    fn open_special(&self, _flags: u32) -> Option<Result<Arc<dyn FileLike>>> {
        None
    }

    /// File-system statistics (`statfs`).
    fn fs_stats(&self) -> FsStats {
        FsStats::pseudo(0x858458f6) // RAMFS_MAGIC
    }

    /// For downcasting.
    fn as_any(&self) -> &dyn Any;
}

/// Copies the part of `data` from `offset` on into `buf`, as a read of a
/// file whose contents are `data` (generated files of procfs and sysfs);
/// returns the bytes copied, 0 at or past the end.
pub fn read_from(data: &[u8], offset: u64, buf: &mut [u8]) -> usize {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let n = buf.len().min(data.len() - start);
    buf[..n].copy_from_slice(&data[start..start + n]);
    n
}
