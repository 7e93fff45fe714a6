//! Memory syscalls: `brk`, `mmap`, `munmap`, `mprotect`, `mremap`,
//! `madvise`, `msync`, the `mlock` family, `mincore`, `memfd_create`.

use linux_raw_sys::general as g;

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use alloc::sync::Arc;

use crate::fs::file::FileLike;
use crate::fs::inode::InodeType;
use crate::vm::{
    ForkAdvice, MapOptions, PAGE_SIZE, Placement, Remap, VmLimits, VmPerms, Vmo, layout, page_up,
};

type R = Result<SyscallReturn>;

/// `RLIMIT_AS` and `RLIMIT_DATA` of the calling process, and whether it
/// may map below `mmap_min_addr` (`CAP_SYS_RAWIO`).
fn vm_limits(ctx: &SyscallContext) -> VmLimits {
    VmLimits {
        address_space: ctx.process.rlimit_cur(g::RLIMIT_AS),
        data: ctx.process.rlimit_cur(g::RLIMIT_DATA),
        low_addresses: ctx.thread.credentials().has_cap(g::CAP_SYS_RAWIO),
    }
}

pub fn sys_brk(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let limits = vm_limits(ctx);
    ret(ctx.vmar().set_brk(a[0], limits) as i64)
}

/// The flags `MAP_SHARED_VALIDATE` accepts (Linux's `LEGACY_MAP_MASK`;
/// `MAP_SYNC` needs a DAX file, which there is none of).
const LEGACY_MAP_MASK: u32 = g::MAP_SHARED
    | g::MAP_PRIVATE
    | g::MAP_FIXED
    | g::MAP_ANONYMOUS
    | g::MAP_DENYWRITE
    | g::MAP_EXECUTABLE
    | g::MAP_UNINITIALIZED
    | g::MAP_GROWSDOWN
    | g::MAP_LOCKED
    | g::MAP_NORESERVE
    | g::MAP_POPULATE
    | g::MAP_NONBLOCK
    | g::MAP_STACK
    | g::MAP_HUGETLB
    | g::MAP_32BIT
    | (g::MAP_HUGE_MASK << g::MAP_HUGE_SHIFT);

/// The end of the range `MAP_32BIT` places mappings in.
const LOW_2GIB_END: u64 = 0x8000_0000;

/// `mmap`, checking its arguments in Linux's order (`ksys_mmap_pgoff`,
/// `do_mmap`): the offset's alignment, the descriptor, the length, the
/// address, then the file and the map type.
pub fn sys_mmap(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (addr, len, prot, flags, fd, off) =
        (a[0], a[1], a[2] as u32, a[3] as u32, a[4] as i32, a[5]);
    if !off.is_multiple_of(PAGE_SIZE) {
        return_errno!(EINVAL);
    }
    let anonymous = flags & g::MAP_ANONYMOUS != 0;
    let file = if anonymous {
        None
    } else {
        Some(super::fs::get_file(ctx, fd)?)
    };
    if len == 0 {
        return_errno!(EINVAL);
    }
    // Rounded up, the length must fit in user space.
    if len > layout::USER_END {
        return_errno!(ENOMEM);
    }
    // A hint above the second gigabyte does not fit MAP_32BIT.
    let low = flags & g::MAP_32BIT != 0 && (addr == 0 || addr >= LOW_2GIB_END);
    let placement = if flags & g::MAP_FIXED != 0 {
        Placement::Fixed(addr)
    } else if flags & g::MAP_FIXED_NOREPLACE != 0 {
        Placement::FixedNoReplace(addr)
    } else if low {
        Placement::Low2GiB
    } else if addr != 0 {
        Placement::Hint(addr)
    } else {
        Placement::Anywhere
    };
    let map_type = flags & g::MAP_TYPE;
    let Backing {
        shared,
        object: backing,
        anonymous: anonymous_memory,
    } = match &file {
        Some(file) => file_backing(file, map_type, flags, prot, off, len)?,
        None => match map_type {
            // Shared memory cannot grow down (Linux: EINVAL).
            g::MAP_SHARED if flags & g::MAP_GROWSDOWN != 0 => return_errno!(EINVAL),
            g::MAP_SHARED => Backing::new_shared_anonymous(),
            g::MAP_PRIVATE => Backing::PRIVATE_ANONYMOUS,
            _ => return_errno!(EINVAL),
        },
    };
    // Linux's heuristic overcommit for memory it would account: private
    // writable mappings and shared anonymous ones, unless MAP_NORESERVE.
    let accountable = (!shared && prot & g::PROT_WRITE != 0) || (shared && anonymous_memory);
    if accountable && flags & g::MAP_NORESERVE == 0 {
        crate::vm::oom::check_commit(len)?;
    }
    let name = file
        .as_ref()
        .and_then(|f| crate::fs::procfs::map_name(ctx.process, f));
    let limits = vm_limits(ctx);
    let vmar = ctx.vmar();
    let start = vmar.map_placed(
        MapOptions {
            len,
            perms: VmPerms::from_prot(prot as u64),
            shared,
            backing,
            addr: None,
        },
        placement,
        limits,
    )?;
    if let Some(name) = name {
        vmar.name_region(start, len, name);
    }
    if flags & g::MAP_LOCKED != 0 || vmar.locks_future() {
        // Locked memory is resident; past the lock limit the mapping
        // fails with EAGAIN (Linux's `mlock_future_ok`).
        let limit = if may_lock_unlimited(ctx) {
            None
        } else {
            Some(ctx.process.rlimit_cur(g::RLIMIT_MEMLOCK))
        };
        if let Err(e) = vmar.lock_range(start, start + page_up(len), true, true, limit) {
            let _ = vmar.unmap(start, len);
            return Err(if e.errno() == ENOMEM && limit.is_some() {
                Error::new(EAGAIN)
            } else {
                e
            });
        }
    } else if flags & g::MAP_POPULATE != 0
        && let Err(e) = vmar.populate(start, len, prot & g::PROT_WRITE != 0)
    {
        let _ = vmar.unmap(start, len);
        return Err(e);
    }
    ret(start as i64)
}

