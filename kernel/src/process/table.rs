//! The table of live processes and pid allocation.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicU32, Ordering};

use ostd::sync::SpinLock;

use super::{Pid, Process};

static TABLE: SpinLock<BTreeMap<Pid, Weak<Process>>> = SpinLock::new(BTreeMap::new());
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// Allocates a process or thread id (they share one space, as on Linux).
pub(super) fn alloc_id() -> u32 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

pub(super) fn insert(p: &Arc<Process>) {
    TABLE.lock().insert(p.pid(), Arc::downgrade(p));
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
