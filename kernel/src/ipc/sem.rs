//! Semaphore sets: `semget`, `semop`/`semtimedop`, `semctl`, and the
//! `SEM_UNDO` adjustments applied when a process exits (Linux's
//! `ipc/sem.c`).
//!
//! A `semop` call's operations happen all at once or not at all. One that
//! cannot happen yet sleeps in its set's queue of pending operations; every
//! change to the set's values then retries the queue in order and performs
//! the operations that now can, on behalf of their sleepers (as Linux's
//! `update_queue`), so a sleeper wakes up to find its operations done, or
//! to an error (`EIDRM` when the set is removed, `ERANGE`).
//!
//! `SEM_UNDO` adjustments are kept in the set, per process (Linux keeps
//! them per process, per set): `fork` does not inherit them, `execve`
//! keeps them, `SETVAL`/`SETALL` clear them, and [`exit_undo`] applies
//! them when the process exits.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use ostd::sync::{Mutex, SpinLock, Waiter, Waker};

use super::ids::{IpcIds, IpcObject, KeyLookup};
use super::perm::{IpcPerm, READ, WRITE};
use super::uapi::{
    GETNCNT, GETPID, GETVAL, GETZCNT, IPC_NOWAIT, Ipc64Perm, SEM_INFO, SEM_STAT, SEM_STAT_ANY,
    SEM_UNDO, SEMVMX, SemBuf, SemInfo, SemidDs,
};
use super::{limits, now, user_sized_buffer};
use crate::prelude::*;
use crate::process::credentials::Credentials;
use crate::process::{Pid, Thread};

/// `SEMUSZ`, reported by `IPC_INFO`.
const SEMUSZ: i32 = 20;

/// Creates a set or finds one by key (`semget`): with `nsems` semaphores
/// (`EINVAL` beyond `SEMMSL`, or 0 for a new set, or more than an
/// existing set has; `ENOSPC` beyond `SEMMNS` or `SEMMNI`).
pub fn semget(creds: &Credentials, key: i32, nsems: i32, flags: i32) -> Result<i32> {
    let [semmsl, semmns, _, semmni] = limits::sem();
    if nsems < 0 || nsems > semmsl {
        return_errno!(EINVAL);
    }
    let mut reg = SEMS.lock();
    match reg.ids.lookup_key(key, flags)? {
        KeyLookup::Found(id) => reg.ids.open_existing(id, flags, creds, |set| {
            if nsems as usize > set.values.sems.len() {
                return_errno!(EINVAL);
            }
            Ok(())
        }),
        KeyLookup::Create => {
            if nsems == 0 {
                return_errno!(EINVAL);
            }
            if reg.used_sems + nsems as u64 > u64::try_from(semmns).unwrap_or(0) {
                return_errno!(ENOSPC);
            }
            let set = SemSet {
                perm: IpcPerm::new(key, flags, creds),
                values: SemValues {
                    sems: user_sized_buffer(nsems as usize)?,
                    undo: BTreeMap::new(),
                    otime: 0,
                },
                ctime: now(),
                pending: VecDeque::new(),
            };
            let id = reg.ids.add(set, limits::as_table_limit(semmni))?;
            reg.used_sems += nsems as u64;
            Ok(id)
        }
    }
}

