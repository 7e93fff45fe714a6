//! The scheduler for one CPU: fair, in the manner of Linux's CFS.
//!
//! Every task accumulates *virtual runtime*, the CPU time it has used; the
//! runnable task with the least runs next, for a time slice. A task that
//! wakes up after sleeping is placed just before the least virtual runtime
//! in the queue (a bounded credit for having slept), so interactive tasks
//! (a shell, init reaping children) run promptly, and a new task starts
//! after the ones already waiting.
//!
//! Fairness is between *groups* first (the kernel puts each session in a
//! group of its own, as Linux's autogroup does): a task's virtual runtime
//! grows with its CPU time multiplied by the number of runnable tasks of
//! its group, so every group with work gets an equal share of the CPU
//! however many tasks it runs. A fork bomb in one session then slows the
//! others by half, not by the number of its processes.
//!
//! All state lives in [`SCHED`], a spin lock (so interrupts are off while it
//! is held). A task that sleeps with an empty run queue idles in place
//! (`sti; hlt`) until an interrupt makes some task runnable; there is no
//! separate idle task. An exited task's stack is freed by the next task,
//! right after the switch away from it.

use alloc::collections::{BTreeMap, BinaryHeap};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::{Task, TaskState, switch};
use crate::mm::VmSpace;
use crate::sync::{SpinLock, disable_irqs};

/// The period in which every runnable task should run once, while there
/// are few (Linux's `sched_latency`); with more, each gets the minimum
/// slice below.
const TARGET_LATENCY_NS: u64 = 12_000_000;
/// The shortest time slice: one timer tick.
const MIN_SLICE_NS: u64 = 1_000_000_000 / crate::timer::TICK_HZ;
/// The credit a waking task gets: it is placed this much before the least
/// virtual runtime of the queue (Linux: half of `sched_latency`).
const SLEEPER_CREDIT_NS: u64 = TARGET_LATENCY_NS / 2;
/// A waking task preempts the running one only if it is behind it by more
/// than this (Linux's `sched_wakeup_granularity`).
const WAKEUP_GRANULARITY_NS: u64 = 1_000_000;

/// The time slice when `nr_running` tasks share the CPU.
fn slice_ns(nr_running: usize) -> u64 {
    (TARGET_LATENCY_NS / nr_running.max(1) as u64).max(MIN_SLICE_NS)
}

/// A runnable task and its place: virtual runtime, then the task id (so
/// that tasks with equal runtime run first come, first served).
struct Queued {
    key: (u64, u64),
    task: Arc<Task>,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    /// Reversed: the heap's greatest element is the least key.
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        other.key.cmp(&self.key)
    }
}

/// Runnable tasks, least virtual runtime first. A binary heap in a vector
/// that keeps its capacity: a switch allocates nothing (a `BTreeMap` frees
/// its node when it empties and allocates one again, on every switch
/// between two tasks).
type RunQueue = BinaryHeap<Queued>;

struct Scheduler {
    run_queue: RunQueue,
    /// Runnable and running tasks per group (absent: none).
    group_load: BTreeMap<u64, u32>,
    /// Never decreases: the virtual runtime of the last task picked; the
    /// reference for placing tasks when nothing else is runnable.
    min_vruntime: u64,
    current: Option<Arc<Task>>,
    /// The address space loaded in CR3, kept alive while loaded.
    loaded_space: Option<Arc<VmSpace>>,
    /// A task that exited and whose stack the next task must free.
    exited: Option<Arc<Task>>,
}

static SCHED: SpinLock<Scheduler> = SpinLock::new(Scheduler {
    run_queue: BinaryHeap::new(),
    group_load: BTreeMap::new(),
    min_vruntime: 0,
    current: None,
    loaded_space: None,
    exited: None,
});
static NEED_RESCHED: AtomicBool = AtomicBool::new(false);
/// Set while `schedule` runs. Its idle loop enables interrupts, and an
/// interrupt there must not schedule again: that would nest `schedule` on
/// every timer tick until the stack overflows.
static IN_SCHEDULER: AtomicBool = AtomicBool::new(false);
static SLICE_LEFT: AtomicU32 = AtomicU32::new(1);
/// Stale run-queue entries dropped (see `pop_next`), reported once the
/// scheduler's lock is released.
static STALE_ENTRIES: AtomicU32 = AtomicU32::new(0);

