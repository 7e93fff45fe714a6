//! Extended attributes (`setxattr`, `getxattr`, `listxattr`,
//! `removexattr`): the name spaces, Linux's permission rules
//! (`xattr_permission`), and the per-inode store of the RAM file system.
//!
//! As on tmpfs, `user.*`, `trusted.*` and `security.*` attributes are
//! kept; other name spaces (`system.*`, unknown prefixes) are
//! `EOPNOTSUPP`. A store is bounded (`ENOSPC` past it) and every
//! allocation in it is fallible.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use linux_raw_sys::general as g;
use ostd::sync::Mutex;

use super::inode::{InodeType, Metadata};
use crate::prelude::*;
use crate::process::credentials::{Credentials, access};

/// Largest value (`XATTR_SIZE_MAX`, 64 KiB): larger is `E2BIG`.
pub const SIZE_MAX: usize = g::XATTR_SIZE_MAX as usize;
/// Longest name (`XATTR_NAME_MAX`): longer (or empty) is `ERANGE`.
pub const NAME_MAX: usize = g::XATTR_NAME_MAX as usize;
/// Largest list (`XATTR_LIST_MAX`).
pub const LIST_MAX: usize = g::XATTR_LIST_MAX as usize;
/// What one inode may hold in values, in bytes (names are bounded by
/// `LIST_MAX`, so that the whole list always fits one `listxattr`).
const VALUES_MAX: usize = 2 << 20;

/// The name spaces a file system in memory keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespace {
    /// `user.*`: regular files and directories, by file permissions.
    User,
    /// `trusted.*`: privileged processes only.
    Trusted,
    /// `security.*`: left to security modules (none here).
    Security,
}

impl Namespace {
    /// The name space of `name`; `None` for one Linux's tmpfs does not
    /// keep (`system.*`, or no known prefix).
    pub fn of(name: &[u8]) -> Option<Self> {
        let prefixes: [(&[u8], Self); 3] = [
            (b"user.", Self::User),
            (b"trusted.", Self::Trusted),
            (b"security.", Self::Security),
        ];
        prefixes
            .iter()
            .find(|(p, _)| name.starts_with(p))
            .map(|&(_, ns)| ns)
    }
}

/// Whether the caller may use `trusted.*` attributes. Linux asks for
/// `CAP_SYS_ADMIN`.
pub fn privileged(cred: &Credentials) -> bool {
    cred.has_cap(linux_raw_sys::general::CAP_SYS_ADMIN)
}

/// Linux's `xattr_permission` followed by the name-space lookup: may the
/// caller read (`write` false) or change attribute `name` of the inode
/// with `meta`? Returns the name space.
pub fn check_access(
    cred: &Credentials,
    meta: &Metadata,
    name: &[u8],
    write: bool,
) -> Result<Namespace> {
    let refuse = if write { EPERM } else { ENODATA };
    let ns = Namespace::of(name);
    match ns {
        // No check of the VFS's own: security modules decide.
        Some(Namespace::Security) => return Ok(Namespace::Security),
        Some(Namespace::Trusted) if !privileged(cred) => return Err(Error::new(refuse)),
        Some(Namespace::User) => {
            if !matches!(meta.kind, InodeType::File | InodeType::Dir) {
                return Err(Error::new(refuse));
            }
            let sticky_dir = meta.kind == InodeType::Dir && meta.mode & 0o1000 != 0;
            if sticky_dir && write && !cred.is_owner_or_capable(meta) {
                return_errno!(EPERM);
            }
        }
        _ => {}
    }
    let mask = if write { access::W } else { access::R };
    if !cred.may_access(meta, mask) {
        return_errno!(EACCES);
    }
    let ns = ns.ok_or(Error::new(EOPNOTSUPP))?;
    // A bare prefix names nothing.
    if Some(name.len()) == ns_prefix_len(name) {
        return_errno!(EINVAL);
    }
    Ok(ns)
}

fn ns_prefix_len(name: &[u8]) -> Option<usize> {
    name.iter().position(|&b| b == b'.').map(|i| i + 1)
}

/// How `setxattr` treats an existing attribute (its flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetMode {
    /// `XATTR_CREATE`: `EEXIST` if it exists.
    pub create: bool,
    /// `XATTR_REPLACE`: `ENODATA` if it does not.
    pub replace: bool,
}

/// The extended attributes of one inode.
pub struct Xattrs {
    inner: Mutex<Store>,
}

#[derive(Default)]
struct Store {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Sum of the names' lengths plus their NULs (the list's size).
    names: usize,
    /// Sum of the values' lengths.
    values: usize,
}

impl Default for Xattrs {
    fn default() -> Self {
        Self::new()
    }
}

impl Xattrs {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            inner: Mutex::new(Store {
                map: BTreeMap::new(),
                names: 0,
                values: 0,
            }),
        }
    }

    /// A copy of the value of `name` (`ENODATA` if there is none).
    pub fn get(&self, name: &[u8]) -> Result<Vec<u8>> {
        let store = self.inner.lock();
        let v = store.map.get(name).ok_or(Error::new(ENODATA))?;
        copy_fallibly(v)
    }

    /// Sets `name` to `value`; `ENOSPC` past the inode's bounds.
    pub fn set(&self, name: &[u8], value: &[u8], mode: SetMode) -> Result<()> {
        let key = copy_fallibly(name)?;
        let value = copy_fallibly(value)?;
        let mut store = self.inner.lock();
        let old = store.map.get(name).map(Vec::len);
        match old {
            Some(_) if mode.create => return_errno!(EEXIST),
            None if mode.replace => return_errno!(ENODATA),
            _ => {}
        }
        let names = match old {
            Some(_) => store.names,
            None => store.names + name.len() + 1,
        };
        let values = store.values - old.unwrap_or(0) + value.len();
        if names > LIST_MAX || values > VALUES_MAX {
            return_errno!(ENOSPC);
        }
        store.names = names;
        store.values = values;
        store.map.insert(key, value);
        Ok(())
    }

    /// Removes `name` (`ENODATA` if there is none).
    pub fn remove(&self, name: &[u8]) -> Result<()> {
        let mut store = self.inner.lock();
        let value = store.map.remove(name).ok_or(Error::new(ENODATA))?;
        store.names -= name.len() + 1;
        store.values -= value.len();
        Ok(())
    }

    /// The names, each followed by a NUL, that `keep` accepts (the list
    /// `listxattr` returns).
    pub fn list(&self, keep: impl Fn(&[u8]) -> bool) -> Result<Vec<u8>> {
        let store = self.inner.lock();
        let mut out = Vec::new();
        out.try_reserve(store.names)
            .map_err(|_| Error::new(ENOMEM))?;
        for name in store.map.keys().filter(|n| keep(n)) {
            out.extend_from_slice(name);
            out.push(0);
        }
        Ok(out)
    }
}

/// `bytes` copied into a new vector, `ENOMEM` if memory is short.
fn copy_fallibly(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(bytes.len())
        .map_err(|_| Error::new(ENOMEM))?;
    v.extend_from_slice(bytes);
    Ok(v)
}