/// What a mapping maps.
struct Backing {
    /// `MAP_SHARED`.
    shared: bool,
    /// The memory object and the offset in it (none: private anonymous).
    object: Option<(Arc<Vmo>, u64)>,
    /// Anonymous memory (not a file's).
    anonymous: bool,
}

impl Backing {
    const PRIVATE_ANONYMOUS: Backing = Backing {
        shared: false,
        object: None,
        anonymous: true,
    };

    fn new_shared_anonymous() -> Backing {
        Backing {
            shared: true,
            object: Some((Arc::new(Vmo::new()), 0)),
            anonymous: true,
        }
    }
}

/// What a mapping of `file` maps. `EOVERFLOW` if the offset and length pass the
/// largest offset (Linux's `file_mmap_ok`); the map type (`EINVAL`),
/// `MAP_SHARED_VALIDATE`'s flags (`EOPNOTSUPP`) and the access mode
/// (`EACCES`) as `do_mmap` checks them. `/dev/zero` gives anonymous memory:
/// private, or a new shared object.
fn file_backing(
    file: &Arc<dyn FileLike>,
    map_type: u32,
    flags: u32,
    prot: u32,
    off: u64,
    len: u64,
) -> Result<Backing> {
    let meta = file.inode().map(|i| i.metadata());
    let regular = meta.as_ref().is_some_and(|m| m.kind == InodeType::File);
    let max_offset = if regular { i64::MAX as u64 } else { u64::MAX };
    let len = page_up(len);
    if len > max_offset || off / PAGE_SIZE > (max_offset - len) / PAGE_SIZE {
        return_errno!(EOVERFLOW);
    }
    let shared = match map_type {
        g::MAP_SHARED => true,
        g::MAP_SHARED_VALIDATE => {
            if flags & !LEGACY_MAP_MASK != 0 {
                return_errno!(EOPNOTSUPP);
            }
            true
        }
        g::MAP_PRIVATE => false,
        _ => return_errno!(EINVAL),
    };
    let acc = file.status_flags() & g::O_ACCMODE;
    if acc == g::O_WRONLY || (shared && prot & g::PROT_WRITE != 0 && acc != g::O_RDWR) {
        return_errno!(EACCES);
    }
    let dev_zero = meta.as_ref().is_some_and(|m| {
        m.kind == InodeType::CharDevice && m.rdev == crate::fs::devfs::encode_dev(1, 5)
    });
    if dev_zero {
        return Ok(if shared {
            Backing::new_shared_anonymous()
        } else {
            Backing::PRIVATE_ANONYMOUS
        });
    }
    let vmo = file
        .inode()
        .and_then(|i| i.vmo())
        .ok_or(Error::new(ENODEV))?;
    Ok(Backing {
        shared,
        object: Some((vmo, off)),
        anonymous: false,
    })
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
    let limits = vm_limits(ctx);
    ctx.vmar()
        .protect(a[0], a[1], VmPerms::from_prot(prot as u64 & 7), limits)?;
    ret(0)
}

