//! The QEMU command line: accelerator selection and argument construction.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::path::PathBuf;

/// The accelerator asked for on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccelChoice {
    /// KVM when the host can really use it, otherwise TCG.
    #[default]
    Auto,
    /// Always TCG (software emulation).
    Tcg,
    /// Always KVM.
    Kvm,
}

impl AccelChoice {
    /// Parses `auto`, `tcg` or `kvm`.
    pub fn parse(s: &str) -> Option<AccelChoice> {
        match s {
            "auto" => Some(AccelChoice::Auto),
            "tcg" => Some(AccelChoice::Tcg),
            "kvm" => Some(AccelChoice::Kvm),
            _ => None,
        }
    }
}

/// The accelerator QEMU is started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// Software emulation.
    Tcg,
    /// Hardware virtualisation through `/dev/kvm`.
    Kvm,
}

impl Accel {
    /// The value of `-accel`.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }

    /// The CPU model used when none is given: `host` for KVM, `max` for TCG.
    pub fn default_cpu(self) -> &'static str {
        match self {
            Accel::Tcg => "max",
            Accel::Kvm => "host",
        }
    }
}

/// Whether a `/proc/cpuinfo` text shows hardware virtualisation (`vmx` or
/// `svm` among the `flags` of a processor).
///
/// Checking this matters: some hosts offer a `/dev/kvm` that is not backed by
/// hardware virtualisation and cannot run an ordinary kernel.
pub fn cpuinfo_has_virtualization(cpuinfo: &str) -> bool {
    cpuinfo.lines().any(|line| {
        let Some((key, value)) = line.split_once(':') else {
            return false;
        };
        key.trim() == "flags" && value.split_whitespace().any(|f| f == "vmx" || f == "svm")
    })
}

/// Chooses the accelerator. `Auto` gives KVM only when the CPU flags show
/// hardware virtualisation and `/dev/kvm` can be opened for reading and
/// writing.
pub fn select_accel(choice: AccelChoice, cpuinfo: &str, kvm_openable: bool) -> Accel {
    match choice {
        AccelChoice::Tcg => Accel::Tcg,
        AccelChoice::Kvm => Accel::Kvm,
        AccelChoice::Auto if kvm_openable && cpuinfo_has_virtualization(cpuinfo) => Accel::Kvm,
        AccelChoice::Auto => Accel::Tcg,
    }
}

/// [`select_accel`] using this host's `/proc/cpuinfo` and `/dev/kvm`.
pub fn select_host_accel(choice: AccelChoice) -> Accel {
    if choice != AccelChoice::Auto {
        return select_accel(choice, "", false);
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    if !cpuinfo_has_virtualization(&cpuinfo) {
        return Accel::Tcg;
    }
    let kvm_openable = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    select_accel(choice, &cpuinfo, kvm_openable)
}

/// Where the guest console (COM1) goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Console {
    /// Multiplexed with the QEMU monitor on QEMU's own stdio, for a person
    /// at a terminal: Ctrl-C reaches the guest, Ctrl-A X quits. An optional
    /// log file receives a copy of the output.
    Terminal {
        /// Copy of everything shown, if wanted.
        log: Option<PathBuf>,
    },
    /// QEMU's stdout, to be read by the runner.
    Pipe,
}

/// Everything that decides QEMU's command line.
#[derive(Debug, Clone)]
pub struct QemuConfig {
    /// The kernel ELF (`-kernel`).
    pub kernel: PathBuf,
    /// The gzip-compressed initramfs (`-initrd`), if any.
    pub initrd: Option<PathBuf>,
    /// The kernel command line (`-append`).
    pub cmdline: String,
    /// The accelerator.
    pub accel: Accel,
    /// CPU model; the accelerator's default when `None`.
    pub cpu: Option<String>,
    /// Memory size, in QEMU's syntax (`2G`, `512M`).
    pub mem: String,
    /// Number of CPUs.
    pub smp: u32,
    /// Deterministic instruction counting (`-icount shift=0`).
    pub icount: bool,
    /// Wait for a debugger on TCP port 1234 (`-s -S`).
    pub gdb: bool,
    /// Where COM2, the status channel, is written.
    pub status_file: PathBuf,
    /// Where COM1, the console, goes.
    pub console: Console,
}

/// Escapes a value for QEMU's `key=value,...` option syntax (commas are
/// doubled).
fn escape_opt(value: &str) -> String {
    value.replace(',', ",,")
}

impl QemuConfig {
    /// The arguments passed to `qemu-system-x86_64`.
    pub fn args(&self) -> Vec<OsString> {
        let mut args = Args::default();
        args.push(&[
            "-machine",
            "q35",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-vga",
            "none",
            "-no-reboot",
        ]);
        args.push(&["-m", &self.mem, "-smp", &self.smp.to_string()]);
        // Several vCPUs under TCG run on as many host threads (MTTCG);
        // `-icount` needs the single round-robin thread instead.
        let accel = if self.accel == Accel::Tcg && self.smp > 1 && !self.icount {
            format!("{},thread=multi", self.accel.name())
        } else {
            self.accel.name().to_string()
        };
        args.push(&["-accel", &accel]);
        let cpu = self.cpu.as_deref().unwrap_or(self.accel.default_cpu());
        args.push(&["-cpu", cpu]);
        if self.icount {
            args.push(&["-icount", "shift=0"]);
        }
        args.push_os("-kernel", self.kernel.as_os_str());
        if let Some(initrd) = &self.initrd {
            args.push_os("-initrd", initrd.as_os_str());
        }
        args.push(&["-append", &self.cmdline]);
        args.push(&[
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-rtc",
            "base=utc",
        ]);
        match &self.console {
            Console::Terminal { log } => {
                let mut chardev = String::from("stdio,id=con,signal=off,mux=on");
                if let Some(log) = log {
                    chardev.push_str(",logfile=");
                    chardev.push_str(&escape_opt(&log.to_string_lossy()));
                    chardev.push_str(",logappend=off");
                }
                args.push(&[
                    "-chardev",
                    &chardev,
                    "-serial",
                    "chardev:con",
                    "-mon",
                    "chardev=con,mode=readline",
                ]);
            }
            Console::Pipe => args.push(&["-serial", "stdio"]),
        }
        let mut status = OsString::from("file:");
        status.push(&self.status_file);
        args.push_os("-serial", &status);
        if self.gdb {
            args.push(&["-s", "-S"]);
        }
        args.0
    }
}

