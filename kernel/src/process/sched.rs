//! Scheduling attributes of a thread, as Linux keeps them per task: the
//! policy (`sched(7)`), the real-time priority, the nice value and the
//! reset-on-fork flag; the I/O priority (`ioprio_set(2)`); and the rules
//! for who may change them (Linux's `__sched_setscheduler`,
//! `set_one_prio`, `set_task_ioprio`).
//!
//! The thread keeps the Linux view; the ostd task it runs on is told the
//! policy and nice value that the scheduler acts on.

use linux_raw_sys::general as g;
use ostd::task::SchedPolicy;

use super::Thread;
use super::credentials::Credentials;
use crate::prelude::*;

/// The lowest and highest nice values.
pub const MIN_NICE: i32 = -20;
/// The highest nice value.
pub const MAX_NICE: i32 = 19;
/// The highest real-time priority (Linux's `MAX_RT_PRIO - 1`).
pub const MAX_RT_PRIO: u32 = 99;

/// Whether the caller may raise priorities and act on other users' tasks
/// (`CAP_SYS_NICE`). The one place that decides it.
pub fn may_sys_nice(creds: &Credentials) -> bool {
    creds.has_cap(linux_raw_sys::general::CAP_SYS_NICE)
}

/// A thread's scheduling attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedAttr {
    /// `SCHED_NORMAL`, `SCHED_BATCH`, `SCHED_IDLE`, `SCHED_FIFO` or
    /// `SCHED_RR` (without `SCHED_RESET_ON_FORK`).
    pub policy: u32,
    /// 1 to 99 for the real-time policies, else 0.
    pub rt_priority: u32,
    /// -20 to 19; kept, but without effect, under a real-time policy.
    pub nice: i32,
    /// Children start as `SCHED_NORMAL` (and nice 0 if it was negative).
    pub reset_on_fork: bool,
}

impl Default for SchedAttr {
    fn default() -> Self {
        Self {
            policy: g::SCHED_NORMAL,
            rt_priority: 0,
            nice: 0,
            reset_on_fork: false,
        }
    }
}

/// Whether Linux knows `policy` (`SCHED_DEADLINE` included; `SCHED_EXT`
/// is not built in).
pub fn valid_policy(policy: u32) -> bool {
    matches!(
        policy,
        g::SCHED_NORMAL
            | g::SCHED_FIFO
            | g::SCHED_RR
            | g::SCHED_BATCH
            | g::SCHED_IDLE
            | g::SCHED_DEADLINE
    )
}

/// `SCHED_FIFO` or `SCHED_RR`.
pub fn is_rt_policy(policy: u32) -> bool {
    matches!(policy, g::SCHED_FIFO | g::SCHED_RR)
}

/// The policies whose nice value counts (Linux's `fair_policy`).
fn is_fair_policy(policy: u32) -> bool {
    matches!(policy, g::SCHED_NORMAL | g::SCHED_BATCH)
}

impl SchedAttr {
    /// Whether the policy is a real-time one.
    pub fn is_rt(&self) -> bool {
        is_rt_policy(self.policy)
    }

    /// The attributes a child starts with (Linux's `sched_fork`).
    pub fn for_child(&self) -> Self {
        if !self.reset_on_fork {
            return *self;
        }
        if self.is_rt() {
            return Self::default();
        }
        Self {
            nice: self.nice.max(0),
            reset_on_fork: false,
            ..*self
        }
    }

    /// The priority field of `/proc/PID/stat` (Linux's `prio -
    /// MAX_RT_PRIO`): -2 to -100 for real time, 0 to 39 by nice otherwise.
    pub fn proc_priority(&self) -> i32 {
        if self.is_rt() {
            -1 - self.rt_priority as i32
        } else {
            self.nice + 20
        }
    }

    /// What the ostd scheduler is told.
    pub(super) fn task_policy(&self) -> (SchedPolicy, i8) {
        let prio = self.rt_priority.clamp(1, MAX_RT_PRIO) as u8;
        let policy = match self.policy {
            g::SCHED_FIFO => SchedPolicy::Fifo(prio),
            g::SCHED_RR => SchedPolicy::RoundRobin(prio),
            g::SCHED_BATCH => SchedPolicy::Batch,
            g::SCHED_IDLE => SchedPolicy::Idle,
            _ => SchedPolicy::Normal,
        };
        (policy, self.nice.clamp(MIN_NICE, MAX_NICE) as i8)
    }
}