/// Turns the boot context into the first task.
pub(crate) fn init_boot_task() {
    let task = Arc::new(Task {
        id: super::NEXT_ID.fetch_add(1, Ordering::Relaxed),
        saved_rsp: core::cell::UnsafeCell::new(0),
        _stack: None,
        state: core::sync::atomic::AtomicU8::new(TaskState::Running as u8),
        wakeup_pending: AtomicBool::new(false),
        entry: SpinLock::new(None),
        data: alloc::boxed::Box::new(()),
        vm_space: SpinLock::new(None),
        cpu_ns: core::sync::atomic::AtomicU64::new(0),
        ran_since: core::sync::atomic::AtomicU64::new(0),
        vruntime: core::sync::atomic::AtomicU64::new(0),
        group: core::sync::atomic::AtomicU64::new(0),
        counted: AtomicBool::new(false),
        voluntary_switches: core::sync::atomic::AtomicU64::new(0),
        involuntary_switches: core::sync::atomic::AtomicU64::new(0),
        user_ticks: core::sync::atomic::AtomicU64::new(0),
        system_ticks: core::sync::atomic::AtomicU64::new(0),
    });
    let mut s = SCHED.lock();
    s.join(&task);
    s.current = Some(task);
}

pub(super) fn current() -> Arc<Task> {
    SCHED
        .lock()
        .current
        .clone()
        .expect("ostd: no current task before the scheduler is up")
}

pub(super) fn try_current() -> Option<Arc<Task>> {
    SCHED.try_lock()?.current.clone()
}

/// Makes a new task runnable, after the tasks already waiting.
pub(super) fn enqueue(task: Arc<Task>) {
    let mut s = SCHED.lock();
    s.join(&task);
    // A new task starts one (weighted) slice after the least virtual
    // runtime, so that it waits its turn (Linux's `START_DEBIT`): a group
    // that forks without end puts its new tasks behind everyone else.
    let debit = slice_ns(s.run_queue.len() + 2).saturating_mul(s.weight(&task));
    task.vruntime
        .store(s.reference().saturating_add(debit), Ordering::Relaxed);
    s.insert(task);
}

/// Makes a sleeping task runnable. Returns whether it was sleeping.
pub(super) fn wake(task: &Arc<Task>) -> bool {
    let mut s = SCHED.lock();
    if task.state() != TaskState::Sleeping {
        return false;
    }
    task.set_state(TaskState::Runnable);
    let placed = s.reference().saturating_sub(SLEEPER_CREDIT_NS);
    let vr = task.vruntime.load(Ordering::Relaxed).max(placed);
    task.vruntime.store(vr, Ordering::Relaxed);
    s.join(task);
    s.insert(task.clone());
    // Preempt the running task if the woken one is well behind it.
    let preempt = s.current.as_ref().is_none_or(|cur| {
        !Arc::ptr_eq(cur, task) && vr.saturating_add(WAKEUP_GRANULARITY_NS) < s.vruntime_now(cur)
    });
    if preempt {
        NEED_RESCHED.store(true, Ordering::Relaxed);
    }
    true
}

/// Moves `task` to scheduling group `group` (the kernel's sessions).
pub(super) fn set_group(task: &Task, group: u64) {
    let mut s = SCHED.lock();
    let counted = task.counted.load(Ordering::Relaxed);
    if counted {
        s.leave(task);
    }
    task.group.store(group, Ordering::Relaxed);
    if counted {
        s.join(task);
    }
}

impl Scheduler {
    fn insert(&mut self, task: Arc<Task>) {
        let key = (task.vruntime.load(Ordering::Relaxed), task.id);
        self.run_queue.push(Queued { key, task });
    }

    /// Counts `task` among its group's runnable tasks (once).
    fn join(&mut self, task: &Task) {
        if !task.counted.swap(true, Ordering::Relaxed) {
            *self
                .group_load
                .entry(task.group.load(Ordering::Relaxed))
                .or_insert(0) += 1;
        }
    }

    /// Stops counting `task` (it sleeps or has exited).
    fn leave(&mut self, task: &Task) {
        if task.counted.swap(false, Ordering::Relaxed) {
            let g = task.group.load(Ordering::Relaxed);
            if let Some(n) = self.group_load.get_mut(&g) {
                *n -= 1;
                if *n == 0 {
                    self.group_load.remove(&g);
                }
            }
        }
    }

    /// How fast `task`'s virtual runtime grows: the runnable tasks of its
    /// group.
    fn weight(&self, task: &Task) -> u64 {
        let g = task.group.load(Ordering::Relaxed);
        self.group_load.get(&g).copied().unwrap_or(1).max(1) as u64
    }

    /// Charges the CPU time `task` used since it last started running
    /// (and, with `running_again`, restarts the count).
    fn charge(&self, task: &Task, now: u64, running_again: bool) {
        let ran = task.account(now, running_again);
        task.vruntime
            .fetch_add(ran.saturating_mul(self.weight(task)), Ordering::Relaxed);
    }

