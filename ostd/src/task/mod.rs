//! Kernel tasks and the scheduler.
//!
//! A [`Task`] is a kernel thread of control with its own stack. The kernel
//! builds its threads on tasks, attaching its own data. Scheduling is fair
//! (the runnable task that has had the least CPU time runs next, see
//! `scheduler`), with a time slice of a few timer ticks: the timer interrupt
//! marks the running task for rescheduling, and the switch happens when the
//! interrupt returns to code that had interrupts enabled, or before
//! returning to user mode.

mod scheduler;
pub mod stats;
mod switch;

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::any::Any;
use core::cell::UnsafeCell;
use core::panic::Location;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, Ordering};

pub use scheduler::{RR_TIME_SLICE, SchedPolicy, exit_current, fair_time_slice, yield_now};
pub(crate) use scheduler::{
    init_boot_task, preempt_if_needed, run_ap_idle, set_current_vm_space, tick, with_current,
};

use crate::mm::{KernelStack, VmSpace};
use crate::sync::SpinLock;

/// Size of a kernel task stack.
pub const KERNEL_STACK_SIZE: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum TaskState {
    Runnable = 0,
    Running = 1,
    Sleeping = 2,
    Exited = 3,
}

/// A kernel task.
pub struct Task {
    id: u64,
    /// Saved stack pointer while switched out; touched only by the switch.
    saved_rsp: UnsafeCell<u64>,
    /// Owned so that it is freed with the task (the boot task has none).
    _stack: Option<KernelStack>,
    state: AtomicU8,
    wakeup_pending: AtomicBool,
    entry: SpinLock<Option<Box<dyn FnOnce() + Send>>>,
    data: Box<dyn Any + Send + Sync>,
    vm_space: SpinLock<Option<Arc<VmSpace>>>,
    /// CPU time used, in nanoseconds, up to `ran_since`.
    cpu_ns: AtomicU64,
    /// When the task last started running (ns since boot).
    ran_since: AtomicU64,
    /// Virtual runtime: the scheduler's measure of CPU time received (see
    /// `scheduler`). Changed only by the scheduler, under its lock.
    vruntime: AtomicU64,
    /// The scheduling group (see `scheduler`).
    group: AtomicU64,
    /// Whether the task is counted in its group's load (runnable or
    /// running); changed only by the scheduler, under its lock.
    counted: AtomicBool,
    /// Where the task sleeps, while it sleeps in a [`WaitQueue`] or on a
    /// [`Mutex`](crate::sync::Mutex): null, or a `&'static Location`.
    ///
    /// [`WaitQueue`]: crate::sync::WaitQueue
    wait_site: AtomicPtr<Location<'static>>,
    /// The policy (`scheduler::class`), real-time priority (0 for the fair
    /// policies) and weight; changed only by the scheduler, under its
    /// lock.
    class: AtomicU8,
    rt_prio: AtomicU8,
    weight: AtomicU32,
    /// Switches away from the task because it slept (voluntary) or was
    /// preempted (involuntary).
    voluntary_switches: AtomicU64,
    involuntary_switches: AtomicU64,
    /// Timer ticks that found the task running in user mode, and in the
    /// kernel: how its CPU time splits between the two.
    user_ticks: AtomicU64,
    system_ticks: AtomicU64,
    /// The CPU whose run queue the task belongs to (the one it runs or
    /// last ran on); changed only with that queue's lock held.
    cpu: AtomicU32,
    /// Set while a CPU runs the task, until that CPU has switched away
    /// from it (see `scheduler`).
    on_cpu: AtomicBool,
    /// Switched out because its affinity excludes its CPU: to be queued on
    /// another.
    migrate_pending: AtomicBool,
    /// The CPUs the task may run on (bit `n`: CPU `n`).
    affinity: AtomicU64,
    /// A CPU's idle task: never queued, runs when nothing else can.
    is_idle: bool,
    /// Where the task's last fixed-up fault on user memory was (see
    /// `mm::user_copy`).
    pub(crate) user_fault_addr: AtomicU64,
}

