//! Futexes: the kernel half of user-space locks, condition variables and
//! thread joins (`futex(2)`, `futex_waitv(2)`, robust lists).
//!
//! # Keys
//! As on Linux, an operation without `FUTEX_PRIVATE_FLAG` on a shared
//! mapping is keyed by the memory object behind the word and the word's
//! offset in it, so processes mapping the same memory (anonymous shared
//! memory inherited over `fork`, a tmpfs file, a System V segment) meet on
//! one key wherever each has it mapped, and a waiter stays reachable after
//! the waker unmaps its own view. Every other operation is keyed by the
//! address space and the address; private-flag and shared-flag operations
//! on private memory get different keys, as Linux gives them.
//!
//! # Waiters
//! Waiters sit in hashed buckets, each under its own lock. A waiter reads
//! the word and queues itself under its bucket's lock, and wakers take the
//! same lock, so a wake-up between the check and the sleep is never lost.
//! A waiter records the key it is queued on (requeueing moves it); whoever
//! takes it off a queue also sets its outcome, and a waiter that stops
//! waiting (timeout, signal) looks at the outcome after taking itself off:
//! a wake-up that raced with the timeout still counts as a wake-up.
//!
//! # Priority inheritance
//! A PI futex word holds its owner's thread id, `FUTEX_WAITERS` while
//! threads wait in the kernel, and `FUTEX_OWNER_DIED` after its owner died
//! holding it. Unlocking hands the lock straight to the first waiter (the
//! word then names it). The kernel keeps, with each PI waiter, the owner
//! it waits for (Linux's `pi_state` owner); when that owner exits or
//! execs, its waiters look at the word again and one takes the lock, even
//! if the word still names the dead owner or user space cleared it (as
//! Linux's `exit_pi_state_list`, whatever the robust list says). The
//! scheduler has no priorities to boost yet, so inheritance itself is a
//! no-op: the protocol, ownership and errors are Linux's.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use core::time::Duration;

use ostd::sync::{Mutex, MutexGuard, SpinLock, Waiter, Waker};

use super::{Thread, Tid};
use crate::prelude::*;
use crate::vm::Vmar;

use linux_raw_sys::general::{self as g, FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS};

/// What identifies a futex word.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Key {
    /// A word in private memory (or any word, for a private operation):
    /// the address space and the address.
    Private {
        space: usize,
        addr: u64,
        /// Made by an operation without `FUTEX_PRIVATE_FLAG`.
        shared_op: bool,
    },
    /// A word in shared memory: its memory object and offset.
    Shared { object: u64, offset: u64 },
}

impl Key {
    /// The key of the word at `addr` of `vmar` for a private or shared
    /// operation: `EINVAL` if not 4-byte aligned, `EFAULT` if not a user
    /// address or, for a shared operation, if the word cannot be read.
    pub fn new(vmar: &Arc<Vmar>, addr: u64, shared: bool) -> Result<Key> {
        if !addr.is_multiple_of(4) {
            return_errno!(EINVAL);
        }
        if addr
            .checked_add(4)
            .is_none_or(|end| end > crate::vm::layout::USER_END)
        {
            return_errno!(EFAULT);
        }
        // Not the address: a freed space's address comes back, and a
        // waiter left on the old key would be found by the new space.
        let space = vmar.id() as usize;
        if !shared {
            return Ok(Key::Private {
                space,
                addr,
                shared_op: false,
            });
        }
        Ok(match vmar.futex_object(addr)? {
            Some((object, offset)) => Key::Shared { object, offset },
            None => Key::Private {
                space,
                addr,
                shared_op: true,
            },
        })
    }

    fn bucket_index(&self) -> usize {
        let h = match *self {
            Key::Private { space, addr, .. } => (space as u64).rotate_left(29) ^ addr,
            Key::Shared { object, offset } => object.rotate_left(37) ^ offset,
        };
        (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - BUCKET_BITS)) as usize
    }
}

const BUCKET_BITS: u32 = 6;
type Queues = BTreeMap<Key, VecDeque<Arc<Entry>>>;
/// Sleeping locks: a waiter reads the user word under its bucket's lock,
/// and that read may fault and sleep.
static BUCKETS: [Mutex<Queues>; 1 << BUCKET_BITS] =
    [const { Mutex::new(BTreeMap::new()) }; 1 << BUCKET_BITS];

/// Set once a thread has queued as a PI waiter.
static PI_WAITED: AtomicBool = AtomicBool::new(false);

/// The outcome of a wait, set once by whoever ends it.
const PENDING: usize = usize::MAX;
/// A PI waiter was handed the lock.
const OWNER: usize = usize::MAX - 1;
/// A PI waiter must try again: its owner, whose tid is in the low 32
/// bits, exited or execed (`RETRY | tid`).
const RETRY: usize = 1 << 32;