    /// The virtual runtime of the running `task`, including its slice so
    /// far.
    fn vruntime_now(&self, task: &Task) -> u64 {
        let ran = task.running_for(crate::arch::x86::tsc::nanos_since_boot());
        task.vruntime.load(Ordering::Relaxed) + ran.saturating_mul(self.weight(task))
    }

    /// Gives the task about to run its time slice, in ticks.
    fn start_slice(&self) {
        let ns = slice_ns(self.run_queue.len() + 1);
        let ticks = ns.div_ceil(MIN_SLICE_NS) as u32;
        SLICE_LEFT.store(ticks, Ordering::Relaxed);
    }

    /// Where waking and new tasks are placed from: the least virtual
    /// runtime among the queue and the running task (not a high-water
    /// mark: tasks of a group that has grown since they were queued may
    /// lie well below the last one that ran, and a waking task must not be
    /// placed behind all of them).
    fn reference(&self) -> u64 {
        let leftmost = self.run_queue.peek().map(|q| q.key.0);
        let running = self
            .current
            .as_ref()
            .filter(|c| c.state() == TaskState::Running)
            .map(|c| c.vruntime.load(Ordering::Relaxed));
        match (leftmost, running) {
            (Some(a), Some(b)) => a.min(b),
            (Some(v), None) | (None, Some(v)) => v,
            (None, None) => self.min_vruntime,
        }
    }

    /// Takes the task with the least virtual runtime.
    fn pop_next(&mut self) -> Option<Arc<Task>> {
        // Only runnable tasks are queued. An entry for a task in any other
        // state would be a duplicate left behind; running it could resume
        // an exited task on a stack that another task now uses, so it is
        // dropped (and reported: it is a scheduler bug).
        let task = loop {
            let Queued { task, .. } = self.run_queue.pop()?;
            if task.state() == TaskState::Runnable {
                break task;
            }
            STALE_ENTRIES.fetch_add(1, Ordering::Relaxed);
        };
        let vr = task.vruntime.load(Ordering::Relaxed);
        if vr > self.min_vruntime {
            self.min_vruntime = vr;
        }
        Some(task)
    }
}

pub(super) fn sleep_until_woken(task: &Arc<Task>) {
    let _irq = disable_irqs();
    while !task.wakeup_pending.swap(false, Ordering::AcqRel) {
        task.set_state(TaskState::Sleeping);
        schedule();
    }
}

/// Gives up the CPU to the other runnable tasks, if any: the caller goes
/// behind all of them (a busy-waiting task must let the one it waits for
/// run, however little CPU time that one has had).
pub fn yield_now() {
    let _irq = disable_irqs();
    {
        let s = SCHED.lock();
        let last = s.run_queue.iter().map(|q| q.key.0).max();
        if let (Some(cur), Some(last)) = (&s.current, last) {
            let vr = cur.vruntime.load(Ordering::Relaxed);
            cur.vruntime.store(vr.max(last + 1), Ordering::Relaxed);
        }
    }
    schedule();
}

/// Ends the current task. Its stack is freed after the switch away.
pub fn exit_current() -> ! {
    let _irq = disable_irqs();
    current().set_state(TaskState::Exited);
    schedule();
    unreachable!("an exited task was scheduled again");
}

/// Sets the current task's address space and loads it.
pub(crate) fn set_current_vm_space(space: Arc<VmSpace>) {
    let mut s = SCHED.lock();
    if let Some(cur) = s.current.clone() {
        *cur.vm_space.lock() = Some(space.clone());
    }
    space.load();
    s.loaded_space = Some(space);
}

