//! Access permissions of a mapping.

use bitflags::bitflags;

bitflags! {
    /// `PROT_READ`, `PROT_WRITE`, `PROT_EXEC`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct VmPerms: u32 {
        /// Readable.
        const READ = 1;
        /// Writable.
        const WRITE = 2;
        /// Executable.
        const EXEC = 4;
    }
}

impl VmPerms {
    /// From `PROT_*` bits; unknown bits are ignored by the caller's check.
    pub fn from_prot(prot: u64) -> Self {
        Self::from_bits_truncate(prot as u32)
    }
}
