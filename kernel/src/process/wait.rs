//! `wait4`/`waitid`: collect the status of children.

use alloc::sync::Arc;

use super::{ExitStatus, Pid, Process, Thread};
use crate::prelude::*;

/// Which children to wait for.
#[derive(Clone, Copy, Debug)]
pub enum WaitFor {
    /// Any child.
    Any,
    /// The child with this pid.
    Pid(Pid),
    /// Children in this process group.
    Group(Pid),
}

/// Options of a wait.
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitOptions {
    /// `WNOHANG`: return at once if no child has changed state.
    pub no_hang: bool,
    /// `WNOWAIT`: leave the child waitable.
    pub no_wait: bool,
    /// `WEXITED` (implied by `wait4`).
    pub exited: bool,
    /// `WUNTRACED`/`WSTOPPED`: report stopped children.
    pub stopped: bool,
    /// `WCONTINUED`: report continued children.
    pub continued: bool,
    /// `__WALL`: clone children and the others alike.
    pub all: bool,
    /// `__WCLONE`: only clone children (whose exit signal is not
    /// `SIGCHLD`); without it, only the others.
    pub clone: bool,
}

/// What a wait found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    /// The child exited (and was reaped unless `WNOWAIT`).
    Exited(ExitStatus),
    /// The child stopped with this signal.
    Stopped(super::signal::Signal),
    /// The child continued.
    Continued,
}

impl WaitResult {
    /// The `wait` status word.
    pub fn wait_status(self) -> u32 {
        match self {
            Self::Exited(s) => s.wait_status(),
            Self::Stopped(sig) => ((sig as u32) << 8) | 0x7f,
            Self::Continued => 0xffff,
        }
    }
}

fn matches(c: &Process, w: WaitFor, opts: WaitOptions) -> bool {
    let selected = match w {
        WaitFor::Any => true,
        WaitFor::Pid(p) => c.pid() == p,
        WaitFor::Group(g) => c.pgid() == g,
    };
    // Linux's eligible_child: a "clone" child reports with a signal other
    // than SIGCHLD, and is waited for only with __WCLONE or __WALL.
    let clone_child = c.exit_signal() != Some(super::signal::sig::SIGCHLD);
    selected && (opts.all || clone_child == opts.clone)
}

/// What a wait reports: the child, what happened, and for an exit the
/// CPU time of the child and of the children it reaped (`wait4`'s rusage).
pub type Waited = (Pid, WaitResult, core::time::Duration);

/// Waits for a child to exit. `Ok(None)` with `no_hang` when none has.
pub fn wait_child(thread: &Arc<Thread>, w: WaitFor, opts: WaitOptions) -> Result<Option<Waited>> {
    let process = thread.process();
    process.children_wait.wait_until(|| {
        let children = process.children.lock();
        if opts.exited {
            // Zombies are indexed: no need to look at every child.
            let eligible = |p: &Pid| children.all.get(p).is_some_and(|c| matches(c, w, opts));
            let zombie = match w {
                WaitFor::Pid(p) => children.zombies.get(&p).copied().filter(eligible),
                _ => children.zombies.iter().copied().find(eligible),
            };
            if let Some(c) = zombie.and_then(|p| children.all.get(&p))
                && let Some(status) = c.exit_status()
            {
                let pid = c.pid();
                let time = total_time(c);
                drop(children);
                if !opts.no_wait {
                    reap(process, pid);
                }
                return Some(Ok(Some((pid, WaitResult::Exited(status), time))));
            }
        }
        if opts.stopped || opts.continued {
            for c in children.all.values().filter(|c| matches(c, w, opts)) {
                let event = match c.wait_event() {
                    Some(super::process::WaitEvent::Stopped(s)) if opts.stopped => {
                        Some(WaitResult::Stopped(s))
                    }
                    Some(super::process::WaitEvent::Continued) if opts.continued => {
                        Some(WaitResult::Continued)
                    }
                    _ => None,
                };
                if let Some(r) = event {
                    if !opts.no_wait {
                        c.set_wait_event(None);
                    }
                    return Some(Ok(Some((c.pid(), r, core::time::Duration::ZERO))));
                }
            }
        }
        // Something to wait for: an eligible child that can still report
        // (a zombie reports only its exit, as Linux's notask_error).
        let can_report = |c: &Arc<Process>| matches(c, w, opts) && (opts.exited || !c.is_zombie());
        let any = match w {
            WaitFor::Pid(p) => children.all.get(&p).is_some_and(can_report),
            _ => children.all.values().any(can_report),
        };
        drop(children);
        if !any {
            return Some(Err(Error::new(ECHILD)));
        }
        if opts.no_hang {
            return Some(Ok(None));
        }
        if thread.has_pending_work() {
            return Some(Err(Error::new(ERESTARTSYS)));
        }
        None
    })
}

/// The CPU time of `child` and of the children it reaped.
fn total_time(child: &Process) -> core::time::Duration {
    child.cpu_time() + *child.children_time.lock()
}

fn reap(parent: &Process, pid: Pid) {
    let child = parent.children.lock().remove(pid);
    if let Some(child) = child {
        *parent.children_time.lock() += total_time(&child);
        child.reaped();
    }
}
