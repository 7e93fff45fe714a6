//! Message queues: `msgget`, `msgsnd`, `msgrcv`, `msgctl` (Linux's
//! `ipc/msg.c`).
//!
//! A queue holds typed messages in the order they were sent, up to
//! `msg_qbytes` bytes (and as many messages). A sender that does not fit
//! and a receiver that finds nothing sleep until the queue changes, then
//! look again; a signal ends the sleep (the call is restarted if no
//! handler runs, as Linux's `ERESTARTNOHAND`), and removing the queue ends
//! it with `EIDRM`.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ostd::sync::{Mutex, WaitQueue};

use super::ids::{IpcIds, IpcObject, KeyLookup};
use super::perm::{IpcPerm, READ, WRITE};
use super::uapi::{
    IPC_NOWAIT, Ipc64Perm, MSG_COPY, MSG_EXCEPT, MSG_INFO, MSG_NOERROR, MSG_STAT, MSG_STAT_ANY,
    MsgInfo, MsqidDs,
};
use super::{limits, now, user_sized_buffer};
use crate::prelude::*;
use crate::process::credentials::Credentials;
use crate::process::{Pid, Thread};

/// `MSGSSZ`, `MSGSEG`: segment size and count Linux reports (unused).
const MSGSSZ: i32 = 16;
const MSGSEG: u16 = 0xffff;
/// `MSGPOOL` (`MSGMNI * MSGMNB / 1024`) and the `MSGMAP`/`MSGTQL`
/// (`MSGMNB`) figures of `IPC_INFO`: the compile-time defaults.
const MSGPOOL: i32 = 32000 * 16384 / 1024;
const MSGMAP: i32 = 16384;

/// A message.
pub struct Message {
    /// Its type (positive).
    pub mtype: i64,
    /// Its text.
    pub data: Vec<u8>,
}

/// Creates a queue or finds one by key (`msgget`; `ENOSPC` past
/// `MSGMNI`).
pub fn msgget(creds: &Credentials, key: i32, flags: i32) -> Result<i32> {
    let mut reg = MSGS.lock();
    match reg.ids.lookup_key(key, flags)? {
        KeyLookup::Found(id) => reg.ids.open_existing(id, flags, creds, |_| Ok(())),
        KeyLookup::Create => {
            let queue = MsgQueue {
                perm: IpcPerm::new(key, flags, creds),
                messages: VecDeque::new(),
                cbytes: 0,
                qbytes: u64::try_from(limits::msgmnb()).unwrap_or(0),
                stime: 0,
                rtime: 0,
                ctime: now(),
                lspid: 0,
                lrpid: 0,
                events: Arc::new(QueueEvents::default()),
            };
            reg.ids.add(queue, limits::as_table_limit(limits::msgmni()))
        }
    }
}

/// `msgsnd`: appends `message` to queue `id`, sleeping while it does not
/// fit (`EAGAIN` instead with `IPC_NOWAIT`). The caller has checked its
/// type and size.
pub fn send(thread: &Arc<Thread>, id: i32, message: Message, flags: i32) -> Result<()> {
    let process = thread.process();
    let creds = thread.credentials();
    let mut waited: Option<Arc<QueueEvents>> = None;
    loop {
        let (events, seen) = {
            let mut guard = MSGS.lock();
            let reg = &mut *guard;
            let q = lookup_again(&mut reg.ids, id, waited.as_ref())?;
            q.perm.check(&creds, WRITE)?;
            let size = message.data.len() as u64;
            if q.fits(size) {
                q.messages.try_reserve(1).map_err(|_| Error::new(ENOMEM))?;
                q.messages.push_back(message);
                q.cbytes += size;
                q.lspid = process.pid();
                q.stime = now();
                q.events.changed();
                reg.total_messages += 1;
                reg.total_bytes += size;
                return Ok(());
            }
            if flags & IPC_NOWAIT != 0 {
                return_errno!(EAGAIN);
            }
            (q.events.clone(), q.events.seen())
        };
        events.wait_for_change(thread, seen)?;
        waited = Some(events);
    }
}

