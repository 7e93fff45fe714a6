//! File locks: `flock(2)` locks, POSIX record locks (`fcntl` `F_SETLK`,
//! `F_SETLKW`, `F_GETLK`) and open file description locks (`F_OFD_*`).
//!
//! Locks belong to a file, not to one open of it: they are kept in one
//! table under the file's [`FileKey`] (its device and inode number, the
//! same for every open of the file, whatever file system it is on, and
//! never reused while anything holds the file open), so every open sees
//! the same locks.
//!
//! There are two independent kinds, as on Linux:
//!
//! * `flock` locks cover the whole file and belong to an open file
//!   description: duplicates and forked children share them, and the last
//!   close of the description releases them ([`FileLockHandle`]).
//!   Converting one is not atomic: the old lock goes first.
//! * Record locks cover byte ranges. A classic POSIX lock belongs to a
//!   process, or more exactly to its descriptor table (Linux's
//!   `files_struct`, shared by threads): it is released when the process
//!   closes *any* descriptor of the file and when the table goes away at
//!   exit, and `fork` does not inherit it ([`ProcessLockOwner`]). An OFD
//!   lock belongs to the open file description, like a `flock` lock.
//!   Classic and OFD locks conflict with each other. An owner's own locks
//!   never conflict: a new lock replaces what the owner held in its range
//!   (splitting locks) and merges with the owner's adjacent or overlapping
//!   locks of the same type.
//!
//! Waiters sleep on one of a few wait queues picked by the file's key and
//! look again after every change to that file's locks; signals end the
//! wait. A classic request that would wait for an owner that waits,
//! through a chain of waiters, for the requester fails with `EDEADLK`
//! (Linux's `posix_locks_deadlock`; OFD locks take no part).
//!
//! Everything that releases locks (close, exit) only takes spin locks and
//! frees memory: it never sleeps and never allocates.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::{SpinLock, WaitQueue};

use super::file::FileLike;
use crate::prelude::*;

/// The largest file offset (Linux's `OFFSET_MAX`). A lock ending there
/// runs to the end of the file, however far it grows.
pub const OFFSET_MAX: u64 = i64::MAX as u64;

/// Names a file for locking: its device and inode number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileKey {
    dev: u64,
    ino: u64,
}

impl FileKey {
    const MIN: FileKey = FileKey { dev: 0, ino: 0 };
    const MAX: FileKey = FileKey {
        dev: u64::MAX,
        ino: u64::MAX,
    };

    /// The key of the file `file` is an open of.
    pub fn of(file: &dyn FileLike) -> Self {
        let m = file.metadata();
        Self {
            dev: m.dev,
            ino: m.ino,
        }
    }
}

/// Who holds a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    /// A process's classic POSIX locks (see [`ProcessLockOwner`]).
    Process(u64),
    /// An open file description: its `flock` and OFD locks (see
    /// [`FileLockHandle`]).
    Description(u64),
}

/// What a lock request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockType {
    /// A shared (read) lock: `F_RDLCK`, `LOCK_SH`.
    Read,
    /// An exclusive (write) lock: `F_WRLCK`, `LOCK_EX`.
    Write,
    /// Release: `F_UNLCK`, `LOCK_UN`.
    Unlock,
}

impl LockType {
    /// From a `struct flock`'s `l_type`; `EINVAL` for anything else.
    pub fn from_l_type(t: i16) -> Result<Self> {
        use linux_raw_sys::general::{F_RDLCK, F_UNLCK, F_WRLCK};
        match t as u32 {
            F_RDLCK => Ok(Self::Read),
            F_WRLCK => Ok(Self::Write),
            F_UNLCK => Ok(Self::Unlock),
            _ => return_errno!(EINVAL),
        }
    }

    /// The `l_type` value.
    pub fn l_type(self) -> i16 {
        use linux_raw_sys::general::{F_RDLCK, F_UNLCK, F_WRLCK};
        (match self {
            Self::Read => F_RDLCK,
            Self::Write => F_WRLCK,
            Self::Unlock => F_UNLCK,
        }) as i16
    }
}

/// A range of bytes, both ends included (`end` is [`OFFSET_MAX`] for a
/// lock that runs to the end of the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte.
    pub start: u64,
    /// The last byte.
    pub end: u64,
}

