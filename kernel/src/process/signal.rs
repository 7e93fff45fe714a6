//! Signals: numbers, sets, dispositions and default actions.
//!
//! Delivery to user handlers builds on these types (see `signal_frame`);
//! default actions follow `signal(7)`.

use crate::prelude::*;

/// A signal number (1..=64).
pub type Signal = u8;

#[allow(missing_docs)]
pub mod sig {
    use super::Signal;
    pub const SIGHUP: Signal = 1;
    pub const SIGINT: Signal = 2;
    pub const SIGQUIT: Signal = 3;
    pub const SIGILL: Signal = 4;
    pub const SIGTRAP: Signal = 5;
    pub const SIGABRT: Signal = 6;
    pub const SIGBUS: Signal = 7;
    pub const SIGFPE: Signal = 8;
    pub const SIGKILL: Signal = 9;
    pub const SIGUSR1: Signal = 10;
    pub const SIGSEGV: Signal = 11;
    pub const SIGUSR2: Signal = 12;
    pub const SIGPIPE: Signal = 13;
    pub const SIGALRM: Signal = 14;
    pub const SIGTERM: Signal = 15;
    pub const SIGSTKFLT: Signal = 16;
    pub const SIGCHLD: Signal = 17;
    pub const SIGCONT: Signal = 18;
    pub const SIGSTOP: Signal = 19;
    pub const SIGTSTP: Signal = 20;
    pub const SIGTTIN: Signal = 21;
    pub const SIGTTOU: Signal = 22;
    pub const SIGURG: Signal = 23;
    pub const SIGXCPU: Signal = 24;
    pub const SIGXFSZ: Signal = 25;
    pub const SIGVTALRM: Signal = 26;
    pub const SIGPROF: Signal = 27;
    pub const SIGWINCH: Signal = 28;
    pub const SIGIO: Signal = 29;
    pub const SIGPWR: Signal = 30;
    pub const SIGSYS: Signal = 31;
    pub const SIGRTMIN: Signal = 32;
    pub const SIGRTMAX: Signal = 64;
}

/// Whether `n` is a valid signal number.
pub fn is_valid(n: u64) -> bool {
    (1..=64).contains(&n)
}

/// A set of signals (bit `n-1` for signal `n`), as in `sigset_t`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    /// The empty set.
    pub const EMPTY: SigSet = SigSet(0);

    /// Whether `s` is in the set.
    pub fn contains(self, s: Signal) -> bool {
        self.0 & (1 << (s - 1)) != 0
    }
    /// Adds `s`.
    pub fn add(&mut self, s: Signal) {
        self.0 |= 1 << (s - 1);
    }
    /// Removes `s`.
    pub fn remove(&mut self, s: Signal) {
        self.0 &= !(1 << (s - 1));
    }
    /// Removes the signals that cannot be blocked (`SIGKILL`, `SIGSTOP`).
    pub fn without_unblockable(self) -> SigSet {
        SigSet(self.0 & !((1 << (sig::SIGKILL - 1)) | (1 << (sig::SIGSTOP - 1))))
    }
    /// Lowest signal in the set.
    pub fn first(self) -> Option<Signal> {
        (self.0 != 0).then(|| self.0.trailing_zeros() as Signal + 1)
    }
}

/// `si_code` values.
#[allow(missing_docs)]
pub mod si {
    pub const SI_USER: i32 = 0;
    pub const SI_KERNEL: i32 = 0x80;
    pub const SI_TKILL: i32 = -6;
    pub const SI_QUEUE: i32 = -1;
    pub const SI_TIMER: i32 = -2;
    pub const SI_SIGIO: i32 = -5;
    pub const SEGV_MAPERR: i32 = 1;
    pub const SEGV_ACCERR: i32 = 2;
    pub const BUS_ADRERR: i32 = 2;
    pub const CLD_EXITED: i32 = 1;
    pub const CLD_KILLED: i32 = 2;
    pub const CLD_DUMPED: i32 = 3;
    pub const CLD_STOPPED: i32 = 5;
    pub const CLD_CONTINUED: i32 = 6;
}

/// Where a signal came from: the fields of `siginfo_t` this kernel fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    /// `si_code`.
    pub code: i32,
    /// Sender (or child, for `SIGCHLD`) pid.
    pub pid: u32,
    /// Sender's real uid.
    pub uid: u32,
    /// `SIGCHLD`: exit code or signal.
    pub status: i32,
    /// `SIGSEGV`/`SIGBUS`: the faulting address.
    pub addr: u64,
    /// `si_value` of a queued signal (`SI_QUEUE`) or a timer's signal
    /// (`SI_TIMER`, whose `si_timerid` and `si_overrun` share the places of
    /// `pid` and `uid`, as in Linux's `siginfo_t` union).
    pub value: u64,
}

impl SigInfo {
    /// A signal the kernel raised for its own reasons (`SI_KERNEL`).
    pub const KERNEL: SigInfo = SigInfo {
        code: si::SI_KERNEL,
        pid: 0,
        uid: 0,
        status: 0,
        addr: 0,
        value: 0,
    };

    /// A signal sent by process `pid` with `code` (`SI_USER`, `SI_TKILL`).
    pub fn from_sender(code: i32, pid: u32, uid: u32) -> SigInfo {
        SigInfo {
            code,
            pid,
            uid,
            status: 0,
            addr: 0,
            value: 0,
        }
    }

