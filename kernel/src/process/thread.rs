//! `Thread`: a POSIX thread, running user code on an ostd task.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};

use ostd::sync::{Once, SpinLock};
use ostd::task::{Task, TaskOptions};
use ostd::user::{ReturnReason, UserContext};

use super::credentials::Credentials;
use super::sched::SchedAttr;
use super::signal::{SIG_DFL, SIG_IGN, SigInfo, SigSet, Signal, sig};
use super::{Process, table};
use crate::prelude::*;

/// A thread id.
pub type Tid = u32;

/// How an interrupted syscall is restarted once signals are handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Only if no handler runs (`ERESTARTNOHAND`); else `EINTR`.
    NoHandler = 0,
    /// Also after a handler with `SA_RESTART` (`ERESTARTSYS`).
    IfSaRestart = 1,
    /// Always, after the handler if any (`ERESTARTNOINTR`).
    Always = 2,
}

/// A POSIX thread.
pub struct Thread {
    tid: Tid,
    /// Keeps the tid in use while the thread exists.
    _tid_ref: Option<table::IdRef>,
    /// The thread's place in the thread counts (`threads-max`,
    /// `RLIMIT_NPROC`); given back when the thread has exited.
    charge: SpinLock<Option<table::ThreadCharge>>,
    /// The thread's identities and capabilities: Linux keeps them per
    /// thread (`setuid`, `capset` change the caller only; the C libraries
    /// broadcast the id changes to every thread).
    credentials: SpinLock<Credentials>,
    process: Arc<Process>,
    /// Weak: the task owns the thread (as its data), not the reverse.
    task: Once<Weak<Task>>,
    /// Blocked signals.
    sig_mask: AtomicU64,
    /// Signals pending for this thread.
    /// Atomic so that the check on every return to user mode takes no lock.
    sig_pending: AtomicU64,
    /// Pending signals that were forced by a fault (`force_signal_info`):
    /// these end even init when their default action runs.
    sig_forced: AtomicU64,
    /// Where each pending signal came from (the first instance: standard
    /// signals do not queue).
    /// The origin of each pending signal, indexed by signal number - 1;
    /// empty until a signal first arrives (most threads never get one, and
    /// 64 entries made for each new thread cost every `clone`).
    sig_infos: SpinLock<Vec<SigInfo>>,
    /// `set_tid_address`/`CLONE_CHILD_CLEARTID`: cleared and futex-woken
    /// at exit.
    clear_child_tid: AtomicU64,
    /// `set_robust_list` head, walked when the thread exits or execs.
    robust_list: AtomicU64,
    /// Where the thread is in releasing its futexes at exit or exec
    /// (`futex::FutexState`).
    futex_state: AtomicU8,
    /// The syscall number to restart if the last syscall was interrupted,
    /// and how. Packed: 0 = none, else `(nr + 1) << 2 | Restart`.
    restart: AtomicU64,
    /// The mask to restore after a handler (or at once if none runs) when
    /// `sigsuspend`/`ppoll` replaced it temporarily.
    saved_mask: SpinLock<Option<SigSet>>,
    /// `sigaltstack`: `(base, size)`, size 0 when disabled.
    alt_stack: SpinLock<(u64, u64)>,
    /// The thread must leave its user loop (exit, exit_group, exec by
    /// another thread, fatal signal).
    exiting: AtomicBool,
    /// The system call the thread is in, for `/proc/PID/task/TID/syscall`:
    /// the number plus one (0 when not in one), the six arguments, and the
    /// user stack and instruction pointers.
    syscall: [AtomicU64; 9],
    /// Policy, priority and nice value (`sched`); the task is told of
    /// every change made under this lock.
    sched: SpinLock<SchedAttr>,
    /// The I/O priority (`ioprio_set`), per thread as on Linux.
    ioprio: AtomicU32,
    /// The execution domain (`personality(2)`), per thread as on Linux.
    personality: AtomicU32,
}