/// `msgrcv`: takes the first message that `msgtyp` selects (0: any; > 0:
/// that type, or any other with `MSG_EXCEPT`; < 0: the lowest type up to
/// `-msgtyp`) from queue `id`, sleeping until there is one (`ENOMSG`
/// instead with `IPC_NOWAIT`). `E2BIG` if it is longer than `max` bytes
/// without `MSG_NOERROR` (it then stays queued); with it, the text is cut
/// to `max` bytes. `MSG_COPY` copies the `msgtyp`-th message (from 0)
/// instead and leaves it queued; the caller has checked its flags.
pub fn receive(
    thread: &Arc<Thread>,
    id: i32,
    max: usize,
    msgtyp: i64,
    flags: i32,
) -> Result<Message> {
    let process = thread.process();
    let creds = thread.credentials();
    let search = Search::new(msgtyp, flags);
    let mut waited: Option<Arc<QueueEvents>> = None;
    loop {
        let (events, seen) = {
            let mut guard = MSGS.lock();
            let reg = &mut *guard;
            let q = lookup_again(&mut reg.ids, id, waited.as_ref())?;
            q.perm.check(&creds, READ)?;
            if let Some(i) = search.find(&q.messages) {
                let len = q.messages[i].data.len();
                if len > max && flags & MSG_NOERROR == 0 {
                    return_errno!(E2BIG);
                }
                if flags & MSG_COPY != 0 {
                    let room = usize::try_from(limits::msgmax()).unwrap_or(0).min(max);
                    if len > room {
                        return_errno!(EINVAL);
                    }
                    let mut data = user_sized_buffer(len)?;
                    data.copy_from_slice(&q.messages[i].data);
                    return Ok(Message {
                        mtype: q.messages[i].mtype,
                        data,
                    });
                }
                let Some(mut message) = q.messages.remove(i) else {
                    return_errno!(EINVAL);
                };
                q.cbytes -= len as u64;
                q.lrpid = process.pid();
                q.rtime = now();
                q.events.changed();
                reg.total_messages -= 1;
                reg.total_bytes -= len as u64;
                message.data.truncate(max);
                return Ok(message);
            }
            if flags & IPC_NOWAIT != 0 {
                return_errno!(ENOMSG);
            }
            (q.events.clone(), q.events.seen())
        };
        events.wait_for_change(thread, seen)?;
        waited = Some(events);
    }
}

/// `IPC_INFO` and `MSG_INFO`: the limits (and, for `MSG_INFO`, the queues,
/// messages and bytes in use); returns the highest slot in use.
pub fn info(cmd: i32) -> (i32, MsgInfo) {
    let reg = MSGS.lock();
    let usage = cmd == MSG_INFO;
    let info = MsgInfo {
        msgpool: if usage {
            reg.ids.in_use() as i32
        } else {
            MSGPOOL
        },
        msgmap: if usage {
            reg.total_messages.min(i32::MAX as u64) as i32
        } else {
            MSGMAP
        },
        msgmax: limits::msgmax(),
        msgmnb: limits::msgmnb(),
        msgmni: limits::msgmni(),
        msgssz: MSGSSZ,
        msgtql: if usage {
            reg.total_bytes.min(i32::MAX as u64) as i32
        } else {
            MSGMAP
        },
        msgseg: MSGSEG,
    };
    (reg.ids.max_index().max(0), info)
}

/// `IPC_STAT` (by id, returns 0), `MSG_STAT` and `MSG_STAT_ANY` (by slot,
/// return the id). All but `MSG_STAT_ANY` need read access.
pub fn stat(creds: &Credentials, id: i32, cmd: i32) -> Result<(i32, MsqidDs)> {
    let reg = MSGS.lock();
    let (ret, q) = match cmd {
        MSG_STAT | MSG_STAT_ANY => reg.ids.get_by_index(id)?,
        _ => (0, reg.ids.get(id)?),
    };
    if cmd != MSG_STAT_ANY {
        q.perm.check(creds, READ)?;
    }
    Ok((
        ret,
        MsqidDs {
            msg_perm: q.perm.to_user(),
            msg_stime: q.stime,
            msg_rtime: q.rtime,
            msg_ctime: q.ctime,
            msg_cbytes: q.cbytes,
            msg_qnum: q.messages.len() as u64,
            msg_qbytes: q.qbytes,
            msg_lspid: q.lspid as i32,
            msg_lrpid: q.lrpid as i32,
            ..Default::default()
        },
    ))
}

/// `IPC_SET`, by the owner, creator or `CAP_SYS_ADMIN`: new owner, mode
/// and size (above `MSGMNB` only with `CAP_SYS_RESOURCE`, else `EPERM`).
/// Sleepers look again.
pub fn set(creds: &Credentials, id: i32, perm: &Ipc64Perm, qbytes: u64) -> Result<()> {
    let mut reg = MSGS.lock();
    let q = reg.ids.get_mut(id)?;
    q.perm.check_owner(creds)?;
    if qbytes > u64::try_from(limits::msgmnb()).unwrap_or(0)
        && !creds.has_cap(linux_raw_sys::general::CAP_SYS_RESOURCE)
    {
        return_errno!(EPERM);
    }
    q.perm.update(perm)?;
    q.qbytes = qbytes;
    q.ctime = now();
    q.events.changed();
    Ok(())
}