impl ByteRange {
    /// The whole file.
    pub const ALL: ByteRange = ByteRange {
        start: 0,
        end: OFFSET_MAX,
    };

    /// The range a `struct flock` names: `l_start` counted from the start
    /// (`SEEK_SET`), the file position `pos` (`SEEK_CUR`) or the file's
    /// `size` (`SEEK_END`); `l_len` 0 runs to the end of the file, a
    /// negative `l_len` names the bytes before the start. `EINVAL` for a
    /// bad `l_whence` or a range reaching below 0, `EOVERFLOW` past
    /// [`OFFSET_MAX`] (Linux's `flock64_to_posix_lock`).
    pub fn from_flock(whence: i16, l_start: i64, l_len: i64, pos: u64, size: u64) -> Result<Self> {
        use linux_raw_sys::general::{SEEK_CUR, SEEK_END, SEEK_SET};
        let base = match whence as u32 {
            SEEK_SET => 0,
            SEEK_CUR => pos,
            SEEK_END => size,
            _ => return_errno!(EINVAL),
        };
        let base = i64::try_from(base).map_err(|_| Error::new(EOVERFLOW))?;
        let start = base.checked_add(l_start).ok_or(Error::new(EOVERFLOW))?;
        if start < 0 {
            return_errno!(EINVAL);
        }
        let (first, last) = match l_len {
            0 => (start, i64::MAX),
            len if len > 0 => (
                start,
                start.checked_add(len - 1).ok_or(Error::new(EOVERFLOW))?,
            ),
            // `start` is not negative, so this cannot overflow.
            len => {
                if start + len < 0 {
                    return_errno!(EINVAL);
                }
                (start + len, start - 1)
            }
        };
        Ok(Self {
            start: first as u64,
            end: last as u64,
        })
    }

    /// `l_start` and `l_len` describing the range (`l_whence` `SEEK_SET`).
    pub fn start_len(self) -> (i64, i64) {
        let len = if self.end == OFFSET_MAX {
            0
        } else {
            (self.end - self.start + 1) as i64
        };
        (self.start as i64, len)
    }

    fn overlaps(self, other: ByteRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// Whether the ranges overlap or one starts right after the other.
    fn touches(self, other: ByteRange) -> bool {
        self.overlaps(other)
            || self.end.checked_add(1) == Some(other.start)
            || other.end.checked_add(1) == Some(self.start)
    }
}

/// A record lock as `F_GETLK` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockInfo {
    /// Its type.
    pub kind: LockType,
    /// The bytes it covers.
    pub range: ByteRange,
    /// The holder's pid; -1 for an OFD lock, which no process holds.
    pub pid: i32,
}

/// `flock` locks and record locks never conflict with each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Flock,
    Record,
}

#[derive(Clone, Copy, Debug)]
struct Lock {
    class: Class,
    owner: Owner,
    write: bool,
    range: ByteRange,
    /// The process that set it (reported for classic locks).
    pid: u32,
}

impl Lock {
    fn conflicts_with(&self, class: Class, owner: Owner, write: bool, range: ByteRange) -> bool {
        self.class == class
            && self.owner != owner
            && (self.write || write)
            && self.range.overlaps(range)
    }
}

/// A classic lock request that is waiting, for deadlock detection.
struct Waiter {
    token: u64,
    owner: u64,
    key: FileKey,
    blocker: Owner,
}

/// Every lock in the system.
struct LockTable {
    files: BTreeMap<FileKey, Vec<Lock>>,
    /// `(owner, file)` for every file a classic owner holds locks on.
    posix_files: BTreeSet<(u64, FileKey)>,
    waiters: Vec<Waiter>,
}

static TABLE: SpinLock<LockTable> = SpinLock::new(LockTable {
    files: BTreeMap::new(),
    posix_files: BTreeSet::new(),
    waiters: Vec::new(),
});

const NR_QUEUES: usize = 8;
static QUEUES: [WaitQueue; NR_QUEUES] = [const { WaitQueue::new() }; NR_QUEUES];