/// `semop`/`semtimedop`: performs `sops` on set `id` at once, sleeping
/// until they can be (unless an operation that would wait has
/// `IPC_NOWAIT`: `EAGAIN`). The sleep ends with `EINTR` on a signal,
/// `EAGAIN` when `timeout` passes and `EIDRM` if the set is removed. The
/// caller has checked the number of operations.
pub fn semop(
    thread: &Arc<Thread>,
    id: i32,
    sops: Vec<SemBuf>,
    timeout: Option<Duration>,
) -> Result<()> {
    let process = thread.process();
    let pid = process.pid();
    let creds = thread.credentials();
    let highest = sops.iter().map(|s| s.sem_num).max().unwrap_or(0);
    let alters = sops.iter().any(|s| s.sem_op != 0);
    let undo = sops.iter().any(|s| s.sem_flg & SEM_UNDO != 0);

    let (waiter, waker) = Waiter::new_pair();
    let outcome = {
        let mut guard = SEMS.lock();
        let reg = &mut *guard;
        let set = reg.ids.get_mut(id)?;
        if usize::from(highest) >= set.values.sems.len() {
            return_errno!(EFBIG);
        }
        set.perm.check(&creds, if alters { WRITE } else { READ })?;
        if undo && !set.values.undo.contains_key(&pid) {
            let adjustments = user_sized_buffer(set.values.sems.len())?;
            set.values.undo.insert(pid, adjustments);
            reg.undo_owners.insert((pid, id));
        }
        let blocking = match set.values.attempt(&sops, pid) {
            Attempt::Done => {
                if alters {
                    set.retry_pending();
                }
                return Ok(());
            }
            Attempt::Failed(e) => return Err(e.into()),
            Attempt::Blocked(i) => i,
        };
        if sops[blocking].sem_flg & IPC_NOWAIT as i16 != 0 {
            return_errno!(EAGAIN);
        }
        set.pending.try_reserve(1).map_err(|_| Error::new(ENOMEM))?;
        let outcome = Arc::new(Outcome {
            result: SpinLock::new(None),
            waker: waker.clone(),
        });
        set.pending.push_back(PendingOp {
            sops,
            pid,
            blocking,
            outcome: outcome.clone(),
        });
        outcome
    };

    let expired = Arc::new(AtomicBool::new(false));
    let timer = timeout.map(|t| {
        let (expired, waker) = (expired.clone(), waker.clone());
        ostd::timer::add_timeout(t, move || {
            expired.store(true, Ordering::Release);
            waker.wake_up();
        })
    });
    let gave_up = loop {
        if let Some(r) = outcome.take() {
            if let Some(t) = timer {
                t.cancel();
            }
            return r;
        }
        if expired.load(Ordering::Acquire) {
            break EAGAIN;
        }
        if thread.has_pending_work() {
            break EINTR;
        }
        waiter.wait();
    };
    if let Some(t) = timer {
        t.cancel();
    }
    // Leave the queue, unless the operations were done meanwhile.
    let mut reg = SEMS.lock();
    if let Some(r) = outcome.take() {
        return r;
    }
    if let Ok(set) = reg.ids.get_mut(id) {
        set.pending.retain(|p| !Arc::ptr_eq(&p.outcome, &outcome));
    }
    Err(gave_up.into())
}

/// `IPC_INFO` and `SEM_INFO`: the limits (and, for `SEM_INFO`, the sets
/// and semaphores in use); returns the highest slot in use.
pub fn info(cmd: i32) -> (i32, SemInfo) {
    let [semmsl, semmns, semopm, semmni] = limits::sem();
    let reg = SEMS.lock();
    let mut info = SemInfo {
        semmap: semmns,
        semmni,
        semmns,
        semmnu: semmns,
        semmsl,
        semopm,
        semume: semopm,
        semusz: SEMUSZ,
        semvmx: SEMVMX,
        semaem: SEMVMX,
    };
    if cmd == SEM_INFO {
        info.semusz = reg.ids.in_use() as i32;
        info.semaem = reg.used_sems.min(i32::MAX as u64) as i32;
    }
    (reg.ids.max_index().max(0), info)
}

/// `IPC_STAT` (by id, returns 0), `SEM_STAT` and `SEM_STAT_ANY` (by slot,
/// return the id). All but `SEM_STAT_ANY` need read access.
pub fn stat(creds: &Credentials, id: i32, cmd: i32) -> Result<(i32, SemidDs)> {
    let reg = SEMS.lock();
    let (ret, set) = match cmd {
        SEM_STAT | SEM_STAT_ANY => reg.ids.get_by_index(id)?,
        _ => (0, reg.ids.get(id)?),
    };
    if cmd != SEM_STAT_ANY {
        set.perm.check(creds, READ)?;
    }
    Ok((
        ret,
        SemidDs {
            sem_perm: set.perm.to_user(),
            sem_otime: set.values.otime,
            sem_ctime: set.ctime,
            sem_nsems: set.values.sems.len() as u64,
            ..Default::default()
        },
    ))
}