// SAFETY: `saved_rsp` is only accessed by the scheduler with interrupts
// disabled, by the CPU that switches away from the task (writing it) or to
// it (reading it), never both at once: a CPU waits for the task's
// `on_cpu` mark to clear before reading (see `scheduler`). Every other
// field is Sync.
unsafe impl Sync for Task {}
// SAFETY: as above, and the entry closure and data are `Send`.
unsafe impl Send for Task {}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Task {
    /// A task with stack pointer `rsp` on `stack` (none: the running boot
    /// context), to run `entry`.
    fn new_raw(
        rsp: u64,
        stack: Option<KernelStack>,
        entry: Option<Box<dyn FnOnce() + Send>>,
        is_idle: bool,
    ) -> Self {
        Task {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            saved_rsp: UnsafeCell::new(rsp),
            _stack: stack,
            state: AtomicU8::new(TaskState::Runnable as u8),
            wakeup_pending: AtomicBool::new(false),
            entry: SpinLock::new(entry),
            data: Box::new(()),
            vm_space: SpinLock::new(None),
            cpu_ns: AtomicU64::new(0),
            ran_since: AtomicU64::new(0),
            vruntime: AtomicU64::new(0),
            group: AtomicU64::new(0),
            counted: AtomicBool::new(false),
            wait_site: AtomicPtr::new(core::ptr::null_mut()),
            class: AtomicU8::new(scheduler::class::NORMAL),
            rt_prio: AtomicU8::new(0),
            weight: AtomicU32::new(scheduler::NICE_0_WEIGHT),
            voluntary_switches: AtomicU64::new(0),
            involuntary_switches: AtomicU64::new(0),
            user_ticks: AtomicU64::new(0),
            system_ticks: AtomicU64::new(0),
            cpu: AtomicU32::new(0),
            on_cpu: AtomicBool::new(false),
            migrate_pending: AtomicBool::new(false),
            affinity: AtomicU64::new(u64::MAX),
            is_idle,
            user_fault_addr: AtomicU64::new(0),
        }
    }

    /// Whether the task may run on CPU `cpu`.
    pub(crate) fn may_run_on(&self, cpu: usize) -> bool {
        cpu < 64 && self.affinity.load(Ordering::Relaxed) & (1 << cpu) != 0
    }

    /// The CPUs the task may run on, as a mask (bit `n`: CPU `n`).
    pub fn affinity(&self) -> u64 {
        self.affinity.load(Ordering::Relaxed)
    }

    /// Restricts the task to the CPUs in `mask` (bit `n`: CPU `n`); it
    /// moves off a CPU not in it at once if queued, at its next preemption
    /// point if running. Returns false, changing nothing, if no CPU that is
    /// up is in `mask`.
    pub fn set_affinity(&self, mask: u64) -> bool {
        scheduler::set_affinity(self, mask)
    }

    /// The CPU the task runs on, or last ran on.
    pub fn cpu(&self) -> usize {
        self.cpu.load(Ordering::Relaxed) as usize
    }

    /// The running task.
    pub fn current() -> Arc<Task> {
        scheduler::current()
    }

    /// A unique id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The data attached by [`TaskOptions::data`].
    pub fn data(&self) -> &(dyn Any + Send + Sync) {
        &*self.data
    }

    /// Wakes the task if it sleeps in [`Waiter::wait`](crate::sync::Waiter)
    /// or a wait queue, or makes its next sleep return at once. Returns
    /// whether it was asleep.
    pub fn wake_up(self: &Arc<Self>) -> bool {
        self.wakeup_pending.store(true, Ordering::Release);
        scheduler::wake(self)
    }

    /// CPU time the task has used (including the running slice if it is
    /// the current task).
    pub fn cpu_time(&self) -> core::time::Duration {
        let mut ns = self.cpu_ns.load(Ordering::Relaxed);
        if self.state() == TaskState::Running {
            ns += crate::arch::x86::tsc::nanos_since_boot()
                .saturating_sub(self.ran_since.load(Ordering::Relaxed));
        }
        core::time::Duration::from_nanos(ns)
    }

