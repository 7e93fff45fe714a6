//! Syscalls that change the directory tree or file attributes: `mkdir`,
//! `mknod`, `unlink`, `rename`, `link`, `symlink`, `chmod`, `chown`,
//! `utimensat`, `truncate`, `chdir`/`fchdir`/`chroot`, `statfs`, `mount`.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use core::time::Duration;

use linux_raw_sys::general as g;

use super::fs::{AT_FDCWD, dirfd_inode, get_file, read_path};
use super::{SyscallContext, SyscallReturn, ret};
use crate::fs::inode::{Inode, InodeType};
use crate::prelude::*;
use crate::process::credentials::access;

type R = Result<SyscallReturn>;

/// Resolves the parent directory of `path` and checks that the caller may
/// add or remove entries in it.
fn writable_parent<'p>(
    ctx: &SyscallContext,
    dirfd: i32,
    path: &'p str,
) -> Result<(Arc<dyn Inode>, &'p str)> {
    let start = dirfd_inode(ctx, dirfd, path)?;
    let fs = ctx.process.fs().lock().clone();
    let (dir, name) = fs.lookup_parent(start.as_ref(), path)?;
    if !ctx
        .process
        .credentials()
        .may_access(&dir.metadata(), access::W | access::X)
    {
        return_errno!(EACCES);
    }
    Ok((dir, name))
}

fn umask(ctx: &SyscallContext) -> u32 {
    ctx.process.fs().lock().umask
}

fn lookup_at(ctx: &SyscallContext, dirfd: i32, path: &str, follow: bool) -> Result<Arc<dyn Inode>> {
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
        String::new()
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
    let path = read_path(ctx, path_addr)?;
    let (dir, name) = writable_parent(ctx, dirfd, &path)?;
    if name == "." || name == ".." {
        return_errno!(EEXIST);
    }
    if dir.lookup(name).is_ok() {
        return_errno!(EEXIST);
    }
    if kind != InodeType::Dir && path.ends_with('/') {
        return_errno!(ENOENT);
    }
    let node = dir.create(name, kind, mode & !umask(ctx) & 0o7777)?;
    let cred = ctx.process.credentials();
    let _ = node.set_owner(Some(cred.euid), Some(cred.egid));
    ret(0)
}

pub fn sys_mkdir(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    new_entry(ctx, AT_FDCWD, a[0], InodeType::Dir, a[1] as u32)
}

pub fn sys_mkdirat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    new_entry(ctx, a[0] as i32, a[1], InodeType::Dir, a[2] as u32)
}

fn do_mknod(ctx: &mut SyscallContext, dirfd: i32, path: u64, mode: u32) -> R {
    let kind = match mode & g::S_IFMT {
        0 | g::S_IFREG => InodeType::File,
        g::S_IFIFO => InodeType::Fifo,
        g::S_IFSOCK => InodeType::Socket,
        g::S_IFCHR | g::S_IFBLK => {
            return_errno_with_message!(EPERM, "device nodes are provided by devfs")
        }
        g::S_IFDIR => return_errno!(EPERM),
        _ => return_errno!(EINVAL),
    };
    new_entry(ctx, dirfd, path, kind, mode)
}

pub fn sys_mknod(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_mknod(ctx, AT_FDCWD, a[0], a[1] as u32)
}

pub fn sys_mknodat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_mknod(ctx, a[0] as i32, a[1], a[2] as u32)
}