/// Builds a [`Thread`].
pub struct ThreadBuilder {
    process: Arc<Process>,
    /// The thread's place in the thread counts, if taken beforehand.
    charge: Option<table::ThreadCharge>,
    /// The tid, if not a fresh one. The main thread's tid is the pid, whose
    /// `IdRef` the process holds.
    tid: Option<(Tid, Option<table::IdRef>)>,
    sig_mask: SigSet,
    clear_child_tid: u64,
    set_child_tid: u64,
    credentials: Option<Credentials>,
    sched: SchedAttr,
    affinity: u64,
    ioprio: u32,
    personality: u32,
}

impl ThreadBuilder {
    /// A thread of `process`.
    pub fn new(process: Arc<Process>) -> Self {
        Self {
            process,
            charge: None,
            tid: None,
            sig_mask: SigSet::EMPTY,
            clear_child_tid: 0,
            set_child_tid: 0,
            credentials: None,
            sched: SchedAttr::default(),
            affinity: u64::MAX,
            ioprio: 0,
            personality: 0,
        }
    }

    /// The credentials (default: the process's, which are its main
    /// thread's).
    pub fn credentials(mut self, c: Credentials) -> Self {
        self.credentials = Some(c);
        self
    }

    /// Inherits the scheduling attributes (as `sched_fork` resets them),
    /// the I/O priority and the personality of `parent`, the thread that
    /// calls `clone`.
    pub fn inherit_from(mut self, parent: &Thread) -> Self {
        self.sched = parent.sched_attr().for_child();
        // As `fork` copies `cpus_mask`.
        if let Some(task) = parent.task() {
            self.affinity = task.affinity();
        }
        self.ioprio = parent.ioprio();
        self.personality = parent.personality();
        self
    }
    /// Uses a place in the thread counts taken beforehand (`clone` takes
    /// it first, so that a fork over the limits fails before it copies
    /// anything).
    pub fn charge(mut self, c: table::ThreadCharge) -> Self {
        self.charge = Some(c);
        self
    }

    /// Uses the process's pid as tid (the main thread).
    pub fn main_thread(mut self) -> Self {
        self.tid = Some((self.process.pid(), None));
        self
    }

    /// Uses a preallocated tid.
    pub fn tid(mut self, tid: table::IdRef) -> Self {
        self.tid = Some((tid.id(), Some(tid)));
        self
    }

    /// Initial signal mask (inherited from the creator).
    #[inline]
    pub fn sig_mask(mut self, m: SigSet) -> Self {
        self.sig_mask = m;
        self
    }
    /// `CLONE_CHILD_CLEARTID` address.
    pub fn clear_child_tid(mut self, addr: u64) -> Self {
        self.clear_child_tid = addr;
        self
    }

    /// `CLONE_CHILD_SETTID` address: the thread writes its tid there in
    /// its own address space before it first runs user code.
    pub fn set_child_tid(mut self, addr: u64) -> Self {
        self.set_child_tid = addr;
        self
    }

    /// Creates the thread and starts it with `ctx`.
    pub fn spawn(self, ctx: UserContext) -> Result<Arc<Thread>> {
        self.build(ctx)?.start()
    }

