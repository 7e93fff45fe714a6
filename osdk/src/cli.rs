//! Command-line parsing. Options take their value either as the next
//! argument (`--mem 4G`) or after `=` (`--mem=4G`).

use std::path::PathBuf;

use crate::builder::Profile;
use crate::qemu::AccelChoice;

/// The usage text printed by `osdk help`.
pub const USAGE: &str = "\
usage: osdk <command> [options]

commands:
  build       build the kernel
  run         build the kernel, pack the initramfs and boot it in QEMU
  test        `run --summary`: exit 0 only if the guest's last
              `N passed, M failed` line says M = 0 (e.g. `osdk test --ktest`)
  test-apps   boot QEMU once per test listed in a manifest
  session     boot QEMU and drive its console by a script (expect/send)
  help        show this text

build options:
  --ktest                 build with the `ktest` feature (to target/osdk/kernel-ktest)
  --profile release|dev   cargo profile (default: release)
  --workspace DIR         kernel workspace root (default: the parent of osdk/)

run options (also the build options):
  --kernel PATH           boot this ELF instead of building
  --no-build              boot the last build in target/osdk without rebuilding
  --initramfs DIR         add DIR to the initramfs (repeatable; later ones override)
  --cmdline STR           kernel command line
  --accel auto|tcg|kvm    accelerator (default: auto = KVM only if really usable)
  --mem SIZE              guest memory (default: 2G)
  --smp N                 number of CPUs (default: 1)
  --cpu MODEL             CPU model (default: max with TCG, host with KVM)
  --timeout SECS          stop QEMU after SECS seconds, 0 = never (default: 600,
                          none when the console is an interactive terminal)
  --icount                deterministic execution (-icount shift=0)
  --gdb                   wait for gdb on :1234 (disables the timeout)
  --summary               exit by the last `N passed, M failed` line of the output
  --log FILE              also write the console output to FILE

test-apps options (also the run options except --gdb and --summary):
  --manifest FILE         the test list (required)
  --only NAME             run only this test (repeatable)
  --verbose               show every test's output, not only failures'
  (--timeout is per test, default 60)

session options (also the run options except --gdb and --summary):
  --script FILE           the steps: expect TEXT, expect@SECS TEXT, send TEXT,
                          type TEXT, key NAME..., sleep MS, expect-exit CODE
  --verbose               echo the console output as it arrives
  (--timeout is for the whole session, default 600)

exit status of run: the guest's `exit N`, 250 on a guest panic, 124 on timeout,
125 if QEMU failed or the guest did not report; 2 on a usage error.
";

/// Options of `osdk build`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildArgs {
    /// Build with the `ktest` feature.
    pub ktest: bool,
    /// Cargo profile.
    pub profile: Profile,
    /// Workspace root override.
    pub workspace: Option<PathBuf>,
}

/// Options of `osdk run` (and the shared part of `osdk test-apps`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    /// How to build the kernel.
    pub build: BuildArgs,
    /// A kernel ELF to boot instead of building one.
    pub kernel: Option<PathBuf>,
    /// Do not build; use the last build.
    pub no_build: bool,
    /// Directories merged into the initramfs, in order.
    pub initramfs: Vec<PathBuf>,
    /// Kernel command line.
    pub cmdline: String,
    /// Accelerator.
    pub accel: AccelChoice,
    /// Memory size.
    pub mem: String,
    /// Number of CPUs.
    pub smp: u32,
    /// CPU model override.
    pub cpu: Option<String>,
    /// Timeout in seconds (0 = none); `None` means the command's default.
    pub timeout: Option<u64>,
    /// `-icount shift=0`.
    pub icount: bool,
    /// Wait for gdb.
    pub gdb: bool,
    /// Judge the run by its summary line.
    pub summary: bool,
    /// Console log file.
    pub log: Option<PathBuf>,
}

