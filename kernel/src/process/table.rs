//! The table of live processes, the allocation of ids, and the limits on
//! the number of tasks.
//!
//! Process and thread ids share one space, as on Linux. An id stays in use
//! while anything names it: the thread whose tid it is, the process whose
//! pid it is (until reaped), and every process whose process group or
//! session it is (an [`IdRef`] each). Ids are handed out cyclically below
//! `pid_max`, wrapping to 300 as Linux does, so a short-lived process does
//! not get the pid of one that just died, and `fork` fails with `EAGAIN`
//! when every id is taken.
//!
//! Threads are counted globally (`threads-max`) and per real user id
//! (`RLIMIT_NPROC`); a [`ThreadCharge`] holds one thread's share of both.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use ostd::sync::SpinLock;

use super::credentials::Credentials;
use super::{Pid, Process};
use crate::prelude::*;

static TABLE: SpinLock<BTreeMap<Pid, Weak<Process>>> = SpinLock::new(BTreeMap::new());

/// Makes `p` findable unless `abort` (checked under the table's lock)
/// says otherwise; returns whether it did. Group signals are sent under
/// the same lock ([`for_each_process`]), so a `fork` either registers its
/// child before such a signal is sent (and the child gets it too) or sees
/// it pending in `abort` and backs out, as Linux's `copy_process` does.
pub(super) fn insert_unless(p: &Arc<Process>, abort: impl FnOnce() -> bool) -> bool {
    let mut table = TABLE.lock();
    if abort() {
        return false;
    }
    table.insert(p.pid(), Arc::downgrade(p));
    true
}

/// Calls `f` on every process, with the table locked: no process can be
/// registered meanwhile (see [`insert_unless`]). `f` must not sleep or
/// look processes up by pid.
pub fn for_each_process(mut f: impl FnMut(&Arc<Process>)) {
    let table = TABLE.lock();
    for p in table.values().filter_map(|w| w.upgrade()) {
        f(&p);
    }
}

pub(super) fn remove(pid: Pid) {
    TABLE.lock().remove(&pid);
}

/// The process with `pid`, if it exists (zombies included until reaped).
pub fn find_process(pid: Pid) -> Option<Arc<Process>> {
    TABLE.lock().get(&pid)?.upgrade()
}

/// PID 1.
pub fn init_process() -> Option<Arc<Process>> {
    find_process(1)
}

/// All processes.
pub fn all_processes() -> alloc::vec::Vec<Arc<Process>> {
    TABLE.lock().values().filter_map(|w| w.upgrade()).collect()
}

/// Number of processes (zombies included).
pub fn nr_processes() -> usize {
    TABLE.lock().len()
}

// ---- Ids ----

/// Linux's default `pid_max`.
pub const PID_MAX_DEFAULT: u32 = 32768;
/// The largest `pid_max` (Linux's `PID_MAX_LIMIT` on 64-bit machines).
pub const PID_MAX_LIMIT: u32 = 4 * 1024 * 1024;
/// The smallest `pid_max` Linux accepts.
pub const PID_MAX_MIN: u32 = 301;
/// Ids below this are not reused after the counter wraps.
const RESERVED_PIDS: u32 = 300;

struct Ids {
    /// How many [`IdRef`]s name each id in use.
    refs: BTreeMap<Pid, u32>,
    /// Where the search for a free id starts.
    next: Pid,
}

static IDS: SpinLock<Ids> = SpinLock::new(Ids {
    refs: BTreeMap::new(),
    next: 1,
});
static PID_MAX: AtomicU32 = AtomicU32::new(PID_MAX_DEFAULT);

/// `/proc/sys/kernel/pid_max`.
pub fn pid_max() -> u32 {
    PID_MAX.load(Ordering::Relaxed)
}

/// Sets `pid_max` (`EINVAL` outside Linux's range).
pub fn set_pid_max(v: u32) -> Result<()> {
    if !(PID_MAX_MIN..=PID_MAX_LIMIT).contains(&v) {
        return_errno!(EINVAL);
    }
    PID_MAX.store(v, Ordering::Relaxed);
    Ok(())
}

/// One use of an id; the id is free again when the last use is dropped.
#[derive(Debug)]
pub struct IdRef(Pid);

impl IdRef {
    /// A fresh id. `EAGAIN` when all ids below `pid_max` are in use.
    pub fn alloc() -> Result<IdRef> {
        let max = pid_max();
        let mut ids = IDS.lock();
        let start = if ids.next >= max {
            RESERVED_PIDS
        } else {
            ids.next
        };
        let mut candidate = start;
        loop {
            if let alloc::collections::btree_map::Entry::Vacant(e) = ids.refs.entry(candidate) {
                e.insert(1);
                ids.next = candidate + 1;
                return Ok(IdRef(candidate));
            }
            candidate += 1;
            if candidate >= max {
                candidate = RESERVED_PIDS;
            }
            if candidate == start {
                return_errno_with_message!(EAGAIN, "no free pid below pid_max");
            }
        }
    }

