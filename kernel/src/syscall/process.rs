//! Process and thread syscalls: identities, exit, thread-area set-up.

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use crate::process::exit::exit_process;
use crate::process::{ExitStatus, find_process};

type R = Result<SyscallReturn>;

pub fn sys_exit(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    // Ends only this thread; the process ends with its last thread.
    {
        let mut pending = ctx.process.exit_status_pending_lock();
        if pending.is_none() && ctx.process.threads().len() <= 1 {
            *pending = Some(ExitStatus::Exited(a[0] as u8));
        }
    }
    ctx.thread.request_exit();
    Ok(SyscallReturn::NoReturn)
}

pub fn sys_exit_group(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    exit_process(ctx.process, ExitStatus::Exited(a[0] as u8));
    Ok(SyscallReturn::NoReturn)
}

pub fn sys_getpid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.process.pid())
}

pub fn sys_gettid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.thread.tid())
}

pub fn sys_getppid(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.process.ppid())
}

pub fn sys_getuid(_ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(0)
}

pub fn sys_geteuid(_ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(0)
}

pub fn sys_getgid(_ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(0)
}

pub fn sys_getegid(_ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(0)
}

pub fn sys_getpgid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let pid = a[0] as i32;
    if pid == 0 {
        return ret(ctx.process.pgid());
    }
    if pid < 0 {
        return_errno!(ESRCH);
    }
    ret(find_process(pid as u32).ok_or(Error::new(ESRCH))?.pgid())
}

pub fn sys_getpgrp(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(ctx.process.pgid())
}

pub fn sys_getsid(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let pid = a[0] as i32;
    if pid == 0 {
        return ret(ctx.process.sid());
    }
    if pid < 0 {
        return_errno!(ESRCH);
    }
    ret(find_process(pid as u32).ok_or(Error::new(ESRCH))?.sid())
}

pub fn sys_set_tid_address(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    ctx.thread.set_clear_child_tid(a[0]);
    ret(ctx.thread.tid())
}

pub fn sys_set_robust_list(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    // struct robust_list_head is 24 bytes on x86-64.
    if a[1] != 24 {
        return_errno!(EINVAL);
    }
    ctx.thread.set_robust_list(a[0]);
    ret(0)
}

const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const ARCH_GET_GS: u64 = 0x1004;

pub fn sys_arch_prctl(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    match a[0] {
        ARCH_SET_FS => {
            if a[1] >= ostd::mm::USER_SPACE_END {
                return_errno!(EPERM);
            }
            ctx.user.set_fs_base(a[1]);
            ret(0)
        }
        ARCH_GET_FS => {
            let fs = ctx.user.fs_base();
            ctx.vmar().write_val(a[1], &fs)?;
            ret(0)
        }
        ARCH_GET_GS => {
            ctx.vmar().write_val(a[1], &0u64)?;
            ret(0)
        }
        ARCH_SET_GS => return_errno_with_message!(EINVAL, "GS base is not supported"),
        _ => return_errno!(EINVAL),
    }
}

const PR_SET_PDEATHSIG: u64 = 1;
const PR_GET_PDEATHSIG: u64 = 2;
const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;

pub fn sys_prctl(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    match a[0] {
        PR_SET_PDEATHSIG => {
            if a[1] != 0 && !crate::process::signal::is_valid(a[1]) {
                return_errno!(EINVAL);
            }
            ctx.process.set_pdeath_signal(a[1] as u8);
            ret(0)
        }
        PR_GET_PDEATHSIG => {
            let s = ctx.process.pdeath_signal() as i32;
            ctx.vmar().write_val(a[1], &s)?;
            ret(0)
        }
        PR_SET_NAME => ret(0),
        PR_GET_NAME => {
            let mut name = [0u8; 16];
            let exe = ctx.process.exe_path();
            let base = exe.rsplit('/').next().unwrap_or("").as_bytes();
            let n = base.len().min(15);
            name[..n].copy_from_slice(&base[..n]);
            ctx.vmar().write_bytes(a[1], &name)?;
            ret(0)
        }
        _ => return_errno!(EINVAL),
    }
}
