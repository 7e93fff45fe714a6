//! Asynchronous I/O signals: `O_ASYNC`, `F_SETOWN`, `F_SETOWN_EX` and
//! `F_SETSIG` (Linux's `fown_struct` and `fasync_struct`).
//!
//! An open file description that can signal embeds an [`IoOwner`]: who
//! gets its signals (a process, a process group or one thread) and which
//! signal. The object whose readiness changes (a pipe, the terminal, later
//! a socket) keeps a [`SigioList`] of the descriptions that set `O_ASYNC`
//! on it, each with the descriptor number that did (reported as `si_fd`),
//! and calls [`SigioList::notify`] when data arrives or room appears.
//!
//! As on Linux, the signal is plain `SIGIO` (`si_code` `SI_KERNEL`) unless
//! `F_SETSIG` chose one; a chosen signal carries `si_code` `POLL_IN`,
//! `POLL_OUT`, ..., `si_band` and `si_fd`. It is sent only where the
//! credentials of the process that set the owner allow (`sigio_perm`).

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use crate::prelude::*;
use crate::process::signal::{SigInfo, Signal, si, sig};
use crate::process::{Pid, Process};

/// How an owner id is to be read (`F_OWNER_TID`, `F_OWNER_PID`,
/// `F_OWNER_PGRP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerKind {
    /// One thread.
    Thread,
    /// A process.
    Process,
    /// A process group.
    Group,
}

impl OwnerKind {
    /// From `struct f_owner_ex`'s `type`; `EINVAL` for anything else.
    pub fn from_raw(t: i32) -> Result<Self> {
        use linux_raw_sys::general::{F_OWNER_PGRP, F_OWNER_PID, F_OWNER_TID};
        match u32::try_from(t) {
            Ok(F_OWNER_TID) => Ok(Self::Thread),
            Ok(F_OWNER_PID) => Ok(Self::Process),
            Ok(F_OWNER_PGRP) => Ok(Self::Group),
            _ => return_errno!(EINVAL),
        }
    }

    /// The `type` value.
    pub fn raw(self) -> i32 {
        use linux_raw_sys::general::{F_OWNER_PGRP, F_OWNER_PID, F_OWNER_TID};
        (match self {
            Self::Thread => F_OWNER_TID,
            Self::Process => F_OWNER_PID,
            Self::Group => F_OWNER_PGRP,
        }) as i32
    }
}

/// Why a signal is sent: the `POLL_*` `si_code`s in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollReason {
    /// Data to read (`POLL_IN`).
    In,
    /// Room to write (`POLL_OUT`).
    Out,
    /// Hang-up (`POLL_HUP`).
    Hup,
}

impl PollReason {
    fn code(self) -> i32 {
        match self {
            Self::In => 1,
            Self::Out => 2,
            Self::Hup => 6,
        }
    }

    /// `si_band`: the poll events of the reason (Linux's `band_table`).
    fn band(self) -> i64 {
        use crate::fs::poll::IoEvents;
        let ev = match self {
            Self::In => IoEvents::IN | IoEvents::RDNORM,
            Self::Out => IoEvents::OUT | IoEvents::WRNORM | IoEvents::from_bits_retain(0x200),
            Self::Hup => IoEvents::HUP | IoEvents::ERR,
        };
        ev.bits() as i64
    }
}

#[derive(Clone, Copy)]
struct OwnerState {
    kind: OwnerKind,
    /// 0: nobody.
    id: Pid,
    /// `F_SETSIG` (0: plain `SIGIO`).
    signal: Signal,
    /// Real and effective uid of whoever set the owner.
    uid: u32,
    euid: u32,
}

/// The `F_SETOWN` state of an open file description.
pub struct IoOwner {
    state: SpinLock<OwnerState>,
}

