//! `devfs`: the device files under `/dev`.
//!
//! The root holds the character devices Linux always has (`null`, `zero`,
//! `full`, `random`, `urandom`, `tty`, `console`, `ttyS0`, `ptmx`), the standard
//! symbolic links into `/proc/self/fd` and the directories `pts` and `shm`.
//! Like Linux's devtmpfs the tree is writable: `mkdir` makes another devfs
//! directory, and every other node created here (regular files for
//! `shm_open`, FIFOs, symbolic links, `mknod`) is a RAM file system inode.
//! Those are made in one hidden RAM directory shared by the whole devfs,
//! under unique private names, so that their link counts stay right while
//! the visible names live in the devfs directories.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use core::time::Duration;

use ostd::sync::Mutex;

use super::file::{FileLike, SeekFrom, flags};
use super::inode::{FsStats, Inode, InodeType, Metadata};
use super::ramfs::RamInode;
use crate::prelude::*;

/// Device number reported for devfs (`0:5`, as devtmpfs usually is on Linux;
/// it is also what the console reports from `fstat`).
const DEVFS_DEV: u64 = 5;
/// What `statfs` reports of devtmpfs: a tmpfs of Linux's default size,
/// half of memory in blocks and in inodes, holding no data (`df /dev`
/// shows its size, nothing used).
fn devtmpfs_stats() -> FsStats {
    let half = ostd::mm::total_frames() as u64 / 2;
    FsStats {
        magic: TMPFS_MAGIC,
        blocks: half,
        blocks_free: half,
        files: half,
        files_free: half,
    }
}

/// `TMPFS_MAGIC`: devtmpfs reports itself as a tmpfs in `statfs`.
const TMPFS_MAGIC: u64 = 0x0102_1994;
/// Inode numbers handed to directories made by `mkdir`; the fixed nodes use
/// the small numbers below this.
static NEXT_DIR_INO: AtomicU64 = AtomicU64::new(100);
/// Suffix for the private names of nodes kept in the hidden RAM directory.
static NEXT_BACKING: AtomicU64 = AtomicU64::new(0);

/// The console's inode number: it matches what the console TTY reports from
/// `fstat`, so `stat("/dev/console")` and `fstat` on it agree.
const CONSOLE_INO: u64 = 5;

/// Linux's `new_encode_dev`: the `st_rdev` value of device `major:minor`.
pub const fn encode_dev(major: u32, minor: u32) -> u64 {
    ((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)) as u64
}

/// The devices of devfs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Device {
    Null,
    Zero,
    Full,
    Random,
    Urandom,
    Tty,
    Console,
    TtyS0,
    Ptmx,
    Kmsg,
}

impl Device {
    /// Every device, with its name and inode number in the root directory.
    const ALL: [(Device, &'static str, u64); 10] = [
        (Device::Null, "null", 2),
        (Device::Zero, "zero", 3),
        (Device::Full, "full", 4),
        (Device::Console, "console", CONSOLE_INO),
        (Device::Random, "random", 6),
        (Device::Urandom, "urandom", 7),
        (Device::Tty, "tty", 8),
        (Device::TtyS0, "ttyS0", 9),
        (Device::Ptmx, "ptmx", 16),
        (Device::Kmsg, "kmsg", 17),
    ];

    /// `(major, minor)` as Linux numbers them.
    fn numbers(self) -> (u32, u32) {
        match self {
            Device::Null => (1, 3),
            Device::Zero => (1, 5),
            Device::Full => (1, 7),
            Device::Random => (1, 8),
            Device::Urandom => (1, 9),
            Device::Tty => (5, 0),
            Device::Console => (5, 1),
            Device::TtyS0 => (4, 64),
            Device::Ptmx => (5, 2),
            Device::Kmsg => (1, 11),
        }
    }

    /// Default permissions: everyone may use the memory devices and the
    /// controlling terminal; the console and serial line are owner and
    /// group `tty` only.
    fn mode(self) -> u32 {
        match self {
            Device::Console | Device::TtyS0 => 0o620,
            Device::Kmsg => 0o644,
            _ => 0o666,
        }
    }

    /// Group owner (`tty` is group 5 on Linux).
    fn gid(self) -> u32 {
        match self {
            Device::Tty | Device::Console | Device::TtyS0 | Device::Ptmx => 5,
            _ => 0,
        }
    }

    /// Reads from a memory device. Terminals are opened as the console and
    /// never get here; reading them as plain inodes gives end of file.
    fn read(self, buf: &mut [u8]) -> Result<usize> {
        match self {
            Device::Zero | Device::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            Device::Random | Device::Urandom => {
                ostd::random::fill(buf);
                Ok(buf.len())
            }
            Device::Null
            | Device::Tty
            | Device::Console
            | Device::TtyS0
            | Device::Ptmx
            | Device::Kmsg => Ok(0),
        }
    }

    /// Writes to a memory device. The data is only looked at for its length.
    fn write(self, buf: &[u8]) -> Result<usize> {
        match self {
            Device::Full => return_errno!(ENOSPC),
            // Writing to the random devices would mix the bytes into the
            // entropy pool on Linux; the hardware generator needs no help.
            _ => Ok(buf.len()),
        }
    }
}

/// Owner, permissions and times of a devfs node (the changeable part of its
/// metadata).
struct Attrs {
    mode: u32,
    uid: u32,
    gid: u32,
    atime: Duration,
    mtime: Duration,
    ctime: Duration,
}

impl Attrs {
    fn new(mode: u32, gid: u32) -> Mutex<Self> {
        let now = ostd::timer::wall_clock();
        Mutex::new(Self {
            mode: mode & 0o7777,
            uid: 0,
            gid,
            atime: now,
            mtime: now,
            ctime: now,
        })
    }