/// `mremap(addr, old_len, new_len, flags, new_addr)`: `MREMAP_FIXED` and
/// `MREMAP_DONTUNMAP` need `MREMAP_MAYMOVE`, and `MREMAP_DONTUNMAP` keeps
/// the size (Linux 5.7+).
pub fn sys_mremap(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (old, old_len, new_len, flags, new_addr) = (a[0], a[1], a[2], a[3] as u32, a[4]);
    let may_move = flags & g::MREMAP_MAYMOVE != 0;
    let fixed = flags & g::MREMAP_FIXED != 0;
    let dont_unmap = flags & g::MREMAP_DONTUNMAP != 0;
    if flags & !(g::MREMAP_MAYMOVE | g::MREMAP_FIXED | g::MREMAP_DONTUNMAP) != 0
        || (fixed && !may_move)
        || (dont_unmap && (!may_move || old_len != new_len))
    {
        return_errno!(EINVAL);
    }
    let how = Remap {
        may_move,
        to: fixed.then_some(new_addr),
        dont_unmap,
    };
    let limits = vm_limits(ctx);
    ret(ctx.vmar().remap(old, old_len, new_len, how, limits)? as i64)
}

/// `madvise(addr, len, advice)`, checked as Linux's `do_madvise`: the
/// advice, the alignment, the length, then `ENOMEM` for unmapped parts.
/// `MADV_DONTNEED` drops the pages, `MADV_REMOVE` frees shared memory,
/// the fork advice marks regions, `MADV_POPULATE_*` faults pages in; the
/// other advice is a hint, accepted and ignored.
pub fn sys_madvise(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (start, len_in, advice) = (a[0], a[1], a[2] as u32);
    let known = matches!(
        advice,
        g::MADV_NORMAL..=g::MADV_DONTNEED | g::MADV_FREE..=g::MADV_COLLAPSE
    );
    if !known || !start.is_multiple_of(PAGE_SIZE) {
        return_errno!(EINVAL);
    }
    let len = len_in.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    if len_in != 0 && len == 0 {
        return_errno!(EINVAL);
    }
    let end = start.checked_add(len).ok_or(Error::new(EINVAL))?;
    if end == start {
        return ret(0);
    }
    let vmar = ctx.vmar();
    let fork_advice = |a| vmar.advise_fork(start, end, a);
    match advice {
        g::MADV_DONTNEED | g::MADV_DONTNEED_LOCKED => vmar.discard_pages(start, end)?,
        g::MADV_REMOVE => vmar.remove_backing(start, end)?,
        g::MADV_DONTFORK => fork_advice(ForkAdvice::DontFork)?,
        g::MADV_DOFORK => fork_advice(ForkAdvice::DoFork)?,
        g::MADV_WIPEONFORK => fork_advice(ForkAdvice::WipeOnFork)?,
        g::MADV_KEEPONFORK => fork_advice(ForkAdvice::KeepOnFork)?,
        g::MADV_POPULATE_READ | g::MADV_POPULATE_WRITE => {
            if !vmar.is_mapped(start, end - start) {
                return_errno!(ENOMEM);
            }
            vmar.populate(start, end - start, advice == g::MADV_POPULATE_WRITE)?;
        }
        _ => {
            if !vmar.is_mapped(start, end - start) {
                return_errno!(ENOMEM);
            }
        }
    }
    ret(0)
}