    /// Another use of `id`, which must be in use (a process group or
    /// session that a process joins). `None` for id 0 (init's group).
    pub fn share(id: Pid) -> Option<IdRef> {
        if id == 0 {
            return None;
        }
        *IDS.lock().refs.entry(id).or_insert(0) += 1;
        Some(IdRef(id))
    }

    /// The id.
    pub fn id(&self) -> Pid {
        self.0
    }
}

impl Drop for IdRef {
    fn drop(&mut self) {
        let mut ids = IDS.lock();
        if let Some(n) = ids.refs.get_mut(&self.0) {
            *n -= 1;
            if *n == 0 {
                ids.refs.remove(&self.0);
            }
        }
    }
}

// ---- Thread limits ----

/// Smallest `threads-max` (Linux's `MIN_THREADS`).
const MIN_THREADS: usize = 20;
/// Largest `threads-max`: kernel stacks are the bound (one per thread, a
/// few kept for the kernel's own tasks).
const MAX_THREADS: usize = 60_000;

static NR_THREADS: AtomicUsize = AtomicUsize::new(0);
static MAX_THREADS_NOW: AtomicUsize = AtomicUsize::new(MAX_THREADS);
static PER_USER: SpinLock<BTreeMap<u32, usize>> = SpinLock::new(BTreeMap::new());

/// Sets `threads-max` from the memory size as Linux does: kernel stacks
/// may take at most an eighth of RAM.
pub fn init_limits() {
    let pages = ostd::mm::total_frames();
    let stack_pages = ostd::task::KERNEL_STACK_SIZE / ostd::mm::PAGE_SIZE;
    let max = (pages / (8 * stack_pages)).clamp(MIN_THREADS, MAX_THREADS);
    MAX_THREADS_NOW.store(max, Ordering::Relaxed);
}

/// `/proc/sys/kernel/threads-max`.
pub fn max_threads() -> usize {
    MAX_THREADS_NOW.load(Ordering::Relaxed)
}

/// Sets `threads-max` (`EINVAL` outside Linux's range).
pub fn set_max_threads(v: usize) -> Result<()> {
    if !(MIN_THREADS..=MAX_THREADS).contains(&v) {
        return_errno!(EINVAL);
    }
    MAX_THREADS_NOW.store(v, Ordering::Relaxed);
    Ok(())
}

/// Number of threads in the system.
pub fn nr_threads() -> usize {
    NR_THREADS.load(Ordering::Relaxed)
}

/// One thread's place in the thread counts, given back when dropped.
#[derive(Debug)]
pub struct ThreadCharge {
    uid: u32,
}

impl ThreadCharge {
    /// Counts a new thread of real user `uid`, as Linux's `copy_process`
    /// checks: `EAGAIN` past `RLIMIT_NPROC` (`nproc_limit`; root is exempt)
    /// or past `threads-max`.
    pub fn new(uid: u32, nproc_limit: u64) -> Result<ThreadCharge> {
        let mut per_user = PER_USER.lock();
        let mine = per_user.get(&uid).copied().unwrap_or(0);
        if uid != 0 && mine as u64 >= nproc_limit {
            return_errno_with_message!(EAGAIN, "RLIMIT_NPROC reached");
        }
        if NR_THREADS.load(Ordering::Relaxed) >= max_threads() {
            return_errno_with_message!(EAGAIN, "threads-max reached");
        }
        NR_THREADS.fetch_add(1, Ordering::Relaxed);
        per_user.insert(uid, mine + 1);
        Ok(ThreadCharge { uid })
    }

    /// Counts a new thread created by `process` for a creator with
    /// `creds` (its real uid and `RLIMIT_NPROC`; uid 0, `CAP_SYS_RESOURCE`
    /// and `CAP_SYS_ADMIN` are exempt from the latter).
    pub fn for_new_thread_of(process: &Process, creds: &Credentials) -> Result<ThreadCharge> {
        use linux_raw_sys::general::{CAP_SYS_ADMIN, CAP_SYS_RESOURCE, RLIMIT_NPROC};
        let nproc = if creds.has_cap(CAP_SYS_RESOURCE) || creds.has_cap(CAP_SYS_ADMIN) {
            u64::MAX
        } else {
            process.rlimit_cur(RLIMIT_NPROC)
        };
        Self::new(creds.ruid, nproc)
    }

    /// Moves the charge to another real user (`setuid` and friends).
    pub fn set_uid(&mut self, uid: u32) {
        if uid == self.uid {
            return;
        }
        let mut per_user = PER_USER.lock();
        uncount(&mut per_user, self.uid);
        *per_user.entry(uid).or_insert(0) += 1;
        self.uid = uid;
    }
}

/// Threads of real user `uid`.
pub fn threads_of_user(uid: u32) -> usize {
    PER_USER.lock().get(&uid).copied().unwrap_or(0)
}

fn uncount(per_user: &mut BTreeMap<u32, usize>, uid: u32) {
    if let Some(n) = per_user.get_mut(&uid) {
        *n -= 1;
        if *n == 0 {
            per_user.remove(&uid);
        }
    }
}

impl Drop for ThreadCharge {
    fn drop(&mut self) {
        uncount(&mut PER_USER.lock(), self.uid);
        NR_THREADS.fetch_sub(1, Ordering::Relaxed);
    }
}
