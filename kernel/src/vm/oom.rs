//! Running out of memory: the overcommit heuristic and the OOM killer.
//!
//! As on Linux (`vm.overcommit_memory = 0`), address space is handed out
//! freely, except a single request larger than all of RAM, which fails at
//! once with `ENOMEM`. Memory is taken when pages are touched; when a page
//! fault then finds no free frame, the OOM killer picks the process with
//! the largest resident set (never init), kills it with `SIGKILL`, and the
//! faulting thread waits for the memory to come back and tries again. The
//! kernel's own allocations run on a reserve of frames that user memory
//! never takes (see ostd's frame allocator), so the kernel can always
//! carry this out.

use alloc::sync::{Arc, Weak};

use core::time::Duration;
use ostd::mm::VmSpace;

use ostd::mm::PAGE_SIZE;
use ostd::sync::SpinLock;

use crate::prelude::*;
use crate::process::{Process, Thread, all_processes};

/// `/proc/sys/vm/overcommit_memory`: 0 heuristic, 1 always, 2 never.
static OVERCOMMIT: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
/// `/proc/sys/vm/overcommit_ratio`: the percentage of RAM mode 2 allows.
pub const OVERCOMMIT_RATIO: u64 = 50;

/// The overcommit policy (`/proc/sys/vm/overcommit_memory`).
pub fn overcommit_policy() -> u32 {
    OVERCOMMIT.load(core::sync::atomic::Ordering::Relaxed)
}

/// Sets the overcommit policy: `EINVAL` unless 0, 1 or 2.
pub fn set_overcommit_policy(mode: u64) -> Result<()> {
    let mode = u32::try_from(mode)
        .ok()
        .filter(|m| *m <= 2)
        .ok_or(Error::new(EINVAL))?;
    OVERCOMMIT.store(mode, core::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Whether `bytes` more of memory may be promised, by the overcommit
/// policy: with the heuristic (0), `ENOMEM` for a request of more bytes
/// than the machine has RAM (there is no swap); always (1), never
/// `ENOMEM`; never overcommit (2), `ENOMEM` past `overcommit_ratio` of
/// RAM (for the one request: commitments are not added up here).
pub fn check_commit(bytes: u64) -> Result<()> {
    let ram = ostd::mm::total_frames() as u64 * PAGE_SIZE as u64;
    let limit = match overcommit_policy() {
        1 => return Ok(()),
        2 => ram / 100 * OVERCOMMIT_RATIO,
        _ => ram,
    };
    if bytes > limit {
        return_errno_with_message!(ENOMEM, "more than the overcommit policy allows");
    }
    Ok(())
}

/// Pages below which user space may not make the kernel allocate more
/// bookkeeping (regions, processes, open files, inodes): past it those
/// fail with `ENOMEM` (or `ENOSPC`), so that kernel objects a program asks
/// for cannot eat the reserve the kernel needs to recover.
const LOW_PAGES: usize = 256;

/// Whether memory for user space is nearly gone (see [`LOW_PAGES`]).
pub fn user_memory_low() -> bool {
    ostd::mm::free_frames_for_user() < LOW_PAGES
}

/// `ENOMEM` if memory for user space is nearly gone.
pub fn check_user_memory() -> Result<()> {
    if user_memory_low() {
        return_errno_with_message!(ENOMEM, "memory for user space is exhausted");
    }
    Ok(())
}

/// The address space of the process last chosen (gone once its memory is
/// free), and when it was chosen.
static VICTIM: SpinLock<Option<(Weak<VmSpace>, Duration)>> = SpinLock::new(None);

/// A victim that has not released its memory after this long is given up
/// on, and another is chosen.
const VICTIM_GRACE: Duration = Duration::from_secs(5);
/// Free pages above which a fault that found none just retries: memory
/// came back (4 MiB).
const REFILLED_PAGES: usize = 1024;
/// How long a thread whose fault found no memory waits before retrying.
const RETRY_WAIT: Duration = Duration::from_millis(10);

/// Called when a page fault of `thread` could not get a frame: makes sure
/// some process is being killed to free memory (one at a time: until the
/// last victim's address space is gone, nobody else is chosen), then waits
/// a little. The caller retries the fault (a killed `thread` leaves on its
/// way back).
pub fn out_of_memory(thread: &Arc<Thread>) {
    let now = ostd::timer::monotonic();
    // Chosen under the lock: threads that fault together kill one victim.
    let chosen = {
        let mut v = VICTIM.lock();
        // Another CPU may have chosen a victim after `now` was read:
        // `since` can be later than `now`. The victim's memory is back
        // only once its space has been freed, not when its last handle
        // went (another CPU may still be freeing its pages, as Linux's
        // `MMF_OOM_SKIP` is set only after `exit_mmap`).
        let freeing = v.as_ref().is_some_and(|(space, since)| {
            (space.strong_count() > 0 || ostd::mm::spaces_being_freed() > 0)
                && now.saturating_sub(*since) < VICTIM_GRACE
        });
        // A fault that failed while a victim's memory was still coming
        // back may get here after it came: the memory is there now, and
        // nobody else is killed (Linux's last try at a high watermark
        // in `__alloc_pages_may_oom`, "to catch a parallel oom killing").
        let refilled = ostd::mm::free_frames_for_user() >= REFILLED_PAGES;
        if freeing || refilled {
            None
        } else {
            // With nobody else to kill, the faulting process goes, unless
            // it is init: then wait, memory may still be coming back.
            let me = thread.process();
            let victim = choose_victim().or_else(|| (!me.is_init()).then(|| me.clone()));
            if let Some(p) = &victim {
                *v = Some((Arc::downgrade(p.vmar().vm_space()), now));
            }
            victim
        }
    };
    if let Some(victim) = chosen {
        let rss_kib = victim.vmar().vm_space().resident_pages() * (PAGE_SIZE / 1024);
        log::warn!(
            "Out of memory: Killed process {} ({}) anon-rss:{rss_kib}kB",
            victim.pid(),
            victim.comm()
        );
        crate::process::exit::kill_for_oom(&victim);
    }
    if !thread.has_pending_work() {
        let wq = ostd::sync::WaitQueue::new();
        let t = thread.clone();
        let _ = wq.wait_until_or_timeout(|| t.has_pending_work().then_some(()), Some(RETRY_WAIT));
    }
}

/// The process whose death frees the most memory: the largest resident
/// set, not init, not one already dead.
fn choose_victim() -> Option<Arc<Process>> {
    all_processes()
        .into_iter()
        .filter(|p| !p.is_init() && !p.is_zombie())
        .max_by_key(|p| p.vmar().vm_space().resident_pages())
}
