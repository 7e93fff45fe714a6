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
//! Each CPU has its own run queue (a [`RunQueue`] behind a spin lock, so
//! interrupts are off while it is held) and its own idle task, which runs
//! when the queue is empty and halts the CPU until an interrupt. A task
//! belongs to the queue of one CPU at a time (`Task::cpu`), changed only
//! with that queue's lock and the new one's held. Work is spread:
//!
//! * a new task goes to the least loaded CPU it may use;
//! * a woken task goes back to its CPU, or to an idle one if its CPU is
//!   busy;
//! * an idle CPU, and every few ticks a busy one, pulls a waiting task from
//!   the busiest queue.
//!
//! A virtual runtime is relative to its queue: a moved task keeps its
//! distance from the queue's `min_vruntime`.
//!
//! A task is never run by two CPUs at once, nor resumed before its state is
//! saved: `Task::on_cpu` is set while a CPU runs it and cleared by that CPU
//! only after it has switched away (on the next task's stack, before it
//! takes any lock); a CPU that picks a task still marked waits for the mark
//! to clear. Going to sleep is decided under the queue's lock, where a
//! waker also looks (see `sleep_until_woken`), so no wake-up is lost
//! between CPUs. A task that exited is freed by the next task on its CPU,
//! right after the switch.

use alloc::collections::{BTreeMap, BinaryHeap};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::{Task, TaskState, switch};
use crate::cpu::MAX_CPUS;
use crate::mm::VmSpace;
use crate::sync::{SpinLock, SpinLockGuard, disable_irqs};

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
type FairQueue = BinaryHeap<Queued>;

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

/// One CPU's run queues and the state of its scheduling.
struct RunQueue {
    /// The CPU this queue belongs to.
    cpu: usize,
    run_queue: FairQueue,
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
    /// group on this CPU (absent: none).
    group_load: BTreeMap<u64, u64>,
    /// Never decreases: the virtual runtime of the last task picked; the
    /// reference for placing tasks when nothing else is runnable.
    min_vruntime: u64,
    /// The task running on the CPU (its idle task when there is nothing
    /// else), and the idle task.
    current: Option<Arc<Task>>,
    idle: Option<Arc<Task>>,
    /// The address space loaded in CR3, kept alive while loaded.
    loaded_space: Option<Arc<VmSpace>>,
}

impl RunQueue {
    const fn new(cpu: usize) -> Self {
        Self {
            cpu,
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
            idle: None,
            loaded_space: None,
        }
    }

    /// Tasks waiting in the queues.
    fn queued(&self) -> usize {
        self.run_queue.len() + self.rt_queue.len()
    }

    /// Publishes the figures that other CPUs read without the lock.
    fn publish(&self) {
        let cs = &CPU_SCHED[self.cpu];
        cs.nr_queued.store(self.queued(), Ordering::Relaxed);
        let idle = self.current.as_ref().is_none_or(|c| c.is_idle);
        cs.idle.store(idle, Ordering::Relaxed);
    }
}

/// The run queues, by CPU (each learns its CPU's number when the CPU
/// starts).
static RQS: [SpinLock<RunQueue>; MAX_CPUS] = [const { SpinLock::new(RunQueue::new(0)) }; MAX_CPUS];

/// A CPU's scheduling flags, read and written without its queue's lock.
struct CpuSched {
    /// Ticks left in the running task's slice.
    slice_left: AtomicU32,
    /// When the running round-robin task's slice ends (ns since boot; 0:
    /// the running task is not round-robin). By the clock, not by ticks:
    /// under emulation ticks come late, and the slice is a duration.
    rr_slice_end: AtomicU64,
    /// Tasks waiting in the queues, and whether the CPU runs its idle
    /// task: for placing tasks and balancing.
    nr_queued: AtomicUsize,
    idle: AtomicBool,
    /// The task the CPU switched away from, as `Arc::into_raw`: finished
    /// by `finish_switch` on the next task's stack.
    prev: AtomicPtr<Task>,
    /// Ticks until the next balancing of a busy CPU.
    balance_in: AtomicU32,
}

static CPU_SCHED: [CpuSched; MAX_CPUS] = [const {
    CpuSched {
        slice_left: AtomicU32::new(1),
        rr_slice_end: AtomicU64::new(0),
        nr_queued: AtomicUsize::new(0),
        idle: AtomicBool::new(true),
        prev: AtomicPtr::new(core::ptr::null_mut()),
        balance_in: AtomicU32::new(BALANCE_TICKS),
    }
}; MAX_CPUS];