    fn set_mode(&mut self, mode: u32) {
        self.mode = mode & 0o7777;
        self.ctime = ostd::timer::wall_clock();
    }

    fn set_owner(&mut self, uid: Option<u32>, gid: Option<u32>) {
        if let Some(u) = uid {
            self.uid = u;
        }
        if let Some(g) = gid {
            self.gid = g;
        }
        self.ctime = ostd::timer::wall_clock();
    }

    fn set_times(&mut self, atime: Option<Duration>, mtime: Option<Duration>) {
        if let Some(a) = atime {
            self.atime = a;
        }
        if let Some(m) = mtime {
            self.mtime = m;
        }
        self.ctime = ostd::timer::wall_clock();
    }

    fn metadata(&self, ino: u64, kind: InodeType, nlink: u32, size: u64, rdev: u64) -> Metadata {
        Metadata {
            ino,
            dev: DEVFS_DEV,
            kind,
            mode: self.mode,
            nlink,
            uid: self.uid,
            gid: self.gid,
            size,
            rdev,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
            blocks: 0,
        }
    }
}

/// Opens the character device numbered `rdev` (a node made by `mknod`
/// elsewhere): `ENXIO` for a number no device has.
pub fn open_device(rdev: u64, oflags: u32) -> Result<Arc<dyn FileLike>> {
    // A pseudo-terminal slave (major 136) opens only through its devpts
    // node: elsewhere Linux's `pts_unix98_lookup` finds no terminal (EIO).
    if (rdev >> 8) & 0xfff == 136 {
        return_errno!(EIO);
    }
    let (device, _, ino) = Device::ALL
        .into_iter()
        .find(|(d, _, _)| {
            let (major, minor) = d.numbers();
            encode_dev(major, minor) == rdev
        })
        .ok_or(Error::new(ENXIO))?;
    DevNode::new(device, ino)
        .open_special(oflags)
        .unwrap_or(Err(Error::new(ENXIO)))
}

/// A character device node.
pub struct DevNode {
    device: Device,
    ino: u64,
    attrs: Mutex<Attrs>,
    xattrs: super::xattr::Xattrs,
    this: Weak<DevNode>,
}

impl DevNode {
    fn new(device: Device, ino: u64) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            device,
            ino,
            attrs: Attrs::new(device.mode(), device.gid()),
            xattrs: super::xattr::Xattrs::new(),
            this: this.clone(),
        })
    }

    fn rdev(&self) -> u64 {
        let (major, minor) = self.device.numbers();
        encode_dev(major, minor)
    }
}

impl Inode for DevNode {
    fn metadata(&self) -> Metadata {
        self.attrs
            .lock()
            .metadata(self.ino, InodeType::CharDevice, 1, 0, self.rdev())
    }

    fn read_at(&self, _offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.device.read(buf)
    }

    fn write_at(&self, _offset: u64, buf: &[u8]) -> Result<usize> {
        self.device.write(buf)
    }

    fn resize(&self, _size: u64) -> Result<()> {
        // `O_TRUNC` and `truncate` on a device are accepted and do nothing.
        Ok(())
    }

    fn set_mode(&self, mode: u32) -> Result<()> {
        self.attrs.lock().set_mode(mode);
        Ok(())
    }

    fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        self.attrs.lock().set_owner(uid, gid);
        Ok(())
    }

    fn set_times(&self, atime: Option<Duration>, mtime: Option<Duration>) -> Result<()> {
        self.attrs.lock().set_times(atime, mtime);
        Ok(())
    }

    fn open_special(&self, oflags: u32) -> Option<Result<Arc<dyn FileLike>>> {
        let node = self.this.upgrade()?;
        match self.device {
            // A new pseudo-terminal.
            Device::Ptmx => return Some(super::tty::pty::open_master(oflags, node)),
            // The caller's controlling terminal (`ENXIO` without one).
            Device::Tty => {
                let sid = crate::process::current_thread().ok()?.process().sid();
                return Some(match super::tty::controlling_tty(sid) {
                    Some(tty) if !tty.is_hung_up() => {
                        let file = super::tty::TtyFile::open_via(tty, oflags, Some(node));
                        Ok(file as Arc<dyn FileLike>)
                    }
                    Some(_) => Err(Error::new(EIO)),
                    None => Err(Error::new(ENXIO)),
                });
            }
            // Each open is a description of its own over the one console.
            Device::Console | Device::TtyS0 => {
                return Some(Ok(super::tty::TtyFile::open(super::tty::console(), oflags)));
            }
            Device::Kmsg => return Some(KmsgFile::open(node, oflags)),
            _ => {}
        }
        let name = Device::ALL
            .iter()
            .find(|(d, _, _)| *d == self.device)
            .map_or("", |(_, n, _)| n);
        Some(Ok(Arc::new(DevFile {
            device: self.device,
            inode: node,
            path: format!("/dev/{name}").into_bytes(),
            flags: AtomicU32::new(oflags & !flags::O_CLOEXEC),
            lock: super::lock::FileLockHandle::new(),
            owner: super::sigio::IoOwner::new(),
        })))
    }

    fn fs_stats(&self) -> FsStats {
        devtmpfs_stats()
    }

    fn xattrs(&self) -> Option<&super::xattr::Xattrs> {
        Some(&self.xattrs)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open memory device (`/dev/null`, `/dev/zero`, ...).
pub struct DevFile {
    device: Device,
    inode: Arc<dyn Inode>,
    path: Vec<u8>,
    flags: AtomicU32,
    lock: super::lock::FileLockHandle,
    owner: Arc<super::sigio::IoOwner>,
}

impl DevFile {
    fn check_readable(&self) -> Result<()> {
        if self.flags.load(Ordering::Relaxed) & flags::O_ACCMODE == flags::O_WRONLY {
            return_errno!(EBADF);
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<()> {
        if self.flags.load(Ordering::Relaxed) & flags::O_ACCMODE == flags::O_RDONLY {
            return_errno!(EBADF);
        }
        Ok(())
    }
}

impl FileLike for DevFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.check_readable()?;
        self.device.read(buf)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.check_writable()?;
        self.device.write(buf)
    }

    fn read_at(&self, _offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.check_readable()?;
        self.device.read(buf)
    }

    fn write_at(&self, _offset: u64, buf: &[u8]) -> Result<usize> {
        self.check_writable()?;
        self.device.write(buf)
    }

    fn seek(&self, _pos: SeekFrom) -> Result<u64> {
        // These devices have no position; Linux accepts any seek on them
        // and reports offset 0.
        Ok(0)
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

    fn lock_handle(&self) -> Option<&super::lock::FileLockHandle> {
        Some(&self.lock)
    }

    fn io_owner(&self) -> Option<&Arc<super::sigio::IoOwner>> {
        Some(&self.owner)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open `/dev/kmsg`: the kernel log ring, one record per read, as
/// `prio,seq,microseconds,-;text` (Linux's `devkmsg_read`), from the
/// oldest record kept; writes add records.
pub struct KmsgFile {
    inode: Arc<dyn Inode>,
    cursor: Mutex<ostd::logger::ring::Cursor>,
    flags: AtomicU32,
}

/// The longest record `/dev/kmsg` takes from a writer (Linux's
/// `LOG_LINE_MAX`).
const KMSG_LINE_MAX: usize = 1024 - 32;

impl KmsgFile {
    fn open(inode: Arc<dyn Inode>, oflags: u32) -> Result<Arc<dyn FileLike>> {
        // Reading it is reading the whole log (Linux checks as for
        // `SYSLOG_ACTION_READ_ALL`).
        if oflags & flags::O_ACCMODE != flags::O_WRONLY {
            let root = crate::syslog::privileged(&crate::process::credentials::current());
            crate::syslog::check_permission(crate::syslog::action::READ_ALL, root)?;
        }
        use ostd::logger::ring;
        Ok(Arc::new(KmsgFile {
            inode,
            cursor: Mutex::new(ring::cursor(ring::Place::Oldest)),
            flags: AtomicU32::new(oflags & !flags::O_CLOEXEC),
        }))
    }

    /// `<L>[sssss.uuuuuu] text\n` of the ring as `/dev/kmsg` shows it.
    fn format(line: &[u8], seq: u64) -> Vec<u8> {
        let text = core::str::from_utf8(line).unwrap_or("");
        let text = text.strip_suffix('\n').unwrap_or(text);
        let (level, rest) = text
            .strip_prefix('<')
            .and_then(|t| t.split_once('>'))
            .unwrap_or(("6", text));
        let (stamp, msg) = rest
            .strip_prefix('[')
            .and_then(|t| t.split_once("] "))
            .unwrap_or(("0.0", rest));
        let (secs, micros) = stamp.trim().split_once('.').unwrap_or((stamp, "0"));
        let usec = secs.trim().parse::<u64>().unwrap_or(0) * 1_000_000
            + micros.parse::<u64>().unwrap_or(0);
        format!("{level},{seq},{usec},-;{msg}\n").into_bytes()
    }
}

impl FileLike for KmsgFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        use ostd::logger::ring::{self, Next};
        if self.flags.load(Ordering::Relaxed) & flags::O_ACCMODE == flags::O_WRONLY {
            return_errno!(EBADF);
        }
        loop {
            let mut cursor = self.cursor.lock();
            match ring::next_line(*cursor) {
                Next::Line(line, next) => {
                    let record = Self::format(&line, cursor.seq);
                    if record.len() > buf.len() {
                        return_errno!(EINVAL);
                    }
                    buf[..record.len()].copy_from_slice(&record);
                    *cursor = next;
                    return Ok(record.len());
                }
                Next::Lost(oldest) => {
                    // Reported once; the next read goes on from the oldest.
                    *cursor = oldest;
                    return_errno!(EPIPE);
                }
                Next::Empty => {}
            }
            drop(cursor);
            if self.flags.load(Ordering::Relaxed) & flags::O_NONBLOCK != 0 {
                return_errno!(EAGAIN);
            }
            let thread = crate::process::current_thread()?;
            let seen = ring::written();
            let wq = ostd::sync::WaitQueue::new();
            let _ = wq.wait_until_or_timeout(
                || (thread.has_pending_work() || ring::written() != seen).then_some(()),
                Some(Duration::from_millis(50)),
            );
            if thread.has_pending_work() {
                return_errno!(ERESTARTSYS);
            }
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if self.flags.load(Ordering::Relaxed) & flags::O_ACCMODE == flags::O_RDONLY {
            return_errno!(EBADF);
        }
        if buf.len() > KMSG_LINE_MAX {
            return_errno!(EINVAL);
        }
        let text = String::from_utf8_lossy(buf);
        // An optional `<N>` prefix gives the level (default 4, warning);
        // the facility bits of N are not kept.
        let (level, msg) = match text.strip_prefix('<').and_then(|t| t.split_once('>')) {
            Some((n, rest)) if n.parse::<u32>().is_ok() => {
                ((n.parse::<u32>().unwrap_or(4) & 7) as u8, rest)
            }
            _ => (4, &*text),
        };
        let msg = msg.trim_end_matches('\n');
        let now = ostd::timer::monotonic().as_nanos() as u64;
        ostd::logger::ring::append(now, level, &format_args!("{msg}"));
        Ok(buf.len())
    }

    fn seek(&self, pos: SeekFrom) -> Result<u64> {
        use ostd::logger::ring::{self, Place};
        let place = match pos {
            SeekFrom::Start(0) => Place::Oldest,
            SeekFrom::End(0) => Place::End,
            SeekFrom::Current(0) => return_errno!(EINVAL),
            _ => return_errno!(ESPIPE),
        };
        *self.cursor.lock() = ring::cursor(place);
        Ok(0)
    }

    fn poll(&self) -> crate::fs::poll::IoEvents {
        let mut ev = crate::fs::poll::IoEvents::OUT;
        if ostd::logger::ring::has_next(*self.cursor.lock()) {
            ev |= crate::fs::poll::IoEvents::IN;
        }
        ev
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
        Some(b"/dev/kmsg".to_vec())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A symbolic link with a fixed target (`/dev/fd`, `/dev/stdin`, ...).
struct DevSymlink {
    ino: u64,
    target: &'static str,
    attrs: Mutex<Attrs>,
    xattrs: super::xattr::Xattrs,
}

impl Inode for DevSymlink {
    fn metadata(&self) -> Metadata {
        self.attrs
            .lock()
            .metadata(self.ino, InodeType::Symlink, 1, self.target.len() as u64, 0)
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        Ok(self.target.as_bytes().to_vec())
    }

    fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        self.attrs.lock().set_owner(uid, gid);
        Ok(())
    }

    fn set_times(&self, atime: Option<Duration>, mtime: Option<Duration>) -> Result<()> {
        self.attrs.lock().set_times(atime, mtime);
        Ok(())
    }

    fn fs_stats(&self) -> FsStats {
        devtmpfs_stats()
    }

    fn xattrs(&self) -> Option<&super::xattr::Xattrs> {
        Some(&self.xattrs)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A name in a devfs directory.
#[derive(Clone)]
struct Entry {
    node: Arc<dyn Inode>,
    /// The private name in the hidden RAM directory, for nodes kept there;
    /// removing that name when the entry goes keeps the link count right.
    backing: Option<Vec<u8>>,
}

/// What every directory of one devfs instance shares.
struct Shared {
    /// Where regular files, FIFOs, symbolic links and other nodes made by
    /// users live (under private names).
    store: Arc<dyn Inode>,
}

impl Shared {
    fn backing_name() -> Vec<u8> {
        format!("n{}", NEXT_BACKING.fetch_add(1, Ordering::Relaxed)).into_bytes()
    }

    /// Drops the private name of a removed entry.
    fn release(&self, entry: &Entry) {
        if let Some(name) = &entry.backing {
            // The name was made by us and is removed only here.
            let _ = self.store.unlink(name);
        }
    }
}

/// A devfs directory.
pub struct DevDir {
    ino: u64,
    attrs: Mutex<Attrs>,
    xattrs: super::xattr::Xattrs,
    entries: Mutex<BTreeMap<Vec<u8>, Entry>>,
    /// The directory holding this one (none for the root).
    parent: Mutex<Weak<DevDir>>,
    this: Weak<DevDir>,
    shared: Arc<Shared>,
}

impl DevDir {
    fn new(ino: u64, mode: u32, parent: Weak<DevDir>, shared: Arc<Shared>) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            ino,
            attrs: Attrs::new(mode, 0),
            xattrs: super::xattr::Xattrs::new(),
            entries: Mutex::new(BTreeMap::new()),
            parent: Mutex::new(parent),
            this: this.clone(),
            shared,
        })
    }

    /// Adds an entry made by devfs itself.
    fn add_fixed(&self, name: &str, node: Arc<dyn Inode>) {
        self.entries.lock().insert(
            name.as_bytes().to_vec(),
            Entry {
                node,
                backing: None,
            },
        );
    }

    fn touch(&self) {
        let now = ostd::timer::wall_clock();
        let mut a = self.attrs.lock();
        a.mtime = now;
        a.ctime = now;
    }

    /// Adds `entry` as `name`, failing if the name is taken.
    fn insert(&self, name: &[u8], entry: Entry) -> Result<()> {
        kpath::check_name(name).map_err(|_| Error::new(ENAMETOOLONG))?;
        if name == b"." || name == b".." {
            return_errno!(EEXIST);
        }
        let mut entries = self.entries.lock();
        if entries.contains_key(name) {
            return_errno!(EEXIST);
        }
        entries.insert(name.to_vec(), entry);
        drop(entries);
        self.touch();
        Ok(())
    }

    fn entry(&self, name: &[u8]) -> Result<Entry> {
        self.entries
            .lock()
            .get(name)
            .cloned()
            .ok_or(Error::new(ENOENT))
    }

    fn is_empty(&self) -> bool {
        self.entries.lock().is_empty()
    }

    fn subdirs(&self) -> u32 {
        self.entries
            .lock()
            .values()
            .filter(|e| e.node.as_any().is::<DevDir>())
            .count() as u32
    }

    /// Makes a node in the hidden RAM directory and names it `name` here.
    fn create_backed(
        &self,
        name: &[u8],
        make: impl FnOnce(&[u8]) -> Result<Arc<dyn Inode>>,
    ) -> Result<Arc<dyn Inode>> {
        kpath::check_name(name).map_err(|_| Error::new(ENAMETOOLONG))?;
        if self.entries.lock().contains_key(name) {
            return_errno!(EEXIST);
        }
        let backing = Shared::backing_name();
        let node = make(&backing)?;
        let entry = Entry {
            node: node.clone(),
            backing: Some(backing),
        };
        if let Err(e) = self.insert(name, entry.clone()) {
            self.shared.release(&entry);
            return Err(e);
        }
        Ok(node)
    }

    /// Removes entry `name` (already checked), releasing its private name.
    fn remove(&self, name: &[u8]) -> Result<Entry> {
        let entry = self.entries.lock().remove(name).ok_or(Error::new(ENOENT))?;
        self.touch();
        Ok(entry)
    }
}

impl Inode for DevDir {
    fn metadata(&self) -> Metadata {
        // One lock at a time: `subdirs` takes the entry lock itself.
        let n = self.entries.lock().len() as u64;
        let subdirs = self.subdirs();
        self.attrs
            .lock()
            .metadata(self.ino, InodeType::Dir, 2 + subdirs, (n + 2) * 20, 0)
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        match name {
            b"." => Ok(self.this.upgrade().ok_or(Error::new(ENOENT))?),
            b".." => Ok(match self.parent.lock().upgrade() {
                Some(p) => p,
                None => self.this.upgrade().ok_or(Error::new(ENOENT))?,
            }),
            _ => Ok(self.entry(name)?.node),
        }
    }

    fn parent(&self) -> Option<Arc<dyn Inode>> {
        let p = self.parent.lock().upgrade()?;
        Some(p)
    }

    fn create(&self, name: &[u8], kind: InodeType, mode: u32) -> Result<Arc<dyn Inode>> {
        if kind == InodeType::Dir {
            if self.entries.lock().contains_key(name) {
                return_errno!(EEXIST);
            }
            let ino = NEXT_DIR_INO.fetch_add(1, Ordering::Relaxed);
            let dir = DevDir::new(ino, mode, self.this.clone(), self.shared.clone());
            self.insert(
                name,
                Entry {
                    node: dir.clone(),
                    backing: None,
                },
            )?;
            return Ok(dir);
        }
        let store = self.shared.store.clone();
        self.create_backed(name, |n| store.create(n, kind, mode))
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<Arc<dyn Inode>> {
        let store = self.shared.store.clone();
        self.create_backed(name, |n| store.symlink(n, target))
    }

    fn readdir(&self) -> Result<Vec<(Vec<u8>, u64, InodeType)>> {
        let entries: Vec<(Vec<u8>, Arc<dyn Inode>)> = self
            .entries
            .lock()
            .iter()
            .map(|(n, e)| (n.clone(), e.node.clone()))
            .collect();
        // Metadata is read without the entry lock held: a node may be this
        // directory's own child directory, which takes its own lock.
        Ok(entries
            .into_iter()
            .map(|(n, node)| {
                let m = node.metadata();
                (n, m.ino, m.kind)
            })
            .collect())
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let entry = self.entry(name)?;
        if entry.node.metadata().kind == InodeType::Dir {
            return_errno!(EISDIR);
        }
        let entry = self.remove(name)?;
        self.shared.release(&entry);
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        match name {
            b"." => return_errno!(EINVAL),
            b".." => return_errno!(ENOTEMPTY),
            _ => {}
        }
        let entry = self.entry(name)?;
        let dir = entry
            .node
            .as_any()
            .downcast_ref::<DevDir>()
            .ok_or(Error::new(ENOTDIR))?;
        if !dir.is_empty() {
            return_errno!(ENOTEMPTY);
        }
        if super::mount::mounted_on(&entry.node).is_some() {
            return_errno!(EBUSY);
        }
        self.remove(name)?;
        Ok(())
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        if target.metadata().kind == InodeType::Dir {
            return_errno!(EPERM);
        }
        if target.as_any().is::<RamInode>() {
            // A node kept in the hidden directory: a second private name
            // there counts the new link.
            let store = self.shared.store.clone();
            self.create_backed(name, |n| {
                store.link(n, target)?;
                Ok(target.clone())
            })?;
            return Ok(());
        }
        if target.as_any().is::<DevNode>() || target.as_any().is::<DevSymlink>() {
            return self.insert(
                name,
                Entry {
                    node: target.clone(),
                    backing: None,
                },
            );
        }
        return_errno!(EXDEV)
    }

    fn rename(&self, old: &[u8], new_dir: &Arc<dyn Inode>, new: &[u8]) -> Result<()> {
        let dest = new_dir
            .as_any()
            .downcast_ref::<DevDir>()
            .ok_or(Error::new(EXDEV))?;
        if [old, new].iter().any(|n| *n == b"." || *n == b"..") {
            return_errno!(EBUSY);
        }
        kpath::check_name(new).map_err(|_| Error::new(ENAMETOOLONG))?;
        let entry = self.entry(old)?;
        let moving_dir = entry.node.as_any().downcast_ref::<DevDir>();
        if let Some(moved) = moving_dir {
            // A directory cannot move into its own subtree.
            let mut cur = dest.this.upgrade();
            while let Some(c) = cur {
                if core::ptr::eq(c.as_ref(), moved) {
                    return_errno!(EINVAL);
                }
                cur = c.parent.lock().upgrade();
            }
        }
        if let Ok(existing) = dest.entry(new) {
            if Arc::ptr_eq(&existing.node, &entry.node) {
                return Ok(());
            }
            let existing_is_dir = existing.node.metadata().kind == InodeType::Dir;
            match (moving_dir.is_some(), existing_is_dir) {
                (true, false) => return_errno!(ENOTDIR),
                (false, true) => return_errno!(EISDIR),
                (true, true) => dest.rmdir(new)?,
                (false, false) => dest.unlink(new)?,
            }
        }
        let entry = self.remove(old)?;
        if let Err(e) = dest.insert(new, entry.clone()) {
            // Put it back where it was; the name was just freed.
            let _ = self.insert(old, entry);
            return Err(e);
        }
        if let Some(moved) = moving_dir {
            *moved.parent.lock() = dest.this.clone();
        }
        Ok(())
    }

    fn set_mode(&self, mode: u32) -> Result<()> {
        self.attrs.lock().set_mode(mode);
        Ok(())
    }

    fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        self.attrs.lock().set_owner(uid, gid);
        Ok(())
    }

    fn set_times(&self, atime: Option<Duration>, mtime: Option<Duration>) -> Result<()> {
        self.attrs.lock().set_times(atime, mtime);
        Ok(())
    }

    fn fs_stats(&self) -> FsStats {
        devtmpfs_stats()
    }

    fn xattrs(&self) -> Option<&super::xattr::Xattrs> {
        Some(&self.xattrs)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The symbolic links of the root and their inode numbers.
const SYMLINKS: [(&str, &str, u64); 4] = [
    ("fd", "/proc/self/fd", 10),
    ("stdin", "/proc/self/fd/0", 11),
    ("stdout", "/proc/self/fd/1", 12),
    ("stderr", "/proc/self/fd/2", 13),
];

/// Creates the root directory of a devfs instance.
pub fn new_root() -> Arc<dyn Inode> {
    let shared = Arc::new(Shared {
        store: RamInode::new_root(),
    });
    let root = DevDir::new(1, 0o755, Weak::new(), shared.clone());
    for (device, name, ino) in Device::ALL {
        root.add_fixed(name, DevNode::new(device, ino));
    }
    for (name, target, ino) in SYMLINKS {
        let link = DevSymlink {
            ino,
            target,
            attrs: Attrs::new(0o777, 0),
            xattrs: super::xattr::Xattrs::new(),
        };
        root.add_fixed(name, Arc::new(link));
    }
    // `pts` is where devpts is mounted; `shm` is where `shm_open` puts its
    // files, writable by everyone like `/tmp`.
    let this = Arc::downgrade(&root);
    root.add_fixed("pts", DevDir::new(14, 0o755, this.clone(), shared.clone()));
    root.add_fixed("shm", DevDir::new(15, 0o1777, this, shared));
    root
}

#[cfg(feature = "ktest")]
mod test {
    use alloc::sync::Arc;

    use ostd::prelude::ktest;

    use super::*;

    fn open(name: &str, oflags: u32) -> Arc<dyn FileLike> {
        let root = new_root();
        let node = root.lookup(name.as_bytes()).unwrap();
        node.open_special(oflags).unwrap().unwrap()
    }

    #[ktest]
    fn devfs_nodes_and_numbers() {
        let root = new_root();
        let expect = [
            ("null", 1, 3, 0o666),
            ("zero", 1, 5, 0o666),
            ("full", 1, 7, 0o666),
            ("random", 1, 8, 0o666),
            ("urandom", 1, 9, 0o666),
            ("tty", 5, 0, 0o666),
            ("console", 5, 1, 0o620),
            ("ttyS0", 4, 64, 0o620),
            ("ptmx", 5, 2, 0o666),
            ("kmsg", 1, 11, 0o644),
        ];
        for (name, major, minor, mode) in expect {
            let m = root.lookup(name.as_bytes()).unwrap().metadata();
            assert_eq!(m.kind, InodeType::CharDevice, "{name}");
            assert_eq!(m.rdev, encode_dev(major, minor), "{name}");
            assert_eq!(m.mode, mode, "{name}");
        }
        assert_eq!(encode_dev(1, 3), 0x103);
        assert_eq!(encode_dev(4, 64), 0x440);
        for (name, target, _) in SYMLINKS {
            let l = root.lookup(name.as_bytes()).unwrap();
            assert_eq!(l.metadata().kind, InodeType::Symlink);
            assert_eq!(l.read_link().unwrap(), target.as_bytes());
        }
        for name in ["pts", "shm"] {
            let d = root.lookup(name.as_bytes()).unwrap();
            assert_eq!(d.metadata().kind, InodeType::Dir);
            assert!(d.readdir().unwrap().is_empty());
            assert!(Arc::ptr_eq(&d.parent().unwrap(), &root));
        }
        let names: Vec<Vec<u8>> = root.readdir().unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(names.len(), 16);
        assert!(names.iter().any(|n| n == b"urandom"));
        assert_eq!(root.lookup(b"nope").err().unwrap().errno(), ENOENT);
        assert_eq!(root.fs_stats().magic, TMPFS_MAGIC);
    }

    #[ktest]
    fn dev_zero_and_full() {
        let zero = open("zero", flags::O_RDWR);
        let mut buf = [0xaau8; 100];
        assert_eq!(zero.read(&mut buf).unwrap(), 100);
        assert!(buf.iter().all(|&b| b == 0));
        buf.fill(0xaa);
        assert_eq!(zero.read_at(12345, &mut buf[..10]).unwrap(), 10);
        assert!(buf[..10].iter().all(|&b| b == 0) && buf[10] == 0xaa);
        assert_eq!(zero.write(&buf).unwrap(), 100);
        assert_eq!(zero.seek(SeekFrom::Start(4096)).unwrap(), 0);
        assert_eq!(zero.ioctl(0x5401, 0).err().unwrap().errno(), ENOTTY);
        let m = zero.metadata();
        assert_eq!((m.kind, m.rdev), (InodeType::CharDevice, encode_dev(1, 5)));
        assert_eq!(zero.status_flags() & flags::O_ACCMODE, flags::O_RDWR);
        assert_eq!(zero.path().unwrap(), b"/dev/zero");

        let full = open("full", flags::O_RDWR);
        buf.fill(0xaa);
        assert_eq!(full.read(&mut buf).unwrap(), 100);
        assert!(buf.iter().all(|&b| b == 0));
        assert_eq!(full.write(&buf).err().unwrap().errno(), ENOSPC);
        assert_eq!(full.write_at(0, &buf).err().unwrap().errno(), ENOSPC);
    }

    #[ktest]
    fn dev_null_random_and_access_modes() {
        let null = open("null", flags::O_RDWR | flags::O_CLOEXEC);
        let mut buf = [7u8; 64];
        assert_eq!(null.read(&mut buf).unwrap(), 0);
        assert_eq!(null.write(&buf).unwrap(), 64);
        assert_eq!(null.seek(SeekFrom::End(-5)).unwrap(), 0);
        assert_eq!(null.status_flags() & flags::O_CLOEXEC, 0);

        let rd = open("urandom", flags::O_RDONLY);
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        assert_eq!(rd.read(&mut a).unwrap(), 32);
        assert_eq!(rd.read(&mut b).unwrap(), 32);
        assert_ne!(a, b);
        assert_eq!(rd.write(&a).err().unwrap().errno(), EBADF);

        let wr = open("null", flags::O_WRONLY);
        assert_eq!(wr.read(&mut buf).err().unwrap().errno(), EBADF);
    }

    #[ktest]
    fn devfs_is_writable() {
        let root = new_root();
        let shm = root.lookup(b"shm").unwrap();
        let f = shm.create(b"seg", InodeType::File, 0o600).unwrap();
        assert_eq!(f.write_at(0, b"hello").unwrap(), 5);
        let again = shm.lookup(b"seg").unwrap();
        let mut buf = [0u8; 5];
        assert_eq!(again.read_at(0, &mut buf).unwrap(), 5);
        assert_eq!(&buf, b"hello");
        assert_eq!(again.metadata().nlink, 1);
        shm.link(b"seg2", &f).unwrap();
        assert_eq!(f.metadata().nlink, 2);
        shm.rename(b"seg2", &root, b"moved").unwrap();
        assert!(root.lookup(b"moved").is_ok());
        shm.unlink(b"seg").unwrap();
        root.unlink(b"moved").unwrap();
        assert_eq!(f.metadata().nlink, 0);
        assert!(shm.readdir().unwrap().is_empty());

        let d = root.create(b"sub", InodeType::Dir, 0o755).unwrap();
        assert!(Arc::ptr_eq(&d.parent().unwrap(), &root));
        d.symlink(b"l", b"../null").unwrap();
        assert_eq!(root.rmdir(b"sub").err().unwrap().errno(), ENOTEMPTY);
        d.unlink(b"l").unwrap();
        root.rmdir(b"sub").unwrap();
        assert_eq!(
            root.create(b"null", InodeType::File, 0o644)
                .err()
                .unwrap()
                .errno(),
            EEXIST
        );
    }

    #[ktest]
    fn terminals_open_the_console() {
        let tty = open("console", flags::O_RDWR);
        assert!(tty.as_any().is::<crate::fs::tty::TtyFile>());
        let console = new_root().lookup(b"console").unwrap();
        assert_eq!(console.metadata().ino, tty.metadata().ino);
    }
}
