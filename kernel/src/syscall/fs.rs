//! File syscalls: read/write, open/close, stat, ioctl, descriptors.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use linux_raw_sys::general as g;

use super::{SyscallContext, SyscallReturn, ret};
use crate::fs::file::{FileLike, OpenFile, SeekFrom, check_open_type, flags};
use crate::fs::inode::{Inode, InodeType, Metadata};
use crate::fs::lock::{self, ByteRange, FileKey, LockType, Owner, RecordRequest};
use crate::fs::sigio::OwnerKind;
use crate::prelude::*;
use crate::process::credentials::access;

type R = Result<SyscallReturn>;

/// Largest single transfer done through one kernel buffer.
const IO_CHUNK: usize = 64 * 1024;
/// Largest `O_APPEND` write done in one piece (see `write_from_user`).
const APPEND_CHUNK: usize = 1 << 24;
/// Linux's `MAX_RW_COUNT`: one read, write or sendfile moves at most this
/// much (a larger count is cut down, not refused).
const MAX_RW_COUNT: usize = 0x7fff_f000;

/// Whether reading `file` never blocks and gives as much as asked, so that
/// a large read is done in several chunks in one call: regular files and
/// the memory devices (`/dev/zero`, `/dev/urandom`, ...: major 1), as on
/// Linux. Pipes, terminals and the like return what they have.
fn reads_fully(file: &Arc<dyn FileLike>) -> bool {
    let m = file.metadata();
    match m.kind {
        InodeType::File => true,
        // Not `/dev/kmsg` (1:11): one record per read.
        InodeType::CharDevice => m.rdev >> 8 & 0xfff == 1 && m.rdev & 0xff != 11,
        _ => false,
    }
}

/// Ends a copy loop early: with a partial count if something was moved,
/// else with `ERESTARTSYS` (the syscall restarts or fails with `EINTR`).
/// `any_signal`: any deliverable signal interrupts, as for device reads
/// and `sendfile` on Linux; otherwise only a fatal one, as for regular
/// files.
fn interrupted(ctx: &SyscallContext, done: usize, any_signal: bool) -> Option<R> {
    let stop = if any_signal {
        ctx.thread.has_pending_work()
    } else {
        ctx.thread.fatal_signal_pending()
    };
    stop.then(|| {
        if done > 0 {
            ret(done)
        } else {
            Err(Error::new(ERESTARTSYS))
        }
    })
}

/// `EBADF` unless `file` was opened for reading (checked before anything
/// else, even for a count of 0, as Linux does).
fn check_readable(file: &Arc<dyn FileLike>) -> Result<()> {
    let f = file.status_flags();
    if f & flags::O_ACCMODE == flags::O_WRONLY || f & flags::O_PATH != 0 {
        return_errno!(EBADF);
    }
    Ok(())
}

/// `EBADF` unless `file` was opened for writing.
fn check_writable(file: &Arc<dyn FileLike>) -> Result<()> {
    let f = file.status_flags();
    if f & flags::O_ACCMODE == flags::O_RDONLY || f & flags::O_PATH != 0 {
        return_errno!(EBADF);
    }
    Ok(())
}