    /// Creates the thread, ready to start: counted against the limits on
    /// threads (`EAGAIN`) and with its kernel task (`ENOMEM`), but not yet
    /// among its process's threads.
    pub fn build(self, ctx: UserContext) -> Result<NewThread> {
        let credentials = self
            .credentials
            .unwrap_or_else(|| self.process.credentials());
        let charge = match self.charge {
            Some(c) => c,
            None => table::ThreadCharge::for_new_thread_of(&self.process, &credentials)?,
        };
        self.process
            .threads
            .lock()
            .try_reserve(1)
            .map_err(|_| Error::new(ENOMEM))?;
        let (tid, tid_ref) = match self.tid {
            Some(t) => t,
            None => {
                let r = table::IdRef::alloc()?;
                (r.id(), Some(r))
            }
        };
        let thread = Arc::new(Thread {
            tid,
            _tid_ref: tid_ref,
            charge: SpinLock::new(Some(charge)),
            credentials: SpinLock::new(credentials),
            process: self.process.clone(),
            task: Once::new(),
            sig_mask: AtomicU64::new(self.sig_mask.0),
            sig_pending: AtomicU64::new(0),
            sig_forced: AtomicU64::new(0),
            sig_infos: SpinLock::new(Vec::new()),
            clear_child_tid: AtomicU64::new(self.clear_child_tid),
            robust_list: AtomicU64::new(0),
            futex_state: AtomicU8::new(super::futex::FutexState::Live as u8),
            alt_stack: SpinLock::new((0, 0)),
            restart: AtomicU64::new(0),
            saved_mask: SpinLock::new(None),
            exiting: AtomicBool::new(false),
            syscall: [const { AtomicU64::new(0) }; 9],
            sched: SpinLock::new(self.sched),
            ioprio: AtomicU32::new(self.ioprio),
            personality: AtomicU32::new(self.personality),
        });
        let t = thread.clone();
        let set_child_tid = self.set_child_tid;
        let task = TaskOptions::new(move || user_loop(t, ctx, set_child_tid))
            .data(thread.clone())
            .affinity(self.affinity)
            .build()
            .ok_or(Error::new(ENOMEM))?;
        // CPU time is shared between sessions first (Linux's autogroup).
        task.set_sched_group(self.process.sid() as u64);
        if self.sched != SchedAttr::default() {
            let (policy, nice) = self.sched.task_policy();
            task.set_sched_policy(policy, nice);
        }
        thread.task.set(Arc::downgrade(&task));
        Ok(NewThread { thread, task })
    }
}

/// A thread built by [`ThreadBuilder::build`], not yet running.
pub struct NewThread {
    thread: Arc<Thread>,
    task: Arc<Task>,
}

impl NewThread {
    /// The thread.
    pub fn thread(&self) -> &Arc<Thread> {
        &self.thread
    }

    /// Adds the thread to its process and makes it runnable. Fails (and the
    /// thread is dropped) if the process is already exiting: a thread
    /// added after `exit_group` chose whom to stop would keep it alive.
    pub fn start(self) -> Result<Arc<Thread>> {
        self.attach()?;
        Ok(self.run())
    }

    /// Adds the thread to its process's threads, without running it yet
    /// (signals sent to the process from now on find it). Fails if the
    /// process is exiting.
    pub fn attach(&self) -> Result<()> {
        let mut threads = self.thread.process.threads.lock();
        if self.thread.process.exit_status_pending.lock().is_some() {
            return_errno_with_message!(EINTR, "the process is exiting");
        }
        threads.push(self.thread.clone());
        Ok(())
    }

    /// Undoes [`attach`](Self::attach): the thread will not run.
    pub fn detach(self) {
        self.thread
            .process
            .threads
            .lock()
            .retain(|t| !Arc::ptr_eq(t, &self.thread));
    }

    /// Makes an attached thread runnable.
    pub fn run(self) -> Arc<Thread> {
        ostd::task::spawn_built(self.task);
        self.thread
    }
}

impl Thread {
    /// The thread id.
    /// Records the system call the thread enters (see [`Thread::syscall`]).
    #[inline]
    pub fn enter_syscall(&self, nr: u64, args: &[u64; 6], sp: u64, pc: u64) {
        let [n, a0, a1, a2, a3, a4, a5, s, p] = &self.syscall;
        let [v0, v1, v2, v3, v4, v5] = *args;
        a0.store(v0, Ordering::Relaxed);
        a1.store(v1, Ordering::Relaxed);
        a2.store(v2, Ordering::Relaxed);
        a3.store(v3, Ordering::Relaxed);
        a4.store(v4, Ordering::Relaxed);
        a5.store(v5, Ordering::Relaxed);
        s.store(sp, Ordering::Relaxed);
        p.store(pc, Ordering::Relaxed);
        n.store(nr.wrapping_add(1), Ordering::Release);
    }

