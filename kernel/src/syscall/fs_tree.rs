//! Syscalls that change the directory tree or file attributes: `mkdir`,
//! `mknod`, `unlink`, `rename`, `link`, `symlink`, `chmod`, `chown`,
//! `utimensat`, `truncate`, `chdir`/`fchdir`/`chroot`, `statfs`, `mount`.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use linux_raw_sys::general as g;

use super::fs::{AT_FDCWD, dirfd_inode, get_file, read_path};
use super::{SyscallContext, SyscallReturn, ret};
use crate::fs::inode::{Inode, InodeType};
use crate::fs::xattr;
use crate::prelude::*;
use crate::process::credentials::access;

type R = Result<SyscallReturn>;

/// Resolves the parent directory of `path` and checks that the caller may
/// add or remove entries in it.
fn writable_parent<'p>(
    ctx: &SyscallContext,
    dirfd: i32,
    path: &'p [u8],
) -> Result<(Arc<dyn Inode>, &'p [u8])> {
    let start = dirfd_inode(ctx, dirfd, path)?;
    let fs = ctx.process.fs().lock().clone();
    let (dir, name) = fs.lookup_parent(start.as_ref(), path)?;
    if !ctx
        .thread
        .credentials()
        .may_access(&dir.metadata(), access::W | access::X)
    {
        return_errno!(EACCES);
    }
    Ok((dir, name))
}

/// `EPERM` if the sticky bit of `dir` protects its entry `victim` from the
/// caller.
fn check_sticky(ctx: &SyscallContext, dir: &Arc<dyn Inode>, victim: &Arc<dyn Inode>) -> Result<()> {
    if !ctx
        .thread
        .credentials()
        .may_delete_sticky(&dir.metadata(), &victim.metadata())
    {
        return_errno!(EPERM);
    }
    Ok(())
}

fn umask(ctx: &SyscallContext) -> u32 {
    ctx.process.fs().lock().umask
}

fn lookup_at(
    ctx: &SyscallContext,
    dirfd: i32,
    path: &[u8],
    follow: bool,
) -> Result<Arc<dyn Inode>> {
    let start = dirfd_inode(ctx, dirfd, path)?;
    let fs = ctx.process.fs().lock().clone();
    fs.lookup(start.as_ref(), path, follow)
}

/// The inode of a `*at` call that may name `dirfd` itself with an empty
/// path and `AT_EMPTY_PATH`.
fn target_at(
    ctx: &SyscallContext,
    dirfd: i32,
    path_addr: u64,
    at_flags: u32,
) -> Result<Arc<dyn Inode>> {
    let path = if path_addr == 0 {
        Vec::new()
    } else {
        read_path(ctx, path_addr)?
    };
    if path.is_empty() {
        if at_flags & g::AT_EMPTY_PATH == 0 && path_addr != 0 {
            return_errno!(ENOENT);
        }
        if dirfd == AT_FDCWD {
            return Ok(ctx.process.fs().lock().cwd.clone());
        }
        return get_file(ctx, dirfd)?
            .inode()
            .cloned()
            .ok_or(Error::new(EBADF));
    }
    lookup_at(ctx, dirfd, &path, at_flags & g::AT_SYMLINK_NOFOLLOW == 0)
}

fn new_entry(ctx: &SyscallContext, dirfd: i32, path_addr: u64, kind: InodeType, mode: u32) -> R {
    new_node(ctx, dirfd, path_addr, kind, mode, 0)
}

/// Creates a directory or a node (a device numbered `rdev`), in Linux's
/// order of checks: the name exists, the mount is read-only, devices
/// need privilege.
fn new_node(
    ctx: &SyscallContext,
    dirfd: i32,
    path_addr: u64,
    kind: InodeType,
    mode: u32,
    rdev: u64,
) -> R {
    let path = read_path(ctx, path_addr)?;
    let (dir, name) = writable_parent(ctx, dirfd, &path)?;
    if name == b"." || name == b".." {
        return_errno!(EEXIST);
    }
    if dir.lookup(name).is_ok() {
        return_errno!(EEXIST);
    }
    if kind != InodeType::Dir && path.ends_with(b"/") {
        return_errno!(ENOENT);
    }
    crate::fs::mount::check_writable(&dir)?;
    let device = matches!(kind, InodeType::CharDevice | InodeType::BlockDevice);
    if device && !ctx.thread.credentials().has_cap(g::CAP_MKNOD) {
        return_errno!(EPERM);
    }
    let node = dir.create(name, kind, mode & !umask(ctx) & 0o7777)?;
    if device {
        crate::fs::ramfs::set_rdev(&node, rdev);
    }
    let cred = ctx.thread.credentials();
    let _ = node.set_owner(Some(cred.fsuid), Some(cred.fsgid));
    ret(0)
}

pub fn sys_mkdir(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    new_entry(ctx, AT_FDCWD, a[0], InodeType::Dir, a[1] as u32)
}

pub fn sys_mkdirat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    new_entry(ctx, a[0] as i32, a[1], InodeType::Dir, a[2] as u32)
}