/// The owner whose exit a [`RETRY`] outcome reports.
fn dead_owner(outcome: usize) -> Option<Tid> {
    (outcome & !(Tid::MAX as usize) == RETRY).then_some(outcome as Tid)
}

/// Where a thread is in releasing its futexes (Linux's `futex_state`),
/// for lockers of PI futexes it owns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum FutexState {
    Live = 0,
    /// Releasing them at exit or exec: a locker waits until it is done.
    Exiting = 1,
    /// Exited: a PI futex whose word still names it has no owner (`ESRCH`).
    Dead = 2,
}

impl From<u8> for FutexState {
    fn from(v: u8) -> Self {
        match v {
            1 => FutexState::Exiting,
            2 => FutexState::Dead,
            _ => FutexState::Live,
        }
    }
}

/// One sleeping thread (shared by its entries: `futex_waitv` queues one
/// entry per word).
struct WaitState {
    waker: Waker,
    tid: Tid,
    /// [`PENDING`], the index of the word that woke it, [`OWNER`] or
    /// [`RETRY`] with a tid.
    outcome: AtomicUsize,
}

impl WaitState {
    fn finish(&self, outcome: usize) {
        if self
            .outcome
            .compare_exchange(PENDING, outcome, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.waker.wake_up();
        }
    }

    fn outcome(&self) -> usize {
        self.outcome.load(Ordering::Acquire)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `FUTEX_WAIT*`, `futex_waitv`.
    Normal,
    /// `FUTEX_LOCK_PI*`, or requeued by `FUTEX_CMP_REQUEUE_PI`.
    Pi,
    /// `FUTEX_WAIT_REQUEUE_PI`, before the requeue to this PI futex.
    RequeuePi(Key),
}

/// A waiter's place in one queue.
struct Entry {
    state: Arc<WaitState>,
    /// Which word of a `futex_waitv` this is (0 otherwise).
    index: usize,
    bitset: u32,
    /// The queue it is on and what it waits for; changed only with that
    /// queue's bucket locked (requeueing locks both buckets).
    place: SpinLock<(Key, Kind)>,
    /// For a PI waiter, the tid of the owner it waits for; changed with
    /// its bucket locked.
    pi_owner: AtomicU32,
}

impl Entry {
    fn new(state: &Arc<WaitState>, index: usize, bitset: u32, key: Key, kind: Kind) -> Arc<Self> {
        Arc::new(Self {
            state: state.clone(),
            index,
            bitset,
            place: SpinLock::new((key, kind)),
            pi_owner: AtomicU32::new(0),
        })
    }