    /// The thread left its system call.
    #[inline]
    pub fn leave_syscall(&self) {
        self.syscall[0].store(0, Ordering::Relaxed);
    }

    /// The system call the thread is in, as `/proc/PID/task/TID/syscall`
    /// shows it: its number, six arguments, stack and instruction pointers
    /// (`None` when it is not in one). Another thread's values may be a
    /// moment old.
    pub fn syscall(&self) -> Option<[u64; 9]> {
        let nr = self.syscall[0].load(Ordering::Acquire).checked_sub(1)?;
        let mut v = [nr; 9];
        for (out, slot) in v.iter_mut().zip(&self.syscall).skip(1) {
            *out = slot.load(Ordering::Relaxed);
        }
        Some(v)
    }

    pub fn tid(&self) -> Tid {
        self.tid
    }

    /// Takes the thread's place in the thread counts (at exit: a non-leader
    /// thread gives it back at once, the leader's stays with the zombie
    /// process until it is reaped, as on Linux).
    pub fn take_charge(&self) -> Option<table::ThreadCharge> {
        self.charge.lock().take()
    }

    /// Moves the thread's count to real user `uid` (after `setuid`).
    pub fn recharge_to(&self, uid: u32) {
        if let Some(c) = self.charge.lock().as_mut() {
            c.set_uid(uid);
        }
    }

    /// The thread's credentials.
    pub fn credentials(&self) -> Credentials {
        self.credentials.lock().clone()
    }

    /// Changes the thread's credentials in place with `f`, under their
    /// lock, so that an update is never lost. `f` must leave them unchanged
    /// when it fails (check first, then change) and must not block. Then,
    /// as Linux's `commit_creds`: a change of an effective or file-system
    /// id or a gain of permitted capabilities makes the process
    /// non-dumpable and clears its parent-death signal; the thread's place
    /// in the per-user thread counts follows its real uid; the main
    /// thread's credentials are also the process's.
    pub fn update_credentials<T>(
        &self,
        f: impl FnOnce(&mut Credentials) -> Result<T>,
    ) -> Result<T> {
        let (result, old_ruid, ruid, changed) = {
            let mut c = self.credentials.lock();
            let (old_ruid, old) = (c.ruid, c.identity());
            let result = f(&mut c);
            (result, old_ruid, c.ruid, c.changes_privilege_from(&old))
        };
        if changed {
            self.process.set_dumpable(false);
            self.process.set_pdeath_signal(0);
        }
        if old_ruid != ruid {
            self.recharge_to(ruid);
        }
        if result.is_ok() && self.tid == self.process.pid() {
            self.process.set_credentials(self.credentials());
        }
        result
    }

    /// Replaces the thread's credentials (see [`Self::update_credentials`]).
    pub fn set_credentials(&self, c: Credentials) {
        let old = self.update_credentials(|cur| Ok(core::mem::replace(cur, c)));
        drop(old);
    }