/// A request to change a thread's policy: `sched_setscheduler` and
/// `sched_setparam` (which keeps the policy: `policy` is `None`), or
/// `sched_setattr`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SchedRequest {
    /// The new policy, or `None` to keep it (and its reset-on-fork flag).
    pub policy: Option<u32>,
    /// The new real-time priority (0 for the other policies).
    pub priority: u32,
    /// The new nice value for `SCHED_NORMAL`/`SCHED_BATCH` (already
    /// clamped), or `None` to keep it.
    pub nice: Option<i32>,
    /// `SCHED_FLAG_*`.
    pub flags: u64,
    /// `sched_util_min` and `sched_util_max` (checked, not used).
    pub util: (u32, u32),
}

/// `SCHED_FLAG_SUGOV`, reserved to the kernel (not in `linux-raw-sys`).
const SCHED_FLAG_SUGOV: u64 = 0x1000_0000;
/// The utilisation clamps' scale (Linux's `SCHED_CAPACITY_SCALE`).
const CAPACITY_SCALE: u32 = 1024;

/// The target's identity and limits, read before its attributes are
/// locked.
struct Target {
    creds: Credentials,
    rtprio_limit: u64,
    nice_limit: u64,
}

impl Target {
    fn of(thread: &Thread) -> Self {
        let p = thread.process();
        Self {
            creds: p.credentials(),
            rtprio_limit: p.rlimit_cur(g::RLIMIT_RTPRIO),
            nice_limit: p.rlimit_cur(g::RLIMIT_NICE),
        }
    }

    /// Whether `RLIMIT_NICE` allows nice value `nice` (Linux's
    /// `is_nice_reduction`: the limit is `20 - nice`).
    fn nice_allowed(&self, nice: i32) -> bool {
        (20 - nice.clamp(MIN_NICE, MAX_NICE)) as u64 <= self.nice_limit
    }

    /// Linux's `check_same_owner`: the caller's effective uid is the
    /// target's effective or real uid.
    fn same_owner(&self, caller: &Credentials) -> bool {
        caller.euid == self.creds.euid || caller.euid == self.creds.ruid
    }
}

/// Changes `thread`'s policy as `sched_setscheduler`/`sched_setattr`
/// would, for the calling user with `caller`'s credentials: `EINVAL` for
/// a bad policy, flags or priority, `EPERM` where Linux asks for
/// `CAP_SYS_NICE`.
pub fn set_scheduler(thread: &Thread, caller: &Credentials, req: SchedRequest) -> Result<()> {
    let target = Target::of(thread);
    let privileged = may_sys_nice(caller);
    let mut attr = thread.sched_attr_lock();
    let old = *attr;
    let (policy, reset_on_fork) = match req.policy {
        None => (old.policy, old.reset_on_fork),
        Some(p) if valid_policy(p) => (p, req.flags & g::SCHED_FLAG_RESET_ON_FORK as u64 != 0),
        Some(_) => return_errno!(EINVAL),
    };
    if req.flags & !(g::SCHED_FLAG_ALL as u64 | SCHED_FLAG_SUGOV) != 0 {
        return_errno!(EINVAL);
    }
    if req.priority > MAX_RT_PRIO {
        return_errno!(EINVAL);
    }
    // A deadline task needs a deadline; this kernel has no deadline class.
    if policy == g::SCHED_DEADLINE {
        return_errno_with_message!(EINVAL, "SCHED_DEADLINE is not supported");
    }
    if is_rt_policy(policy) != (req.priority != 0) {
        return_errno!(EINVAL);
    }
    if req.flags & SCHED_FLAG_SUGOV != 0 {
        return_errno!(EINVAL);
    }
    let nice = match req.nice {
        Some(n) if is_fair_policy(policy) => n,
        _ => old.nice,
    };
    if !privileged {
        check_unprivileged(
            &old,
            policy,
            req.priority,
            nice,
            reset_on_fork,
            &target,
            caller,
        )?;
    }
    if req.flags & g::SCHED_FLAG_UTIL_CLAMP as u64 != 0 {
        let (min, max) = req.util;
        let min_set = req.flags & g::SCHED_FLAG_UTIL_CLAMP_MIN as u64 != 0;
        let max_set = req.flags & g::SCHED_FLAG_UTIL_CLAMP_MAX as u64 != 0;
        if (min_set && min.wrapping_add(1) > CAPACITY_SCALE + 1)
            || (max_set && max.wrapping_add(1) > CAPACITY_SCALE + 1)
            || (min_set && max_set && min != u32::MAX && max != u32::MAX && min > max)
        {
            return_errno!(EINVAL);
        }
    }
    let new = SchedAttr {
        policy,
        rt_priority: req.priority,
        nice,
        reset_on_fork,
    };
    if new != old {
        *attr = new;
        thread.apply_sched_attr(&new);
    }
    Ok(())
}