/// `mknod(path, mode, dev)`: `dev` in the kernel's 32-bit encoding (major
/// in bits 8-19, minor in bits 0-7 and 20-31).
fn do_mknod(ctx: &mut SyscallContext, dirfd: i32, path: u64, mode: u32, dev: u64) -> R {
    let kind = match mode & g::S_IFMT {
        0 | g::S_IFREG => InodeType::File,
        g::S_IFIFO => InodeType::Fifo,
        g::S_IFSOCK => InodeType::Socket,
        g::S_IFCHR => InodeType::CharDevice,
        g::S_IFBLK => InodeType::BlockDevice,
        g::S_IFDIR => return_errno!(EPERM),
        _ => return_errno!(EINVAL),
    };
    // The syscall takes an `unsigned int` (Linux's `new_decode_dev`).
    let dev = dev as u32;
    let (major, minor) = ((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00));
    let rdev = crate::fs::devfs::encode_dev(major, minor);
    new_node(ctx, dirfd, path, kind, mode, rdev)
}

pub fn sys_mknod(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_mknod(ctx, AT_FDCWD, a[0], a[1] as u32, a[2])
}

pub fn sys_mknodat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_mknod(ctx, a[0] as i32, a[1], a[2] as u32, a[3])
}

fn do_unlinkat(ctx: &mut SyscallContext, dirfd: i32, path_addr: u64, flags: u32) -> R {
    if flags & !g::AT_REMOVEDIR != 0 {
        return_errno!(EINVAL);
    }
    let path = read_path(ctx, path_addr)?;
    let (dir, name) = writable_parent(ctx, dirfd, &path)?;
    crate::fs::mount::check_writable(&dir)?;
    if let Ok(victim) = dir.lookup(name) {
        check_sticky(ctx, &dir, &victim)?;
    }
    if flags & g::AT_REMOVEDIR != 0 {
        if name == b"." {
            return_errno!(EINVAL);
        }
        dir.rmdir(name)?;
    } else {
        if path.ends_with(b"/") {
            let n = dir.lookup(name)?;
            return Err(Error::new(if n.metadata().kind == InodeType::Dir {
                EISDIR
            } else {
                ENOTDIR
            }));
        }
        dir.unlink(name)?;
    }
    ret(0)
}

pub fn sys_unlink(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_unlinkat(ctx, AT_FDCWD, a[0], 0)
}

pub fn sys_rmdir(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_unlinkat(ctx, AT_FDCWD, a[0], g::AT_REMOVEDIR)
}

pub fn sys_unlinkat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_unlinkat(ctx, a[0] as i32, a[1], a[2] as u32)
}

fn do_renameat2(
    ctx: &mut SyscallContext,
    olddir: i32,
    old: u64,
    newdir: i32,
    new: u64,
    flags: u32,
) -> R {
    // Checked in the order of Linux's `do_renameat2`.
    let (noreplace, exchange, whiteout) = (
        flags & g::RENAME_NOREPLACE != 0,
        flags & g::RENAME_EXCHANGE != 0,
        flags & g::RENAME_WHITEOUT != 0,
    );
    if flags & !(g::RENAME_NOREPLACE | g::RENAME_EXCHANGE | g::RENAME_WHITEOUT) != 0
        || ((noreplace || whiteout) && exchange)
    {
        return_errno!(EINVAL);
    }
    let (old_path, new_path) = (read_path(ctx, old)?, read_path(ctx, new)?);
    let (odir, oname) = writable_parent(ctx, olddir, &old_path)?;
    let (ndir, nname) = writable_parent(ctx, newdir, &new_path)?;
    if odir.metadata().dev != ndir.metadata().dev {
        return_errno!(EXDEV);
    }
    if matches!(oname, b"." | b"..") {
        return_errno!(EBUSY);
    }
    if noreplace && matches!(nname, b"." | b"..") {
        return_errno!(EEXIST);
    }
    crate::fs::mount::check_writable(&odir)?;
    crate::fs::mount::check_writable(&ndir)?;
    let node = odir.lookup(oname)?;
    let target = ndir.lookup(nname);
    if noreplace && target.is_ok() {
        return_errno!(EEXIST);
    }
    if exchange && let Err(e) = &target {
        return Err(*e);
    }
    if node.metadata().kind != InodeType::Dir
        && (old_path.ends_with(b"/") || (!exchange && new_path.ends_with(b"/")))
    {
        return_errno!(ENOTDIR);
    }
    check_sticky(ctx, &odir, &node)?;
    if let Ok(target) = &target {
        check_sticky(ctx, &ndir, target)?;
    }
    if exchange {
        odir.exchange(oname, &ndir, nname)?;
        return ret(0);
    }
    odir.rename(oname, &ndir, nname)?;
    if whiteout {
        // tmpfs leaves a whiteout, a character device 0:0, at the old name.
        let _ = odir.create(oname, InodeType::CharDevice, 0);
    }
    ret(0)
}

pub fn sys_rename(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_renameat2(ctx, AT_FDCWD, a[0], AT_FDCWD, a[1], 0)
}

