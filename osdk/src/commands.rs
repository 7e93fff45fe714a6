//! The `build` and `run` commands, and the preparation shared with
//! `test-apps`.

use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::builder::{self, Workspace};
use crate::cli::{BuildArgs, RunArgs};
use crate::initramfs::Tree;
use crate::qemu::{self, Accel, Console, QemuConfig};
use crate::runner::{self, PipeOptions};
use crate::status::{NO_REPORT_STATUS, Outcome, QemuEnd};
use crate::summary;

/// Default `osdk run` timeout, in seconds.
pub const RUN_TIMEOUT: u64 = 600;

/// `osdk build`: builds the kernel and prints the path of the ELF.
pub fn build(args: &BuildArgs) -> Result<u8, String> {
    let ws = Workspace::locate(args.workspace.as_deref())?;
    let elf = builder::build_kernel(&ws, args.profile, args.ktest)?;
    println!("{}", elf.display());
    Ok(0)
}

/// What every boot of a run needs, prepared once.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// The packed initramfs, if any directories were given.
    pub initrd: Option<PathBuf>,
    /// The accelerator.
    pub accel: Accel,
    /// `target/osdk`.
    pub osdk_dir: PathBuf,
}

impl Prepared {
    /// Builds (unless told not to) the kernel, packs the initramfs and picks
    /// the accelerator.
    pub fn new(args: &RunArgs) -> Result<Prepared, String> {
        let ws = Workspace::locate(args.build.workspace.as_deref())?;
        let osdk_dir = ws.ensure_osdk_dir()?;
        let kernel = if let Some(kernel) = &args.kernel {
            kernel
                .canonicalize()
                .map_err(|e| format!("kernel {}: {e}", kernel.display()))?
        } else if args.no_build {
            let name = if args.build.ktest {
                "kernel-ktest"
            } else {
                "kernel"
            };
            let path = osdk_dir.join(name);
            if !path.is_file() {
                return Err(format!(
                    "{} does not exist; build it first (osdk build{})",
                    path.display(),
                    if args.build.ktest { " --ktest" } else { "" }
                ));
            }
            path
        } else {
            builder::build_kernel(&ws, args.build.profile, args.build.ktest)?
        };
        let initrd = if args.initramfs.is_empty() {
            None
        } else {
            Some(pack_initramfs(&args.initramfs, &osdk_dir)?)
        };
        Ok(Prepared {
            kernel,
            initrd,
            accel: qemu::select_host_accel(args.accel),
            osdk_dir,
        })
    }

    /// The QEMU configuration for one boot with the given command line.
    pub fn qemu_config(&self, args: &RunArgs, cmdline: String, console: Console) -> QemuConfig {
        QemuConfig {
            kernel: self.kernel.clone(),
            initrd: self.initrd.clone(),
            cmdline,
            accel: self.accel,
            cpu: args.cpu.clone(),
            mem: args.mem.clone(),
            smp: args.smp,
            icount: args.icount,
            gdb: args.gdb,
            status_file: self
                .osdk_dir
                .join(format!("status-{}.txt", std::process::id())),
            console,
        }
    }
}

/// Packs the directories into `<osdk_dir>/initramfs.cpio.gz`. The archive is
/// written under a temporary name and renamed, so a QEMU reading the
/// previous one is not disturbed.
pub fn pack_initramfs(dirs: &[PathBuf], osdk_dir: &Path) -> Result<PathBuf, String> {
    let tree = Tree::from_dirs(dirs).map_err(|e| format!("initramfs: {e}"))?;
    for warning in tree.warnings() {
        eprintln!("osdk: warning: initramfs: {warning}");
    }
    let dest = osdk_dir.join("initramfs.cpio.gz");
    let tmp = osdk_dir.join(format!("initramfs.cpio.gz.tmp-{}", std::process::id()));
    let result = tree
        .write_cpio_gz(&tmp)
        .map_err(|e| format!("initramfs: {e}"))
        .and_then(|()| fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display())));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    eprintln!(
        "osdk: packed {} entries into {}",
        tree.paths().count(),
        dest.display()
    );
    Ok(dest)
}