/// An argument list under construction.
#[derive(Default)]
struct Args(Vec<OsString>);

impl Args {
    fn push(&mut self, items: &[&str]) {
        self.0.extend(items.iter().map(OsString::from));
    }

    fn push_os(&mut self, option: &str, value: &std::ffi::OsStr) {
        self.0.push(option.into());
        self.0.push(value.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTEL: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\n\
        flags\t\t: fpu vme de pse tsc msr pae vmx ssse3\nbugs\t\t: spectre_v1\n";
    const AMD: &str = "processor\t: 0\nflags\t\t: fpu svm lahf_lm\n";
    const NONE: &str = "processor\t: 0\nflags\t\t: fpu vme hypervisor vmxnet svm_lock\n\
        model name\t: CPU with vmx in its name\n";

    #[test]
    fn cpuinfo_flags() {
        assert!(cpuinfo_has_virtualization(INTEL));
        assert!(cpuinfo_has_virtualization(AMD));
        assert!(!cpuinfo_has_virtualization(NONE));
        assert!(!cpuinfo_has_virtualization(""));
    }

    #[test]
    fn auto_needs_flags_and_a_usable_device() {
        assert_eq!(select_accel(AccelChoice::Auto, INTEL, true), Accel::Kvm);
        assert_eq!(select_accel(AccelChoice::Auto, AMD, true), Accel::Kvm);
        assert_eq!(select_accel(AccelChoice::Auto, INTEL, false), Accel::Tcg);
        // /dev/kvm opens, but the CPU has no virtualisation: not usable.
        assert_eq!(select_accel(AccelChoice::Auto, NONE, true), Accel::Tcg);
        assert_eq!(select_accel(AccelChoice::Tcg, INTEL, true), Accel::Tcg);
        assert_eq!(select_accel(AccelChoice::Kvm, NONE, false), Accel::Kvm);
    }

    #[test]
    fn accel_choice_parsing() {
        assert_eq!(AccelChoice::parse("auto"), Some(AccelChoice::Auto));
        assert_eq!(AccelChoice::parse("tcg"), Some(AccelChoice::Tcg));
        assert_eq!(AccelChoice::parse("kvm"), Some(AccelChoice::Kvm));
        assert_eq!(AccelChoice::parse("hvf"), None);
    }

    fn config() -> QemuConfig {
        QemuConfig {
            kernel: "/k/kernel".into(),
            initrd: Some("/k/initramfs.cpio.gz".into()),
            cmdline: "init=/bin/sh -- -c echo".into(),
            accel: Accel::Tcg,
            cpu: None,
            mem: "2G".into(),
            smp: 1,
            icount: false,
            gdb: false,
            status_file: "/k/status-1.txt".into(),
            console: Console::Pipe,
        }
    }

    fn joined(config: &QemuConfig) -> String {
        config
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn piped_command_line() {
        assert_eq!(
            joined(&config()),
            "-machine q35 -nodefaults -no-user-config -display none -vga none -no-reboot \
             -m 2G -smp 1 -accel tcg -cpu max -kernel /k/kernel -initrd /k/initramfs.cpio.gz \
             -append init=/bin/sh -- -c echo \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -rtc base=utc \
             -serial stdio -serial file:/k/status-1.txt"
        );
        // The command line is one argument.
        assert!(
            config()
                .args()
                .contains(&OsString::from("init=/bin/sh -- -c echo"))
        );
    }

    #[test]
    fn tcg_runs_several_cpus_in_parallel_unless_counting() {
        let mut c = config();
        c.smp = 4;
        assert!(joined(&c).contains("-smp 4 -accel tcg,thread=multi -cpu max"));
        c.icount = true;
        assert!(joined(&c).contains("-smp 4 -accel tcg -cpu max -icount shift=0"));
        c.smp = 1;
        c.icount = false;
        assert!(joined(&c).contains("-smp 1 -accel tcg -cpu max"));
    }

    #[test]
    fn terminal_kvm_gdb_command_line() {
        let mut c = config();
        c.initrd = None;
        c.accel = Accel::Kvm;
        c.smp = 4;
        c.icount = true;
        c.gdb = true;
        c.console = Console::Terminal {
            log: Some("/logs/a,b.txt".into()),
        };
        let line = joined(&c);
        assert!(!line.contains("-initrd"));
        assert!(line.contains("-smp 4 -accel kvm -cpu host -icount shift=0 -kernel"));
        assert!(line.contains(
            "-chardev stdio,id=con,signal=off,mux=on,logfile=/logs/a,,b.txt,logappend=off \
             -serial chardev:con -mon chardev=con,mode=readline -serial file:/k/status-1.txt"
        ));
        assert!(line.ends_with("-s -S"));
        c.cpu = Some("Skylake-Server".into());
        assert!(joined(&c).contains("-cpu Skylake-Server"));
    }
}