/// The capacity an idle CPU's empty run queue keeps.
const IDLE_QUEUE_KEEP: usize = 64;

/// A busy CPU looks for a task to pull every this many ticks.
const BALANCE_TICKS: u32 = 4;

/// Stale run-queue entries dropped (see `pop_next`), reported once the
/// scheduler's lock is released.
static STALE_ENTRIES: AtomicU32 = AtomicU32::new(0);

/// The running CPU's number; interrupts must be off for it to stay true.
fn this_cpu() -> usize {
    crate::cpu::this_cpu_index()
}

/// Locks the queue `task` belongs to.
fn lock_task_rq(task: &Task) -> SpinLockGuard<'static, RunQueue> {
    loop {
        let cpu = task.cpu.load(Ordering::Acquire) as usize;
        let rq = RQS[cpu].lock();
        // The task moves only with its queue's lock held.
        if task.cpu.load(Ordering::Relaxed) as usize == cpu {
            return rq;
        }
    }
}

/// Locks the queues of two different CPUs, in the order of their numbers
/// (so that two CPUs locking the same pair cannot deadlock); returns the
/// guards as `(a, b)`.
fn lock_two(
    a: usize,
    b: usize,
) -> (
    SpinLockGuard<'static, RunQueue>,
    SpinLockGuard<'static, RunQueue>,
) {
    debug_assert_ne!(a, b);
    if a < b {
        let ga = RQS[a].lock();
        (ga, RQS[b].lock())
    } else {
        let gb = RQS[b].lock();
        (RQS[a].lock(), gb)
    }
}

/// Asks CPU `cpu` to reschedule (at once, by an interrupt, if it is not
/// the running CPU).
fn resched(cpu: usize) {
    crate::cpu::cpu(cpu)
        .need_resched
        .store(true, Ordering::Release);
    if cpu != this_cpu() {
        crate::smp::send_reschedule(cpu);
    }
}

/// Moves `task` (runnable, in no queue, with both locks held) from queue
/// `from` to queue `to`, keeping its distance to their `min_vruntime`.
fn migrate(task: &Task, from: &mut RunQueue, to: &mut RunQueue) {
    let counted = task.counted.load(Ordering::Relaxed);
    if counted {
        from.leave(task);
    }
    let vr = task.vruntime.load(Ordering::Relaxed);
    let vr = vr
        .saturating_sub(from.min_vruntime)
        .saturating_add(to.min_vruntime);
    task.vruntime.store(vr, Ordering::Relaxed);
    task.cpu.store(to.cpu as u32, Ordering::Release);
    if counted {
        to.join(task);
    }
}

/// The CPU with the fewest tasks among those `task` may run on (`prefer`
/// on a tie).
fn least_loaded_cpu(task: &Task, prefer: usize) -> usize {
    if crate::cpu::num_cpus() == 1 {
        return prefer;
    }
    // Waiting tasks weigh more than a running one: a CPU with one task
    // running and none waiting is the better place.
    let load = |c: usize| CPU_SCHED[c].nr_queued.load(Ordering::Relaxed) + nr_running(c);
    let mut best = prefer;
    let mut best_load = if task.may_run_on(prefer) {
        load(prefer)
    } else {
        usize::MAX
    };
    for c in 0..crate::cpu::num_cpus() {
        if c != prefer && crate::cpu::cpu(c).is_online() && task.may_run_on(c) {
            let l = load(c);
            if l < best_load {
                best = c;
                best_load = l;
            }
        }
    }
    best
}

/// Tasks runnable on CPU `c`: those waiting and the one running (read
/// without its queue's lock).
fn nr_running(c: usize) -> usize {
    let cs = &CPU_SCHED[c];
    cs.nr_queued.load(Ordering::Relaxed) + usize::from(!cs.idle.load(Ordering::Relaxed))
}

/// Where a woken `task` that last ran on `last` should run: there if it
/// is idle, else on an idle CPU, else there (or anywhere allowed).
fn wake_cpu(task: &Task, last: usize) -> usize {
    if crate::cpu::num_cpus() == 1 {
        return last;
    }
    if task.may_run_on(last) && CPU_SCHED[last].idle.load(Ordering::Relaxed) {
        return last;
    }
    let idle = (0..crate::cpu::num_cpus()).find(|&c| {
        c != last
            && crate::cpu::cpu(c).is_online()
            && task.may_run_on(c)
            && CPU_SCHED[c].idle.load(Ordering::Relaxed)
            && CPU_SCHED[c].nr_queued.load(Ordering::Relaxed) == 0
    });
    match idle {
        Some(c) => c,
        None if task.may_run_on(last) => last,
        None => least_loaded_cpu(task, last),
    }
}

