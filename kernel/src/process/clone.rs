//! `clone`: the one way to create processes and threads. `fork`, `vfork`,
//! `clone3` and `pthread_create` are flag sets on top of it.

use alloc::sync::Arc;

use ostd::sync::Mutex;
use ostd::user::UserContext;

use super::signal::{SigActions, sig};
use super::table::{IdRef, ThreadCharge};
use super::{ProcessBuilder, Thread, ThreadBuilder, Tid};
use crate::prelude::*;
use crate::util::Completion;

/// `CLONE_*` flags (from `linux/sched.h`).
#[allow(missing_docs)]
pub mod flags {
    pub const CSIGNAL: u64 = 0xff;
    pub const CLONE_VM: u64 = 0x100;
    pub const CLONE_FS: u64 = 0x200;
    pub const CLONE_FILES: u64 = 0x400;
    pub const CLONE_SIGHAND: u64 = 0x800;
    pub const CLONE_PIDFD: u64 = 0x1000;
    pub const CLONE_PTRACE: u64 = 0x2000;
    pub const CLONE_VFORK: u64 = 0x4000;
    pub const CLONE_PARENT: u64 = 0x8000;
    pub const CLONE_THREAD: u64 = 0x10000;
    pub const CLONE_NEWNS: u64 = 0x20000;
    pub const CLONE_SYSVSEM: u64 = 0x40000;
    pub const CLONE_SETTLS: u64 = 0x80000;
    pub const CLONE_PARENT_SETTID: u64 = 0x100000;
    pub const CLONE_CHILD_CLEARTID: u64 = 0x200000;
    pub const CLONE_DETACHED: u64 = 0x400000;
    pub const CLONE_UNTRACED: u64 = 0x800000;
    pub const CLONE_CHILD_SETTID: u64 = 0x1000000;
    pub const CLONE_NEWCGROUP: u64 = 0x2000000;
    pub const CLONE_NEWUTS: u64 = 0x4000000;
    pub const CLONE_NEWIPC: u64 = 0x8000000;
    pub const CLONE_NEWUSER: u64 = 0x10000000;
    pub const CLONE_NEWPID: u64 = 0x20000000;
    pub const CLONE_NEWNET: u64 = 0x40000000;
    pub const CLONE_IO: u64 = 0x80000000;
}
use flags::*;

/// Flags this kernel implements (the rest give `EINVAL`).
const SUPPORTED: u64 = CSIGNAL
    | CLONE_VM
    | CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_PIDFD
    | CLONE_VFORK
    | CLONE_PARENT
    | CLONE_THREAD
    | CLONE_SYSVSEM
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID
    | CLONE_DETACHED
    | CLONE_CHILD_SETTID
    | CLONE_IO;

/// The arguments of `clone`/`clone3`, normalised.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneArgs {
    /// `CLONE_*` flags (without the exit signal).
    pub flags: u64,
    /// Signal to the parent when the child exits (0: none).
    pub exit_signal: u64,
    /// New stack pointer for the child (0: same as the caller).
    pub stack: u64,
    /// `CLONE_PARENT_SETTID` address.
    pub parent_tid: u64,
    /// `CLONE_CHILD_SETTID`/`CLONE_CHILD_CLEARTID` address.
    pub child_tid: u64,
    /// `CLONE_SETTLS` value (the new FS base).
    pub tls: u64,
    /// `CLONE_PIDFD`: where to store the child's pidfd.
    pub pidfd: u64,
}

