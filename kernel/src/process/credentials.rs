//! User and group identities and capabilities (`credentials(7)`,
//! `capabilities(7)`), the permission checks they feed, and Linux's rules
//! for changing them (`setresuid(2)`, `setfsuid(2)`, ...).
//!
//! Each thread has its own credentials, as on Linux (the C libraries
//! broadcast `setuid` and friends to every thread); the process's are its
//! main thread's, which checks against the process (`kill`) look at.

use alloc::vec::Vec;

use linux_raw_sys::general as g;

pub use super::capabilities::{CapSet, Capabilities, securebits};
use crate::fs::inode::{InodeType, Metadata};
use crate::prelude::*;

/// The identities and capabilities of a thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// Real user id.
    pub ruid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Saved set-user-id.
    pub suid: u32,
    /// File-system user id (used for file permission checks).
    pub fsuid: u32,
    /// Real group id.
    pub rgid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved set-group-id.
    pub sgid: u32,
    /// File-system group id.
    pub fsgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// The capability sets.
    pub caps: Capabilities,
    /// The secure bits (`PR_SET_SECUREBITS`, `PR_SET_KEEPCAPS`).
    pub securebits: u32,
}

impl Default for Credentials {
    /// Root, with every capability (init and kernel tasks).
    fn default() -> Self {
        Credentials {
            ruid: 0,
            euid: 0,
            suid: 0,
            fsuid: 0,
            rgid: 0,
            egid: 0,
            sgid: 0,
            fsgid: 0,
            groups: Vec::new(),
            caps: Capabilities::root(),
            securebits: 0,
        }
    }
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

/// The part of the credentials that decides whether a change makes the
/// process non-dumpable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    ids: [u32; 4],
    permitted: CapSet,
}

/// `-1` as an id: "unchanged" for the `setre*`/`setres*` calls, invalid
/// for the others.
const NO_ID: u32 = u32::MAX;

impl Credentials {
    /// Whether `cap` (`CAP_*`) is in the effective set.
    pub fn has_cap(&self, cap: u32) -> bool {
        self.caps.effective.has(cap)
    }

    /// Whether `gid` is the file-system group id or a supplementary group
    /// (Linux's `in_group_p`).
    pub fn in_group(&self, gid: u32) -> bool {
        self.fsgid == gid || self.groups.contains(&gid)
    }

    /// Whether these credentials grant `mask` (`access::*` bits) on a file
    /// with `meta` (Linux's `generic_permission`): the owner, group or other
    /// bits by the file-system ids; else `CAP_DAC_READ_SEARCH` for reading a
    /// file or reading and searching a directory, else `CAP_DAC_OVERRIDE`
    /// for anything but executing a file with no execute bit at all.
    pub fn may_access(&self, meta: &Metadata, mask: u32) -> bool {
        let bits = if meta.uid == self.fsuid {
            meta.mode >> 6
        } else if self.in_group(meta.gid) {
            meta.mode >> 3
        } else {
            meta.mode
        } & 7;
        if bits & mask == mask {
            return true;
        }
        if meta.kind == InodeType::Dir {
            if mask & access::W == 0 && self.has_cap(g::CAP_DAC_READ_SEARCH) {
                return true;
            }
            return self.has_cap(g::CAP_DAC_OVERRIDE);
        }
        if mask == access::R && self.has_cap(g::CAP_DAC_READ_SEARCH) {
            return true;
        }
        (mask & access::X == 0 || meta.mode & 0o111 != 0) && self.has_cap(g::CAP_DAC_OVERRIDE)
    }

    /// Whether the caller may change owner-only attributes of the file
    /// (Linux's `inode_owner_or_capable`: the file-system uid owns it, or
    /// `CAP_FOWNER`).
    pub fn is_owner_or_capable(&self, meta: &Metadata) -> bool {
        self.fsuid == meta.uid || self.has_cap(g::CAP_FOWNER)
    }

