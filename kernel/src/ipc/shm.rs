//! Shared memory segments: `shmget`, `shmat`, `shmdt`, `shmctl` (Linux's
//! `ipc/shm.c`).
//!
//! A segment's memory is a [`Vmo`], mapped shared into each address space
//! that attaches it; its pages are allocated on first touch like any user
//! memory. Each region of an address space mapping a segment holds a
//! [`ShmAttachment`]: made by `shmat`, cloned with the region (when `fork`
//! copies it or `mprotect`/`munmap` split it) and dropped with it (at
//! `shmdt`, `munmap`, `execve` or exit). The segment counts these as its
//! attachments (`shm_nattch`, as Linux counts its regions), and a segment
//! removed with `IPC_RMID` while attached is destroyed at its last detach.
//!
//! The table is under a spin lock, as attachments come and go wherever a
//! region is dropped (possibly under other spin locks). Nothing under it
//! sleeps, and a segment's memory is freed only after it is released.

use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use super::ids::{IpcIds, IpcObject, KeyLookup};
use super::perm::{IpcPerm, READ};
use super::uapi::{
    Ipc64Perm, SHM_DEST, SHM_HUGETLB, SHM_LOCKED, SHM_NORESERVE, SHM_STAT, SHM_STAT_ANY, ShmInfo64,
    ShmUsage, ShmidDs,
};
use super::{limits, now};
use crate::prelude::*;
use crate::process::Pid;
use crate::process::credentials::Credentials;
use crate::vm::{PAGE_SIZE, Vmo};

/// Creates a segment of `size` bytes or finds one by key (`shmget`).
/// `EINVAL` for a new segment outside `SHMMIN..=SHMMAX` or an existing one
/// smaller than `size`; `ENOSPC` past `SHMALL` pages or `SHMMNI` segments;
/// `ENOMEM` for more than all of memory (unless `SHM_NORESERVE`, as with
/// Linux's heuristic overcommit) and for `SHM_HUGETLB` (as Linux without
/// reserved huge pages).
pub fn shmget(creds: &Credentials, pid: Pid, key: i32, size: u64, flags: i32) -> Result<i32> {
    let t = now();
    let mut reg = SHMS.lock();
    match reg.ids.lookup_key(key, flags)? {
        KeyLookup::Found(id) => reg.ids.open_existing(id, flags, creds, |seg| {
            if size > seg.size {
                return_errno!(EINVAL);
            }
            Ok(())
        }),
        KeyLookup::Create => {
            if size < limits::SHMMIN || size > limits::shmmax() {
                return_errno!(EINVAL);
            }
            if size > u64::MAX - (PAGE_SIZE - 1) {
                return_errno!(ENOSPC);
            }
            let pages = size.div_ceil(PAGE_SIZE);
            if reg
                .total_pages
                .checked_add(pages)
                .is_none_or(|total| total > limits::shmall())
            {
                return_errno!(ENOSPC);
            }
            if flags & SHM_HUGETLB != 0 {
                return_errno_with_message!(ENOMEM, "no huge pages are reserved");
            }
            if flags & SHM_NORESERVE == 0 {
                crate::vm::oom::check_commit(size)?;
            }
            // Sized like Linux's shmem file: a page wholly past the end
            // (reached by growing an attachment with `mremap`) is SIGBUS.
            let vmo = Vmo::new_file(None);
            vmo.set_size(size);
            let seg = ShmSegment {
                perm: IpcPerm::new(key, flags, creds),
                size,
                vmo: Arc::new(vmo),
                atime: 0,
                dtime: 0,
                ctime: t,
                cpid: pid,
                lpid: 0,
                nattch: 0,
            };
            let id = reg.ids.add(seg, limits::as_table_limit(limits::shmmni()))?;
            reg.total_pages += pages;
            Ok(id)
        }
    }
}

/// What `shmat` maps.
pub struct Attached {
    /// The attachment, for the region.
    pub attachment: ShmAttachment,
    /// The segment's memory.
    pub vmo: Arc<Vmo>,
    /// Its size in bytes.
    pub size: u64,
}

/// Attaches segment `id` for `creds` asking for `access` (`perm::READ`,
/// `WRITE`, `EXEC` bits): `EACCES` without it. The segment may have been
/// removed already, as long as it is still attached somewhere (Linux
/// allows that).
pub fn attach(creds: &Credentials, id: i32, access: u32) -> Result<Attached> {
    let (t, pid) = (now(), current_pid());
    let mut reg = SHMS.lock();
    let seg = reg.ids.get_mut(id)?;
    seg.perm.check(creds, access)?;
    seg.nattch += 1;
    seg.atime = t;
    seg.lpid = pid;
    Ok(Attached {
        attachment: ShmAttachment {
            id,
            size: seg.size,
            writable: access & super::perm::WRITE != 0,
            counted: true,
        },
        vmo: seg.vmo.clone(),
        size: seg.size,
    })
}