/// `GETVAL`, `GETPID`, `GETNCNT` (sleepers waiting for the value to
/// grow) and `GETZCNT` (waiting for it to be 0) of semaphore `num`.
pub fn get(creds: &Credentials, id: i32, num: i32, cmd: i32) -> Result<i32> {
    let reg = SEMS.lock();
    let set = reg.ids.get(id)?;
    set.perm.check(creds, READ)?;
    let n = usize::try_from(num).map_err(|_| Error::new(EINVAL))?;
    let sem = set.values.sems.get(n).ok_or(Error::new(EINVAL))?;
    Ok(match cmd {
        GETVAL => i32::from(sem.val),
        GETPID => sem.pid as i32,
        GETNCNT | GETZCNT => set.sleepers_on(n, cmd == GETZCNT) as i32,
        _ => return_errno!(EINVAL),
    })
}

/// `GETALL`: every value of the set.
pub fn get_all(creds: &Credentials, id: i32) -> Result<Vec<u16>> {
    let reg = SEMS.lock();
    let set = reg.ids.get(id)?;
    set.perm.check(creds, READ)?;
    let mut out = user_sized_buffer(set.values.sems.len())?;
    for (o, s) in out.iter_mut().zip(&set.values.sems) {
        *o = s.val;
    }
    Ok(out)
}

/// The size of set `id` for a `SETALL` by `creds` (write access), to know
/// how many values to read before [`set_all`].
pub fn size_for_set_all(creds: &Credentials, id: i32) -> Result<usize> {
    let reg = SEMS.lock();
    let set = reg.ids.get(id)?;
    set.perm.check(creds, WRITE)?;
    Ok(set.values.sems.len())
}

/// `SETALL`: sets every value (`ERANGE` above `SEMVMX`; `EIDRM` if the set
/// went away since [`size_for_set_all`]), clears the processes'
/// adjustments and wakes whoever can now proceed.
pub fn set_all(pid: Pid, id: i32, values: &[u16]) -> Result<()> {
    if values.iter().any(|&v| i32::from(v) > SEMVMX) {
        return_errno!(ERANGE);
    }
    let mut reg = SEMS.lock();
    let set = reg.ids.get_mut(id).map_err(|_| Error::new(EIDRM))?;
    if set.values.sems.len() != values.len() {
        return_errno!(EIDRM);
    }
    for (s, &v) in set.values.sems.iter_mut().zip(values) {
        s.val = v;
        s.pid = pid;
    }
    for adj in set.values.undo.values_mut() {
        adj.fill(0);
    }
    set.ctime = now();
    set.retry_pending();
    Ok(())
}

/// `SETVAL`: sets semaphore `num` (`ERANGE` outside `0..=SEMVMX`), clears
/// its adjustments and wakes whoever can now proceed.
pub fn set_value(creds: &Credentials, pid: Pid, id: i32, num: i32, val: i32) -> Result<()> {
    if !(0..=SEMVMX).contains(&val) {
        return_errno!(ERANGE);
    }
    let mut reg = SEMS.lock();
    let set = reg.ids.get_mut(id)?;
    let n = usize::try_from(num)
        .ok()
        .filter(|&n| n < set.values.sems.len())
        .ok_or(Error::new(EINVAL))?;
    set.perm.check(creds, WRITE)?;
    for adj in set.values.undo.values_mut() {
        adj[n] = 0;
    }
    set.values.sems[n] = Sem {
        val: val as u16,
        pid,
    };
    set.ctime = now();
    set.retry_pending();
    Ok(())
}

/// `IPC_SET`: new owner and mode, by the owner, creator or root.
pub fn set_perm(creds: &Credentials, id: i32, new: &Ipc64Perm) -> Result<()> {
    let mut reg = SEMS.lock();
    let set = reg.ids.get_mut(id)?;
    set.perm.check_owner(creds)?;
    set.perm.update(new)?;
    set.ctime = now();
    Ok(())
}