/// Reads up to `len` bytes from `file` into user memory at `addr`, through
/// `read` (at `offset`, if given): in chunks for files that read fully,
/// else one read. Returns the bytes read.
fn read_to_user(
    ctx: &SyscallContext,
    file: &Arc<dyn FileLike>,
    addr: u64,
    len: usize,
    offset: Option<u64>,
) -> R {
    check_readable(file)?;
    let len = len.min(MAX_RW_COUNT);
    let fully = reads_fully(file);
    let vmar = ctx.vmar();
    let mut buf = alloc::vec![0u8; len.min(IO_CHUNK)];
    let mut done = 0;
    loop {
        let want = (len - done).min(buf.len());
        let pos = offset.map(|o| o + done as u64);
        let n = match pos {
            Some(o) => file.read_at(o, &mut buf[..want]),
            None => file.read(&mut buf[..want]),
        };
        let n = match n {
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        if let Err(e) = vmar.write_bytes(addr + done as u64, &buf[..n]) {
            return if done > 0 { ret(done) } else { Err(e) };
        }
        done += n;
        if !fully || n < want || done == len {
            break;
        }
        if let Some(r) = interrupted(ctx, done, file.metadata().kind != InodeType::File) {
            return r;
        }
    }
    ret(done)
}

/// The chunk size of a write: an `O_APPEND` write goes to the file in one
/// piece (up to `APPEND_CHUNK`), so that no other appender's data lands in
/// the middle of it (each piece finds the end of the file anew).
fn append_chunk(file: &Arc<dyn FileLike>, offset: Option<u64>) -> usize {
    if offset.is_none() && file.status_flags() & flags::O_APPEND != 0 {
        APPEND_CHUNK
    } else {
        IO_CHUNK
    }
}

/// Writes `len` bytes at user address `addr` to `file` (at `offset`, if
/// given), in chunks; a short write ends it. Returns the bytes written.
fn write_from_user(
    ctx: &SyscallContext,
    file: &Arc<dyn FileLike>,
    addr: u64,
    len: usize,
    offset: Option<u64>,
) -> R {
    check_writable(file)?;
    let len = len.min(MAX_RW_COUNT);
    let meta = file.metadata();
    let memory_device = meta.kind == InodeType::CharDevice && reads_fully(file);
    if len == 0 && (meta.kind == InodeType::Socket || memory_device) {
        // An empty write still reaches a socket (an empty datagram, or
        // EPIPE on a stream shut for writing) and a memory device
        // (`/dev/full` refuses it with ENOSPC).
        return ret(file.write(&[])?);
    }
    let vmar = ctx.vmar();
    let chunk = append_chunk(file, offset);
    let mut buf = alloc::vec![0u8; len.min(chunk)];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(chunk);
        if let Err(e) = vmar.read_bytes(addr + done as u64, &mut buf[..n]) {
            return if done > 0 { ret(done) } else { Err(e) };
        }
        let w = match offset {
            Some(o) => file.write_at(o + done as u64, &buf[..n]),
            None => file.write(&buf[..n]),
        };
        let w = match w {
            Ok(w) => w,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        done += w;
        if w < n {
            break;
        }
        if done < len
            && let Some(r) = interrupted(ctx, done, false)
        {
            return r;
        }
    }
    ret(done)
}
/// `AT_FDCWD`.
pub const AT_FDCWD: i32 = -100;

fn fd_arg(v: u64) -> i32 {
    v as i32
}

/// The file at `fd`.
pub fn get_file(ctx: &SyscallContext, fd: i32) -> Result<Arc<dyn FileLike>> {
    ctx.process.files().lock().get(fd)
}

/// Reads a path argument.
pub fn read_path(ctx: &SyscallContext, addr: u64) -> Result<String> {
    let bytes = ctx.vmar().read_cstring(addr, g::PATH_MAX as usize - 1)?;
    String::from_utf8(bytes).map_err(|_| Error::new(ENOENT))
}

/// The directory a `*at` call starts from: `None` for the working
/// directory.
pub fn dirfd_inode(ctx: &SyscallContext, dirfd: i32, path: &str) -> Result<Option<Arc<dyn Inode>>> {
    if dirfd == AT_FDCWD || path.starts_with('/') {
        return Ok(None);
    }
    let f = get_file(ctx, dirfd)?;
    let inode = f.inode().cloned().ok_or(Error::new(ENOTDIR))?;
    if inode.metadata().kind != InodeType::Dir {
        return_errno!(ENOTDIR);
    }
    Ok(Some(inode))
}

pub fn sys_read(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    read_to_user(ctx, &file, a[1], a[2] as usize, None)
}

pub fn sys_write(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    write_from_user(ctx, &file, a[1], a[2] as usize, None)
}

pub(super) fn read_iovecs(
    ctx: &SyscallContext,
    addr: u64,
    count: u64,
) -> Result<Vec<(u64, usize)>> {
    if count > g::UIO_MAXIOV as u64 {
        return_errno!(EINVAL);
    }
    let vmar = ctx.vmar();
    let mut v = Vec::with_capacity(count as usize);
    let mut total: usize = 0;
    for i in 0..count {
        let iov: g::iovec = vmar.read_val(addr + i * 16)?;
        let len = iov.iov_len as usize;
        total = total
            .checked_add(len)
            .filter(|&t| t <= isize::MAX as usize)
            .ok_or(Error::new(EINVAL))?;
        v.push((iov.iov_base as u64, len));
    }
    Ok(v)
}

/// The count a syscall's `Ok` result holds.
fn count_of(r: SyscallReturn) -> usize {
    match r {
        SyscallReturn::Return(v) => v as usize,
        SyscallReturn::NoReturn => 0,
    }
}

pub fn sys_readv(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    check_readable(&file)?;
    let iovs = read_iovecs(ctx, a[1], a[2])?;
    if !reads_fully(&file) {
        // A pipe or a terminal: one read for the whole vector, scattered
        // afterwards. Reading buffer by buffer would wait in the second
        // read for more than the pipe holds once the first was filled.
        let want: usize = iovs.iter().map(|&(_, l)| l).sum();
        let mut buf = vec![0u8; want.min(IO_CHUNK)];
        let n = file.read(&mut buf)?;
        let vmar = ctx.vmar();
        let mut pos = 0;
        for (base, len) in iovs {
            if pos == n {
                break;
            }
            let k = len.min(n - pos);
            vmar.write_bytes(base, &buf[pos..pos + k])?;
            pos += k;
        }
        return ret(n);
    }
    for_each_iovec(iovs, |base, len| read_to_user(ctx, &file, base, len, None))
}

pub fn sys_writev(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    check_writable(&file)?;
    let iovs = read_iovecs(ctx, a[1], a[2])?;
    let vmar = ctx.vmar();
    let total: usize = iovs.iter().map(|&(_, l)| l).sum();
    // Small vectors are gathered so that a terminal or pipe sees one write
    // (atomic up to PIPE_BUF), and so are `O_APPEND` ones (see
    // `append_chunk`); large ones go out chunk by chunk.
    if total <= append_chunk(&file, None) {
        let mut buf = vec![0u8; total];
        let mut pos = 0;
        for (base, len) in iovs {
            vmar.read_bytes(base, &mut buf[pos..pos + len])?;
            pos += len;
        }
        return ret(file.write(&buf)?);
    }
    for_each_iovec(iovs, |base, len| {
        write_from_user(ctx, &file, base, len, None)
    })
}

/// Moves the data of each buffer of an I/O vector in turn with `f` (which
/// returns the count it moved), until a short transfer; the total is cut
/// at `MAX_RW_COUNT`. An error after some data moved ends the call with
/// the count so far, as Linux does.
fn for_each_iovec(iovs: Vec<(u64, usize)>, mut f: impl FnMut(u64, usize) -> R) -> R {
    let mut total = 0;
    for (base, len) in iovs {
        let len = len.min(MAX_RW_COUNT - total);
        if len == 0 {
            continue;
        }
        let n = match f(base, len) {
            Ok(r) => count_of(r),
            Err(_) if total > 0 => break,
            Err(e) => return Err(e),
        };
        total += n;
        if n < len {
            break;
        }
    }
    ret(total)
}

pub fn sys_pread64(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    if (a[3] as i64) < 0 {
        return_errno!(EINVAL);
    }
    read_to_user(ctx, &file, a[1], a[2] as usize, Some(a[3]))
}

pub fn sys_pwrite64(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    if (a[3] as i64) < 0 {
        return_errno!(EINVAL);
    }
    write_from_user(ctx, &file, a[1], a[2] as usize, Some(a[3]))
}

pub fn sys_open(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_openat(ctx, AT_FDCWD, a[0], a[1] as u32, a[2] as u32)
}

pub fn sys_openat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_openat(ctx, fd_arg(a[0]), a[1], a[2] as u32, a[3] as u32)
}