pub fn sys_renameat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_renameat2(ctx, a[0] as i32, a[1], a[2] as i32, a[3], 0)
}

pub fn sys_renameat2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_renameat2(ctx, a[0] as i32, a[1], a[2] as i32, a[3], a[4] as u32)
}

fn do_linkat(
    ctx: &mut SyscallContext,
    olddir: i32,
    old: u64,
    newdir: i32,
    new: u64,
    flags: u32,
) -> R {
    if flags & !(g::AT_SYMLINK_FOLLOW | g::AT_EMPTY_PATH) != 0 {
        return_errno!(EINVAL);
    }
    let follow = if flags & g::AT_SYMLINK_FOLLOW != 0 {
        0
    } else {
        g::AT_SYMLINK_NOFOLLOW
    };
    let target = target_at(ctx, olddir, old, follow | (flags & g::AT_EMPTY_PATH))?;
    let new_path = read_path(ctx, new)?;
    let (dir, name) = writable_parent(ctx, newdir, &new_path)?;
    if dir.lookup(name).is_ok() {
        return_errno!(EEXIST);
    }
    if dir.metadata().dev != target.metadata().dev {
        return_errno!(EXDEV);
    }
    crate::fs::mount::check_writable(&dir)?;
    // Checked last, as Linux's `vfs_link`.
    if target.metadata().kind == InodeType::Dir {
        return_errno!(EPERM);
    }
    dir.link(name, &target)?;
    ret(0)
}

pub fn sys_link(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_linkat(ctx, AT_FDCWD, a[0], AT_FDCWD, a[1], 0)
}

pub fn sys_linkat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_linkat(ctx, a[0] as i32, a[1], a[2] as i32, a[3], a[4] as u32)
}

fn do_symlinkat(ctx: &mut SyscallContext, target: u64, dirfd: i32, path: u64) -> R {
    let target = read_path(ctx, target)?;
    let path = read_path(ctx, path)?;
    let (dir, name) = writable_parent(ctx, dirfd, &path)?;
    if dir.lookup(name).is_ok() {
        return_errno!(EEXIST);
    }
    crate::fs::mount::check_writable(&dir)?;
    let node = dir.symlink(name, &target)?;
    let cred = ctx.thread.credentials();
    let _ = node.set_owner(Some(cred.fsuid), Some(cred.fsgid));
    ret(0)
}

pub fn sys_symlink(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_symlinkat(ctx, a[0], AT_FDCWD, a[1])
}

pub fn sys_symlinkat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_symlinkat(ctx, a[0], a[1] as i32, a[2])
}

/// `chmod(2)`: the owner or `CAP_FOWNER`; the set-group-id bit is dropped
/// unless the caller is in the file's group or has `CAP_FSETID`.
fn chmod_inode(ctx: &SyscallContext, inode: &Arc<dyn Inode>, mode: u32) -> R {
    crate::fs::mount::check_writable(inode)?;
    let cred = ctx.thread.credentials();
    let meta = inode.metadata();
    if !cred.is_owner_or_capable(&meta) {
        return_errno!(EPERM);
    }
    let mut mode = mode & 0o7777;
    if !cred.in_group(meta.gid) && !cred.has_cap(g::CAP_FSETID) {
        mode &= !g::S_ISGID;
    }
    inode.set_mode(mode)?;
    ret(0)
}

pub fn sys_chmod(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = target_at(ctx, AT_FDCWD, a[0], 0)?;
    chmod_inode(ctx, &inode, a[1] as u32)
}

pub fn sys_fchmod(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = get_file(ctx, a[0] as i32)?
        .inode()
        .cloned()
        .ok_or(Error::new(EINVAL))?;
    chmod_inode(ctx, &inode, a[1] as u32)
}

pub fn sys_fchmodat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = target_at(ctx, a[0] as i32, a[1], 0)?;
    chmod_inode(ctx, &inode, a[2] as u32)
}

/// `fchmodat2(dirfd, path, mode, flags)`: `AT_SYMLINK_NOFOLLOW` and
/// `AT_EMPTY_PATH`; a symbolic link's mode cannot change on tmpfs
/// (`EOPNOTSUPP`, as Linux).
pub fn sys_fchmodat2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let flags = a[3] as u32;
    if flags & !(g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
        return_errno!(EINVAL);
    }
    let inode = target_at(ctx, a[0] as i32, a[1], flags)?;
    if inode.metadata().kind == InodeType::Symlink {
        return_errno!(EOPNOTSUPP);
    }
    chmod_inode(ctx, &inode, a[2] as u32)
}