/// Converts a timeout in seconds (0 = none) to a duration.
pub fn timeout(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Prints the one-line notes about how a run ended that deserve attention.
pub fn report_end(outcome: Outcome, end: QemuEnd, timeout_secs: u64) {
    match outcome {
        Outcome::Timeout => eprintln!("osdk: timeout after {timeout_secs} s"),
        Outcome::Panic => eprintln!("osdk: the guest kernel panicked"),
        Outcome::NoReport => match end {
            QemuEnd::Exited(Some(code)) => {
                eprintln!("osdk: QEMU exited with status {code} and no report from the guest")
            }
            _ => eprintln!("osdk: QEMU was killed and the guest sent no report"),
        },
        Outcome::Exit(_) => {}
    }
}

/// `osdk run`: boots the kernel once and returns the exit status.
pub fn run(args: &RunArgs) -> Result<u8, String> {
    let prepared = match Prepared::new(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("osdk: error: {e}");
            return Ok(NO_REPORT_STATUS);
        }
    };
    let log = match &args.log {
        Some(path) => {
            Some(std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let console = if std::io::stdin().is_terminal() && !args.summary {
        Console::Terminal { log: log.clone() }
    } else {
        Console::Pipe
    };
    let interactive_console = matches!(console, Console::Terminal { .. });
    let config = prepared.qemu_config(args, args.cmdline.clone(), console);
    // An interactive session on a terminal never times out unless asked
    // to: a timeout would end someone's shell in the middle of their work.
    let interactive = interactive_console;
    let timeout_secs = if args.gdb {
        0
    } else {
        args.timeout
            .unwrap_or(if interactive { 0 } else { RUN_TIMEOUT })
    };
    if args.gdb {
        eprintln!(
            "osdk: QEMU waits for a debugger; attach with: gdb {} -ex 'target remote :1234'",
            prepared.kernel.display()
        );
    }
    eprintln!(
        "osdk: booting {} ({}{})",
        prepared.kernel.display(),
        prepared.accel.name(),
        if prepared.initrd.is_some() {
            ", with initramfs"
        } else {
            ""
        }
    );
    let pipe = PipeOptions {
        echo: true,
        keep: args.summary,
        log: log.as_deref(),
        no_stdin: false,
    };
    let result = match runner::run(&config, timeout(timeout_secs), &pipe) {
        Ok(result) => result,
        Err(e) => {
            eprintln!("osdk: error: {e}");
            return Ok(NO_REPORT_STATUS);
        }
    };
    let outcome = result.outcome();
    report_end(outcome, result.end, timeout_secs);
    if !args.summary {
        return Ok(outcome.exit_status());
    }
    Ok(summary_status(&result.output, outcome))
}

/// The exit status of `run --summary`: 0 only when the last summary line
/// shows no failure and at least one pass, and the guest neither panicked
/// nor timed out; 1 otherwise.
fn summary_status(output: &[u8], outcome: Outcome) -> u8 {
    match summary::last_summary(output) {
        None => {
            eprintln!("osdk: no `N passed, M failed` line in the output");
            1
        }
        Some((line, counts)) => {
            eprintln!("osdk: summary: {line}");
            if !counts.is_success() {
                1
            } else if matches!(outcome, Outcome::Panic | Outcome::Timeout) {
                eprintln!("osdk: the tests passed but the run did not end cleanly");
                1
            } else {
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_decides_the_status() {
        let ok = b"boot\n3 passed, 0 failed\n";
        assert_eq!(summary_status(ok, Outcome::Exit(0)), 0);
        assert_eq!(summary_status(ok, Outcome::Exit(3)), 0);
        assert_eq!(summary_status(ok, Outcome::NoReport), 0);
        assert_eq!(summary_status(ok, Outcome::Panic), 1);
        assert_eq!(summary_status(ok, Outcome::Timeout), 1);
        assert_eq!(summary_status(b"3 passed, 1 failed\n", Outcome::Exit(0)), 1);
        assert_eq!(summary_status(b"0 passed, 0 failed\n", Outcome::Exit(0)), 1);
        assert_eq!(summary_status(b"nothing\n", Outcome::Exit(0)), 1);
        assert_eq!(
            summary_status(
                b"1 passed, 1 failed\nall: 2 passed, 0 failed",
                Outcome::Exit(0)
            ),
            0
        );
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout(0), None);
        assert_eq!(timeout(5), Some(Duration::from_secs(5)));
    }
}