fn do_unlinkat(ctx: &mut SyscallContext, dirfd: i32, path_addr: u64, flags: u32) -> R {
    if flags & !g::AT_REMOVEDIR != 0 {
        return_errno!(EINVAL);
    }
    let path = read_path(ctx, path_addr)?;
    let (dir, name) = writable_parent(ctx, dirfd, &path)?;
    if flags & g::AT_REMOVEDIR != 0 {
        if name == "." {
            return_errno!(EINVAL);
        }
        dir.rmdir(name)?;
    } else {
        if path.ends_with('/') {
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
    const RENAME_NOREPLACE: u32 = 1;
    if flags & !RENAME_NOREPLACE != 0 {
        return_errno!(EINVAL);
    }
    let (old_path, new_path) = (read_path(ctx, old)?, read_path(ctx, new)?);
    let (odir, oname) = writable_parent(ctx, olddir, &old_path)?;
    let (ndir, nname) = writable_parent(ctx, newdir, &new_path)?;
    let node = odir.lookup(oname)?;
    if flags & RENAME_NOREPLACE != 0 && ndir.lookup(nname).is_ok() {
        return_errno!(EEXIST);
    }
    if (old_path.ends_with('/') || new_path.ends_with('/'))
        && node.metadata().kind != InodeType::Dir
    {
        return_errno!(ENOTDIR);
    }
    if odir.metadata().dev != ndir.metadata().dev {
        return_errno!(EXDEV);
    }
    odir.rename(oname, &ndir, nname)?;
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
    if target.metadata().kind == InodeType::Dir {
        return_errno!(EPERM);
    }
    let new_path = read_path(ctx, new)?;
    let (dir, name) = writable_parent(ctx, newdir, &new_path)?;
    if dir.lookup(name).is_ok() {
        return_errno!(EEXIST);
    }
    if dir.metadata().dev != target.metadata().dev {
        return_errno!(EXDEV);
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
    dir.symlink(name, &target)?;
    ret(0)
}

pub fn sys_symlink(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_symlinkat(ctx, a[0], AT_FDCWD, a[1])
}

pub fn sys_symlinkat(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_symlinkat(ctx, a[0], a[1] as i32, a[2])
}

fn chmod_inode(ctx: &SyscallContext, inode: &Arc<dyn Inode>, mode: u32) -> R {
    if !ctx
        .process
        .credentials()
        .is_owner_or_root(&inode.metadata())
    {
        return_errno!(EPERM);
    }
    inode.set_mode(mode & 0o7777)?;
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

fn chown_inode(ctx: &SyscallContext, inode: &Arc<dyn Inode>, uid: u32, gid: u32) -> R {
    let cred = ctx.process.credentials();
    let meta = inode.metadata();
    let uid = (uid != u32::MAX).then_some(uid);
    let gid = (gid != u32::MAX).then_some(gid);
    if cred.euid != 0 {
        // An owner may only change the group to one of its own.
        let ok_uid = uid.is_none_or(|u| u == meta.uid);
        let ok_gid = gid.is_none_or(|g| g == cred.egid || cred.groups.contains(&g));
        if meta.uid != cred.euid || !ok_uid || !ok_gid {
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
    let cred = ctx.process.credentials();
    let meta = inode.metadata();
    let explicit =
        times != 0 && (atime.is_some_and(|t| t != now) || mtime.is_some_and(|t| t != now));
    if !cred.is_owner_or_root(&meta) && (explicit || !cred.may_access(&meta, access::W)) {
        return_errno!(if explicit { EPERM } else { EACCES });
    }
    inode.set_times(atime, mtime)?;
    ret(0)
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
    if !ctx
        .process
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

pub fn sys_chroot(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if ctx.process.credentials().euid != 0 {
        return_errno!(EPERM);
    }
    let inode = target_at(ctx, AT_FDCWD, a[0], 0)?;
    if inode.metadata().kind != InodeType::Dir {
        return_errno!(ENOTDIR);
    }
    ctx.process.fs().lock().root = inode;
    ret(0)
}

fn write_statfs(ctx: &SyscallContext, inode: &Arc<dyn Inode>, addr: u64) -> R {
    let st = inode.fs_stats();
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
        0,
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

pub fn sys_fstatfs(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let inode = get_file(ctx, a[0] as i32)?
        .inode()
        .cloned()
        .ok_or(Error::new(ENOSYS))?;
    write_statfs(ctx, &inode, a[1])
}

/// Creates a new instance of file system `fstype`.
fn new_fs(fstype: &str, options: &str) -> Result<Arc<dyn Inode>> {
    Ok(match fstype {
        "proc" => crate::fs::procfs::new_root(),
        "devtmpfs" | "devfs" => crate::fs::devfs::new_root(),
        "devpts" => crate::fs::devpts::root(),
        "sysfs" => crate::fs::sysfs::new_root(),
        "tmpfs" | "ramfs" => {
            let root = crate::fs::ramfs::RamInode::new_root();
            root.fs().apply_options(options)?;
            root
        }
        _ => return_errno!(ENODEV),
    })
}

pub fn sys_mount(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    const MS_REMOUNT: u64 = 32;
    const MS_BIND: u64 = 4096;
    if ctx.process.credentials().euid != 0 {
        return_errno!(EPERM);
    }
    let source = if a[0] != 0 {
        read_path(ctx, a[0])?
    } else {
        String::new()
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
    if flags & MS_REMOUNT != 0 {
        // New limits for a tmpfs; other file systems have nothing to change.
        if let Some(ram) = target.as_any().downcast_ref::<crate::fs::ramfs::RamInode>() {
            ram.fs().apply_options(&options)?;
        }
        return ret(0);
    }
    let (root, fstype) = if flags & MS_BIND != 0 {
        (lookup_at(ctx, AT_FDCWD, &source, true)?, "none".to_string())
    } else {
        let fstype = read_path(ctx, a[2])?;
        (new_fs(&fstype, &options)?, fstype)
    };
    let cwd = ctx.process.fs().lock().cwd_path.clone();
    crate::fs::mount::mount(crate::fs::mount::Mount {
        mountpoint: target,
        root,
        source,
        target: super::fs::normalize(&cwd, &target_path),
        fstype,
    });
    ret(0)
}

pub fn sys_umount2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    if ctx.process.credentials().euid != 0 {
        return_errno!(EPERM);
    }
    if a[1] & !0xf != 0 {
        return_errno!(EINVAL);
    }
    let root = target_at(ctx, AT_FDCWD, a[0], 0)?;
    crate::fs::mount::umount(&root)?;
    ret(0)
}
