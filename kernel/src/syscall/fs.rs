//! File syscalls: read/write, open/close, stat, ioctl, descriptors.

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
    let mut buf = crate::util::zeroed_buffer(len.min(IO_CHUNK))?;
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
fn append_chunk(file: &Arc<dyn FileLike>) -> usize {
    if file.status_flags() & flags::O_APPEND != 0 {
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
    let chunk = append_chunk(file);
    let mut buf = crate::util::zeroed_buffer(len.min(chunk))?;
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

/// Reads a path argument: bytes, as Linux takes them (`ENAMETOOLONG`
/// past `PATH_MAX`).
pub fn read_path(ctx: &SyscallContext, addr: u64) -> Result<Vec<u8>> {
    ctx.vmar().read_cstring(addr, g::PATH_MAX as usize - 1)
}

/// The directory a `*at` call starts from: `None` for the working
/// directory.
pub fn dirfd_inode(
    ctx: &SyscallContext,
    dirfd: i32,
    path: &[u8],
) -> Result<Option<Arc<dyn Inode>>> {
    if dirfd == AT_FDCWD || path.starts_with(b"/") {
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
    readv_at_position(ctx, &file, iovs)
}

/// `readv` at the file position.
fn readv_at_position(ctx: &SyscallContext, file: &Arc<dyn FileLike>, iovs: Vec<(u64, usize)>) -> R {
    if !reads_fully(file) {
        // A pipe or a terminal: one read for the whole vector, scattered
        // afterwards. Reading buffer by buffer would wait in the second
        // read for more than the pipe holds once the first was filled.
        let want: usize = iovs.iter().map(|&(_, l)| l).sum();
        let mut buf = crate::util::zeroed_buffer(want.min(IO_CHUNK))?;
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
    for_each_iovec(iovs, |base, len| read_to_user(ctx, file, base, len, None))
}

pub fn sys_writev(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    check_writable(&file)?;
    let iovs = read_iovecs(ctx, a[1], a[2])?;
    writev_at_position(ctx, &file, iovs)
}

/// `writev` at the file position.
fn writev_at_position(
    ctx: &SyscallContext,
    file: &Arc<dyn FileLike>,
    iovs: Vec<(u64, usize)>,
) -> R {
    let vmar = ctx.vmar();
    let total: usize = iovs.iter().map(|&(_, l)| l).sum();
    // Small vectors are gathered so that a terminal or pipe sees one write
    // (atomic up to PIPE_BUF), and so are `O_APPEND` ones (see
    // `append_chunk`); large ones go out chunk by chunk.
    if total <= append_chunk(file) {
        let mut buf = crate::util::zeroed_buffer(total)?;
        let mut pos = 0;
        for (base, len) in iovs {
            vmar.read_bytes(base, &mut buf[pos..pos + len])?;
            pos += len;
        }
        return ret(file.write(&buf)?);
    }
    for_each_iovec(iovs, |base, len| {
        write_from_user(ctx, file, base, len, None)
    })
}

/// `preadv(fd, iov, count, pos_l, pos_h)`. On x86-64 `pos_l` holds the
/// whole offset: Linux's `pos_from_hilo` shifts the high word out.
pub fn sys_preadv(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_preadv(ctx, a, 0, false)
}

/// `pwritev(fd, iov, count, pos_l, pos_h)`.
pub fn sys_pwritev(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_pwritev(ctx, a, 0, false)
}

/// `preadv2(fd, iov, count, pos_l, pos_h, flags)`: offset -1 is the file
/// position.
pub fn sys_preadv2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_preadv(ctx, a, a[5] as u32, true)
}

/// `pwritev2(fd, iov, count, pos_l, pos_h, flags)`.
pub fn sys_pwritev2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_pwritev(ctx, a, a[5] as u32, true)
}

/// The `RWF_*` flags Linux knows for `preadv2`/`pwritev2`; others are
/// `EOPNOTSUPP`. `RWF_HIPRI`, `RWF_DSYNC` and `RWF_SYNC` change nothing on
/// a file system in memory.
const RWF_KNOWN: u32 = g::RWF_HIPRI | g::RWF_DSYNC | g::RWF_SYNC | g::RWF_NOWAIT | g::RWF_APPEND;

/// Whether `file` has no position (`preadv` on it is `ESPIPE`).
fn unseekable(file: &Arc<dyn FileLike>) -> bool {
    matches!(file.metadata().kind, InodeType::Fifo | InodeType::Socket)
}

/// Checks the `RWF_*` flags, in Linux's `kiocb_set_rw_flags` order:
/// unknown flags, then `RWF_NOWAIT`, which a tmpfs file takes for reads
/// only, and which on other files fails with `EAGAIN` when the call would
/// block.
fn check_rw_flags(file: &Arc<dyn FileLike>, flags: u32, write: bool) -> Result<()> {
    if flags & !RWF_KNOWN != 0 {
        return_errno!(EOPNOTSUPP);
    }
    if flags & g::RWF_NOWAIT != 0 {
        if file.metadata().kind == InodeType::File {
            if write {
                return_errno!(EOPNOTSUPP);
            }
        } else {
            use crate::fs::poll::IoEvents;
            let ready = if write { IoEvents::OUT } else { IoEvents::IN };
            if !file
                .poll()
                .intersects(ready | IoEvents::HUP | IoEvents::ERR)
            {
                return_errno!(EAGAIN);
            }
        }
    }
    Ok(())
}

/// `a`: the raw arguments; `v2`: `preadv2`, where offset -1 is the file
/// position.
fn do_preadv(ctx: &SyscallContext, a: [u64; 6], flags: u32, v2: bool) -> R {
    let offset = a[3] as i64;
    let at_position = v2 && offset == -1;
    if offset < 0 && !at_position {
        return_errno!(EINVAL);
    }
    let file = get_file(ctx, fd_arg(a[0]))?;
    if !at_position && unseekable(&file) {
        return_errno!(ESPIPE);
    }
    check_readable(&file)?;
    let iovs = read_iovecs(ctx, a[1], a[2])?;
    check_rw_flags(&file, flags, false)?;
    if at_position {
        return readv_at_position(ctx, &file, iovs);
    }
    let mut at = offset as u64;
    for_each_iovec(iovs, |base, len| {
        let n = count_of(read_to_user(ctx, &file, base, len, Some(at))?);
        at += n as u64;
        ret(n)
    })
}

/// `a`: the raw arguments; `v2`: `pwritev2`, where offset -1 is the file
/// position.
fn do_pwritev(ctx: &SyscallContext, a: [u64; 6], flags: u32, v2: bool) -> R {
    let offset = a[3] as i64;
    let at_position = v2 && offset == -1;
    if offset < 0 && !at_position {
        return_errno!(EINVAL);
    }
    let file = get_file(ctx, fd_arg(a[0]))?;
    if !at_position && unseekable(&file) {
        return_errno!(ESPIPE);
    }
    check_writable(&file)?;
    let iovs = read_iovecs(ctx, a[1], a[2])?;
    check_rw_flags(&file, flags, true)?;
    let append = flags & g::RWF_APPEND != 0 && file.metadata().kind == InodeType::File;
    if at_position {
        if append {
            // As `O_APPEND` for this call: the position ends at the end.
            file.seek(SeekFrom::End(0))?;
        }
        return writev_at_position(ctx, &file, iovs);
    }
    // `RWF_APPEND` writes at the end whatever the offset.
    let mut at = if append {
        file.metadata().size
    } else {
        offset as u64
    };
    for_each_iovec(iovs, |base, len| {
        let n = count_of(write_from_user(ctx, &file, base, len, Some(at))?);
        at += n as u64;
        ret(n)
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
    let cred = ctx.thread.credentials();
    let mut opened_as = None;
    let inode = match fs.lookup_for_open(start.as_ref(), &path, follow) {
        Ok((i, magic_path)) => {
            opened_as = magic_path;
            if oflags & flags::O_CREAT != 0 && oflags & flags::O_EXCL != 0 {
                return_errno!(EEXIST);
            }
            if oflags & flags::O_PATH == 0 && writes_to_fs(&i, oflags) {
                crate::fs::mount::check_writable(&i)?;
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
            if path.ends_with(b"/") {
                return_errno!(EISDIR);
            }
            let (dir, name) = creation_point(&fs, start, &path, oflags)?;
            let name = name.as_slice();
            crate::fs::mount::check_writable(&dir)?;
            if !cred.may_access(&dir.metadata(), access::W | access::X) {
                return_errno!(EACCES);
            }
            let node = dir.create(name, InodeType::File, mode & !fs.umask & 0o7777)?;
            let _ = node.set_owner(Some(cred.fsuid), Some(cred.fsgid));
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

/// Whether opening `inode` with `oflags` would change its file system
/// (writing or truncating a regular file or directory; devices, FIFOs
/// and sockets may be written on a read-only mount, as Linux's
/// `may_open`).
fn writes_to_fs(inode: &Arc<dyn Inode>, oflags: u32) -> bool {
    let writing = oflags & flags::O_ACCMODE != flags::O_RDONLY || oflags & flags::O_TRUNC != 0;
    writing && matches!(inode.metadata().kind, InodeType::File | InodeType::Dir)
}

/// Where `open(O_CREAT)` creates a missing file: the parent directory and
/// name, following a dangling symbolic link in the last component to create
/// its target, as Linux does (unless `O_EXCL` or `O_NOFOLLOW`).
fn creation_point(
    fs: &crate::fs::FsContext,
    mut start: Option<Arc<dyn Inode>>,
    path: &[u8],
    oflags: u32,
) -> Result<(Arc<dyn Inode>, Vec<u8>)> {
    let mut path = path.to_vec();
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
            Err(_) => return Ok((dir, name.to_vec())),
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
            // Generated files (`/proc`) know only SEEK_SET and SEEK_CUR, as
            // Linux's `seq_lseek`.
            if file.as_any().is::<crate::fs::procfs::ProcFile>() {
                return_errno!(EINVAL);
            }
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
    Ok(stat_target_inode(ctx, dirfd, path_addr, at_flags)?.1)
}

/// The inode (if the target has one: a pipe named by `AT_EMPTY_PATH` has
/// not) and metadata of a stat-like call.
fn stat_target_inode(
    ctx: &SyscallContext,
    dirfd: i32,
    path_addr: u64,
    at_flags: u32,
) -> Result<(Option<Arc<dyn Inode>>, Metadata)> {
    let known = g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH | g::AT_NO_AUTOMOUNT | 0x6000; // AT_STATX_SYNC_TYPE
    if at_flags & !known != 0 {
        return_errno!(EINVAL);
    }
    let path = read_path(ctx, path_addr)?;
    if path.is_empty() && at_flags & g::AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            let cwd = ctx.process.fs().lock().cwd.clone();
            let meta = cwd.metadata();
            return Ok((Some(cwd), meta));
        }
        let file = get_file(ctx, dirfd)?;
        return Ok((file.inode().cloned(), file.metadata()));
    }
    let start = dirfd_inode(ctx, dirfd, &path)?;
    let fs = ctx.process.fs().lock().clone();
    let inode = fs.lookup(
        start.as_ref(),
        &path,
        at_flags & g::AT_SYMLINK_NOFOLLOW == 0,
    )?;
    let meta = inode.metadata();
    Ok((Some(inode), meta))
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
    let (inode, m) = stat_target_inode(ctx, fd_arg(a[0]), a[1], a[2] as u32)?;
    let mnt_id = inode.as_ref().map_or(0, crate::fs::mount::mount_id_of);
    if a[3] as u32 & g::STATX__RESERVED != 0 {
        return_errno!(EINVAL);
    }
    let ts = |d: core::time::Duration| g::statx_timestamp {
        tv_sec: d.as_secs() as i64,
        tv_nsec: d.subsec_nanos(),
        __reserved: 0,
    };
    let s = g::statx {
        stx_mask: g::STATX_BASIC_STATS | g::STATX_MNT_ID,
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
        stx_mnt_id: mnt_id,
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
    let target = if path.is_empty() && dirfd != AT_FDCWD {
        // An empty path names `dirfd` itself when it is a symbolic link
        // (opened with `O_PATH | O_NOFOLLOW`); anything else is `ENOENT`.
        let inode = get_file(ctx, dirfd)?
            .inode()
            .cloned()
            .ok_or(Error::new(ENOENT))?;
        if inode.metadata().kind != InodeType::Symlink {
            return_errno!(ENOENT);
        }
        inode.read_link()?
    } else {
        let start = dirfd_inode(ctx, dirfd, &path)?;
        let fs = ctx.process.fs().lock().clone();
        fs.lookup(start.as_ref(), &path, false)?.read_link()?
    };
    let n = target.len().min(len as usize);
    ctx.vmar().write_bytes(buf, &target[..n])?;
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
    let fs_ctx = ctx.process.fs();
    let (cwd_inode, cwd) = {
        let fs = fs_ctx.lock();
        (fs.cwd.clone(), fs.cwd_path.clone())
    };
    // A removed working directory has no name any more (Linux: ENOENT).
    if cwd_inode.metadata().nlink == 0 {
        return_errno!(ENOENT);
    }
    let len = cwd.len() + 1;
    if (a[1] as usize) < len {
        return_errno!(ERANGE);
    }
    let mut bytes = cwd;
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
        .thread
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
pub fn normalize(cwd: &[u8], path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = if path.starts_with(b"/") {
        Vec::new()
    } else {
        crate::fs::components(cwd).collect()
    };
    for c in crate::fs::components(path) {
        match c {
            b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    crate::fs::join_absolute(&parts)
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
            // The size is an `unsigned int`; `CAP_SYS_RESOURCE` may go past
            // pipe-max-size.
            let privileged = ctx.thread.credentials().has_cap(g::CAP_SYS_RESOURCE);
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
    do_getdents(ctx, a, DirentFormat::Dirent64)
}

/// The legacy `getdents`: `struct linux_dirent`, with the type in the
/// last byte of each record.
pub fn sys_getdents(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_getdents(ctx, a, DirentFormat::Legacy)
}

/// The record layout of `getdents64` or the legacy `getdents`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DirentFormat {
    /// `struct linux_dirent64`: ino, off, reclen, type, name.
    Dirent64,
    /// `struct linux_dirent`: ino, off, reclen, name, NUL, padding, type.
    Legacy,
}

fn do_getdents(ctx: &SyscallContext, a: [u64; 6], format: DirentFormat) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    let dir = file.inode().cloned().ok_or(Error::new(ENOTDIR))?;
    let meta = dir.metadata();
    if meta.kind != InodeType::Dir {
        return_errno!(ENOTDIR);
    }
    let mut entries = vec![(b".".to_vec(), meta.ino, InodeType::Dir)];
    let parent_ino = dir.parent().map_or(meta.ino, |p| p.metadata().ino);
    entries.push((b"..".to_vec(), parent_ino, InodeType::Dir));
    entries.extend(dir.readdir()?);
    // The file position counts entries already returned.
    let start = file.seek(SeekFrom::Current(0))? as usize;
    let cap = a[2] as usize;
    let mut out = Vec::new();
    let mut next = start;
    for (name, ino, kind) in entries.iter().skip(start) {
        // Both layouts: d_ino and d_off (8 bytes each), d_reclen (2); then
        // the type and the name (dirent64) or the name, its NUL and the
        // type last (legacy), rounded up to 8 bytes.
        let reclen = (19 + name.len() + 1).next_multiple_of(8);
        if out.len() + reclen > cap {
            break;
        }
        let base = out.len();
        out.resize(base + reclen, 0);
        out[base..base + 8].copy_from_slice(&ino.to_le_bytes());
        out[base + 8..base + 16].copy_from_slice(&((next + 1) as i64).to_le_bytes());
        out[base + 16..base + 18].copy_from_slice(&(reclen as u16).to_le_bytes());
        match format {
            DirentFormat::Dirent64 => {
                out[base + 18] = kind.dirent_type();
                out[base + 19..base + 19 + name.len()].copy_from_slice(name);
            }
            DirentFormat::Legacy => {
                out[base + 18..base + 18 + name.len()].copy_from_slice(name);
                out[base + reclen - 1] = kind.dirent_type();
            }
        }
        next += 1;
    }
    if out.is_empty() && next < entries.len() {
        return_errno!(EINVAL);
    }
    ctx.vmar().write_bytes(a[1], &out)?;
    file.seek(SeekFrom::Start(next as u64))?;
    ret(out.len())
}

/// `fadvise64(fd, offset, len, advice)`: checked as Linux checks it
/// (`EBADF`, `ESPIPE` for a FIFO or pipe, `EINVAL` for a negative length
/// or unknown advice); the advice itself changes nothing for files in
/// memory.
pub fn sys_fadvise64(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, fd_arg(a[0]))?;
    if file.status_flags() & flags::O_PATH != 0 {
        return_errno!(EBADF);
    }
    if file.metadata().kind == InodeType::Fifo {
        return_errno!(ESPIPE);
    }
    if (a[2] as i64) < 0 || a[3] > u64::from(g::POSIX_FADV_NOREUSE) {
        return_errno!(EINVAL);
    }
    ret(0)
}

/// `creat(path, mode)`: `open(path, O_CREAT | O_WRONLY | O_TRUNC, mode)`.
pub fn sys_creat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let oflags = flags::O_CREAT | flags::O_WRONLY | flags::O_TRUNC;
    do_openat(ctx, AT_FDCWD, a[0], oflags, a[1] as u32)
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
    let mut buf = crate::util::zeroed_buffer(count.min(IO_CHUNK))?;
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
