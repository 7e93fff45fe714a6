//! `devpts`: the slaves of the pseudo-terminals, as `/dev/pts/N`.
//!
//! There is one instance, like Linux's initial devpts: every mount of
//! type `devpts` shows the same pseudo-terminals, those made by opening
//! `/dev/ptmx` (or `/dev/pts/ptmx`). The root lists `ptmx` and one
//! character device per pseudo-terminal whose master is open (see
//! [`pty`](super::tty::pty)).

use alloc::format;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::time::Duration;

use ostd::sync::{Mutex, SpinLock};

use super::file::FileLike;
use super::inode::{FsStats, Inode, InodeType, Metadata};
use super::tty::pty::{self, DEVPTS_DEV, Pty};
use crate::prelude::*;

/// `DEVPTS_SUPER_MAGIC`.
const DEVPTS_MAGIC: u64 = 0x1cd1;
/// Inode numbers of the root and of `ptmx` (the slaves use N + 3).
const ROOT_INO: u64 = 1;
const PTMX_INO: u64 = 2;

static ROOT: SpinLock<Option<Arc<DevPtsRoot>>> = SpinLock::new(None);

/// The root of devpts (the one instance, made on first use).
pub fn root() -> Arc<dyn Inode> {
    let mut r = ROOT.lock();
    let root = r.get_or_insert_with(|| {
        Arc::new_cyclic(|this: &Weak<DevPtsRoot>| DevPtsRoot {
            this: this.clone(),
            ptmx: Arc::new(PtmxNode {
                mode: Mutex::new(0),
            }),
            ctime: ostd::timer::wall_clock(),
        })
    });
    root.clone()
}

/// The devpts root directory.
pub struct DevPtsRoot {
    this: Weak<DevPtsRoot>,
    ptmx: Arc<PtmxNode>,
    ctime: Duration,
}

impl Inode for DevPtsRoot {
    fn metadata(&self) -> Metadata {
        Metadata {
            nlink: 2,
            size: 0,
            atime: self.ctime,
            mtime: self.ctime,
            ctime: self.ctime,
            ..Metadata::anonymous(ROOT_INO, DEVPTS_DEV, InodeType::Dir, 0o755, 0)
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        match name {
            b"." | b".." => Ok(self.this.upgrade().ok_or(Error::new(ENOENT))?),
            b"ptmx" => Ok(self.ptmx.clone()),
            _ => {
                // Only canonical decimal numbers name a slave.
                if name.len() > 1 && name.starts_with(b"0") {
                    return_errno!(ENOENT);
                }
                let index: u32 = core::str::from_utf8(name)
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .ok_or(Error::new(ENOENT))?;
                let pty = pty::find(index).ok_or(Error::new(ENOENT))?;
                Ok(Arc::new(SlaveNode { pty }))
            }
        }
    }

    fn create(&self, _name: &[u8], _kind: InodeType, _mode: u32) -> Result<Arc<dyn Inode>> {
        return_errno!(EACCES)
    }

    fn readdir(&self) -> Result<Vec<(Vec<u8>, u64, InodeType)>> {
        let mut v = Vec::new();
        v.push((b"ptmx".to_vec(), PTMX_INO, InodeType::CharDevice));
        for i in pty::indices() {
            v.push((
                format!("{i}").into_bytes(),
                i as u64 + 3,
                InodeType::CharDevice,
            ));
        }
        Ok(v)
    }

    fn unlink(&self, _name: &[u8]) -> Result<()> {
        return_errno!(EPERM)
    }

    fn fs_stats(&self) -> FsStats {
        FsStats::pseudo(DEVPTS_MAGIC)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `/dev/pts/ptmx`: another way to `/dev/ptmx` (mode 000 by default, as
/// Linux's `ptmxmode`).
struct PtmxNode {
    mode: Mutex<u32>,
}

impl Inode for PtmxNode {
    fn metadata(&self) -> Metadata {
        Metadata::anonymous(
            PTMX_INO,
            DEVPTS_DEV,
            InodeType::CharDevice,
            *self.mode.lock(),
            super::devfs::encode_dev(5, 2),
        )
    }

    fn set_mode(&self, mode: u32) -> Result<()> {
        *self.mode.lock() = mode & 0o7777;
        Ok(())
    }

    fn open_special(&self, flags: u32) -> Option<Result<Arc<dyn FileLike>>> {
        let node: Arc<dyn Inode> = root().lookup(b"ptmx").ok()?;
        Some(pty::open_master(flags, node))
    }

    fn fs_stats(&self) -> FsStats {
        FsStats::pseudo(DEVPTS_MAGIC)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `/dev/pts/N`.
struct SlaveNode {
    pty: Arc<Pty>,
}

impl Inode for SlaveNode {
    fn metadata(&self) -> Metadata {
        self.pty.slave_metadata()
    }

    fn resize(&self, _size: u64) -> Result<()> {
        Ok(())
    }

    fn set_mode(&self, mode: u32) -> Result<()> {
        self.pty.set_mode(mode);
        Ok(())
    }

    fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        self.pty.set_owner(uid, gid);
        Ok(())
    }

    fn set_times(&self, _atime: Option<Duration>, _mtime: Option<Duration>) -> Result<()> {
        Ok(())
    }

    fn open_special(&self, flags: u32) -> Option<Result<Arc<dyn FileLike>>> {
        Some(self.pty.open_slave(flags))
    }

    fn fs_stats(&self) -> FsStats {
        FsStats::pseudo(DEVPTS_MAGIC)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
