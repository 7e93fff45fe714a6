//! The per-process files: `/proc/<pid>/...` and `/proc/<pid>/task/<tid>/...`.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::ops::Range;

use crate::fs::FsContext;
use crate::fs::file::FileLike;
use crate::fs::inode::InodeType;
use crate::prelude::*;
use crate::process::signal::{SIG_DFL, SIG_IGN};
use crate::process::{Process, Thread};
use crate::vm::{PAGE_SIZE, VmPerms, layout};

/// An entry of a process or thread directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PidEntry {
    Cmdline,
    Comm,
    Cwd,
    Environ,
    Exe,
    Fd,
    FdInfo,
    Limits,
    Maps,
    MountInfo,
    Mounts,
    Root,
    Stat,
    Statm,
    Status,
    Syscall,
    Task,
    Wchan,
}

impl PidEntry {
    /// Entries of `/proc/<pid>`, in listing order.
    const PROCESS: [PidEntry; 18] = [
        PidEntry::Cmdline,
        PidEntry::Comm,
        PidEntry::Cwd,
        PidEntry::Environ,
        PidEntry::Exe,
        PidEntry::Fd,
        PidEntry::FdInfo,
        PidEntry::Limits,
        PidEntry::Maps,
        PidEntry::MountInfo,
        PidEntry::Mounts,
        PidEntry::Root,
        PidEntry::Stat,
        PidEntry::Statm,
        PidEntry::Status,
        PidEntry::Syscall,
        PidEntry::Task,
        PidEntry::Wchan,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            PidEntry::Cmdline => "cmdline",
            PidEntry::Comm => "comm",
            PidEntry::Cwd => "cwd",
            PidEntry::Environ => "environ",
            PidEntry::Exe => "exe",
            PidEntry::Fd => "fd",
            PidEntry::FdInfo => "fdinfo",
            PidEntry::Limits => "limits",
            PidEntry::MountInfo => "mountinfo",
            PidEntry::Maps => "maps",
            PidEntry::Mounts => "mounts",
            PidEntry::Root => "root",
            PidEntry::Stat => "stat",
            PidEntry::Statm => "statm",
            PidEntry::Status => "status",
            PidEntry::Syscall => "syscall",
            PidEntry::Task => "task",
            PidEntry::Wchan => "wchan",
        }
    }

    pub(super) fn kind(self) -> InodeType {
        match self {
            PidEntry::Cwd | PidEntry::Exe | PidEntry::Root => InodeType::Symlink,
            PidEntry::Fd | PidEntry::FdInfo | PidEntry::Task => InodeType::Dir,
            _ => InodeType::File,
        }
    }

    /// The entries of a process directory, or of a thread directory
    /// (`task/<tid>`, which has no `task` of its own).
    pub(super) fn list(thread: bool) -> impl Iterator<Item = PidEntry> {
        Self::PROCESS
            .into_iter()
            .filter(move |e| !(thread && *e == PidEntry::Task))
    }

    pub(super) fn find(name: &str, thread: bool) -> Option<PidEntry> {
        Self::list(thread).find(|e| e.name() == name)
    }
}

/// Generates a per-process file. `thread` is set for the files under
/// `task/<tid>`.
pub(super) fn generate(
    p: &Arc<Process>,
    thread: Option<&Arc<Thread>>,
    entry: PidEntry,
) -> Result<Vec<u8>> {
    Ok(match entry {
        PidEntry::Cmdline => {
            // A zombie has no memory left to read its arguments from.
            if p.is_zombie() {
                Vec::new()
            } else {
                p.cmdline()
            }
        }
        PidEntry::Comm => format!("{}\n", comm(p)).into_bytes(),
        // The environment lives only in the process's memory; not kept.
        PidEntry::Environ => Vec::new(),
        PidEntry::Maps => maps(p).into_bytes(),
        PidEntry::Mounts => super::system::mounts().into_bytes(),
        PidEntry::MountInfo => super::system::mountinfo().into_bytes(),
        PidEntry::Limits => limits(p).into_bytes(),
        PidEntry::Stat => stat(&Info::gather(p, thread)).into_bytes(),
        PidEntry::Statm => statm(&Info::gather(p, thread)).into_bytes(),
        PidEntry::Status => status(&Info::gather(p, thread)).into_bytes(),
        PidEntry::Syscall => syscall(p, thread).into_bytes(),
        PidEntry::Wchan => wchan(p, thread).into_bytes(),
        PidEntry::Cwd | PidEntry::Exe | PidEntry::Root => return_errno!(EINVAL),
        PidEntry::Fd | PidEntry::FdInfo | PidEntry::Task => return_errno!(EISDIR),
    })
}

