//! System V IPC syscalls: `sem*`, `shm*`, `msg*`. The objects live in
//! `crate::ipc`; these handlers check arguments in Linux's order, move
//! data between user memory and the kernel, and call in.

use core::time::Duration;

use super::{SyscallContext, SyscallReturn, ret};
use crate::ipc::uapi::*;
use crate::ipc::{limits, msg, perm, sem, shm, user_sized_buffer};
use crate::prelude::*;
use crate::vm::{MapOptions, PAGE_SIZE, VmPerms, page_down};

type R = Result<SyscallReturn>;

// ---- Semaphores ----

pub fn sys_semget(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let creds = ctx.thread.credentials();
    ret(sem::semget(&creds, a[0] as i32, a[1] as i32, a[2] as i32)?)
}

pub fn sys_semop(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    semtimedop(ctx, a[0] as i32, a[1], a[2] as u32, None)
}

pub fn sys_semtimedop(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    // The timeout is read first, before anything is checked.
    let timeout = match a[3] {
        0 => None,
        addr => Some(
            ctx.vmar()
                .read_val::<linux_raw_sys::general::__kernel_timespec>(addr)?,
        ),
    };
    semtimedop(ctx, a[0] as i32, a[1], a[2] as u32, timeout)
}

fn semtimedop(
    ctx: &mut SyscallContext,
    semid: i32,
    sops_addr: u64,
    nsops: u32,
    timeout: Option<linux_raw_sys::general::__kernel_timespec>,
) -> R {
    // Compared as C does, unsigned: a negative SEMOPM limits nothing.
    let [_, _, semopm, _] = limits::sem();
    if nsops > semopm as u32 {
        return_errno!(E2BIG);
    }
    if nsops < 1 {
        return_errno!(EINVAL);
    }
    let mut raw = user_sized_buffer::<u8>(nsops as usize * SemBuf::SIZE)?;
    ctx.vmar().read_bytes(sops_addr, &mut raw)?;
    let mut sops = user_sized_buffer::<SemBuf>(nsops as usize)?;
    for (op, bytes) in sops.iter_mut().zip(raw.chunks_exact(SemBuf::SIZE)) {
        *op = SemBuf::from_bytes(bytes);
    }
    drop(raw);
    if semid < 0 {
        return_errno!(EINVAL);
    }
    let timeout = match timeout {
        None => None,
        Some(ts) if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) => {
            return_errno!(EINVAL)
        }
        Some(ts) => Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)),
    };
    sem::semop(ctx.thread, semid, sops, timeout)?;
    ret(0)
}

pub fn sys_semctl(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (semid, semnum, cmd, arg) = (a[0] as i32, a[1] as i32, a[2] as i32, a[3]);
    if semid < 0 {
        return_errno!(EINVAL);
    }
    let creds = ctx.thread.credentials();
    let pid = ctx.process.pid();
    let vmar = ctx.vmar();
    match cmd {
        IPC_INFO | SEM_INFO => {
            let (max_index, info) = sem::info(cmd);
            vmar.write_val(arg, &info)?;
            ret(max_index)
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let (id, ds) = sem::stat(&creds, semid, cmd)?;
            vmar.write_val(arg, &ds)?;
            ret(id)
        }
        GETVAL | GETPID | GETNCNT | GETZCNT => ret(sem::get(&creds, semid, semnum, cmd)?),
        GETALL => {
            let values = sem::get_all(&creds, semid)?;
            let mut bytes = user_sized_buffer::<u8>(values.len() * 2)?;
            for (b, v) in bytes.chunks_exact_mut(2).zip(&values) {
                b.copy_from_slice(&v.to_le_bytes());
            }
            vmar.write_bytes(arg, &bytes)?;
            ret(0)
        }
        SETALL => {
            let n = sem::size_for_set_all(&creds, semid)?;
            let mut bytes = user_sized_buffer::<u8>(n * 2)?;
            vmar.read_bytes(arg, &mut bytes)?;
            let mut values = user_sized_buffer::<u16>(n)?;
            for (v, b) in values.iter_mut().zip(bytes.chunks_exact(2)) {
                *v = u16::from_le_bytes([b[0], b[1]]);
            }
            sem::set_all(pid, semid, &values)?;
            ret(0)
        }
        // The value is the `int` member of `union semun`, passed by value.
        SETVAL => {
            sem::set_value(&creds, pid, semid, semnum, arg as i32)?;
            ret(0)
        }
        IPC_SET => {
            let ds: SemidDs = vmar.read_val(arg)?;
            sem::set_perm(&creds, semid, &ds.sem_perm)?;
            ret(0)
        }
        IPC_RMID => {
            sem::remove(&creds, semid)?;
            ret(0)
        }
        _ => return_errno!(EINVAL),
    }
}

// ---- Shared memory ----

pub fn sys_shmget(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let creds = ctx.thread.credentials();
    ret(shm::shmget(
        &creds,
        ctx.process.pid(),
        a[0] as i32,
        a[1],
        a[2] as i32,
    )?)
}