fn do_openat(ctx: &mut SyscallContext, dirfd: i32, path_addr: u64, oflags: u32, mode: u32) -> R {
    let path = read_path(ctx, path_addr)?;
    let start = dirfd_inode(ctx, dirfd, &path)?;
    let fs = ctx.process.fs().lock().clone();
    let follow = oflags & flags::O_NOFOLLOW == 0;
    let cred = ctx.process.credentials();
    let mut opened_as = None;
    let inode = match fs.lookup_for_open(start.as_ref(), &path, follow) {
        Ok((i, magic_path)) => {
            opened_as = magic_path;
            if oflags & flags::O_CREAT != 0 && oflags & flags::O_EXCL != 0 {
                return_errno!(EEXIST);
            }
            if oflags & flags::O_PATH == 0 {
                let mut want = 0;
                let acc = oflags & flags::O_ACCMODE;
                if acc != flags::O_WRONLY {
                    want |= access::R;
                }
                if acc != flags::O_RDONLY || oflags & flags::O_TRUNC != 0 {
                    want |= access::W;
                }
                if !cred.may_access(&i.metadata(), want) {
                    return_errno!(EACCES);
                }
            }
            i
        }
        Err(e) if e.errno() == ENOENT && oflags & flags::O_CREAT != 0 => {
            if path.ends_with('/') {
                return_errno!(EISDIR);
            }
            let (dir, name) = creation_point(&fs, start, &path, oflags)?;
            let name = name.as_str();
            if !cred.may_access(&dir.metadata(), access::W | access::X) {
                return_errno!(EACCES);
            }
            let node = dir.create(name, InodeType::File, mode & !fs.umask & 0o7777)?;
            let _ = node.set_owner(Some(cred.euid), Some(cred.egid));
            node
        }
        Err(e) => return Err(e),
    };
    let meta = inode.metadata();
    if meta.kind == InodeType::Symlink && oflags & flags::O_PATH == 0 {
        return_errno!(ELOOP);
    }
    check_open_type(meta.kind, oflags)?;
    let file: Arc<dyn FileLike> = match inode.open_special(oflags) {
        Some(f) if oflags & flags::O_PATH == 0 => f?,
        _ => {
            if meta.kind == InodeType::File
                && oflags & flags::O_TRUNC != 0
                && oflags & flags::O_ACCMODE != flags::O_RDONLY
            {
                inode.resize(0)?;
            }
            OpenFile::new(inode, opened_as.unwrap_or(path), oflags)
        }
    };
    if oflags & flags::O_NOCTTY == 0
        && let Some(tty) = file.as_any().downcast_ref::<crate::fs::tty::TtyFile>()
    {
        tty.tty().maybe_acquire(ctx.process, false);
    }
    let fd = ctx
        .process
        .files()
        .lock()
        .insert(file, oflags & flags::O_CLOEXEC != 0)?;
    ret(fd)
}