/// Checks flag combinations exactly as Linux's `copy_process` does.
fn validate(a: &CloneArgs) -> Result<()> {
    let f = a.flags;
    if f & (CLONE_NEWNS | CLONE_FS) == (CLONE_NEWNS | CLONE_FS) {
        return_errno_with_message!(EINVAL, "CLONE_NEWNS with CLONE_FS");
    }
    if f & (CLONE_NEWUSER | CLONE_FS) == (CLONE_NEWUSER | CLONE_FS) {
        return_errno_with_message!(EINVAL, "CLONE_NEWUSER with CLONE_FS");
    }
    if f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0 {
        return_errno_with_message!(EINVAL, "CLONE_THREAD requires CLONE_SIGHAND");
    }
    if f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0 {
        return_errno_with_message!(EINVAL, "CLONE_SIGHAND requires CLONE_VM");
    }
    if f & CLONE_THREAD != 0 && f & (CLONE_NEWUSER | CLONE_NEWPID) != 0 {
        return_errno_with_message!(EINVAL, "CLONE_THREAD with a new namespace");
    }
    if a.exit_signal > 64 {
        return_errno!(EINVAL);
    }
    if f & CLONE_PIDFD != 0 {
        // Pidfds of threads (Linux 6.9) are not supported.
        if f & (CLONE_DETACHED | CLONE_THREAD) != 0 {
            return_errno!(EINVAL);
        }
        if f & CLONE_PARENT_SETTID != 0 && a.pidfd == a.parent_tid {
            return_errno_with_message!(
                EINVAL,
                "CLONE_PIDFD and CLONE_PARENT_SETTID share the field"
            );
        }
    }
    if f & !SUPPORTED != 0 {
        log::debug!("clone: unsupported flags {:#x}", f & !SUPPORTED);
        return_errno_with_message!(EINVAL, "unsupported clone flags");
    }
    Ok(())
}

