//! The system-wide files: memory, load, uptime, mounts, versions, `sys/`.

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

use ostd::sync::SpinLock;

use crate::prelude::*;
use crate::process::all_processes;
use crate::process::uts::UtsName;

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
    // The kernel heap's memory is `Slab` (what it holds, as Linux counts
    // slab pages with their free objects), kernel stacks `KernelStack`,
    // user page tables `PageTables`, the RAM file systems' pages `Shmem`
    // (and `Cached`, as Linux counts tmpfs); everything else in use is
    // counted as process memory.
    let (heap_used, heap_size) = ostd::mm::heap_stats();
    let mut used = total - free;
    let mut take = |kb: u64| {
        let kb = kb.min(used);
        used -= kb;
        kb
    };
    let slab = take(heap_size as u64 / 1024);
    // Of the heap, the objects in use are `SUnreclaim`; the rest is free
    // room in chunks that go back once they empty (`SReclaimable`).
    let slab_used = (heap_used as u64 / 1024).min(slab);
    let kernel_stack = take(ostd::mm::kernel_stack_bytes() as u64 / 1024);
    let page_tables = take(ostd::mm::table_frames() as u64 * page_kb);
    let shmem = take(crate::vm::shmem_pages() * page_kb);
    let anon = used;
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
        ("SReclaimable", slab - slab_used),
        ("SUnreclaim", slab_used),
        ("KernelStack", kernel_stack),
        ("PageTables", page_tables),
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

/// `/proc/uptime`: seconds since boot and seconds the CPU spent idle.
pub(super) fn uptime() -> String {
    let up = ostd::timer::monotonic();
    let idle = ostd::task::stats::cpu_times().idle;
    format!("{} {}\n", centiseconds(up), centiseconds(idle))
}

/// Number of threads.
fn thread_count() -> usize {
    all_processes().iter().map(|p| p.threads().len()).sum()
}

/// Runnable threads now (the reader among them).
fn running_threads() -> usize {
    let mut n = 0;
    for p in all_processes() {
        n += p
            .threads()
            .iter()
            .filter(|t| t.task().is_some_and(|task| task.is_runnable()))
            .count();
    }
    n.max(1)
}