/// Where `open(O_CREAT)` creates a missing file: the parent directory and
/// name, following a dangling symbolic link in the last component to create
/// its target, as Linux does (unless `O_EXCL` or `O_NOFOLLOW`).
fn creation_point(
    fs: &crate::fs::FsContext,
    mut start: Option<Arc<dyn Inode>>,
    path: &str,
    oflags: u32,
) -> Result<(Arc<dyn Inode>, String)> {
    let mut path = String::from(path);
    for _ in 0..crate::fs::MAX_SYMLINKS {
        let (dir, name) = fs.lookup_parent(start.as_ref(), &path)?;
        match dir.lookup(name) {
            Ok(node) if node.metadata().kind == InodeType::Symlink => {
                if oflags & (flags::O_EXCL | flags::O_NOFOLLOW) != 0 {
                    return_errno!(if oflags & flags::O_EXCL != 0 {
                        EEXIST
                    } else {
                        ELOOP
                    });
                }
                path = node.read_link()?;
                start = Some(dir);
            }
            Ok(_) => return_errno!(EEXIST),
            Err(_) => return Ok((dir, String::from(name))),
        }
    }
    return_errno!(ELOOP)
}

pub fn sys_close(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    ctx.process.files().lock().remove(fd_arg(a[0]))?;
    ret(0)
}

pub fn sys_lseek(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    let off = a[1] as i64;
    let pos = match a[2] as u32 {
        g::SEEK_SET => {
            if off < 0 {
                return_errno!(EINVAL);
            }
            SeekFrom::Start(off as u64)
        }
        g::SEEK_CUR => SeekFrom::Current(off),
        g::SEEK_END => SeekFrom::End(off),
        g::SEEK_DATA | g::SEEK_HOLE => {
            // A RAM file is all data, with the one hole at its end.
            let size = file.metadata().size as i64;
            if off < 0 || off >= size {
                return_errno!(ENXIO);
            }
            let to = if a[2] as u32 == g::SEEK_DATA {
                off
            } else {
                size
            };
            SeekFrom::Start(to as u64)
        }
        _ => return_errno!(EINVAL),
    };
    ret(file.seek(pos)?)
}

/// Converts metadata to `struct stat`.
pub fn to_stat(m: &Metadata) -> g::stat {
    g::stat {
        st_dev: m.dev,
        st_ino: m.ino,
        st_nlink: m.nlink as u64,
        st_mode: m.kind.mode_bits() | m.mode,
        st_uid: m.uid,
        st_gid: m.gid,
        __pad0: 0,
        st_rdev: m.rdev,
        st_size: m.size as i64,
        st_blksize: 4096,
        st_blocks: m.blocks as i64,
        st_atime: m.atime.as_secs(),
        st_atime_nsec: m.atime.subsec_nanos() as u64,
        st_mtime: m.mtime.as_secs(),
        st_mtime_nsec: m.mtime.subsec_nanos() as u64,
        st_ctime: m.ctime.as_secs(),
        st_ctime_nsec: m.ctime.subsec_nanos() as u64,
        __unused: [0; 3],
    }
}

pub fn sys_fstat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let m = get_file(ctx, fd_arg(a[0]))?.metadata();
    ctx.vmar().write_val(a[1], &to_stat(&m))?;
    ret(0)
}

/// Resolves the target of a stat-like call.
fn stat_target(
    ctx: &SyscallContext,
    dirfd: i32,
    path_addr: u64,
    at_flags: u32,
) -> Result<Metadata> {
    let known = g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH | g::AT_NO_AUTOMOUNT | 0x6000; // AT_STATX_SYNC_TYPE
    if at_flags & !known != 0 {
        return_errno!(EINVAL);
    }
    let path = read_path(ctx, path_addr)?;
    if path.is_empty() && at_flags & g::AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            return Ok(ctx.process.fs().lock().cwd.metadata());
        }
        return Ok(get_file(ctx, dirfd)?.metadata());
    }
    let start = dirfd_inode(ctx, dirfd, &path)?;
    let fs = ctx.process.fs().lock().clone();
    Ok(fs
        .lookup(
            start.as_ref(),
            &path,
            at_flags & g::AT_SYMLINK_NOFOLLOW == 0,
        )?
        .metadata())
}

pub fn sys_stat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let m = stat_target(ctx, AT_FDCWD, a[0], 0)?;
    ctx.vmar().write_val(a[1], &to_stat(&m))?;
    ret(0)
}

pub fn sys_lstat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let m = stat_target(ctx, AT_FDCWD, a[0], g::AT_SYMLINK_NOFOLLOW)?;
    ctx.vmar().write_val(a[1], &to_stat(&m))?;
    ret(0)
}

pub fn sys_newfstatat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let m = stat_target(ctx, fd_arg(a[0]), a[1], a[3] as u32)?;
    ctx.vmar().write_val(a[2], &to_stat(&m))?;
    ret(0)
}