/// Called on every timer tick (interrupts disabled).
pub(crate) fn tick() {
    let idle = super::stats::idling();
    let running = match SCHED.try_lock() {
        Some(s) => {
            let user = super::stats::in_user_mode();
            if let Some(cur) = s.current.as_ref().filter(|_| !idle) {
                let counter = if user {
                    &cur.user_ticks
                } else {
                    &cur.system_ticks
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            super::stats::tick(idle, user);
            s.run_queue.len() + usize::from(!idle)
        }
        None => 1,
    };
    super::stats::sample_load(running);

    let left = SLICE_LEFT.load(Ordering::Relaxed);
    if left <= 1 {
        NEED_RESCHED.store(true, Ordering::Relaxed);
    } else {
        SLICE_LEFT.store(left - 1, Ordering::Relaxed);
    }
}

/// Switches tasks if the time slice is over or a task was woken. Called
/// where preemption is safe: on the way out of an interrupt that hit code
/// running with interrupts enabled, and before returning to user mode.
pub(crate) fn preempt_if_needed() {
    if NEED_RESCHED.load(Ordering::Relaxed) && !IN_SCHEDULER.load(Ordering::Relaxed) {
        let _irq = disable_irqs();
        schedule();
    }
}

/// Picks the next task and switches to it. Interrupts must be disabled.
fn schedule() {
    debug_assert!(!x86_64::instructions::interrupts::are_enabled());
    IN_SCHEDULER.store(true, Ordering::Relaxed);
    pick_and_switch();
    IN_SCHEDULER.store(false, Ordering::Relaxed);
}

fn pick_and_switch() {
    NEED_RESCHED.store(false, Ordering::Relaxed);
    // Whether this call has counted its switch away (once idle).
    let mut counted = false;
    loop {
        let mut s = SCHED.lock();
        let Some(cur) = s.current.clone() else { return };
        // The running task's time so far counts before it is compared.
        let now = crate::arch::x86::tsc::nanos_since_boot();
        s.charge(&cur, now, true);
        if matches!(cur.state(), TaskState::Sleeping | TaskState::Exited) {
            s.leave(&cur);
        }
        if matches!(cur.state(), TaskState::Running)
            && s.run_queue
                .peek()
                .is_none_or(|q| q.key.0 >= cur.vruntime.load(Ordering::Relaxed))
        {
            // Still the least: keep running.
            s.start_slice();
            return;
        }
        let next = s.pop_next();
        let Some(next) = next else {
            if matches!(cur.state(), TaskState::Running | TaskState::Runnable) {
                cur.set_state(TaskState::Running);
                s.start_slice();
                return;
            }
            // Nothing to run: idle until an interrupt wakes someone. The
            // idle time is not charged to the task we idle on behalf of.
            if !counted {
                // Linux counts the switch to its idle task.
                cur.voluntary_switches.fetch_add(1, Ordering::Relaxed);
                super::stats::count_switch();
                counted = true;
            }
            s.charge(&cur, crate::arch::x86::tsc::nanos_since_boot(), false);
            drop(s);
            let idle = super::stats::IdlePeriod::start();
            x86_64::instructions::interrupts::enable_and_hlt();
            x86_64::instructions::interrupts::disable();
            drop(idle);
            cur.start_running(crate::arch::x86::tsc::nanos_since_boot());
            continue;
        };
        if Arc::ptr_eq(&next, &cur) {
            cur.set_state(TaskState::Running);
            s.start_slice();
            return;
        }
        let switches = match cur.state() {
            TaskState::Running => &cur.involuntary_switches,
            _ => &cur.voluntary_switches,
        };
        if !counted {
            switches.fetch_add(1, Ordering::Relaxed);
            super::stats::count_switch();
        }
        match cur.state() {
            TaskState::Running => {
                cur.set_state(TaskState::Runnable);
                s.insert(cur.clone());
            }
            // Woken while it was about to sleep: `wake` already queued it,
            // and queueing it twice would let it run again after exiting.
            TaskState::Runnable => {}
            TaskState::Exited => s.exited = Some(cur.clone()),
            TaskState::Sleeping => {}
        }
        next.set_state(TaskState::Running);
        s.start_slice();
        let now = crate::arch::x86::tsc::nanos_since_boot();
        s.charge(&cur, now, false);
        next.start_running(now);

        // A task runs on the space it activated, or on the kernel's page
        // table if it has none: user copies rely on "the loaded space is
        // the current task's" (see `VmSpace::is_active`). The space that
        // was loaded before is dropped outside the scheduler's lock.
        let previous_space = match next.vm_space.lock().clone() {
            Some(space) => {
                space.load();
                s.loaded_space.replace(space)
            }
            None => {
                crate::mm::load_kernel_root();
                s.loaded_space.take()
            }
        };
        let save_to = cur.saved_rsp.get();
        // SAFETY: `next` is not running (it came off the run queue), so its
        // saved stack pointer is stable.
        let load = unsafe { *next.saved_rsp.get() };
        s.current = Some(next);
        drop(s);
        drop(cur);
        drop(previous_space);
        // SAFETY: interrupts are off; `save_to` belongs to the task running
        // now (still alive: the run queue, a wait queue, `exited` or its
        // owner holds a reference), and `load` was saved by a switch or
        // prepared for a new task whose stack the task itself owns.
        unsafe { switch::switch(save_to, load) };
        finish_switch();
        return;
    }
}

/// Work to do right after a switch, on the new task's stack.
pub(super) fn finish_switch() {
    IN_SCHEDULER.store(false, Ordering::Relaxed);
    let exited = SCHED.lock().exited.take();
    drop(exited);
    let stale = STALE_ENTRIES.swap(0, Ordering::Relaxed);
    if stale > 0 {
        log::error!("scheduler: dropped {stale} stale run-queue entries (a bug)");
    }
}