    fn kind(&self) -> Kind {
        self.place.lock().1
    }
}

fn new_state(thread: &Thread) -> (Waiter, Arc<WaitState>) {
    let (waiter, waker) = Waiter::new_pair();
    let state = Arc::new(WaitState {
        waker,
        tid: thread.tid(),
        outcome: AtomicUsize::new(PENDING),
    });
    (waiter, state)
}

fn queue(map: &mut Queues, key: Key, entry: Arc<Entry>) -> Result<()> {
    let q = map.entry(key).or_default();
    q.try_reserve(1).map_err(|_| Error::new(ENOMEM))?;
    q.push_back(entry);
    Ok(())
}

/// Takes `entry` off the queue it is on, if it still is.
fn unqueue(entry: &Arc<Entry>) {
    loop {
        let key = entry.place.lock().0;
        let mut map = BUCKETS[key.bucket_index()].lock();
        if entry.place.lock().0 != key {
            continue; // requeued meanwhile
        }
        if let Some(q) = map.get_mut(&key) {
            q.retain(|e| !Arc::ptr_eq(e, entry));
            if q.is_empty() {
                map.remove(&key);
            }
        }
        return;
    }
}

/// How a sleep ended.
enum Slept {
    Woken(usize),
    TimedOut,
    Interrupted,
}

/// Sleeps until the state's outcome is set, the deadline (monotonic)
/// passes or a signal arrives.
fn sleep(
    thread: &Thread,
    waiter: &Waiter,
    state: &Arc<WaitState>,
    deadline: Option<Duration>,
) -> Slept {
    let timer = deadline.map(|d| {
        let w = state.waker.clone();
        let after = d.saturating_sub(ostd::timer::monotonic());
        ostd::timer::add_timeout(after, move || {
            w.wake_up();
        })
    });
    let slept = loop {
        let o = state.outcome();
        if o != PENDING {
            break Slept::Woken(o);
        }
        if thread.has_pending_work() {
            break Slept::Interrupted;
        }
        if deadline.is_some_and(|d| ostd::timer::monotonic() >= d) {
            break Slept::TimedOut;
        }
        waiter.wait();
    };
    if let Some(t) = timer {
        t.cancel();
    }
    slept
}

/// Ends the wait of the entries `entries` of a multi-word wait: takes them
/// off their queues and returns the outcome if a wake-up came first.
fn give_up(entries: &[Arc<Entry>], state: &WaitState) -> Option<usize> {
    for e in entries {
        unqueue(e);
    }
    let o = state.outcome();
    (o != PENDING).then_some(o)
}

/// A deadline on the monotonic clock from a timeout.
pub fn deadline_after(timeout: Option<Duration>) -> Option<Duration> {
    timeout.map(|t| ostd::timer::monotonic().saturating_add(t))
}

// ------------------------------------------------------------ wait & wake

/// `FUTEX_WAIT`/`FUTEX_WAIT_BITSET`: sleeps if the word at `addr` holds
/// `expected` (else `EAGAIN`) until woken (`Ok`), the deadline passes
/// (`ETIMEDOUT`) or a signal arrives (`ERESTARTSYS`, `EINTR` with a
/// timeout).
pub fn wait(
    thread: &Thread,
    vmar: &Arc<Vmar>,
    key: Key,
    addr: u64,
    expected: u32,
    deadline: Option<Duration>,
    bitset: u32,
) -> Result<()> {
    if bitset == 0 {
        return_errno!(EINVAL);
    }
    let (waiter, state) = new_state(thread);
    let entry = Entry::new(&state, 0, bitset, key, Kind::Normal);
    {
        let mut map = BUCKETS[key.bucket_index()].lock();
        let val: u32 = vmar.read_val(addr)?;
        if val != expected {
            return_errno!(EAGAIN);
        }
        queue(&mut map, key, entry.clone())?;
    }
    match sleep(thread, &waiter, &state, deadline) {
        Slept::Woken(_) => Ok(()),
        slept => {
            if give_up(&[entry], &state).is_some() {
                return Ok(());
            }
            match slept {
                Slept::TimedOut => return_errno!(ETIMEDOUT),
                _ if deadline.is_some() => return_errno!(EINTR),
                _ => return_errno!(ERESTARTSYS),
            }
        }
    }
}

/// Wakes up to `n` waiters (at least one: Linux wakes before it counts) on
/// `key` whose bitset meets `bitset`; returns how many. `EINVAL` if a PI
/// waiter would be woken, as on Linux.
pub fn wake(key: Key, n: i32, bitset: u32) -> Result<usize> {
    if bitset == 0 {
        return_errno!(EINVAL);
    }
    let mut map = BUCKETS[key.bucket_index()].lock();
    wake_locked(&mut map, key, wake_count(n), bitset)
}

/// `FUTEX_WAKE`'s count: the first waiter is woken before the count is
/// compared, so 0 and negative counts wake one.
fn wake_count(n: i32) -> usize {
    n.max(1) as usize
}

fn wake_locked(map: &mut Queues, key: Key, n: usize, bitset: u32) -> Result<usize> {
    let Some(q) = map.get_mut(&key) else {
        return Ok(0);
    };
    let mut woken = 0;
    let mut i = 0;
    while i < q.len() && woken < n {
        let e = &q[i];
        if e.bitset & bitset == 0 {
            i += 1;
            continue;
        }
        if e.kind() != Kind::Normal {
            return_errno!(EINVAL);
        }
        if let Some(e) = q.remove(i) {
            e.state.finish(e.index);
        }
        woken += 1;
    }
    if q.is_empty() {
        map.remove(&key);
    }
    Ok(woken)
}

/// Wakes one waiter of the shared-operation key of `addr` (thread exit:
/// `CLONE_CHILD_CLEARTID` and robust futexes), ignoring errors.
pub fn wake_one_shared(vmar: &Arc<Vmar>, addr: u64) {
    if let Ok(key) = Key::new(vmar, addr, true) {
        let _ = wake(key, 1, u32::MAX);
    }
}

/// Locks the buckets of two keys (one lock if they share a bucket), in
/// bucket order.
struct Pair {
    first: MutexGuard<'static, Queues>,
    second: Option<MutexGuard<'static, Queues>>,
    /// Whether `second` holds the bucket of the first key.
    swapped: bool,
}

impl Pair {
    fn lock(a: Key, b: Key) -> Self {
        let (ia, ib) = (a.bucket_index(), b.bucket_index());
        if ia == ib {
            return Self {
                first: BUCKETS[ia].lock(),
                second: None,
                swapped: false,
            };
        }
        let (lo, hi) = (ia.min(ib), ia.max(ib));
        let first = BUCKETS[lo].lock();
        let second = Some(BUCKETS[hi].lock());
        Self {
            first,
            second,
            swapped: ia > ib,
        }
    }