/// Creates a thread or process as `clone` does; returns the child's tid.
/// The caller's registers are `user`; with `CLONE_VFORK`, returns only once
/// the child has released the address space.
///
/// Everything that can fail (limits, ids, memory) happens before the child
/// becomes visible, so a failed `clone` leaves nothing behind.
pub fn clone_current(thread: &Arc<Thread>, user: &UserContext, a: CloneArgs) -> Result<Tid> {
    validate(&a)?;
    let process = thread.process();
    let f = a.flags;
    // The limits first: a fork bomb's failing forks must stay cheap.
    let creds = thread.credentials();
    let charge = ThreadCharge::for_new_thread_of(process, &creds)?;
    crate::vm::oom::check_user_memory()?;

    let mut child_ctx = user.clone();
    child_ctx.set_syscall_ret(0);
    if a.stack != 0 {
        child_ctx.set_rsp(a.stack);
    }
    if f & CLONE_SETTLS != 0 {
        if a.tls >= crate::vm::layout::TASK_SIZE_MAX {
            return_errno!(EPERM);
        }
        child_ctx
            .set_fs_base(a.tls)
            .map_err(|_| Error::new(EPERM))?;
    }
    let clear_tid = if f & CLONE_CHILD_CLEARTID != 0 {
        a.child_tid
    } else {
        0
    };
    let set_tid = if f & CLONE_CHILD_SETTID != 0 {
        a.child_tid
    } else {
        0
    };

    if f & CLONE_THREAD != 0 {
        let tid_ref = IdRef::alloc()?;
        let tid = tid_ref.id();
        let new = ThreadBuilder::new(process.clone())
            .charge(charge)
            .credentials(creds)
            .tid(tid_ref)
            .inherit_from(thread)
            .sig_mask(thread.sig_mask())
            .clear_child_tid(clear_tid)
            .set_child_tid(set_tid)
            .build(child_ctx)?;
        // Linux writes the tid for the parent before the child runs and
        // ignores a fault.
        if f & CLONE_PARENT_SETTID != 0 {
            let _ = process.vmar().write_val(a.parent_tid, &tid);
        }
        new.start()?;
        return Ok(tid);
    }

    // CLONE_PARENT: a sibling of the caller. Linux gives it the exit signal
    // of the caller's own (group leader's) exit, whatever was asked, and
    // refuses it to init, whose "parent" is the kernel.
    let (parent, exit_signal) = if f & CLONE_PARENT != 0 {
        if process.is_init() {
            return_errno_with_message!(EINVAL, "CLONE_PARENT from init");
        }
        let parent = process.parent().ok_or(Error::new(EINVAL))?;
        (parent, process.exit_signal())
    } else {
        (
            process.clone(),
            (a.exit_signal != 0).then_some(a.exit_signal as u8),
        )
    };
    let vmar = if f & CLONE_VM != 0 {
        process.vmar()
    } else {
        process.vmar().fork()?
    };
    let files = if f & CLONE_FILES != 0 {
        process.files()
    } else {
        Arc::new(Mutex::new(process.files().lock().clone()))
    };
    let fs = if f & CLONE_FS != 0 {
        process.fs()
    } else {
        Arc::new(Mutex::new(process.fs().lock().clone()))
    };
    let sig_actions = if f & CLONE_SIGHAND != 0 {
        process.sig_actions().clone()
    } else {
        Arc::new(ostd::sync::SpinLock::new(SigActions::clone(
            &process.sig_actions().lock(),
        )))
    };
    let pid_ref = IdRef::alloc()?;
    let pid = pid_ref.id();
    let child = ProcessBuilder::new()
        .pid(pid_ref)
        .parent(&parent)
        .vmar(vmar.clone())
        .files(files)
        .fs(fs)
        .sig_actions(sig_actions)
        .group(process.pgid(), process.sid())
        .exit_signal(exit_signal)
        .exe_path(process.exe_path())
        .credentials(creds)
        .rlimits(process.rlimits())
        .build_unregistered()?;
    child.set_exe(process.exe_path(), process.cmdline());
    child.set_dumpable(process.dumpable());
    if process.no_new_privs() {
        child.set_no_new_privs();
    }
    child.set_comm(process.comm().as_bytes());
    let new = ThreadBuilder::new(child.clone())
        .charge(charge)
        .main_thread()
        .inherit_from(thread)
        .sig_mask(thread.sig_mask())
        .clear_child_tid(clear_tid)
        .set_child_tid(set_tid)
        .build(child_ctx)?;
    // The alternate signal stack is inherited, except by a child that
    // runs on the same memory concurrently (Linux's sas_ss_reset).
    if f & (CLONE_VM | CLONE_VFORK) != CLONE_VM {
        let (base, size) = thread.alt_stack();
        new.thread().set_alt_stack(base, size);
    }
    let pidfd = if f & CLONE_PIDFD != 0 {
        Some(crate::fs::pidfd::install_for_child(
            process, &child, a.pidfd,
        )?)
    } else {
        None
    };

    // Nothing fails from here on.
    if f & CLONE_PARENT_SETTID != 0 {
        let _ = process.vmar().write_val(a.parent_tid, &pid);
    }
    let vfork_done = (f & CLONE_VFORK != 0).then(|| {
        let c = Arc::new(Completion::new());
        child.set_vfork_done(c.clone());
        c
    });
    // A new process cannot be exiting yet.
    new.attach()?;
    // A signal that reaches us while we fork and would not reach the child
    // (a group kill that missed it) makes us back out and restart the fork
    // after the signal is handled, as Linux does.
    if !child.register_unless(|| thread.has_pending_work()) {
        // The thread and its process point at each other: break the cycle.
        new.detach();
        if let Some(fd) = pidfd {
            let _ = process.files().lock().remove(fd);
        }
        return_errno_with_message!(ERESTARTNOINTR, "signal during fork");
    }
    if f & CLONE_FILES != 0 {
        process.files().lock().share();
    }
    new.run();

    if let Some(done) = vfork_done {
        // Only this thread sleeps; the others keep running. A fatal signal
        // ends the wait early (Linux: a killable wait).
        done.wait_interruptible(|| {
            thread.is_exiting() || thread.sig_pending().contains(sig::SIGKILL)
        });
    }
    Ok(pid)
}