    /// Whether the sticky bit of a directory with `dir` lets these
    /// credentials remove or rename its entry `victim` (Linux's
    /// `check_sticky`): the file-system uid owns the file or the directory,
    /// or `CAP_FOWNER`.
    pub fn may_delete_sticky(&self, dir: &Metadata, victim: &Metadata) -> bool {
        dir.mode & g::S_ISVTX == 0
            || victim.uid == self.fsuid
            || dir.uid == self.fsuid
            || self.has_cap(g::CAP_FOWNER)
    }

    /// What a change of credentials is judged by (see
    /// [`Self::changes_privilege_from`]).
    pub fn identity(&self) -> Identity {
        Identity {
            ids: [self.euid, self.egid, self.fsuid, self.fsgid],
            permitted: self.caps.permitted,
        }
    }

    /// Whether these credentials, replacing those of `old`, make the
    /// process non-dumpable and clear its parent-death signal (Linux's
    /// `commit_creds`): an effective or file-system id changed, or the
    /// permitted set gained a capability.
    pub fn changes_privilege_from(&self, old: &Identity) -> bool {
        let new = self.identity();
        new.ids != old.ids || !new.permitted.is_subset(old.permitted)
    }

    /// Whether these credentials may inspect or manipulate a process with
    /// `them` as if tracing it (Linux's `__ptrace_may_access` without the
    /// LSM part): the caller's real ids match all of the target's user and
    /// group ids and the target is dumpable, or it has `CAP_SYS_PTRACE`.
    pub fn may_trace(&self, them: &Credentials, dumpable: bool) -> bool {
        (self.same_real_ids_as_all_of(them) && dumpable) || self.has_cap(g::CAP_SYS_PTRACE)
    }

    /// Whether the caller's real uid and gid equal every user id and group
    /// id (real, effective, saved) of `them`.
    pub fn same_real_ids_as_all_of(&self, them: &Credentials) -> bool {
        [them.ruid, them.euid, them.suid]
            .iter()
            .all(|&u| u == self.ruid)
            && [them.rgid, them.egid, them.sgid]
                .iter()
                .all(|&g| g == self.rgid)
    }

    /// Whether the caller may send a signal to a process with `them`
    /// (Linux's `kill_ok_by_cred`): its real or effective uid is the
    /// target's real or saved uid, or it has `CAP_KILL`.
    pub fn may_signal(&self, them: &Credentials) -> bool {
        [self.euid, self.ruid]
            .iter()
            .any(|&u| u == them.ruid || u == them.suid)
            || self.has_cap(g::CAP_KILL)
    }

    /// `setuid(2)`: with `CAP_SETUID` all of real, effective and saved
    /// uid, else only the effective uid, to the real or saved uid.
    pub fn set_uid(&mut self, uid: u32) -> Result<()> {
        if uid == NO_ID {
            return_errno!(EINVAL);
        }
        let old = self.clone();
        if self.has_cap(g::CAP_SETUID) {
            self.ruid = uid;
            self.suid = uid;
        } else if uid != self.ruid && uid != self.suid {
            return_errno!(EPERM);
        }
        self.euid = uid;
        self.fsuid = uid;
        self.fix_caps_after_setuid(&old);
        Ok(())
    }

    /// `setreuid(2)`: without `CAP_SETUID` the real uid may become the real
    /// or effective uid, the effective uid the real, effective or saved uid.
    /// The saved uid follows the new effective uid when the real uid is set
    /// or the effective uid is set to something other than the old real uid.
    pub fn set_reuid(&mut self, ruid: u32, euid: u32) -> Result<()> {
        let old = self.clone();
        let capable = self.has_cap(g::CAP_SETUID);
        if ruid != NO_ID && !capable && ruid != old.ruid && ruid != old.euid {
            return_errno!(EPERM);
        }
        if euid != NO_ID && !capable && ![old.ruid, old.euid, old.suid].contains(&euid) {
            return_errno!(EPERM);
        }
        if ruid != NO_ID {
            self.ruid = ruid;
        }
        if euid != NO_ID {
            self.euid = euid;
        }
        if ruid != NO_ID || (euid != NO_ID && euid != old.ruid) {
            self.suid = self.euid;
        }
        self.fsuid = self.euid;
        self.fix_caps_after_setuid(&old);
        Ok(())
    }

