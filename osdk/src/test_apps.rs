//! `osdk test-apps`: boots QEMU once per manifest entry, with the entry's
//! program as init, and checks its exit status and output. This suits
//! kernels that cannot yet run a test driver inside the guest.

use std::fs::File;
use std::io::{self, Write};

use crate::cli::TestAppsArgs;
use crate::commands::{self, Prepared};
use crate::manifest::{self, TestCase};
use crate::qemu::Console;
use crate::runner::{self, PipeOptions};
use crate::status::NO_REPORT_STATUS;

/// Default per-test timeout, in seconds.
pub const TEST_TIMEOUT: u64 = 60;

/// Exit status for a bad manifest or selection.
const BAD_INPUT: u8 = 2;

/// The verdict on one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The run's exit status.
    pub status: u8,
    /// The expected output that was not found, if any.
    pub missing_output: Option<String>,
}

impl Verdict {
    /// Judges a run of `test` that ended with `status` and printed `output`.
    pub fn judge(test: &TestCase, status: u8, output: &[u8]) -> Verdict {
        let missing_output = test
            .expected_output
            .as_ref()
            .filter(|want| !String::from_utf8_lossy(output).contains(want.as_str()))
            .cloned();
        Verdict {
            status,
            missing_output,
        }
    }

    /// Whether the test passed.
    pub fn passed(&self, test: &TestCase) -> bool {
        self.status == test.expected_status && self.missing_output.is_none()
    }

    /// The `PASS name` or `FAIL name (...)` line.
    pub fn line(&self, test: &TestCase) -> String {
        if self.passed(test) {
            return format!("PASS {}", test.name);
        }
        let mut line = format!(
            "FAIL {} (status {}, expected {}",
            test.name, self.status, test.expected_status
        );
        if let Some(missing) = &self.missing_output {
            line.push_str(&format!(", output missing {missing:?}"));
        }
        line.push(')');
        line
    }
}

/// Selects the tests named by `--only` (all when none is named).
pub fn select(tests: Vec<TestCase>, only: &[String]) -> Result<Vec<TestCase>, String> {
    if only.is_empty() {
        return Ok(tests);
    }
    if let Some(unknown) = only
        .iter()
        .find(|name| !tests.iter().any(|t| &t.name == *name))
    {
        return Err(format!("no test named `{unknown}` in the manifest"));
    }
    Ok(tests
        .into_iter()
        .filter(|t| only.contains(&t.name))
        .collect())
}

/// Runs the command; returns the exit status.
pub fn run(args: &TestAppsArgs) -> Result<u8, String> {
    let path = &args.manifest;
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("osdk: error: {}: {e}", path.display());
            return Ok(BAD_INPUT);
        }
    };
    let tests = match manifest::parse(&text) {
        Ok(tests) => tests,
        Err(errors) => {
            for error in errors {
                eprintln!(
                    "osdk: error: {}:{}: {}",
                    path.display(),
                    error.line,
                    error.message
                );
            }
            return Ok(BAD_INPUT);
        }
    };
    let tests = match select(tests, &args.only) {
        Ok(tests) if tests.is_empty() => {
            eprintln!("osdk: error: {}: no tests", path.display());
            return Ok(BAD_INPUT);
        }
        Ok(tests) => tests,
        Err(e) => {
            eprintln!("osdk: error: {e}");
            return Ok(BAD_INPUT);
        }
    };

    let prepared = match Prepared::new(&args.run) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("osdk: error: {e}");
            return Ok(NO_REPORT_STATUS);
        }
    };
    let mut log = match &args.run.log {
        Some(path) => Some(File::create(path).map_err(|e| format!("{}: {e}", path.display()))?),
        None => None,
    };
    let timeout_secs = args.run.timeout.unwrap_or(TEST_TIMEOUT);
    let pipe = PipeOptions {
        echo: args.verbose,
        keep: true,
        log: None,
        no_stdin: true,
    };

    let (mut passed, mut failed) = (0usize, 0usize);
    for test in &tests {
        let cmdline = manifest::kernel_cmdline(&args.run.cmdline, &test.argv);
        if args.verbose {
            println!("=== {} ({cmdline})", test.name);
        }
        let config = prepared.qemu_config(&args.run, cmdline, Console::Pipe);
        let result = match runner::run(&config, commands::timeout(timeout_secs), &pipe) {
            Ok(result) => result,
            Err(e) => {
                eprintln!("osdk: error: {e}");
                return Ok(NO_REPORT_STATUS);
            }
        };
        let outcome = result.outcome();
        commands::report_end(outcome, result.end, timeout_secs);
        let verdict = Verdict::judge(test, outcome.exit_status(), &result.output);
        let ok = verdict.passed(test);
        if args.verbose {
            if !result.output.is_empty() && !result.output.ends_with(b"\n") {
                println!();
            }
        } else if !ok {
            println!("--- output of {} ---", test.name);
            let mut out = io::stdout().lock();
            let _ = out.write_all(&result.output);
            if !result.output.ends_with(b"\n") {
                let _ = writeln!(out);
            }
            println!("--- end of output ---");
        }
        if let Some(file) = log.as_mut() {
            let written = writeln!(file, "=== {}", test.name)
                .and_then(|()| file.write_all(&result.output))
                .and_then(|()| writeln!(file));
            if let Err(e) = written {
                eprintln!("osdk: warning: cannot write the log: {e}");
                log = None;
            }
        }
        println!("{}", verdict.line(test));
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(expected_status: u8, expected_output: Option<&str>) -> TestCase {
        TestCase {
            name: "t".into(),
            expected_status,
            argv: vec!["/bin/t".into()],
            expected_output: expected_output.map(String::from),
            line: 1,
        }
    }

    #[test]
    fn verdicts() {
        let t = case(0, Some("hello"));
        let v = Verdict::judge(&t, 0, b"boot\r\nhello\r\n");
        assert!(v.passed(&t));
        assert_eq!(v.line(&t), "PASS t");

        let v = Verdict::judge(&t, 0, b"boot\n");
        assert!(!v.passed(&t));
        assert_eq!(
            v.line(&t),
            "FAIL t (status 0, expected 0, output missing \"hello\")"
        );

        let t = case(42, None);
        let v = Verdict::judge(&t, 124, b"");
        assert_eq!(v.line(&t), "FAIL t (status 124, expected 42)");
        assert!(Verdict::judge(&t, 42, b"").passed(&t));
    }

    #[test]
    fn selection() {
        let mut a = case(0, None);
        a.name = "a".into();
        let mut b = case(0, None);
        b.name = "b".into();
        let all = vec![a, b];
        assert_eq!(select(all.clone(), &[]).unwrap().len(), 2);
        let only_b = select(all.clone(), &["b".into()]).unwrap();
        assert_eq!(only_b.len(), 1);
        assert_eq!(only_b[0].name, "b");
        assert!(select(all, &["c".into()]).unwrap_err().contains("`c`"));
    }
}