/// `IPC_RMID`, by the owner, creator or root: the queue and its messages
/// go; sleepers wake up with `EIDRM`.
pub fn remove(creds: &Credentials, id: i32) -> Result<()> {
    let mut guard = MSGS.lock();
    let reg = &mut *guard;
    reg.ids.get(id)?.perm.check_owner(creds)?;
    let Some(q) = reg.ids.remove(id) else {
        return_errno!(EINVAL);
    };
    reg.total_messages -= q.messages.len() as u64;
    reg.total_bytes -= q.cbytes;
    q.events.removed.store(true, Ordering::Release);
    q.events.changed();
    Ok(())
}

// ---- Internals ----

/// All message queues.
static MSGS: Mutex<Registry> = Mutex::new(Registry {
    ids: IpcIds::new(),
    total_messages: 0,
    total_bytes: 0,
});

struct Registry {
    ids: IpcIds<MsgQueue>,
    /// Messages and bytes in all queues (`MSG_INFO`).
    total_messages: u64,
    total_bytes: u64,
}

/// A message queue.
struct MsgQueue {
    perm: IpcPerm,
    messages: VecDeque<Message>,
    /// Bytes queued.
    cbytes: u64,
    /// The most bytes (and messages) it may hold.
    qbytes: u64,
    stime: i64,
    rtime: i64,
    ctime: i64,
    /// The processes of the last send and receive.
    lspid: Pid,
    lrpid: Pid,
    events: Arc<QueueEvents>,
}

impl IpcObject for MsgQueue {
    fn perm(&self) -> &IpcPerm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut IpcPerm {
        &mut self.perm
    }
}

impl MsgQueue {
    /// Whether a message of `size` bytes fits (Linux's `msg_fits_inqueue`:
    /// the bytes and the number of messages are both bounded by
    /// `msg_qbytes`).
    fn fits(&self, size: u64) -> bool {
        self.cbytes.saturating_add(size) <= self.qbytes
            && (self.messages.len() as u64) < self.qbytes
    }
}

/// Where senders and receivers of a queue sleep, outliving the queue so
/// that they learn of its removal.
#[derive(Default)]
struct QueueEvents {
    /// Bumped at every change a sleeper may be waiting for.
    changes: AtomicU64,
    removed: AtomicBool,
    sleepers: WaitQueue,
}

impl QueueEvents {
    fn seen(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        self.sleepers.wake_all();
    }

    /// Sleeps until the queue changes after `seen`; then `EIDRM` if it was
    /// removed, else `ERESTARTNOHAND` if a signal came.
    fn wait_for_change(&self, thread: &Thread, seen: u64) -> Result<()> {
        self.sleepers
            .wait_until(|| (self.seen() != seen || thread.has_pending_work()).then_some(()));
        if self.removed.load(Ordering::Acquire) {
            return_errno!(EIDRM);
        }
        if thread.has_pending_work() {
            return_errno!(ERESTARTNOHAND);
        }
        Ok(())
    }
}

/// Queue `id`, first (`EINVAL` if there is none) or again after sleeping
/// on `waited` (`EIDRM` if it was removed meanwhile).
fn lookup_again<'a>(
    ids: &'a mut IpcIds<MsgQueue>,
    id: i32,
    waited: Option<&Arc<QueueEvents>>,
) -> Result<&'a mut MsgQueue> {
    match waited {
        Some(ev) if ev.removed.load(Ordering::Acquire) => return_errno!(EIDRM),
        Some(_) => ids.get_mut(id).map_err(|_| Error::new(EIDRM)),
        None => ids.get_mut(id),
    }
}

/// Which message `msgrcv` takes (Linux's `SEARCH_*` modes).
enum Search {
    Any,
    Equal(i64),
    NotEqual(i64),
    /// The lowest type up to this one.
    LowestUpTo(i64),
    /// The n-th message (`MSG_COPY`).
    Index(i64),
}

impl Search {
    fn new(msgtyp: i64, flags: i32) -> Self {
        if flags & MSG_COPY != 0 {
            Self::Index(msgtyp)
        } else if msgtyp == 0 {
            Self::Any
        } else if msgtyp < 0 {
            Self::LowestUpTo(msgtyp.checked_neg().unwrap_or(i64::MAX))
        } else if flags & MSG_EXCEPT != 0 {
            Self::NotEqual(msgtyp)
        } else {
            Self::Equal(msgtyp)
        }
    }

    fn find(&self, messages: &VecDeque<Message>) -> Option<usize> {
        let mut types = messages.iter().map(|m| m.mtype);
        match *self {
            Self::Any => (!messages.is_empty()).then_some(0),
            Self::Equal(t) => types.position(|m| m == t),
            Self::NotEqual(t) => types.position(|m| m != t),
            Self::LowestUpTo(t) => types
                .enumerate()
                .filter(|&(_, m)| m <= t)
                .min_by_key(|&(i, m)| (m, i))
                .map(|(i, _)| i),
            Self::Index(n) => usize::try_from(n).ok().filter(|&n| n < messages.len()),
        }
    }
}