pub fn sys_statx(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let m = stat_target(ctx, fd_arg(a[0]), a[1], a[2] as u32)?;
    if a[3] as u32 & g::STATX__RESERVED != 0 {
        return_errno!(EINVAL);
    }
    let ts = |d: core::time::Duration| g::statx_timestamp {
        tv_sec: d.as_secs() as i64,
        tv_nsec: d.subsec_nanos(),
        __reserved: 0,
    };
    let s = g::statx {
        stx_mask: g::STATX_BASIC_STATS,
        stx_blksize: 4096,
        stx_attributes: 0,
        stx_nlink: m.nlink,
        stx_uid: m.uid,
        stx_gid: m.gid,
        stx_mode: (m.kind.mode_bits() | m.mode) as u16,
        __spare0: [0],
        stx_ino: m.ino,
        stx_size: m.size,
        stx_blocks: m.blocks,
        stx_attributes_mask: 0,
        stx_atime: ts(m.atime),
        stx_btime: ts(m.ctime),
        stx_ctime: ts(m.ctime),
        stx_mtime: ts(m.mtime),
        stx_rdev_major: (m.rdev >> 8) as u32,
        stx_rdev_minor: (m.rdev & 0xff) as u32,
        stx_dev_major: 0,
        stx_dev_minor: m.dev as u32,
        stx_mnt_id: 0,
        stx_dio_mem_align: 0,
        stx_dio_offset_align: 0,
        stx_subvol: 0,
        stx_atomic_write_unit_min: 0,
        stx_atomic_write_unit_max: 0,
        stx_atomic_write_segments_max: 0,
        stx_dio_read_offset_align: 0,
        stx_atomic_write_unit_max_opt: 0,
        __spare2: [0],
        __spare3: [0; 8],
    };
    ctx.vmar().write_val(a[4], &s)?;
    ret(0)
}

pub fn sys_ioctl(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    let cmd = a[1] as u32;
    match cmd {
        linux_raw_sys::ioctl::FIOCLEX | linux_raw_sys::ioctl::FIONCLEX => {
            ctx.process
                .files()
                .lock()
                .set_cloexec(fd_arg(a[0]), cmd == linux_raw_sys::ioctl::FIOCLEX)?;
            ret(0)
        }
        _ => ret(file.ioctl(cmd, a[2])?),
    }
}

pub fn sys_readlink(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_readlinkat(ctx, AT_FDCWD, a[0], a[1], a[2])
}

pub fn sys_readlinkat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_readlinkat(ctx, fd_arg(a[0]), a[1], a[2], a[3])
}

fn do_readlinkat(ctx: &mut SyscallContext, dirfd: i32, path_addr: u64, buf: u64, len: u64) -> R {
    if (len as i64) <= 0 {
        return_errno!(EINVAL);
    }
    let path = read_path(ctx, path_addr)?;
    let start = dirfd_inode(ctx, dirfd, &path)?;
    let fs = ctx.process.fs().lock().clone();
    let target = fs.lookup(start.as_ref(), &path, false)?.read_link()?;
    let n = target.len().min(len as usize);
    ctx.vmar().write_bytes(buf, &target.as_bytes()[..n])?;
    ret(n)
}

pub fn sys_access(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_faccessat(ctx, AT_FDCWD, a[0], a[1] as u32, 0)
}

pub fn sys_faccessat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_faccessat(ctx, fd_arg(a[0]), a[1], a[2] as u32, 0)
}

pub fn sys_faccessat2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_faccessat(ctx, fd_arg(a[0]), a[1], a[2] as u32, a[3] as u32)
}

fn do_faccessat(
    ctx: &mut SyscallContext,
    dirfd: i32,
    path_addr: u64,
    mode: u32,
    at_flags: u32,
) -> R {
    if mode & !7 != 0 {
        return_errno!(EINVAL);
    }
    let m = stat_target(
        ctx,
        dirfd,
        path_addr,
        at_flags & (g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH),
    )?;
    // Root may read and write anything; execute needs some x bit.
    if mode & 1 != 0 && m.kind != InodeType::Dir && m.mode & 0o111 == 0 {
        return_errno!(EACCES);
    }
    ret(0)
}

pub fn sys_getcwd(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let cwd = ctx.process.fs().lock().cwd_path.clone();
    let len = cwd.len() + 1;
    if (a[1] as usize) < len {
        return_errno!(ERANGE);
    }
    let mut bytes = cwd.into_bytes();
    bytes.push(0);
    ctx.vmar().write_bytes(a[0], &bytes)?;
    ret(len)
}

pub fn sys_chdir(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let path = read_path(ctx, a[0])?;
    // Resolve on a copy: resolution may read this process's own state
    // (e.g. `/proc/self/cwd`).
    let snapshot = ctx.process.fs().lock().clone();
    let inode = snapshot.lookup(None, &path, true)?;
    if inode.metadata().kind != InodeType::Dir {
        return_errno!(ENOTDIR);
    }
    if !ctx
        .process
        .credentials()
        .may_access(&inode.metadata(), access::X)
    {
        return_errno!(EACCES);
    }
    let fs_ctx = ctx.process.fs();
    let mut fs = fs_ctx.lock();
    fs.cwd_path = normalize(&fs.cwd_path, &path);
    fs.cwd = inode;
    ret(0)
}

/// Joins and normalises a path lexically (for the working directory's
/// name; resolution itself is done on inodes).
pub fn normalize(cwd: &str, path: &str) -> String {
    let mut parts: Vec<&str> = if path.starts_with('/') {
        Vec::new()
    } else {
        cwd.split('/').filter(|c| !c.is_empty()).collect()
    };
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut s = String::from("/");
    s.push_str(&parts.join("/"));
    s
}

pub fn sys_dup(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let files_table = ctx.process.files();
    let mut files = files_table.lock();
    let f = files.get(fd_arg(a[0]))?;
    ret(files.insert(f, false)?)
}

