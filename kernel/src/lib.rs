//! The Linux personality of the framekernel.
//!
//! This crate builds processes, memory regions, files, signals and the
//! syscall table on the safe abstractions of `ostd`, in safe Rust only:
//! the compiler enforces that a bug here can be a logic bug, never a
//! memory-safety bug.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod error;
pub mod fs;
pub mod ipc;
pub mod net;
mod prelude;
pub mod process;
pub mod syscall;
pub mod syslog;
pub mod util;
pub mod vm;

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::boot::boot_info;
use ostd::sync::Mutex;

use crate::fs::file_table::FileTable;
use crate::process::{ProcessBuilder, ThreadBuilder};

/// Programs tried as PID 1 when the command line names none.
const DEFAULT_INITS: [&str; 3] = ["/init", "/sbin/init", "/bin/sh"];

/// Options the kernel (or ostd) understands on the command line.
const KNOWN_OPTIONS: [&str; 5] = ["init", "log_level", "ktest.filter", "maxcpus", "acpi"];
/// Options without a value that ostd understands.
const KNOWN_FLAGS: [&str; 1] = ["nosmp"];

/// What the command line asks for.
struct Cmdline {
    init: Option<String>,
    args: Vec<String>,
}

fn parse_cmdline(line: &str) -> Cmdline {
    let (opts, args) = match line.split_once(" -- ") {
        Some((o, a)) => (o, a),
        None => (line.strip_suffix(" --").unwrap_or(line), ""),
    };
    let mut init = None;
    for word in opts.split_whitespace() {
        match word.split_once('=') {
            Some(("init", v)) if !v.is_empty() => init = Some(v.to_string()),
            Some((k, _)) if KNOWN_OPTIONS.contains(&k) => {}
            None if KNOWN_FLAGS.contains(&word) => {}
            _ if word == "--" => {}
            _ => log::warn!("kernel: ignoring unknown command line option {word:?}"),
        }
    }
    Cmdline {
        init,
        args: args.split_whitespace().map(|s| s.to_string()).collect(),
    }
}

/// The kernel's entry point, called by ostd once the machine is set up.
pub fn main() {
    let info = boot_info();
    let total_mib = info.total_usable() >> 20;
    let free_mib = (ostd::mm::free_frames() * ostd::mm::PAGE_SIZE) >> 20;
    log::info!("kernel: memory: {total_mib} MiB total, {free_mib} MiB free");
    log::info!("kernel: command line: {:?}", info.cmdline());
    let initramfs = info.initramfs();
    match (initramfs, info.initrd_range()) {
        (Some(data), _) => log::info!("kernel: initramfs: {} bytes", data.len()),
        (None, Some((base, len))) => {
            log::error!("kernel: initrd at {base:#x} ({len} bytes) is not in usable RAM; ignored")
        }
        (None, None) => log::warn!("kernel: no initramfs"),
    }
    fs::init(initramfs);
    process::table::init_limits();
    if let Err(e) = process::exit::init() {
        log::error!("kernel: cannot set up process exit: {e:?}");
        ostd::power::exit_qemu(ostd::power::ExitStatus::Code(127));
    }

    let cmdline = parse_cmdline(info.cmdline());
    let candidates: Vec<String> = match &cmdline.init {
        Some(p) => alloc::vec![p.clone()],
        None => DEFAULT_INITS.iter().map(|s| s.to_string()).collect(),
    };
    for path in candidates {
        match start_init(&path, &cmdline.args) {
            Ok(()) => {
                ostd::logger::end_of_boot();
                // PID 1's exit powers the machine off; this task just waits.
                let never = ostd::sync::WaitQueue::new();
                never.wait_until(|| None::<()>);
            }
            Err(e) => log::warn!("kernel: cannot run {path} as init: {e:?}"),
        }
    }
    log::error!("kernel: no init program could be started");
    ostd::power::exit_qemu(ostd::power::ExitStatus::Code(127));
}

/// Loads `path` and starts it as PID 1 with the console as its
/// standard input, output and error.
fn start_init(path: &str, args: &[String]) -> error::Result<()> {
    let fs_ctx = fs::FsContext::new();
    let mut argv: Vec<Vec<u8>> = alloc::vec![path.as_bytes().to_vec()];
    argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    let envp: Vec<Vec<u8>> = ["HOME=/", "TERM=linux", "PATH=/sbin:/usr/sbin:/bin:/usr/bin"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let program = process::program_loader::load_program(&fs_ctx, path.as_bytes(), argv, envp)?;

    let tty = fs::tty::TtyFile::open(fs::tty::console(), linux_raw_sys::general::O_RDWR);
    let mut files = FileTable::new();
    for _ in 0..3 {
        files.insert(tty.clone(), false)?;
    }
    let process = ProcessBuilder::new()
        .vmar(program.vmar.clone())
        .files(Arc::new(Mutex::new(files)))
        .fs(Arc::new(Mutex::new(fs_ctx)))
        .exe_path(program.exe_path.clone())
        // Like Linux's init: in session 0 and process group 0, so that it
        // can start a session of its own (`setsid`).
        .group(0, 0)
        .build()?;
    program.name_process(&process, path.as_bytes());
    let mut ctx = ostd::user::UserContext::new();
    ctx.set_rip(program.entry);
    ctx.set_rsp(program.sp);
    ThreadBuilder::new(process.clone())
        .main_thread()
        .spawn(ctx)?;
    log::info!("kernel: started {path} as PID {}", process.pid());
    Ok(())
}