fn chown_inode(ctx: &SyscallContext, inode: &Arc<dyn Inode>, uid: u32, gid: u32) -> R {
    crate::fs::mount::check_writable(inode)?;
    let cred = ctx.thread.credentials();
    let meta = inode.metadata();
    let uid = (uid != u32::MAX).then_some(uid);
    let gid = (gid != u32::MAX).then_some(gid);
    // Linux's `chown_ok` and `chgrp_ok`: the owner (by file-system uid)
    // may keep the owner and set the group to one of its own; anything
    // else needs `CAP_CHOWN`.
    if !cred.has_cap(g::CAP_CHOWN) {
        let owner = meta.uid == cred.fsuid;
        let ok_uid = uid.is_none_or(|u| owner && u == meta.uid);
        let ok_gid = gid.is_none_or(|g| owner && (g == meta.gid || cred.in_group(g)));
        if !ok_uid || !ok_gid {
            return_errno!(EPERM);
        }
    }
    inode.set_owner(uid, gid)?;
    ret(0)
}

pub fn sys_chown(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = target_at(ctx, AT_FDCWD, a[0], 0)?;
    chown_inode(ctx, &inode, a[1] as u32, a[2] as u32)
}

pub fn sys_lchown(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = target_at(ctx, AT_FDCWD, a[0], g::AT_SYMLINK_NOFOLLOW)?;
    chown_inode(ctx, &inode, a[1] as u32, a[2] as u32)
}

pub fn sys_fchown(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = get_file(ctx, a[0] as i32)?
        .inode()
        .cloned()
        .ok_or(Error::new(EINVAL))?;
    chown_inode(ctx, &inode, a[1] as u32, a[2] as u32)
}

pub fn sys_fchownat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = target_at(ctx, a[0] as i32, a[1], a[4] as u32)?;
    chown_inode(ctx, &inode, a[2] as u32, a[3] as u32)
}

pub fn sys_utimensat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let (dirfd, path, times, flags) = (a[0] as i32, a[1], a[2], a[3] as u32);
    if flags & !(g::AT_SYMLINK_NOFOLLOW | g::AT_EMPTY_PATH) != 0 {
        return_errno!(EINVAL);
    }
    let inode = target_at(
        ctx,
        dirfd,
        path,
        flags | if path == 0 { g::AT_EMPTY_PATH } else { 0 },
    )?;
    let now = ostd::timer::wall_clock();
    let (atime, mtime) = if times == 0 {
        (Some(now), Some(now))
    } else {
        let vmar = ctx.vmar();
        let conv = |ts: g::__kernel_timespec| -> Result<Option<Duration>> {
            match ts.tv_nsec {
                UTIME_NOW => Ok(Some(now)),
                UTIME_OMIT => Ok(None),
                n if (0..1_000_000_000).contains(&n) && ts.tv_sec >= 0 => {
                    Ok(Some(Duration::new(ts.tv_sec as u64, n as u32)))
                }
                _ => return_errno!(EINVAL),
            }
        };
        (
            conv(vmar.read_val(times)?)?,
            conv(vmar.read_val(times + 16)?)?,
        )
    };
    let explicit =
        times != 0 && (atime.is_some_and(|t| t != now) || mtime.is_some_and(|t| t != now));
    apply_times(ctx, &inode, atime, mtime, explicit)
}

/// Sets the times of `inode` (`None` keeps one) if the caller may:
/// setting them to given values (`explicit`) takes the owner (or root),
/// setting them to now also write permission.
fn apply_times(
    ctx: &SyscallContext,
    inode: &Arc<dyn Inode>,
    atime: Option<Duration>,
    mtime: Option<Duration>,
    explicit: bool,
) -> R {
    crate::fs::mount::check_writable(inode)?;
    let cred = ctx.thread.credentials();
    let meta = inode.metadata();
    if !cred.is_owner_or_capable(&meta) && (explicit || !cred.may_access(&meta, access::W)) {
        return_errno!(if explicit { EPERM } else { EACCES });
    }
    inode.set_times(atime, mtime)?;
    ret(0)
}

/// `utimes`/`futimesat`: a `struct timeval[2]` (`tv_usec` within a
/// second, else `EINVAL`) or now for both.
fn do_futimesat(ctx: &SyscallContext, dirfd: i32, path: u64, times: u64) -> R {
    let parsed = if times == 0 {
        None
    } else {
        let vmar = ctx.vmar();
        let conv = |tv: g::timeval| -> Result<Duration> {
            if !(0..1_000_000).contains(&tv.tv_usec) || tv.tv_sec < 0 {
                return_errno!(EINVAL);
            }
            Ok(Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000))
        };
        Some((
            conv(vmar.read_val(times)?)?,
            conv(vmar.read_val(times + 16)?)?,
        ))
    };
    // A null path names `dirfd` itself, as Linux's `do_utimes`.
    let inode = if path == 0 && dirfd != AT_FDCWD {
        get_file(ctx, dirfd)?
            .inode()
            .cloned()
            .ok_or(Error::new(EBADF))?
    } else {
        target_at(ctx, dirfd, path, 0)?
    };
    match parsed {
        Some((a, m)) => apply_times(ctx, &inode, Some(a), Some(m), true),
        None => {
            let now = ostd::timer::wall_clock();
            apply_times(ctx, &inode, Some(now), Some(now), false)
        }
    }
}

pub fn sys_utimes(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_futimesat(ctx, AT_FDCWD, a[0], a[1])
}

pub fn sys_futimesat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_futimesat(ctx, a[0] as i32, a[1], a[2])
}