    /// `setresuid(2)`: without `CAP_SETUID` each id may only become one of
    /// the current real, effective or saved uids.
    pub fn set_resuid(&mut self, ruid: u32, euid: u32, suid: u32) -> Result<()> {
        let old = self.clone();
        let allowed = |v: u32| v == NO_ID || [old.ruid, old.euid, old.suid].contains(&v);
        let all_allowed = allowed(ruid) && allowed(euid) && allowed(suid);
        if !all_allowed && !self.has_cap(g::CAP_SETUID) {
            return_errno!(EPERM);
        }
        for (id, new) in [
            (&mut self.ruid, ruid),
            (&mut self.euid, euid),
            (&mut self.suid, suid),
        ] {
            if new != NO_ID {
                *id = new;
            }
        }
        self.fsuid = self.euid;
        self.fix_caps_after_setuid(&old);
        Ok(())
    }

    /// `setfsuid(2)`: the new file-system uid must be the real, effective,
    /// saved or current file-system uid, or the caller has `CAP_SETUID`.
    /// Returns the previous file-system uid whether or not it changed.
    pub fn set_fsuid(&mut self, fsuid: u32) -> u32 {
        let prev = self.fsuid;
        if fsuid == NO_ID {
            return prev;
        }
        let allowed = [self.ruid, self.euid, self.suid, self.fsuid].contains(&fsuid)
            || self.has_cap(g::CAP_SETUID);
        if allowed && fsuid != prev {
            self.fsuid = fsuid;
            if self.securebits & securebits::NO_SETUID_FIXUP == 0 {
                let caps = &mut self.caps;
                if prev == 0 {
                    caps.effective = caps.effective.without(CapSet::FS);
                } else if fsuid == 0 {
                    caps.effective = caps.effective.union(caps.permitted.intersect(CapSet::FS));
                }
            }
        }
        prev
    }

    /// `setgid(2)`: as [`Self::set_uid`] with `CAP_SETGID`.
    pub fn set_gid(&mut self, gid: u32) -> Result<()> {
        if gid == NO_ID {
            return_errno!(EINVAL);
        }
        if self.has_cap(g::CAP_SETGID) {
            self.rgid = gid;
            self.sgid = gid;
        } else if gid != self.rgid && gid != self.sgid {
            return_errno!(EPERM);
        }
        self.egid = gid;
        self.fsgid = gid;
        Ok(())
    }

    /// `setregid(2)`: as [`Self::set_reuid`] with `CAP_SETGID`.
    pub fn set_regid(&mut self, rgid: u32, egid: u32) -> Result<()> {
        let (or, oe, os) = (self.rgid, self.egid, self.sgid);
        let capable = self.has_cap(g::CAP_SETGID);
        if rgid != NO_ID && !capable && rgid != or && rgid != oe {
            return_errno!(EPERM);
        }
        if egid != NO_ID && !capable && ![or, oe, os].contains(&egid) {
            return_errno!(EPERM);
        }
        if rgid != NO_ID {
            self.rgid = rgid;
        }
        if egid != NO_ID {
            self.egid = egid;
        }
        if rgid != NO_ID || (egid != NO_ID && egid != or) {
            self.sgid = self.egid;
        }
        self.fsgid = self.egid;
        Ok(())
    }

    /// `setresgid(2)`: as [`Self::set_resuid`] with `CAP_SETGID`.
    pub fn set_resgid(&mut self, rgid: u32, egid: u32, sgid: u32) -> Result<()> {
        let old = [self.rgid, self.egid, self.sgid];
        let allowed = |v: u32| v == NO_ID || old.contains(&v);
        let all_allowed = allowed(rgid) && allowed(egid) && allowed(sgid);
        if !all_allowed && !self.has_cap(g::CAP_SETGID) {
            return_errno!(EPERM);
        }
        for (id, new) in [
            (&mut self.rgid, rgid),
            (&mut self.egid, egid),
            (&mut self.sgid, sgid),
        ] {
            if new != NO_ID {
                *id = new;
            }
        }
        self.fsgid = self.egid;
        Ok(())
    }

