//! `sysfs`: a minimal `/sys`, enough for what programs and C libraries
//! read from it (the CPU lists behind `nproc` and glibc's
//! `sysconf(_SC_NPROCESSORS_ONLN)`, the top-level layout).
//!
//! The tree is fixed: directories and read-only attribute files whose
//! contents are generated when read. Like Linux's attributes, files report
//! a size of 4096 and refuse to be opened for writing when they have no
//! way to store a value.

use alloc::format;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;

use super::file::{FileLike, flags};
use super::inode::{FsStats, Inode, InodeType, Metadata};
use crate::prelude::*;

/// `SYSFS_MAGIC`, reported by `statfs`.
const SYSFS_MAGIC: u64 = 0x6265_6572;
/// Device number reported for sysfs (`0:22`, distinct from the others).
const SYSFS_DEV: u64 = 22;

/// A node of the fixed tree.
enum Node {
    Dir(&'static [Entry]),
    File(fn() -> String),
}

/// A named node with its inode number.
struct Entry {
    name: &'static str,
    ino: u64,
    node: Node,
    /// Whether the node exists now (the `cpuN` directories exist for the
    /// CPUs that are up).
    present: fn() -> bool,
}

fn always() -> bool {
    true
}

const fn dir(name: &'static str, ino: u64, entries: &'static [Entry]) -> Entry {
    Entry {
        name,
        ino,
        node: Node::Dir(entries),
        present: always,
    }
}

const fn file(name: &'static str, ino: u64, generate: fn() -> String) -> Entry {
    Entry {
        name,
        ino,
        node: Node::File(generate),
        present: always,
    }
}

/// `/sys/devices/system/cpu/cpuN` (one core of its own per CPU, as QEMU's
/// `-smp N` describes them), present while CPU `N` is up.
struct CpuDir<const N: usize>;

impl<const N: usize> CpuDir<N> {
    /// Inode numbers: 100 for `cpu0` (as before there were others), then
    /// 300, 310, ...
    const INO: u64 = if N == 0 { 100 } else { 290 + N as u64 * 10 };
    const TOPOLOGY: &'static [Entry] = &[dir(
        "topology",
        Self::INO + 1,
        &[
            file("core_cpus_list", Self::INO + 2, cpu_number::<N>),
            file("core_id", Self::INO + 3, cpu_number::<N>),
            file("core_siblings_list", Self::INO + 4, cpu_list),
            file("package_cpus_list", Self::INO + 5, cpu_list),
            file("physical_package_id", Self::INO + 6, zero),
            file("thread_siblings_list", Self::INO + 7, cpu_number::<N>),
        ],
    )];
    const ENTRY: Entry = Entry {
        name: CPU_NAMES[N],
        ino: Self::INO,
        node: Node::Dir(Self::TOPOLOGY),
        present: cpu_up::<N>,
    };
}

const CPU_NAMES: [&str; 8] = [
    "cpu0", "cpu1", "cpu2", "cpu3", "cpu4", "cpu5", "cpu6", "cpu7",
];

fn cpu_up<const N: usize>() -> bool {
    ostd::cpu::apic_id(N).is_some()
}

fn cpu_number<const N: usize>() -> String {
    format!("{N}\n")
}

static ROOT: Entry = dir(
    "",
    1,
    &[
        dir("block", 2, &[]),
        dir("bus", 3, &[]),
        dir("class", 4, &[]),
        dir("dev", 5, &[dir("block", 50, &[]), dir("char", 51, &[])]),
        dir("devices", 6, &[dir("system", 60, &[dir("cpu", 61, CPU)])]),
        dir("firmware", 7, &[]),
        dir("fs", 8, &[]),
        dir("kernel", 9, KERNEL),
        dir("module", 10, &[]),
        dir("power", 11, &[]),
    ],
);

/// `/sys/devices/system/cpu`.
static CPU: &[Entry] = &[
    CpuDir::<0>::ENTRY,
    CpuDir::<1>::ENTRY,
    CpuDir::<2>::ENTRY,
    CpuDir::<3>::ENTRY,
    CpuDir::<4>::ENTRY,
    CpuDir::<5>::ENTRY,
    CpuDir::<6>::ENTRY,
    CpuDir::<7>::ENTRY,
    file("kernel_max", 110, kernel_max),
    file("offline", 111, empty_line),
    file("online", 112, cpu_list),
    file("possible", 113, cpu_list),
    file("present", 114, cpu_list),
];

/// `/sys/kernel`.
static KERNEL: &[Entry] = &[
    dir(
        "mm",
        200,
        &[dir(
            "transparent_hugepage",
            201,
            &[file("enabled", 202, thp_enabled)],
        )],
    ),
    file("uevent_seqnum", 210, zero),
];

