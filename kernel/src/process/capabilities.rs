//! POSIX capabilities as Linux has them (`capabilities(7)`): the five sets
//! of a task, the secure bits, and the rules by which `capset`, `prctl`,
//! `execve` and uid changes move capabilities between the sets.
//!
//! Capability numbers are Linux's (`linux_raw_sys::general::CAP_*`).

use linux_raw_sys::general as g;

use crate::prelude::*;

/// A set of capabilities, one bit per capability number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSet(u64);

impl CapSet {
    /// No capability.
    pub const EMPTY: CapSet = CapSet(0);
    /// Every capability this kernel knows (`CAP_LAST_CAP` and below).
    pub const FULL: CapSet = CapSet((1 << (g::CAP_LAST_CAP + 1)) - 1);
    /// The file-system capabilities (Linux's `CAP_FS_SET`), which follow the
    /// file-system uid: cleared from the effective set when it leaves 0,
    /// restored from the permitted set when it comes back.
    pub const FS: CapSet = CapSet(
        1 << g::CAP_CHOWN
            | 1 << g::CAP_DAC_OVERRIDE
            | 1 << g::CAP_DAC_READ_SEARCH
            | 1 << g::CAP_FOWNER
            | 1 << g::CAP_FSETID
            | 1 << g::CAP_LINUX_IMMUTABLE
            | 1 << g::CAP_MAC_OVERRIDE
            | 1 << g::CAP_MKNOD,
    );

