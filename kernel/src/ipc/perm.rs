//! `struct kern_ipc_perm`: who owns an IPC object and who may use it.

use linux_raw_sys::general::{CAP_IPC_OWNER, CAP_SYS_ADMIN};

use super::uapi::Ipc64Perm;
use crate::prelude::*;
use crate::process::credentials::Credentials;

/// The permission bits of a mode (`S_IRWXUGO`).
const MODE_BITS: u32 = 0o777;

/// Read access (`S_IRUGO`), as `*get` flags and `ipcperms` ask for it.
pub const READ: u32 = 0o444;
/// Write (alter) access (`S_IWUGO`).
pub const WRITE: u32 = 0o222;
/// Execute access (`S_IXUGO`), for `shmat(SHM_EXEC)`.
pub const EXEC: u32 = 0o111;

/// The owner, creator, mode and key of an object.
#[derive(Clone, Copy, Debug)]
pub struct IpcPerm {
    /// The key it was created with (`IPC_PRIVATE` once a removed shared
    /// memory segment can no longer be found by it).
    pub key: i32,
    /// Owner.
    pub uid: u32,
    /// Owner's group.
    pub gid: u32,
    /// Creator.
    pub cuid: u32,
    /// Creator's group.
    pub cgid: u32,
    /// The `0777` bits, plus `SHM_DEST`/`SHM_LOCKED` for segments.
    pub mode: u32,
    /// The slot's sequence number when the object was made (the high part
    /// of its id).
    pub seq: u16,
}

impl IpcPerm {
    /// An object made now by `creds` for `key`, with the permission bits
    /// of the `*get` flags: owner and creator are the caller's effective
    /// ids, as Linux's `current_euid_egid`.
    pub fn new(key: i32, flags: i32, creds: &Credentials) -> Self {
        Self {
            key,
            uid: creds.euid,
            gid: creds.egid,
            cuid: creds.euid,
            cgid: creds.egid,
            mode: flags as u32 & MODE_BITS,
            seq: 0,
        }
    }

    /// Whether `creds` have the access `flag` asks for (`READ`, `WRITE`,
    /// `EXEC` bits, or a `*get` call's mode bits), as Linux's `ipcperms`:
    /// the owner or creator gets the owner bits, a member of the owner's or
    /// creator's group the group bits, others the other bits;
    /// `CAP_IPC_OWNER` gets everything.
    pub fn allows(&self, creds: &Credentials, flag: u32) -> bool {
        let requested = (flag >> 6) | (flag >> 3) | flag;
        let in_group = |g: u32| creds.in_group(g);
        let granted = if creds.euid == self.cuid || creds.euid == self.uid {
            self.mode >> 6
        } else if in_group(self.cgid) || in_group(self.gid) {
            self.mode >> 3
        } else {
            self.mode
        };
        requested & !granted & 0o7 == 0 || creds.has_cap(CAP_IPC_OWNER)
    }

    /// `EACCES` unless [`allows`](Self::allows).
    pub fn check(&self, creds: &Credentials, flag: u32) -> Result<()> {
        if !self.allows(creds, flag) {
            return_errno!(EACCES);
        }
        Ok(())
    }

    /// `EPERM` unless `creds` may change or remove the object: its owner,
    /// its creator or `CAP_SYS_ADMIN` (Linux's `ipcctl_obtain_check`).
    pub fn check_owner(&self, creds: &Credentials) -> Result<()> {
        if creds.euid != self.uid && creds.euid != self.cuid && !creds.has_cap(CAP_SYS_ADMIN) {
            return_errno!(EPERM);
        }
        Ok(())
    }

    /// `IPC_SET`: the new owner and permission bits (`EINVAL` for the
    /// invalid id -1, as `ipc_update_perm`).
    pub fn update(&mut self, new: &Ipc64Perm) -> Result<()> {
        if new.uid == u32::MAX || new.gid == u32::MAX {
            return_errno!(EINVAL);
        }
        self.uid = new.uid;
        self.gid = new.gid;
        self.mode = (self.mode & !MODE_BITS) | (new.mode & MODE_BITS);
        Ok(())
    }

    /// The user-space view.
    pub fn to_user(&self) -> Ipc64Perm {
        Ipc64Perm {
            key: self.key,
            uid: self.uid,
            gid: self.gid,
            cuid: self.cuid,
            cgid: self.cgid,
            mode: self.mode,
            seq: self.seq,
            ..Default::default()
        }
    }
}