    /// The queues of the first key's bucket (`0`) or the second's (`1`).
    fn map(&mut self, which: usize) -> &mut Queues {
        let second = (which == 1) != self.swapped;
        match (&mut self.second, second) {
            (Some(s), true) => s,
            _ => &mut self.first,
        }
    }
}

/// `FUTEX_REQUEUE`/`FUTEX_CMP_REQUEUE`: wakes up to `n_wake` waiters of
/// `from` and moves up to `n_requeue` others to `to`, if the word at
/// `addr` holds `cmp` (`EAGAIN` otherwise). Returns the number woken plus
/// the number moved.
pub fn requeue(
    vmar: &Arc<Vmar>,
    (from, addr): (Key, u64),
    to: Key,
    n_wake: i32,
    n_requeue: i32,
    cmp: Option<u32>,
) -> Result<usize> {
    if n_wake < 0 || n_requeue < 0 {
        return_errno!(EINVAL);
    }
    let mut pair = Pair::lock(from, to);
    if let Some(expected) = cmp {
        let val: u32 = vmar.read_val(addr)?;
        if val != expected {
            return_errno!(EAGAIN);
        }
    }
    let Some(mut list) = pair.map(0).remove(&from) else {
        return Ok(0);
    };
    if list.iter().any(|e| e.kind() != Kind::Normal) {
        pair.map(0).insert(from, list);
        return_errno!(EINVAL);
    }
    let (mut woken, mut moved) = (0, VecDeque::new());
    let mut rest = VecDeque::new();
    while let Some(e) = list.pop_front() {
        if woken < n_wake as usize {
            e.state.finish(e.index);
            woken += 1;
        } else if moved.len() < n_requeue as usize {
            e.place.lock().0 = to;
            moved.push_back(e);
        } else {
            rest.push_back(e);
        }
    }
    let n_moved = moved.len();
    if !rest.is_empty() {
        pair.map(0).insert(from, rest);
    }
    if !moved.is_empty() {
        let q = pair.map(1).entry(to).or_default();
        q.extend(moved);
    }
    Ok(woken + n_moved)
}

/// `FUTEX_WAKE_OP`: atomically applies the operation encoded in `op` to
/// the word at `addr2`, wakes up to `n1` waiters of `key1`, and, if the
/// word's old value passes the encoded comparison, up to `n2` of `key2`.
pub fn wake_op(
    vmar: &Arc<Vmar>,
    key1: Key,
    (key2, addr2): (Key, u64),
    (n1, n2): (i32, i32),
    op: u32,
) -> Result<usize> {
    let kind = (op >> 28) & 7;
    let cmp = (op >> 24) & 15;
    let sign_extend = |v: u32| ((v << 20) as i32) >> 20;
    let mut oparg = sign_extend((op >> 12) & 0xfff);
    let cmparg = sign_extend(op & 0xfff);
    if op & (g::FUTEX_OP_OPARG_SHIFT << 28) != 0 {
        oparg = 1 << (oparg & 31);
    }
    let mut pair = Pair::lock(key1, key2);
    let apply = |old: u32| -> Option<u32> {
        let arg = oparg as u32;
        Some(match kind {
            g::FUTEX_OP_SET => arg,
            g::FUTEX_OP_ADD => old.wrapping_add(arg),
            g::FUTEX_OP_OR => old | arg,
            g::FUTEX_OP_ANDN => old & !arg,
            g::FUTEX_OP_XOR => old ^ arg,
            _ => return None,
        })
    };
    let mut old: u32 = vmar.read_val(addr2)?;
    loop {
        let Some(new) = apply(old) else {
            return_errno!(ENOSYS);
        };
        let seen = vmar.cmpxchg_u32(addr2, old, new)?;
        if seen == old {
            break;
        }
        old = seen;
    }
    let old = old as i32;
    let pass = match cmp {
        g::FUTEX_OP_CMP_EQ => old == cmparg,
        g::FUTEX_OP_CMP_NE => old != cmparg,
        g::FUTEX_OP_CMP_LT => old < cmparg,
        g::FUTEX_OP_CMP_LE => old <= cmparg,
        g::FUTEX_OP_CMP_GT => old > cmparg,
        g::FUTEX_OP_CMP_GE => old >= cmparg,
        _ => return_errno!(ENOSYS),
    };
    let mut woken = wake_locked(pair.map(0), key1, wake_count(n1), u32::MAX)?;
    if pass {
        woken += wake_locked(pair.map(1), key2, wake_count(n2), u32::MAX)?;
    }
    Ok(woken)
}

/// One word of a `futex_waitv`.
pub struct WaitvItem {
    pub key: Key,
    pub addr: u64,
    pub expected: u32,
}

/// `futex_waitv`: sleeps until one of the words is woken, and returns its
/// index; `EAGAIN` if a word does not hold its expected value.
pub fn waitv(
    thread: &Thread,
    vmar: &Arc<Vmar>,
    items: &[WaitvItem],
    deadline: Option<Duration>,
) -> Result<usize> {
    let (waiter, state) = new_state(thread);
    let mut entries = Vec::new();
    entries
        .try_reserve(items.len())
        .map_err(|_| Error::new(ENOMEM))?;
    for (i, item) in items.iter().enumerate() {
        let entry = Entry::new(&state, i, u32::MAX, item.key, Kind::Normal);
        let queued = {
            let mut map = BUCKETS[item.key.bucket_index()].lock();
            match vmar.read_val::<u32>(item.addr) {
                Ok(v) if v == item.expected => queue(&mut map, item.key, entry.clone()),
                Ok(_) => Err(Error::new(EAGAIN)),
                Err(e) => Err(e),
            }
        };
        if let Err(e) = queued {
            // A word already woken wins over the failure, as on Linux.
            return match give_up(&entries, &state) {
                Some(i) => Ok(i),
                None => Err(e),
            };
        }
        entries.push(entry);
    }
    match sleep(thread, &waiter, &state, deadline) {
        Slept::Woken(i) => {
            give_up(&entries, &state);
            Ok(i)
        }
        slept => match give_up(&entries, &state) {
            Some(i) => Ok(i),
            None => match slept {
                Slept::TimedOut => return_errno!(ETIMEDOUT),
                _ => return_errno!(ERESTARTSYS),
            },
        },
    }
}

// ------------------------------------------------ priority inheritance

fn has_waiters(map: &Queues, key: Key) -> bool {
    map.get(&key).is_some_and(|q| !q.is_empty())
}

/// Tries to make `tid` the owner of the PI futex at `addr` whose word
/// holds `uval`: `Ok(true)` if it was free and is now `tid`'s, `Ok(false)`
/// if the word changed meanwhile (try again).
fn take_free(vmar: &Vmar, addr: u64, uval: u32, tid: Tid, waiters: bool) -> Result<bool> {
    let mut new = (uval & FUTEX_OWNER_DIED) | tid;
    if waiters {
        new |= FUTEX_WAITERS;
    }
    Ok(vmar.cmpxchg_u32(addr, uval, new)? == uval)
}

/// What a lock attempt on a held PI futex does next.
enum Attach {
    /// `FUTEX_WAITERS` is set in the word: queue.
    Queue,
    /// The word changed: look again.
    Again,
    /// The owner is releasing its futexes: look again once it is done.
    OwnerExiting,
}

/// Whether the PI futex owner `owner` can be waited for: `ESRCH` if it is
/// gone (and nobody recorded its death in the word, as Linux says).
fn check_owner(owner: Tid) -> Result<FutexState> {
    match super::find_thread(owner).map(|t| t.futex_state()) {
        None | Some(FutexState::Dead) => return_errno!(ESRCH),
        Some(state) => Ok(state),
    }
}

/// The checks and bookkeeping of a lock attempt on a held PI futex.
fn prepare_to_wait_pi(vmar: &Vmar, addr: u64, uval: u32) -> Result<Attach> {
    if check_owner(uval & FUTEX_TID_MASK)? == FutexState::Exiting {
        return Ok(Attach::OwnerExiting);
    }
    if uval & FUTEX_WAITERS != 0 {
        return Ok(Attach::Queue);
    }
    Ok(
        if vmar.cmpxchg_u32(addr, uval, uval | FUTEX_WAITERS)? == uval {
            Attach::Queue
        } else {
            Attach::Again
        },
    )
}

/// Records `owner` as the owner the PI waiters of `key` wait for.
fn set_pi_owner(map: &Queues, key: Key, owner: Tid) {
    for e in map.get(&key).into_iter().flatten() {
        if e.kind() == Kind::Pi {
            e.pi_owner.store(owner, Ordering::Relaxed);
        }
    }
}

/// `FUTEX_LOCK_PI`/`FUTEX_LOCK_PI2`/`FUTEX_TRYLOCK_PI`.
pub fn lock_pi(
    thread: &Thread,
    vmar: &Arc<Vmar>,
    key: Key,
    addr: u64,
    deadline: Option<Duration>,
    try_only: bool,
) -> Result<()> {
    lock_pi_after(thread, vmar, (key, addr), deadline, try_only, None)
}

/// [`lock_pi`] for a waiter whose owner `dead` exited or execed (if
/// `Some`): until it queues again, it takes the futex even if the word
/// still names `dead`.
fn lock_pi_after(
    thread: &Thread,
    vmar: &Arc<Vmar>,
    (key, addr): (Key, u64),
    deadline: Option<Duration>,
    try_only: bool,
    mut dead: Option<Tid>,
) -> Result<()> {
    let tid = thread.tid();
    loop {
        // User space may change the word under every attempt; a thread
        // being killed stops trying.
        check_not_killed(thread)?;
        let (waiter, state) = new_state(thread);
        let entry = Entry::new(&state, 0, u32::MAX, key, Kind::Pi);
        {
            let mut map = BUCKETS[key.bucket_index()].lock();
            let uval: u32 = vmar.read_val(addr)?;
            let owner = uval & FUTEX_TID_MASK;
            if owner == tid {
                return_errno!(EDEADLK);
            }
            if owner == 0 || Some(owner) == dead {
                if take_free(vmar, addr, uval, tid, has_waiters(&map, key))? {
                    set_pi_owner(&map, key, tid);
                    return Ok(());
                }
                continue;
            }
            if try_only {
                return_errno!(EAGAIN);
            }
            match prepare_to_wait_pi(vmar, addr, uval)? {
                Attach::Queue => {}
                Attach::Again => continue,
                Attach::OwnerExiting => {
                    drop(map);
                    ostd::task::yield_now();
                    continue;
                }
            }
            entry.pi_owner.store(owner, Ordering::Relaxed);
            PI_WAITED.store(true, Ordering::SeqCst);
            queue(&mut map, key, entry.clone())?;
        }
        let outcome = match sleep(thread, &waiter, &state, deadline) {
            Slept::Woken(o) => Some(o),
            slept => match give_up(&[entry], &state) {
                Some(o) => Some(o),
                None if matches!(slept, Slept::TimedOut) => return_errno!(ETIMEDOUT),
                // Restarted after the handler, never `EINTR`, as on Linux.
                None => return_errno!(ERESTARTNOINTR),
            },
        };
        if outcome == Some(OWNER) {
            return Ok(());
        }
        // RETRY: the owner exited or execed; look at the word again.
        dead = outcome.and_then(dead_owner);
    }
}

/// `FUTEX_UNLOCK_PI`: the caller must own the futex (`EPERM`); hands it to
/// the first waiter, or frees it.
pub fn unlock_pi(thread: &Thread, vmar: &Arc<Vmar>, key: Key, addr: u64) -> Result<()> {
    let tid = thread.tid();
    loop {
        check_not_killed(thread)?;
        let mut map = BUCKETS[key.bucket_index()].lock();
        let uval: u32 = vmar.read_val(addr)?;
        if uval & FUTEX_TID_MASK != tid {
            return_errno!(EPERM);
        }
        let top = map.get(&key).and_then(|q| {
            q.iter()
                .position(|e| e.kind() == Kind::Pi && e.state.outcome() == PENDING)
        });
        let Some(i) = top else {
            if vmar.cmpxchg_u32(addr, uval, 0)? == uval {
                return Ok(());
            }
            continue;
        };
        let Some(q) = map.get_mut(&key) else {
            continue;
        };
        let next = q[i].state.tid;
        if vmar.cmpxchg_u32(addr, uval, next | FUTEX_WAITERS)? != uval {
            continue;
        }
        if let Some(e) = q.remove(i) {
            e.state.finish(OWNER);
        }
        if q.is_empty() {
            map.remove(&key);
        }
        set_pi_owner(&map, key, next);
        return Ok(());
    }
}

/// `FUTEX_WAIT_REQUEUE_PI`: waits on `key` (a condition variable) until
/// `FUTEX_CMP_REQUEUE_PI` moves the caller to the PI futex `target` and it
/// gets that lock (`Ok`: the caller owns `target`).
pub fn wait_requeue_pi(
    thread: &Thread,
    vmar: &Arc<Vmar>,
    (key, addr): (Key, u64),
    (target, addr2): (Key, u64),
    expected: u32,
    deadline: Option<Duration>,
) -> Result<()> {
    if key == target {
        return_errno!(EINVAL);
    }
    let (waiter, state) = new_state(thread);
    let entry = Entry::new(&state, 0, u32::MAX, key, Kind::RequeuePi(target));
    {
        let mut map = BUCKETS[key.bucket_index()].lock();
        let val: u32 = vmar.read_val(addr)?;
        if val != expected {
            return_errno!(EAGAIN);
        }
        queue(&mut map, key, entry.clone())?;
    }
    let outcome = match sleep(thread, &waiter, &state, deadline) {
        Slept::Woken(o) => o,
        slept => {
            let requeued = entry.kind() == Kind::Pi;
            match give_up(&[entry], &state) {
                Some(o) => o,
                None if matches!(slept, Slept::TimedOut) => return_errno!(ETIMEDOUT),
                // Once requeued, a restart would find the word changed.
                None if requeued => return_errno!(EAGAIN),
                None => return_errno!(ERESTARTSYS),
            }
        }
    };
    if outcome == OWNER {
        return Ok(());
    }
    // The PI futex's owner exited or execed while we waited on it.
    lock_pi_after(
        thread,
        vmar,
        (target, addr2),
        deadline,
        false,
        dead_owner(outcome),
    )
}

/// `FUTEX_CMP_REQUEUE_PI`: if the word at `addr` holds `cmp`, gives the PI
/// futex at `addr2` to the first waiter of `from` if it is free, and moves
/// up to `n_requeue` waiters to wait for it. Returns the number woken plus
/// the number moved.
pub fn cmp_requeue_pi(
    vmar: &Arc<Vmar>,
    (from, addr): (Key, u64),
    (to, addr2): (Key, u64),
    n_wake: i32,
    n_requeue: i32,
    cmp: u32,
) -> Result<usize> {
    if n_wake != 1 || n_requeue < 0 || from == to {
        return_errno!(EINVAL);
    }
    let mut pair = Pair::lock(from, to);
    let val: u32 = vmar.read_val(addr)?;
    if val != cmp {
        return_errno!(EAGAIN);
    }
    let Some(mut list) = pair.map(0).remove(&from) else {
        return Ok(0);
    };
    if list.iter().any(|e| e.kind() != Kind::RequeuePi(to)) {
        pair.map(0).insert(from, list);
        return_errno!(EINVAL);
    }
    let mut count = 0;
    // The first waiter takes the lock if it is free.
    let mut uval: u32 = vmar.read_val(addr2)?;
    // The waiter must not already own the lock it would wait for.
    if list
        .front()
        .is_some_and(|e| uval & FUTEX_TID_MASK == e.state.tid)
    {
        pair.map(0).insert(from, list);
        return_errno!(EDEADLK);
    }
    if uval & FUTEX_TID_MASK == 0
        && let Some(first) = list.front()
    {
        let more = list.len() > 1 || has_waiters(pair.map(1), to);
        let first_tid = first.state.tid;
        if take_free(vmar, addr2, uval, first_tid, more)? {
            if let Some(e) = list.pop_front() {
                e.state.finish(OWNER);
            }
            set_pi_owner(pair.map(1), to, first_tid);
            count += 1;
        }
        uval = vmar.read_val(addr2)?;
    }
    // Waiting for an owner that is gone or going: `ESRCH`, or, while it
    // releases its futexes, `EAGAIN` as if the word had changed.
    let owner = uval & FUTEX_TID_MASK;
    if owner != 0 && n_requeue > 0 && !list.is_empty() {
        let checked = check_owner(owner);
        if !matches!(checked, Ok(FutexState::Live)) {
            pair.map(0).insert(from, list);
            checked?;
            return_errno!(EAGAIN);
        }
    }
    let mut moved = VecDeque::new();
    while moved.len() < n_requeue as usize {
        if uval & FUTEX_TID_MASK == 0 {
            break; // nobody to wait for
        }
        if uval & FUTEX_WAITERS == 0 {
            let seen = vmar.cmpxchg_u32(addr2, uval, uval | FUTEX_WAITERS)?;
            if seen != uval {
                uval = seen;
                continue;
            }
            uval |= FUTEX_WAITERS;
        }
        let Some(e) = list.pop_front() else { break };
        *e.place.lock() = (to, Kind::Pi);
        e.pi_owner.store(uval & FUTEX_TID_MASK, Ordering::Relaxed);
        PI_WAITED.store(true, Ordering::SeqCst);
        moved.push_back(e);
    }
    count += moved.len();
    if !list.is_empty() {
        pair.map(0).insert(from, list);
    }
    if !moved.is_empty() {
        pair.map(1).entry(to).or_default().extend(moved);
    }
    Ok(count)
}

// ------------------------------------------------------- robust lists

/// The most entries a robust list walk follows (Linux's
/// `ROBUST_LIST_LIMIT`), so a cyclic list cannot keep an exit busy.
const ROBUST_LIST_LIMIT: usize = g::ROBUST_LIST_LIMIT as usize;

/// Releases the futexes of `thread` when it exits or execs (Linux's
/// `futex_exit_release`/`futex_exec_release`): walks its robust list,
/// then sends the waiters of the PI futexes it owns to look at their
/// words again (`exit_pi_state_list`), so that one of each takes the
/// lock. A locker that finds the thread at it waits until it is done.
pub fn release_all(thread: &Thread, vmar: &Arc<Vmar>, exec: bool) {
    thread.set_futex_state(FutexState::Exiting);
    exit_robust_list(thread, vmar, thread.robust_list());
    let tid = thread.tid();
    // Until some thread has waited on a PI futex there is nothing to scan
    // for (every exit would otherwise lock every bucket).
    if !PI_WAITED.load(Ordering::SeqCst) {
        thread.set_futex_state(if exec {
            FutexState::Live
        } else {
            FutexState::Dead
        });
        return;
    }
    for bucket in BUCKETS.iter() {
        let mut map = bucket.lock();
        map.retain(|_, q| {
            q.retain(|e| {
                let owned = e.kind() == Kind::Pi && e.pi_owner.load(Ordering::Relaxed) == tid;
                if owned {
                    e.state.finish(RETRY | tid as usize);
                }
                !owned
            });
            !q.is_empty()
        });
    }
    thread.set_futex_state(if exec {
        FutexState::Live
    } else {
        FutexState::Dead
    });
}

/// Walks the robust futex list of `thread` (registered at `head`) when it
/// exits or execs: every futex it still holds is marked
/// `FUTEX_OWNER_DIED` and, for a non-PI one, a waiter is woken, so that
/// the next locker gets `EOWNERDEAD` (PI waiters are sent on by
/// [`release_all`]). Bad pointers end the walk quietly.
fn exit_robust_list(thread: &Thread, vmar: &Arc<Vmar>, head: u64) {
    if head == 0 {
        return;
    }
    let tid = thread.tid();
    let Ok(first) = vmar.read_val::<u64>(head) else {
        return;
    };
    let Ok(offset) = vmar.read_val::<u64>(head + 8) else {
        return;
    };
    let Ok(pending) = vmar.read_val::<u64>(head + 16) else {
        return;
    };
    let mut entry = first;
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry & !1 == head {
            break;
        }
        let Ok(next) = vmar.read_val::<u64>(entry & !1) else {
            return;
        };
        if entry != pending {
            owner_died(
                vmar,
                (entry & !1).wrapping_add(offset),
                tid,
                entry & 1 != 0,
                false,
            );
        }
        entry = next;
    }
    if pending != 0 {
        owner_died(
            vmar,
            (pending & !1).wrapping_add(offset),
            tid,
            pending & 1 != 0,
            true,
        );
    }
}

