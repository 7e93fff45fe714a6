//! The id table of an IPC family (Linux's `struct ipc_ids`).
//!
//! An object sits in a slot (`index`, below [`IPCMNI`]) and its id is
//! `index + seq * 32768`, where `seq` is the table's sequence number when
//! the object was made. As in Linux's `ipc_idr_alloc`, slots are handed
//! out cyclically: the first free one after the last taken, within the
//! first `max(64, 1.5 * objects)` slots, then again from 0. The sequence
//! number goes up whenever the search wraps around, so a stale id (of a
//! removed object whose slot was reused) does not name the new object: it
//! fails with `EINVAL`.

use alloc::collections::BTreeMap;

use super::perm::IpcPerm;
use super::uapi::{IPC_CREAT, IPC_EXCL, IPC_PRIVATE};
use crate::prelude::*;
use crate::process::credentials::Credentials;

/// Slots per family (Linux's `IPCMNI`): the most objects there can be,
/// whatever the `*mni` limits say.
pub const IPCMNI: u32 = 32768;
/// Sequence numbers stay below `INT_MAX >> 15`, so that ids stay
/// positive.
const SEQ_LIMIT: u16 = u16::MAX;
/// The smallest range of slots the cyclic search covers (Linux's
/// `ipc_min_cycle`).
const MIN_CYCLE: u32 = 64;

/// An IPC object: something with an [`IpcPerm`].
pub trait IpcObject {
    /// Its owner, mode and key.
    fn perm(&self) -> &IpcPerm;
    /// The same, to change.
    fn perm_mut(&mut self) -> &mut IpcPerm;
}

/// The objects of one family, by slot and by key.
pub struct IpcIds<T> {
    objects: BTreeMap<u32, T>,
    keys: BTreeMap<i32, u32>,
    seq: u16,
    last_index: Option<u32>,
    /// Where the next cyclic search starts.
    next_index: u32,
}

/// What [`IpcIds::lookup_key`] found for a `*get` call.
pub enum KeyLookup {
    /// Nothing: make a new object.
    Create,
    /// The object with this id (the caller still checks its permissions).
    Found(i32),
}

impl<T: IpcObject> Default for IpcIds<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: IpcObject> IpcIds<T> {
    /// An empty table.
    pub const fn new() -> Self {
        Self {
            objects: BTreeMap::new(),
            keys: BTreeMap::new(),
            seq: 0,
            last_index: None,
            next_index: 0,
        }
    }

    /// The first half of Linux's `ipcget`: `IPC_PRIVATE` always makes a
    /// new object; a key without one makes one with `IPC_CREAT` (else
    /// `ENOENT`); a key with one fails with `EEXIST` under
    /// `IPC_CREAT|IPC_EXCL`, else names it.
    pub fn lookup_key(&self, key: i32, flags: i32) -> Result<KeyLookup> {
        if key == IPC_PRIVATE {
            return Ok(KeyLookup::Create);
        }
        match self.keys.get(&key) {
            None if flags & IPC_CREAT == 0 => return_errno!(ENOENT),
            None => Ok(KeyLookup::Create),
            Some(_) if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 => return_errno!(EEXIST),
            Some(&index) => Ok(KeyLookup::Found(self.id_of(index))),
        }
    }

    /// The second half of `ipcget` for an existing object: `check` (the
    /// family's own test, such as a set being too small), then the access
    /// the `*get` flags' mode bits ask for (`EACCES`). Returns the id.
    pub fn open_existing(
        &self,
        id: i32,
        flags: i32,
        creds: &Credentials,
        check: impl FnOnce(&T) -> Result<()>,
    ) -> Result<i32> {
        let obj = self.get(id)?;
        check(obj)?;
        obj.perm().check(creds, flags as u32)?;
        Ok(id)
    }