/// `utime(path, struct utimbuf *)`: whole seconds, or now for both.
pub fn sys_utime(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let times = if a[1] == 0 {
        None
    } else {
        // struct utimbuf: actime, modtime.
        let vmar = ctx.vmar();
        let t: [i64; 2] = [vmar.read_val(a[1])?, vmar.read_val(a[1] + 8)?];
        Some(t.map(|s| Duration::from_secs(s.max(0) as u64)))
    };
    let inode = target_at(ctx, AT_FDCWD, a[0], 0)?;
    match times {
        Some([at, mt]) => apply_times(ctx, &inode, Some(at), Some(mt), true),
        None => {
            let now = ostd::timer::wall_clock();
            apply_times(ctx, &inode, Some(now), Some(now), false)
        }
    }
}

fn truncate_inode(ctx: &SyscallContext, inode: &Arc<dyn Inode>, len: u64) -> R {
    if (len as i64) < 0 {
        return_errno!(EINVAL);
    }
    match inode.metadata().kind {
        InodeType::Dir => return_errno!(EISDIR),
        InodeType::File => {}
        _ => return_errno!(EINVAL),
    }
    let _ = ctx;
    inode.resize(len)?;
    ret(0)
}

pub fn sys_truncate(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = target_at(ctx, AT_FDCWD, a[0], 0)?;
    // As Linux's `vfs_truncate`: the type, the mount, then permission.
    match inode.metadata().kind {
        InodeType::Dir => return_errno!(EISDIR),
        InodeType::File => {}
        _ => return_errno!(EINVAL),
    }
    crate::fs::mount::check_writable(&inode)?;
    if !ctx
        .thread
        .credentials()
        .may_access(&inode.metadata(), access::W)
    {
        return_errno!(EACCES);
    }
    truncate_inode(ctx, &inode, a[1])
}

pub fn sys_ftruncate(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, a[0] as i32)?;
    if file.status_flags() & g::O_ACCMODE == g::O_RDONLY {
        return_errno!(EINVAL);
    }
    let inode = file.inode().cloned().ok_or(Error::new(EINVAL))?;
    truncate_inode(ctx, &inode, a[1])
}

/// `fallocate(fd, mode, offset, len)` with the modes Linux's tmpfs has:
/// 0, `FALLOC_FL_KEEP_SIZE`, and `FALLOC_FL_PUNCH_HOLE` (with KEEP_SIZE).
pub fn sys_fallocate(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    const KEEP_SIZE: u32 = 1;
    const PUNCH_HOLE: u32 = 2;
    let (mode, offset, len) = (a[1] as u32, a[2] as i64, a[3] as i64);
    let file = get_file(ctx, a[0] as i32)?;
    // The checks in the order of Linux's `vfs_fallocate`.
    if offset < 0 || len <= 0 {
        return_errno!(EINVAL);
    }
    if mode & !(KEEP_SIZE | PUNCH_HOLE) != 0 || (mode & PUNCH_HOLE != 0 && mode & KEEP_SIZE == 0) {
        return_errno!(EOPNOTSUPP);
    }
    if file.status_flags() & g::O_ACCMODE == g::O_RDONLY || file.status_flags() & g::O_PATH != 0 {
        return_errno!(EBADF);
    }
    let inode = match file.inode() {
        Some(i) => i.clone(),
        None if file.metadata().kind == InodeType::Fifo => return_errno!(ESPIPE),
        None => return_errno!(ENODEV),
    };
    match inode.metadata().kind {
        InodeType::Fifo => return_errno!(ESPIPE),
        InodeType::Dir => return_errno!(EISDIR),
        InodeType::File => {}
        _ => return_errno!(ENODEV),
    }
    if (offset as u64)
        .checked_add(len as u64)
        .is_none_or(|e| e > i64::MAX as u64)
    {
        return_errno!(EFBIG);
    }
    inode.allocate(
        offset as u64,
        len as u64,
        mode & KEEP_SIZE != 0,
        mode & PUNCH_HOLE != 0,
    )?;
    ret(0)
}

pub fn sys_fsync(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    get_file(ctx, a[0] as i32)?;
    ret(0)
}

pub fn sys_sync(_ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(0)
}

pub fn sys_fchdir(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = get_file(ctx, a[0] as i32)?;
    let inode = file.inode().cloned().ok_or(Error::new(ENOTDIR))?;
    if inode.metadata().kind != InodeType::Dir {
        return_errno!(ENOTDIR);
    }
    let fs_ctx = ctx.process.fs();
    let mut fs = fs_ctx.lock();
    fs.cwd = inode;
    if let Some(p) = file.path() {
        fs.cwd_path = super::fs::normalize(&fs.cwd_path.clone(), &p);
    }
    ret(0)
}