/// `msync(addr, len, flags)`: the flags and alignment are checked first
/// (`EINVAL`), then the range (`ENOMEM` if it wraps or is partly
/// unmapped; `EBUSY` for `MS_INVALIDATE` over locked memory). Shared file
/// mappings map the file's own pages, so what is written through them is
/// already the file's contents.
pub fn sys_msync(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (start, len, flags) = (a[0], a[1], a[2] as u32);
    if flags & !(g::MS_ASYNC | g::MS_INVALIDATE | g::MS_SYNC) != 0
        || !start.is_multiple_of(PAGE_SIZE)
        || (flags & g::MS_ASYNC != 0 && flags & g::MS_SYNC != 0)
    {
        return_errno!(EINVAL);
    }
    let len = len.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    let end = start.checked_add(len).ok_or(Error::new(ENOMEM))?;
    if end == start {
        return ret(0);
    }
    ctx.vmar()
        .sync_range(start, end, flags & g::MS_INVALIDATE != 0)?;
    ret(0)
}

/// Whether the caller may lock memory without `RLIMIT_MEMLOCK`.
fn may_lock_unlimited(ctx: &SyscallContext) -> bool {
    crate::process::rlimit::may_lock_memory(&ctx.thread.credentials())
}

/// The memory-lock limit of the caller: `None` if privileged; `EPERM` if
/// it is 0 (Linux's `can_do_mlock`).
fn lock_limit(ctx: &SyscallContext) -> Result<Option<u64>> {
    if may_lock_unlimited(ctx) {
        return Ok(None);
    }
    let limit = ctx.process.rlimit_cur(g::RLIMIT_MEMLOCK);
    if limit == 0 {
        return_errno!(EPERM);
    }
    Ok(Some(limit))
}

/// The page span of `mlock`-style `(addr, len)`: the start rounded down
/// and the length rounded up to cover it, as Linux computes them (a huge
/// length wraps).
fn lock_span(addr: u64, len: u64) -> (u64, u64) {
    let start = addr & !(PAGE_SIZE - 1);
    let len = len.wrapping_add(addr - start).wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    (start, len)
}

fn do_mlock(ctx: &SyscallContext, addr: u64, len: u64, populate: bool) -> R {
    let limit = lock_limit(ctx)?;
    let (start, len) = lock_span(addr, len);
    // Past the limit is ENOMEM before a wrapping range is EINVAL.
    if let Some(limit) = limit
        && len > limit
    {
        return_errno!(ENOMEM);
    }
    let end = start.checked_add(len).ok_or(Error::new(EINVAL))?;
    if start == end {
        return ret(0);
    }
    ctx.vmar().lock_range(start, end, true, populate, limit)?;
    ret(0)
}

pub fn sys_mlock(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_mlock(ctx, a[0], a[1], true)
}

/// `mlock2(addr, len, flags)`: `MLOCK_ONFAULT` locks pages as they are
/// faulted in instead of now.
pub fn sys_mlock2(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let flags = a[2] as u32;
    if flags & !g::MLOCK_ONFAULT != 0 {
        return_errno!(EINVAL);
    }
    do_mlock(ctx, a[0], a[1], flags & g::MLOCK_ONFAULT == 0)
}

pub fn sys_munlock(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (start, len) = lock_span(a[0], a[1]);
    let end = start.checked_add(len).ok_or(Error::new(EINVAL))?;
    if start == end {
        return ret(0);
    }
    ctx.vmar().lock_range(start, end, false, false, None)?;
    ret(0)
}

/// `mlockall(flags)`: `MCL_CURRENT` and/or `MCL_FUTURE`, optionally
/// `MCL_ONFAULT` (not alone).
pub fn sys_mlockall(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let flags = a[0] as u32;
    let all = g::MCL_CURRENT | g::MCL_FUTURE | g::MCL_ONFAULT;
    if flags == 0 || flags & !all != 0 || flags == g::MCL_ONFAULT {
        return_errno!(EINVAL);
    }
    let limit = lock_limit(ctx)?;
    ctx.vmar().lock_all(
        flags & g::MCL_CURRENT != 0,
        flags & g::MCL_FUTURE != 0,
        flags & g::MCL_ONFAULT == 0,
        limit,
    )?;
    ret(0)
}

pub fn sys_munlockall(ctx: &mut SyscallContext, _a: [u64; 6]) -> R {
    ctx.vmar().lock_all(false, false, false, None)?;
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