/// The CPUs that are up, as a list (`0`, or `0-N`).
fn cpu_list() -> String {
    format!("{}\n", super::procfs::cpu_list(ostd::cpu::online_mask()))
}

fn zero() -> String {
    String::from("0\n")
}

fn empty_line() -> String {
    String::from("\n")
}

/// `NR_CPUS - 1` of a typical x86-64 build.
fn kernel_max() -> String {
    String::from("8191\n")
}

/// Transparent huge pages are not used.
fn thp_enabled() -> String {
    String::from("always madvise [never]\n")
}

/// A sysfs inode: a node of the fixed tree and the directories above it.
pub struct SysInode {
    entry: &'static Entry,
    parent: Option<Arc<SysInode>>,
    this: Weak<SysInode>,
}

impl SysInode {
    fn new(entry: &'static Entry, parent: Option<Arc<SysInode>>) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            entry,
            parent,
            this: this.clone(),
        })
    }

    fn kind(&self) -> InodeType {
        match self.entry.node {
            Node::Dir(_) => InodeType::Dir,
            Node::File(_) => InodeType::File,
        }
    }
}

/// Creates the root directory of a sysfs instance.
pub fn new_root() -> Arc<dyn Inode> {
    SysInode::new(&ROOT, None)
}

/// The time stamps of every sysfs inode: the boot time.
fn boot_time() -> core::time::Duration {
    ostd::timer::wall_clock().saturating_sub(ostd::timer::monotonic())
}

impl Inode for SysInode {
    fn metadata(&self) -> Metadata {
        let t = boot_time();
        let (mode, nlink, size) = match self.entry.node {
            Node::Dir(entries) => {
                let subdirs = entries
                    .iter()
                    .filter(|e| matches!(e.node, Node::Dir(_)) && (e.present)())
                    .count();
                (0o755, 2 + subdirs as u32, 0)
            }
            Node::File(_) => (0o444, 1, 4096),
        };
        Metadata {
            ino: self.entry.ino,
            dev: SYSFS_DEV,
            kind: self.kind(),
            mode,
            nlink,
            uid: 0,
            gid: 0,
            size,
            rdev: 0,
            atime: t,
            mtime: t,
            ctime: t,
            blocks: 0,
        }
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let Node::File(generate) = self.entry.node else {
            return_errno!(EISDIR)
        };
        Ok(super::inode::read_from(generate().as_bytes(), offset, buf))
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
        let Node::Dir(entries) = self.entry.node else {
            return_errno!(ENOTDIR)
        };
        let entry = entries
            .iter()
            .find(|e| e.name.as_bytes() == name && (e.present)())
            .ok_or(Error::new(ENOENT))?;
        Ok(SysInode::new(entry, self.this.upgrade()))
    }

    fn parent(&self) -> Option<Arc<dyn Inode>> {
        self.parent.clone().map(|p| p as Arc<dyn Inode>)
    }

    fn create(&self, _name: &[u8], kind: InodeType, _mode: u32) -> Result<Arc<dyn Inode>> {
        match (self.kind(), kind) {
            // Only the kernel makes directories here (kernfs: `EPERM`).
            (InodeType::Dir, InodeType::Dir) => return_errno!(EPERM),
            (InodeType::Dir, _) => return_errno!(EACCES),
            _ => return_errno!(ENOTDIR),
        }
    }

    fn symlink(&self, name: &[u8], _target: &[u8]) -> Result<Arc<dyn Inode>> {
        self.create(name, InodeType::Symlink, 0o777)
    }

    fn readdir(&self) -> Result<Vec<(Vec<u8>, u64, InodeType)>> {
        let Node::Dir(entries) = self.entry.node else {
            return_errno!(ENOTDIR)
        };
        Ok(entries
            .iter()
            .filter(|e| (e.present)())
            .map(|e| {
                let kind = match e.node {
                    Node::Dir(_) => InodeType::Dir,
                    Node::File(_) => InodeType::File,
                };
                (e.name.as_bytes().to_vec(), e.ino, kind)
            })
            .collect())
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

    fn set_mode(&self, _mode: u32) -> Result<()> {
        return_errno!(EPERM)
    }

    fn open_special(&self, oflags: u32) -> Option<Result<Arc<dyn FileLike>>> {
        // An attribute without a way to store a value cannot be opened for
        // writing, not even by root (kernfs: `EACCES`).
        let writing = oflags & flags::O_ACCMODE != flags::O_RDONLY || oflags & flags::O_TRUNC != 0;
        (self.kind() == InodeType::File && writing).then(|| Err(Error::new(EACCES)))
    }

    fn fs_stats(&self) -> FsStats {
        FsStats::pseudo(SYSFS_MAGIC)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
