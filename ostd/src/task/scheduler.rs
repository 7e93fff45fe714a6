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
//! Within a group, a task's share follows its nice value through Linux's
//! weight table (`sched_prio_to_weight`: nice 0 weighs 1024, each step
//! about 1.25 times less or more); `SCHED_IDLE` tasks weigh 3, a tiny
//! share.
//!
//! Real-time tasks (`SCHED_FIFO`, `SCHED_RR`, priority 1 to 99) sit in a
//! queue of their own and always run before the fair tasks: the highest
//! priority first, in order of arrival within a priority. A FIFO task runs
//! until it sleeps, yields or a higher priority preempts it (it then stays
//! first of its priority); a round-robin task also goes behind its equals
//! when its time slice ([`RR_TIME_SLICE`]) is over. Without real-time
//! tasks the queue is empty and costs one test per switch. As Linux's
//! `sched_rt_runtime_us` (and its fair server since 6.12), real-time tasks
//! get at most 950 ms of each second while fair tasks wait: a runaway
//! real-time task slows the system down but cannot lock it up.
//!
//! All state lives in [`SCHED`], a spin lock (so interrupts are off while it
//! is held). A task that sleeps with an empty run queue idles in place
//! (`sti; hlt`) until an interrupt makes some task runnable; there is no
//! separate idle task. An exited task's stack is freed by the next task,
//! right after the switch away from it.

use alloc::collections::{BTreeMap, BinaryHeap};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

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

/// The time slice of a `SCHED_RR` task (Linux's `sched_rr_timeslice`).
pub const RR_TIME_SLICE: core::time::Duration = core::time::Duration::from_millis(100);

/// Real-time tasks may run `RT_RUNTIME_NS` of every `RT_PERIOD_NS` while
/// fair tasks wait (Linux's `sched_rt_runtime_us`/`sched_rt_period_us`):
/// fair tasks kept waiting that long then run first for the rest of the
/// period.
const RT_PERIOD_NS: u64 = 1_000_000_000;
const RT_RUNTIME_NS: u64 = 950_000_000;
/// How often a running FIFO task passes through the scheduler (for the
/// limit above), in ticks.
const FIFO_CHECK_TICKS: u32 = 10;

/// How a task is scheduled (Linux's policies, `sched(7)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedPolicy {
    /// A fair share, by nice value (`SCHED_OTHER`).
    Normal,
    /// A fair share, without preempting on wake-up (`SCHED_BATCH`).
    Batch,
    /// A tiny share, whatever the nice value (`SCHED_IDLE`).
    Idle,
    /// Real time at a priority (1 to 99), until the task sleeps or yields
    /// (`SCHED_FIFO`).
    Fifo(u8),
    /// Real time at a priority (1 to 99), taking turns with its equals
    /// every [`RR_TIME_SLICE`] (`SCHED_RR`).
    RoundRobin(u8),
}

/// `Task::class` values.
pub(super) mod class {
    pub const NORMAL: u8 = 0;
    pub const BATCH: u8 = 1;
    pub const IDLE: u8 = 2;
    pub const FIFO: u8 = 3;
    pub const RR: u8 = 4;
}

/// Linux's `sched_prio_to_weight`: the weight of nice -20 to 19.
const NICE_TO_WEIGHT: [u32; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];
/// The weight of a `SCHED_IDLE` task (Linux's `WEIGHT_IDLEPRIO`).
const IDLE_WEIGHT: u32 = 3;
/// The weight of nice 0.
pub(super) const NICE_0_WEIGHT: u32 = 1024;

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

/// A runnable real-time task: the highest priority first, then the lowest
/// sequence number (arrival order; a preempted task gets one below all).
struct RtQueued {
    prio: u8,
    seq: i64,
    task: Arc<Task>,
}

impl PartialEq for RtQueued {
    fn eq(&self, other: &Self) -> bool {
        (self.prio, self.seq) == (other.prio, other.seq)
    }
}

impl Eq for RtQueued {}

