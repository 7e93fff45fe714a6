//! Scheduling syscalls: policies and priorities (`sched_setscheduler`,
//! `sched_setattr`, ...), nice values (`getpriority`/`setpriority`), CPU
//! affinity and `getcpu`, I/O priorities, and `personality`.
//!
//! A pid here names a thread (a tid works as a pid, as on Linux); 0 is the
//! caller.

use alloc::sync::Arc;
use alloc::vec::Vec;

use linux_raw_sys::general as g;

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use crate::process::Thread;
use crate::process::sched::{self, MAX_NICE, MIN_NICE, SchedRequest, ioprio};

type R = Result<SyscallReturn>;

/// `sizeof(struct sched_attr)` in its first version, and as Linux 5.3+
/// knows it (with the utilisation clamps).
const SCHED_ATTR_SIZE_VER0: usize = 48;
const SCHED_ATTR_SIZE: usize = 56;
/// The largest `struct sched_attr` Linux accepts.
const SCHED_ATTR_SIZE_MAX: usize = 4096;
/// The bytes of a CPU mask: one `unsigned long` covers this kernel's CPUs
/// (Linux's `cpumask_size()` for `nr_cpu_ids` <= 64).
const CPUMASK_SIZE: usize = 8;
/// `personality(0xffffffff)` only reads the personality.
const PERSONALITY_QUERY: u32 = 0xffff_ffff;

/// The thread `pid` names: the caller for 0, `ESRCH` if there is none.
fn thread_of(ctx: &SyscallContext, pid: i32) -> Result<Arc<Thread>> {
    match pid {
        0 => Ok(ctx.thread.clone()),
        p if p > 0 => crate::process::find_thread(p as u32).ok_or(Error::new(ESRCH)),
        _ => return_errno!(ESRCH),
    }
}

/// `sched_setscheduler(pid, policy, param)`.
pub fn sys_sched_setscheduler(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let policy = a[1] as i32;
    if policy < 0 {
        return_errno!(EINVAL);
    }
    let policy = policy as u32;
    // The old interface carries reset-on-fork in the policy.
    let (policy, flags) = if policy & g::SCHED_RESET_ON_FORK != 0 {
        (
            policy & !g::SCHED_RESET_ON_FORK,
            g::SCHED_FLAG_RESET_ON_FORK as u64,
        )
    } else {
        (policy, 0)
    };
    set_param(ctx, a[0] as i32, Some(policy), flags, a[2])
}

/// `sched_setparam(pid, param)`: the priority, keeping the policy.
pub fn sys_sched_setparam(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    set_param(ctx, a[0] as i32, None, 0, a[1])
}

/// Linux's `do_sched_setscheduler`.
fn set_param(ctx: &SyscallContext, pid: i32, policy: Option<u32>, flags: u64, param: u64) -> R {
    if param == 0 || pid < 0 {
        return_errno!(EINVAL);
    }
    let priority: i32 = ctx.vmar().read_val(param)?;
    let thread = thread_of(ctx, pid)?;
    let req = SchedRequest {
        policy,
        priority: priority as u32,
        nice: None,
        flags,
        util: (0, 0),
    };
    sched::set_scheduler(&thread, &ctx.thread.credentials(), req)?;
    ret(0)
}

/// `sched_getscheduler(pid)`: the policy, with `SCHED_RESET_ON_FORK`.
pub fn sys_sched_getscheduler(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let pid = a[0] as i32;
    if pid < 0 {
        return_errno!(EINVAL);
    }
    let attr = thread_of(ctx, pid)?.sched_attr();
    let flag = if attr.reset_on_fork {
        g::SCHED_RESET_ON_FORK
    } else {
        0
    };
    ret(attr.policy | flag)
}

/// `sched_getparam(pid, param)`: the real-time priority (0 for the other
/// policies).
pub fn sys_sched_getparam(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let pid = a[0] as i32;
    if a[1] == 0 || pid < 0 {
        return_errno!(EINVAL);
    }
    let attr = thread_of(ctx, pid)?.sched_attr();
    ctx.vmar().write_val(a[1], &(attr.rt_priority as i32))?;
    ret(0)
}