    /// An I/O readiness signal (`SIGIO` or the `F_SETSIG` signal) with
    /// `si_code` `code` (`POLL_IN`, ...), `si_band` and `si_fd`. In the
    /// x86-64 `siginfo_t` these overlay the sender fields: `si_band` (a
    /// long at offset 16) takes the place of `si_pid` and `si_uid`, and
    /// `si_fd` (offset 24) that of `si_status`, which is where
    /// [`to_bytes`](Self::to_bytes) puts them.
    pub fn poll(code: i32, band: i64, fd: i32) -> SigInfo {
        SigInfo {
            code,
            pid: band as u32,
            uid: (band >> 32) as u32,
            status: fd,
            addr: 0,
            value: 0,
        }
    }

    /// Whether the `siginfo_t` of signal `s` with this `si_code` has the
    /// I/O readiness layout (`si_band`, `si_fd`; see [`poll`](Self::poll)),
    /// as Linux's `siginfo_layout` decides: `SI_SIGIO`, or a kernel code up
    /// to `NSIGPOLL` for `SIGIO` or a signal without codes of its own.
    pub fn is_poll(&self, s: Signal) -> bool {
        const NSIGPOLL: i32 = 6;
        let kernel_code = self.code > si::SI_USER && self.code < si::SI_KERNEL;
        self.code == si::SI_SIGIO
            || (kernel_code
                && self.code <= NSIGPOLL
                && !matches!(
                    s,
                    sig::SIGILL
                        | sig::SIGFPE
                        | sig::SIGSEGV
                        | sig::SIGBUS
                        | sig::SIGTRAP
                        | sig::SIGCHLD
                        | sig::SIGSYS
                ))
    }

    /// The 128-byte `siginfo_t` for signal `sig` (x86-64 layout).
    pub fn to_bytes(&self, sig: Signal) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&(sig as i32).to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        // As Linux's `siginfo_layout`: codes from user space (<= 0) and
        // SI_KERNEL use the sender layout whatever the signal; only the
        // kernel's own positive codes pick the signal's layout.
        let kernel_code = self.code > si::SI_USER && self.code < si::SI_KERNEL;
        if kernel_code
            && (sig == sig::SIGSEGV
                || sig == sig::SIGBUS
                || sig == sig::SIGILL
                || sig == sig::SIGFPE)
        {
            b[16..24].copy_from_slice(&self.addr.to_le_bytes());
        } else {
            b[16..20].copy_from_slice(&self.pid.to_le_bytes());
            b[20..24].copy_from_slice(&self.uid.to_le_bytes());
            if self.code < si::SI_USER && self.code != si::SI_SIGIO {
                // Queued and timer signals carry a `sigval` there (an
                // `SI_SIGIO` signal has `si_fd`, as `POLL_*` ones).
                b[24..32].copy_from_slice(&self.value.to_le_bytes());
            } else {
                b[24..28].copy_from_slice(&self.status.to_le_bytes());
            }
        }
        b
    }
}

/// `SIG_DFL`.
pub const SIG_DFL: u64 = 0;
/// `SIG_IGN`.
pub const SIG_IGN: u64 = 1;

/// `sa_flags` bits.
#[allow(missing_docs)]
pub mod sa {
    pub const SA_NOCLDSTOP: u64 = 1;
    pub const SA_NOCLDWAIT: u64 = 2;
    pub const SA_SIGINFO: u64 = 4;
    pub const SA_RESTORER: u64 = 0x0400_0000;
    pub const SA_ONSTACK: u64 = 0x0800_0000;
    pub const SA_RESTART: u64 = 0x1000_0000;
    pub const SA_NODEFER: u64 = 0x4000_0000;
    pub const SA_RESETHAND: u64 = 0x8000_0000;
}

/// A signal disposition (`struct sigaction` as the kernel sees it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    /// Handler address, `SIG_DFL` or `SIG_IGN`.
    pub handler: u64,
    /// `SA_*` flags.
    pub flags: u64,
    /// `sa_restorer`.
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: SigSet,
}

/// What a signal does by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// Terminate the process.
    Terminate,
    /// Terminate and dump core (reported with the core bit).
    Core,
    /// Ignore.
    Ignore,
    /// Stop the process.
    Stop,
    /// Continue a stopped process.
    Continue,
}

/// Whether `s` is one of the stop signals.
pub fn is_stop_signal(s: Signal) -> bool {
    matches!(s, sig::SIGSTOP | sig::SIGTSTP | sig::SIGTTIN | sig::SIGTTOU)
}

/// The default action of `s` (`signal(7)`).
pub fn default_action(s: Signal) -> DefaultAction {
    use sig::*;
    match s {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::Core,
        _ => DefaultAction::Terminate,
    }
}

/// The dispositions of all signals of a process.
#[derive(Clone)]
pub struct SigActions {
    actions: [SigAction; 64],
}

impl Default for SigActions {
    fn default() -> Self {
        Self {
            actions: [SigAction::default(); 64],
        }
    }
}

impl SigActions {
    /// The disposition of `s`.
    pub fn get(&self, s: Signal) -> SigAction {
        self.actions[s as usize - 1]
    }

    /// Sets the disposition of `s`; `EINVAL` for `SIGKILL`/`SIGSTOP`.
    pub fn set(&mut self, s: Signal, a: SigAction) -> Result<()> {
        if s == sig::SIGKILL || s == sig::SIGSTOP {
            return_errno!(EINVAL);
        }
        self.actions[s as usize - 1] = a;
        Ok(())
    }

    /// At `execve`: caught signals revert to the default; ignored ones stay
    /// ignored.
    pub fn reset_for_exec(&mut self) {
        for a in self.actions.iter_mut() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
    }

    /// Whether `s` would be ignored (explicitly or by default).
    pub fn is_ignored(&self, s: Signal) -> bool {
        let a = self.get(s);
        a.handler == SIG_IGN || (a.handler == SIG_DFL && default_action(s) == DefaultAction::Ignore)
    }
}