impl PartialOrd for RtQueued {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RtQueued {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.prio
            .cmp(&other.prio)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

struct Scheduler {
    run_queue: RunQueue,
    /// Runnable real-time tasks; they all run before any fair task.
    rt_queue: BinaryHeap<RtQueued>,
    /// The next sequence numbers for the back and the front of a real-time
    /// priority.
    rt_back: i64,
    rt_front: i64,
    /// Since when fair tasks have waited while real-time ones ran (0:
    /// they do not); after `RT_RUNTIME_NS`, `rt_throttled` lets them run
    /// first until `rt_throttled_until`.
    fair_waiting_since: u64,
    rt_throttled: bool,
    rt_throttled_until: u64,
    /// The summed weight of the runnable and running fair tasks of each
    /// group (absent: none).
    group_load: BTreeMap<u64, u64>,
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
    rt_queue: BinaryHeap::new(),
    rt_back: 0,
    rt_front: -1,
    fair_waiting_since: 0,
    rt_throttled: false,
    rt_throttled_until: 0,
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
/// When the running round-robin task's slice ends (ns since boot; 0: the
/// running task is not round-robin). By the clock, not by ticks: under
/// emulation ticks come late, and the slice is a duration.
static RR_SLICE_END: AtomicU64 = AtomicU64::new(0);
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
        wait_site: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
        class: core::sync::atomic::AtomicU8::new(class::NORMAL),
        rt_prio: core::sync::atomic::AtomicU8::new(0),
        weight: AtomicU32::new(NICE_0_WEIGHT),
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
    if task.is_rt() {
        s.preempt_for_rt(&task);
        s.push_rt(task, false);
        return;
    }
    // A new task starts one (weighted) slice after the least virtual
    // runtime, so that it waits its turn (Linux's `START_DEBIT`): a group
    // that forks without end puts its new tasks behind everyone else.
    let debit = s.scaled(&task, slice_ns(s.run_queue.len() + 2));
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
    s.join(task);
    if task.is_rt() {
        s.preempt_for_rt(task);
        s.push_rt(task.clone(), false);
        return true;
    }
    let placed = s.reference().saturating_sub(SLEEPER_CREDIT_NS);
    let vr = task.vruntime.load(Ordering::Relaxed).max(placed);
    task.vruntime.store(vr, Ordering::Relaxed);
    s.insert(task.clone());
    // Preempt the running task if the woken one is well behind it; never a
    // real-time one, and `SCHED_BATCH`/`SCHED_IDLE` tasks do not preempt,
    // as on Linux (a `SCHED_IDLE` one is preempted by any other).
    let wakee_class = task.class.load(Ordering::Relaxed);
    let preempt = s.current.as_ref().is_none_or(|cur| {
        let cur_class = cur.class.load(Ordering::Relaxed);
        !Arc::ptr_eq(cur, task)
            && cur_class <= class::IDLE
            && wakee_class == class::NORMAL
            && (cur_class == class::IDLE
                || vr.saturating_add(WAKEUP_GRANULARITY_NS) < s.vruntime_now(cur))
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

/// Gives `task` a scheduling policy and nice value (the nice value counts
/// for the fair policies only).
pub(super) fn set_policy(task: &Task, policy: SchedPolicy, nice: i8) {
    let (cls, prio, weight) = match policy {
        SchedPolicy::Normal => (class::NORMAL, 0, nice_weight(nice)),
        SchedPolicy::Batch => (class::BATCH, 0, nice_weight(nice)),
        SchedPolicy::Idle => (class::IDLE, 0, IDLE_WEIGHT),
        SchedPolicy::Fifo(p) => (class::FIFO, p.clamp(1, 99), nice_weight(nice)),
        SchedPolicy::RoundRobin(p) => (class::RR, p.clamp(1, 99), nice_weight(nice)),
    };
    let mut s = SCHED.lock();
    let counted = task.counted.load(Ordering::Relaxed);
    if counted {
        s.leave(task);
    }
    // A runnable task moves to the queue of its new class. Among real-time
    // tasks, as `sched(7)` says: a raised priority goes last of its new
    // priority, a lowered one first, an unchanged one keeps its place.
    let queued = s.unqueue(task);
    let was_rt = task.is_rt();
    let old_prio = task.rt_prio.load(Ordering::Relaxed);
    // Taken while the task is still real-time (and so not part of it).
    let reference = s.reference();
    task.class.store(cls, Ordering::Relaxed);
    task.rt_prio.store(prio, Ordering::Relaxed);
    task.weight.store(weight, Ordering::Relaxed);
    if was_rt && !task.is_rt() {
        // Its virtual runtime stood still while it was real-time: it
        // joins the fair tasks where they are.
        task.vruntime.store(reference, Ordering::Relaxed);
    }
    if counted {
        s.join(task);
    }
    match queued {
        Some((t, seq)) if t.is_rt() => match seq {
            Some(seq) if prio == old_prio => s.rt_queue.push(RtQueued { prio, seq, task: t }),
            _ => s.push_rt(t, was_rt && prio < old_prio),
        },
        Some((t, _)) => s.insert(t),
        None => {}
    }
    // Whatever changed, the next pick decides again.
    NEED_RESCHED.store(true, Ordering::Relaxed);
}

/// The time slice a fair task gets now (what `sched_rr_get_interval`
/// reports for one).
pub fn fair_time_slice() -> core::time::Duration {
    let n = SCHED.lock().run_queue.len() + 1;
    core::time::Duration::from_nanos(slice_ns(n))
}

fn nice_weight(nice: i8) -> u32 {
    NICE_TO_WEIGHT[(nice.clamp(-20, 19) + 20) as usize]
}

impl Scheduler {
    /// Queues a runnable real-time task behind its equals, or before them
    /// (`front`: it was preempted by a higher priority).
    fn push_rt(&mut self, task: Arc<Task>, front: bool) {
        let seq = if front {
            self.rt_front -= 1;
            self.rt_front + 1
        } else {
            self.rt_back += 1;
            self.rt_back - 1
        };
        let prio = task.rt_prio.load(Ordering::Relaxed);
        self.rt_queue.push(RtQueued { prio, seq, task });
    }

    /// Asks for a switch if the real-time `task` outranks the running task.
    fn preempt_for_rt(&self, task: &Arc<Task>) {
        let outranks = self.current.as_ref().is_none_or(|cur| {
            !Arc::ptr_eq(cur, task)
                && cur.rt_prio.load(Ordering::Relaxed) < task.rt_prio.load(Ordering::Relaxed)
        });
        if outranks {
            NEED_RESCHED.store(true, Ordering::Relaxed);
        }
    }

    /// Takes `task` out of the run queues if it is there, with its place
    /// among its real-time equals (if it was real-time).
    fn unqueue(&mut self, task: &Task) -> Option<(Arc<Task>, Option<i64>)> {
        let mut found = None;
        self.run_queue.retain(|q| {
            let hit = core::ptr::eq(&*q.task, task);
            if hit {
                found = Some((q.task.clone(), None));
            }
            !hit
        });
        self.rt_queue.retain(|q| {
            let hit = core::ptr::eq(&*q.task, task);
            if hit {
                found = Some((q.task.clone(), Some(q.seq)));
            }
            !hit
        });
        found
    }

    /// Whether the running `cur` keeps the CPU: nothing of a higher
    /// real-time priority waits (nor an equal one when it yields or its
    /// round-robin slice is over); for a fair task, no real-time task and
    /// no fair task with less virtual runtime waits.
    fn keeps_running(&self, cur: &Task, yielding: bool) -> bool {
        let prio = cur.rt_prio.load(Ordering::Relaxed);
        if prio == 0 {
            return (self.rt_queue.is_empty() || self.rt_throttled)
                && self
                    .run_queue
                    .peek()
                    .is_none_or(|q| q.key.0 >= cur.vruntime.load(Ordering::Relaxed));
        }
        if self.rt_throttled && !self.run_queue.is_empty() {
            return false;
        }
        let top = self.rt_queue.peek().map_or(0, |q| q.prio);
        top < prio || (top == prio && !yielding && !self.rr_slice_over(cur))
    }

    /// Notes at `now` that a real-time task ran: if fair tasks have been
    /// waiting for `RT_RUNTIME_NS`, they go first for the rest of the
    /// period.
    fn account_rt(&mut self, now: u64) {
        if self.run_queue.is_empty() {
            self.fair_waiting_since = 0;
        } else if self.fair_waiting_since == 0 {
            self.fair_waiting_since = now;
        } else if !self.rt_throttled && now.saturating_sub(self.fair_waiting_since) >= RT_RUNTIME_NS
        {
            self.rt_throttled = true;
            self.rt_throttled_until = now + (RT_PERIOD_NS - RT_RUNTIME_NS);
        }
    }

    /// Ends the fair tasks' turn if it is over.
    fn end_rt_throttle(&mut self, now: u64) {
        if now >= self.rt_throttled_until {
            self.rt_throttled = false;
            self.fair_waiting_since = 0;
        }
    }

    /// Whether `cur` is round-robin and its slice is over.
    fn rr_slice_over(&self, cur: &Task) -> bool {
        cur.class.load(Ordering::Relaxed) == class::RR
            && crate::arch::x86::tsc::nanos_since_boot() >= RR_SLICE_END.load(Ordering::Relaxed)
    }

    fn insert(&mut self, task: Arc<Task>) {
        let key = (task.vruntime.load(Ordering::Relaxed), task.id);
        self.run_queue.push(Queued { key, task });
    }

    /// Counts `task` among its group's runnable tasks (once).
    fn join(&mut self, task: &Task) {
        if !task.counted.swap(true, Ordering::Relaxed) && !task.is_rt() {
            *self
                .group_load
                .entry(task.group.load(Ordering::Relaxed))
                .or_insert(0) += task.weight.load(Ordering::Relaxed) as u64;
        }
    }

    /// Stops counting `task` (it sleeps or has exited).
    fn leave(&mut self, task: &Task) {
        if task.counted.swap(false, Ordering::Relaxed) && !task.is_rt() {
            let g = task.group.load(Ordering::Relaxed);
            if let Some(n) = self.group_load.get_mut(&g) {
                *n = n.saturating_sub(task.weight.load(Ordering::Relaxed) as u64);
                if *n == 0 {
                    self.group_load.remove(&g);
                }
            }
        }
    }

    /// `ns` of CPU time in `task`'s virtual runtime: times the weight of
    /// its group's runnable tasks over its own weight. With equal weights
    /// that is the number of runnable tasks in the group, so that groups
    /// share equally; within a group, shares follow the weights.
    fn scaled(&self, task: &Task, ns: u64) -> u64 {
        let own = task.weight.load(Ordering::Relaxed).max(1) as u64;
        let g = task.group.load(Ordering::Relaxed);
        let group = self.group_load.get(&g).copied().unwrap_or(own).max(own);
        ns.saturating_mul(group) / own
    }

    /// Charges the CPU time `task` used since it last started running
    /// (and, with `running_again`, restarts the count). A real-time
    /// task's virtual runtime stands still.
    fn charge(&mut self, task: &Task, now: u64, running_again: bool) {
        let ran = task.account(now, running_again);
        if !task.is_rt() {
            task.vruntime
                .fetch_add(self.scaled(task, ran), Ordering::Relaxed);
        } else {
            self.account_rt(now);
        }
    }

    /// The virtual runtime of the running `task`, including its slice so
    /// far.
    fn vruntime_now(&self, task: &Task) -> u64 {
        let ran = task.running_for(crate::arch::x86::tsc::nanos_since_boot());
        task.vruntime.load(Ordering::Relaxed) + self.scaled(task, ran)
    }

    /// Gives the task about to run, `next`, its time slice, in ticks: a
    /// share of the target latency for a fair task, [`RR_TIME_SLICE`] for a
    /// round-robin one (kept if `next` runs on and has some left), no end
    /// for a FIFO one (both pass through the scheduler every few ticks, for
    /// the real-time limit).
    fn start_slice(&self, next: &Task, runs_on: bool) {
        let (ticks, rr_end) = match next.class.load(Ordering::Relaxed) {
            class::FIFO => (FIFO_CHECK_TICKS, 0),
            class::RR if runs_on && !self.rr_slice_over(next) => {
                (FIFO_CHECK_TICKS, RR_SLICE_END.load(Ordering::Relaxed))
            }
            class::RR => {
                let now = crate::arch::x86::tsc::nanos_since_boot();
                (FIFO_CHECK_TICKS, now + RR_TIME_SLICE.as_nanos() as u64)
            }
            _ => (
                slice_ns(self.run_queue.len() + 1).div_ceil(MIN_SLICE_NS) as u32,
                0,
            ),
        };
        SLICE_LEFT.store(ticks, Ordering::Relaxed);
        RR_SLICE_END.store(rr_end, Ordering::Relaxed);
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
            .filter(|c| c.state() == TaskState::Running && !c.is_rt())
            .map(|c| c.vruntime.load(Ordering::Relaxed));
        match (leftmost, running) {
            (Some(a), Some(b)) => a.min(b),
            (Some(v), None) | (None, Some(v)) => v,
            (None, None) => self.min_vruntime,
        }
    }

    /// Takes the real-time task of the highest priority, else the fair
    /// task with the least virtual runtime.
    fn pop_next(&mut self) -> Option<Arc<Task>> {
        // Only runnable tasks are queued. An entry for a task in any other
        // state would be a duplicate left behind; running it could resume
        // an exited task on a stack that another task now uses, so it is
        // dropped (and reported: it is a scheduler bug).
        // While throttled, waiting fair tasks go first.
        while !self.rt_throttled || self.run_queue.is_empty() {
            let Some(RtQueued { task, .. }) = self.rt_queue.pop() else {
                break;
            };
            if task.state() == TaskState::Runnable {
                return Some(task);
            }
            STALE_ENTRIES.fetch_add(1, Ordering::Relaxed);
        }
        let task = loop {
            let Queued { task, .. } = self.run_queue.pop()?;
            if task.state() == TaskState::Runnable {
                break task;
            }
            STALE_ENTRIES.fetch_add(1, Ordering::Relaxed);
        };
        // Fair tasks get the CPU: they no longer wait on real-time ones.
        if self.fair_waiting_since != 0 && !self.rt_throttled {
            self.fair_waiting_since = 0;
        }
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
        schedule(false);
    }
}

/// Gives up the CPU to the other runnable tasks, if any: the caller goes
/// behind all of them (a busy-waiting task must let the one it waits for
/// run, however little CPU time that one has had). A real-time task goes
/// behind the others of its priority only: lower ones still wait.
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
    schedule(true);
}

/// Ends the current task. Its stack is freed after the switch away.
pub fn exit_current() -> ! {
    let _irq = disable_irqs();
    current().set_state(TaskState::Exited);
    schedule(false);
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
    let left = SLICE_LEFT.load(Ordering::Relaxed);
    let rr_end = RR_SLICE_END.load(Ordering::Relaxed);
    if left <= 1 || (rr_end != 0 && crate::arch::x86::tsc::nanos_since_boot() >= rr_end) {
        SLICE_LEFT.store(0, Ordering::Relaxed);
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
        schedule(false);
    }
}

/// Picks the next task and switches to it (`yielding`: the current task
/// asked to go behind its equals). Interrupts must be disabled.
fn schedule(yielding: bool) {
    debug_assert!(!x86_64::instructions::interrupts::are_enabled());
    IN_SCHEDULER.store(true, Ordering::Relaxed);
    pick_and_switch(yielding);
    IN_SCHEDULER.store(false, Ordering::Relaxed);
}

fn pick_and_switch(yielding: bool) {
    NEED_RESCHED.store(false, Ordering::Relaxed);
    loop {
        let mut s = SCHED.lock();
        let Some(cur) = s.current.clone() else { return };
        // The running task's time so far counts before it is compared.
        let now = crate::arch::x86::tsc::nanos_since_boot();
        s.charge(&cur, now, true);
        if s.rt_throttled {
            s.end_rt_throttle(now);
        }
        if matches!(cur.state(), TaskState::Sleeping | TaskState::Exited) {
            s.leave(&cur);
        }
        if matches!(cur.state(), TaskState::Running) && s.keeps_running(&cur, yielding) {
            s.start_slice(&cur, true);
            return;
        }
        let next = s.pop_next();
        let Some(next) = next else {
            if matches!(cur.state(), TaskState::Running | TaskState::Runnable) {
                cur.set_state(TaskState::Running);
                s.start_slice(&cur, true);
                return;
            }
            // Nothing to run: idle until an interrupt wakes someone. The
            // idle time is not charged to the task we idle on behalf of.
            s.charge(&cur, crate::arch::x86::tsc::nanos_since_boot(), false);
            drop(s);
            x86_64::instructions::interrupts::enable_and_hlt();
            x86_64::instructions::interrupts::disable();
            cur.start_running(crate::arch::x86::tsc::nanos_since_boot());
            continue;
        };
        if Arc::ptr_eq(&next, &cur) {
            cur.set_state(TaskState::Running);
            s.start_slice(&cur, false);
            return;
        }
        match cur.state() {
            TaskState::Running => {
                cur.set_state(TaskState::Runnable);
                if cur.is_rt() {
                    // Preempted by a higher priority: first of its own
                    // again; after a yield or a round-robin slice: last.
                    let front = !yielding && !s.rr_slice_over(&cur);
                    s.push_rt(cur.clone(), front);
                } else {
                    s.insert(cur.clone());
                }
            }
            // Woken while it was about to sleep: `wake` already queued it,
            // and queueing it twice would let it run again after exiting.
            TaskState::Runnable => {}
            TaskState::Exited => s.exited = Some(cur.clone()),
            TaskState::Sleeping => {}
        }
        next.set_state(TaskState::Running);
        s.start_slice(&next, false);
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