/// `/proc/loadavg`: the 1, 5 and 15 minute load averages, runnable and
/// all threads, the last pid.
pub(super) fn loadavg() -> String {
    use ostd::task::stats::{FSHIFT, load_averages};
    let (threads, last) = (thread_count(), crate::process::table::last_pid());
    let mut s = String::new();
    for avg in load_averages() {
        // Linux's `LOAD_INT` and `LOAD_FRAC`.
        let int = avg >> FSHIFT;
        let frac = ((avg & ((1 << FSHIFT) - 1)) * 100) >> FSHIFT;
        let _ = write!(s, "{int}.{frac:02} ");
    }
    let _ = writeln!(s, "{}/{} {last}", running_threads(), threads.max(1));
    s
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

/// `/proc/PID/mountinfo` (`proc_pid_mountinfo(5)`): id, parent id,
/// `major:minor`, root, mount point, options, `-`, type, source, super
/// block options.
pub(super) fn mountinfo() -> String {
    let mounts = crate::fs::mount::mounts();
    let mut s = String::from("1 1 0:1 / / rw - rootfs rootfs rw\n");
    for (i, m) in mounts.iter().enumerate() {
        // The parent: the latest earlier mount whose mount point contains
        // this one's.
        let parent = mounts[..i]
            .iter()
            .rposition(|p| {
                let t = p.target.trim_end_matches('/');
                m.target.starts_with(t) && m.target.as_bytes().get(t.len()) == Some(&b'/')
            })
            .and_then(|p| mounts.get(p))
            .map_or(crate::fs::mount::ROOT_MOUNT_ID, |p| p.id);
        let dev = m.root.metadata().dev;
        let _ = writeln!(
            s,
            "{} {parent} {}:{} / {} rw,relatime - {} {} rw",
            m.id,
            (dev >> 8) & 0xfff,
            dev & 0xff,
            escape_mount_field(&m.target),
            escape_mount_field(&m.fstype),
            escape_mount_field(&m.source)
        );
    }
    s
}

/// `/proc/filesystems`: the file system types `mount` accepts.
pub(super) fn filesystems() -> String {
    String::from(
        "nodev\tsysfs\nnodev\tproc\nnodev\ttmpfs\nnodev\tdevtmpfs\nnodev\tdevpts\nnodev\tramfs\n",
    )
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

/// `/proc/stat`: CPU time in `USER_HZ` ticks (user, nice, system, idle,
/// iowait, irq, softirq, steal, guest, guest_nice) for all CPUs together
/// and each CPU, context switches, boot time, forks and runnable threads.
pub(super) fn stat() -> String {
    let hz = |d: core::time::Duration| d.as_millis() / 10;
    let line = |s: &mut String, name: &str, t: ostd::task::stats::CpuTimes| {
        let (user, system, idle) = (hz(t.user), hz(t.system), hz(t.idle));
        let _ = writeln!(s, "{name} {user} 0 {system} {idle} 0 0 0 0 0 0");
    };
    let boot = ostd::timer::wall_clock().saturating_sub(ostd::timer::monotonic());
    let mut s = String::new();
    line(&mut s, "cpu ", ostd::task::stats::cpu_times());
    for cpu in 0..ostd::cpu::num_cpus() {
        if let Some(t) = ostd::task::stats::cpu_times_of(cpu) {
            line(&mut s, &format!("cpu{cpu}"), t);
        }
    }
    let _ = writeln!(s, "intr 0");
    let _ = writeln!(s, "ctxt {}", ostd::task::stats::context_switches());
    let _ = writeln!(s, "btime {}", boot.as_secs());
    let _ = writeln!(s, "processes {}", crate::process::table::forks());
    let _ = writeln!(s, "procs_running {}", running_threads());
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

/// `/proc/sys/vm/overcommit_memory`: 0 heuristic (the default), 1
/// always, 2 never.
pub(super) fn overcommit() -> String {
    format!("{}\n", crate::vm::oom::overcommit_policy())
}

/// Writes `/proc/sys/vm/overcommit_memory`.
pub(super) fn set_overcommit(text: &str) -> Result<()> {
    crate::vm::oom::set_overcommit_policy(parse_tunable(text)?)
}

/// `/proc/sys/vm/overcommit_ratio`.
pub(super) fn overcommit_ratio() -> String {
    format!("{}\n", crate::vm::oom::OVERCOMMIT_RATIO)
}

/// `/proc/sys/kernel/tainted`: nothing has tainted this kernel.
pub(super) fn tainted() -> String {
    String::from("0\n")
}

/// `/proc/sys/kernel/ngroups_max`: Linux's `NGROUPS_MAX`.
pub(super) fn ngroups_max() -> String {
    String::from("65536\n")
}

/// Linux's `CORENAME_MAX_SIZE`: a core pattern is shorter.
const CORENAME_MAX_SIZE: usize = 128;

/// `/proc/sys/kernel/core_pattern` (kept for readers; no core files are
/// written).
static CORE_PATTERN: SpinLock<Option<String>> = SpinLock::new(None);

pub(super) fn core_pattern() -> String {
    let p = CORE_PATTERN.lock();
    format!("{}\n", p.as_deref().unwrap_or("core"))
}

/// Writes `/proc/sys/kernel/core_pattern`: like Linux's `proc_dostring`,
/// a longer value is cut to fit.
pub(super) fn set_core_pattern(text: &str) -> Result<()> {
    let mut end = text.len().min(CORENAME_MAX_SIZE - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    *CORE_PATTERN.lock() = Some(String::from(&text[..end]));
    Ok(())
}

/// `/proc/sys/kernel/dmesg_restrict`.
pub(super) fn dmesg_restrict() -> String {
    format!("{}\n", u8::from(crate::syslog::dmesg_restrict()))
}

/// Writes `/proc/sys/kernel/dmesg_restrict`: 0 or 1.
pub(super) fn set_dmesg_restrict(text: &str) -> Result<()> {
    match parse_tunable(text)? {
        0 => crate::syslog::set_dmesg_restrict(false),
        1 => crate::syslog::set_dmesg_restrict(true),
        _ => return_errno!(EINVAL),
    }
    Ok(())
}

/// `/proc/sys/fs/nr_open`: the ceiling of `RLIMIT_NOFILE`.
pub(super) fn nr_open() -> String {
    format!("{}\n", crate::process::rlimit::NR_OPEN)
}

/// Linux's `files_maxfiles_init`: about a tenth of memory in KiB, at
/// least `NR_FILE`.
fn max_files() -> u64 {
    let kib = ostd::mm::total_frames() as u64 * (ostd::mm::PAGE_SIZE as u64 / 1024);
    (kib / 10).max(8192)
}

/// `/proc/sys/fs/file-max`.
pub(super) fn file_max() -> String {
    format!("{}\n", max_files())
}

/// `/proc/sys/fs/file-nr`: open descriptors, 0 free, the maximum.
pub(super) fn file_nr() -> String {
    let open: usize = all_processes()
        .iter()
        .filter_map(|p| {
            super::lock_bounded(&p.files())
                .ok()
                .map(|f| f.iter().count())
        })
        .sum();
    format!("{open}\t0\t{}\n", max_files())
}