/// `chroot(2)`: the path is looked up and must be a searchable directory
/// before `CAP_SYS_CHROOT` is checked, as Linux.
pub fn sys_chroot(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = target_at(ctx, AT_FDCWD, a[0], 0)?;
    let cred = ctx.thread.credentials();
    if inode.metadata().kind != InodeType::Dir {
        return_errno!(ENOTDIR);
    }
    if !cred.may_access(&inode.metadata(), access::X) {
        return_errno!(EACCES);
    }
    if !cred.has_cap(g::CAP_SYS_CHROOT) {
        return_errno!(EPERM);
    }
    ctx.process.fs().lock().root = inode;
    ret(0)
}

fn write_statfs(ctx: &SyscallContext, inode: &Arc<dyn Inode>, addr: u64) -> R {
    let flags = if inode.read_only() {
        u64::from(ST_RDONLY)
    } else {
        0
    };
    write_statfs_of(ctx, inode.fs_stats(), flags, addr)
}

/// `ST_RDONLY` in `f_flags`.
const ST_RDONLY: u32 = 1;

fn write_statfs_of(
    ctx: &SyscallContext,
    st: crate::fs::inode::FsStats,
    flags: u64,
    addr: u64,
) -> R {
    // struct statfs (x86-64): f_type, f_bsize, f_blocks, f_bfree, f_bavail,
    // f_files, f_ffree, f_fsid[2] (as 8 bytes), f_namelen, f_frsize,
    // f_flags, f_spare[4].
    let fields: [u64; 11] = [
        st.magic,
        4096,
        st.blocks,
        st.blocks_free,
        st.blocks_free,
        st.files,
        st.files_free,
        0,
        255,
        4096,
        flags,
    ];
    let mut buf = [0u8; 120];
    for (i, v) in fields.iter().enumerate() {
        buf[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    ctx.vmar().write_bytes(addr, &buf)?;
    ret(0)
}

pub fn sys_statfs(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = target_at(ctx, AT_FDCWD, a[0], 0)?;
    write_statfs(ctx, &inode, a[1])
}

/// `fstatfs(fd, buf)`: files without an inode of a file system report
/// the internal one Linux keeps them in (pipefs, sockfs, anon_inodefs).
pub fn sys_fstatfs(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    const ANON_INODE_FS_MAGIC: u64 = 0x0904_1934;
    let file = get_file(ctx, a[0] as i32)?;
    if let Some(inode) = file.inode() {
        return write_statfs(ctx, inode, a[1]);
    }
    let magic = match file.metadata().kind {
        InodeType::Fifo => u64::from(g::PIPEFS_MAGIC),
        InodeType::Socket => u64::from(g::SOCKFS_MAGIC),
        InodeType::CharDevice if file.metadata().dev == crate::fs::tty::pty::DEVPTS_DEV => {
            u64::from(g::DEVPTS_SUPER_MAGIC)
        }
        InodeType::CharDevice => u64::from(g::TMPFS_MAGIC),
        _ => ANON_INODE_FS_MAGIC,
    };
    write_statfs_of(ctx, crate::fs::inode::FsStats::pseudo(magic), 0, a[1])
}

/// Creates a new instance of file system `fstype`.
fn new_fs(fstype: &str, options: &str, read_only: &str) -> Result<Arc<dyn Inode>> {
    Ok(match fstype {
        "proc" => crate::fs::procfs::new_root(),
        "devtmpfs" | "devfs" => crate::fs::devfs::new_root(),
        "devpts" => crate::fs::devpts::root(),
        "tmpfs" | "ramfs" => {
            let root = crate::fs::ramfs::RamInode::new_root();
            root.fs().apply_options(options)?;
            root.fs().apply_options(read_only)?;
            // A tmpfs root is world-writable and sticky unless `mode=`.
            let mode = options
                .split(',')
                .find_map(|o| o.strip_prefix("mode="))
                .map(|m| u32::from_str_radix(m, 8).map_err(|_| Error::new(EINVAL)))
                .transpose()?
                .unwrap_or(0o1777);
            root.set_mode(mode)?;
            root
        }
        _ => return_errno!(ENODEV),
    })
}

pub fn sys_mount(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    const MS_RDONLY: u64 = 1;
    const MS_REMOUNT: u64 = 32;
    const MS_BIND: u64 = 4096;
    if !ctx.thread.credentials().has_cap(g::CAP_SYS_ADMIN) {
        return_errno!(EPERM);
    }
    let source = if a[0] != 0 {
        read_path(ctx, a[0])?
    } else {
        Vec::new()
    };
    let target_path = read_path(ctx, a[1])?;
    let flags = a[3];
    let target = target_at(ctx, AT_FDCWD, a[1], 0)?;
    if target.metadata().kind != InodeType::Dir {
        return_errno!(ENOTDIR);
    }
    let options = if a[4] != 0 {
        String::from_utf8_lossy(&ctx.vmar().read_cstring(a[4], 4095)?).into_owned()
    } else {
        String::new()
    };
    let read_only = if flags & MS_RDONLY != 0 { "ro" } else { "rw" };
    if flags & MS_REMOUNT != 0 {
        // New limits for a tmpfs, and read-only or not; other file systems
        // have nothing to change.
        if let Some(ram) = target.as_any().downcast_ref::<crate::fs::ramfs::RamInode>() {
            // Linux refuses to make a file system with files open for
            // writing read-only.
            if flags & MS_RDONLY != 0 && !target.read_only() && open_for_writing(ram.fs()) {
                return_errno!(EBUSY);
            }
            ram.fs().apply_options(&options)?;
            ram.fs().apply_options(read_only)?;
        }
        return ret(0);
    }
    let (root, fstype) = if flags & MS_BIND != 0 {
        (lookup_at(ctx, AT_FDCWD, &source, true)?, "none".to_string())
    } else {
        let fstype = String::from_utf8(read_path(ctx, a[2])?).map_err(|_| Error::new(ENODEV))?;
        (new_fs(&fstype, &options, read_only)?, fstype)
    };
    let cwd = ctx.process.fs().lock().cwd_path.clone();
    crate::fs::mount::mount(crate::fs::mount::Mount {
        mountpoint: target,
        root,
        source: String::from_utf8_lossy(&source).into_owned(),
        target: String::from_utf8_lossy(&super::fs::normalize(&cwd, &target_path)).into_owned(),
        fstype,
        id: 0,
    });
    ret(0)
}

/// Whether a regular file of the RAM file system `fs` is open for
/// writing in some process (Linux's writer count of a mount).
fn open_for_writing(fs: &Arc<crate::fs::ramfs::RamFs>) -> bool {
    crate::process::all_processes().iter().any(|p| {
        let table = p.files();
        let files = table.lock();
        files.iter().any(|(_, f)| {
            let fl = f.status_flags();
            fl & g::O_PATH == 0
                && fl & g::O_ACCMODE != g::O_RDONLY
                && f.inode()
                    .and_then(|i| i.as_any().downcast_ref::<crate::fs::ramfs::RamInode>())
                    .is_some_and(|r| Arc::ptr_eq(r.fs(), fs))
        })
    })
}

pub fn sys_umount2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if !ctx.thread.credentials().has_cap(g::CAP_SYS_ADMIN) {
        return_errno!(EPERM);
    }
    if a[1] & !0xf != 0 {
        return_errno!(EINVAL);
    }
    let root = target_at(ctx, AT_FDCWD, a[0], 0)?;
    crate::fs::mount::umount(&root)?;
    ret(0)
}

/// Where an `*xattr` call finds its inode.
#[derive(Clone, Copy)]
enum XattrTarget {
    /// A path, with the last symbolic link followed (`setxattr`) or not
    /// (`lsetxattr`).
    Path(u64, bool),
    /// A descriptor (`fsetxattr`).
    Fd(i32),
}

/// The inode an `*xattr` call names (`None` for a file without one, such
/// as a pipe, which keeps no attributes) and its metadata.
fn xattr_inode(
    ctx: &SyscallContext,
    target: XattrTarget,
) -> Result<(Option<Arc<dyn Inode>>, crate::fs::inode::Metadata)> {
    match target {
        XattrTarget::Path(addr, follow) => {
            let flags = if follow { 0 } else { g::AT_SYMLINK_NOFOLLOW };
            let inode = target_at(ctx, AT_FDCWD, addr, flags)?;
            let meta = inode.metadata();
            Ok((Some(inode), meta))
        }
        XattrTarget::Fd(fd) => {
            let file = get_file(ctx, fd)?;
            if file.status_flags() & g::O_PATH != 0 {
                return_errno!(EBADF);
            }
            Ok((file.inode().cloned(), file.metadata()))
        }
    }
}

/// Reads an attribute name: `ERANGE` if empty or longer than
/// `XATTR_NAME_MAX`.
fn read_xattr_name(ctx: &SyscallContext, addr: u64) -> Result<Vec<u8>> {
    let name = ctx
        .vmar()
        .read_cstring(addr, xattr::NAME_MAX)
        .map_err(|e| {
            if e.errno() == ENAMETOOLONG {
                Error::new(ERANGE)
            } else {
                e
            }
        })?;
    if name.is_empty() {
        return_errno!(ERANGE);
    }
    Ok(name)
}

/// `setxattr(path, name, value, size, flags)` and its `l`/`f` forms,
/// checked in Linux's order: flags, name, size, value, file, read-only
/// mount, permission, name space.
fn do_setxattr(ctx: &SyscallContext, target: XattrTarget, a: [u64; 6]) -> R {
    let (name_addr, value_addr, size, flags) = (a[1], a[2], a[3] as usize, a[4] as u32);
    if let XattrTarget::Fd(fd) = target {
        get_file(ctx, fd)?;
    }
    if flags & !(g::XATTR_CREATE | g::XATTR_REPLACE) != 0 {
        return_errno!(EINVAL);
    }
    let name = read_xattr_name(ctx, name_addr)?;
    if size > xattr::SIZE_MAX {
        return_errno!(E2BIG);
    }
    let mut value = Vec::new();
    value
        .try_reserve_exact(size)
        .map_err(|_| Error::new(ENOMEM))?;
    value.resize(size, 0);
    ctx.vmar().read_bytes(value_addr, &mut value)?;
    let (inode, meta) = xattr_inode(ctx, target)?;
    if let Some(i) = &inode {
        crate::fs::mount::check_writable(i)?;
    }
    xattr::check_access(&ctx.thread.credentials(), &meta, &name, true)?;
    let store = inode
        .as_ref()
        .and_then(|i| i.xattrs())
        .ok_or(Error::new(EOPNOTSUPP))?;
    let mode = xattr::SetMode {
        create: flags & g::XATTR_CREATE != 0,
        replace: flags & g::XATTR_REPLACE != 0,
    };
    store.set(&name, &value, mode)?;
    touch_ctime(inode.as_ref());
    ret(0)
}

/// `getxattr(path, name, value, size)`: size 0 asks for the length; a
/// smaller buffer is `ERANGE`.
fn do_getxattr(ctx: &SyscallContext, target: XattrTarget, a: [u64; 6]) -> R {
    let (name_addr, buf, size) = (a[1], a[2], a[3] as usize);
    if let XattrTarget::Fd(fd) = target {
        get_file(ctx, fd)?;
    }
    let name = read_xattr_name(ctx, name_addr)?;
    let (inode, meta) = xattr_inode(ctx, target)?;
    xattr::check_access(&ctx.thread.credentials(), &meta, &name, false)?;
    let store = inode
        .as_ref()
        .and_then(|i| i.xattrs())
        .ok_or(Error::new(EOPNOTSUPP))?;
    let value = store.get(&name)?;
    if size == 0 {
        return ret(value.len());
    }
    if value.len() > size.min(xattr::SIZE_MAX) {
        return_errno!(ERANGE);
    }
    ctx.vmar().write_bytes(buf, &value)?;
    ret(value.len())
}

/// `listxattr(path, list, size)`: the names, each ending in a NUL
/// (`trusted.*` only for privileged callers); size 0 asks for the length.
fn do_listxattr(ctx: &SyscallContext, target: XattrTarget, a: [u64; 6]) -> R {
    let (buf, size) = (a[1], a[2] as usize);
    let (inode, _) = xattr_inode(ctx, target)?;
    let privileged = xattr::privileged(&ctx.thread.credentials());
    let list = match inode.as_ref().and_then(|i| i.xattrs()) {
        Some(store) => store
            .list(|n| privileged || xattr::Namespace::of(n) != Some(xattr::Namespace::Trusted))?,
        None => Vec::new(),
    };
    if size == 0 {
        return ret(list.len());
    }
    if list.len() > size.min(xattr::LIST_MAX) {
        return_errno!(ERANGE);
    }
    ctx.vmar().write_bytes(buf, &list)?;
    ret(list.len())
}

/// `removexattr(path, name)`.
fn do_removexattr(ctx: &SyscallContext, target: XattrTarget, a: [u64; 6]) -> R {
    if let XattrTarget::Fd(fd) = target {
        get_file(ctx, fd)?;
    }
    let name = read_xattr_name(ctx, a[1])?;
    let (inode, meta) = xattr_inode(ctx, target)?;
    if let Some(i) = &inode {
        crate::fs::mount::check_writable(i)?;
    }
    xattr::check_access(&ctx.thread.credentials(), &meta, &name, true)?;
    let store = inode
        .as_ref()
        .and_then(|i| i.xattrs())
        .ok_or(Error::new(EOPNOTSUPP))?;
    store.remove(&name)?;
    touch_ctime(inode.as_ref());
    ret(0)
}

/// Sets the status-change time of `inode` to now (an attribute changed).
fn touch_ctime(inode: Option<&Arc<dyn Inode>>) {
    if let Some(i) = inode {
        // Both times kept: only ctime moves.
        let _ = i.set_times(None, None);
    }
}

pub fn sys_setxattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_setxattr(ctx, XattrTarget::Path(a[0], true), a)
}

pub fn sys_lsetxattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_setxattr(ctx, XattrTarget::Path(a[0], false), a)
}

pub fn sys_fsetxattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_setxattr(ctx, XattrTarget::Fd(a[0] as i32), a)
}

pub fn sys_getxattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_getxattr(ctx, XattrTarget::Path(a[0], true), a)
}

pub fn sys_lgetxattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_getxattr(ctx, XattrTarget::Path(a[0], false), a)
}

pub fn sys_fgetxattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_getxattr(ctx, XattrTarget::Fd(a[0] as i32), a)
}

pub fn sys_listxattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_listxattr(ctx, XattrTarget::Path(a[0], true), a)
}

pub fn sys_llistxattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_listxattr(ctx, XattrTarget::Path(a[0], false), a)
}

pub fn sys_flistxattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_listxattr(ctx, XattrTarget::Fd(a[0] as i32), a)
}

pub fn sys_removexattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_removexattr(ctx, XattrTarget::Path(a[0], true), a)
}

pub fn sys_lremovexattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_removexattr(ctx, XattrTarget::Path(a[0], false), a)
}

pub fn sys_fremovexattr(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_removexattr(ctx, XattrTarget::Fd(a[0] as i32), a)
}
