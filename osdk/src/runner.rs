//! Runs QEMU: spawns it, relays or captures the console, enforces the
//! timeout and collects the status report.

use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::qemu::{Console, QemuConfig};
use crate::status::{self, QemuEnd, Report};

/// The QEMU binary, unless the `OSDK_QEMU` environment variable names
/// another one.
pub const QEMU: &str = "qemu-system-x86_64";

/// How long QEMU gets to exit after SIGTERM before it is killed.
const TERM_GRACE: Duration = Duration::from_secs(3);
/// How often the runner checks whether QEMU has exited.
const POLL: Duration = Duration::from_millis(20);

/// How to treat the console when it is piped through the runner.
#[derive(Debug, Clone, Default)]
pub struct PipeOptions<'a> {
    /// Copy the output to the runner's stdout as it arrives.
    pub echo: bool,
    /// Keep the whole output in memory and return it.
    pub keep: bool,
    /// Also write the output to this file.
    pub log: Option<&'a Path>,
    /// Give QEMU no standard input even when the runner's is not a terminal.
    pub no_stdin: bool,
}

/// What a QEMU run produced.
#[derive(Debug)]
pub struct RunResult {
    /// How QEMU ended.
    pub end: QemuEnd,
    /// The guest's report from the status file, if it wrote one.
    pub report: Option<Report>,
    /// The console output, when piped with `keep`.
    pub output: Vec<u8>,
}

impl RunResult {
    /// The outcome that decides the exit status.
    pub fn outcome(&self) -> status::Outcome {
        status::outcome(self.report, self.end)
    }
}

/// The QEMU program to run.
fn qemu_program() -> std::ffi::OsString {
    std::env::var_os("OSDK_QEMU")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| QEMU.into())
}

/// Runs QEMU with `config` until it exits or `timeout` passes.
pub fn run(
    config: &QemuConfig,
    timeout: Option<Duration>,
    pipe: &PipeOptions,
) -> Result<RunResult, String> {
    run_program(&qemu_program(), config, timeout, pipe)
}

/// [`run`] with the QEMU program given.
fn run_program(
    program: &std::ffi::OsStr,
    config: &QemuConfig,
    timeout: Option<Duration>,
    pipe: &PipeOptions,
) -> Result<RunResult, String> {
    let status_file = &config.status_file;
    match fs::remove_file(status_file) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", status_file.display())),
    }

    let mut command = Command::new(program);
    command.args(config.args()).stderr(Stdio::inherit());
    let piped = config.console == Console::Pipe;
    if piped {
        command.stdout(Stdio::piped());
        if pipe.no_stdin || io::stdin().is_terminal() {
            // QEMU would put the terminal into raw mode; keep it out.
            command.stdin(Stdio::null());
        } else {
            command.stdin(Stdio::inherit());
        }
    } else {
        command.stdin(Stdio::inherit()).stdout(Stdio::inherit());
    }
    let log = match (piped, pipe.log) {
        (true, Some(path)) => {
            Some(File::create(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        _ => None,
    };

    if piped {
        sigint::survive();
    }
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            format!("{} not found; install QEMU", program.to_string_lossy())
        } else {
            format!("cannot start {}: {e}", program.to_string_lossy())
        }
    })?;

    let reader = child.stdout.take().map(|stdout| {
        let echo = pipe.echo;
        let keep = pipe.keep;
        thread::spawn(move || relay(stdout, echo, keep, log))
    });

    let end = wait(&mut child, timeout);
    let output = match reader {
        Some(handle) => handle.join().unwrap_or_default(),
        None => Vec::new(),
    };
    if piped {
        sigint::restore();
    }

    let report = match fs::read(status_file) {
        Ok(bytes) => status::parse_status_file(&String::from_utf8_lossy(&bytes)),
        Err(_) => None,
    };
    let _ = fs::remove_file(status_file);
    Ok(RunResult {
        end,
        report,
        output,
    })
}

/// Copies QEMU's console output to the places asked for, chunk by chunk so
/// that partial lines (prompts) show at once. Returns the kept output.
fn relay(mut from: impl Read, echo: bool, keep: bool, mut log: Option<File>) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let chunk = &buf[..n];
        if echo {
            let mut out = io::stdout().lock();
            // A closed stdout must not stop the run; keep draining QEMU.
            let _ = out.write_all(chunk).and_then(|()| out.flush());
        }
        if let Some(file) = log.as_mut()
            && file.write_all(chunk).is_err()
        {
            eprintln!("osdk: warning: cannot write the console log; stopped logging");
            log = None;
        }
        if keep {
            kept.extend_from_slice(chunk);
        }
    }
    if let Some(mut file) = log {
        let _ = file.flush();
    }
    kept
}

/// Waits for QEMU to exit, stopping it when the timeout passes.
fn wait(child: &mut Child, timeout: Option<Duration>) -> QemuEnd {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return QemuEnd::Exited(status.code()),
            Ok(None) => {}
            Err(_) => return QemuEnd::Exited(None),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            stop(child);
            return QemuEnd::TimedOut;
        }
        thread::sleep(POLL);
    }
}

