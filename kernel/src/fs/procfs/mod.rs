//! `procfs`: process and system information under `/proc`.
//!
//! Nothing is stored: directories list and look up their entries from the
//! process table when asked, and a file's contents are generated when it is
//! opened (a snapshot the open file then reads from, like Linux's
//! `seq_file`). Inodes are made on demand and carry only what names them
//! (a pid, a thread id, an entry), so an inode of a process that has gone
//! away simply answers `ENOENT`.
//!
//! The files follow Linux's formats closely enough for the procps tools
//! (`ps`, `top`, `free`, `pidof`, `mount`, `df`, ...) to parse them.

mod cpuinfo;
mod fd;
mod pid;
mod system;
#[cfg(feature = "ktest")]
mod test;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use ostd::sync::{Mutex, MutexGuard};

use self::pid::PidEntry;
use super::file::{FileLike, SeekFrom, flags};
use super::inode::{FsStats, Inode, InodeType, Metadata};
use crate::ipc::limits as ipc;
use crate::prelude::*;
use crate::process::{Pid, Process, Thread, Tid, find_process};

pub use self::fd::{magic_link, map_name};
pub(crate) use self::pid::cpu_list;

/// Device number reported for procfs (distinct from the RAM file system's).
const PROC_DEV: u64 = 3;
/// `PROC_SUPER_MAGIC`, reported by `statfs`.
pub const PROC_SUPER_MAGIC: u64 = 0x9fa0;

/// What generates a system-wide file.
type Generator = fn() -> String;
/// What takes the text written to a tunable (`/proc/sys`) file.
type Setter = fn(&str) -> Result<()>;

