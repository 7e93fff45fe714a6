//! Loading a program into a new address space, as `execve` does.
//!
//! Binary formats are tried in order: `#!` scripts (which re-enter the
//! loader with the interpreter, up to [`MAX_INTERP_DEPTH`] levels, then
//! `ELOOP`) and ELF (static, static PIE, or dynamic with `PT_INTERP`).
//! The new address space is built completely here; the caller commits it
//! only if everything succeeded, so a failed `execve` leaves the caller
//! intact.

mod elf;
mod shebang;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::fs::FsContext;
use crate::fs::inode::{Inode, InodeType};
use crate::prelude::*;
use crate::process::credentials::Credentials;
use crate::vm::Vmar;

/// Deepest nesting of `#!` interpreters: Linux's `exec_binprm` gives up
/// past depth 5, so a chain of five scripts still runs and six give `ELOOP`.
pub const MAX_INTERP_DEPTH: usize = 5;

/// A loaded program, ready to run.
pub struct LoadedProgram {
    /// The new address space.
    pub vmar: Arc<Vmar>,
    /// Initial instruction pointer.
    pub entry: u64,
    /// Initial stack pointer.
    pub sp: u64,
    /// Path of the executable finally loaded.
    pub exe_path: String,
    /// The argument strings, NUL-separated (for `/proc/PID/cmdline`).
    pub cmdline: Vec<u8>,
    /// The credentials the program runs with (set-user-id bits and the
    /// capability rules of `execve` applied).
    pub creds: Credentials,
}

impl LoadedProgram {
    /// Records the new program in `process`: its executable, command line,
    /// and name. Linux names the process after the file name given to
    /// execve (`sleep`), not the resolved executable (`busybox`).
    pub fn name_process(&self, process: &super::Process, given_path: &[u8]) {
        process.set_exe(self.exe_path.clone(), self.cmdline.clone());
        process.set_comm(
            given_path
                .rsplit(|&b| b == b'/')
                .next()
                .unwrap_or(given_path),
        );
    }
}

/// Loads the program at `path` with `argv` and `envp`.
pub fn load_program(
    fs: &FsContext,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> Result<LoadedProgram> {
    load_with_depth(fs, None, path, argv, envp, 0)
}

/// Like [`load_program`] with an already-opened file (`execveat` with
/// `AT_EMPTY_PATH`).
pub fn load_program_from(
    fs: &FsContext,
    inode: Arc<dyn Inode>,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> Result<LoadedProgram> {
    load_with_depth(fs, Some(inode), path, argv, envp, 0)
}

fn load_with_depth(
    fs: &FsContext,
    inode: Option<Arc<dyn Inode>>,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    depth: usize,
) -> Result<LoadedProgram> {
    if depth > MAX_INTERP_DEPTH {
        return_errno_with_message!(ELOOP, "too many nested interpreters");
    }
    let inode = match inode {
        Some(i) => i,
        None => fs.lookup(None, path, true)?,
    };
    let meta = inode.metadata();
    if meta.kind != InodeType::File {
        return_errno!(EACCES);
    }
    let creds = crate::process::credentials::current();
    if !creds.may_access(&meta, crate::process::credentials::access::X) {
        return_errno!(EACCES);
    }
    let mut head = [0u8; 256];
    let n = inode.read_at(0, &mut head)?;
    let head = &head[..n];

    if let Some(script) = shebang::parse(head)? {
        let argv = script.new_argv(path, argv);
        return load_with_depth(fs, None, &script.interpreter, argv, envp, depth + 1);
    }
    if head.starts_with(b"\x7fELF") {
        // The identity comes from the file finally run: a script's
        // set-user-id bit is ignored, its interpreter's counts.
        let no_new_privs =
            crate::process::try_current_thread().is_some_and(|t| t.process().no_new_privs());
        let creds = creds.for_exec(&meta, no_new_privs);
        return elf::load(fs, &inode, path, argv, envp, creds);
    }
    return_errno!(ENOEXEC)
}