/// `sched_setattr(pid, attr, flags)`.
pub fn sys_sched_setattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (pid, uattr, flags) = (a[0] as i32, a[1], a[2] as u32);
    if uattr == 0 || pid < 0 || flags != 0 {
        return_errno!(EINVAL);
    }
    let raw = read_sched_attr(ctx, uattr)?;
    let field_u32 =
        |off: usize| u32::from_ne_bytes([raw[off], raw[off + 1], raw[off + 2], raw[off + 3]]);
    let size = field_u32(0) as usize;
    let policy = field_u32(4);
    let mut sched_flags = u64::from(field_u32(8)) | (u64::from(field_u32(12)) << 32);
    let nice = (field_u32(16) as i32).clamp(MIN_NICE, MAX_NICE);
    let mut priority = field_u32(20);
    let util = (field_u32(48), field_u32(52));
    if sched_flags & g::SCHED_FLAG_UTIL_CLAMP as u64 != 0 && size < SCHED_ATTR_SIZE {
        return_errno!(EINVAL);
    }
    if (policy as i32) < 0 {
        return_errno!(EINVAL);
    }
    let policy = (sched_flags & g::SCHED_FLAG_KEEP_POLICY as u64 == 0).then_some(policy);
    let thread = thread_of(ctx, pid)?;
    let mut nice = Some(nice);
    if sched_flags & g::SCHED_FLAG_KEEP_PARAMS as u64 != 0 {
        let cur = thread.sched_attr();
        if cur.is_rt() {
            priority = cur.rt_priority;
        } else {
            nice = Some(cur.nice);
        }
    }
    // `SCHED_FLAG_KEEP_*` are instructions, not flags to keep.
    sched_flags &= !(g::SCHED_FLAG_KEEP_ALL as u64);
    let req = SchedRequest {
        policy,
        priority,
        nice,
        flags: sched_flags,
        util,
    };
    sched::set_scheduler(&thread, &ctx.thread.credentials(), req)?;
    ret(0)
}

/// Reads a `struct sched_attr` as Linux's `sched_copy_attr`: its size
/// field says how long it is (0: the first version); too short or too
/// long, or longer than this kernel's with non-zero bytes past it, gives
/// `E2BIG` with this kernel's size written back. Returns the known part,
/// with the size field as given.
fn read_sched_attr(ctx: &SyscallContext, uattr: u64) -> Result<[u8; SCHED_ATTR_SIZE]> {
    let vmar = ctx.vmar();
    let mut size = vmar.read_val::<u32>(uattr)? as usize;
    if size == 0 {
        size = SCHED_ATTR_SIZE_VER0;
    }
    let too_big = |vmar: &crate::vm::Vmar| -> Result<[u8; SCHED_ATTR_SIZE]> {
        let _ = vmar.write_val(uattr, &(SCHED_ATTR_SIZE as u32));
        return_errno!(E2BIG)
    };
    if !(SCHED_ATTR_SIZE_VER0..=SCHED_ATTR_SIZE_MAX).contains(&size) {
        return too_big(&vmar);
    }
    if size > SCHED_ATTR_SIZE {
        let mut chunk = [0u8; 256];
        let mut off = SCHED_ATTR_SIZE;
        while off < size {
            let n = (size - off).min(chunk.len());
            vmar.read_bytes(uattr + off as u64, &mut chunk[..n])?;
            if chunk[..n].iter().any(|&b| b != 0) {
                return too_big(&vmar);
            }
            off += n;
        }
    }
    let mut raw = [0u8; SCHED_ATTR_SIZE];
    let n = size.min(SCHED_ATTR_SIZE);
    vmar.read_bytes(uattr, &mut raw[..n])?;
    raw[..4].copy_from_slice(&(size as u32).to_ne_bytes());
    Ok(raw)
}

/// `sched_getattr(pid, attr, size, flags)`: writes this kernel's `struct
/// sched_attr`, cut to `size` or padded with zeros up to it, with the size
/// written as the smaller of the two.
pub fn sys_sched_getattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (pid, uattr, usize_, flags) = (a[0] as i32, a[1], a[2] as u32 as usize, a[3] as u32);
    if uattr == 0
        || pid < 0
        || !(SCHED_ATTR_SIZE_VER0..=SCHED_ATTR_SIZE_MAX).contains(&usize_)
        || flags != 0
    {
        return_errno!(EINVAL);
    }
    let attr = thread_of(ctx, pid)?.sched_attr();
    let mut buf: Vec<u8> = Vec::new();
    buf.try_reserve_exact(usize_)
        .map_err(|_| Error::new(ENOMEM))?;
    buf.resize(usize_, 0);
    let size = usize_.min(SCHED_ATTR_SIZE) as u32;
    let flags = if attr.reset_on_fork {
        g::SCHED_FLAG_RESET_ON_FORK as u64
    } else {
        0
    };
    let (nice, priority) = if attr.is_rt() {
        (0, attr.rt_priority)
    } else {
        (attr.nice, 0)
    };
    let mut put = |off: usize, bytes: &[u8]| {
        if let Some(dst) = buf.get_mut(off..off + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    };
    put(0, &size.to_ne_bytes());
    put(4, &attr.policy.to_ne_bytes());
    put(8, &flags.to_ne_bytes());
    put(16, &nice.to_ne_bytes());
    put(20, &priority.to_ne_bytes());
    // No utilisation clamps: the whole range.
    put(52, &1024u32.to_ne_bytes());
    ctx.vmar().write_bytes(uattr, &buf)?;
    ret(0)
}

