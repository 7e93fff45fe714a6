//! The `Process` type.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use ostd::sync::{Mutex, SpinLock, WaitQueue};

use super::signal::{SigActions, Signal};
use super::{Thread, table};
use crate::fs::FsContext;
use crate::fs::file_table::FileTable;
use crate::prelude::*;
use crate::util::Completion;
use crate::vm::Vmar;

/// A process id.
pub type Pid = u32;

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`.
    Exited(u8),
    /// Killed by a signal (`core` if the default action dumps core).
    Signaled {
        /// The signal.
        signal: Signal,
        /// Whether it "dumped core".
        core: bool,
    },
}

impl ExitStatus {
    /// The `wait` status word.
    pub fn wait_status(self) -> u32 {
        match self {
            Self::Exited(c) => (c as u32) << 8,
            Self::Signaled { signal, core } => signal as u32 | if core { 0x80 } else { 0 },
        }
    }

    /// The shell's view: the code, or 128 + the signal.
    pub fn shell_status(self) -> u8 {
        match self {
            Self::Exited(c) => c,
            Self::Signaled { signal, .. } => 128u8.wrapping_add(signal),
        }
    }
}

/// A change of state a parent may `wait` for besides exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitEvent {
    /// Stopped by this signal (`WUNTRACED`).
    Stopped(Signal),
    /// Continued by `SIGCONT` (`WCONTINUED`).
    Continued,
}

/// A process.
pub struct Process {
    pid: Pid,
    /// Keeps the pid in use for as long as the process exists.
    _pid_ref: table::IdRef,
    /// Keep the process group and session ids in use while we are in them.
    group_refs: SpinLock<[Option<table::IdRef>; 2]>,
    rlimits: SpinLock<super::rlimit::ResourceLimits>,
    /// The exited leader's place in the thread counts, kept until reaped.
    zombie_charge: SpinLock<Option<table::ThreadCharge>>,
    pub(super) parent: SpinLock<Weak<Process>>,
    pub(super) children: SpinLock<Children>,
    pub(super) threads: SpinLock<Vec<Arc<Thread>>>,
    vmar: SpinLock<Arc<Vmar>>,
    /// Replaced only by `unshare` (shared with `CLONE_FILES`/`CLONE_FS`).
    files: SpinLock<Arc<Mutex<FileTable>>>,
    fs: SpinLock<Arc<Mutex<FsContext>>>,
    sig_actions: Arc<SpinLock<SigActions>>,
    pub(super) exit_status: SpinLock<Option<ExitStatus>>,
    /// The status chosen by the first `exit_group`/fatal signal, applied
    /// when the last thread has left.
    pub(super) exit_status_pending: SpinLock<Option<ExitStatus>>,
    /// The vfork parent's completion, fired when this child execs or exits.
    vfork_done: SpinLock<Option<Arc<Completion>>>,
    /// Woken when a child changes state (for `wait4`).
    pub(super) children_wait: WaitQueue,
    pgid: AtomicU32,
    sid: AtomicU32,
    /// Signal sent to the parent on exit (`SIGCHLD` or the clone exit
    /// signal; 0: none). Reset to `SIGCHLD` when the process is re-parented.
    exit_signal: core::sync::atomic::AtomicU8,
    exe_path: SpinLock<String>,
    /// `PR_SET_PDEATHSIG`: signal to receive when the parent dies.
    pdeath_signal: core::sync::atomic::AtomicU8,
    /// `PR_SET_CHILD_SUBREAPER`: orphaned descendants re-parent to this
    /// process rather than to init.
    child_subreaper: core::sync::atomic::AtomicBool,
    /// `PR_SET_DUMPABLE`: inherited by `fork`, set again by `execve`.
    dumpable: core::sync::atomic::AtomicBool,
    /// `PR_SET_NO_NEW_PRIVS`: never cleared, inherited, kept by `execve`.
    no_new_privs: core::sync::atomic::AtomicBool,
    cmdline: SpinLock<Vec<u8>>,
    /// The command name (`/proc/PID/comm`): at most 15 bytes.
    comm: SpinLock<String>,
    credentials: SpinLock<super::credentials::Credentials>,
    stopped: core::sync::atomic::AtomicBool,
    /// A stop or continue not yet reported to the parent's `wait`.
    wait_event: SpinLock<Option<WaitEvent>>,
    /// Threads of a stopped process sleep here.
    pub(super) stop_queue: WaitQueue,
    real_timer: super::itimer::RealTimer,
    cpu_timers: super::itimer::CpuTimers,
    posix_timers: super::posix_timer::PosixTimers,
    /// CPU time used by exited, reaped children (for `times`).
    pub(super) children_time: SpinLock<core::time::Duration>,
    /// CPU time of this process's threads that have exited.
    pub(super) exited_threads_time: SpinLock<core::time::Duration>,
    start_time: core::time::Duration,
}

/// Builds a [`Process`].
pub struct ProcessBuilder {
    parent: Weak<Process>,
    vmar: Option<Arc<Vmar>>,
    files: Option<Arc<Mutex<FileTable>>>,
    fs: Option<Arc<Mutex<FsContext>>>,
    sig_actions: Option<Arc<SpinLock<SigActions>>>,
    pgid: Option<Pid>,
    sid: Option<Pid>,
    exit_signal: Option<Signal>,
    exe_path: String,
    pid: Option<table::IdRef>,
    credentials: super::credentials::Credentials,
    rlimits: Option<super::rlimit::ResourceLimits>,
}

impl ProcessBuilder {
    /// A builder with defaults (no parent, empty tables).
    pub fn new() -> Self {
        Self {
            parent: Weak::new(),
            vmar: None,
            files: None,
            fs: None,
            sig_actions: None,
            pgid: None,
            sid: None,
            exit_signal: Some(super::signal::sig::SIGCHLD),
            exe_path: String::new(),
            pid: None,
            credentials: Default::default(),
            rlimits: None,
        }
    }
    /// The parent.
    #[inline]
    pub fn parent(mut self, p: &Arc<Process>) -> Self {
        self.parent = Arc::downgrade(p);
        self
    }
    /// The address space.
    pub fn vmar(mut self, v: Arc<Vmar>) -> Self {
        self.vmar = Some(v);
        self
    }
    /// The file table (shared with `CLONE_FILES`).
    pub fn files(mut self, f: Arc<Mutex<FileTable>>) -> Self {
        self.files = Some(f);
        self
    }
    /// The file-system context (shared with `CLONE_FS`).
    pub fn fs(mut self, f: Arc<Mutex<FsContext>>) -> Self {
        self.fs = Some(f);
        self
    }
    /// The signal dispositions (shared with `CLONE_SIGHAND`).
    pub fn sig_actions(mut self, s: Arc<SpinLock<SigActions>>) -> Self {
        self.sig_actions = Some(s);
        self
    }
    /// Process group and session.
    pub fn group(mut self, pgid: Pid, sid: Pid) -> Self {
        self.pgid = Some(pgid);
        self.sid = Some(sid);
        self
    }
    /// The signal for the parent on exit (`None`: no signal).
    pub fn exit_signal(mut self, s: Option<Signal>) -> Self {
        self.exit_signal = s;
        self
    }
    /// Path of the executable (for `/proc`).
    pub fn exe_path(mut self, p: String) -> Self {
        self.exe_path = p;
        self
    }
    /// The credentials (inherited from the creator).
    pub fn credentials(mut self, c: super::credentials::Credentials) -> Self {
        self.credentials = c;
        self
    }
    /// Uses a preallocated pid (the main thread's tid).
    #[inline]
    pub fn pid(mut self, pid: table::IdRef) -> Self {
        self.pid = Some(pid);
        self
    }

    /// The resource limits (inherited from the creator).
    pub fn rlimits(mut self, r: super::rlimit::ResourceLimits) -> Self {
        self.rlimits = Some(r);
        self
    }

    /// Creates the process and registers it (and with its parent).
    pub fn build(self) -> Result<Arc<Process>> {
        let p = self.build_unregistered()?;
        p.register();
        Ok(p)
    }

    /// Creates the process without making it visible: nobody can find or
    /// wait for it until [`Process::register`]. `clone` registers only
    /// once nothing can fail any more.
    pub fn build_unregistered(self) -> Result<Arc<Process>> {
        let pid_ref = match self.pid {
            Some(r) => r,
            None => table::IdRef::alloc()?,
        };
        let pid = pid_ref.id();
        let pgid = self.pgid.unwrap_or(pid);
        let sid = self.sid.unwrap_or(pid);
        let vmar = match self.vmar {
            Some(v) => v,
            None => Vmar::new()?,
        };
        let p = Arc::new(Process {
            pid,
            group_refs: SpinLock::new([table::IdRef::share(pgid), table::IdRef::share(sid)]),
            _pid_ref: pid_ref,
            rlimits: SpinLock::new(self.rlimits.unwrap_or_default()),
            zombie_charge: SpinLock::new(None),
            parent: SpinLock::new(self.parent.clone()),
            children: SpinLock::new(Children::default()),
            threads: SpinLock::new(Vec::new()),
            vmar: SpinLock::new(vmar),
            files: SpinLock::new(self.files.unwrap_or_default()),
            fs: SpinLock::new(
                self.fs
                    .unwrap_or_else(|| Arc::new(Mutex::new(FsContext::new()))),
            ),
            sig_actions: self.sig_actions.unwrap_or_default(),
            exit_status: SpinLock::new(None),
            exit_status_pending: SpinLock::new(None),
            vfork_done: SpinLock::new(None),
            children_wait: WaitQueue::new(),
            pgid: AtomicU32::new(pgid),
            sid: AtomicU32::new(sid),
            exit_signal: core::sync::atomic::AtomicU8::new(self.exit_signal.unwrap_or(0)),
            exe_path: SpinLock::new(self.exe_path),
            pdeath_signal: core::sync::atomic::AtomicU8::new(0),
            child_subreaper: core::sync::atomic::AtomicBool::new(false),
            dumpable: core::sync::atomic::AtomicBool::new(true),
            no_new_privs: core::sync::atomic::AtomicBool::new(false),
            cmdline: SpinLock::new(Vec::new()),
            comm: SpinLock::new(String::new()),
            credentials: SpinLock::new(self.credentials),
            stopped: core::sync::atomic::AtomicBool::new(false),
            wait_event: SpinLock::new(None),
            stop_queue: WaitQueue::new(),
            real_timer: Default::default(),
            cpu_timers: Default::default(),
            posix_timers: Default::default(),
            children_time: SpinLock::new(core::time::Duration::ZERO),
            exited_threads_time: SpinLock::new(core::time::Duration::ZERO),
            start_time: ostd::timer::monotonic(),
        });
        Ok(p)
    }
}

impl Default for ProcessBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl Process {
    /// Makes a process built with
    /// [`ProcessBuilder::build_unregistered`] visible: in the table and
    /// among its parent's children.
    pub fn register(self: &Arc<Self>) {
        self.register_unless(|| false);
    }

    /// Like [`register`](Self::register), unless `abort`, checked
    /// atomically with respect to group signals, says otherwise (see
    /// `table::insert_unless`). Returns whether it registered.
    pub fn register_unless(self: &Arc<Self>, abort: impl FnOnce() -> bool) -> bool {
        if !table::insert_unless(self, abort) {
            return false;
        }
        if let Some(parent) = self.parent() {
            parent.children.lock().insert(self.clone());
        }
        true
    }

    /// Keeps the exited leader thread's count until the process is reaped.
    pub(super) fn keep_charge_until_reaped(&self, c: Option<table::ThreadCharge>) {
        *self.zombie_charge.lock() = c;
    }

    /// The zombie has been reaped: it leaves the table and the counts.
    pub(super) fn reaped(&self) {
        table::remove(self.pid);
        drop(self.zombie_charge.lock().take());
        // Its pidfds hang up.
        crate::fs::poll::notify();
    }

    /// The pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The parent, if alive.
    pub fn parent(&self) -> Option<Arc<Process>> {
        self.parent.lock().upgrade()
    }

    /// The parent's pid (0 for PID 1).
    #[inline]
    pub fn ppid(&self) -> Pid {
        self.parent().map_or(0, |p| p.pid())
    }

    /// The address space.
    pub fn vmar(&self) -> Arc<Vmar> {
        self.vmar.lock().clone()
    }

    /// Replaces the address space (at `execve`).
    pub fn set_vmar(&self, v: Arc<Vmar>) -> Arc<Vmar> {
        core::mem::replace(&mut *self.vmar.lock(), v)
    }

    /// The file table.
    pub fn files(&self) -> Arc<Mutex<FileTable>> {
        self.files.lock().clone()
    }

    /// Gives the process a private copy of its file table if another
    /// process shares it (`unshare(CLONE_FILES)`, and `execve`, as Linux).
    pub fn unshare_files(&self) {
        let table = self.files();
        let mut shared = table.lock();
        if shared.users() > 1 {
            let copy = shared.clone();
            let _ = shared.leave(); // the other users keep it
            drop(shared);
            *self.files.lock() = Arc::new(Mutex::new(copy));
        }
    }

    /// The file-system context.
    pub fn fs(&self) -> Arc<Mutex<FsContext>> {
        self.fs.lock().clone()
    }

    /// Gives the process another file-system context
    /// (`unshare(CLONE_FS)`).
    pub fn set_fs(&self, f: Arc<Mutex<FsContext>>) {
        let old = core::mem::replace(&mut *self.fs.lock(), f);
        drop(old);
    }

    /// The signal dispositions.
    pub fn sig_actions(&self) -> &Arc<SpinLock<SigActions>> {
        &self.sig_actions
    }

    /// The threads.
    pub fn threads(&self) -> Vec<Arc<Thread>> {
        self.threads.lock().clone()
    }

    /// The main thread (or any thread left).
    pub fn main_thread(&self) -> Option<Arc<Thread>> {
        self.threads.lock().first().cloned()
    }

    /// Process group id.
    pub fn pgid(&self) -> Pid {
        self.pgid.load(Ordering::Relaxed)
    }

    /// Sets the process group.
    pub fn set_pgid(&self, pgid: Pid) {
        let mut refs = self.group_refs.lock();
        refs[0] = table::IdRef::share(pgid);
        self.pgid.store(pgid, Ordering::Relaxed);
    }

    /// Session id.
    pub fn sid(&self) -> Pid {
        self.sid.load(Ordering::Relaxed)
    }

    /// Starts a new session, which is also a new scheduling group: CPU
    /// time is shared between sessions first (Linux's autogroup).
    pub fn set_sid(&self, sid: Pid) {
        {
            let mut refs = self.group_refs.lock();
            refs[1] = table::IdRef::share(sid);
            self.sid.store(sid, Ordering::Relaxed);
        }
        for t in self.threads() {
            if let Some(task) = t.task() {
                task.set_sched_group(sid as u64);
            }
        }
    }

    /// The resource limits.
    pub fn rlimits(&self) -> super::rlimit::ResourceLimits {
        self.rlimits.lock().clone()
    }

    /// The soft limit of `resource`.
    pub fn rlimit_cur(&self, resource: u32) -> u64 {
        self.rlimits.lock().cur(resource)
    }

    /// Changes the limits of `resource` (see [`ResourceLimits::set`]).
    ///
    /// [`ResourceLimits::set`]: super::rlimit::ResourceLimits::set
    pub fn set_rlimit(
        &self,
        resource: u32,
        new: super::rlimit::RLimit,
        privileged: bool,
    ) -> Result<super::rlimit::RLimit> {
        let mut limits = self.rlimits.lock();
        let old = limits.get(resource)?;
        limits.set(resource, new, privileged)?;
        Ok(old)
    }

    /// The signal for the parent on exit.
    pub fn exit_signal(&self) -> Option<Signal> {
        match self.exit_signal.load(Ordering::Relaxed) {
            0 => None,
            s => Some(s),
        }
    }

    /// Sets the signal for the parent on exit (re-parenting resets it to
    /// `SIGCHLD`, as Linux does so that no one can make init receive, say,
    /// `SIGKILL` when an orphan dies).
    pub fn set_exit_signal(&self, s: Option<Signal>) {
        self.exit_signal.store(s.unwrap_or(0), Ordering::Relaxed);
    }

    /// Whether this is init, which receives only the signals it has
    /// handlers for (Linux's `SIGNAL_UNKILLABLE`) and cannot be the parent
    /// argument of `CLONE_PARENT`.
    pub fn is_init(&self) -> bool {
        self.pid == 1
    }

    /// How it ended, once it has (a zombie).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit_status.lock()
    }

    /// Whether the process has exited.
    pub fn is_zombie(&self) -> bool {
        self.exit_status.lock().is_some()
    }

    /// The executable's path.
    pub fn exe_path(&self) -> String {
        self.exe_path.lock().clone()
    }

    /// Sets the executable's path and command line (at `execve`).
    pub fn set_exe(&self, path: String, cmdline: Vec<u8>) {
        *self.exe_path.lock() = path;
        *self.cmdline.lock() = cmdline;
    }

    /// The command name.
    pub fn comm(&self) -> String {
        self.comm.lock().clone()
    }

    /// Sets the command name (Linux keeps 15 bytes: `TASK_COMM_LEN` - 1).
    pub fn set_comm(&self, name: &[u8]) {
        let n = name.len().min(15);
        *self.comm.lock() = String::from_utf8_lossy(&name[..n]).into_owned();
    }

    /// The command line, NUL-separated.
    pub fn cmdline(&self) -> Vec<u8> {
        self.cmdline.lock().clone()
    }

    /// Records the completion a vfork parent waits on.
    pub fn set_vfork_done(&self, c: Arc<Completion>) {
        *self.vfork_done.lock() = Some(c);
    }

    /// Releases a vfork parent (at a successful `execve` or at exit).
    pub fn vfork_release(&self) {
        if let Some(c) = self.vfork_done.lock().take() {
            c.complete();
        }
    }

    /// Whether orphaned descendants re-parent to this process.
    pub fn is_child_subreaper(&self) -> bool {
        self.child_subreaper.load(Ordering::Relaxed)
    }

    /// `PR_SET_CHILD_SUBREAPER`.
    pub fn set_child_subreaper(&self, on: bool) {
        self.child_subreaper.store(on, Ordering::Relaxed);
    }

    /// `PR_GET_DUMPABLE`.
    pub fn dumpable(&self) -> bool {
        self.dumpable.load(Ordering::Relaxed)
    }

    /// `PR_SET_DUMPABLE` (and `execve`, which sets it again).
    pub fn set_dumpable(&self, on: bool) {
        self.dumpable.store(on, Ordering::Relaxed);
    }

    /// `PR_GET_NO_NEW_PRIVS`.
    pub fn no_new_privs(&self) -> bool {
        self.no_new_privs.load(Ordering::Relaxed)
    }

    /// `PR_SET_NO_NEW_PRIVS` (one way only).
    pub fn set_no_new_privs(&self) {
        self.no_new_privs.store(true, Ordering::Relaxed);
    }

    /// The parent-death signal (0: none).
    pub fn pdeath_signal(&self) -> Signal {
        self.pdeath_signal.load(Ordering::Relaxed)
    }

    /// Sets the parent-death signal.
    pub fn set_pdeath_signal(&self, s: Signal) {
        self.pdeath_signal.store(s, Ordering::Relaxed);
    }

    /// The pending exit status (set by the first `exit_group`).
    pub fn exit_status_pending_lock(&self) -> ostd::sync::SpinLockGuard<'_, Option<ExitStatus>> {
        self.exit_status_pending.lock()
    }

    /// The credentials of the process (its main thread's); a thread's own
    /// are [`Thread::credentials`].
    pub fn credentials(&self) -> super::credentials::Credentials {
        self.credentials.lock().clone()
    }

    /// The credentials of the process: those of its main thread (kept
    /// after it exits), which permission checks against the process (such
    /// as `kill`) look at.
    pub fn set_credentials(&self, c: super::credentials::Credentials) {
        let old = core::mem::replace(&mut *self.credentials.lock(), c);
        drop(old);
    }

    /// CPU time of reaped children.
    pub fn children_time_lock(&self) -> ostd::sync::SpinLockGuard<'_, core::time::Duration> {
        self.children_time.lock()
    }

    /// CPU time used by all threads of the process, live and exited.
    pub fn cpu_time(&self) -> core::time::Duration {
        let live: core::time::Duration = self.threads().iter().map(|t| t.cpu_time()).sum();
        live + *self.exited_threads_time.lock()
    }

    /// The `ITIMER_REAL` timer.
    pub fn real_timer(&self) -> &super::itimer::RealTimer {
        &self.real_timer
    }

    /// The `ITIMER_VIRTUAL` and `ITIMER_PROF` timers.
    pub fn cpu_timers(&self) -> &super::itimer::CpuTimers {
        &self.cpu_timers
    }

    /// The POSIX timers (`timer_create`).
    pub fn posix_timers(&self) -> &super::posix_timer::PosixTimers {
        &self.posix_timers
    }

    /// When the process started (monotonic clock).
    pub fn start_time(&self) -> core::time::Duration {
        self.start_time
    }

    /// Whether the process is stopped.
    #[inline]
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Sets the stopped state; returns whether it changed.
    pub fn set_stopped(&self, on: bool) -> bool {
        self.stopped.swap(on, Ordering::AcqRel) != on
    }

    /// Records a stop/continue event for the parent's `wait`.
    pub fn set_wait_event(&self, e: Option<WaitEvent>) {
        *self.wait_event.lock() = e;
    }

    /// The pending stop/continue event.
    pub fn wait_event(&self) -> Option<WaitEvent> {
        *self.wait_event.lock()
    }

    /// The children.
    pub fn children(&self) -> Vec<Arc<Process>> {
        self.children.lock().all.values().cloned().collect()
    }
}

/// A process's children, with the zombies among them indexed so that
/// `wait` finds an exited child without scanning every child (init may
/// inherit thousands at once, from a killed fork bomb).
#[derive(Default)]
pub(super) struct Children {
    pub(super) all: BTreeMap<Pid, Arc<Process>>,
    pub(super) zombies: alloc::collections::BTreeSet<Pid>,
}

impl Children {
    /// Adds a child (a zombie already, if it has exited).
    pub(super) fn insert(&mut self, c: Arc<Process>) {
        if c.is_zombie() {
            self.zombies.insert(c.pid());
        }
        self.all.insert(c.pid(), c);
    }

    /// Removes a child.
    pub(super) fn remove(&mut self, pid: Pid) -> Option<Arc<Process>> {
        self.zombies.remove(&pid);
        self.all.remove(&pid)
    }

    /// Records that child `pid` has exited (if it still is our child).
    pub(super) fn mark_zombie(&mut self, pid: Pid) {
        if self.all.contains_key(&pid) {
            self.zombies.insert(pid);
        }
    }

    /// Takes all children out (the process is exiting).
    pub(super) fn take_all(&mut self) -> BTreeMap<Pid, Arc<Process>> {
        self.zombies.clear();
        core::mem::take(&mut self.all)
    }
}