pub fn sys_dup2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (old, new) = (fd_arg(a[0]), fd_arg(a[1]));
    let files_table = ctx.process.files();
    let mut files = files_table.lock();
    let f = files.get(old)?;
    if old == new {
        return ret(new);
    }
    if new < 0 || new as usize >= crate::fs::file_table::MAX_FDS {
        return_errno!(EBADF);
    }
    let old_file = files.put(new as usize, f, false);
    drop(files);
    drop(old_file);
    ret(new)
}

pub fn sys_dup3(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (old, new, fl) = (fd_arg(a[0]), fd_arg(a[1]), a[2] as u32);
    if old == new || fl & !flags::O_CLOEXEC != 0 {
        return_errno!(EINVAL);
    }
    let files_table = ctx.process.files();
    let mut files = files_table.lock();
    let f = files.get(old)?;
    if new < 0 || new as usize >= crate::fs::file_table::MAX_FDS {
        return_errno!(EBADF);
    }
    let old_file = files.put(new as usize, f, fl & flags::O_CLOEXEC != 0);
    drop(files);
    drop(old_file);
    ret(new)
}

pub fn sys_fcntl(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let fd = fd_arg(a[0]);
    let cmd = a[1] as u32;
    let (file, lock_owner) = {
        let files_table = ctx.process.files();
        let mut files = files_table.lock();
        let file = files.get(fd)?;
        match cmd {
            g::F_DUPFD | g::F_DUPFD_CLOEXEC => {
                let min = a[2] as usize;
                if min >= crate::fs::file_table::MAX_FDS {
                    return_errno!(EINVAL);
                }
                return ret(files.insert_from(min, file, cmd == g::F_DUPFD_CLOEXEC)?);
            }
            g::F_GETFD => return ret(files.cloexec(fd)? as i64),
            g::F_SETFD => {
                files.set_cloexec(fd, a[2] & 1 != 0)?;
                return ret(0);
            }
            g::F_GETFL => return ret(file.status_flags()),
            // Linux's `check_fcntl_cmd`: an `O_PATH` descriptor allows only
            // the commands above.
            _ if file.status_flags() & flags::O_PATH != 0 => return_errno!(EBADF),
            _ => {}
        }
        let owner = files.lock_owner();
        (file, owner)
    };
    match cmd {
        g::F_SETFL => {
            let new = a[2] as u32;
            if (new ^ file.status_flags()) & flags::O_ASYNC != 0 {
                file.set_async(fd, new & flags::O_ASYNC != 0)?;
            }
            file.set_status_flags(new)?;
            ret(0)
        }
        g::F_GETLK
        | g::F_SETLK
        | g::F_SETLKW
        | g::F_OFD_GETLK
        | g::F_OFD_SETLK
        | g::F_OFD_SETLKW => fcntl_record_lock(ctx, fd, &file, lock_owner, cmd, a[2]),
        g::F_GETOWN | g::F_SETOWN | g::F_GETOWN_EX | g::F_SETOWN_EX | g::F_GETSIG | g::F_SETSIG => {
            fcntl_io_owner(ctx, &file, cmd, a[2])
        }
        g::F_GETPIPE_SZ | g::F_SETPIPE_SZ => {
            let pipe = crate::fs::pipe::pipe_of(file.as_ref()).ok_or(Error::new(EBADF))?;
            if cmd == g::F_GETPIPE_SZ {
                return ret(pipe.capacity());
            }
            // The size is an `unsigned int`; root may go past
            // pipe-max-size (Linux: CAP_SYS_RESOURCE).
            let privileged = ctx.process.credentials().euid == 0;
            ret(pipe.set_capacity(a[2] as u32, privileged)?)
        }
        g::F_ADD_SEALS => {
            crate::fs::memfd::add_seals(&file, a[2] as u32)?;
            ret(0)
        }
        g::F_GET_SEALS => ret(crate::fs::memfd::get_seals(&file)?),
        _ => return_errno!(EINVAL),
    }
}

