//! Processes and threads.
//!
//! A [`Process`] owns the address space, the file table, the file-system
//! context and the signal dispositions; a [`Thread`] (a POSIX thread) is the
//! unit that runs, on an ostd task, with its own registers, signal mask and
//! pending signals. The files map to Linux's: `clone.rs`, `execve.rs`,
//! `exit.rs`, `wait.rs`, `program_loader/`.

pub mod capabilities;
pub mod clone;
pub mod credentials;
pub mod execve;
pub mod exit;
pub mod futex;
pub mod itimer;
pub mod posix_timer;
#[allow(clippy::module_inception)]
mod process;
pub mod program_loader;
pub mod rlimit;
pub mod sched;
pub mod signal;
pub mod signal_delivery;
pub mod signal_frame;
pub mod table;
mod thread;
pub mod uts;
pub mod wait;

pub use process::{ExitStatus, Pid, Process, ProcessBuilder};
pub use table::{all_processes, find_process, init_process};
pub use thread::{NewThread, Restart, Thread, ThreadBuilder, Tid};

use alloc::sync::Arc;

use crate::vm::Vmar;

/// The thread running on the current task; `ESRCH` on a kernel task
/// (file operations such as ioctls can only come from user threads, but
/// must not crash if called otherwise).
pub fn current_thread() -> crate::error::Result<Arc<Thread>> {
    try_current_thread().ok_or(crate::error::Error::new(crate::error::ESRCH))
}

/// The processes of a process group.
pub fn processes_in_group(pgid: Pid) -> alloc::vec::Vec<Arc<Process>> {
    all_processes()
        .into_iter()
        .filter(|p| p.pgid() == pgid)
        .collect()
}

/// The thread with `tid`, in any process.
pub fn find_thread(tid: Tid) -> Option<Arc<Thread>> {
    all_processes()
        .into_iter()
        .find_map(|p| p.threads().into_iter().find(|t| t.tid() == tid))
}

/// The current user thread, if the current task runs one.
pub fn try_current_thread() -> Option<Arc<Thread>> {
    ostd::task::try_current()?
        .data()
        .downcast_ref::<Arc<Thread>>()
        .cloned()
}

/// Whether the current thread (if any) is being killed: long kernel loops
/// that have no thread at hand stop early then.
pub fn fatal_signal_pending() -> bool {
    try_current_thread().is_some_and(|t| t.fatal_signal_pending())
}

/// The address space of the current process.
pub fn current_vmar() -> crate::error::Result<Arc<Vmar>> {
    Ok(current_thread()?.process().vmar())
}
