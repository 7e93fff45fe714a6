//! Resource limits (`getrlimit(2)`): a soft and a hard value per resource,
//! inherited across `fork` and kept across `execve`.

use linux_raw_sys::general as g;

use crate::prelude::*;

/// "No limit".
pub const RLIM_INFINITY: u64 = u64::MAX;
/// Number of resources.
pub const NLIMITS: usize = g::RLIM_NLIMITS as usize;
/// Linux's `nr_open`: the hard ceiling of `RLIMIT_NOFILE`.
pub const NR_OPEN: u64 = 1 << 20;

/// Whether `creds` may raise hard limits and set another user's process's
/// limits (`CAP_SYS_RESOURCE`).
pub fn may_sys_resource(creds: &super::credentials::Credentials) -> bool {
    creds.has_cap(g::CAP_SYS_RESOURCE)
}

/// Whether `creds` may lock memory beyond `RLIMIT_MEMLOCK`
/// (`CAP_IPC_LOCK`).
pub fn may_lock_memory(creds: &super::credentials::Credentials) -> bool {
    creds.has_cap(g::CAP_IPC_LOCK)
}

/// A soft and a hard limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RLimit {
    /// The soft limit (what is enforced).
    pub cur: u64,
    /// The hard limit (the ceiling for the soft one).
    pub max: u64,
}

/// The limits of a process.
#[derive(Clone, Debug)]
pub struct ResourceLimits {
    limits: [RLimit; NLIMITS],
}

impl Default for ResourceLimits {
    /// Linux's limits for init: `RLIMIT_NPROC` and `RLIMIT_SIGPENDING` are
    /// half of `threads-max`.
    fn default() -> Self {
        let inf = RLimit {
            cur: RLIM_INFINITY,
            max: RLIM_INFINITY,
        };
        let mut limits = [inf; NLIMITS];
        let tasks = (super::table::max_threads() / 2) as u64;
        let mut set = |r: u32, cur: u64, max: u64| limits[r as usize] = RLimit { cur, max };
        set(g::RLIMIT_STACK, 8 << 20, RLIM_INFINITY);
        set(g::RLIMIT_CORE, 0, RLIM_INFINITY);
        set(g::RLIMIT_NOFILE, 1024, 4096);
        set(g::RLIMIT_NPROC, tasks, tasks);
        set(g::RLIMIT_SIGPENDING, tasks, tasks);
        set(g::RLIMIT_MEMLOCK, 8 << 20, 8 << 20);
        set(g::RLIMIT_MSGQUEUE, 819_200, 819_200);
        set(g::RLIMIT_NICE, 0, 0);
        set(g::RLIMIT_RTPRIO, 0, 0);
        Self { limits }
    }
}

impl ResourceLimits {
    /// The limits of `resource` (`EINVAL` for an unknown one).
    pub fn get(&self, resource: u32) -> Result<RLimit> {
        self.limits
            .get(resource as usize)
            .copied()
            .ok_or(Error::new(EINVAL))
    }

    /// The soft limit of `resource`.
    pub fn cur(&self, resource: u32) -> u64 {
        self.limits[resource as usize].cur
    }

    /// Sets the limits of `resource` as Linux's `do_prlimit` allows:
    /// `EINVAL` if soft > hard, `EPERM` for raising the hard limit without
    /// privilege or `RLIMIT_NOFILE` above `nr_open`.
    pub fn set(&mut self, resource: u32, new: RLimit, privileged: bool) -> Result<()> {
        let old = self.get(resource)?;
        if new.cur > new.max {
            return_errno!(EINVAL);
        }
        if resource == g::RLIMIT_NOFILE && new.max > NR_OPEN {
            return_errno_with_message!(EPERM, "RLIMIT_NOFILE above nr_open");
        }
        if new.max > old.max && !privileged {
            return_errno_with_message!(EPERM, "raising a hard limit");
        }
        self.limits[resource as usize] = new;
        Ok(())
    }
}