    /// Adds a new object in the lowest free slot and returns its id;
    /// `ENOSPC` if `limit` (the family's `*mni`) objects exist already.
    pub fn add(&mut self, mut obj: T, limit: u32) -> Result<i32> {
        if self.objects.len() as u64 >= u64::from(limit.min(IPCMNI)) {
            return_errno!(ENOSPC);
        }
        let cycle = (self.objects.len() as u32 * 3 / 2).clamp(MIN_CYCLE, IPCMNI);
        let index = self
            .first_free(self.next_index, cycle)
            .or_else(|| self.first_free(0, cycle))
            .ok_or(Error::new(ENOSPC))?;
        self.next_index = index + 1;
        if self.last_index.is_some_and(|last| index <= last) {
            self.seq += 1;
            if self.seq == SEQ_LIMIT {
                self.seq = 0;
            }
        }
        self.last_index = Some(index);
        obj.perm_mut().seq = self.seq;
        let key = obj.perm().key;
        if key != IPC_PRIVATE {
            self.keys.insert(key, index);
        }
        self.objects.insert(index, obj);
        Ok(self.id_of(index))
    }

    /// The object with `id` (`EINVAL` if there is none, as for a stale id).
    pub fn get(&self, id: i32) -> Result<&T> {
        let (index, seq) = split_id(id)?;
        match self.objects.get(&index) {
            Some(o) if o.perm().seq == seq => Ok(o),
            _ => return_errno!(EINVAL),
        }
    }

    /// The object with `id`, to change.
    pub fn get_mut(&mut self, id: i32) -> Result<&mut T> {
        let (index, seq) = split_id(id)?;
        match self.objects.get_mut(&index) {
            Some(o) if o.perm().seq == seq => Ok(o),
            _ => return_errno!(EINVAL),
        }
    }

    /// The object in slot `index` and its id, for the `*_STAT` commands,
    /// which take a slot rather than an id (`EINVAL` if it is free). As in
    /// Linux, only the slot part of the number counts.
    pub fn get_by_index(&self, index: i32) -> Result<(i32, &T)> {
        let (index, _) = split_id(index)?;
        let obj = self.objects.get(&index).ok_or(Error::new(EINVAL))?;
        Ok((self.id_of(index), obj))
    }

    /// Takes the object with `id` out of the table.
    pub fn remove(&mut self, id: i32) -> Option<T> {
        self.get(id).ok()?;
        let (index, _) = split_id(id).ok()?;
        let obj = self.objects.remove(&index)?;
        if self.keys.get(&obj.perm().key) == Some(&index) {
            self.keys.remove(&obj.perm().key);
        }
        Some(obj)
    }

    /// Makes the object with `id` unreachable by its key (its key becomes
    /// `IPC_PRIVATE`), as a removed segment that is still attached.
    pub fn forget_key(&mut self, id: i32) {
        let Ok((index, _)) = split_id(id) else {
            return;
        };
        let Some(obj) = self.objects.get_mut(&index) else {
            return;
        };
        let key = core::mem::replace(&mut obj.perm_mut().key, IPC_PRIVATE);
        if key != IPC_PRIVATE && self.keys.get(&key) == Some(&index) {
            self.keys.remove(&key);
        }
    }

    /// Number of objects.
    pub fn in_use(&self) -> usize {
        self.objects.len()
    }

    /// The highest slot in use, or -1 (what the `*_INFO` commands return).
    pub fn max_index(&self) -> i32 {
        self.objects.keys().next_back().map_or(-1, |&i| i as i32)
    }

    /// The objects and their ids.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &T)> {
        self.objects.iter().map(|(&i, o)| (self.id_of(i), o))
    }

    fn id_of(&self, index: u32) -> i32 {
        let seq = self.objects.get(&index).map_or(self.seq, |o| o.perm().seq);
        (i32::from(seq) << 15) | index as i32
    }

    /// The first free slot in `from..end`.
    fn first_free(&self, from: u32, end: u32) -> Option<u32> {
        if from >= end {
            return None;
        }
        let mut want = from;
        for &i in self.objects.range(from..end).map(|(i, _)| i) {
            if i != want {
                break;
            }
            want += 1;
        }
        (want < end).then_some(want)
    }
}

/// An id's slot and sequence number (`EINVAL` for a negative id).
fn split_id(id: i32) -> Result<(u32, u16)> {
    if id < 0 {
        return_errno!(EINVAL);
    }
    Ok((id as u32 % IPCMNI, (id as u32 >> 15) as u16))
}