/// Asks QEMU to quit with SIGTERM (so it restores the terminal), then kills
/// it if it has not gone after a grace period.
pub fn stop(child: &mut Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: `kill` has no memory-safety preconditions; the pid is that
        // of our own child, which has not been reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    let deadline = Instant::now() + TERM_GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(POLL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Keeps the runner alive on Ctrl-C while QEMU runs with a piped console:
/// QEMU, in the same process group, gets the SIGINT and quits, and the
/// runner then reports and cleans up as usual.
mod sigint {
    extern "C" fn ignore(_: libc::c_int) {}

    /// Installs a handler that does nothing. A handler (unlike `SIG_IGN`) is
    /// reset to the default in the child when it executes QEMU.
    pub fn survive() {
        // SAFETY: the handler is async-signal-safe (it does nothing).
        unsafe {
            libc::signal(libc::SIGINT, ignore as *const () as libc::sighandler_t);
        }
    }

    /// Puts back the default action.
    pub fn restore() {
        // SAFETY: restoring the default disposition is always allowed.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qemu::Accel;
    use crate::status::Outcome;
    use crate::testutil::TempDir;
    use std::os::unix::fs::PermissionsExt;

    fn lock() -> std::sync::MutexGuard<'static, ()> {
        crate::testutil::spawn_lock()
    }

    /// Writes a shell script that stands in for QEMU.
    fn fake_qemu(dir: &Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("fake-qemu");
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn config(dir: &Path) -> QemuConfig {
        QemuConfig {
            kernel: dir.join("kernel"),
            initrd: None,
            cmdline: String::new(),
            accel: Accel::Tcg,
            cpu: None,
            mem: "2G".into(),
            smp: 1,
            icount: false,
            gdb: false,
            status_file: dir.join("status.txt"),
            console: Console::Pipe,
        }
    }

    const KEEP: PipeOptions = PipeOptions {
        echo: false,
        keep: true,
        log: None,
        no_stdin: true,
    };

    /// A script line that writes `$1` to the status file (the last argument
    /// that starts with `file:`).
    const WRITE_STATUS: &str = r#"status() { for a in "$@"; do case "$a" in file:*) f="${a#file:}";; esac; done; }
status "$@""#;

    #[test]
    fn status_file_and_output_are_collected() {
        let _guard = lock();
        let tmp = TempDir::new("runner-status");
        let log = tmp.path().join("console.log");
        let script =
            format!("{WRITE_STATUS}\nprintf 'booted\\n$ '\necho 'exit 9' > \"$f\"\nexit 19");
        let qemu = fake_qemu(tmp.path(), &script);
        let pipe = PipeOptions {
            log: Some(&log),
            ..KEEP
        };
        let cfg = config(tmp.path());
        fs::write(&cfg.status_file, "exit 1\n").unwrap(); // stale; must be ignored
        let result = run_program(qemu.as_os_str(), &cfg, None, &pipe).unwrap();
        assert_eq!(result.end, QemuEnd::Exited(Some(19)));
        assert_eq!(result.report, Some(Report::Exit(9)));
        assert_eq!(result.outcome(), Outcome::Exit(9));
        assert_eq!(result.output, b"booted\n$ ");
        assert_eq!(fs::read(&log).unwrap(), b"booted\n$ ");
        assert!(!cfg.status_file.exists(), "the status file is removed");
    }

    #[test]
    fn exit_code_is_the_fallback() {
        let _guard = lock();
        let tmp = TempDir::new("runner-fallback");
        let qemu = fake_qemu(tmp.path(), "exit 255");
        let result = run_program(qemu.as_os_str(), &config(tmp.path()), None, &KEEP).unwrap();
        assert_eq!(result.report, None);
        assert_eq!(result.outcome(), Outcome::Panic);
    }

    #[test]
    fn a_hanging_qemu_is_stopped_at_the_timeout() {
        let _guard = lock();
        let tmp = TempDir::new("runner-timeout");
        let qemu = fake_qemu(tmp.path(), "echo started\nexec sleep 30");
        let start = Instant::now();
        let timeout = Some(Duration::from_millis(300));
        let result = run_program(qemu.as_os_str(), &config(tmp.path()), timeout, &KEEP).unwrap();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(result.end, QemuEnd::TimedOut);
        assert_eq!(result.outcome(), Outcome::Timeout);
        assert_eq!(result.output, b"started\n");
    }

    #[test]
    fn a_missing_qemu_is_an_error() {
        let _guard = lock();
        let tmp = TempDir::new("runner-missing");
        let missing = tmp.path().join("no-such-qemu");
        let err = run_program(missing.as_os_str(), &config(tmp.path()), None, &KEEP).unwrap_err();
        assert!(err.contains("not found"), "{err}");
    }
}