/// `F_GETLK`, `F_SETLK`, `F_SETLKW` and their OFD forms on `file` (at
/// `fd`); `posix_owner` owns the caller's classic locks. Arguments are
/// checked in Linux's order: the range, the type, the access mode, then
/// an OFD request's `l_pid`.
fn fcntl_record_lock(
    ctx: &SyscallContext,
    fd: i32,
    file: &Arc<dyn FileLike>,
    posix_owner: Owner,
    cmd: u32,
    arg: u64,
) -> R {
    let vmar = ctx.vmar();
    let mut fl: g::flock = vmar.read_val(arg)?;
    let ofd = matches!(cmd, g::F_OFD_GETLK | g::F_OFD_SETLK | g::F_OFD_SETLKW);
    let get = matches!(cmd, g::F_GETLK | g::F_OFD_GETLK);
    // Only the OFD form may ask about F_UNLCK (the caller's own locks).
    if get && !ofd && fl.l_type != g::F_RDLCK as i16 && fl.l_type != g::F_WRLCK as i16 {
        return_errno!(EINVAL);
    }
    let pos = match fl.l_whence as u32 {
        g::SEEK_CUR => file.seek(SeekFrom::Current(0)).unwrap_or(0),
        _ => 0,
    };
    let size = match fl.l_whence as u32 {
        g::SEEK_END => file.metadata().size,
        _ => 0,
    };
    let range = ByteRange::from_flock(fl.l_whence, fl.l_start, fl.l_len, pos, size)?;
    let kind = LockType::from_l_type(fl.l_type)?;
    if !get {
        match kind {
            LockType::Read => check_readable(file)?,
            LockType::Write => check_writable(file)?,
            LockType::Unlock => {}
        }
    }
    if ofd && fl.l_pid != 0 {
        return_errno!(EINVAL);
    }
    let key = FileKey::of(file.as_ref());
    let owner = if ofd {
        let handle = file.lock_handle().ok_or(Error::new(ENOLCK))?;
        handle.remember(key);
        handle.owner()
    } else {
        posix_owner
    };
    if get {
        match lock::test_record_lock(key, owner, kind, range) {
            Some(held) => {
                fl.l_type = held.kind.l_type();
                fl.l_whence = g::SEEK_SET as i16;
                (fl.l_start, fl.l_len) = held.range.start_len();
                fl.l_pid = held.pid;
            }
            None => fl.l_type = g::F_UNLCK as i16,
        }
        vmar.write_val(arg, &fl)?;
        return ret(0);
    }
    let req = RecordRequest {
        key,
        owner,
        pid: ctx.process.pid(),
        kind,
        range,
    };
    lock::set_record_lock(&req, matches!(cmd, g::F_SETLKW | g::F_OFD_SETLKW))?;
    // As Linux's `fcntl_setlk`: if the descriptor was closed while the
    // lock was being taken, the close did not see the lock; take it back.
    if !ofd && kind != LockType::Unlock {
        let same = ctx
            .process
            .files()
            .lock()
            .get(fd)
            .is_ok_and(|f| Arc::ptr_eq(&f, file));
        if !same {
            let undo = RecordRequest {
                kind: LockType::Unlock,
                ..req
            };
            let _ = lock::set_record_lock(&undo, false);
            return_errno!(EBADF);
        }
    }
    ret(0)
}

/// `F_GETOWN`, `F_SETOWN`, `F_GETOWN_EX`, `F_SETOWN_EX`, `F_GETSIG` and
/// `F_SETSIG`.
fn fcntl_io_owner(ctx: &SyscallContext, file: &Arc<dyn FileLike>, cmd: u32, arg: u64) -> R {
    let owner = file.io_owner().ok_or(Error::new(EINVAL))?;
    match cmd {
        g::F_GETOWN => ret(owner.get_legacy()),
        g::F_SETOWN => {
            owner.set_legacy(arg as i32, ctx.process)?;
            ret(0)
        }
        g::F_GETOWN_EX => {
            let (kind, pid) = owner.get();
            let ex = g::f_owner_ex {
                type_: kind.raw(),
                pid: pid as i32,
            };
            ctx.vmar().write_val(arg, &ex)?;
            ret(0)
        }
        g::F_SETOWN_EX => {
            let ex: g::f_owner_ex = ctx.vmar().read_val(arg)?;
            owner.set(OwnerKind::from_raw(ex.type_)?, ex.pid, ctx.process)?;
            ret(0)
        }
        g::F_GETSIG => ret(owner.signal()),
        _ => {
            owner.set_signal(arg as i32)?;
            ret(0)
        }
    }
}

/// `flock(fd, operation)`: `LOCK_SH`, `LOCK_EX` or `LOCK_UN`, with
/// `LOCK_NB` not to wait. The operation is checked before the descriptor,
/// and `LOCK_MAND` requests are ignored, as on Linux since 5.15.
pub fn sys_flock(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let op = a[1] as u32;
    if op & g::LOCK_MAND != 0 {
        return ret(0);
    }
    let kind = match op & !g::LOCK_NB {
        g::LOCK_SH => LockType::Read,
        g::LOCK_EX => LockType::Write,
        g::LOCK_UN => LockType::Unlock,
        _ => return_errno!(EINVAL),
    };
    let file = get_file(ctx, fd_arg(a[0]))?;
    if file.status_flags() & flags::O_PATH != 0 {
        return_errno!(EBADF);
    }
    let handle = file.lock_handle().ok_or(Error::new(ENOLCK))?;
    let key = FileKey::of(file.as_ref());
    lock::flock(key, handle, kind, ctx.process.pid(), op & g::LOCK_NB == 0)?;
    ret(0)
}

