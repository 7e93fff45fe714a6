//! The system-wide files: memory, load, uptime, mounts, versions, `sys/`.

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

use ostd::sync::SpinLock;

use crate::prelude::*;
use crate::process::all_processes;
use crate::process::uts::UtsName;

/// Maximum of queued signals shown in `SigQ` (Linux's default
/// `RLIMIT_SIGPENDING` for a machine of this size).
pub(super) const SIGQUEUE_MAX: u32 = 7823;

/// The kernel release `uname` reports.
const OSRELEASE: &str = "6.1.0-framekernel";
/// The kernel version string `uname` reports.
const KERNEL_VERSION: &str = "#1 SMP";

/// `/proc/meminfo`, in Linux's layout: a 16-column label, an 8-column
/// right-aligned value and the unit.
pub(super) fn meminfo() -> String {
    let page_kb = (ostd::mm::PAGE_SIZE / 1024) as u64;
    let total = ostd::mm::total_frames() as u64 * page_kb;
    let free = (ostd::mm::free_frames() as u64 * page_kb).min(total);
    let (heap_used, _heap_size) = ostd::mm::heap_stats();
    let slab = (heap_used as u64 / 1024).min(total - free);
    // The RAM file systems' pages are `Shmem` (and `Cached`, as Linux
    // counts tmpfs); everything else in use that is not the kernel heap is
    // counted as process memory.
    let shmem = (crate::vm::shmem_pages() * page_kb).min(total - free - slab);
    let anon = total - free - slab - shmem;
    let lines: [(&str, u64); 40] = [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free),
        ("Buffers", 0),
        ("Cached", shmem),
        ("SwapCached", 0),
        ("Active", anon),
        ("Inactive", 0),
        ("Active(anon)", anon),
        ("Inactive(anon)", 0),
        ("Active(file)", 0),
        ("Inactive(file)", 0),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", anon),
        ("Mapped", 0),
        ("Shmem", shmem),
        ("KReclaimable", 0),
        ("Slab", slab),
        ("SReclaimable", 0),
        ("SUnreclaim", slab),
        ("KernelStack", 0),
        ("PageTables", 0),
        ("NFS_Unstable", 0),
        ("Bounce", 0),
        ("WritebackTmp", 0),
        ("CommitLimit", total / 2),
        ("Committed_AS", anon),
        ("VmallocTotal", 34_359_738_367),
        ("VmallocUsed", 0),
        ("VmallocChunk", 0),
        ("Percpu", 0),
        ("AnonHugePages", 0),
        ("ShmemHugePages", 0),
        ("FileHugePages", 0),
        ("Hugetlb", 0),
    ];
    let mut s = String::new();
    for (name, kb) in lines {
        let label = format!("{name}:");
        let _ = writeln!(s, "{label:<16}{kb:>8} kB");
    }
    for name in [
        "HugePages_Total",
        "HugePages_Free",
        "HugePages_Rsvd",
        "HugePages_Surp",
    ] {
        let label = format!("{name}:");
        let _ = writeln!(s, "{label:<16}{:>8}", 0);
    }
    let _ = writeln!(s, "{:<16}{:>8} kB", "Hugepagesize:", 2048);
    let _ = writeln!(s, "{:<16}{:>8} kB", "DirectMap4k:", total);
    s
}

/// Seconds with two decimals, as `uptime` prints them.
fn centiseconds(d: core::time::Duration) -> String {
    let cs = d.as_millis() / 10;
    format!("{}.{:02}", cs / 100, cs % 100)
}

/// `/proc/uptime`: seconds since boot and seconds the CPU spent idle. No
/// idle time is accounted, so the machine is reported as always idle.
pub(super) fn uptime() -> String {
    let up = ostd::timer::monotonic();
    format!("{} {}\n", centiseconds(up), centiseconds(up))
}

/// Number of threads, and the highest pid or tid in use (the closest to
/// Linux's "last pid allocated" that the process table shows).
fn thread_counts() -> (usize, u32) {
    let mut threads = 0;
    let mut last = 0;
    for p in all_processes() {
        last = last.max(p.pid());
        for t in p.threads() {
            threads += 1;
            last = last.max(t.tid());
        }
    }
    (threads, last)
}