/// `syscall`: the system call the thread (the main thread, for a process)
/// is in, as Linux shows it: the number in decimal, then the six arguments,
/// the stack pointer and the instruction pointer in hex (a thread reading
/// its own file sees that `read`); `-1 sp pc` outside system calls.
fn syscall(p: &Arc<Process>, thread: Option<&Arc<Thread>>) -> String {
    let Some(t) = thread.cloned().or_else(|| p.main_thread()) else {
        return String::from("-1 0x0 0x0\n");
    };
    match t.syscall() {
        Some([nr, rest @ ..]) => {
            let mut out = format!("{nr}");
            for v in rest {
                out.push_str(&format!(" {v:#x}"));
            }
            out.push('\n');
            out
        }
        None => String::from("-1 0x0 0x0\n"),
    }
}

/// `wchan`: where the thread (the main thread, for a process) sleeps.
/// Linux names the kernel function; this kernel gives the source location
/// of the wait (`file:line`), which says more. `0` when it is not asleep in
/// a wait queue or on a mutex. No newline, as on Linux.
fn wchan(p: &Arc<Process>, thread: Option<&Arc<Thread>>) -> String {
    thread
        .cloned()
        .or_else(|| p.main_thread())
        .and_then(|t| t.task())
        .and_then(|t| t.wait_site())
        .map_or_else(
            || String::from("0"),
            |l| format!("{}:{}", l.file(), l.line()),
        )
}

/// The target of a per-process symbolic link.
pub(super) fn read_link(p: &Arc<Process>, entry: PidEntry) -> Result<Vec<u8>> {
    // Like Linux: a zombie has given up its files and address space.
    if p.is_zombie() {
        return_errno!(ENOENT);
    }
    match entry {
        PidEntry::Exe => {
            let exe = p.exe_path();
            if exe.is_empty() {
                return_errno!(ENOENT);
            }
            let fs = super::lock_bounded(&p.fs())?.clone();
            let abs = absolute(exe.as_bytes(), &fs.cwd_path);
            // Linux shows the executable itself, not the link it was run by.
            Ok(realpath(&fs, &abs).unwrap_or(abs))
        }
        PidEntry::Cwd => Ok(super::lock_bounded(&p.fs())?.cwd_path.clone()),
        PidEntry::Root => Ok(b"/".to_vec()),
        _ => return_errno!(EINVAL),
    }
}

/// What `/proc/<pid>/fd/<n>` points to, for `file` open in `p`.
pub(super) fn describe_file(p: &Process, file: &Arc<dyn FileLike>) -> Result<Vec<u8>> {
    if let Some(path) = file.path() {
        if path.starts_with(b"/") {
            return Ok(absolute(&path, b"/"));
        }
        // Opened by a relative name: the best guess is the current
        // working directory.
        let cwd = super::lock_bounded(&p.fs())?.cwd_path.clone();
        return Ok(absolute(&path, &cwd));
    }
    if let Some(tty) = file.as_any().downcast_ref::<crate::fs::tty::TtyFile>() {
        return Ok(tty.tty().name().into_bytes());
    }
    Ok(super::fd::describe_object(file.as_ref()))
}