/// `IPC_RMID`: removes the set, by the owner, creator or root. Sleepers
/// wake up with `EIDRM`; adjustments are forgotten.
pub fn remove(creds: &Credentials, id: i32) -> Result<()> {
    let mut guard = SEMS.lock();
    let reg = &mut *guard;
    reg.ids.get(id)?.perm.check_owner(creds)?;
    let Some(set) = reg.ids.remove(id) else {
        return_errno!(EINVAL);
    };
    reg.used_sems -= set.values.sems.len() as u64;
    for pid in set.values.undo.keys() {
        reg.undo_owners.remove(&(*pid, id));
    }
    for op in &set.pending {
        op.outcome.complete(Err(Error::new(EIDRM)));
    }
    Ok(())
}

/// Applies the `SEM_UNDO` adjustments of the exiting process `pid` to the
/// sets that still exist, values capped to `0..=SEMVMX` as Linux does,
/// and wakes whoever can then proceed. Allocates nothing.
pub fn exit_undo(pid: Pid) {
    let mut guard = SEMS.lock();
    let reg = &mut *guard;
    while let Some(&(owner, id)) = reg
        .undo_owners
        .range((pid, i32::MIN)..=(pid, i32::MAX))
        .next()
    {
        reg.undo_owners.remove(&(owner, id));
        let Ok(set) = reg.ids.get_mut(id) else {
            continue;
        };
        let Some(adjustments) = set.values.undo.remove(&pid) else {
            continue;
        };
        for (sem, &adj) in set.values.sems.iter_mut().zip(&adjustments) {
            if adj != 0 {
                sem.val = (i32::from(sem.val) + i32::from(adj)).clamp(0, SEMVMX) as u16;
                sem.pid = pid;
            }
        }
        set.values.otime = now();
        set.retry_pending();
    }
}

// ---- Internals ----

/// All semaphore sets.
static SEMS: Mutex<Registry> = Mutex::new(Registry {
    ids: IpcIds::new(),
    used_sems: 0,
    undo_owners: BTreeSet::new(),
});

struct Registry {
    ids: IpcIds<SemSet>,
    /// Semaphores in all sets (against `SEMMNS`).
    used_sems: u64,
    /// `(pid, set id)` for every process with adjustments in a set, so that
    /// an exit finds its sets without looking at all of them.
    undo_owners: BTreeSet<(Pid, i32)>,
}

/// A semaphore set.
struct SemSet {
    perm: IpcPerm,
    values: SemValues,
    ctime: i64,
    /// Sleeping operations, oldest first.
    pending: VecDeque<PendingOp>,
}

impl IpcObject for SemSet {
    fn perm(&self) -> &IpcPerm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut IpcPerm {
        &mut self.perm
    }
}

/// What operations act on: the values, the processes' adjustments and
/// the time of the last `semop`.
struct SemValues {
    sems: Vec<Sem>,
    /// `SEM_UNDO` adjustments by process, one per semaphore.
    undo: BTreeMap<Pid, Vec<i16>>,
    otime: i64,
}

/// One semaphore.
#[derive(Clone, Copy, Default)]
struct Sem {
    val: u16,
    /// The process of the last operation on it (`GETPID`).
    pid: Pid,
}

/// A sleeping `semop` call.
struct PendingOp {
    sops: Vec<SemBuf>,
    pid: Pid,
    /// The operation it waits on (for `GETNCNT`/`GETZCNT`).
    blocking: usize,
    outcome: Arc<Outcome>,
}

/// Where a sleeping call's result goes, and how to wake it.
struct Outcome {
    result: SpinLock<Option<Result<()>>>,
    waker: Waker,
}

impl Outcome {
    fn complete(&self, r: Result<()>) {
        *self.result.lock() = Some(r);
        self.waker.wake_up();
    }

    fn take(&self) -> Option<Result<()>> {
        self.result.lock().take()
    }
}

/// What an attempt at a list of operations came to.
enum Attempt {
    Done,
    /// Operation `i` must wait.
    Blocked(usize),
    Failed(Errno),
}