impl IoOwner {
    /// Nobody owns it yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: SpinLock::new(OwnerState {
                kind: OwnerKind::Process,
                id: 0,
                signal: 0,
                uid: 0,
                euid: 0,
            }),
        })
    }

    /// `F_SETOWN_EX` (and `F_SETOWN`): `id` 0 clears the owner; any other
    /// id must be in use as a pid, tid, process group or session (`ESRCH`,
    /// Linux's `find_vpid`). `setter` is the calling process.
    pub fn set(&self, kind: OwnerKind, id: i32, setter: &Process) -> Result<()> {
        let id = match id {
            0 => 0,
            id if id > 0 && id_in_use(id as Pid) => id as Pid,
            _ => return_errno!(ESRCH),
        };
        // The caller's credentials (Linux's `__f_setown`).
        let cred = crate::process::try_current_thread()
            .map_or_else(|| setter.credentials(), |t| t.credentials());
        let mut s = self.state.lock();
        s.kind = kind;
        s.id = id;
        s.uid = cred.ruid;
        s.euid = cred.euid;
        Ok(())
    }

    /// `F_SETOWN`: a pid, or minus a process group id.
    pub fn set_legacy(&self, who: i32, setter: &Process) -> Result<()> {
        if who == i32::MIN {
            return_errno!(EINVAL);
        }
        if who < 0 {
            self.set(OwnerKind::Group, -who, setter)
        } else {
            self.set(OwnerKind::Process, who, setter)
        }
    }

    /// `F_GETOWN_EX`: the kind, and the id if that owner still exists
    /// (else 0).
    pub fn get(&self) -> (OwnerKind, Pid) {
        let s = *self.state.lock();
        let alive = match s.kind {
            _ if s.id == 0 => false,
            OwnerKind::Process => crate::process::find_process(s.id).is_some(),
            OwnerKind::Thread => crate::process::find_thread(s.id).is_some(),
            OwnerKind::Group => {
                let mut any = false;
                crate::process::table::for_each_process(|p| any |= p.pgid() == s.id);
                any
            }
        };
        (s.kind, if alive { s.id } else { 0 })
    }

    /// `F_GETOWN`: a process group comes back negative.
    pub fn get_legacy(&self) -> i32 {
        match self.get() {
            (OwnerKind::Group, id) => -(id as i32),
            (_, id) => id as i32,
        }
    }

    /// `F_SETSIG`: 0 (plain `SIGIO`) or a signal number; `EINVAL` else.
    pub fn set_signal(&self, s: i32) -> Result<()> {
        if !(0..=64).contains(&s) {
            return_errno!(EINVAL);
        }
        self.state.lock().signal = s as Signal;
        Ok(())
    }

    /// `F_GETSIG`.
    pub fn signal(&self) -> Signal {
        self.state.lock().signal
    }

    /// Signals the owner that descriptor `fd` became ready for `reason`
    /// (Linux's `send_sigio`).
    fn send(&self, fd: i32, reason: PollReason) {
        let s = *self.state.lock();
        if s.id == 0 {
            return;
        }
        let (signal, info) = match s.signal {
            0 => (sig::SIGIO, SigInfo::KERNEL),
            n => {
                let code = if n != sig::SIGIO && has_own_codes(n) {
                    // `SI_SIGIO`: a signal with codes of its own does
                    // not get `POLL_*` ones.
                    si::SI_SIGIO
                } else {
                    reason.code()
                };
                (n, SigInfo::poll(code, reason.band(), fd))
            }
        };
        let permitted = |p: &Process| {
            s.euid == 0 || {
                let c = p.credentials();
                [c.suid, c.ruid].iter().any(|&u| u == s.euid || u == s.uid)
            }
        };
        match s.kind {
            OwnerKind::Process => {
                if let Some(p) = crate::process::find_process(s.id)
                    && permitted(&p)
                {
                    crate::process::exit::send_to_process_info(&p, signal, info);
                }
            }
            OwnerKind::Group => crate::process::table::for_each_process(|p| {
                if p.pgid() == s.id && permitted(p) {
                    crate::process::exit::send_to_process_info(p, signal, info);
                }
            }),
            OwnerKind::Thread => {
                if let Some(t) = crate::process::find_thread(s.id)
                    && permitted(t.process())
                {
                    t.send_signal_info(signal, info);
                }
            }
        }
    }
}

/// Whether `s` has `si_code`s of its own that `POLL_*` would be confused
/// with (Linux's `sig_specific_sicodes`).
fn has_own_codes(s: Signal) -> bool {
    use sig::*;
    matches!(
        s,
        SIGILL | SIGFPE | SIGSEGV | SIGBUS | SIGTRAP | SIGCHLD | SIGIO | SIGSYS
    )
}

/// Whether `id` names a live process or thread, or a process group or
/// session that has members.
fn id_in_use(id: Pid) -> bool {
    if crate::process::find_process(id).is_some() || crate::process::find_thread(id).is_some() {
        return true;
    }
    let mut used = false;
    crate::process::table::for_each_process(|p| used |= p.pgid() == id || p.sid() == id);
    used
}

struct Subscriber {
    fd: i32,
    owner: Weak<IoOwner>,
}

/// The open file descriptions that asked for signals from one object
/// (Linux's `fasync` list).
pub struct SigioList {
    subscribers: SpinLock<Vec<Subscriber>>,
}

impl SigioList {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            subscribers: SpinLock::new(Vec::new()),
        }
    }

    /// `O_ASYNC` set (`on`) or cleared on the description owning `owner`,
    /// through descriptor `fd` (Linux's `fasync_helper`). Setting it again
    /// only updates the descriptor number.
    pub fn set(&self, fd: i32, owner: &Arc<IoOwner>, on: bool) -> Result<()> {
        let mut subs = self.subscribers.lock();
        subs.retain(|s| s.owner.strong_count() > 0);
        let pos = subs
            .iter()
            .position(|s| core::ptr::eq(s.owner.as_ptr(), Arc::as_ptr(owner)));
        match (pos, on) {
            (Some(i), true) => subs[i].fd = fd,
            (Some(i), false) => {
                subs.remove(i);
            }
            (None, true) => {
                subs.try_reserve(1).map_err(|_| Error::new(ENOMEM))?;
                subs.push(Subscriber {
                    fd,
                    owner: Arc::downgrade(owner),
                });
            }
            (None, false) => {}
        }
        Ok(())
    }

    /// Signals every subscriber's owner (Linux's `kill_fasync`). Neither
    /// sleeps nor allocates for a process or group owner, so it may be
    /// called from an interrupt handler.
    pub fn notify(&self, reason: PollReason) {
        let subs = self.subscribers.lock();
        for s in subs.iter() {
            if let Some(owner) = s.owner.upgrade() {
                owner.send(s.fd, reason);
            }
        }
    }
}

impl Default for SigioList {
    fn default() -> Self {
        Self::new()
    }
}
