//! System information and resource syscalls.

use linux_raw_sys::general as g;
use linux_raw_sys::system::new_utsname;

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use crate::process::rlimit::{RLimit, may_sys_resource};
use crate::process::uts::{self, UtsName};

type R = Result<SyscallReturn>;

fn field(s: &[u8]) -> [core::ffi::c_char; 65] {
    let mut f = [0 as core::ffi::c_char; 65];
    for (d, &b) in f.iter_mut().zip(s.iter().take(64)) {
        *d = b as core::ffi::c_char;
    }
    f
}

pub fn sys_uname(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let u = new_utsname {
        sysname: field(b"Linux"),
        nodename: field(&UtsName::Host.get()),
        // Recent enough for every libc feature check.
        release: field(b"6.1.0-framekernel"),
        version: field(b"#1 SMP"),
        machine: field(b"x86_64"),
        domainname: field(&UtsName::Domain.get()),
    };
    ctx.vmar().write_val(a[0], &u)?;
    ret(0)
}

pub fn sys_getrandom(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let flags = a[2] as u32;
    if flags & !(g::GRND_NONBLOCK | g::GRND_RANDOM | g::GRND_INSECURE) != 0 {
        return_errno!(EINVAL);
    }
    let len = (a[1] as usize).min(1 << 20);
    let mut buf = crate::util::zeroed_buffer(len)?;
    ostd::random::fill(&mut buf);
    ctx.vmar().write_bytes(a[0], &buf)?;
    ret(len)
}

/// `prlimit64(pid, resource, new, old)`: reads and/or sets a process's
/// limits, in Linux's order: the new limits are read (`EFAULT`), the
/// process found (`ESRCH`), the permission checked (`EPERM`), then the
/// resource and values (`do_prlimit`). Another process needs real,
/// effective and saved ids all equal to the caller's real ids, or the
/// privilege (Linux's `check_prlimit_permission`).
pub fn sys_prlimit64(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (pid, resource, new_addr, old_addr) = (a[0] as i32, a[1] as u32, a[2], a[3]);
    let new = if new_addr != 0 {
        let n: g::rlimit64 = ctx.vmar().read_val(new_addr)?;
        Some(RLimit {
            cur: n.rlim_cur,
            max: n.rlim_max,
        })
    } else {
        None
    };
    let target = match pid {
        0 => ctx.process.clone(),
        // Any thread's id names its process.
        p if p > 0 => crate::process::find_process(p as u32)
            .or_else(|| crate::process::find_thread(p as u32).map(|t| t.process().clone()))
            .ok_or(Error::new(ESRCH))?,
        _ => return_errno!(ESRCH),
    };
    let me = ctx.thread.credentials();
    if !alloc::sync::Arc::ptr_eq(&target, ctx.process)
        && !me.same_real_ids_as_all_of(&target.credentials())
        && !may_sys_resource(&me)
    {
        return_errno!(EPERM);
    }
    let old = match new {
        Some(n) => target.set_rlimit(resource, n, may_sys_resource(&me))?,
        None => target.rlimits().get(resource)?,
    };
    if old_addr != 0 {
        ctx.vmar().write_val(
            old_addr,
            &g::rlimit64 {
                rlim_cur: old.cur,
                rlim_max: old.max,
            },
        )?;
    }
    ret(0)
}

pub fn sys_getrlimit(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let l = ctx.process.rlimits().get(a[0] as u32)?;
    ctx.vmar().write_val(
        a[1],
        &g::rlimit {
            rlim_cur: l.cur,
            rlim_max: l.max,
        },
    )?;
    ret(0)
}

/// `setrlimit(resource, rlim)`: the limits are read first (`EFAULT`), then
/// checked as by `prlimit64`.
pub fn sys_setrlimit(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let n: g::rlimit = ctx.vmar().read_val(a[1])?;
    let privileged = may_sys_resource(&ctx.thread.credentials());
    let new = RLimit {
        cur: n.rlim_cur,
        max: n.rlim_max,
    };
    ctx.process.set_rlimit(a[0] as u32, new, privileged)?;
    ret(0)
}

pub fn sys_sched_yield(_ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ostd::task::yield_now();
    ret(0)
}

pub fn sys_umask(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let fs_ctx = ctx.process.fs();
    let mut fs = fs_ctx.lock();
    let old = fs.umask;
    fs.umask = a[0] as u32 & 0o777;
    ret(old)
}