/// `sched_get_priority_max(policy)`.
pub fn sys_sched_get_priority_max(_ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    priority_bound(a[0], sched::MAX_RT_PRIO)
}

/// `sched_get_priority_min(policy)`.
pub fn sys_sched_get_priority_min(_ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    priority_bound(a[0], 1)
}

fn priority_bound(policy: u64, rt: u32) -> R {
    let policy = policy as i32 as u32;
    if !sched::valid_policy(policy) {
        return_errno!(EINVAL);
    }
    ret(if sched::is_rt_policy(policy) { rt } else { 0 })
}

/// `sched_rr_get_interval(pid, tp)`: the round-robin slice, 0 for FIFO,
/// the current fair slice for the other policies.
pub fn sys_sched_rr_get_interval(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let pid = a[0] as i32;
    if pid < 0 {
        return_errno!(EINVAL);
    }
    let attr = thread_of(ctx, pid)?.sched_attr();
    let slice = match attr.policy {
        g::SCHED_FIFO => core::time::Duration::ZERO,
        g::SCHED_RR => ostd::task::RR_TIME_SLICE,
        _ => ostd::task::fair_time_slice(),
    };
    let ts = g::__kernel_timespec {
        tv_sec: slice.as_secs() as i64,
        tv_nsec: slice.subsec_nanos() as i64,
    };
    ctx.vmar().write_val(a[1], &ts)?;
    ret(0)
}

/// The threads `getpriority`/`setpriority` act on (`which`, `who`);
/// `EINVAL` for an unknown `which`.
fn prio_targets(ctx: &SyscallContext, which: i32, who: i32) -> Result<Vec<Arc<Thread>>> {
    let threads = match which as u32 {
        _ if which < 0 => return_errno!(EINVAL),
        g::PRIO_PROCESS => thread_of(ctx, who).map_or_else(|_| Vec::new(), |t| alloc::vec![t]),
        g::PRIO_PGRP => {
            let pgid = match who {
                0 => ctx.process.pgid(),
                w if w > 0 => w as u32,
                _ => return Ok(Vec::new()),
            };
            crate::process::processes_in_group(pgid)
                .iter()
                .flat_map(|p| p.threads())
                .collect()
        }
        g::PRIO_USER => {
            let uid = if who == 0 {
                ctx.thread.credentials().ruid
            } else {
                who as u32
            };
            crate::process::all_processes()
                .iter()
                .filter(|p| p.credentials().ruid == uid)
                .flat_map(|p| p.threads())
                .collect()
        }
        _ => return_errno!(EINVAL),
    };
    Ok(threads)
}

/// `getpriority(which, who)`: `20 - nice` of the least nice thread (the C
/// libraries turn it back into a nice value).
pub fn sys_getpriority(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let threads = prio_targets(ctx, a[0] as i32, a[1] as i32)?;
    let best = threads.iter().map(|t| 20 - t.sched_attr().nice).max();
    ret(best.ok_or(Error::new(ESRCH))?)
}

/// `setpriority(which, who, nice)`: the nice value, clamped to -20..19,
/// for every thread named. As Linux, the result is the last failure, or
/// success if some thread was changed before any failure.
pub fn sys_setpriority(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let nice = (a[2] as i32).clamp(MIN_NICE, MAX_NICE);
    let threads = prio_targets(ctx, a[0] as i32, a[1] as i32)?;
    let caller = ctx.thread.credentials();
    let mut result = Err(Error::new(ESRCH));
    for t in &threads {
        match sched::set_nice(t, &caller, nice) {
            Err(e) => result = Err(e),
            Ok(()) => {
                if result.as_ref().is_err_and(|e| e.errno() == ESRCH) {
                    result = Ok(());
                }
            }
        }
    }
    result?;
    ret(0)
}