/// Linux's `handle_futex_death` for the word at `addr`.
fn owner_died(vmar: &Arc<Vmar>, addr: u64, tid: Tid, pi: bool, pending: bool) {
    if !addr.is_multiple_of(4) {
        return;
    }
    let Ok(mut uval) = vmar.read_val::<u32>(addr) else {
        return;
    };
    // Bounded: user space (another thread) may keep changing the word.
    for _ in 0..64 {
        // Died between taking the lock in user space and listing it: a
        // waiter may have been woken for a lock nobody will release.
        if pending && !pi && uval == 0 {
            wake_one_shared(vmar, addr);
            return;
        }
        if uval & FUTEX_TID_MASK != tid {
            return;
        }
        let new = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        match vmar.cmpxchg_u32(addr, uval, new) {
            Ok(seen) if seen == uval => return wake_after_death(vmar, addr, uval, pi),
            Ok(seen) => uval = seen,
            Err(_) => return,
        }
    }
}

/// Wakes a waiter of a non-PI futex whose owner died (word `uval`
/// before). PI waiters are woken by `release_all` afterwards (a non-PI
/// wake-up on a PI futex fails).
fn wake_after_death(vmar: &Arc<Vmar>, addr: u64, uval: u32, pi: bool) {
    if uval & FUTEX_WAITERS == 0 || pi {
        return;
    }
    // Linux wakes with a shared-operation key. A lock whose waiters use
    // private operations has a private key: waking it too costs a spurious
    // wake-up at most, which every futex user tolerates.
    wake_one_shared(vmar, addr);
    if let Ok(private) = Key::new(vmar, addr, false) {
        let _ = wake(private, 1, u32::MAX);
    }
}

/// `EINTR` if the thread is being killed (ending a retry loop).
fn check_not_killed(thread: &Thread) -> Result<()> {
    if thread.fatal_signal_pending() {
        return_errno!(EINTR);
    }
    Ok(())
}