/// `/proc/loadavg`. Load is not tracked; one thread (the reader) runs.
pub(super) fn loadavg() -> String {
    let (threads, last) = thread_counts();
    format!("0.00 0.00 0.00 1/{} {last}\n", threads.max(1))
}

/// Escapes a mount field as Linux does (space, tab, newline, backslash in
/// octal), so that the line splits at the right places.
fn escape_mount_field(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' | '\t' | '\n' | '\\' => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `/proc/mounts`: the root file system, then every mount, oldest first.
pub(super) fn mounts() -> String {
    let mut s = String::from("rootfs / rootfs rw 0 0\n");
    for m in crate::fs::mount::mounts() {
        let _ = writeln!(
            s,
            "{} {} {} rw,relatime 0 0",
            escape_mount_field(&m.source),
            escape_mount_field(&m.target),
            escape_mount_field(&m.fstype)
        );
    }
    s
}

/// `/proc/filesystems`: the file system types `mount` accepts.
pub(super) fn filesystems() -> String {
    String::from("nodev\tproc\nnodev\ttmpfs\nnodev\tdevtmpfs\nnodev\tdevpts\nnodev\tramfs\n")
}

/// `/proc/version`.
pub(super) fn version() -> String {
    format!("Linux version {OSRELEASE} (rustc) {KERNEL_VERSION}\n")
}

/// `/proc/cmdline`: the kernel command line.
pub(super) fn cmdline() -> String {
    format!("{}\n", ostd::boot::boot_info().cmdline())
}

/// `/proc/devices`: the character device majors devfs provides.
pub(super) fn devices() -> String {
    String::from(
        "Character devices:\n  1 mem\n  4 /dev/vc/0\n  4 tty\n  4 ttyS\n  5 /dev/tty\n  \
         5 /dev/console\n  5 /dev/ptmx\n136 pts\n\nBlock devices:\n",
    )
}

/// `/proc/swaps`: no swap.
pub(super) fn swaps() -> String {
    String::from("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
}

/// `/proc/stat`: CPU time in ticks (all of it idle, as nothing else is
/// accounted), boot time and process counts.
pub(super) fn stat() -> String {
    let idle = ostd::timer::monotonic().as_millis() / 10;
    let boot = ostd::timer::wall_clock().saturating_sub(ostd::timer::monotonic());
    let procs = all_processes();
    let running = procs.iter().filter(|p| !p.is_zombie()).count().min(1);
    let (_, last) = thread_counts();
    let mut s = String::new();
    let _ = writeln!(s, "cpu  0 0 0 {idle} 0 0 0 0 0 0");
    let _ = writeln!(s, "cpu0 0 0 0 {idle} 0 0 0 0 0 0");
    let _ = writeln!(s, "intr 0");
    let _ = writeln!(s, "ctxt 0");
    let _ = writeln!(s, "btime {}", boot.as_secs());
    let _ = writeln!(s, "processes {last}");
    let _ = writeln!(s, "procs_running {}", running.max(1));
    let _ = writeln!(s, "procs_blocked 0");
    let _ = writeln!(s, "softirq 0 0 0 0 0 0 0 0 0 0 0");
    s
}

/// `/proc/sys/kernel/hostname`: `uname`'s `nodename`.
pub(super) fn hostname() -> String {
    uts_text(UtsName::Host)
}

/// Writes `/proc/sys/kernel/hostname`.
pub(super) fn set_hostname(text: &str) -> Result<()> {
    set_uts(UtsName::Host, text)
}

/// `/proc/sys/kernel/domainname`: `uname`'s `domainname`.
pub(super) fn domainname() -> String {
    uts_text(UtsName::Domain)
}

/// Writes `/proc/sys/kernel/domainname`.
pub(super) fn set_domainname(text: &str) -> Result<()> {
    set_uts(UtsName::Domain, text)
}

fn uts_text(which: UtsName) -> String {
    format!("{}\n", String::from_utf8_lossy(&which.get()))
}

/// As Linux's `proc_do_uts_string`, a longer write keeps the first 64
/// bytes.
fn set_uts(which: UtsName, text: &str) -> Result<()> {
    let bytes = text.as_bytes();
    which.set(&bytes[..bytes.len().min(crate::process::uts::NAME_MAX)])
}

/// `/proc/sys/kernel/ostype`.
pub(super) fn ostype() -> String {
    String::from("Linux\n")
}

/// `/proc/sys/kernel/osrelease`.
pub(super) fn osrelease() -> String {
    format!("{OSRELEASE}\n")
}

/// `/proc/sys/kernel/version`.
pub(super) fn kernel_version() -> String {
    format!("{KERNEL_VERSION}\n")
}

/// `/proc/sys/kernel/pid_max`: ids are handed out below it.
pub(super) fn pid_max() -> String {
    format!("{}\n", crate::process::table::pid_max())
}

/// Parses a number written to a tunable.
fn parse_tunable(text: &str) -> Result<u64> {
    text.parse().map_err(|_| Error::new(EINVAL))
}

/// Writes `/proc/sys/kernel/pid_max` (root only, as the mode says).
pub(super) fn set_pid_max(text: &str) -> Result<()> {
    let v = u32::try_from(parse_tunable(text)?).map_err(|_| Error::new(EINVAL))?;
    crate::process::table::set_pid_max(v)
}

/// `/proc/sys/fs/pipe-max-size`: the largest pipe capacity an
/// unprivileged process may set.
pub(super) fn pipe_max_size() -> String {
    format!("{}\n", crate::fs::pipe::max_size())
}

/// Writes `/proc/sys/fs/pipe-max-size` (rounded up to a power-of-two
/// number of pages, as Linux stores it).
pub(super) fn set_pipe_max_size(text: &str) -> Result<()> {
    crate::fs::pipe::set_max_size(parse_tunable(text)?)
}

/// `/proc/sys/kernel/threads-max`: the most threads the system may have.
pub(super) fn threads_max() -> String {
    format!("{}\n", crate::process::table::max_threads())
}

/// Writes `/proc/sys/kernel/threads-max`.
pub(super) fn set_threads_max(text: &str) -> Result<()> {
    let v = usize::try_from(parse_tunable(text)?).map_err(|_| Error::new(EINVAL))?;
    crate::process::table::set_max_threads(v)
}

/// A random (version 4) UUID in its text form.
fn random_uuid() -> String {
    let mut b = [0u8; 16];
    ostd::random::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex =
        |r: core::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        hex(0..4),
        hex(4..6),
        hex(6..8),
        hex(8..10),
        hex(10..16)
    )
}

/// The boot id, chosen on first use.
static BOOT_ID: SpinLock<Option<String>> = SpinLock::new(None);

/// `/proc/sys/kernel/random/boot_id`: one UUID for the whole boot.
pub(super) fn boot_id() -> String {
    let mut id = BOOT_ID.lock();
    format!("{}\n", id.get_or_insert_with(random_uuid))
}

/// `/proc/sys/kernel/random/uuid`: a fresh UUID on every read.
pub(super) fn uuid() -> String {
    format!("{}\n", random_uuid())
}

/// `/proc/sys/kernel/random/entropy_avail`: the hardware generator never
/// runs dry; Linux 5.18+ reports a full pool as 256.
pub(super) fn entropy_avail() -> String {
    String::from("256\n")
}

/// `/proc/sys/vm/overcommit_memory`: heuristic overcommit (the default).
/// `/proc/sys/kernel/pty/max`: the limit on pseudo-terminals (fixed here).
pub(super) fn pty_max() -> String {
    format!("{}\n", crate::fs::tty::pty::PTY_MAX)
}

/// `/proc/sys/kernel/pty/nr`: pseudo-terminals in use.
pub(super) fn pty_nr() -> String {
    format!("{}\n", crate::fs::tty::pty::count())
}

/// `/proc/sys/kernel/pty/reserve`: Linux keeps this many for its initial
/// devpts instance, the only one here.
pub(super) fn pty_reserve() -> String {
    String::from("1024\n")
}

pub(super) fn overcommit() -> String {
    String::from("0\n")
}