/// Ids of owners and of waiting requests; never reused.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Linux's `MAX_DEADLK_ITERATIONS`: how far a chain of waiters is followed.
const MAX_DEADLOCK_STEPS: usize = 10;

fn new_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

fn queue(key: FileKey) -> &'static WaitQueue {
    let h = (key.ino ^ key.dev.rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    &QUEUES[(h >> 61) as usize % NR_QUEUES]
}

/// A record lock request.
#[derive(Clone, Copy, Debug)]
pub struct RecordRequest {
    /// The file.
    pub key: FileKey,
    /// Who asks.
    pub owner: Owner,
    /// The asking process.
    pub pid: u32,
    /// Lock or unlock.
    pub kind: LockType,
    /// The bytes.
    pub range: ByteRange,
}

/// `F_SETLK`, `F_SETLKW` and their OFD forms: sets (or, for
/// [`LockType::Unlock`], releases) a record lock. A conflicting lock gives
/// `EAGAIN`, or with `wait` a sleep until it is gone (`ERESTARTSYS` if a
/// signal comes first, `EDEADLK` if the wait could never end). `ENOLCK`
/// when there is no memory for the lock.
pub fn set_record_lock(req: &RecordRequest, wait: bool) -> Result<()> {
    let posix = match req.owner {
        Owner::Process(o) => Some(o),
        Owner::Description(_) => None,
    };
    acquire(req.key, wait, posix, |t| t.set_record(req))
}

/// `F_GETLK` and `F_OFD_GETLK`: the first lock of another owner that
/// would stop `owner` from taking a `kind` lock on `range`, if any. For
/// [`LockType::Unlock`] (allowed for OFD locks), the first lock of
/// `owner` itself in the range, as Linux 6.x reports.
pub fn test_record_lock(
    key: FileKey,
    owner: Owner,
    kind: LockType,
    range: ByteRange,
) -> Option<LockInfo> {
    let t = TABLE.lock();
    let locks = t.files.get(&key)?;
    let found = match kind {
        LockType::Unlock => locks
            .iter()
            .find(|l| l.class == Class::Record && l.owner == owner && l.range.overlaps(range)),
        _ => locks
            .iter()
            .find(|l| l.conflicts_with(Class::Record, owner, kind == LockType::Write, range)),
    }?;
    Some(LockInfo {
        kind: if found.write {
            LockType::Write
        } else {
            LockType::Read
        },
        range: found.range,
        pid: match found.owner {
            Owner::Process(_) => found.pid as i32,
            Owner::Description(_) => -1,
        },
    })
}

/// `flock`: takes, converts or releases the whole-file lock of the open
/// file description `handle`. Converting drops the old lock first, so a
/// conversion that fails has lost it (as Linux documents). A conflict
/// gives `EWOULDBLOCK`, or with `wait` a sleep (`ERESTARTSYS` on a
/// signal).
pub fn flock(
    key: FileKey,
    handle: &FileLockHandle,
    kind: LockType,
    pid: u32,
    wait: bool,
) -> Result<()> {
    handle.remember(key);
    let owner = handle.owner();
    acquire(key, wait, None, |t| t.set_flock(key, owner, kind, pid))
}

/// Takes a lock with `attempt`, which returns `Ok(None)` when done and
/// `Ok(Some(holder))` when a lock of `holder` is in the way; waits for
/// changes to the file's locks if `wait`. `posix`: the classic owner
/// asking, which takes part in deadlock detection.
fn acquire(
    key: FileKey,
    wait: bool,
    posix: Option<u64>,
    mut attempt: impl FnMut(&mut LockTable) -> Result<Option<Owner>>,
) -> Result<()> {
    let token = new_id();
    let thread = crate::process::try_current_thread();
    let result = queue(key).wait_until(|| {
        let mut t = TABLE.lock();
        let blocker = match attempt(&mut t) {
            Ok(None) => return Some(Ok(())),
            Ok(Some(b)) => b,
            Err(e) => return Some(Err(e)),
        };
        if !wait {
            return Some(Err(Error::new(EAGAIN)));
        }
        if let Some(me) = posix
            && t.would_deadlock(me, blocker)
        {
            return Some(Err(Error::new(EDEADLK)));
        }
        if thread.as_ref().is_some_and(|t| t.has_pending_work()) {
            return Some(Err(Error::new(ERESTARTSYS)));
        }
        if let Some(me) = posix
            && let Err(e) = t.note_waiting(token, me, key, blocker)
        {
            return Some(Err(e));
        }
        None
    });
    if posix.is_some() {
        TABLE.lock().waiters.retain(|w| w.token != token);
    }
    result
}