/// `path` made absolute against `cwd`, with `.`, `..` and repeated slashes
/// removed (lexically).
pub(super) fn absolute(path: &[u8], cwd: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    let base = if path.starts_with(b"/") {
        &b""[..]
    } else {
        cwd
    };
    for comp in crate::fs::components(base).chain(crate::fs::components(path)) {
        match comp {
            b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    crate::fs::join_absolute(&parts)
}

/// Resolves every symbolic link in the absolute, normalised `path`
/// (`realpath(3)`), or `None` if some component does not resolve.
fn realpath(fs: &FsContext, path: &[u8]) -> Option<Vec<u8>> {
    let mut resolved: Vec<u8> = Vec::new();
    let mut rest: Vec<Vec<u8>> = crate::fs::components(path)
        .rev()
        .map(|c| c.to_vec())
        .collect();
    let mut links = 0;
    while let Some(comp) = rest.pop() {
        match comp.as_slice() {
            b"." => continue,
            b".." => {
                let cut = resolved.iter().rposition(|&b| b == b'/').unwrap_or(0);
                resolved.truncate(cut);
                continue;
            }
            _ => {}
        }
        let mut candidate = resolved.clone();
        candidate.push(b'/');
        candidate.extend_from_slice(&comp);
        let node = fs.lookup(None, &candidate, false).ok()?;
        if node.metadata().kind != InodeType::Symlink {
            resolved = candidate;
            continue;
        }
        if node.as_any().is::<super::ProcInode>() {
            // A procfs link (`/proc/self/exe`, as busybox runs its applets
            // by) means something else to each reader, and reading it would
            // come back here: give up on resolving.
            return None;
        }
        links += 1;
        if links > crate::fs::MAX_SYMLINKS {
            return None;
        }
        let target = node.read_link().ok()?;
        if target.starts_with(b"/") {
            resolved.clear();
        }
        rest.extend(crate::fs::components(&target).rev().map(|c| c.to_vec()));
    }
    Some(if resolved.is_empty() {
        b"/".to_vec()
    } else {
        resolved
    })
}

/// The command name (`execve`'s file name or `PR_SET_NAME`).
pub(super) fn comm(p: &Process) -> String {
    p.comm()
}

/// Everything the `stat`, `statm` and `status` files show, gathered once.
struct Info {
    /// The pid, or the tid for a thread's files.
    id: u32,
    tgid: u32,
    comm: String,
    state: char,
    ppid: u32,
    pgid: u32,
    sid: u32,
    tty_nr: u32,
    tpgid: i64,
    threads: usize,
    /// Real, effective, saved and file-system user and group ids.
    uids: [u32; 4],
    gids: [u32; 4],
    groups: Vec<u32>,
    sigpending_limit: u64,
    /// Context switches: voluntary, involuntary.
    switches: (u64, u64),
    /// CPU time in user and in system mode.
    utime: core::time::Duration,
    stime: core::time::Duration,
    umask: u32,
    fd_size: usize,
    start_ticks: u64,
    children_ticks: u64,
    pending: u64,
    blocked: u64,
    ignored: u64,
    caught: u64,
    exit_signal: u32,
    exit_code: u32,
    zombie: bool,
    mem: MemUsage,
    caps: crate::process::credentials::Capabilities,
    /// The scheduling attributes of the thread (the main one for a
    /// process).
    sched: crate::process::sched::SchedAttr,
    /// The CPU the thread runs or last ran on, and the CPUs it may use.
    cpu: usize,
    cpus_allowed: u64,
}

/// Address-space sizes in bytes.
#[derive(Default)]
struct MemUsage {
    size: u64,
    rss: u64,
    exe: u64,
    data: u64,
    stack: u64,
    start_code: u64,
    end_code: u64,
}

/// Clock ticks per second as user space sees them (`USER_HZ`).
const USER_HZ: u64 = 100;

fn ticks(d: core::time::Duration) -> u64 {
    d.as_millis() as u64 / (1000 / USER_HZ)
}

/// The `(major, minor)` of the serial console, as Linux names the terminal
/// of processes started on it (`ttyS0`).
const CONSOLE_TTY_NR: u32 = (4 << 8) | 64;

impl Info {
    fn gather(p: &Arc<Process>, thread: Option<&Arc<Thread>>) -> Self {
        let threads = p.threads();
        let main = thread.cloned().or_else(|| threads.first().cloned());
        let zombie = p.is_zombie();
        let current = crate::process::try_current_thread();
        let is_current = current.as_ref().is_some_and(|c| match thread {
            Some(t) => c.tid() == t.tid(),
            None => Arc::ptr_eq(c.process(), p),
        });
        let state = if zombie {
            'Z'
        } else if p.is_stopped() {
            'T'
        } else if is_current
            || main
                .as_ref()
                .and_then(|t| t.task())
                .is_some_and(|t| t.is_runnable())
        {
            'R'
        } else {
            'S'
        };

        // A table that stays locked is shown as empty rather than failing
        // the whole file.
        let (tty, fd_size) = super::lock_bounded(&p.files()).map_or((None, 64), |files| {
            let tty = files.iter().find_map(|(fd, f)| {
                let t = f.as_any().downcast_ref::<crate::fs::tty::TtyFile>()?;
                (fd <= 2).then(|| t.tty().clone())
            });
            let highest = files
                .iter()
                .map(|(fd, _)| fd as usize + 1)
                .max()
                .unwrap_or(0);
            (tty, highest.max(64).next_power_of_two())
        });

        let (mut ignored, mut caught) = (0u64, 0u64);
        {
            let actions = p.sig_actions().lock();
            for s in 1..=64u8 {
                let h = actions.get(s).handler;
                if h == SIG_IGN {
                    ignored |= 1 << (s - 1);
                } else if h != SIG_DFL {
                    caught |= 1 << (s - 1);
                }
            }
        }
        // A thread's own files show its own credentials.
        let creds = thread.map_or_else(|| p.credentials(), |t| t.credentials());
        let children_ticks = ticks(*p.children_time_lock());
        // A thread's own counts, or the sum over the process's threads.
        let counted: Vec<Arc<Thread>> = match thread {
            Some(t) => alloc::vec![t.clone()],
            None => threads.clone(),
        };
        let (mut switches, mut utime, mut stime) = ((0, 0), Default::default(), Default::default());
        for task in counted.iter().filter_map(|t| t.task()) {
            let (v, n) = task.context_switches();
            switches = (switches.0 + v, switches.1 + n);
            let (u, s) = task.user_system_time();
            utime += u;
            stime += s;
        }
        let mem = if zombie {
            MemUsage::default()
        } else {
            mem_usage(&p.vmar().regions(), &p.vmar())
        };
        Self {
            id: thread.map_or(p.pid(), |t| t.tid()),
            tgid: p.pid(),
            comm: comm(p),
            state,
            ppid: p.ppid(),
            pgid: p.pgid(),
            sid: p.sid(),
            // A pseudo-terminal by its own number, the console as ttyS0.
            tty_nr: match &tty {
                Some(t) if t.name().starts_with("/dev/pts/") => t.metadata().rdev as u32,
                Some(_) => CONSOLE_TTY_NR,
                None => 0,
            },
            tpgid: match &tty {
                Some(t) => t.foreground().map_or(p.pgid() as i64, |g| g as i64),
                None => -1,
            },
            threads: threads.len().max(1),
            uids: [creds.ruid, creds.euid, creds.suid, creds.fsuid],
            gids: [creds.rgid, creds.egid, creds.sgid, creds.fsgid],
            groups: creds.groups.clone(),
            sigpending_limit: p.rlimit_cur(linux_raw_sys::general::RLIMIT_SIGPENDING),
            switches,
            utime,
            stime,
            umask: super::lock_bounded(&p.fs()).map_or(0o022, |fs| fs.umask),
            fd_size,
            start_ticks: ticks(p.start_time()),
            children_ticks,
            pending: main.as_ref().map_or(0, |t| t.sig_pending().0),
            blocked: main.as_ref().map_or(0, |t| t.sig_mask().0),
            ignored,
            caught,
            exit_signal: p.exit_signal().map_or(0, |s| s as u32),
            exit_code: p.exit_status().map_or(0, |s| s.wait_status()),
            zombie,
            mem,
            caps: creds.caps,
            sched: main.as_ref().map(|t| t.sched_attr()).unwrap_or_default(),
            cpu: main.as_ref().and_then(|t| t.task()).map_or(0, |t| t.cpu()),
            cpus_allowed: main
                .as_ref()
                .and_then(|t| t.task())
                .map_or(u64::MAX, |t| t.affinity())
                & ostd::cpu::online_mask(),
        }
    }

    fn state_name(&self) -> &'static str {
        match self.state {
            'R' => "R (running)",
            'T' => "T (stopped)",
            'Z' => "Z (zombie)",
            _ => "S (sleeping)",
        }
    }
}

/// At most this many pages are checked for residency per snapshot, so that
/// huge sparse mappings do not make reading `stat` slow; beyond it, pages
/// are not counted.
const RSS_SCAN_LIMIT: u64 = 1 << 18;
/// Pages checked per residency query (bounds the temporary buffer).
const RSS_CHUNK: u64 = 1 << 12;

fn mem_usage(regions: &[(Range<u64>, VmPerms, bool, bool)], vmar: &crate::vm::Vmar) -> MemUsage {
    let mut m = MemUsage::default();
    let mut budget = RSS_SCAN_LIMIT;
    for (range, perms, _shared, _backed) in regions {
        let len = range.end - range.start;
        m.size += len;
        if range.end == layout::STACK_TOP {
            m.stack += len;
        } else if perms.contains(VmPerms::EXEC) {
            m.exe += len;
            if m.start_code == 0 {
                m.start_code = range.start;
                m.end_code = range.end;
            }
        } else if perms.contains(VmPerms::WRITE) {
            m.data += len;
        }
        if perms.is_empty() {
            // Inaccessible (guard or reserved) memory is never resident.
            continue;
        }
        let mut addr = range.start;
        while addr < range.end && budget > 0 {
            let pages = ((range.end - addr) / PAGE_SIZE).min(RSS_CHUNK).min(budget);
            let Ok(res) = vmar.residency(addr, pages * PAGE_SIZE) else {
                break;
            };
            m.rss += res.iter().filter(|&&r| r != 0).count() as u64 * PAGE_SIZE;
            budget -= pages;
            addr += pages * PAGE_SIZE;
        }
    }
    m
}

/// `/proc/<pid>/stat`: one line of 52 fields (`proc_pid_stat(5)`).
fn stat(i: &Info) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "{} ({}) {} {} {} {} {} {} {} ",
        i.id, i.comm, i.state, i.ppid, i.pgid, i.sid, i.tty_nr, i.tpgid, 0x0040_0000u32
    );
    // minflt cminflt majflt cmajflt utime stime cutime cstime
    let _ = write!(
        s,
        "0 0 0 0 {} {} {} 0 ",
        ticks(i.utime),
        ticks(i.stime),
        i.children_ticks
    );
    // priority nice num_threads itrealvalue starttime vsize rss rsslim
    let _ = write!(
        s,
        "{} {} {} 0 {} {} {} {} ",
        i.sched.proc_priority(),
        i.sched.nice,
        i.threads,
        i.start_ticks,
        i.mem.size,
        i.mem.rss / PAGE_SIZE,
        u64::MAX
    );
    // startcode endcode startstack kstkesp kstkeip
    let start_stack = if i.zombie { 0 } else { layout::STACK_TOP };
    let _ = write!(
        s,
        "{} {} {} 0 0 ",
        i.mem.start_code, i.mem.end_code, start_stack
    );
    // signal blocked sigignore sigcatch wchan nswap cnswap exit_signal
    // processor rt_priority policy delayacct_blkio_ticks guest_time
    // cguest_time
    let _ = write!(
        s,
        "{} {} {} {} 0 0 0 {} {} {} {} 0 0 0 ",
        i.pending & 0xffff_ffff,
        i.blocked & 0xffff_ffff,
        i.ignored & 0xffff_ffff,
        i.caught & 0xffff_ffff,
        i.exit_signal,
        i.cpu,
        i.sched.rt_priority,
        i.sched.policy
    );
    // start_data end_data start_brk arg_start arg_end env_start env_end
    // exit_code
    let _ = writeln!(s, "0 0 0 0 0 0 0 {}", i.exit_code);
    s
}

