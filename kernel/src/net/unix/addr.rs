//! Names of Unix-domain sockets: paths in the file system (a socket inode
//! at the path) and abstract names (a leading NUL byte), which live in a
//! kernel table and vanish with their socket.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use ostd::sync::SpinLock;

use super::UnixSocket;
use crate::fs::inode::{Inode, InodeType};
use crate::net::family::AF_UNIX;
use crate::prelude::*;
use crate::process::credentials::access;

/// `sizeof(struct sockaddr_un)`.
pub const SOCKADDR_UN_LEN: usize = 110;
/// `offsetof(struct sockaddr_un, sun_path)`.
const PATH_OFFSET: usize = 2;

/// The name of a bound socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixAddr {
    /// A path in the file system.
    Path(Vec<u8>),
    /// An abstract name (without its leading NUL).
    Abstract(Vec<u8>),
}

impl UnixAddr {
    /// Parses a `sockaddr_un` for `bind`: `Ok(None)` for just the family
    /// (bind to an automatic abstract name).
    pub fn parse_bind(raw: &[u8]) -> Result<Option<UnixAddr>> {
        if raw.len() < PATH_OFFSET || raw.len() > SOCKADDR_UN_LEN {
            return_errno!(EINVAL);
        }
        if u16::from_le_bytes([raw[0], raw[1]]) != AF_UNIX {
            return_errno!(EINVAL);
        }
        let path = &raw[PATH_OFFSET..];
        if path.is_empty() {
            return Ok(None);
        }
        if path[0] == 0 {
            return Ok(Some(UnixAddr::Abstract(path[1..].to_vec())));
        }
        // The path ends at the first NUL, or at the end of the address.
        let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
        // A path is bytes, whatever its encoding.
        Ok(Some(UnixAddr::Path(path[..end].to_vec())))
    }

    /// Parses a `sockaddr_un` naming a peer (`connect`, `sendto`): Linux's
    /// `unix_validate_addr` wants more than the family.
    pub fn parse_peer(raw: &[u8]) -> Result<UnixAddr> {
        if raw.len() <= PATH_OFFSET {
            return_errno!(EINVAL);
        }
        Self::parse_bind(raw)?.ok_or(Error::new(EINVAL))
    }

    /// The `sockaddr_un` bytes, as `getsockname` reports them: a path with
    /// its terminating NUL, an abstract name exactly.
    pub fn to_raw(&self) -> Vec<u8> {
        let mut v = Vec::from(AF_UNIX.to_le_bytes());
        match self {
            UnixAddr::Path(p) => {
                v.extend_from_slice(p);
                v.push(0);
            }
            UnixAddr::Abstract(n) => {
                v.push(0);
                v.extend_from_slice(n);
            }
        }
        v
    }
}

/// The address of an unnamed socket: just the family.
pub fn unnamed_raw() -> Vec<u8> {
    Vec::from(AF_UNIX.to_le_bytes())
}

/// Sockets bound to abstract names.
static ABSTRACT: SpinLock<BTreeMap<Vec<u8>, Weak<UnixSocket>>> = SpinLock::new(BTreeMap::new());
/// Sockets bound to paths, by the (device, inode number) of their inode.
static PATHS: SpinLock<BTreeMap<(u64, u64), Weak<UnixSocket>>> = SpinLock::new(BTreeMap::new());
static AUTOBIND_NEXT: AtomicU32 = AtomicU32::new(0);

/// What a bound socket holds on to, to give its name back on release.
pub enum Binding {
    /// An abstract name.
    Abstract(Vec<u8>),
    /// The socket inode at its path.
    Path(Arc<dyn Inode>),
}

fn inode_key(inode: &Arc<dyn Inode>) -> (u64, u64) {
    let m = inode.metadata();
    (m.dev, m.ino)
}

/// Claims an abstract name; `EADDRINUSE` if a live socket has it.
pub fn bind_abstract(name: &[u8], sock: &Arc<UnixSocket>) -> Result<Binding> {
    let mut table = ABSTRACT.lock();
    if table.get(name).is_some_and(|w| w.strong_count() > 0) {
        return_errno!(EADDRINUSE);
    }
    table.insert(Vec::from(name), Arc::downgrade(sock));
    Ok(Binding::Abstract(Vec::from(name)))
}

/// Binds to a free automatic abstract name (five hex digits, as Linux's
/// `unix_autobind`).
pub fn autobind(sock: &Arc<UnixSocket>) -> Result<(UnixAddr, Binding)> {
    for _ in 0..0x10_0000 {
        let n = AUTOBIND_NEXT.fetch_add(1, Ordering::Relaxed) & 0xf_ffff;
        let name = alloc::format!("{n:05x}").into_bytes();
        match bind_abstract(&name, sock) {
            Ok(b) => return Ok((UnixAddr::Abstract(name), b)),
            Err(e) if e.errno() == EADDRINUSE => continue,
            Err(e) => return Err(e),
        }
    }
    return_errno!(ENOSPC)
}

/// Creates the socket inode at `path` (`EADDRINUSE` if something is there)
/// and registers `sock` as bound to it.
pub fn bind_path(path: &[u8], sock: &Arc<UnixSocket>) -> Result<Binding> {
    let thread = crate::process::current_thread()?;
    let process = thread.process();
    let fs = process.fs().lock().clone();
    let (dir, name) = fs.lookup_parent(None, path)?;
    let cred = thread.credentials();
    if !cred.may_access(&dir.metadata(), access::W | access::X) {
        return_errno!(EACCES);
    }
    if name == b"." || name == b".." || dir.lookup(name).is_ok() {
        return_errno!(EADDRINUSE);
    }
    let inode = dir
        .create(name, InodeType::Socket, 0o777 & !fs.umask)
        .map_err(|e| {
            if e.errno() == EEXIST {
                Error::new(EADDRINUSE)
            } else {
                e
            }
        })?;
    let _ = inode.set_owner(Some(cred.fsuid), Some(cred.fsgid));
    PATHS.lock().insert(inode_key(&inode), Arc::downgrade(sock));
    Ok(Binding::Path(inode))
}

/// Gives a name back (the inode stays in the file system, as on Linux; a
/// `connect` to it is refused).
pub fn unbind(binding: &Binding) {
    match binding {
        Binding::Abstract(name) => {
            ABSTRACT.lock().remove(name);
        }
        Binding::Path(inode) => {
            PATHS.lock().remove(&inode_key(inode));
        }
    }
}

/// The socket bound to `addr`: `ENOENT` for a missing path,
/// `ECONNREFUSED` if nothing listens there, `EACCES` without write
/// permission on the socket inode.
pub fn lookup(addr: &UnixAddr) -> Result<Arc<UnixSocket>> {
    match addr {
        UnixAddr::Abstract(name) => ABSTRACT
            .lock()
            .get(name)
            .and_then(|w| w.upgrade())
            .ok_or(Error::new(ECONNREFUSED)),
        UnixAddr::Path(path) => {
            let thread = crate::process::current_thread()?;
            let process = thread.process();
            let fs = process.fs().lock().clone();
            let inode = fs.lookup(None, path, true)?;
            let meta = inode.metadata();
            if !thread.credentials().may_access(&meta, access::W) {
                return_errno!(EACCES);
            }
            if meta.kind != InodeType::Socket {
                return_errno!(ECONNREFUSED);
            }
            PATHS
                .lock()
                .get(&(meta.dev, meta.ino))
                .and_then(|w| w.upgrade())
                .ok_or(Error::new(ECONNREFUSED))
        }
    }
}