impl LockTable {
    /// Applies a record lock request, or names the holder of a lock in
    /// its way.
    fn set_record(&mut self, req: &RecordRequest) -> Result<Option<Owner>> {
        let write = req.kind == LockType::Write;
        let locks = self.files.get(&req.key).map_or(&[][..], |v| &v[..]);
        if req.kind != LockType::Unlock
            && let Some(c) = locks
                .iter()
                .find(|l| l.conflicts_with(Class::Record, req.owner, write, req.range))
        {
            return Ok(Some(c.owner));
        }
        if req.kind == LockType::Unlock && !locks.iter().any(|l| l.owner == req.owner) {
            return Ok(None);
        }
        if req.kind != LockType::Unlock {
            crate::vm::oom::check_user_memory().map_err(|_| Error::new(ENOLCK))?;
        }
        let locks = self.files.entry(req.key).or_default();
        // Splitting one lock in two and adding the new one: at most two
        // more entries.
        if locks.try_reserve(2).is_err() {
            if locks.is_empty() {
                self.files.remove(&req.key);
            }
            return_errno!(ENOLCK);
        }
        // One pass to see what changes, one to remove (both linear: an
        // owner may hold very many locks, and this runs with interrupts
        // off). The owner's locks of the new type that touch the range
        // merge into the new lock; the others in the range go, leaving
        // the pieces outside it (one lock at most reaches past each end,
        // since an owner's locks never overlap).
        let unlock = req.kind == LockType::Unlock;
        let r = req.range;
        let mine = |l: &Lock| l.class == Class::Record && l.owner == req.owner;
        let merges = |l: &Lock| !unlock && l.write == write && l.range.touches(r);
        let mut merged = r;
        let (mut before, mut after) = (None, None);
        let mut released = false;
        for l in locks.iter().filter(|l| mine(l)) {
            if merges(l) {
                merged.start = merged.start.min(l.range.start);
                merged.end = merged.end.max(l.range.end);
            } else if l.range.overlaps(r) {
                released = true;
                if l.range.start < r.start {
                    let range = ByteRange {
                        start: l.range.start,
                        end: r.start - 1,
                    };
                    before = Some(Lock { range, ..*l });
                }
                if l.range.end > r.end {
                    let range = ByteRange {
                        start: r.end + 1,
                        end: l.range.end,
                    };
                    after = Some(Lock { range, ..*l });
                }
            }
        }
        locks.retain(|l| !(mine(l) && (merges(l) || l.range.overlaps(r))));
        locks.extend(before);
        locks.extend(after);
        if req.kind != LockType::Unlock {
            locks.push(Lock {
                class: Class::Record,
                owner: req.owner,
                write,
                range: merged,
                pid: req.pid,
            });
        }
        self.changed(req.key, req.owner, released);
        Ok(None)
    }

    /// Applies a `flock` request, or names the holder of a lock in its way.
    fn set_flock(
        &mut self,
        key: FileKey,
        owner: Owner,
        kind: LockType,
        pid: u32,
    ) -> Result<Option<Owner>> {
        let write = kind == LockType::Write;
        if let Some(locks) = self.files.get_mut(&key)
            && let Some(i) = locks
                .iter()
                .position(|l| l.class == Class::Flock && l.owner == owner)
        {
            if kind != LockType::Unlock && locks[i].write == write {
                return Ok(None);
            }
            locks.remove(i);
            self.changed(key, owner, true);
        }
        if kind == LockType::Unlock {
            return Ok(None);
        }
        let locks = self.files.get(&key).map_or(&[][..], |v| &v[..]);
        if let Some(c) = locks
            .iter()
            .find(|l| l.conflicts_with(Class::Flock, owner, write, ByteRange::ALL))
        {
            return Ok(Some(c.owner));
        }
        crate::vm::oom::check_user_memory().map_err(|_| Error::new(ENOLCK))?;
        let locks = self.files.entry(key).or_default();
        if locks.try_reserve(1).is_err() {
            if locks.is_empty() {
                self.files.remove(&key);
            }
            return_errno!(ENOLCK);
        }
        locks.push(Lock {
            class: Class::Flock,
            owner,
            write,
            range: ByteRange::ALL,
            pid,
        });
        Ok(None)
    }

