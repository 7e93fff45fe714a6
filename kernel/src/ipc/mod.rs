//! System V IPC: semaphore sets, shared memory segments and message
//! queues, as Linux has them (`ipc/` in Linux, `svipc(7)`).
//!
//! The three families share one object model: a table of ids
//! ([`ids::IpcIds`]), keys that find objects (or `IPC_PRIVATE`, which never
//! does), and an owner, creator and mode per object ([`perm::IpcPerm`])
//! checked as Linux's `ipcperms` does. Objects live until `IPC_RMID`, not
//! with their creator; shared memory segments also until their last
//! detach. There is one IPC namespace, the initial one.
//!
//! Each family has a single lock over its table. Nothing copies user
//! memory while holding one: arguments are read before and results
//! written after, so a fault (which may sleep) never happens under it.
//! Blocking calls (`semop`, `msgsnd`, `msgrcv`) sleep without the lock.

pub mod ids;
pub mod limits;
pub mod msg;
pub mod perm;
pub mod sem;
pub mod shm;
pub mod uapi;

use alloc::vec::Vec;

use crate::prelude::*;

/// The wall-clock time in seconds, for the `*_time` fields.
fn now() -> i64 {
    ostd::timer::wall_clock().as_secs() as i64
}

/// A zeroed buffer of `len` bytes for data whose size user space chose
/// (messages, semaphore values, operation lists): like pipe data, it is
/// taken only while memory for user space remains, and fails with
/// `ENOMEM` rather than eat into the kernel's reserve.
pub fn user_sized_buffer<T: Clone + Default>(len: usize) -> Result<Vec<T>> {
    let bytes = len.saturating_mul(size_of::<T>());
    let pages = bytes.div_ceil(ostd::mm::PAGE_SIZE);
    crate::vm::oom::check_user_memory()?;
    if ostd::mm::free_frames_for_user() < pages {
        return_errno_with_message!(ENOMEM, "no memory for IPC data");
    }
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Error::new(ENOMEM))?;
    v.resize(len, T::default());
    Ok(v)
}