/// A fixed (not per-process) node: a generated file, a tunable that root
/// may also write, or a directory of them.
#[derive(Clone, Copy)]
enum Fixed {
    File(Generator),
    Tunable(Generator, Setter),
    Dir(&'static [FixedEntry]),
}

/// A named fixed node with its inode number.
struct FixedEntry {
    name: &'static str,
    ino: u64,
    node: Fixed,
}

const fn file(name: &'static str, ino: u64, generate: Generator) -> FixedEntry {
    FixedEntry {
        name,
        ino,
        node: Fixed::File(generate),
    }
}

const fn tunable(name: &'static str, ino: u64, get: Generator, set: Setter) -> FixedEntry {
    FixedEntry {
        name,
        ino,
        node: Fixed::Tunable(get, set),
    }
}

const fn dir(name: &'static str, ino: u64, entries: &'static [FixedEntry]) -> FixedEntry {
    FixedEntry {
        name,
        ino,
        node: Fixed::Dir(entries),
    }
}

/// The system-wide part of the tree. Inode numbers below 1000 are fixed
/// nodes; per-process nodes have the pid in the high bits (see `pid_ino`).
static ROOT_ENTRIES: &[FixedEntry] = &[
    file("cmdline", 10, system::cmdline),
    file("cpuinfo", 11, cpuinfo::cpuinfo),
    file("devices", 12, system::devices),
    file("filesystems", 13, system::filesystems),
    file("loadavg", 14, system::loadavg),
    file("meminfo", 15, system::meminfo),
    file("mounts", 16, system::mounts),
    file("stat", 17, system::stat),
    file("swaps", 18, system::swaps),
    file("uptime", 19, system::uptime),
    file("version", 20, system::version),
    dir("sys", 100, SYS_ENTRIES),
];

static SYS_ENTRIES: &[FixedEntry] = &[
    dir("fs", 103, SYS_FS_ENTRIES),
    dir("kernel", 101, SYS_KERNEL_ENTRIES),
    dir("vm", 102, SYS_VM_ENTRIES),
];

static SYS_FS_ENTRIES: &[FixedEntry] = &[
    file("file-max", 151, system::file_max),
    file("file-nr", 152, system::file_nr),
    file("nr_open", 153, system::nr_open),
    tunable(
        "pipe-max-size",
        150,
        system::pipe_max_size,
        system::set_pipe_max_size,
    ),
];

static SYS_KERNEL_ENTRIES: &[FixedEntry] = &[
    tunable("hostname", 110, system::hostname, system::set_hostname),
    tunable(
        "domainname",
        124,
        system::domainname,
        system::set_domainname,
    ),
    file("ostype", 111, system::ostype),
    file("osrelease", 112, system::osrelease),
    file("version", 113, system::kernel_version),
    tunable(
        "core_pattern",
        116,
        system::core_pattern,
        system::set_core_pattern,
    ),
    tunable(
        "dmesg_restrict",
        117,
        system::dmesg_restrict,
        system::set_dmesg_restrict,
    ),
    file("ngroups_max", 118, system::ngroups_max),
    file("tainted", 119, system::tainted),
    tunable("pid_max", 114, system::pid_max, system::set_pid_max),
    tunable(
        "threads-max",
        115,
        system::threads_max,
        system::set_threads_max,
    ),
    dir("random", 120, SYS_RANDOM_ENTRIES),
    dir("pty", 160, SYS_PTY_ENTRIES),
    // System V IPC limits.
    tunable("sem", 140, ipc::sem_text, ipc::set_sem_text),
    tunable("shmmax", 141, ipc::shmmax_text, ipc::set_shmmax_text),
    tunable("shmall", 142, ipc::shmall_text, ipc::set_shmall_text),
    tunable("shmmni", 143, ipc::shmmni_text, ipc::set_shmmni_text),
    tunable("msgmax", 144, ipc::msgmax_text, ipc::set_msgmax_text),
    tunable("msgmnb", 145, ipc::msgmnb_text, ipc::set_msgmnb_text),
    tunable("msgmni", 146, ipc::msgmni_text, ipc::set_msgmni_text),
];

static SYS_RANDOM_ENTRIES: &[FixedEntry] = &[
    file("boot_id", 121, system::boot_id),
    file("uuid", 122, system::uuid),
    file("entropy_avail", 123, system::entropy_avail),
];

static SYS_PTY_ENTRIES: &[FixedEntry] = &[
    file("max", 161, system::pty_max),
    file("nr", 162, system::pty_nr),
    file("reserve", 163, system::pty_reserve),
];

static SYS_VM_ENTRIES: &[FixedEntry] = &[
    tunable(
        "overcommit_memory",
        130,
        system::overcommit,
        system::set_overcommit,
    ),
    file("overcommit_ratio", 131, system::overcommit_ratio),
];

/// The fixed directory holding `entry`, or `None` if it is in the root.
fn fixed_parent(entry: &'static FixedEntry) -> Option<&'static FixedEntry> {
    fn search(
        dir: Option<&'static FixedEntry>,
        entries: &'static [FixedEntry],
        target: &'static FixedEntry,
    ) -> Option<Option<&'static FixedEntry>> {
        for e in entries {
            if core::ptr::eq(e, target) {
                return Some(dir);
            }
            if let Fixed::Dir(sub) = e.node
                && let Some(found) = search(Some(e), sub, target)
            {
                return Some(found);
            }
        }
        None
    }
    search(None, ROOT_ENTRIES, entry).flatten()
}

/// What a procfs inode is.
#[derive(Clone, Copy)]
enum Node {
    /// `/proc`.
    Root,
    /// `/proc/self`.
    SelfLink,
    /// `/proc/thread-self`.
    ThreadSelfLink,
    /// A system-wide file or directory.
    Fixed(&'static FixedEntry),
    /// `/proc/<pid>`, or `/proc/<pid>/task/<tid>` when `tid` is set.
    Process { pid: Pid, tid: Option<Tid> },
    /// An entry of a process (or thread) directory.
    Entry {
        pid: Pid,
        tid: Option<Tid>,
        entry: PidEntry,
    },
    /// `/proc/<pid>/fd/<fd>`.
    Fd { pid: Pid, tid: Option<Tid>, fd: i32 },
    /// `/proc/<pid>/fdinfo/<fd>`.
    FdInfo { pid: Pid, tid: Option<Tid>, fd: i32 },
}

/// The inode number of a per-process node: pid, thread and entry packed so
/// the same node always gets the same number.
fn pid_ino(pid: Pid, tid: Option<Tid>, sub: u64) -> u64 {
    let tid = tid.map_or(0, |t| t as u64 + 1) & 0xff_ffff;
    ((pid as u64 & 0xff_ffff) << 40) | (tid << 16) | (sub & 0xffff)
}

/// A procfs inode.
pub struct ProcInode {
    node: Node,
    root: Weak<ProcInode>,
    this: Weak<ProcInode>,
}

/// The live process `pid`, or `ENOENT`.
fn process(pid: Pid) -> Result<Arc<Process>> {
    find_process(pid).ok_or(Error::new(ENOENT))
}

/// The live thread `tid` of `process`, or `ENOENT`.
fn thread_of(process: &Process, tid: Tid) -> Result<Arc<Thread>> {
    process
        .threads()
        .into_iter()
        .find(|t| t.tid() == tid)
        .ok_or(Error::new(ENOENT))
}

/// The process (and thread, if any) a per-process node refers to, if both
/// still exist.
fn target(pid: Pid, tid: Option<Tid>) -> Result<(Arc<Process>, Option<Arc<Thread>>)> {
    let p = process(pid)?;
    let t = match tid {
        Some(tid) => Some(thread_of(&p, tid)?),
        None => None,
    };
    Ok((p, t))
}

/// Locks a process's file table or file-system context, giving up after a
/// bounded wait. Path resolution reaches procfs while its caller may hold
/// such a lock itself (`chdir` keeps the context locked while it resolves,
/// say, `/proc/self/cwd`); waiting for it would never end.
pub(super) fn lock_bounded<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    for _ in 0..1000 {
        if let Some(g) = m.try_lock() {
            return Ok(g);
        }
        // Another task may hold it briefly: let it run.
        ostd::task::yield_now();
    }
    return_errno!(EDEADLK)
}

/// The time stamps of every procfs inode: the boot time.
fn boot_time() -> Duration {
    ostd::timer::wall_clock().saturating_sub(ostd::timer::monotonic())
}

impl ProcInode {
    fn new_root() -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            node: Node::Root,
            root: this.clone(),
            this: this.clone(),
        })
    }

    fn child(&self, node: Node) -> Arc<dyn Inode> {
        Arc::new_cyclic(|this| Self {
            node,
            root: self.root.clone(),
            this: this.clone(),
        })
    }

    fn kind(&self) -> InodeType {
        match self.node {
            Node::Root | Node::Process { .. } => InodeType::Dir,
            Node::SelfLink | Node::ThreadSelfLink | Node::Fd { .. } => InodeType::Symlink,
            Node::Fixed(e) => match e.node {
                Fixed::File(_) | Fixed::Tunable(..) => InodeType::File,
                Fixed::Dir(_) => InodeType::Dir,
            },
            Node::Entry { entry, .. } => entry.kind(),
            Node::FdInfo { .. } => InodeType::File,
        }
    }

    fn ino(&self) -> u64 {
        match self.node {
            Node::Root => 1,
            Node::SelfLink => 2,
            Node::ThreadSelfLink => 3,
            Node::Fixed(e) => e.ino,
            Node::Process { pid, tid } => pid_ino(pid, tid, 0),
            Node::Entry { pid, tid, entry } => pid_ino(pid, tid, 1 + entry as u64),
            Node::Fd { pid, tid, fd } => pid_ino(pid, tid, 0x100 + fd as u64),
            Node::FdInfo { pid, tid, fd } => pid_ino(pid, tid, 0x8000 + fd as u64),
        }
    }

    /// The absolute path of this node when procfs is at `/proc` (what the
    /// descriptor links of an open procfs file show).
    fn path(&self) -> String {
        fn process_dir(pid: Pid, tid: Option<Tid>) -> String {
            match tid {
                Some(t) => format!("/proc/{pid}/task/{t}"),
                None => format!("/proc/{pid}"),
            }
        }
        match self.node {
            Node::Root => "/proc".to_string(),
            Node::SelfLink => "/proc/self".to_string(),
            Node::ThreadSelfLink => "/proc/thread-self".to_string(),
            Node::Fixed(e) => {
                let mut parts = alloc::vec![e.name];
                let mut cur = e;
                while let Some(p) = fixed_parent(cur) {
                    parts.push(p.name);
                    cur = p;
                }
                parts.reverse();
                format!("/proc/{}", parts.join("/"))
            }
            Node::Process { pid, tid } => process_dir(pid, tid),
            Node::Entry { pid, tid, entry } => {
                format!("{}/{}", process_dir(pid, tid), entry.name())
            }
            Node::Fd { pid, tid, fd } => format!("{}/fd/{fd}", process_dir(pid, tid)),
            Node::FdInfo { pid, tid, fd } => format!("{}/fdinfo/{fd}", process_dir(pid, tid)),
        }
    }

    /// Owner of the node: a process's files belong to its effective user,
    /// like on Linux; the rest to root.
    fn owner(&self) -> (u32, u32) {
        let pid = match self.node {
            Node::Process { pid, .. }
            | Node::Entry { pid, .. }
            | Node::Fd { pid, .. }
            | Node::FdInfo { pid, .. } => pid,
            _ => return (0, 0),
        };
        find_process(pid).map_or((0, 0), |p| {
            let c = p.credentials();
            (c.euid, c.egid)
        })
    }

    fn mode(&self) -> u32 {
        match self.node {
            Node::Fd { pid, fd, .. } => {
                // Like Linux: the link's permissions show how the file is open.
                let file = find_process(pid)
                    .and_then(|p| lock_bounded(&p.files()).ok().and_then(|f| f.get(fd).ok()));
                let acc = file.map_or(flags::O_RDONLY, |f| f.status_flags() & flags::O_ACCMODE);
                match acc {
                    flags::O_RDONLY => 0o500,
                    flags::O_WRONLY => 0o300,
                    _ => 0o700,
                }
            }
            Node::Fixed(FixedEntry {
                node: Fixed::Tunable(..),
                ..
            }) => 0o644,
            _ => match self.kind() {
                InodeType::Dir => 0o555,
                InodeType::Symlink => 0o777,
                _ => 0o444,
            },
        }
    }

    /// Generates the contents of a file.
    fn generate(&self) -> Result<Vec<u8>> {
        match self.node {
            Node::Fixed(FixedEntry {
                node: Fixed::File(generate) | Fixed::Tunable(generate, _),
                ..
            }) => Ok(generate().into_bytes()),
            Node::Entry { pid, tid, entry } if entry.kind() == InodeType::File => {
                let (p, t) = target(pid, tid)?;
                pid::generate(&p, t.as_ref(), entry)
            }
            Node::FdInfo { pid, tid, fd } => {
                let (p, _) = target(pid, tid)?;
                Ok(fd::fdinfo(&p, fd)?.into_bytes())
            }
            _ => match self.kind() {
                InodeType::Dir => return_errno!(EISDIR),
                _ => return_errno!(EINVAL),
            },
        }
    }

    /// Lists a fixed directory.
    fn list_fixed(
        entries: &'static [FixedEntry],
    ) -> impl Iterator<Item = (String, u64, InodeType)> {
        entries.iter().map(|e| {
            let kind = match e.node {
                Fixed::File(_) | Fixed::Tunable(..) => InodeType::File,
                Fixed::Dir(_) => InodeType::Dir,
            };
            (e.name.to_string(), e.ino, kind)
        })
    }
}