    /// The set with the raw bits `bits`.
    pub const fn from_bits(bits: u64) -> CapSet {
        CapSet(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether `cap` is in the set (false for an invalid number).
    pub fn has(self, cap: u32) -> bool {
        cap_valid(cap as u64) && self.0 & (1 << cap) != 0
    }

    /// Adds `cap` (a valid number).
    pub fn raise(&mut self, cap: u32) {
        if cap_valid(cap as u64) {
            self.0 |= 1 << cap;
        }
    }

    /// Removes `cap`.
    pub fn lower(&mut self, cap: u32) {
        if cap_valid(cap as u64) {
            self.0 &= !(1 << cap);
        }
    }

    /// Whether every member of `self` is in `other`.
    pub fn is_subset(self, other: CapSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// The union.
    pub fn union(self, other: CapSet) -> CapSet {
        CapSet(self.0 | other.0)
    }

    /// The intersection.
    pub fn intersect(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }

    /// The set without the members of `other`.
    pub fn without(self, other: CapSet) -> CapSet {
        CapSet(self.0 & !other.0)
    }
}

/// Whether `cap` names a capability (Linux's `cap_valid`).
pub fn cap_valid(cap: u64) -> bool {
    cap <= g::CAP_LAST_CAP as u64
}

/// The secure bits (`<linux/securebits.h>`; not in `linux-raw-sys`). Each
/// bit has a "locked" bit just above it that freezes it.
pub mod securebits {
    /// `SECBIT_NOROOT`: uid 0 gets no capabilities by `execve`.
    pub const NOROOT: u32 = 1 << 0;
    /// `SECBIT_NO_SETUID_FIXUP`: uid changes leave the capability sets alone.
    pub const NO_SETUID_FIXUP: u32 = 1 << 2;
    /// `SECBIT_KEEP_CAPS`: the permitted set survives all uids leaving 0
    /// (what `PR_SET_KEEPCAPS` sets).
    pub const KEEP_CAPS: u32 = 1 << 4;
    /// `SECBIT_KEEP_CAPS_LOCKED`.
    pub const KEEP_CAPS_LOCKED: u32 = 1 << 5;
    /// `SECBIT_NO_CAP_AMBIENT_RAISE`: `PR_CAP_AMBIENT_RAISE` is refused.
    pub const NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
    /// `SECURE_ALL_BITS` (as Linux 6.1: the four bits above).
    pub const ALL_BITS: u32 = NOROOT | NO_SETUID_FIXUP | KEEP_CAPS | NO_CAP_AMBIENT_RAISE;
    /// `SECURE_ALL_LOCKS`.
    pub const ALL_LOCKS: u32 = ALL_BITS << 1;
}

/// The capability sets of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Kept across `execve` for programs whose file inheritable set has them.
    pub inheritable: CapSet,
    /// What the task may take into its effective set.
    pub permitted: CapSet,
    /// What the kernel checks.
    pub effective: CapSet,
    /// The limit of what `execve` can grant.
    pub bounding: CapSet,
    /// Kept across `execve` of a program without file capabilities.
    pub ambient: CapSet,
}

impl Capabilities {
    /// Root's sets: all permitted, effective and bounding.
    pub const fn root() -> Self {
        Capabilities {
            inheritable: CapSet::EMPTY,
            permitted: CapSet::FULL,
            effective: CapSet::FULL,
            bounding: CapSet::FULL,
            ambient: CapSet::EMPTY,
        }
    }

    /// `capset(2)`'s rules (Linux's `cap_capset`): the new inheritable set
    /// is bounded by the old inheritable set plus the permitted set (unless
    /// the caller has `CAP_SETPCAP`) and by the old inheritable set plus the
    /// bounding set; the new permitted set is a subset of the old; the new
    /// effective set a subset of the new permitted set. Ambient capabilities
    /// no longer both permitted and inheritable are dropped.
    pub fn set(&mut self, effective: CapSet, permitted: CapSet, inheritable: CapSet) -> Result<()> {
        let old = *self;
        if !old.effective.has(g::CAP_SETPCAP)
            && !inheritable.is_subset(old.inheritable.union(old.permitted))
        {
            return_errno_with_message!(EPERM, "inheritable capability not permitted");
        }
        if !inheritable.is_subset(old.inheritable.union(old.bounding)) {
            return_errno_with_message!(EPERM, "inheritable capability not in the bounding set");
        }
        if !permitted.is_subset(old.permitted) {
            return_errno_with_message!(EPERM, "permitted set may only shrink");
        }
        if !effective.is_subset(permitted) {
            return_errno_with_message!(EPERM, "effective set not permitted");
        }
        self.effective = effective;
        self.permitted = permitted;
        self.inheritable = inheritable;
        self.ambient = self.ambient.intersect(permitted.intersect(inheritable));
        Ok(())
    }

    /// `PR_CAP_AMBIENT_RAISE`: only a capability that is both permitted and
    /// inheritable, and not with `SECBIT_NO_CAP_AMBIENT_RAISE`.
    pub fn raise_ambient(&mut self, cap: u32, securebits: u32) -> Result<()> {
        if !self.permitted.has(cap)
            || !self.inheritable.has(cap)
            || securebits & securebits::NO_CAP_AMBIENT_RAISE != 0
        {
            return_errno!(EPERM);
        }
        self.ambient.raise(cap);
        Ok(())
    }

    /// `PR_CAPBSET_DROP` (needs `CAP_SETPCAP`; `EPERM` is checked before
    /// the capability number, as Linux).
    pub fn drop_bounding(&mut self, cap: u64) -> Result<()> {
        if !self.effective.has(g::CAP_SETPCAP) {
            return_errno!(EPERM);
        }
        if !cap_valid(cap) {
            return_errno!(EINVAL);
        }
        self.bounding.lower(cap as u32);
        Ok(())
    }

    /// The sets after `execve` of a program without file capabilities
    /// (Linux's `cap_bprm_creds_from_file`): a program run with a real or
    /// effective uid of 0 is treated as if its file permitted and
    /// inheritable sets were full, so it gets `bounding | inheritable` (and
    /// all of it effective if the effective uid is 0); any other program
    /// keeps only the ambient set, which a set-user/group-id exec clears.
    pub fn for_exec(&self, ruid: u32, euid: u32, setid: bool, securebits: u32) -> Capabilities {
        let mut new = *self;
        if setid {
            new.ambient = CapSet::EMPTY;
        }
        let root_privileged = securebits & securebits::NOROOT == 0;
        let mut permitted = CapSet::EMPTY;
        if root_privileged && (euid == 0 || ruid == 0) {
            permitted = self.bounding.union(self.inheritable);
        }
        new.permitted = permitted.union(new.ambient);
        new.effective = if root_privileged && euid == 0 {
            new.permitted
        } else {
            new.ambient
        };
        new
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::root()
    }
}