    /// Removes every lock of `owner` on `key` (flock and record).
    fn remove_all(&mut self, key: FileKey, owner: Owner) {
        if let Some(locks) = self.files.get_mut(&key) {
            let before = locks.len();
            locks.retain(|l| l.owner != owner);
            if locks.len() != before {
                self.changed(key, owner, true);
            }
        }
    }

    /// After `owner`'s locks on `key` changed: forget an empty entry and
    /// keep the index of classic owners' files. If `released` (bytes were
    /// unlocked or downgraded), wake the waiters, which no longer count as
    /// blocked by `owner` until they look again (as Linux unblocks the
    /// waiters of a lock it removes).
    fn changed(&mut self, key: FileKey, owner: Owner, released: bool) {
        let (empty, still_holds) = match self.files.get(&key) {
            Some(locks) => (locks.is_empty(), locks.iter().any(|l| l.owner == owner)),
            None => (true, false),
        };
        if empty {
            self.files.remove(&key);
        }
        if let Owner::Process(o) = owner {
            if still_holds {
                self.posix_files.insert((o, key));
            } else {
                self.posix_files.remove(&(o, key));
            }
        }
        if released {
            self.waiters
                .retain(|w| !(w.key == key && w.blocker == owner));
            queue(key).wake_all();
        }
    }

    /// Whether the classic owner `me`, about to wait for `blocker`, would
    /// wait for itself: `blocker` waits for someone who waits ... for `me`.
    fn would_deadlock(&self, me: u64, blocker: Owner) -> bool {
        let mut holder = blocker;
        for _ in 0..MAX_DEADLOCK_STEPS {
            let Owner::Process(h) = holder else {
                return false;
            };
            let Some(w) = self.waiters.iter().find(|w| w.owner == h) else {
                return false;
            };
            if w.blocker == Owner::Process(me) {
                return true;
            }
            holder = w.blocker;
        }
        false
    }

    fn note_waiting(&mut self, token: u64, owner: u64, key: FileKey, blocker: Owner) -> Result<()> {
        if let Some(w) = self.waiters.iter_mut().find(|w| w.token == token) {
            w.blocker = blocker;
            return Ok(());
        }
        self.waiters
            .try_reserve(1)
            .map_err(|_| Error::new(ENOLCK))?;
        self.waiters.push(Waiter {
            token,
            owner,
            key,
            blocker,
        });
        Ok(())
    }

    fn holds_posix_locks(&self, owner: u64) -> bool {
        self.posix_files
            .range((owner, FileKey::MIN)..=(owner, FileKey::MAX))
            .next()
            .is_some()
    }
}

/// The owner of a process's classic POSIX locks, kept in its descriptor
/// table: threads (and `CLONE_FILES` children) share it, `fork` makes a
/// new one, and dropping it (the process exits) releases every lock.
pub struct ProcessLockOwner(u64);

impl ProcessLockOwner {
    /// A new owner, holding nothing.
    pub fn new() -> Self {
        Self(new_id())
    }

    /// As a lock owner.
    pub fn owner(&self) -> Owner {
        Owner::Process(self.0)
    }

    /// A descriptor of `file` was closed: releases the owner's locks on
    /// the file, whichever descriptor they were taken through.
    pub fn descriptor_closed(&self, file: &dyn FileLike) {
        if !TABLE.lock().holds_posix_locks(self.0) {
            return;
        }
        let key = FileKey::of(file);
        TABLE.lock().remove_all(key, self.owner());
    }
}