pub fn sys_shmat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (shmid, mut addr, flags) = (a[0] as i32, a[1], a[2] as i32);
    if shmid < 0 {
        return_errno!(EINVAL);
    }
    // SHMLBA is a page on x86-64.
    if addr != 0 {
        if !addr.is_multiple_of(PAGE_SIZE) {
            if flags & SHM_RND == 0 {
                return_errno!(EINVAL);
            }
            addr = page_down(addr);
            if addr == 0 && flags & SHM_REMAP != 0 {
                return_errno!(EINVAL);
            }
        }
    } else if flags & SHM_REMAP != 0 {
        return_errno!(EINVAL);
    }
    let (mut perms, mut access) = if flags & SHM_RDONLY != 0 {
        (VmPerms::READ, perm::READ)
    } else {
        (VmPerms::READ | VmPerms::WRITE, perm::READ | perm::WRITE)
    };
    if flags & SHM_EXEC != 0 {
        perms |= VmPerms::EXEC;
        access |= perm::EXEC;
    }

    let creds = ctx.thread.credentials();
    let attached = shm::attach(&creds, shmid, access)?;
    let vmar = ctx.vmar();
    let fixed = addr != 0;
    if fixed
        && flags & SHM_REMAP == 0
        && (addr.checked_add(attached.size).is_none() || vmar.overlaps(addr, attached.size))
    {
        attached.attachment.abandon();
        return_errno!(EINVAL);
    }
    let start = vmar.map_shm(
        MapOptions {
            len: attached.size,
            perms,
            shared: true,
            backing: Some((attached.vmo, 0)),
            addr: fixed.then_some((addr, true)),
        },
        attached.attachment,
    )?;
    ret(start)
}

pub fn sys_shmdt(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if !a[0].is_multiple_of(PAGE_SIZE) {
        return_errno!(EINVAL);
    }
    ctx.vmar().detach_shm(a[0])?;
    ret(0)
}

pub fn sys_shmctl(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (shmid, cmd, buf) = (a[0] as i32, a[1] as i32, a[2]);
    if cmd < 0 || shmid < 0 {
        return_errno!(EINVAL);
    }
    let creds = ctx.thread.credentials();
    let vmar = ctx.vmar();
    match cmd {
        IPC_INFO => {
            let (max_index, info) = shm::info();
            vmar.write_val(buf, &info)?;
            ret(max_index)
        }
        SHM_INFO => {
            let (max_index, usage) = shm::usage()?;
            vmar.write_val(buf, &usage)?;
            ret(max_index)
        }
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            let (id, ds) = shm::stat(&creds, shmid, cmd)?;
            vmar.write_val(buf, &ds)?;
            ret(id)
        }
        IPC_SET => {
            let ds: ShmidDs = vmar.read_val(buf)?;
            shm::set_perm(&creds, shmid, &ds.shm_perm)?;
            ret(0)
        }
        IPC_RMID => {
            shm::remove(&creds, shmid)?;
            ret(0)
        }
        SHM_LOCK | SHM_UNLOCK => {
            let memlock = ctx
                .process
                .rlimit_cur(linux_raw_sys::general::RLIMIT_MEMLOCK);
            shm::lock(&creds, memlock, shmid, cmd == SHM_LOCK)?;
            ret(0)
        }
        _ => return_errno!(EINVAL),
    }
}

// ---- Message queues ----

pub fn sys_msgget(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let creds = ctx.thread.credentials();
    ret(msg::msgget(&creds, a[0] as i32, a[1] as i32)?)
}

pub fn sys_msgsnd(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (msqid, msgp, msgsz, flags) = (a[0] as i32, a[1], a[2], a[3] as i32);
    let vmar = ctx.vmar();
    // `struct msgbuf`: a `long` type, then the text.
    let mtype: i64 = vmar.read_val(msgp)?;
    let msgmax = u64::try_from(limits::msgmax()).unwrap_or(0);
    if msgsz > msgmax || (msgsz as i64) < 0 || msqid < 0 || mtype < 1 {
        return_errno!(EINVAL);
    }
    let mut data = user_sized_buffer::<u8>(msgsz as usize)?;
    let text = msgp.checked_add(8).ok_or(Error::new(EFAULT))?;
    vmar.read_bytes(text, &mut data)?;
    msg::send(ctx.thread, msqid, msg::Message { mtype, data }, flags)?;
    ret(0)
}

pub fn sys_msgrcv(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (msqid, msgp, msgsz, msgtyp, flags) = (a[0] as i32, a[1], a[2], a[3] as i64, a[4] as i32);
    if msqid < 0 || (msgsz as i64) < 0 {
        return_errno!(EINVAL);
    }
    if flags & MSG_COPY != 0 && (flags & MSG_EXCEPT != 0 || flags & IPC_NOWAIT == 0) {
        return_errno!(EINVAL);
    }
    let m = msg::receive(ctx.thread, msqid, msgsz as usize, msgtyp, flags)?;
    // Past this point the message has left the queue, as in Linux: a bad
    // buffer loses it.
    let vmar = ctx.vmar();
    vmar.write_val(msgp, &m.mtype)?;
    let text = msgp.checked_add(8).ok_or(Error::new(EFAULT))?;
    vmar.write_bytes(text, &m.data)?;
    ret(m.data.len())
}

pub fn sys_msgctl(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (msqid, cmd, buf) = (a[0] as i32, a[1] as i32, a[2]);
    if msqid < 0 || cmd < 0 {
        return_errno!(EINVAL);
    }
    let creds = ctx.thread.credentials();
    let vmar = ctx.vmar();
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (max_index, info) = msg::info(cmd);
            vmar.write_val(buf, &info)?;
            ret(max_index)
        }
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            let (id, ds) = msg::stat(&creds, msqid, cmd)?;
            vmar.write_val(buf, &ds)?;
            ret(id)
        }
        IPC_SET => {
            let ds: MsqidDs = vmar.read_val(buf)?;
            msg::set(&creds, msqid, &ds.msg_perm, ds.msg_qbytes)?;
            ret(0)
        }
        IPC_RMID => {
            msg::remove(&creds, msqid)?;
            ret(0)
        }
        _ => return_errno!(EINVAL),
    }
}