/// Linux's `user_check_sched_setscheduler`.
fn check_unprivileged(
    old: &SchedAttr,
    policy: u32,
    priority: u32,
    nice: i32,
    reset_on_fork: bool,
    target: &Target,
    caller: &Credentials,
) -> Result<()> {
    let denied = (is_fair_policy(policy) && nice < old.nice && !target.nice_allowed(nice))
        || (is_rt_policy(policy)
            && ((policy != old.policy && target.rtprio_limit == 0)
                || (priority > old.rt_priority && priority as u64 > target.rtprio_limit)))
        // SCHED_IDLE counts as nice 20: leaving it is lowering the nice.
        || (old.policy == g::SCHED_IDLE
            && policy != g::SCHED_IDLE
            && !target.nice_allowed(old.nice))
        || !target.same_owner(caller)
        || (old.reset_on_fork && !reset_on_fork);
    if denied {
        return_errno!(EPERM);
    }
    Ok(())
}

/// `setpriority` on one thread (Linux's `set_one_prio`): `EPERM` for
/// another user's thread, `EACCES` for lowering the nice value beyond
/// `RLIMIT_NICE`, without privilege.
pub fn set_nice(thread: &Thread, caller: &Credentials, nice: i32) -> Result<()> {
    let target = Target::of(thread);
    let privileged = may_sys_nice(caller);
    if !privileged && target.creds.ruid != caller.euid && target.creds.euid != caller.euid {
        return_errno!(EPERM);
    }
    let mut attr = thread.sched_attr_lock();
    if nice < attr.nice && !target.nice_allowed(nice) && !privileged {
        return_errno!(EACCES);
    }
    if attr.nice != nice {
        attr.nice = nice;
        thread.apply_sched_attr(&attr);
    }
    Ok(())
}

/// `sched_setaffinity`'s permission: the same owner, or privilege.
pub fn may_set_affinity(thread: &Thread, caller: &Credentials) -> bool {
    may_sys_nice(caller) || Target::of(thread).same_owner(caller)
}

/// I/O priorities (`ioprio_set(2)`): a class in the top 3 of 16 bits, a
/// level (0-7) in the low 3.
pub mod ioprio {
    use super::*;

    // <linux/ioprio.h>, not in `linux-raw-sys`.
    const CLASS_SHIFT: u32 = 13;
    /// No class set: the I/O priority follows the CPU priority.
    pub const CLASS_NONE: u32 = 0;
    /// Real time.
    pub const CLASS_RT: u32 = 1;
    /// Best effort.
    pub const CLASS_BE: u32 = 2;
    /// Idle.
    pub const CLASS_IDLE: u32 = 3;
    const LEVEL_MASK: u32 = 7;
    /// `IOPRIO_WHO_PROCESS`, `_PGRP`, `_USER`.
    pub const WHO_PROCESS: u32 = 1;
    /// A process group.
    pub const WHO_PGRP: u32 = 2;
    /// A user.
    pub const WHO_USER: u32 = 3;
    /// Best effort, level 4: what "none" counts as when priorities are
    /// compared (Linux's `IOPRIO_DEFAULT` in `ioprio_best`).
    const BE_NORM: u32 = (CLASS_BE << CLASS_SHIFT) | 4;

    fn class(ioprio: u32) -> u32 {
        (ioprio >> CLASS_SHIFT) & 7
    }

    /// Linux's `ioprio_check_cap`: `EINVAL` for an unknown class or a
    /// level with class "none", `EPERM` for the real-time class without
    /// privilege.
    pub fn check(ioprio: i32, caller: &Credentials) -> Result<()> {
        let v = ioprio as u32;
        match class(v) {
            CLASS_RT if !may_sys_nice(caller) => return_errno!(EPERM),
            CLASS_RT | CLASS_BE | CLASS_IDLE => Ok(()),
            CLASS_NONE if v & LEVEL_MASK == 0 => Ok(()),
            _ => return_errno!(EINVAL),
        }
    }

    /// Linux's `set_task_ioprio`: another user's thread needs privilege.
    /// The value is kept as Linux's 16-bit field keeps it.
    pub fn set(thread: &Thread, caller: &Credentials, ioprio: i32) -> Result<()> {
        let them = thread.process().credentials();
        if them.ruid != caller.euid && them.ruid != caller.ruid && !may_sys_nice(caller) {
            return_errno!(EPERM);
        }
        thread.set_ioprio(ioprio as u32 & 0xffff);
        Ok(())
    }

    /// Linux's `ioprio_best`: the higher of two priorities (the lower
    /// value), "none" counting as best effort 4.
    pub fn best(a: u32, b: u32) -> u32 {
        let norm = |v: u32| if class(v) == CLASS_NONE { BE_NORM } else { v };
        norm(a).min(norm(b))
    }
}