/// Parses a decimal pid, tid or fd as Linux does: no sign, no leading
/// zeros, no other characters.
fn parse_number(name: &str) -> Option<u32> {
    if name.is_empty() || (name.len() > 1 && name.starts_with('0')) {
        return None;
    }
    if !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

impl Inode for ProcInode {
    fn metadata(&self) -> Metadata {
        let kind = self.kind();
        let (uid, gid) = self.owner();
        let t = boot_time();
        Metadata {
            ino: self.ino(),
            dev: PROC_DEV,
            kind,
            mode: self.mode(),
            nlink: if kind == InodeType::Dir { 2 } else { 1 },
            uid,
            gid,
            // Like Linux, generated files report size 0: the size is not
            // known until they are read.
            size: 0,
            rdev: 0,
            atime: t,
            mtime: t,
            ctime: t,
            blocks: 0,
        }
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        // Reached only through an inode-backed open file (e.g. one opened
        // with `O_PATH` and then read some other way): generate afresh.
        let data = self.generate()?;
        Ok(crate::fs::inode::read_from(&data, offset, buf))
    }

    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        match self.kind() {
            InodeType::Dir => return_errno!(EISDIR),
            _ => return_errno!(EACCES),
        }
    }

    fn resize(&self, _size: u64) -> Result<()> {
        return_errno!(EACCES)
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        // Every procfs name is ASCII.
        let name = core::str::from_utf8(name).map_err(|_| Error::new(ENOENT))?;
        let node = match self.node {
            Node::Root => match name {
                "self" => Node::SelfLink,
                "thread-self" => Node::ThreadSelfLink,
                _ => {
                    if let Some(e) = ROOT_ENTRIES.iter().find(|e| e.name == name) {
                        Node::Fixed(e)
                    } else {
                        let pid = parse_number(name).ok_or(Error::new(ENOENT))?;
                        process(pid)?;
                        Node::Process { pid, tid: None }
                    }
                }
            },
            Node::Fixed(FixedEntry {
                node: Fixed::Dir(entries),
                ..
            }) => Node::Fixed(
                entries
                    .iter()
                    .find(|e| e.name == name)
                    .ok_or(Error::new(ENOENT))?,
            ),
            Node::Process { pid, tid } => {
                target(pid, tid)?;
                let entry = PidEntry::find(name, tid.is_some()).ok_or(Error::new(ENOENT))?;
                Node::Entry { pid, tid, entry }
            }
            Node::Entry {
                pid,
                tid,
                entry: entry @ (PidEntry::Fd | PidEntry::FdInfo),
            } => {
                let (p, _) = target(pid, tid)?;
                let fd = parse_number(name).ok_or(Error::new(ENOENT))?;
                let fd = i32::try_from(fd).map_err(|_| Error::new(ENOENT))?;
                lock_bounded(&p.files())?
                    .get(fd)
                    .map_err(|_| Error::new(ENOENT))?;
                if entry == PidEntry::Fd {
                    Node::Fd { pid, tid, fd }
                } else {
                    Node::FdInfo { pid, tid, fd }
                }
            }
            Node::Entry {
                pid,
                tid: None,
                entry: PidEntry::Task,
            } => {
                let p = process(pid)?;
                let tid = parse_number(name).ok_or(Error::new(ENOENT))?;
                thread_of(&p, tid)?;
                Node::Process {
                    pid,
                    tid: Some(tid),
                }
            }
            _ => return_errno!(ENOTDIR),
        };
        Ok(self.child(node))
    }

    fn parent(&self) -> Option<Arc<dyn Inode>> {
        let root = self.root.upgrade()?;
        let node = match self.node {
            Node::Root => return None,
            Node::Fixed(e) => match fixed_parent(e) {
                Some(p) => Node::Fixed(p),
                None => return Some(root),
            },
            Node::Process { pid, tid: Some(_) } => Node::Entry {
                pid,
                tid: None,
                entry: PidEntry::Task,
            },
            Node::Entry { pid, tid, .. } => Node::Process { pid, tid },
            Node::Fd { pid, tid, .. } => Node::Entry {
                pid,
                tid,
                entry: PidEntry::Fd,
            },
            Node::FdInfo { pid, tid, .. } => Node::Entry {
                pid,
                tid,
                entry: PidEntry::FdInfo,
            },
            Node::Process { tid: None, .. } | Node::SelfLink | Node::ThreadSelfLink => {
                return Some(root);
            }
        };
        Some(root.child(node))
    }

    fn create(&self, _name: &[u8], _kind: InodeType, _mode: u32) -> Result<Arc<dyn Inode>> {
        match self.kind() {
            InodeType::Dir => return_errno!(EACCES),
            _ => return_errno!(ENOTDIR),
        }
    }

    fn symlink(&self, name: &[u8], _target: &[u8]) -> Result<Arc<dyn Inode>> {
        self.create(name, InodeType::Symlink, 0o777)
    }

    fn readdir(&self) -> Result<Vec<(Vec<u8>, u64, InodeType)>> {
        let mut out = Vec::new();
        match self.node {
            Node::Root => {
                out.extend(Self::list_fixed(ROOT_ENTRIES));
                out.push(("self".to_string(), 2, InodeType::Symlink));
                out.push(("thread-self".to_string(), 3, InodeType::Symlink));
                let mut pids: Vec<Pid> = crate::process::all_processes()
                    .iter()
                    .map(|p| p.pid())
                    .collect();
                pids.sort_unstable();
                out.extend(
                    pids.into_iter()
                        .map(|pid| (pid.to_string(), pid_ino(pid, None, 0), InodeType::Dir)),
                );
            }
            Node::Fixed(FixedEntry {
                node: Fixed::Dir(entries),
                ..
            }) => out.extend(Self::list_fixed(entries)),
            Node::Process { pid, tid } => {
                target(pid, tid)?;
                out.extend(PidEntry::list(tid.is_some()).map(|entry| {
                    (
                        entry.name().to_string(),
                        pid_ino(pid, tid, 1 + entry as u64),
                        entry.kind(),
                    )
                }));
            }
            Node::Entry {
                pid,
                tid,
                entry: entry @ (PidEntry::Fd | PidEntry::FdInfo),
            } => {
                let (p, _) = target(pid, tid)?;
                let fds: Vec<i32> = lock_bounded(&p.files())?.iter().map(|(fd, _)| fd).collect();
                let (base, kind) = if entry == PidEntry::Fd {
                    (0x100, InodeType::Symlink)
                } else {
                    (0x8000, InodeType::File)
                };
                out.extend(
                    fds.into_iter()
                        .map(|fd| (fd.to_string(), pid_ino(pid, tid, base + fd as u64), kind)),
                );
            }
            Node::Entry {
                pid,
                tid: None,
                entry: PidEntry::Task,
            } => {
                let p = process(pid)?;
                let mut tids: Vec<Tid> = p.threads().iter().map(|t| t.tid()).collect();
                tids.sort_unstable();
                out.extend(
                    tids.into_iter()
                        .map(|tid| (tid.to_string(), pid_ino(pid, Some(tid), 0), InodeType::Dir)),
                );
            }
            _ => return_errno!(ENOTDIR),
        }
        Ok(out
            .into_iter()
            .map(|(name, ino, kind): (String, u64, InodeType)| (name.into_bytes(), ino, kind))
            .collect())
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        match self.node {
            Node::SelfLink => {
                let t = crate::process::try_current_thread().ok_or(Error::new(ENOENT))?;
                Ok(t.process().pid().to_string().into_bytes())
            }
            Node::ThreadSelfLink => {
                let t = crate::process::try_current_thread().ok_or(Error::new(ENOENT))?;
                Ok(format!("{}/task/{}", t.process().pid(), t.tid()).into_bytes())
            }
            Node::Entry { pid, tid, entry } if entry.kind() == InodeType::Symlink => {
                let (p, _) = target(pid, tid)?;
                pid::read_link(&p, entry)
            }
            Node::Fd { pid, tid, fd } => {
                let (p, _) = target(pid, tid)?;
                let file = lock_bounded(&p.files())?
                    .get(fd)
                    .map_err(|_| Error::new(ENOENT))?;
                pid::describe_file(&p, &file)
            }
            _ => return_errno!(EINVAL),
        }
    }

    fn unlink(&self, _name: &[u8]) -> Result<()> {
        return_errno!(EPERM)
    }

    fn rmdir(&self, _name: &[u8]) -> Result<()> {
        return_errno!(EPERM)
    }

    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<()> {
        return_errno!(EPERM)
    }

    fn rename(&self, _old: &[u8], _new_dir: &Arc<dyn Inode>, _new: &[u8]) -> Result<()> {
        return_errno!(EPERM)
    }

    fn open_special(&self, oflags: u32) -> Option<Result<Arc<dyn FileLike>>> {
        if self.kind() != InodeType::File {
            return None;
        }
        let setter = match self.node {
            Node::Fixed(FixedEntry {
                node: Fixed::Tunable(_, set),
                ..
            }) => Some(*set),
            _ => None,
        };
        let writing = oflags & flags::O_ACCMODE != flags::O_RDONLY || oflags & flags::O_TRUNC != 0;
        if writing {
            // Tunables are root's (mode 0644); everything else is read-only.
            // Linux's sysctl `test_perm` looks at the effective uid itself,
            // not at a capability.
            let root =
                crate::process::try_current_thread().is_some_and(|t| t.credentials().euid == 0);
            if setter.is_none() || !root {
                return Some(Err(Error::new(EACCES)));
            }
        }
        let inode: Arc<dyn Inode> = self.this.upgrade()?;
        Some(self.generate().map(|data| {
            Arc::new(ProcFile {
                data: Mutex::new(data),
                pos: Mutex::new(0),
                flags: AtomicU32::new(oflags & !flags::O_CLOEXEC),
                path: self.path().into_bytes(),
                inode,
                setter: setter.filter(|_| writing),
                lock: crate::fs::lock::FileLockHandle::new(),
                owner: crate::fs::sigio::IoOwner::new(),
            }) as Arc<dyn FileLike>
        }))
    }

    fn fs_stats(&self) -> FsStats {
        FsStats::pseudo(PROC_SUPER_MAGIC)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open procfs file: the contents generated at `open`, and a position.
/// A read from offset 0 generates them again, as Linux's `seq_file` does,
/// so a program may keep the file open and `pread` it for fresh values.
pub struct ProcFile {
    data: Mutex<Vec<u8>>,
    pos: Mutex<u64>,
    flags: AtomicU32,
    path: Vec<u8>,
    inode: Arc<dyn Inode>,
    /// For a tunable opened for writing: what takes a written value.
    setter: Option<Setter>,
    lock: crate::fs::lock::FileLockHandle,
    owner: Arc<crate::fs::sigio::IoOwner>,
}

impl ProcFile {
    fn copy_out(&self, offset: u64, buf: &mut [u8]) -> usize {
        let mut data = self.data.lock();
        if offset == 0
            && let Some(node) = self.inode.as_any().downcast_ref::<ProcInode>()
            && let Ok(fresh) = node.generate()
        {
            *data = fresh;
        }
        crate::fs::inode::read_from(&data, offset, buf)
    }
}

impl FileLike for ProcFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        let mut pos = self.pos.lock();
        let n = self.copy_out(*pos, buf);
        *pos += n as u64;
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        let Some(set) = self.setter else {
            return_errno!(EBADF)
        };
        // Like Linux's `proc_dointvec`: one value per write, surrounding
        // white space ignored.
        let text = core::str::from_utf8(buf).map_err(|_| Error::new(EINVAL))?;
        set(text.trim())?;
        Ok(buf.len())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        Ok(self.copy_out(offset, buf))
    }

    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        return_errno!(EBADF)
    }

    fn seek(&self, pos: SeekFrom) -> Result<u64> {
        // Like Linux's `seq_lseek`: no SEEK_END, the end is not known.
        if let SeekFrom::End(_) = pos {
            return_errno!(EINVAL);
        }
        let mut cur = self.pos.lock();
        let len = self.data.lock().len() as u64;
        *cur = crate::fs::file::seek_target(*cur, pos, len)?;
        Ok(*cur)
    }

    fn metadata(&self) -> Metadata {
        self.inode.metadata()
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, new: u32) -> Result<()> {
        crate::fs::file::set_changeable_flags(&self.flags, new);
        Ok(())
    }

    fn inode(&self) -> Option<&Arc<dyn Inode>> {
        Some(&self.inode)
    }

    fn path(&self) -> Option<Vec<u8>> {
        Some(self.path.clone())
    }

    fn lock_handle(&self) -> Option<&crate::fs::lock::FileLockHandle> {
        Some(&self.lock)
    }

    fn io_owner(&self) -> Option<&Arc<crate::fs::sigio::IoOwner>> {
        Some(&self.owner)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Creates the root directory of a procfs instance.
pub fn new_root() -> Arc<dyn Inode> {
    ProcInode::new_root()
}
