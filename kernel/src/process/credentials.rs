//! User and group identities, and the permission check they feed.

use alloc::vec::Vec;

use crate::fs::inode::Metadata;

/// The identities of a process (`credentials(7)`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Real user id.
    pub ruid: u32,
    /// Effective user id (used for permission checks).
    pub euid: u32,
    /// Saved set-user-id.
    pub suid: u32,
    /// Real group id.
    pub rgid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved set-group-id.
    pub sgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

/// Access bits asked for.
pub mod access {
    /// Read.
    pub const R: u32 = 4;
    /// Write.
    pub const W: u32 = 2;
    /// Execute or search.
    pub const X: u32 = 1;
}

impl Credentials {
    /// Whether these credentials grant `mask` (`access::*` bits) on a file
    /// with `meta`, as the classic Unix check does: owner bits, else group
    /// bits, else other bits; root passes everything except execute on a
    /// file with no execute bit at all.
    pub fn may_access(&self, meta: &Metadata, mask: u32) -> bool {
        if self.euid == 0 {
            let is_dir = meta.kind == crate::fs::inode::InodeType::Dir;
            return mask & access::X == 0 || is_dir || meta.mode & 0o111 != 0;
        }
        let bits = if meta.uid == self.euid {
            meta.mode >> 6
        } else if meta.gid == self.egid || self.groups.contains(&meta.gid) {
            meta.mode >> 3
        } else {
            meta.mode
        } & 7;
        bits & mask == mask
    }

    /// Whether the caller may change owner-only attributes of the file.
    pub fn is_owner_or_root(&self, meta: &Metadata) -> bool {
        self.euid == 0 || self.euid == meta.uid
    }
}

/// The current process's credentials (root for kernel tasks).
pub fn current() -> Credentials {
    crate::process::try_current_thread()
        .map_or_else(Credentials::default, |t| t.process().credentials())
}