impl SemValues {
    /// Performs `sops` for process `pid` if all can be done now, in order
    /// (so that several operations on one semaphore add up), else changes
    /// nothing. `ERANGE` if a value would pass `SEMVMX` or an adjustment
    /// leave the range of `short`.
    fn attempt(&mut self, sops: &[SemBuf], pid: Pid) -> Attempt {
        let result = apply(&mut self.sems, self.undo.get_mut(&pid), sops);
        if let Attempt::Done = result {
            for sop in sops {
                if let Some(s) = self.sems.get_mut(usize::from(sop.sem_num)) {
                    s.pid = pid;
                }
            }
            self.otime = now();
        }
        result
    }
}

/// [`SemValues::attempt`] on the values and the caller's adjustments.
fn apply(sems: &mut [Sem], mut adjustments: Option<&mut Vec<i16>>, sops: &[SemBuf]) -> Attempt {
    for (i, sop) in sops.iter().enumerate() {
        let n = usize::from(sop.sem_num);
        let undo = sop.sem_flg & SEM_UNDO != 0;
        let Some(sem) = sems.get(n) else {
            roll_back(sems, adjustments, &sops[..i]);
            return Attempt::Failed(EFBIG);
        };
        let new = i32::from(sem.val) + i32::from(sop.sem_op);
        let adj = match adjustments.as_ref().and_then(|a| a.get(n)) {
            Some(&a) if undo => i32::from(a) - i32::from(sop.sem_op),
            _ => 0,
        };
        let stop = if (sop.sem_op == 0 && sem.val != 0) || new < 0 {
            Some(Attempt::Blocked(i))
        } else if new > SEMVMX || !(-SEMVMX - 1..=SEMVMX).contains(&adj) {
            Some(Attempt::Failed(ERANGE))
        } else {
            None
        };
        if let Some(stop) = stop {
            roll_back(sems, adjustments, &sops[..i]);
            return stop;
        }
        sems[n].val = new as u16;
        if undo && let Some(a) = adjustments.as_mut().and_then(|a| a.get_mut(n)) {
            *a = adj as i16;
        }
    }
    Attempt::Done
}

/// Undoes the operations `done` of a failed attempt, last first.
fn roll_back(sems: &mut [Sem], mut adjustments: Option<&mut Vec<i16>>, done: &[SemBuf]) {
    for sop in done.iter().rev() {
        let n = usize::from(sop.sem_num);
        if let Some(s) = sems.get_mut(n) {
            s.val = (i32::from(s.val) - i32::from(sop.sem_op)) as u16;
        }
        if sop.sem_flg & SEM_UNDO != 0
            && let Some(a) = adjustments.as_mut().and_then(|a| a.get_mut(n))
        {
            *a = (i32::from(*a) + i32::from(sop.sem_op)) as i16;
        }
    }
}

impl SemSet {
    /// Performs the sleeping operations that can now be done, oldest
    /// first, and wakes their callers (also those that now fail). After
    /// one that changed values, starts over: an older one may now succeed.
    fn retry_pending(&mut self) {
        let mut i = 0;
        while i < self.pending.len() {
            let op = &mut self.pending[i];
            match self.values.attempt(&op.sops, op.pid) {
                Attempt::Blocked(b) => {
                    op.blocking = b;
                    i += 1;
                }
                result => {
                    let alters = op.sops.iter().any(|s| s.sem_op != 0);
                    let Some(op) = self.pending.remove(i) else {
                        break;
                    };
                    match result {
                        Attempt::Failed(e) => op.outcome.complete(Err(e.into())),
                        _ => {
                            op.outcome.complete(Ok(()));
                            if alters {
                                i = 0;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Sleepers waiting on semaphore `n`: for it to be 0 (`zero`), or to
    /// grow.
    fn sleepers_on(&self, n: usize, zero: bool) -> usize {
        self.pending
            .iter()
            .filter_map(|p| p.sops.get(p.blocking))
            .filter(|s| usize::from(s.sem_num) == n && (s.sem_op == 0) == zero && s.sem_op <= 0)
            .count()
    }
}
