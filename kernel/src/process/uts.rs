//! The system's names that `uname(2)` reports and privileged processes
//! change: the host name (`nodename`) and the NIS domain name, set by
//! `sethostname`/`setdomainname` or through `/proc/sys/kernel/hostname`
//! and `domainname`. One set for the whole system (Linux keeps one per UTS
//! namespace; there is only the initial one here).

use alloc::vec::Vec;

use ostd::sync::SpinLock;

use crate::prelude::*;

/// Linux's `__NEW_UTS_LEN`: the longest name, in bytes.
pub const NAME_MAX: usize = 64;

/// A name of at most [`NAME_MAX`] bytes (any bytes but NUL, as Linux
/// takes them).
struct Name {
    bytes: [u8; NAME_MAX],
    len: usize,
}

impl Name {
    const fn new(init: &str) -> Self {
        let mut bytes = [0u8; NAME_MAX];
        let src = init.as_bytes();
        let mut i = 0;
        while i < src.len() && i < NAME_MAX {
            bytes[i] = src[i];
            i += 1;
        }
        Self { bytes, len: i }
    }
}

static HOSTNAME: SpinLock<Name> = SpinLock::new(Name::new("framekernel"));
static DOMAINNAME: SpinLock<Name> = SpinLock::new(Name::new("(none)"));

/// Which name.
#[derive(Clone, Copy, Debug)]
pub enum UtsName {
    /// `nodename`.
    Host,
    /// `domainname`.
    Domain,
}

impl UtsName {
    fn cell(self) -> &'static SpinLock<Name> {
        match self {
            Self::Host => &HOSTNAME,
            Self::Domain => &DOMAINNAME,
        }
    }

    /// The name's bytes (without a NUL).
    pub fn get(self) -> Vec<u8> {
        let n = self.cell().lock();
        n.bytes[..n.len].to_vec()
    }

    /// Sets the name: `EINVAL` if longer than [`NAME_MAX`]. A name is
    /// taken up to its first NUL, as `uname` will show it.
    pub fn set(self, name: &[u8]) -> Result<()> {
        if name.len() > NAME_MAX {
            return_errno!(EINVAL);
        }
        let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        let mut n = self.cell().lock();
        n.bytes = [0; NAME_MAX];
        n.bytes[..len].copy_from_slice(&name[..len]);
        n.len = len;
        Ok(())
    }
}
