//! `wait4`/`waitid`: collect the status of children.

use alloc::sync::Arc;

use super::{ExitStatus, Pid, Process, Thread, table};
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
}

fn matches(c: &Process, w: WaitFor) -> bool {
    match w {
        WaitFor::Any => true,
        WaitFor::Pid(p) => c.pid() == p,
        WaitFor::Group(g) => c.pgid() == g,
    }
}

/// Waits for a child to exit. `Ok(None)` with `no_hang` when none has.
pub fn wait_child(
    thread: &Arc<Thread>,
    w: WaitFor,
    opts: WaitOptions,
) -> Result<Option<(Pid, ExitStatus)>> {
    let process = thread.process();
    process.children_wait.wait_until(|| {
        let children = process.children.lock();
        let mut any = false;
        for c in children.values().filter(|c| matches(c, w)) {
            any = true;
            if let Some(status) = c.exit_status() {
                let pid = c.pid();
                drop(children);
                if !opts.no_wait {
                    reap(process, pid);
                }
                return Some(Ok(Some((pid, status))));
            }
        }
        drop(children);
        if !any {
            return Some(Err(Error::new(ECHILD)));
        }
        if opts.no_hang {
            return Some(Ok(None));
        }
        if thread.has_pending_work() {
            return Some(Err(Error::new(EINTR)));
        }
        None
    })
}

fn reap(parent: &Process, pid: Pid) {
    parent.children.lock().remove(&pid);
    table::remove(pid);
}