pub fn sys_sysinfo(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    // struct sysinfo: uptime, loads[3], totalram, freeram, sharedram,
    // bufferram, totalswap, freeswap (longs), procs (u16), pad, totalhigh,
    // freehigh, mem_unit (u32).
    let page = ostd::mm::PAGE_SIZE as u64;
    let mut buf = [0u8; 112];
    let longs = [
        ostd::timer::monotonic().as_secs(),
        0,
        0,
        0,
        ostd::mm::total_frames() as u64 * page,
        ostd::mm::free_frames() as u64 * page,
        0,
        0,
        0,
        0,
    ];
    for (i, v) in longs.iter().enumerate() {
        buf[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    let procs = crate::process::all_processes().len() as u16;
    buf[80..82].copy_from_slice(&procs.to_le_bytes());
    buf[104..108].copy_from_slice(&1u32.to_le_bytes());
    ctx.vmar().write_bytes(a[0], &buf)?;
    ret(0)
}

pub fn sys_reboot(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    const MAGIC1: u64 = 0xfee1_dead;
    const MAGIC2: [u64; 4] = [672274793, 85072278, 369367448, 537993216];
    const CMD_RESTART: u32 = 0x0123_4567;
    const CMD_HALT: u32 = 0xcdef_0123;
    const CMD_POWER_OFF: u32 = 0x4321_fedc;
    const CMD_CAD_ON: u32 = 0x89ab_cdef;
    const CMD_CAD_OFF: u32 = 0;
    // Linux checks the capability before the magic numbers.
    if !ctx.thread.credentials().has_cap(g::CAP_SYS_BOOT) {
        return_errno!(EPERM);
    }
    if a[0] != MAGIC1 || !MAGIC2.contains(&a[1]) {
        return_errno!(EINVAL);
    }
    match a[2] as u32 {
        CMD_RESTART | CMD_HALT | CMD_POWER_OFF => {
            log::info!("reboot: powering off");
            ostd::power::exit_qemu(ostd::power::ExitStatus::Code(0));
        }
        CMD_CAD_ON | CMD_CAD_OFF => ret(0),
        _ => return_errno!(EINVAL),
    }
}

pub fn sys_sethostname(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    set_uts_name(ctx, UtsName::Host, a[0], a[1] as i32)
}

pub fn sys_setdomainname(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    set_uts_name(ctx, UtsName::Domain, a[0], a[1] as i32)
}

/// `sethostname`/`setdomainname(name, len)` in Linux's order: the
/// privilege (`EPERM` without `CAP_SYS_ADMIN`), the
/// length (`EINVAL` if negative or above 64), then the copy (`EFAULT`).
fn set_uts_name(ctx: &SyscallContext, which: UtsName, addr: u64, len: i32) -> R {
    if !ctx.thread.credentials().has_cap(g::CAP_SYS_ADMIN) {
        return_errno!(EPERM);
    }
    let len = usize::try_from(len)
        .ok()
        .filter(|&l| l <= uts::NAME_MAX)
        .ok_or(Error::new(EINVAL))?;
    let mut buf = [0u8; uts::NAME_MAX];
    ctx.vmar().read_bytes(addr, &mut buf[..len])?;
    which.set(&buf[..len])?;
    ret(0)
}

/// `syslog(2)`: the kernel log ring (see [`crate::syslog`]).
pub fn sys_syslog(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    use crate::syslog::action;
    use ostd::logger::ring;

    let act = a[0] as i32 as u32;
    let (buf, len) = (a[1], a[2] as i32);
    crate::syslog::check_permission(act, crate::syslog::privileged(&ctx.thread.credentials()))?;
    match act {
        action::CLOSE | action::OPEN | action::CONSOLE_OFF | action::CONSOLE_ON => ret(0),
        action::READ | action::READ_ALL | action::READ_CLEAR => {
            if buf == 0 || len < 0 {
                return_errno!(EINVAL);
            }
            if len == 0 {
                return ret(0);
            }
            let want = (len as usize).min(ring::SIZE);
            let mut tmp = alloc::vec::Vec::new();
            tmp.try_reserve_exact(want)
                .map_err(|_| Error::new(ENOMEM))?;
            tmp.resize(want, 0u8);
            let n = if act == action::READ {
                // Waits for something not read yet.
                loop {
                    let n = ring::read_unread(&mut tmp);
                    if n > 0 {
                        break n;
                    }
                    if super::time::sleep_interruptible(ctx, core::time::Duration::from_millis(50))
                        .is_some()
                    {
                        return_errno!(ERESTARTSYS);
                    }
                }
            } else {
                ring::read_all(&mut tmp, act == action::READ_CLEAR)
            };
            ctx.vmar().write_bytes(buf, &tmp[..n])?;
            ret(n)
        }
        action::CLEAR => {
            ring::clear();
            ret(0)
        }
        action::CONSOLE_LEVEL => {
            crate::syslog::set_console_level(len)?;
            ret(0)
        }
        action::SIZE_UNREAD => ret(ring::unread()),
        action::SIZE_BUFFER => ret(ring::SIZE),
        _ => return_errno!(EINVAL),
    }
}