    /// `setfsgid(2)`: as [`Self::set_fsuid`] with `CAP_SETGID` (no
    /// capability changes).
    pub fn set_fsgid(&mut self, fsgid: u32) -> u32 {
        let prev = self.fsgid;
        if fsgid != NO_ID
            && ([self.rgid, self.egid, self.sgid, self.fsgid].contains(&fsgid)
                || self.has_cap(g::CAP_SETGID))
        {
            self.fsgid = fsgid;
        }
        prev
    }

    /// The capability changes of a uid change (Linux's
    /// `cap_emulate_setxuid`, `capabilities(7)` "Effect of user ID changes
    /// on capabilities"): when none of the real, effective and saved uids
    /// is 0 any more, the permitted and effective sets are cleared (the
    /// permitted set is kept with `SECBIT_KEEP_CAPS`) and so is the ambient
    /// set; an effective uid leaving 0 clears the effective set, one coming
    /// to 0 copies the permitted set into it.
    fn fix_caps_after_setuid(&mut self, old: &Credentials) {
        if self.securebits & securebits::NO_SETUID_FIXUP != 0 {
            return;
        }
        let was_root = old.ruid == 0 || old.euid == 0 || old.suid == 0;
        let is_root = self.ruid == 0 || self.euid == 0 || self.suid == 0;
        let caps = &mut self.caps;
        if was_root && !is_root {
            if self.securebits & securebits::KEEP_CAPS == 0 {
                caps.permitted = CapSet::EMPTY;
                caps.effective = CapSet::EMPTY;
            }
            caps.ambient = CapSet::EMPTY;
        }
        if old.euid == 0 && self.euid != 0 {
            caps.effective = CapSet::EMPTY;
        }
        if old.euid != 0 && self.euid == 0 {
            caps.effective = caps.permitted;
        }
    }

    /// Whether a program run with these credentials runs set-user-id or
    /// set-group-id (Linux's `secureexec`, `AT_SECURE`; without file
    /// capabilities nothing else sets it).
    pub fn is_secure_exec(&self) -> bool {
        self.euid != self.ruid || self.egid != self.rgid
    }

    /// The credentials after `execve` of a file with `meta` (Linux's
    /// `begin_new_exec` credential part and `cap_bprm_creds_from_file`):
    /// the set-user-id and set-group-id bits take effect (not under
    /// `no_new_privs`), the saved and file-system ids follow the effective
    /// ones, `SECBIT_KEEP_CAPS` is cleared, and the capabilities are
    /// computed as for a program without file capabilities.
    pub fn for_exec(&self, meta: &Metadata, no_new_privs: bool) -> Credentials {
        let mut new = self.clone();
        if !no_new_privs {
            if meta.mode & g::S_ISUID != 0 {
                new.euid = meta.uid;
            }
            // Without group execute permission the set-group-id bit means
            // mandatory locking, not a set-group-id program.
            if meta.mode & (g::S_ISGID | g::S_IXGRP) == g::S_ISGID | g::S_IXGRP {
                new.egid = meta.gid;
            }
        }
        let setid = new.euid != self.ruid || new.egid != self.rgid;
        new.suid = new.euid;
        new.fsuid = new.euid;
        new.sgid = new.egid;
        new.fsgid = new.egid;
        new.caps = self
            .caps
            .for_exec(new.ruid, new.euid, setid, self.securebits);
        new.securebits &= !securebits::KEEP_CAPS;
        new
    }
}

/// The current thread's credentials (root for kernel tasks).
pub fn current() -> Credentials {
    crate::process::try_current_thread().map_or_else(Credentials::default, |t| t.credentials())
}