/// `/proc/<pid>/statm`: sizes in pages.
fn statm(i: &Info) -> String {
    let m = &i.mem;
    format!(
        "{} {} 0 {} 0 {} 0\n",
        m.size / PAGE_SIZE,
        m.rss / PAGE_SIZE,
        m.exe / PAGE_SIZE,
        (m.data + m.stack) / PAGE_SIZE
    )
}

/// `/proc/<pid>/status`: the human-readable summary.
fn status(i: &Info) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Name:\t{}", i.comm);
    let _ = writeln!(s, "Umask:\t{:04o}", i.umask);
    let _ = writeln!(s, "State:\t{}", i.state_name());
    let _ = writeln!(s, "Tgid:\t{}", i.tgid);
    let _ = writeln!(s, "Ngid:\t0");
    let _ = writeln!(s, "Pid:\t{}", i.id);
    let _ = writeln!(s, "PPid:\t{}", i.ppid);
    let _ = writeln!(s, "TracerPid:\t0");
    let [r, e, sv, f] = i.uids;
    let _ = writeln!(s, "Uid:\t{r}\t{e}\t{sv}\t{f}");
    let [r, e, sv, f] = i.gids;
    let _ = writeln!(s, "Gid:\t{r}\t{e}\t{sv}\t{f}");
    let _ = writeln!(s, "FDSize:\t{}", i.fd_size);
    // Linux ends the list with a space, even an empty one.
    let _ = write!(s, "Groups:\t");
    for (n, g) in i.groups.iter().enumerate() {
        let _ = write!(s, "{}{g}", if n > 0 { " " } else { "" });
    }
    let _ = writeln!(s, " ");
    let _ = writeln!(s, "NStgid:\t{}", i.tgid);
    let _ = writeln!(s, "NSpid:\t{}", i.id);
    let _ = writeln!(s, "NSpgid:\t{}", i.pgid);
    let _ = writeln!(s, "NSsid:\t{}", i.sid);
    if !i.zombie {
        // Like Linux, a zombie has no memory lines.
        let m = &i.mem;
        let kb = |v: u64| v / 1024;
        for (name, v) in [
            ("VmPeak", m.size),
            ("VmSize", m.size),
            ("VmLck", 0),
            ("VmPin", 0),
            ("VmHWM", m.rss),
            ("VmRSS", m.rss),
            ("RssAnon", m.rss),
            ("RssFile", 0),
            ("RssShmem", 0),
            ("VmData", m.data),
            ("VmStk", m.stack),
            ("VmExe", m.exe),
            ("VmLib", 0),
            ("VmPTE", 0),
            ("VmSwap", 0),
            ("HugetlbPages", 0),
        ] {
            let _ = writeln!(s, "{name}:\t{:>8} kB", kb(v));
        }
        let _ = writeln!(s, "CoreDumping:\t0");
        let _ = writeln!(s, "THP_enabled:\t1");
    }
    let _ = writeln!(s, "Threads:\t{}", i.threads);
    let _ = writeln!(
        s,
        "SigQ:\t{}/{}",
        i.pending.count_ones(),
        i.sigpending_limit
    );
    let _ = writeln!(s, "SigPnd:\t{:016x}", i.pending);
    let _ = writeln!(s, "ShdPnd:\t{:016x}", 0);
    let _ = writeln!(s, "SigBlk:\t{:016x}", i.blocked);
    let _ = writeln!(s, "SigIgn:\t{:016x}", i.ignored);
    let _ = writeln!(s, "SigCgt:\t{:016x}", i.caught);
    let c = &i.caps;
    for (name, set) in [
        ("CapInh", c.inheritable),
        ("CapPrm", c.permitted),
        ("CapEff", c.effective),
        ("CapBnd", c.bounding),
        ("CapAmb", c.ambient),
    ] {
        let _ = writeln!(s, "{name}:\t{:016x}", set.bits());
    }
    let _ = writeln!(s, "NoNewPrivs:\t0");
    let _ = writeln!(s, "Seccomp:\t0");
    let _ = writeln!(s, "Seccomp_filters:\t0");
    let _ = writeln!(s, "Cpus_allowed:\t{:x}", i.cpus_allowed);
    let _ = writeln!(s, "Cpus_allowed_list:\t{}", cpu_list(i.cpus_allowed));
    // Linux's mask of `MAX_NUMNODES` (1024) nodes, node 0 set.
    let _ = writeln!(s, "Mems_allowed:\t{}00000001", "00000000,".repeat(31));
    let _ = writeln!(s, "Mems_allowed_list:\t0");
    let _ = writeln!(s, "voluntary_ctxt_switches:\t{}", i.switches.0);
    let _ = writeln!(s, "nonvoluntary_ctxt_switches:\t{}", i.switches.1);
    s
}

