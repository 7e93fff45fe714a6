//! Acting on pending signals before a thread returns to user mode:
//! default actions (terminate, dump core, stop, continue, ignore), user
//! handlers, and restarting interrupted syscalls.

use alloc::sync::Arc;

use ostd::user::UserContext;

use super::exit::exit_process;
use super::signal::{DefaultAction, SIG_DFL, SIG_IGN, default_action, sa, sig};
use super::{ExitStatus, Process, Restart, Thread};

/// Acts on every deliverable pending signal of `thread`.
pub fn handle_pending_signals(thread: &Arc<Thread>, ctx: &mut UserContext) {
    let restart = thread.take_restart();
    let mut handler_ran = false;
    while let Some((s, info)) = thread.take_signal() {
        let action = thread.process().sig_actions().lock().get(s);
        let forced = thread.take_forced(s);
        if (s == sig::SIGKILL || action.handler == SIG_DFL) && thread.process().is_init() && !forced
        {
            // Init gets no default actions but those of its own faults
            // (checked again here: the signal may have been blocked when
            // it was sent).
            continue;
        }
        if s == sig::SIGKILL || action.handler == SIG_DFL {
            match default_action(s) {
                DefaultAction::Ignore | DefaultAction::Continue => {}
                DefaultAction::Stop => stop_process(thread.process(), s),
                DefaultAction::Terminate => {
                    exit_process(
                        thread.process(),
                        ExitStatus::Signaled {
                            signal: s,
                            core: false,
                        },
                    );
                    return;
                }
                DefaultAction::Core => {
                    exit_process(
                        thread.process(),
                        ExitStatus::Signaled {
                            signal: s,
                            core: true,
                        },
                    );
                    return;
                }
            }
        } else if action.handler == SIG_IGN {
            continue;
        } else {
            // An interrupted syscall either restarts (SA_RESTART) or fails
            // with EINTR once a handler runs.
            if let Some((nr, how)) = restart
                && !handler_ran
            {
                let again = match how {
                    Restart::Always => true,
                    Restart::IfSaRestart => action.flags & sa::SA_RESTART != 0,
                    Restart::NoHandler => false,
                };
                if again {
                    rewind(ctx, nr);
                } else {
                    ctx.set_syscall_ret(-(crate::error::EINTR.0 as i64) as u64);
                }
            }
            handler_ran = true;
            super::signal_frame::deliver(thread, ctx, s, action, info);
        }
        if thread.is_exiting() {
            return;
        }
    }
    if !handler_ran {
        if let Some((nr, _)) = restart {
            rewind(ctx, nr);
        }
        if let Some(m) = thread.take_saved_mask() {
            thread.set_sig_mask(m);
        }
    }
    wait_while_stopped(thread);
}

/// Makes the thread execute the `syscall` instruction again.
fn rewind(ctx: &mut UserContext, nr: u64) {
    ctx.set_rip(ctx.rip() - 2);
    ctx.set_rax(nr);
}

/// Stops the process (a stop signal's default action): the parent may
/// learn of it through `wait` with `WUNTRACED` and gets `SIGCHLD` unless it
/// asked for `SA_NOCLDSTOP`.
pub fn stop_process(process: &Arc<Process>, s: super::signal::Signal) {
    if !process.set_stopped(true) {
        return;
    }
    process.set_wait_event(Some(super::process::WaitEvent::Stopped(s)));
    notify_parent(
        process,
        sa::SA_NOCLDSTOP,
        super::signal::si::CLD_STOPPED,
        s as i32,
    );
}

/// Resumes a stopped process (`SIGCONT`, `SIGKILL`).
pub fn continue_process(process: &Arc<Process>) {
    if !process.set_stopped(false) {
        return;
    }
    process.set_wait_event(Some(super::process::WaitEvent::Continued));
    process.stop_queue.wake_all();
    notify_parent(
        process,
        sa::SA_NOCLDSTOP,
        super::signal::si::CLD_CONTINUED,
        sig::SIGCONT as i32,
    );
}

fn notify_parent(process: &Arc<Process>, suppress_flag: u64, code: i32, status: i32) {
    if let Some(parent) = process.parent() {
        let flags = parent.sig_actions().lock().get(sig::SIGCHLD).flags;
        if flags & suppress_flag == 0 {
            let info = super::signal::SigInfo {
                code,
                pid: process.pid(),
                uid: 0,
                status,
                addr: 0,
                value: 0,
            };
            super::exit::send_to_process_info(&parent, sig::SIGCHLD, info);
        }
        parent.children_wait.wake_all();
    }
}

/// Sleeps while the process is stopped (until `SIGCONT` or `SIGKILL`).
fn wait_while_stopped(thread: &Arc<Thread>) {
    let process = thread.process();
    process.stop_queue.wait_until(|| {
        (!process.is_stopped()
            || thread.is_exiting()
            || thread.sig_pending().contains(sig::SIGKILL))
        .then_some(())
    });
}