impl Default for RunArgs {
    fn default() -> Self {
        RunArgs {
            build: BuildArgs::default(),
            kernel: None,
            no_build: false,
            initramfs: Vec::new(),
            cmdline: String::new(),
            accel: AccelChoice::Auto,
            mem: "2G".into(),
            smp: 1,
            cpu: None,
            timeout: None,
            icount: false,
            gdb: false,
            summary: false,
            log: None,
        }
    }
}

/// Options of `osdk test-apps`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestAppsArgs {
    /// Shared run options.
    pub run: RunArgs,
    /// The manifest file.
    pub manifest: PathBuf,
    /// Names of the tests to run; all when empty.
    pub only: Vec<String>,
    /// Show all output.
    pub verbose: bool,
}

/// Options of `osdk session`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionArgs {
    /// Shared run options.
    pub run: RunArgs,
    /// The script file.
    pub script: PathBuf,
    /// Echo the console output.
    pub verbose: bool,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `osdk build`.
    Build(BuildArgs),
    /// `osdk run`.
    Run(RunArgs),
    /// `osdk test-apps`.
    TestApps(TestAppsArgs),
    /// `osdk session`.
    Session(SessionArgs),
    /// `osdk help`, `-h`, `--help`.
    Help,
}

/// Which sub-command an option list belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Build,
    Run,
    TestApps,
    Session,
}

/// Parses the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut args = args.into_iter().map(Into::into);
    let Some(sub) = args.next() else {
        return Err("no command given".into());
    };
    let kind = match sub.as_str() {
        "build" => Kind::Build,
        "run" => Kind::Run,
        // `osdk test` is `osdk run --summary`: a test run (ktests with
        // --ktest, or the in-guest runner) judged by its summary line.
        "test" => Kind::Run,
        "test-apps" => Kind::TestApps,
        "session" => Kind::Session,
        "help" | "-h" | "--help" => return Ok(Command::Help),
        other => return Err(format!("unknown command `{other}`")),
    };

    let mut run = RunArgs {
        summary: sub == "test",
        ..Default::default()
    };
    let mut test = TestAppsArgs::default();
    let mut manifest = None;
    let mut script = None;
    let rest: Vec<String> = args.collect();
    let mut iter = rest.into_iter();
    while let Some(arg) = iter.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument `{arg}`"));
        };
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (body, None),
        };
        let mut value = || -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => iter.next().ok_or_else(|| format!("--{name} needs a value")),
            }
        };
        let allowed = |kinds: &[Kind]| -> Result<(), String> {
            if kinds.contains(&kind) {
                Ok(())
            } else {
                Err(format!("--{name} is not an option of `osdk {sub}`"))
            }
        };
        let is_flag = matches!(
            name,
            "ktest" | "no-build" | "icount" | "gdb" | "summary" | "verbose"
        );
        if is_flag && inline.is_some() {
            return Err(format!("--{name} takes no value"));
        }
        const ALL: &[Kind] = &[Kind::Build, Kind::Run, Kind::TestApps, Kind::Session];
        const RUNS: &[Kind] = &[Kind::Run, Kind::TestApps, Kind::Session];
        match name {
            "ktest" => {
                allowed(ALL)?;
                run.build.ktest = true;
            }
            "profile" => {
                allowed(ALL)?;
                let v = value()?;
                run.build.profile = Profile::parse(&v)
                    .ok_or_else(|| format!("--profile must be `release` or `dev`, not `{v}`"))?;
            }
            "workspace" => {
                allowed(ALL)?;
                run.build.workspace = Some(value()?.into());
            }
            "kernel" => {
                allowed(RUNS)?;
                run.kernel = Some(value()?.into());
            }
            "no-build" => {
                allowed(RUNS)?;
                run.no_build = true;
            }
            "initramfs" => {
                allowed(RUNS)?;
                run.initramfs.push(value()?.into());
            }
            "cmdline" => {
                allowed(RUNS)?;
                run.cmdline = value()?;
            }
            "accel" => {
                allowed(RUNS)?;
                let v = value()?;
                run.accel = AccelChoice::parse(&v)
                    .ok_or_else(|| format!("--accel must be auto, tcg or kvm, not `{v}`"))?;
            }
            "mem" => {
                allowed(RUNS)?;
                let v = value()?;
                if !valid_mem(&v) {
                    return Err(format!("--mem `{v}` is not a size like 512M or 2G"));
                }
                run.mem = v;
            }
            "smp" => {
                allowed(RUNS)?;
                let v = value()?;
                run.smp = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--smp `{v}` is not a positive number"))?;
            }
            "cpu" => {
                allowed(RUNS)?;
                run.cpu = Some(value()?);
            }
            "timeout" => {
                allowed(RUNS)?;
                let v = value()?;
                run.timeout = Some(
                    v.parse()
                        .map_err(|_| format!("--timeout `{v}` is not a number of seconds"))?,
                );
            }
            "icount" => {
                allowed(RUNS)?;
                run.icount = true;
            }
            "gdb" => {
                allowed(&[Kind::Run])?;
                run.gdb = true;
            }
            "summary" => {
                allowed(&[Kind::Run])?;
                run.summary = true;
            }
            "log" => {
                allowed(RUNS)?;
                run.log = Some(value()?.into());
            }
            "manifest" => {
                allowed(&[Kind::TestApps])?;
                manifest = Some(PathBuf::from(value()?));
            }
            "only" => {
                allowed(&[Kind::TestApps])?;
                test.only.push(value()?);
            }
            "verbose" => {
                allowed(&[Kind::TestApps, Kind::Session])?;
                test.verbose = true;
            }
            "script" => {
                allowed(&[Kind::Session])?;
                script = Some(PathBuf::from(value()?));
            }
            _ => return Err(format!("unknown option --{name}")),
        }
    }

    Ok(match kind {
        Kind::Build => Command::Build(run.build),
        Kind::Run => Command::Run(run),
        Kind::TestApps => {
            test.run = run;
            test.manifest = manifest.ok_or("test-apps needs --manifest FILE")?;
            Command::TestApps(test)
        }
        Kind::Session => Command::Session(SessionArgs {
            run,
            script: script.ok_or("session needs --script FILE")?,
            verbose: test.verbose,
        }),
    })
}

