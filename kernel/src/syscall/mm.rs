//! Memory syscalls: `brk`, `mmap`, `munmap`, `mprotect`, `mremap`.

use linux_raw_sys::general as g;

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use crate::vm::{MapOptions, VmPerms, layout};

type R = Result<SyscallReturn>;

pub fn sys_brk(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    ret(ctx.vmar().set_brk(a[0]) as i64)
}

pub fn sys_mmap(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (addr, len, prot, flags, fd, off) =
        (a[0], a[1], a[2] as u32, a[3] as u32, a[4] as i32, a[5]);
    let map_type = flags & 0xf;
    let shared = match map_type {
        g::MAP_SHARED | g::MAP_SHARED_VALIDATE => true,
        g::MAP_PRIVATE => false,
        _ => return_errno!(EINVAL),
    };
    if len == 0 || off % 4096 != 0 {
        return_errno!(EINVAL);
    }
    if prot & !(g::PROT_READ | g::PROT_WRITE | g::PROT_EXEC | g::PROT_SEM) != 0 {
        return_errno!(EINVAL);
    }
    let fixed = flags & (g::MAP_FIXED | g::MAP_FIXED_NOREPLACE) != 0;
    if fixed && addr % 4096 != 0 {
        return_errno!(EINVAL);
    }
    let vmar = ctx.vmar();
    if flags & g::MAP_FIXED_NOREPLACE != 0 && flags & g::MAP_FIXED == 0 && vmar.overlaps(addr, len)
    {
        return_errno!(EEXIST);
    }
    let mut name = None;
    let backing = if flags & g::MAP_ANONYMOUS != 0 {
        shared.then(|| (alloc::sync::Arc::new(crate::vm::Vmo::new()), 0))
    } else {
        let file = super::fs::get_file(ctx, fd)?;
        let acc = file.status_flags() & g::O_ACCMODE;
        if acc == g::O_WRONLY || (shared && prot & g::PROT_WRITE != 0 && acc != g::O_RDWR) {
            return_errno!(EACCES);
        }
        let vmo = file
            .inode()
            .and_then(|i| i.vmo())
            .ok_or(Error::new(ENODEV))?;
        name = crate::fs::procfs::map_name(ctx.process, &file);
        Some((vmo, off))
    };
    // Linux's heuristic overcommit for memory it would account: private
    // writable mappings and shared anonymous ones, unless MAP_NORESERVE.
    let anonymous = flags & g::MAP_ANONYMOUS != 0;
    let accountable = (!shared && prot & g::PROT_WRITE != 0) || (shared && anonymous);
    if accountable && flags & g::MAP_NORESERVE == 0 {
        crate::vm::oom::check_commit(len)?;
    }
    let start = vmar.map(MapOptions {
        len,
        perms: VmPerms::from_prot(prot as u64),
        shared,
        backing,
        addr: Some((addr, fixed)),
    })?;
    if let Some(name) = name {
        vmar.name_region(start, len, name);
    }
    if flags & g::MAP_POPULATE != 0
        && let Err(e) = vmar.populate(start, len, prot & g::PROT_WRITE != 0)
    {
        let _ = vmar.unmap(start, len);
        return Err(e);
    }
    ret(start as i64)
}

pub fn sys_munmap(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    ctx.vmar().unmap(a[0], a[1])?;
    ret(0)
}

pub fn sys_mprotect(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let prot = a[2] as u32;
    if prot
        & !(g::PROT_READ
            | g::PROT_WRITE
            | g::PROT_EXEC
            | g::PROT_SEM
            | g::PROT_GROWSDOWN
            | g::PROT_GROWSUP)
        != 0
    {
        return_errno!(EINVAL);
    }
    if a[0] >= layout::USER_END {
        return_errno!(ENOMEM);
    }
    ctx.vmar()
        .protect(a[0], a[1], VmPerms::from_prot(prot as u64 & 7))?;
    ret(0)
}

pub fn sys_mremap(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let flags = a[3] as u32;
    if flags & !(g::MREMAP_MAYMOVE | g::MREMAP_FIXED | g::MREMAP_DONTUNMAP) != 0
        || flags & g::MREMAP_FIXED != 0
    {
        return_errno!(EINVAL);
    }
    ret(ctx
        .vmar()
        .remap(a[0], a[1], a[2], flags & g::MREMAP_MAYMOVE != 0)? as i64)
}

pub fn sys_madvise(_ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ret(0)
}

pub fn sys_mincore(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (addr, len, vec) = (a[0], a[1], a[2]);
    if addr % 4096 != 0 {
        return_errno!(EINVAL);
    }
    let end = addr
        .checked_add(len.next_multiple_of(4096))
        .filter(|&e| e <= layout::USER_END)
        .ok_or(Error::new(ENOMEM))?;
    let vmar = ctx.vmar();
    if !vmar.is_mapped(addr, end - addr) {
        return_errno!(ENOMEM);
    }
    // A window at a time: the range may cover terabytes.
    const WINDOW: u64 = 4096 * 4096;
    let mut at = addr;
    while at < end {
        let n = (end - at).min(WINDOW);
        let v = vmar.residency(at, n)?;
        vmar.write_bytes(vec + (at - addr) / 4096, &v)?;
        at += n;
        if at < end && ctx.thread.fatal_signal_pending() {
            return_errno!(EINTR);
        }
    }
    ret(0)
}

pub fn sys_memfd_create(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    use crate::fs::memfd::{self, mfd};
    let (name_addr, flags) = (a[0], a[1] as u32);
    let known = mfd::MFD_CLOEXEC
        | mfd::MFD_ALLOW_SEALING
        | mfd::MFD_HUGETLB
        | mfd::MFD_NOEXEC_SEAL
        | mfd::MFD_EXEC;
    // With MFD_HUGETLB, bits 26-31 may give the page size.
    let allowed = if flags & mfd::MFD_HUGETLB != 0 {
        known | (0x3f << 26)
    } else {
        known
    };
    if flags & !allowed != 0 {
        return_errno!(EINVAL);
    }
    if flags & mfd::MFD_EXEC != 0 && flags & mfd::MFD_NOEXEC_SEAL != 0 {
        return_errno!(EINVAL);
    }
    let name = ctx
        .vmar()
        .read_cstring(name_addr, memfd::NAME_MAX)
        .map_err(|e| {
            if e.errno() == ENAMETOOLONG {
                Error::new(EINVAL)
            } else {
                e
            }
        })?;
    let name = memfd::name_from_bytes(&name)?;
    if flags & mfd::MFD_HUGETLB != 0 {
        return_errno_with_message!(EINVAL, "huge pages are not supported");
    }
    let file = memfd::create(&name, flags)?;
    let cloexec = flags & mfd::MFD_CLOEXEC != 0;
    ret(ctx.process.files().lock().insert(file, cloexec)?)
}