/// One region's attachment of a segment (see the module documentation).
pub struct ShmAttachment {
    id: i32,
    size: u64,
    /// Attached for writing (not `SHM_RDONLY`).
    writable: bool,
    /// Whether it counts in the segment's `shm_nattch`.
    counted: bool,
}

impl ShmAttachment {
    /// The segment's id (the same segment while any attachment exists).
    pub fn segment(&self) -> i32 {
        self.id
    }

    /// The segment's size in bytes.
    pub fn segment_size(&self) -> u64 {
        self.size
    }

    /// Whether the region may be made writable: not for a `SHM_RDONLY`
    /// attachment (Linux clears `VM_MAYWRITE`, and `mprotect` then fails
    /// with `EACCES`).
    pub fn may_write(&self) -> bool {
        self.writable
    }

    /// Gives up an attachment that was never mapped (`shmat` failed after
    /// [`attach`]): uncounted without recording a detach.
    pub fn abandon(mut self) {
        self.counted = false;
        drop(detach(self.id, None));
    }
}

impl Clone for ShmAttachment {
    /// A copy of the region: one more attachment (Linux's `shm_open`).
    fn clone(&self) -> Self {
        let (t, pid) = (now(), current_pid());
        let mut reg = SHMS.lock();
        let counted = match reg.ids.get_mut(self.id) {
            Ok(seg) => {
                seg.nattch += 1;
                seg.atime = t;
                seg.lpid = pid;
                true
            }
            Err(_) => false,
        };
        Self {
            id: self.id,
            size: self.size,
            writable: self.writable,
            counted,
        }
    }
}

impl Drop for ShmAttachment {
    /// The region is gone: one attachment less (Linux's `shm_close`).
    fn drop(&mut self) {
        if self.counted {
            drop(detach(self.id, Some((now(), current_pid()))));
        }
    }
}

/// `IPC_INFO`: the limits; returns the highest slot in use.
pub fn info() -> (i32, ShmInfo64) {
    let shmmni = u64::try_from(limits::shmmni()).unwrap_or(0);
    let info = ShmInfo64 {
        shmmax: limits::shmmax(),
        shmmin: limits::SHMMIN,
        shmmni,
        shmseg: shmmni,
        shmall: limits::shmall(),
        ..Default::default()
    };
    (SHMS.lock().ids.max_index().max(0), info)
}

/// `SHM_INFO`: segments and pages in use; returns the highest slot in use.
pub fn usage() -> Result<(i32, ShmUsage)> {
    let (max_index, used_ids, total, vmos) = {
        let reg = SHMS.lock();
        let mut vmos = Vec::new();
        vmos.try_reserve(reg.ids.in_use())
            .map_err(|_| Error::new(ENOMEM))?;
        vmos.extend(reg.ids.iter().map(|(_, s)| s.vmo.clone()));
        (
            reg.ids.max_index().max(0),
            reg.ids.in_use(),
            reg.total_pages,
            vmos,
        )
    };
    // Counted without the lock: a memory object's pages have a sleeping
    // lock of their own.
    let rss = vmos.iter().map(|v| v.resident_pages() as u64).sum();
    Ok((
        max_index,
        ShmUsage {
            used_ids: used_ids as i32,
            shm_tot: total,
            shm_rss: rss,
            ..Default::default()
        },
    ))
}

/// `IPC_STAT` (by id, returns 0), `SHM_STAT` and `SHM_STAT_ANY` (by slot,
/// return the id). All but `SHM_STAT_ANY` need read access.
pub fn stat(creds: &Credentials, id: i32, cmd: i32) -> Result<(i32, ShmidDs)> {
    let reg = SHMS.lock();
    let (ret, seg) = match cmd {
        SHM_STAT | SHM_STAT_ANY => reg.ids.get_by_index(id)?,
        _ => (0, reg.ids.get(id)?),
    };
    if cmd != SHM_STAT_ANY {
        seg.perm.check(creds, READ)?;
    }
    Ok((
        ret,
        ShmidDs {
            shm_perm: seg.perm.to_user(),
            shm_segsz: seg.size,
            shm_atime: seg.atime,
            shm_dtime: seg.dtime,
            shm_ctime: seg.ctime,
            shm_cpid: seg.cpid as i32,
            shm_lpid: seg.lpid as i32,
            shm_nattch: seg.nattch,
            ..Default::default()
        },
    ))
}