/// Whether `s` is a memory size QEMU accepts: digits with an optional
/// `K`, `M`, `G` or `T` suffix (optionally followed by `B`/`iB`).
fn valid_mem(s: &str) -> bool {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits == 0 {
        return false;
    }
    let suffix = s[digits..].to_ascii_uppercase();
    matches!(
        suffix.as_str(),
        "" | "K" | "M" | "G" | "T" | "KB" | "MB" | "GB" | "TB" | "KIB" | "MIB" | "GIB" | "TIB"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(args: &[&str]) -> Command {
        parse(args.iter().copied()).unwrap()
    }

    fn parse_err(args: &[&str]) -> String {
        parse(args.iter().copied()).unwrap_err()
    }

    #[test]
    fn build_options() {
        assert_eq!(parse_ok(&["build"]), Command::Build(BuildArgs::default()));
        assert_eq!(
            parse_ok(&["build", "--ktest", "--profile=dev", "--workspace", "/ws"]),
            Command::Build(BuildArgs {
                ktest: true,
                profile: Profile::Dev,
                workspace: Some("/ws".into()),
            })
        );
        assert!(parse_err(&["build", "--mem", "1G"]).contains("not an option"));
        assert!(parse_err(&["build", "--profile", "fast"]).contains("release"));
    }

    #[test]
    fn run_options() {
        let Command::Run(run) = parse_ok(&[
            "run",
            "--kernel",
            "/k",
            "--initramfs",
            "a",
            "--initramfs=b",
            "--cmdline",
            "init=/bin/sh -- -c 'echo hi'",
            "--accel",
            "tcg",
            "--mem",
            "512M",
            "--smp=2",
            "--cpu",
            "qemu64",
            "--timeout",
            "0",
            "--icount",
            "--gdb",
            "--summary",
            "--no-build",
            "--log",
            "out.txt",
        ]) else {
            panic!("not a run command");
        };
        assert_eq!(run.kernel, Some("/k".into()));
        assert_eq!(run.initramfs, [PathBuf::from("a"), PathBuf::from("b")]);
        assert_eq!(run.cmdline, "init=/bin/sh -- -c 'echo hi'");
        assert_eq!(run.accel, AccelChoice::Tcg);
        assert_eq!(run.mem, "512M");
        assert_eq!(run.smp, 2);
        assert_eq!(run.cpu.as_deref(), Some("qemu64"));
        assert_eq!(run.timeout, Some(0));
        assert!(run.icount && run.gdb && run.summary && run.no_build);
        assert_eq!(run.log, Some("out.txt".into()));

        let Command::Run(defaults) = parse_ok(&["run"]) else {
            panic!("not a run command");
        };
        assert_eq!(defaults, RunArgs::default());
        assert_eq!(defaults.mem, "2G");
        assert_eq!(defaults.smp, 1);
    }

    #[test]
    fn run_errors() {
        assert!(parse_err(&["run", "--smp", "0"]).contains("positive"));
        assert!(parse_err(&["run", "--mem", "lots"]).contains("size"));
        assert!(parse_err(&["run", "--accel", "hvf"]).contains("auto"));
        assert!(parse_err(&["run", "--timeout", "-1"]).contains("seconds"));
        assert!(parse_err(&["run", "--kernel"]).contains("needs a value"));
        assert!(parse_err(&["run", "--gdb=yes"]).contains("no value"));
        assert!(parse_err(&["run", "--frobnicate"]).contains("unknown option"));
        assert!(parse_err(&["run", "kernel.elf"]).contains("unexpected"));
        assert!(parse_err(&["fly"]).contains("unknown command"));
        assert!(parse_err(&[]).contains("no command"));
    }

    #[test]
    fn test_apps_options() {
        let Command::TestApps(t) = parse_ok(&[
            "test-apps",
            "--manifest",
            "m.txt",
            "--only",
            "a",
            "--only=b",
            "--verbose",
            "--initramfs",
            "root",
            "--timeout",
            "30",
        ]) else {
            panic!("not test-apps");
        };
        assert_eq!(t.manifest, PathBuf::from("m.txt"));
        assert_eq!(t.only, ["a", "b"]);
        assert!(t.verbose);
        assert_eq!(t.run.initramfs, [PathBuf::from("root")]);
        assert_eq!(t.run.timeout, Some(30));
        assert!(parse_err(&["test-apps"]).contains("--manifest"));
        assert!(parse_err(&["test-apps", "--manifest", "m", "--gdb"]).contains("not an option"));
        assert!(parse_err(&["run", "--only", "x"]).contains("not an option"));
    }

    #[test]
    fn session_options() {
        let Command::Session(s) = parse_ok(&[
            "session",
            "--script",
            "s.session",
            "--verbose",
            "--no-build",
            "--timeout=90",
        ]) else {
            panic!("not session");
        };
        assert_eq!(s.script, PathBuf::from("s.session"));
        assert!(s.verbose && s.run.no_build);
        assert_eq!(s.run.timeout, Some(90));
        assert!(parse_err(&["session"]).contains("--script"));
        assert!(parse_err(&["session", "--script", "s", "--summary"]).contains("not an option"));
        assert!(parse_err(&["run", "--script", "s"]).contains("not an option"));
    }

    #[test]
    fn help() {
        assert_eq!(parse_ok(&["help"]), Command::Help);
        assert_eq!(parse_ok(&["--help"]), Command::Help);
        assert_eq!(parse_ok(&["run", "-h"]), Command::Help);
    }

    #[test]
    fn memory_sizes() {
        for ok in ["2G", "512M", "1024", "4g", "2GiB", "100MB"] {
            assert!(valid_mem(ok), "{ok}");
        }
        for bad in ["", "G", "2X", "-1G", "1.5G", "2 G"] {
            assert!(!valid_mem(bad), "{bad}");
        }
    }
}