    /// Context switches away from the task: (voluntary, involuntary), as
    /// Linux's `nvcsw` and `nivcsw`.
    pub fn context_switches(&self) -> (u64, u64) {
        (
            self.voluntary_switches.load(Ordering::Relaxed),
            self.involuntary_switches.load(Ordering::Relaxed),
        )
    }

    /// The task's CPU time split into (user, system), in the proportion
    /// the timer ticks saw it in each mode (Linux's `cputime_adjust`).
    pub fn user_system_time(&self) -> (core::time::Duration, core::time::Duration) {
        let total = self.cpu_time();
        let user = self.user_ticks.load(Ordering::Relaxed);
        let system = self.system_ticks.load(Ordering::Relaxed);
        let user_part = stats::scale(total, user, user + system);
        (user_part, total.saturating_sub(user_part))
    }

    /// Charges the time since `ran_since` to the CPU time and returns it;
    /// with `running_again`, restarts the count from `now`.
    pub(crate) fn account(&self, now: u64, running_again: bool) -> u64 {
        let since = self.ran_since.load(Ordering::Relaxed);
        let ran = now.saturating_sub(since);
        self.cpu_ns.fetch_add(ran, Ordering::Relaxed);
        // Nothing more to charge until `start_running` if not running on.
        let next = if running_again { now } else { u64::MAX };
        self.ran_since.store(next, Ordering::Relaxed);
        ran
    }

    /// How long the task has been running since it was last charged (0 if
    /// it is not running).
    pub(crate) fn running_for(&self, now: u64) -> u64 {
        if self.state() == TaskState::Running {
            now.saturating_sub(self.ran_since.load(Ordering::Relaxed))
        } else {
            0
        }
    }

    /// Puts the task in scheduling group `group`: CPU time is shared fairly
    /// between groups first, then between the tasks of a group. The kernel
    /// uses one group per session (like Linux's autogroup).
    pub fn set_sched_group(&self, group: u64) {
        scheduler::set_group(self, group);
    }

    /// Sets how the task is scheduled: its policy and its nice value (-20
    /// to 19, which weighs in the fair policies). Takes effect at once: a
    /// runnable task moves to its new place, and the next switch decides
    /// again who runs.
    pub fn set_sched_policy(&self, policy: SchedPolicy, nice: i8) {
        scheduler::set_policy(self, policy, nice);
    }

    /// Whether the task has a real-time policy.
    #[inline]
    pub(crate) fn is_rt(&self) -> bool {
        self.rt_prio.load(Ordering::Relaxed) != 0
    }

    /// Starts counting CPU time from `now`.
    pub(crate) fn start_running(&self, now: u64) {
        self.ran_since.store(now, Ordering::Relaxed);
    }

    /// Whether the task is running or waiting to run (Linux's `R` state).
    pub fn is_runnable(&self) -> bool {
        matches!(self.state(), TaskState::Running | TaskState::Runnable)
    }

    /// Whether the task has exited.
    pub fn has_exited(&self) -> bool {
        self.state() == TaskState::Exited
    }

    pub(crate) fn state(&self) -> TaskState {
        match self.state.load(Ordering::Acquire) {
            0 => TaskState::Runnable,
            1 => TaskState::Running,
            2 => TaskState::Sleeping,
            _ => TaskState::Exited,
        }
    }

    pub(crate) fn set_state(&self, s: TaskState) {
        self.state.store(s as u8, Ordering::Release);
    }

    /// The source location the task sleeps at (in a wait queue or on a
    /// mutex), if it is sleeping there: what Linux's `wchan` tells.
    pub fn wait_site(&self) -> Option<&'static Location<'static>> {
        let p = self.wait_site.load(Ordering::Acquire);
        // SAFETY: the pointer is null or was made from a
        // `&'static Location<'static>` in `sleep_at`; such a reference is
        // valid for the whole run of the kernel.
        unsafe { p.cast_const().as_ref() }
    }