/// Turns the boot context into the first task of the bootstrap processor,
/// and gives that CPU its idle task.
pub(crate) fn init_boot_task() {
    let task = Arc::new(Task::new_raw(0, None, None, false));
    let idle = super::TaskOptions::new(|| idle_loop())
        .build_with(true)
        .expect("ostd: no memory for the idle task");
    idle.set_state(TaskState::Runnable);
    start_on_this_cpu(task, idle);
}

/// Makes the running context of an application processor its idle task,
/// and runs it. Interrupts are off.
pub(crate) fn run_ap_idle() -> ! {
    let idle = Arc::new(Task::new_raw(0, None, None, true));
    start_on_this_cpu(idle.clone(), idle);
    crate::cpu::set_online();
    idle_loop()
}

fn start_on_this_cpu(task: Arc<Task>, idle: Arc<Task>) {
    let cpu = this_cpu();
    task.cpu.store(cpu as u32, Ordering::Relaxed);
    idle.cpu.store(cpu as u32, Ordering::Relaxed);
    task.on_cpu.store(true, Ordering::Relaxed);
    task.set_state(TaskState::Running);
    task.start_running(crate::arch::x86::tsc::nanos_since_boot());
    crate::cpu::this_cpu()
        .current_task
        .store(Arc::as_ptr(&task).cast_mut(), Ordering::Release);
    crate::cpu::this_cpu().stats.start();
    let mut rq = RQS[cpu].lock();
    rq.cpu = cpu;
    if !task.is_idle {
        rq.join(&task);
    }
    rq.current = Some(task);
    rq.idle = Some(idle);
    rq.publish();
}

pub(super) fn current() -> Arc<Task> {
    try_current().expect("ostd: no current task before the scheduler is up")
}