/// `/proc/<pid>/maps`: one line per region: addresses, permissions,
/// offset, device and inode of the file mapped, and its name (the file's
/// path, `[heap]` or `[stack]`), as Linux's `show_map_vma` prints them.
fn maps(p: &Process) -> String {
    if p.is_zombie() {
        return String::new();
    }
    let mut s = String::new();
    for r in p.vmar().region_info() {
        let flag = |bit: VmPerms, c: char| if r.perms.contains(bit) { c } else { '-' };
        let start = s.len();
        let (dev, ino) = r.name.as_ref().map_or((0, 0), |n| (n.dev, n.ino));
        let _ = write!(
            s,
            "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
            r.range.start,
            r.range.end,
            flag(VmPerms::READ, 'r'),
            flag(VmPerms::WRITE, 'w'),
            flag(VmPerms::EXEC, 'x'),
            if r.shared { 's' } else { 'p' },
            r.offset,
            (dev >> 8) & 0xfff,
            dev & 0xff,
            ino
        );
        let name = if let Some(n) = &r.name {
            Some(String::from_utf8_lossy(&n.path))
        } else if r.heap {
            Some("[heap]".into())
        } else if r.range.end == layout::STACK_TOP {
            Some("[stack]".into())
        } else {
            None
        };
        if let Some(name) = name {
            // Linux pads the line to 72 columns, then one space.
            while s.len() - start < 72 {
                s.push(' ');
            }
            s.push(' ');
            s.push_str(&name);
        }
        s.push('\n');
    }
    s
}