    /// Sleeps until [`wake_up`](Self::wake_up) is called (or returns at once
    /// if it already was since the last sleep), recording `site` as where
    /// (for [`wait_site`](Self::wait_site)). Must be the current task.
    pub(crate) fn sleep_at(self: &Arc<Self>, site: &'static Location<'static>) {
        self.wait_site
            .store(core::ptr::from_ref(site).cast_mut(), Ordering::Release);
        scheduler::sleep_until_woken(self);
        self.wait_site
            .store(core::ptr::null_mut(), Ordering::Relaxed);
    }
}

/// Builds and spawns a task.
pub struct TaskOptions {
    entry: Box<dyn FnOnce() + Send>,
    data: Option<Box<dyn Any + Send + Sync>>,
    affinity: u64,
}

impl TaskOptions {
    /// A task that will run `entry`.
    pub fn new(entry: impl FnOnce() + Send + 'static) -> Self {
        Self {
            entry: Box::new(entry),
            data: None,
            affinity: u64::MAX,
        }
    }

    /// Restricts the task to the CPUs in `mask` (bit `n`: CPU `n`; all by
    /// default). A mask with no CPU that is up means all of them.
    pub fn affinity(mut self, mask: u64) -> Self {
        self.affinity = mask;
        self
    }

    /// Attaches data retrievable with [`Task::data`].
    pub fn data(mut self, data: impl Any + Send + Sync) -> Self {
        self.data = Some(Box::new(data));
        self
    }

    /// Creates the task without running it.
    pub fn build(self) -> Option<Arc<Task>> {
        self.build_with(false)
    }

    /// Creates the task (an idle task if `is_idle`).
    fn build_with(self, is_idle: bool) -> Option<Arc<Task>> {
        let stack = KernelStack::new(KERNEL_STACK_SIZE)?;
        let rsp = switch::prepare_stack(stack.top());
        let mut task = Task::new_raw(rsp, Some(stack), Some(self.entry), is_idle);
        if let Some(data) = self.data {
            task.data = data;
        }
        if self.affinity & crate::cpu::online_mask() != 0 {
            *task.affinity.get_mut() = self.affinity;
        }
        Some(Arc::new(task))
    }

    /// Creates the task and makes it runnable. `None` if out of memory.
    /// (See also [`spawn_built`].)
    pub fn spawn(self) -> Option<Arc<Task>> {
        let t = self.build()?;
        scheduler::enqueue(t.clone());
        Some(t)
    }
}

/// Makes a task created with [`TaskOptions::build`] runnable.
pub fn spawn_built(task: Arc<Task>) {
    scheduler::enqueue(task);
}

/// The running task, or `None` before the scheduler is up.
pub fn try_current() -> Option<Arc<Task>> {
    scheduler::try_current()
}

/// Runs the new task's entry closure; called on its own stack by the switch
/// trampoline.
fn run_current_entry() -> ! {
    scheduler::finish_switch();
    crate::arch::x86::enable_interrupts();
    let entry = Task::current().entry.lock().take();
    if let Some(f) = entry {
        f();
    }
    exit_current();
}

/// Runs `f(cpu)` in a task pinned to each CPU, all at once, and returns
/// when every one has ended (for tests).
#[cfg(feature = "ktest")]
pub(crate) fn on_every_cpu(f: impl Fn(usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let tasks: alloc::vec::Vec<_> = (0..crate::cpu::num_cpus())
        .map(|cpu| {
            let f = f.clone();
            TaskOptions::new(move || f(cpu))
                .affinity(1 << cpu)
                .spawn()
                .expect("no memory for a test task")
        })
        .collect();
    for t in &tasks {
        while !t.has_exited() {
            yield_now();
        }
    }
}

#[cfg(feature = "ktest")]
mod test;