pub fn sys_getdents64(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    let dir = file.inode().cloned().ok_or(Error::new(ENOTDIR))?;
    let meta = dir.metadata();
    if meta.kind != InodeType::Dir {
        return_errno!(ENOTDIR);
    }
    let mut entries = vec![(String::from("."), meta.ino, InodeType::Dir)];
    let parent_ino = dir.parent().map_or(meta.ino, |p| p.metadata().ino);
    entries.push((String::from(".."), parent_ino, InodeType::Dir));
    entries.extend(dir.readdir()?);
    // The file position counts entries already returned.
    let start = file.seek(SeekFrom::Current(0))? as usize;
    let cap = a[2] as usize;
    let mut out = Vec::new();
    let mut next = start;
    for (name, ino, kind) in entries.iter().skip(start) {
        let reclen = (19 + name.len() + 1).next_multiple_of(8);
        if out.len() + reclen > cap {
            break;
        }
        let base = out.len();
        out.resize(base + reclen, 0);
        out[base..base + 8].copy_from_slice(&ino.to_le_bytes());
        out[base + 8..base + 16].copy_from_slice(&((next + 1) as i64).to_le_bytes());
        out[base + 16..base + 18].copy_from_slice(&(reclen as u16).to_le_bytes());
        out[base + 18] = kind.dirent_type();
        out[base + 19..base + 19 + name.len()].copy_from_slice(name.as_bytes());
        next += 1;
    }
    if out.is_empty() && next < entries.len() {
        return_errno!(EINVAL);
    }
    ctx.vmar().write_bytes(a[1], &out)?;
    file.seek(SeekFrom::Start(next as u64))?;
    ret(out.len())
}

pub fn sys_pipe(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_pipe2(ctx, a[0], 0)
}

pub fn sys_pipe2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_pipe2(ctx, a[0], a[1] as u32)
}

fn do_pipe2(ctx: &mut SyscallContext, addr: u64, fl: u32) -> R {
    if fl & !(flags::O_CLOEXEC | flags::O_NONBLOCK | g::O_DIRECT) != 0 {
        return_errno!(EINVAL);
    }
    let (r, w) = crate::fs::pipe::new_pipe(fl);
    let cloexec = fl & flags::O_CLOEXEC != 0;
    let (rfd, wfd) = {
        let files_table = ctx.process.files();
        let mut files = files_table.lock();
        let rfd = files.insert(r, cloexec)?;
        match files.insert(w, cloexec) {
            Ok(wfd) => (rfd, wfd),
            Err(e) => {
                let _ = files.remove(rfd);
                return Err(e);
            }
        }
    };
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&rfd.to_le_bytes());
    buf[4..].copy_from_slice(&wfd.to_le_bytes());
    if let Err(e) = ctx.vmar().write_bytes(addr, &buf) {
        let files_table = ctx.process.files();
        let mut files = files_table.lock();
        let _ = files.remove(rfd);
        let _ = files.remove(wfd);
        return Err(e);
    }
    ret(0)
}

pub fn sys_sendfile(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (out_fd, in_fd, off_addr, count) = (fd_arg(a[0]), fd_arg(a[1]), a[2], a[3] as usize);
    let out = get_file(ctx, out_fd)?;
    let input = get_file(ctx, in_fd)?;
    if input.status_flags() & flags::O_ACCMODE == flags::O_WRONLY
        || out.status_flags() & flags::O_ACCMODE == flags::O_RDONLY
    {
        return_errno!(EBADF);
    }
    // As on Linux, the input is read at a position (a pipe or anything else
    // without one is refused) and the position moves by what reached the
    // output only: bytes read but not written (a short or interrupted write
    // to a pipe) stay in the input for the next call instead of being lost.
    let vmar = ctx.vmar();
    let mut pos: u64 = if off_addr != 0 {
        vmar.read_val(off_addr)?
    } else {
        input
            .seek(SeekFrom::Current(0))
            .map_err(|_| Error::new(EINVAL))?
    };
    // Linux's `rw_verify_area`: a count that is negative as a signed size
    // is invalid; a large one is cut to MAX_RW_COUNT.
    if (count as isize) < 0 {
        return_errno!(EINVAL);
    }
    let count = count.min(MAX_RW_COUNT);
    let mut done = 0;
    let mut buf = vec![0u8; count.min(IO_CHUNK)];
    let mut result = None;
    while done < count {
        // Linux's splice loop stops at any signal, with what it moved.
        if let Some(r) = interrupted(ctx, done, true) {
            result = Some(r);
            break;
        }
        let want = (count - done).min(buf.len());
        let n = match input.read_at(pos, &mut buf[..want]) {
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        let w = match out.write(&buf[..n]) {
            Ok(w) => w,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        done += w;
        pos += w as u64;
        // A short read (end of file) or a short write ends the call.
        if w < n || n < want {
            break;
        }
    }
    if off_addr != 0 {
        vmar.write_val(off_addr, &pos)?;
    } else {
        input.seek(SeekFrom::Start(pos))?;
    }
    result.unwrap_or_else(|| ret(done))
}

pub fn sys_close_range(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    const CLOSE_RANGE_UNSHARE: u32 = 2;
    const CLOSE_RANGE_CLOEXEC: u32 = 4;
    let (first, last, fl) = (a[0] as u32, a[1] as u32, a[2] as u32);
    if fl & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return_errno!(EINVAL);
    }
    let last = last.min(crate::fs::file_table::MAX_FDS as u32 - 1);
    let mut closed = Vec::new();
    {
        let files_table = ctx.process.files();
        let mut files = files_table.lock();
        for fd in first..=last {
            let fd = fd as i32;
            if fl & CLOSE_RANGE_CLOEXEC != 0 {
                let _ = files.set_cloexec(fd, true);
            } else if let Ok(f) = files.remove(fd) {
                closed.push(f);
            }
        }
    }
    drop(closed);
    ret(0)
}
