//! `execve`: replace the process image.
//!
//! The new image is built completely first (`program_loader`); only then,
//! past the point of no return, is the old one replaced. At that point the
//! other threads exit, close-on-exec descriptors close, caught signals
//! revert to their defaults (ignored ones stay ignored, the mask is kept),
//! POSIX timers are deleted, the credentials computed by the loader (set-id
//! bits, capabilities) take effect and a vfork parent is released.

use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::user::UserContext;

use super::Thread;
use super::program_loader::{LoadedProgram, load_program, load_program_from};
use crate::fs::inode::Inode;
use crate::prelude::*;

/// Replaces the image of `thread`'s process with the program at `path`
/// (or `inode`, for `execveat` with `AT_EMPTY_PATH`).
pub fn execve(
    thread: &Arc<Thread>,
    user: &mut UserContext,
    path: &[u8],
    inode: Option<Arc<dyn Inode>>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> Result<()> {
    let process = thread.process();
    let fs = process.fs().lock().clone();
    let program: LoadedProgram = match inode {
        Some(i) => load_program_from(&fs, i, path, argv, envp)?,
        None => load_program(&fs, path, argv, envp)?,
    };

    // Point of no return.
    for t in process.threads() {
        if !Arc::ptr_eq(&t, thread) {
            t.request_exit();
        }
    }
    // Wait for the other threads to leave (Linux's de_thread).
    while process.threads().len() > 1 {
        ostd::task::yield_now();
    }

    // The old image's robust and PI futexes die with it (Linux's
    // exec_mm_release), while its memory is still loaded.
    super::futex::release_all(thread, &process.vmar(), true);
    thread.set_robust_list(0);
    process.set_vmar(program.vmar.clone());
    program.vmar.activate();
    // A table shared with another process (`CLONE_FILES`) is copied
    // first, as Linux's exec unshares it: closing the close-on-exec
    // descriptors must not close them for the other process.
    process.unshare_files();
    process.files().lock().close_on_exec();
    process.sig_actions().lock().reset_for_exec();
    process.posix_timers().clear();
    thread.set_alt_stack(0, 0);
    // Dumpable unless the old effective ids differ from the real ones
    // (Linux's `begin_new_exec` looks at the caller's credentials); the
    // new credentials may take it away again, and a set-user-id or
    // set-group-id exec clears the parent-death signal.
    let old = thread.credentials();
    process.set_dumpable(old.euid == old.ruid && old.egid == old.rgid);
    if program.creds.is_secure_exec() {
        process.set_pdeath_signal(0);
    }
    // The thread that execs is the process's only one now: its
    // credentials are the process's, even if it was not the main thread.
    process.set_credentials(program.creds.clone());
    thread.set_credentials(program.creds.clone());
    thread.set_clear_child_tid(0);
    program.name_process(process, path);

    let mut ctx = UserContext::new();
    ctx.set_rip(program.entry);
    ctx.set_rsp(program.sp);
    *user = ctx;

    process.vfork_release();
    Ok(())
}