/// `sched_getaffinity(pid, len, mask)`: the thread's CPUs among those that
/// are up; the size written is the kernel's mask size. `EINVAL` when the
/// buffer cannot hold every CPU number or is not a whole number of longs.
pub fn sys_sched_getaffinity(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let len = a[1] as u32 as usize;
    if len * 8 < nr_cpu_ids() || !len.is_multiple_of(core::mem::size_of::<u64>()) {
        return_errno!(EINVAL);
    }
    let thread = thread_of(ctx, a[0] as i32)?;
    let mask = thread.task().map_or(u64::MAX, |t| t.affinity()) & ostd::cpu::online_mask();
    let size = len.min(CPUMASK_SIZE);
    ctx.vmar().write_bytes(a[2], &mask.to_ne_bytes()[..size])?;
    ret(size)
}

/// `sched_setaffinity(pid, len, mask)`: the mask must contain a CPU that is
/// up (`EINVAL`); a shorter mask is zero-extended, a longer one cut. The
/// thread moves off a CPU that is no longer in its mask at once.
pub fn sys_sched_setaffinity(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let len = (a[1] as u32 as usize).min(CPUMASK_SIZE);
    let mut bytes = [0u8; CPUMASK_SIZE];
    ctx.vmar().read_bytes(a[2], &mut bytes[..len])?;
    let thread = thread_of(ctx, a[0] as i32)?;
    if !sched::may_set_affinity(&thread, &ctx.thread.credentials()) {
        return_errno!(EPERM);
    }
    let mask = u64::from_ne_bytes(bytes);
    let applied = match thread.task() {
        Some(task) => task.set_affinity(mask),
        None => mask & ostd::cpu::online_mask() != 0,
    };
    if !applied {
        return_errno_with_message!(EINVAL, "the mask has none of the CPUs that are up");
    }
    let off_cpu = mask & (1 << ostd::cpu::this_cpu_index()) == 0;
    if Arc::ptr_eq(&thread, ctx.thread) && off_cpu {
        // Off a CPU no longer allowed before returning (Linux migrates the
        // caller before the call returns).
        ostd::task::yield_now();
    }
    ret(0)
}

/// `getcpu(cpu, node, cache)`: the CPU the caller runs on, node 0; NULL
/// pointers are skipped.
pub fn sys_getcpu(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let cpu = ostd::cpu::this_cpu_index() as u32;
    for (addr, value) in [(a[0], cpu), (a[1], 0)] {
        if addr != 0 {
            ctx.vmar().write_val(addr, &value)?;
        }
    }
    ret(0)
}

/// Linux's `nr_cpu_ids`: one more than the highest CPU number.
fn nr_cpu_ids() -> usize {
    ostd::cpu::num_cpus()
}

/// The threads `ioprio_get`/`ioprio_set` act on; `EINVAL` for an unknown
/// `which`.
fn ioprio_targets(ctx: &SyscallContext, which: u32, who: i32) -> Result<Vec<Arc<Thread>>> {
    match which {
        ioprio::WHO_PROCESS => prio_targets(ctx, g::PRIO_PROCESS as i32, who),
        ioprio::WHO_PGRP => prio_targets(ctx, g::PRIO_PGRP as i32, who),
        // Linux takes `who` as the uid, 0 included; -1 is no uid.
        ioprio::WHO_USER if who == -1 => Ok(Vec::new()),
        ioprio::WHO_USER => Ok(crate::process::all_processes()
            .iter()
            .filter(|p| p.credentials().ruid == who as u32)
            .flat_map(|p| p.threads())
            .collect()),
        _ => return_errno!(EINVAL),
    }
}

/// `ioprio_set(which, who, ioprio)`.
pub fn sys_ioprio_set(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (which, who, prio) = (a[0] as u32, a[1] as i32, a[2] as i32);
    let caller = ctx.thread.credentials();
    ioprio::check(prio, &caller)?;
    let threads = ioprio_targets(ctx, which, who)?;
    if threads.is_empty() {
        return_errno!(ESRCH);
    }
    for t in &threads {
        ioprio::set(t, &caller, prio)?;
    }
    ret(0)
}

/// `ioprio_get(which, who)`: a thread's I/O priority, or the best of
/// several.
pub fn sys_ioprio_get(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let threads = ioprio_targets(ctx, a[0] as u32, a[1] as i32)?;
    let mut prios = threads.iter().map(|t| t.ioprio());
    let first = prios.next().ok_or(Error::new(ESRCH))?;
    ret(prios.fold(first, ioprio::best))
}

/// `personality(persona)`: returns the old personality and sets the new
/// one unless it is 0xffffffff. Linux keeps any value, known or not.
pub fn sys_personality(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let persona = a[0] as u32;
    let old = if persona == PERSONALITY_QUERY {
        ctx.thread.personality()
    } else {
        ctx.thread.swap_personality(persona)
    };
    ret(old)
}