/// `/proc/<pid>/limits`: Linux's table (`proc_pid_limits`), one resource
/// a line in `RLIMIT_*` order.
fn limits(p: &Process) -> String {
    const ROWS: [(&str, &str); crate::process::rlimit::NLIMITS] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let value = |v: u64| {
        if v == crate::process::rlimit::RLIM_INFINITY {
            String::from("unlimited")
        } else {
            format!("{v}")
        }
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<25} {:<20} {:<20} {:<10}",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    let limits = p.rlimits();
    for (resource, (name, unit)) in ROWS.iter().enumerate() {
        let Ok(l) = limits.get(resource as u32) else {
            continue;
        };
        let _ = write!(s, "{name:<25} {:<20} {:<20} ", value(l.cur), value(l.max));
        if unit.is_empty() {
            s.push('\n');
        } else {
            let _ = writeln!(s, "{unit:<10}");
        }
    }
    s
}

/// A CPU mask as Linux lists it: ranges such as `0-2,5`.
pub(crate) fn cpu_list(mask: u64) -> String {
    let mut s = String::new();
    let mut cpu = 0;
    while cpu < 64 {
        if mask & (1 << cpu) == 0 {
            cpu += 1;
            continue;
        }
        let first = cpu;
        while cpu + 1 < 64 && mask & (1 << (cpu + 1)) != 0 {
            cpu += 1;
        }
        if !s.is_empty() {
            s.push(',');
        }
        if first == cpu {
            let _ = write!(s, "{first}");
        } else {
            let _ = write!(s, "{first}-{cpu}");
        }
        cpu += 1;
    }
    s
}