/// `IPC_SET`: new owner and mode, by the owner, creator or root.
pub fn set_perm(creds: &Credentials, id: i32, new: &Ipc64Perm) -> Result<()> {
    let t = now();
    let mut reg = SHMS.lock();
    let seg = reg.ids.get_mut(id)?;
    seg.perm.check_owner(creds)?;
    seg.perm.update(new)?;
    seg.ctime = t;
    Ok(())
}

/// `IPC_RMID`, by the owner, creator or root: destroys the segment now if
/// nothing has it attached, else marks it `SHM_DEST` (destroyed at the last
/// detach) and makes its key free.
pub fn remove(creds: &Credentials, id: i32) -> Result<()> {
    let destroyed = {
        let mut reg = SHMS.lock();
        let seg = reg.ids.get_mut(id)?;
        seg.perm.check_owner(creds)?;
        if seg.nattch > 0 {
            seg.perm.mode |= SHM_DEST;
            reg.ids.forget_key(id);
            None
        } else {
            destroy(&mut reg, id)
        }
    };
    // The memory goes back outside the lock.
    drop(destroyed);
    Ok(())
}

/// `SHM_LOCK`/`SHM_UNLOCK`: only recorded (`SHM_LOCKED` in the mode), as
/// nothing is ever swapped out. Without `CAP_IPC_LOCK` the caller must own or have created
/// the segment (`EPERM`), and may lock only with a `RLIMIT_MEMLOCK`
/// (`EPERM` if 0) that the segment fits in (`ENOMEM`).
pub fn lock(creds: &Credentials, memlock: u64, id: i32, lock: bool) -> Result<()> {
    let mut reg = SHMS.lock();
    let seg = reg.ids.get_mut(id)?;
    if !creds.has_cap(linux_raw_sys::general::CAP_IPC_LOCK) {
        if creds.euid != seg.perm.uid && creds.euid != seg.perm.cuid {
            return_errno!(EPERM);
        }
        if lock && memlock == 0 {
            return_errno!(EPERM);
        }
        if lock
            && seg.perm.mode & SHM_LOCKED == 0
            && memlock != u64::MAX
            && crate::vm::page_up(seg.size) > crate::vm::page_down(memlock)
        {
            return_errno!(ENOMEM);
        }
    }
    if lock {
        seg.perm.mode |= SHM_LOCKED;
    } else {
        seg.perm.mode &= !SHM_LOCKED;
    }
    Ok(())
}

// ---- Internals ----

/// All segments.
static SHMS: SpinLock<Registry> = SpinLock::new(Registry {
    ids: IpcIds::new(),
    total_pages: 0,
});

struct Registry {
    ids: IpcIds<ShmSegment>,
    /// Pages of all segments (`shm_tot`, against `SHMALL`).
    total_pages: u64,
}

/// A segment.
struct ShmSegment {
    perm: IpcPerm,
    size: u64,
    vmo: Arc<Vmo>,
    atime: i64,
    dtime: i64,
    ctime: i64,
    /// The creator.
    cpid: Pid,
    /// The process of the last attach or detach.
    lpid: Pid,
    nattch: u64,
}

impl IpcObject for ShmSegment {
    fn perm(&self) -> &IpcPerm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut IpcPerm {
        &mut self.perm
    }
}

/// One attachment of `id` less, recording the time and process of the
/// detach if given; returns the segment if that destroyed it (for the
/// caller to drop without the lock).
fn detach(id: i32, record: Option<(i64, Pid)>) -> Option<ShmSegment> {
    let mut reg = SHMS.lock();
    let seg = reg.ids.get_mut(id).ok()?;
    seg.nattch = seg.nattch.saturating_sub(1);
    if let Some((t, pid)) = record {
        seg.dtime = t;
        seg.lpid = pid;
    }
    if seg.nattch == 0 && seg.perm.mode & SHM_DEST != 0 {
        destroy(&mut reg, id)
    } else {
        None
    }
}

/// Takes segment `id` out of the table.
fn destroy(reg: &mut Registry, id: i32) -> Option<ShmSegment> {
    let seg = reg.ids.remove(id)?;
    reg.total_pages -= seg.size.div_ceil(PAGE_SIZE);
    Some(seg)
}

/// The calling process (0 for a kernel task).
fn current_pid() -> Pid {
    crate::process::try_current_thread().map_or(0, |t| t.process().pid())
}