    /// The process.
    #[inline]
    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }

    /// The scheduling attributes.
    pub fn sched_attr(&self) -> SchedAttr {
        *self.sched.lock()
    }

    /// The scheduling attributes, locked for a change (see `sched`).
    pub(super) fn sched_attr_lock(&self) -> ostd::sync::SpinLockGuard<'_, SchedAttr> {
        self.sched.lock()
    }

    /// Tells the task the policy and nice value of `attr` (called with the
    /// attributes locked, so that the task sees changes in order).
    pub(super) fn apply_sched_attr(&self, attr: &SchedAttr) {
        if let Some(task) = self.task() {
            let (policy, nice) = attr.task_policy();
            task.set_sched_policy(policy, nice);
        }
    }

    /// The I/O priority.
    pub fn ioprio(&self) -> u32 {
        self.ioprio.load(Ordering::Relaxed)
    }

    pub(super) fn set_ioprio(&self, v: u32) {
        self.ioprio.store(v, Ordering::Relaxed);
    }

    /// The personality.
    pub fn personality(&self) -> u32 {
        self.personality.load(Ordering::Relaxed)
    }

    /// Sets the personality; returns the old one.
    pub fn swap_personality(&self, v: u32) -> u32 {
        self.personality.swap(v, Ordering::Relaxed)
    }

    /// The task it runs on (gone once the thread has exited).
    pub fn task(&self) -> Option<Arc<Task>> {
        self.task.get()?.upgrade()
    }

    /// Blocked signals.
    pub fn sig_mask(&self) -> SigSet {
        SigSet(self.sig_mask.load(Ordering::Relaxed))
    }

    /// Sets the blocked signals (`SIGKILL`/`SIGSTOP` can't be blocked).
    pub fn set_sig_mask(&self, m: SigSet) {
        self.sig_mask
            .store(m.without_unblockable().0, Ordering::Relaxed);
    }

    /// Pending signals.
    pub fn sig_pending(&self) -> SigSet {
        SigSet(self.sig_pending.load(Ordering::Acquire))
    }

    /// Queues `s` (raised by the kernel itself) for this thread.
    pub fn send_signal(&self, s: Signal) {
        self.send_signal_info(s, SigInfo::KERNEL);
    }

    /// Queues `s` with its origin for this thread and wakes it. Init gets
    /// only the signals it handles: one whose disposition is the default
    /// is dropped unless blocked (Linux's `sig_task_ignored` for
    /// `SIGNAL_UNKILLABLE`; `SIGKILL` and `SIGSTOP` included).
    ///
    /// A signal that would be ignored is dropped unless blocked (Linux's
    /// `sig_ignored`): queued, it would interrupt a blocking call for
    /// nothing, and a blocking pipe write would come back short whenever a
    /// child exits (`SIGCHLD`).
    pub fn send_signal_info(&self, s: Signal, info: SigInfo) {
        if !self.sig_mask().contains(s) && self.process.sig_actions().lock().is_ignored(s) {
            return;
        }
        if self.process.is_init()
            && !self.sig_mask().contains(s)
            && (s == sig::SIGKILL
                || s == sig::SIGSTOP
                || self.process.sig_actions().lock().get(s).handler == SIG_DFL)
        {
            return;
        }
        self.queue_signal(s, info);
    }

    /// Raises `s` for a fault of this thread (`SIGSEGV`, `SIGBUS`, ...):
    /// as Linux's `force_sig_info`, a blocked or ignored signal gets its
    /// default action back and is unblocked, so that a thread cannot loop
    /// on a fault it refuses to hear, and init is not spared.
    pub fn force_signal_info(&self, s: Signal, info: SigInfo) {
        {
            let mut actions = self.process.sig_actions().lock();
            let blocked = self.sig_mask().contains(s);
            if blocked || actions.get(s).handler == SIG_IGN {
                let _ = actions.set(s, super::signal::SigAction::default());
            }
            if blocked {
                let mut m = self.sig_mask();
                m.remove(s);
                self.set_sig_mask(m);
            }
        }
        self.sig_forced.fetch_or(1 << (s - 1), Ordering::AcqRel);
        self.queue_signal(s, info);
    }

    /// Whether the pending `s` was forced by a fault (and forgets it).
    pub fn take_forced(&self, s: Signal) -> bool {
        self.sig_forced.fetch_and(!(1 << (s - 1)), Ordering::AcqRel) & (1 << (s - 1)) != 0
    }

    fn queue_signal(&self, s: Signal, info: SigInfo) {
        let mut set = SigSet::EMPTY;
        set.add(s);
        {
            let mut infos = self.sig_infos.lock();
            if self.sig_pending.load(Ordering::Acquire) & set.0 == 0 {
                // Without memory for the table the signal still arrives,
                // as one the kernel sent (`SI_KERNEL`).
                if infos.is_empty() && infos.try_reserve_exact(64).is_ok() {
                    infos.resize(64, SigInfo::KERNEL);
                }
                if let Some(slot) = infos.get_mut(s as usize - 1) {
                    *slot = info;
                }
            }
            self.sig_pending.fetch_or(set.0, Ordering::AcqRel);
        }
        if let Some(t) = self.task() {
            t.wake_up();
        }
        // A signalfd watching this signal may have become readable.
        crate::fs::poll::notify();
    }

    /// The origin of `s` if it is pending for this thread.
    pub fn pending_info(&self, s: Signal) -> Option<SigInfo> {
        let infos = self.sig_infos.lock();
        self.sig_pending().contains(s).then(|| {
            infos
                .get(s as usize - 1)
                .copied()
                .unwrap_or(SigInfo::KERNEL)
        })
    }

    /// Takes the lowest pending unblocked signal and its origin.
    pub fn take_signal(&self) -> Option<(Signal, SigInfo)> {
        self.take_signal_in(SigSet(!self.sig_mask().0))
    }

    /// Whether a signal can be delivered or the thread must exit: checked
    /// by the user loop and by interruptible sleeps.
    #[inline]
    pub fn has_pending_work(&self) -> bool {
        self.is_exiting()
            || self.sig_pending.load(Ordering::Acquire) & !self.sig_mask.load(Ordering::Relaxed)
                != 0
    }

    /// Whether the thread is being killed (`SIGKILL` pending, or the
    /// process exiting): long operations stop early, even those that
    /// ordinary signals do not interrupt (Linux's `fatal_signal_pending`).
    pub fn fatal_signal_pending(&self) -> bool {
        self.is_exiting() || self.sig_pending().contains(sig::SIGKILL)
    }

    /// `set_tid_address`.
    pub fn set_clear_child_tid(&self, addr: u64) {
        self.clear_child_tid.store(addr, Ordering::Relaxed);
    }

    /// The `clear_child_tid` address.
    pub fn clear_child_tid(&self) -> u64 {
        self.clear_child_tid.load(Ordering::Relaxed)
    }

    /// `set_robust_list`.
    pub fn set_robust_list(&self, head: u64) {
        self.robust_list.store(head, Ordering::Relaxed);
    }

    /// The robust futex list head (0 if none).
    pub fn robust_list(&self) -> u64 {
        self.robust_list.load(Ordering::Relaxed)
    }

    pub fn futex_state(&self) -> super::futex::FutexState {
        super::futex::FutexState::from(self.futex_state.load(Ordering::SeqCst))
    }

    pub fn set_futex_state(&self, state: super::futex::FutexState) {
        self.futex_state.store(state as u8, Ordering::SeqCst);
    }

    /// Top of the alternate signal stack if one is set and `sp` is not
    /// already on it.
    pub fn alt_stack_top(&self, sp: u64) -> Option<u64> {
        let (base, size) = *self.alt_stack.lock();
        if size == 0 || (base..base + size).contains(&sp) {
            return None;
        }
        Some(base + size)
    }

    /// The alternate signal stack `(base, size)`; size 0 if disabled.
    pub fn alt_stack(&self) -> (u64, u64) {
        *self.alt_stack.lock()
    }

    /// Sets the alternate signal stack.
    pub fn set_alt_stack(&self, base: u64, size: u64) {
        *self.alt_stack.lock() = (base, size);
    }

    /// Records that the last syscall `nr` was interrupted and may be
    /// Records that the last syscall `nr` was interrupted and how it may
    /// be restarted.
    pub fn set_restart(&self, r: Option<(u64, Restart)>) {
        let v = r.map_or(0, |(nr, how)| ((nr + 1) << 2) | how as u64);
        self.restart.store(v, Ordering::Relaxed);
    }

    /// Takes the restart record.
    pub fn take_restart(&self) -> Option<(u64, Restart)> {
        let v = self.restart.swap(0, Ordering::Relaxed);
        if v == 0 {
            return None;
        }
        let how = match v & 3 {
            0 => Restart::NoHandler,
            1 => Restart::IfSaRestart,
            _ => Restart::Always,
        };
        Some(((v >> 2) - 1, how))
    }

    /// Whether signal handling has anything to do (the common case on the
    /// way back to user mode is no).
    #[inline]
    pub fn needs_signal_work(&self) -> bool {
        self.restart.load(Ordering::Relaxed) != 0
            || self.sig_pending.load(Ordering::Acquire) & !self.sig_mask.load(Ordering::Relaxed)
                != 0
            || self.process.is_stopped()
            || self.saved_mask.lock().is_some()
    }

    /// Sets the mask to restore after the next handler (`sigsuspend`).
    pub fn set_saved_mask(&self, m: Option<SigSet>) {
        *self.saved_mask.lock() = m;
    }

    /// Takes the saved mask.
    pub fn take_saved_mask(&self) -> Option<SigSet> {
        self.saved_mask.lock().take()
    }

    /// Removes `s` from the pending set.
    pub fn clear_pending(&self, s: Signal) {
        let mut set = SigSet::EMPTY;
        set.add(s);
        self.sig_pending.fetch_and(!set.0, Ordering::AcqRel);
    }

    /// Takes the lowest pending signal that is in `set` (blocked or not)
    /// and its origin.
    pub fn take_signal_in(&self, set: SigSet) -> Option<(Signal, SigInfo)> {
        let infos = self.sig_infos.lock();
        let cur = self.sig_pending.load(Ordering::Acquire);
        let s = SigSet(cur & set.0).first()?;
        let mut bit = SigSet::EMPTY;
        bit.add(s);
        self.sig_pending.fetch_and(!bit.0, Ordering::AcqRel);
        let info = infos
            .get(s as usize - 1)
            .copied()
            .unwrap_or(SigInfo::KERNEL);
        drop(infos);
        // A timer's signal learns its overrun count when it is taken.
        Some((
            s,
            self.process
                .posix_timers()
                .signal_taken(&self.process, info),
        ))
    }

    /// CPU time this thread has used.
    pub fn cpu_time(&self) -> core::time::Duration {
        self.task()
            .map_or(core::time::Duration::ZERO, |t| t.cpu_time())
    }

    /// Asks the thread to leave its user loop.
    pub fn request_exit(&self) {
        self.exiting.store(true, Ordering::Release);
        if let Some(t) = self.task() {
            t.wake_up();
        }
    }

    /// Whether the thread is leaving.
    #[inline]
    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::Acquire)
    }
}

/// Runs a thread: user mode, syscalls, faults and signals, until it exits.
fn user_loop(thread: Arc<Thread>, mut ctx: UserContext, set_child_tid: u64) {
    let vmar = thread.process.vmar();
    vmar.activate();
    if set_child_tid != 0 {
        let _ = vmar.write_val(set_child_tid, &thread.tid);
    }
    drop(vmar);
    loop {
        let reason = ctx.execute(|| thread.has_pending_work());
        match reason {
            ReturnReason::Syscall => crate::syscall::handle(&thread, &mut ctx),
            ReturnReason::Exception(e) => super::exit::handle_exception(&thread, &mut ctx, e),
            ReturnReason::KernelEvent => {}
        }
        if !thread.is_exiting() && thread.needs_signal_work() {
            super::signal_delivery::handle_pending_signals(&thread, &mut ctx);
        }
        if thread.is_exiting() {
            break;
        }
    }
    super::exit::thread_exited(&thread);
}
