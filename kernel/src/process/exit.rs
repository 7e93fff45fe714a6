//! Exit: threads leaving, processes becoming zombies, and the default
//! actions of fatal signals.

use alloc::sync::Arc;

use ostd::user::{CpuException, UserContext};

use super::signal::{SIG_IGN, Signal, sig};
use super::{ExitStatus, Process, Thread, table};

/// Ends the whole process with `status` (`exit_group`, fatal signal):
/// every thread leaves its loop; the last one out finishes the exit.
pub fn exit_process(process: &Arc<Process>, status: ExitStatus) {
    {
        let mut s = process.exit_status_pending.lock();
        if s.is_none() {
            *s = Some(status);
        }
    }
    // Taken after the status is set: a thread that `clone` adds later sees
    // it and is not started (see `NewThread::start`).
    for t in process.threads.lock().iter() {
        t.request_exit();
    }
}

/// Called on the thread's own task when it has left its user loop.
pub fn thread_exited(thread: &Arc<Thread>) {
    let process = thread.process().clone();
    // As Linux's mm_release: robust futexes still held are marked as
    // their owner's death, waking a waiter (with a shared-futex key, as
    // Linux does), and PI futexes it owns are handed on; lockers see the
    // thread until that is done.
    let vmar = process.vmar();
    super::futex::release_all(thread, &vmar, false);
    *process.exited_threads_time.lock() += thread.cpu_time();
    let last = {
        let mut threads = process.threads.lock();
        threads.retain(|t| !Arc::ptr_eq(t, thread));
        threads.is_empty()
    };
    let charge = thread.take_charge();
    if thread.tid() == process.pid() {
        process.keep_charge_until_reaped(charge);
    } else {
        drop(charge);
    }
    // Then CLONE_CHILD_CLEARTID zeroes the tid word and wakes a waiter.
    let addr = thread.clear_child_tid();
    if addr != 0 && vmar.write_val(addr, &0u32).is_ok() {
        super::futex::wake_one_shared(&vmar, addr);
    }
    // Let go of the address space before the parent hears of the exit
    // (Linux's `exit_mm` comes before `exit_notify`): a parent woken by it
    // may run first, and must find the memory (shared memory attachments)
    // released.
    drop(vmar);
    if last {
        let status = process
            .exit_status_pending
            .lock()
            .unwrap_or(ExitStatus::Exited(0));
        process_exited(&process, status);
    }
}

/// Turns the process into a zombie and tells its parent.
fn process_exited(process: &Arc<Process>, status: ExitStatus) {
    // Release resources now; the zombie keeps only its status.
    process.posix_timers().clear();
    // The descriptors close with the table's last user (`CLONE_FILES`
    // shares it between processes).
    let files = process.files().lock().leave();
    drop(files);
    if process.pid() == process.sid() {
        crate::fs::tty::session_leader_exited(process.sid());
    }
    crate::ipc::sem::exit_undo(process.pid());
    if let Some(dead) = DEAD_VMAR.get() {
        process.set_vmar(dead.clone());
    }

    if process.pid() == 1 {
        log::info!("init exited: {status:?}");
        ostd::power::exit_qemu(ostd::power::ExitStatus::Code(status.shell_status()));
    }

    // Re-parent the children to the nearest subreaper or init, then send
    // the parent-death signals (`PR_SET_PDEATHSIG`): as in Linux, a child
    // woken by that signal already sees its new parent.
    let children = process.children.lock().take_all();
    if let Some(reaper) = new_parent_for_orphans(process) {
        for c in children.values() {
            *c.parent.lock() = Arc::downgrade(&reaper);
            // Linux (`reparent_leader`): "we don't want people slaying
            // init": the orphan's exit signal becomes SIGCHLD.
            c.set_exit_signal(Some(sig::SIGCHLD));
            reaper.children.lock().insert(c.clone());
            if let Some(st) = c.exit_status() {
                notify_parent_of_exit(&reaper, c, st);
            }
        }
    }
    for c in children.values() {
        let s = c.pdeath_signal();
        if s != 0 && !c.is_zombie() {
            send_to_process(c, s);
        }
    }

    *process.exit_status.lock() = Some(status);
    if let Some(parent) = process.parent() {
        parent.children.lock().mark_zombie(process.pid());
        notify_parent_of_exit(&parent, process, status);
    }
    process.vfork_release();
    // Its pidfds have become readable.
    crate::fs::poll::notify();
}

/// Where the children of the exiting `process` go: the nearest ancestor
/// that is a child subreaper and still alive (`PR_SET_CHILD_SUBREAPER`),
/// else init.
fn new_parent_for_orphans(process: &Arc<Process>) -> Option<Arc<Process>> {
    let mut cur = process.parent();
    while let Some(p) = cur {
        if p.is_init() {
            break;
        }
        if p.is_child_subreaper() && !p.is_zombie() && p.exit_status_pending.lock().is_none() {
            return Some(p);
        }
        cur = p.parent();
    }
    table::init_process()
}