pub(super) fn try_current() -> Option<Arc<Task>> {
    let p = crate::cpu::current_task_ptr();
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` was read in one instruction from the area of the CPU
    // executing this code, where the scheduler stores the task it switches
    // to before switching: it is the task running this code, made by
    // `Arc::into_raw`-compatible `Arc::as_ptr`, and alive while it runs
    // (its queue holds it as `current`, or, while it switches away, the
    // CPU's `prev` slot does).
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}

/// Runs `f` on the running task without touching its reference count.
pub(crate) fn with_current<R>(f: impl FnOnce(&Task) -> R) -> Option<R> {
    let p = crate::cpu::current_task_ptr();
    // SAFETY: as in `try_current`: the task running this code is alive
    // during the call.
    unsafe { p.as_ref() }.map(f)
}

/// Makes a new task runnable, after the tasks already waiting, on the
/// least loaded CPU it may use.
pub(super) fn enqueue(task: Arc<Task>) {
    let _irq = disable_irqs();
    let here = this_cpu();
    let cpu = least_loaded_cpu(&task, here);
    task.cpu.store(cpu as u32, Ordering::Release);
    let mut rq = RQS[cpu].lock();
    rq.join(&task);
    if task.is_rt() {
        rq.preempt_for_rt(&task);
        rq.push_rt(task, false);
    } else {
        // A new task starts one (weighted) slice after the least virtual
        // runtime, so that it waits its turn (Linux's `START_DEBIT`): a
        // group that forks without end puts its new tasks behind everyone
        // else.
        let debit = rq.scaled(&task, slice_ns(rq.run_queue.len() + 2));
        task.vruntime
            .store(rq.reference().saturating_add(debit), Ordering::Relaxed);
        rq.insert(task);
    }
    rq.publish();
    let kick = CPU_SCHED[cpu].idle.load(Ordering::Relaxed)
        || crate::cpu::cpu(cpu).need_resched.load(Ordering::Relaxed);
    drop(rq);
    if kick {
        resched(cpu);
    }
}

/// Makes a sleeping task runnable. Returns whether it was sleeping.
pub(super) fn wake(task: &Arc<Task>) -> bool {
    let _irq = disable_irqs();
    loop {
        let last = task.cpu.load(Ordering::Acquire) as usize;
        let target = wake_cpu(task, last);
        let (mut src, mut dst) = if target == last {
            (RQS[last].lock(), None)
        } else {
            let (a, b) = lock_two(last, target);
            (a, Some(b))
        };
        if task.cpu.load(Ordering::Relaxed) as usize != last {
            continue;
        }
        if task.state() != TaskState::Sleeping {
            return false;
        }
        task.set_state(TaskState::Runnable);
        let rq = match dst.as_mut() {
            Some(dst) => {
                migrate(task, &mut src, dst);
                dst
            }
            None => &mut src,
        };
        rq.join(task);
        if task.is_rt() {
            rq.preempt_for_rt(task);
            rq.push_rt(task.clone(), false);
        } else {
            let placed = rq.reference().saturating_sub(SLEEPER_CREDIT_NS);
            let vr = task.vruntime.load(Ordering::Relaxed).max(placed);
            task.vruntime.store(vr, Ordering::Relaxed);
            rq.insert(task.clone());
            // Preempt the running task if the woken one is well behind it;
            // never a real-time one, and `SCHED_BATCH`/`SCHED_IDLE` tasks
            // do not preempt, as on Linux (a `SCHED_IDLE` one is preempted
            // by any other).
            let wakee_class = task.class.load(Ordering::Relaxed);
            let preempt = rq.current.as_ref().is_none_or(|cur| {
                let cur_class = cur.class.load(Ordering::Relaxed);
                cur.is_idle
                    || (!Arc::ptr_eq(cur, task)
                        && cur_class <= class::IDLE
                        && wakee_class == class::NORMAL
                        && (cur_class == class::IDLE
                            || vr.saturating_add(WAKEUP_GRANULARITY_NS) < rq.vruntime_now(cur)))
            });
            if preempt {
                crate::cpu::cpu(rq.cpu)
                    .need_resched
                    .store(true, Ordering::Relaxed);
            }
        }
        rq.publish();
        let cpu = rq.cpu;
        let kick = crate::cpu::cpu(cpu).need_resched.load(Ordering::Relaxed);
        drop(dst);
        drop(src);
        if kick {
            resched(cpu);
        }
        return true;
    }
}

/// Moves `task` to scheduling group `group` (the kernel's sessions).
pub(super) fn set_group(task: &Task, group: u64) {
    let mut rq = lock_task_rq(task);
    let counted = task.counted.load(Ordering::Relaxed);
    if counted {
        rq.leave(task);
    }
    task.group.store(group, Ordering::Relaxed);
    if counted {
        rq.join(task);
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
    let mut s = lock_task_rq(task);
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
    s.publish();
    // Whatever changed, the next pick decides again.
    let cpu = s.cpu;
    drop(s);
    resched(cpu);
}

/// Restricts `task` to the CPUs in `mask` (bit `n`: CPU `n`). A queued task
/// moves at once; a running one at its next preemption point. Returns
/// false, changing nothing, if no online CPU is in the mask.
pub(super) fn set_affinity(task: &Task, mask: u64) -> bool {
    if mask & crate::cpu::online_mask() == 0 {
        return false;
    }
    let _irq = disable_irqs();
    task.affinity.store(mask, Ordering::Release);
    loop {
        let cpu = task.cpu.load(Ordering::Acquire) as usize;
        if task.may_run_on(cpu) {
            return true;
        }
        let target = least_loaded_cpu(task, cpu);
        let (mut src, mut dst) = lock_two(cpu, target);
        if task.cpu.load(Ordering::Relaxed) as usize != cpu {
            continue;
        }
        let running = src
            .current
            .as_ref()
            .is_some_and(|c| core::ptr::eq(&**c, task));
        if running {
            // It moves when it is switched out (see `schedule`).
            drop((src, dst));
            resched(cpu);
            return true;
        }
        match src.unqueue(task) {
            Some((t, seq)) => {
                migrate(&t, &mut src, &mut dst);
                if t.is_rt() {
                    dst.push_rt(t, seq.is_some_and(|s| s < 0));
                } else {
                    dst.insert(t);
                }
                src.publish();
                dst.publish();
                drop((src, dst));
                resched(target);
            }
            None if task.state() == TaskState::Sleeping => {
                // A sleeping task just changes queues; `wake` puts it on
                // an allowed CPU anyway.
                migrate(task, &mut src, &mut dst);
            }
            // Being switched out and moved (see `finish_switch`).
            None => {}
        }
        return true;
    }
}

/// The time slice a fair task gets now (what `sched_rr_get_interval`
/// reports for one).
pub fn fair_time_slice() -> core::time::Duration {
    let n = RQS[this_cpu()].lock().run_queue.len() + 1;
    core::time::Duration::from_nanos(slice_ns(n))
}

fn nice_weight(nice: i8) -> u32 {
    NICE_TO_WEIGHT[(nice.clamp(-20, 19) + 20) as usize]
}

impl RunQueue {
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
            cur.is_idle
                || (!Arc::ptr_eq(cur, task)
                    && cur.rt_prio.load(Ordering::Relaxed) < task.rt_prio.load(Ordering::Relaxed))
        });
        if outranks {
            crate::cpu::cpu(self.cpu)
                .need_resched
                .store(true, Ordering::Relaxed);
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
            && crate::arch::x86::tsc::nanos_since_boot()
                >= CPU_SCHED[self.cpu].rr_slice_end.load(Ordering::Relaxed)
    }

    /// Queues a runnable task: real-time ones behind their equals.
    fn insert_any(&mut self, task: Arc<Task>) {
        if task.is_rt() {
            self.push_rt(task, false);
        } else {
            self.insert(task);
        }
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
            class::RR if runs_on && !self.rr_slice_over(next) => (
                FIFO_CHECK_TICKS,
                CPU_SCHED[self.cpu].rr_slice_end.load(Ordering::Relaxed),
            ),
            class::RR => {
                let now = crate::arch::x86::tsc::nanos_since_boot();
                (FIFO_CHECK_TICKS, now + RR_TIME_SLICE.as_nanos() as u64)
            }
            _ => (
                slice_ns(self.run_queue.len() + 1).div_ceil(MIN_SLICE_NS) as u32,
                0,
            ),
        };
        let cs = &CPU_SCHED[self.cpu];
        cs.slice_left.store(ticks, Ordering::Relaxed);
        cs.rr_slice_end.store(rr_end, Ordering::Relaxed);
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
            .filter(|c| c.state() == TaskState::Running && !c.is_rt() && !c.is_idle)
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
/// Sleeps until `task` (the current task) has a wake-up pending, and
/// consumes it. The decision to sleep is taken under the queue's lock, with
/// the wake-up flag read there: a waker sets the flag before it takes the
/// same lock, so either the sleeper sees the flag, or the waker finds the
/// task asleep and wakes it.
pub(super) fn sleep_until_woken(task: &Arc<Task>) {
    let _irq = disable_irqs();
    while !task.wakeup_pending.swap(false, Ordering::AcqRel) {
        schedule(Switch::Sleep);
    }
}

/// Gives up the CPU to the other runnable tasks, if any: the caller goes
/// behind all of them (a busy-waiting task must let the one it waits for
/// run, however little CPU time that one has had). A real-time task goes
/// behind the others of its priority only: lower ones still wait.
pub fn yield_now() {
    let _irq = disable_irqs();
    {
        let rq = RQS[this_cpu()].lock();
        let last = rq.run_queue.iter().map(|q| q.key.0).max();
        if let (Some(cur), Some(last)) = (&rq.current, last) {
            let vr = cur.vruntime.load(Ordering::Relaxed);
            cur.vruntime.store(vr.max(last + 1), Ordering::Relaxed);
        }
    }
    schedule(Switch::Yield);
}

/// Ends the current task. Its stack is freed after the switch away.
pub fn exit_current() -> ! {
    let _irq = disable_irqs();
    schedule(Switch::Exit);
    unreachable!("an exited task was scheduled again");
}

/// Sets the current task's address space and loads it.
pub(crate) fn set_current_vm_space(space: Arc<VmSpace>) {
    let _irq = disable_irqs();
    let mut rq = RQS[this_cpu()].lock();
    if let Some(cur) = rq.current.clone() {
        *cur.vm_space.lock() = Some(space.clone());
    }
    let old = load_space(&mut rq, Some(space));
    drop(rq);
    drop(old);
}

/// Loads `space` (the kernel's page table for `None`) on the queue's CPU,
/// the running one, and returns the space loaded before, to be dropped
/// once the lock is released.
fn load_space(rq: &mut RunQueue, space: Option<Arc<VmSpace>>) -> Option<Arc<VmSpace>> {
    let same = match (&space, &rq.loaded_space) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    };
    if same {
        return None;
    }
    match &space {
        Some(s) => s.load_on(rq.cpu),
        None => crate::mm::load_kernel_root(),
    }
    let old = core::mem::replace(&mut rq.loaded_space, space);
    if let Some(old) = &old {
        old.unloaded_from(rq.cpu);
    }
    old
}

/// Called on every timer tick of every CPU (interrupts disabled).
pub(crate) fn tick() {
    let cpu = this_cpu();
    let cs = &CPU_SCHED[cpu];
    let idle = super::stats::idling();
    if let Some(rq) = RQS[cpu].try_lock() {
        let user = super::stats::in_user_mode();
        if let Some(cur) = rq.current.as_ref().filter(|c| !idle && !c.is_idle) {
            let counter = if user {
                &cur.user_ticks
            } else {
                &cur.system_ticks
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        super::stats::tick(idle, user);
    }
    if cpu == 0 {
        let running = (0..crate::cpu::num_cpus()).map(nr_running).sum();
        super::stats::sample_load(running);
    }

    let left = cs.slice_left.load(Ordering::Relaxed);
    let rr_end = cs.rr_slice_end.load(Ordering::Relaxed);
    if left <= 1 || (rr_end != 0 && crate::arch::x86::tsc::nanos_since_boot() >= rr_end) {
        cs.slice_left.store(0, Ordering::Relaxed);
        crate::cpu::cpu(cpu)
            .need_resched
            .store(true, Ordering::Relaxed);
    } else {
        cs.slice_left.store(left - 1, Ordering::Relaxed);
    }
    let balance_in = cs.balance_in.load(Ordering::Relaxed);
    if balance_in <= 1 {
        cs.balance_in.store(BALANCE_TICKS, Ordering::Relaxed);
        if crate::cpu::num_cpus() > 1 && pull_task(cpu) {
            crate::cpu::cpu(cpu)
                .need_resched
                .store(true, Ordering::Relaxed);
        }
    } else {
        cs.balance_in.store(balance_in - 1, Ordering::Relaxed);
    }
}

/// Pulls one waiting task from the busiest other CPU to `cpu` (the running
/// one), if that evens the load out; returns whether it did.
fn pull_task(cpu: usize) -> bool {
    let mine = nr_running(cpu);
    let busiest = (0..crate::cpu::num_cpus())
        .filter(|&c| c != cpu && crate::cpu::cpu(c).is_online())
        .map(|c| (CPU_SCHED[c].nr_queued.load(Ordering::Relaxed), c))
        .max();
    // The busiest CPU runs one task and has `queued` waiting: moving one
    // here helps if it leaves it no less loaded than this CPU.
    let Some((queued, src)) = busiest.filter(|&(q, _)| q >= 1 && q + 1 > mine + 1) else {
        return false;
    };
    let _ = queued;
    let (mut here, mut there) = lock_two(cpu, src);
    // Look at the first few waiting tasks there for one that may run here
    // and is not still being switched out (real-time ones first).
    let mut found: Option<(Arc<Task>, Option<i64>)> = None;
    let mut skipped: [Option<RtQueued>; 4] = [const { None }; 4];
    for slot in skipped.iter_mut() {
        let Some(q) = there.rt_queue.pop() else { break };
        if q.task.may_run_on(cpu) && !q.task.on_cpu.load(Ordering::Acquire) {
            found = Some((q.task, Some(q.seq)));
            break;
        }
        *slot = Some(q);
    }
    for q in skipped.into_iter().flatten() {
        there.rt_queue.push(q);
    }
    if found.is_none() {
        let mut skipped: [Option<Queued>; 4] = [const { None }; 4];
        for slot in skipped.iter_mut() {
            let Some(q) = there.run_queue.pop() else {
                break;
            };
            if q.task.may_run_on(cpu) && !q.task.on_cpu.load(Ordering::Acquire) {
                found = Some((q.task, None));
                break;
            }
            *slot = Some(q);
        }
        for q in skipped.into_iter().flatten() {
            there.run_queue.push(q);
        }
    }
    let Some((task, seq)) = found else {
        return false;
    };
    migrate(&task, &mut there, &mut here);
    match seq {
        Some(seq) => {
            let prio = task.rt_prio.load(Ordering::Relaxed);
            here.rt_queue.push(RtQueued { prio, seq, task });
        }
        None => here.insert(task),
    }
    here.publish();
    there.publish();
    true
}

/// The idle task of each CPU: runs whatever becomes runnable, pulls work
/// from busy CPUs, and otherwise halts until an interrupt.
fn idle_loop() -> ! {
    loop {
        let irq = disable_irqs();
        let cpu = this_cpu();
        let cs = &CPU_SCHED[cpu];
        let work = crate::cpu::cpu(cpu).need_resched.load(Ordering::Acquire)
            || cs.nr_queued.load(Ordering::Relaxed) > 0
            || (crate::cpu::num_cpus() > 1 && pull_task(cpu));
        if work {
            schedule(Switch::Preempt);
        } else {
            // The idle task runs on whatever space was loaded; one that
            // nothing else holds any more (its process is gone) is let go
            // of before halting, so that its memory comes back now.
            let (dead_space, queues) = {
                let mut rq = RQS[cpu].lock();
                let dead = if rq
                    .loaded_space
                    .as_ref()
                    .is_some_and(|s| Arc::strong_count(s) == 1)
                {
                    load_space(&mut rq, None)
                } else {
                    None
                };
                // Queues keep their capacity so that a switch allocates
                // nothing; one that a burst (a fork bomb) made large is
                // given back once it is empty again.
                let big = rq.run_queue.capacity() > IDLE_QUEUE_KEEP
                    || rq.rt_queue.capacity() > IDLE_QUEUE_KEEP;
                let queues = (big && rq.queued() == 0).then(|| {
                    (
                        core::mem::take(&mut rq.run_queue),
                        core::mem::take(&mut rq.rt_queue),
                    )
                });
                (dead, queues)
            };
            drop(dead_space);
            drop(queues);
            let idle = super::stats::IdlePeriod::start();
            // `sti; hlt`: an interrupt that makes work arrives after the
            // check above still ends the halt.
            x86_64::instructions::interrupts::enable_and_hlt();
            x86_64::instructions::interrupts::disable();
            drop(idle);
        }
        drop(irq);
    }
}

/// Switches tasks if the time slice is over or a task was woken. Called
/// where preemption is safe: on the way out of an interrupt that hit code
/// running with interrupts enabled, and before returning to user mode.
#[inline]
pub(crate) fn preempt_if_needed() {
    if crate::cpu::need_resched_here() {
        preempt();
    }
}

#[cold]
fn preempt() {
    let _irq = disable_irqs();
    schedule(Switch::Preempt);
}

/// Why the running task calls the scheduler.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Switch {
    /// Its slice is over or another task should run: it stays runnable.
    Preempt,
    /// It asked to go behind its equals.
    Yield,
    /// It sleeps unless a wake-up is pending.
    Sleep,
    /// It has exited.
    Exit,
}

/// Picks the next task of this CPU and switches to it. Interrupts must be
/// disabled.
fn schedule(why: Switch) {
    debug_assert!(!x86_64::instructions::interrupts::are_enabled());
    let cpu = this_cpu();
    let cs = &CPU_SCHED[cpu];
    crate::cpu::cpu(cpu)
        .need_resched
        .store(false, Ordering::Relaxed);
    let mut rq = RQS[cpu].lock();
    let Some(cur) = rq.current.clone() else {
        return;
    };
    let now = crate::arch::x86::tsc::nanos_since_boot();
    if !cur.is_idle {
        rq.charge(&cur, now, true);
    }
    if rq.rt_throttled {
        rq.end_rt_throttle(now);
    }
    match why {
        Switch::Sleep => {
            if cur.wakeup_pending.load(Ordering::Acquire) {
                return;
            }
            cur.set_state(TaskState::Sleeping);
            rq.leave(&cur);
        }
        Switch::Exit => {
            cur.set_state(TaskState::Exited);
            rq.leave(&cur);
        }
        Switch::Preempt | Switch::Yield => {}
    }
    let running = matches!(why, Switch::Preempt | Switch::Yield);
    // A running task whose affinity no longer has this CPU must go.
    let must_move = running && !cur.is_idle && !cur.may_run_on(cpu);
    if running && !must_move {
        let keeps = if cur.is_idle {
            rq.queued() == 0
        } else {
            rq.keeps_running(&cur, why == Switch::Yield)
        };
        if keeps {
            if !cur.is_idle {
                rq.start_slice(&cur, true);
            }
            return;
        }
    }
    let next = match rq.pop_next() {
        Some(next) => next,
        None if running && !must_move => {
            if !cur.is_idle {
                rq.start_slice(&cur, true);
            }
            return;
        }
        None => match rq.idle.clone() {
            Some(idle) => idle,
            None => return,
        },
    };
    if Arc::ptr_eq(&next, &cur) {
        cur.set_state(TaskState::Running);
        rq.start_slice(&cur, false);
        rq.publish();
        return;
    }

    if cur.is_idle {
        super::stats::end_idle();
    } else {
        let switches = if running {
            &cur.involuntary_switches
        } else {
            &cur.voluntary_switches
        };
        switches.fetch_add(1, Ordering::Relaxed);
        super::stats::count_switch();
    }
    if running {
        cur.set_state(TaskState::Runnable);
        if must_move {
            // Queued on an allowed CPU once switched out (`finish_switch`).
            cur.migrate_pending.store(true, Ordering::Relaxed);
        } else if cur.is_idle {
            // The idle task is never queued.
        } else if cur.is_rt() {
            // Preempted by a higher priority: first of its own again;
            // after a yield or a round-robin slice: last.
            let front = why != Switch::Yield && !rq.rr_slice_over(&cur);
            rq.push_rt(cur.clone(), front);
        } else {
            rq.insert(cur.clone());
        }
    }

    // `next` may still be switching out on the CPU it ran on before (it
    // was queued here by a wake-up or a pull meanwhile): that CPU clears
    // the mark right after its switch, without taking any lock, so this
    // wait is short.
    while next.on_cpu.load(Ordering::Acquire) {
        crate::smp::answer_requests();
        core::hint::spin_loop();
    }
    next.on_cpu.store(true, Ordering::Relaxed);
    next.set_state(TaskState::Running);
    if !next.is_idle {
        rq.start_slice(&next, false);
    }
    let now = crate::arch::x86::tsc::nanos_since_boot();
    if !cur.is_idle {
        rq.charge(&cur, now, false);
    }
    next.start_running(now);

    // A task runs on the space it activated, or on the kernel's page table
    // if it has none: user copies rely on "the loaded space is the current
    // task's" (see `VmSpace::is_active`). The idle task keeps whatever is
    // loaded (it touches no user memory). The space that was loaded before
    // is dropped outside the lock.
    let previous_space = if next.is_idle {
        None
    } else {
        let space = next.vm_space.lock().clone();
        load_space(&mut rq, space)
    };
    crate::user::save_fpu_on_switch();
    let save_to = cur.saved_rsp.get();
    // SAFETY: `next` is not running anywhere (it came off this CPU's queue,
    // or is this CPU's idle task, and its `on_cpu` mark is clear), so its
    // saved stack pointer is stable.
    let load = unsafe { *next.saved_rsp.get() };
    crate::cpu::this_cpu()
        .current_task
        .store(Arc::as_ptr(&next).cast_mut(), Ordering::Release);
    rq.current = Some(next);
    rq.publish();
    // `cur` stays alive in the CPU's `prev` slot until the next task has
    // switched away from its stack.
    cs.prev
        .store(Arc::into_raw(cur).cast_mut(), Ordering::Relaxed);
    drop(rq);
    drop(previous_space);
    // SAFETY: interrupts are off; `save_to` belongs to the task running now
    // (kept alive by the `prev` slot), and `load` was saved by a switch or
    // prepared for a new task whose stack the task itself owns.
    unsafe { switch::switch(save_to, load) };
    finish_switch();
}

/// Work to do right after a switch, on the new task's stack: releases the
/// task switched away from (its `on_cpu` mark first), frees it if it
/// exited, and queues it on another CPU if it had to move.
pub(super) fn finish_switch() {
    let cpu = this_cpu();
    let p = CPU_SCHED[cpu]
        .prev
        .swap(core::ptr::null_mut(), Ordering::Relaxed);
    if !p.is_null() {
        // SAFETY: `schedule` stored this pointer with `Arc::into_raw` just
        // before switching here, and nothing else takes it.
        let prev = unsafe { Arc::from_raw(p) };
        prev.on_cpu.store(false, Ordering::Release);
        if prev.migrate_pending.load(Ordering::Relaxed) {
            prev.migrate_pending.store(false, Ordering::Relaxed);
            requeue_elsewhere(&prev, cpu);
        }
        drop(prev);
    }
    if STALE_ENTRIES.load(Ordering::Relaxed) > 0 {
        let stale = STALE_ENTRIES.swap(0, Ordering::Relaxed);
        log::error!("scheduler: dropped {stale} stale run-queue entries (a bug)");
    }
}

/// Queues `task`, switched out of CPU `from` because its affinity excludes
/// that CPU, on a CPU it may use.
fn requeue_elsewhere(task: &Arc<Task>, from: usize) {
    loop {
        let target = least_loaded_cpu(task, from);
        if target == from {
            // The affinity changed back meanwhile.
            // (A runnable task in no queue: nothing else queues it.)
            let mut rq = RQS[from].lock();
            if task.state() == TaskState::Runnable {
                rq.insert_any(task.clone());
                rq.publish();
            }
            return;
        }
        let (mut src, mut dst) = lock_two(from, target);
        if task.cpu.load(Ordering::Relaxed) as usize != from {
            continue;
        }
        if task.state() == TaskState::Runnable {
            migrate(task, &mut src, &mut dst);
            dst.insert_any(task.clone());
            dst.publish();
        }
        drop((src, dst));
        resched(target);
        return;
    }
}