impl Default for ProcessLockOwner {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ProcessLockOwner {
    fn drop(&mut self) {
        let mut t = TABLE.lock();
        loop {
            let range = (self.0, FileKey::MIN)..=(self.0, FileKey::MAX);
            let Some(&(_, key)) = t.posix_files.range(range).next() else {
                break;
            };
            t.remove_all(key, self.owner());
            // In case the index was stale: never loop forever.
            t.posix_files.remove(&(self.0, key));
        }
    }
}

/// The identity of an open file description for `flock` and OFD locks,
/// embedded in the description: dropped with it (the last close), it
/// releases them.
pub struct FileLockHandle {
    id: u64,
    /// The file, once the description has taken a lock.
    key: SpinLock<Option<FileKey>>,
}

impl FileLockHandle {
    /// A handle holding no locks.
    pub fn new() -> Self {
        Self {
            id: new_id(),
            key: SpinLock::new(None),
        }
    }

    /// As a lock owner.
    pub fn owner(&self) -> Owner {
        Owner::Description(self.id)
    }

    /// Records the file this description's locks are on, for the release
    /// at the last close.
    pub fn remember(&self, key: FileKey) {
        *self.key.lock() = Some(key);
    }
}

impl Default for FileLockHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FileLockHandle {
    fn drop(&mut self) {
        if let Some(key) = *self.key.lock() {
            TABLE.lock().remove_all(key, self.owner());
        }
    }
}

#[cfg(feature = "ktest")]
mod test {
    use ostd::prelude::ktest;

    use super::*;

    fn range(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    fn request(ino: u64, owner: Owner, kind: LockType, r: ByteRange) -> RecordRequest {
        RecordRequest {
            key: FileKey { dev: 0xdead, ino },
            owner,
            pid: 7,
            kind,
            range: r,
        }
    }

    #[ktest]
    fn flock_ranges() {
        assert_eq!(
            ByteRange::from_flock(0, 10, 10, 0, 0).unwrap(),
            range(10, 19)
        );
        assert_eq!(
            ByteRange::from_flock(1, 0, 0, 50, 0).unwrap(),
            range(50, OFFSET_MAX)
        );
        assert_eq!(
            ByteRange::from_flock(2, -10, -5, 0, 100).unwrap(),
            range(85, 89)
        );
        assert_eq!(ByteRange::from_flock(0, 5, -5, 0, 0).unwrap(), range(0, 4));
        let err = |w, s, l, size| ByteRange::from_flock(w, s, l, 0, size).unwrap_err().errno();
        assert_eq!(err(3, 0, 0, 0), EINVAL);
        assert_eq!(err(0, -1, 1, 0), EINVAL);
        assert_eq!(err(0, 5, -6, 0), EINVAL);
        assert_eq!(err(0, i64::MAX, 2, 0), EOVERFLOW);
        assert_eq!(err(2, i64::MAX, 1, 1), EOVERFLOW);
        assert_eq!(range(3, 7).start_len(), (3, 5));
        assert_eq!(range(3, OFFSET_MAX).start_len(), (3, 0));
    }

    #[ktest]
    fn split_merge_and_conflict() {
        let a = Owner::Process(u64::MAX - 1);
        let b = Owner::Process(u64::MAX - 2);
        let key = FileKey {
            dev: 0xdead,
            ino: 1,
        };
        let set = |o, k, r| set_record_lock(&request(1, o, k, r), false);
        set(a, LockType::Write, range(10, 19)).unwrap();
        set(a, LockType::Read, range(12, 13)).unwrap();
        let seen = |k, r| test_record_lock(key, b, k, r).map(|i| (i.kind, i.range));
        assert_eq!(seen(LockType::Read, range(12, 13)), None);
        assert_eq!(
            seen(LockType::Write, range(12, 12)),
            Some((LockType::Read, range(12, 13)))
        );
        assert_eq!(
            seen(LockType::Read, range(15, 15)),
            Some((LockType::Write, range(14, 19)))
        );
        assert_eq!(
            set(b, LockType::Read, range(19, 25)).unwrap_err().errno(),
            EAGAIN
        );
        set(a, LockType::Write, range(12, 13)).unwrap();
        assert_eq!(
            seen(LockType::Read, ByteRange::ALL),
            Some((LockType::Write, range(10, 19)))
        );
        set(a, LockType::Unlock, ByteRange::ALL).unwrap();
        assert_eq!(seen(LockType::Write, ByteRange::ALL), None);
        assert!(!TABLE.lock().files.contains_key(&key));
    }
}
