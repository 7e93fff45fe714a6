//! Decoding how a guest run ended, following the runner protocol
//! (`doc/runner-protocol.md`).
//!
//! The guest writes one line to the status channel (COM2) before it stops
//! QEMU: `exit N` or `panic`. It then writes `v` to the `isa-debug-exit`
//! port, which makes QEMU exit with `(v << 1) | 1`, where `v = N & 0x7f` or
//! `v = 0x7f` for a panic. The status file is trusted first; QEMU's exit code
//! is the fallback.

/// What the guest reported about its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// The machine powered off with this status.
    Exit(u8),
    /// The kernel panicked.
    Panic,
}

/// How QEMU itself ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QemuEnd {
    /// QEMU exited; `None` when it was killed by a signal.
    Exited(Option<i32>),
    /// The runner killed QEMU after the timeout.
    TimedOut,
}

/// The outcome of a run, which decides the runner's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The guest reported `exit N` (or QEMU's exit code encoded `N`).
    Exit(u8),
    /// The guest panicked.
    Panic,
    /// The run was stopped by the timeout.
    Timeout,
    /// QEMU failed, or exited without any report.
    NoReport,
}

/// The exit status used for a guest panic.
pub const PANIC_STATUS: u8 = 250;
/// The exit status used for a timeout.
pub const TIMEOUT_STATUS: u8 = 124;
/// The exit status used when QEMU failed or the guest did not report.
pub const NO_REPORT_STATUS: u8 = 125;
/// The `isa-debug-exit` value the kernel writes after `panic`.
const PANIC_VALUE: i32 = 0x7f;

impl Outcome {
    /// The runner's exit status for this outcome (see the protocol's table).
    pub fn exit_status(self) -> u8 {
        match self {
            Outcome::Exit(n) => n,
            Outcome::Panic => PANIC_STATUS,
            Outcome::Timeout => TIMEOUT_STATUS,
            Outcome::NoReport => NO_REPORT_STATUS,
        }
    }
}

/// Parses the contents of the status file.
///
/// The protocol says exactly one line is written; to be robust, blank or
/// unrecognised lines are ignored and the last recognised one is used.
pub fn parse_status_file(text: &str) -> Option<Report> {
    text.lines().rev().find_map(parse_status_line)
}

fn parse_status_line(line: &str) -> Option<Report> {
    let line = line.trim();
    if line == "panic" {
        return Some(Report::Panic);
    }
    let n = line.strip_prefix("exit")?;
    if !n.starts_with(char::is_whitespace) {
        return None;
    }
    n.trim().parse::<u8>().ok().map(Report::Exit)
}

/// Decodes QEMU's exit code as written through `isa-debug-exit`.
///
/// Only odd codes can come from the device. Code 1 (`v = 0`) is
/// indistinguishable from QEMU failing on its own (bad option, missing
/// file), which also exits with 1; without a status file it is therefore
/// treated as no report rather than as success.
pub fn decode_qemu_exit(code: i32) -> Option<Report> {
    if code <= 1 || code > 0xff || code % 2 == 0 {
        return None;
    }
    let v = (code - 1) / 2;
    if v == PANIC_VALUE {
        Some(Report::Panic)
    } else {
        Some(Report::Exit(v as u8))
    }
}

/// Combines the status file's report and QEMU's end into the outcome.
pub fn outcome(file_report: Option<Report>, end: QemuEnd) -> Outcome {
    let report = match end {
        QemuEnd::TimedOut => return Outcome::Timeout,
        QemuEnd::Exited(code) => file_report.or_else(|| code.and_then(decode_qemu_exit)),
    };
    match report {
        Some(Report::Exit(n)) => Outcome::Exit(n),
        Some(Report::Panic) => Outcome::Panic,
        None => Outcome::NoReport,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_file_lines() {
        assert_eq!(parse_status_file("exit 0\n"), Some(Report::Exit(0)));
        assert_eq!(parse_status_file("exit 42\r\n"), Some(Report::Exit(42)));
        assert_eq!(parse_status_file("exit 255"), Some(Report::Exit(255)));
        assert_eq!(parse_status_file("panic\n"), Some(Report::Panic));
        assert_eq!(parse_status_file("\n  exit 3  \n\n"), Some(Report::Exit(3)));
        assert_eq!(parse_status_file(""), None);
        assert_eq!(parse_status_file("exit 256\n"), None);
        assert_eq!(parse_status_file("exit -1\n"), None);
        assert_eq!(parse_status_file("exit\n"), None);
        assert_eq!(parse_status_file("exit42\n"), None);
        assert_eq!(parse_status_file("garbage\n"), None);
        assert_eq!(parse_status_file("exit 1\npanic\n"), Some(Report::Panic));
    }

    #[test]
    fn qemu_exit_codes() {
        // (v << 1) | 1
        assert_eq!(decode_qemu_exit(3), Some(Report::Exit(1)));
        assert_eq!(decode_qemu_exit(85), Some(Report::Exit(42)));
        assert_eq!(decode_qemu_exit(0xfd), Some(Report::Exit(0x7e)));
        assert_eq!(decode_qemu_exit(0xff), Some(Report::Panic));
        // Not from the device, or ambiguous with a QEMU failure.
        assert_eq!(decode_qemu_exit(0), None);
        assert_eq!(decode_qemu_exit(1), None);
        assert_eq!(decode_qemu_exit(2), None);
        assert_eq!(decode_qemu_exit(-1), None);
        assert_eq!(decode_qemu_exit(0x101), None);
    }

    #[test]
    fn outcome_prefers_the_status_file() {
        let exited = |c| QemuEnd::Exited(Some(c));
        assert_eq!(
            outcome(Some(Report::Exit(200)), exited(0x91)),
            Outcome::Exit(200)
        );
        assert_eq!(outcome(Some(Report::Panic), exited(0xff)), Outcome::Panic);
        assert_eq!(outcome(Some(Report::Exit(0)), exited(1)), Outcome::Exit(0));
        assert_eq!(outcome(None, exited(85)), Outcome::Exit(42));
        assert_eq!(outcome(None, exited(0xff)), Outcome::Panic);
        assert_eq!(outcome(None, exited(0)), Outcome::NoReport);
        assert_eq!(outcome(None, exited(1)), Outcome::NoReport);
        assert_eq!(outcome(None, QemuEnd::Exited(None)), Outcome::NoReport);
        assert_eq!(
            outcome(Some(Report::Exit(0)), QemuEnd::TimedOut),
            Outcome::Timeout
        );
    }

    #[test]
    fn exit_statuses_follow_the_protocol_table() {
        assert_eq!(Outcome::Exit(7).exit_status(), 7);
        assert_eq!(Outcome::Panic.exit_status(), 250);
        assert_eq!(Outcome::Timeout.exit_status(), 124);
        assert_eq!(Outcome::NoReport.exit_status(), 125);
    }
}