/// Tells `parent` that its child `child` has exited with `status`: the
/// child's exit signal with `CLD_*` information, or, when the parent
/// ignores `SIGCHLD` (or set `SA_NOCLDWAIT`), immediate reaping.
fn notify_parent_of_exit(parent: &Arc<Process>, child: &Arc<Process>, status: ExitStatus) {
    let auto_reap = {
        let actions = parent.sig_actions().lock();
        let a = actions.get(sig::SIGCHLD);
        a.handler == SIG_IGN || a.flags & super::signal::sa::SA_NOCLDWAIT != 0
    };
    if auto_reap {
        parent.children.lock().remove(child.pid());
        child.reaped();
    } else if let Some(s) = child.exit_signal() {
        use super::signal::si;
        let (code, st) = match status {
            ExitStatus::Exited(c) => (si::CLD_EXITED, c as i32),
            ExitStatus::Signaled { signal, core } => (
                if core { si::CLD_DUMPED } else { si::CLD_KILLED },
                signal as i32,
            ),
        };
        let info = super::signal::SigInfo {
            code,
            pid: child.pid(),
            uid: 0,
            status: st,
            addr: 0,
            value: 0,
        };
        send_to_process_info(parent, s, info);
    }
    parent.children_wait.wake_all();
}

/// The address space of dead processes: empty, shared by all zombies.
static DEAD_VMAR: ostd::sync::Once<Arc<crate::vm::Vmar>> = ostd::sync::Once::new();

/// Creates what exiting processes need, at boot: an exit must never
/// allocate, since it is how memory comes back when there is none.
pub fn init() -> crate::error::Result<()> {
    DEAD_VMAR.set(crate::vm::Vmar::new()?);
    Ok(())
}

/// Kills `process` to free memory (the OOM killer's `SIGKILL`, which
/// nothing can block or catch).
pub fn kill_for_oom(process: &Arc<Process>) {
    exit_process(
        process,
        ExitStatus::Signaled {
            signal: sig::SIGKILL,
            core: false,
        },
    );
}

/// Queues `s` for the process: on a thread that does not block it, else
/// the main thread. `SIGCONT` and `SIGKILL` also resume a stopped process
/// at once, and a stop signal cancels a pending `SIGCONT` (and vice versa),
/// as Linux does when the signal is sent.
pub fn send_to_process(process: &Arc<Process>, s: Signal) {
    send_to_process_info(process, s, super::signal::SigInfo::KERNEL);
}

/// [`send_to_process`] with the signal's origin.
pub fn send_to_process_info(process: &Arc<Process>, s: Signal, info: super::signal::SigInfo) {
    // Chosen under the lock, without copying the thread list: exit paths
    // send signals too, and must not allocate.
    let target = {
        let threads = process.threads.lock();
        if s == sig::SIGCONT || s == sig::SIGKILL {
            for t in threads.iter() {
                for stop in [sig::SIGSTOP, sig::SIGTSTP, sig::SIGTTIN, sig::SIGTTOU] {
                    t.clear_pending(stop);
                }
            }
        } else if super::signal::is_stop_signal(s) {
            for t in threads.iter() {
                t.clear_pending(sig::SIGCONT);
            }
        }
        threads
            .iter()
            .find(|t| !t.sig_mask().contains(s))
            .or_else(|| threads.first())
            .cloned()
    };
    if s == sig::SIGCONT || s == sig::SIGKILL {
        super::signal_delivery::continue_process(process);
    }
    if let Some(t) = target {
        t.send_signal_info(s, info);
    }
}

/// A CPU exception in user mode: resolve page faults, else signal.
pub fn handle_exception(thread: &Arc<Thread>, ctx: &mut UserContext, e: CpuException) {
    let s = match e.vector {
        CpuException::PAGE_FAULT => {
            let vmar = thread.process().vmar();
            let fault = vmar.handle_fault(
                e.page_fault_addr,
                e.is_write(),
                e.is_fetch(),
                e.is_protection(),
            );
            let Err(err) = fault else {
                return;
            };
            if err.errno() == crate::error::ENOMEM {
                // No frame: free memory by killing someone, then retry.
                crate::vm::oom::out_of_memory(thread);
                return;
            }
            if err.errno() == crate::error::EIO || err.errno() == crate::error::ENOSPC {
                // A mapped file page past the end of the file, or past the
                // size of its tmpfs.
                let info = super::signal::SigInfo {
                    code: super::signal::si::BUS_ADRERR,
                    pid: 0,
                    uid: 0,
                    status: 0,
                    addr: e.page_fault_addr,
                    value: 0,
                };
                thread.force_signal_info(sig::SIGBUS, info);
                return;
            }
            // Like Linux's "segfault at" line, to help debugging programs.
            log::info!(
                "{} (pid {}): segfault at {:#x} ip {:#x} sp {:#x} error {:#x}",
                thread.process().exe_path(),
                thread.process().pid(),
                e.page_fault_addr,
                ctx.rip(),
                ctx.rsp(),
                e.error_code
            );
            // Linux: `SEGV_ACCERR` when a mapping is there but forbids the
            // access (a `PROT_NONE` page faults as absent), else
            // `SEGV_MAPERR`.
            let code = if e.is_protection() || vmar.is_mapped(e.page_fault_addr, 1) {
                super::signal::si::SEGV_ACCERR
            } else {
                super::signal::si::SEGV_MAPERR
            };
            let info = super::signal::SigInfo {
                code,
                pid: 0,
                uid: 0,
                status: 0,
                addr: e.page_fault_addr,
                value: 0,
            };
            thread.force_signal_info(sig::SIGSEGV, info);
            return;
        }
        0 | 16 | 19 => sig::SIGFPE,
        6 => sig::SIGILL,
        1 | 3 => sig::SIGTRAP,
        17 => sig::SIGBUS,
        _ => {
            log::info!(
                "{} (pid {}): {} (error {:#x}) at ip {:#x}",
                thread.process().exe_path(),
                thread.process().pid(),
                ostd::trap::exception_name(e.vector),
                e.error_code,
                ctx.rip()
            );
            sig::SIGSEGV
        }
    };
    thread.force_signal_info(s, super::signal::SigInfo::KERNEL);
}
