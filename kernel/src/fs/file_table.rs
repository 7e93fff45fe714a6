//! The file descriptor table of a process.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::file::FileLike;
use super::lock::ProcessLockOwner;
use crate::prelude::*;

/// Maximum number of descriptors (the default `RLIMIT_NOFILE`).
pub const MAX_FDS: usize = 1024;

#[derive(Clone)]
struct Entry {
    file: Arc<dyn FileLike>,
    cloexec: bool,
}

/// Descriptor number → open file, with the close-on-exec flag.
///
/// The table also owns the process's POSIX record locks (as Linux's
/// `files_struct` does): closing any descriptor of a file releases them
/// for that file, and dropping the table releases them all.
pub struct FileTable {
    entries: Vec<Option<Entry>>,
    locks: ProcessLockOwner,
    /// Processes using the table: more than one after `CLONE_FILES`. The
    /// last one to exit closes the descriptors (Linux's `files_struct`).
    users: usize,
}

impl Default for FileTable {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            locks: ProcessLockOwner::default(),
            users: 1,
        }
    }
}

/// A copy for `fork`: the same open files, but POSIX locks are not
/// inherited, so the copy is a new lock owner.
impl Clone for FileTable {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            locks: ProcessLockOwner::new(),
            users: 1,
        }
    }
}

impl FileTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many processes use the table.
    pub fn users(&self) -> usize {
        self.users
    }

    /// Counts one more process using the table (`CLONE_FILES`).
    pub fn share(&mut self) {
        self.users += 1;
    }

    /// A process using the table exits: the table's contents if it was
    /// the last user (to be dropped, closing every descriptor), else
    /// nothing (the other users keep it).
    pub fn leave(&mut self) -> Option<FileTable> {
        self.users = self.users.saturating_sub(1);
        (self.users == 0).then(|| core::mem::take(self))
    }

    /// Installs `file` at the lowest free descriptor `>= min`.
    pub fn insert_from(
        &mut self,
        min: usize,
        file: Arc<dyn FileLike>,
        cloexec: bool,
    ) -> Result<i32> {
        let fd = (min..MAX_FDS)
            .find(|&fd| self.entries.get(fd).is_none_or(|e| e.is_none()))
            .ok_or(Error::new(EMFILE))?;
        crate::vm::oom::check_user_memory()?;
        self.put(fd, file, cloexec);
        Ok(fd as i32)
    }

    /// Installs `file` at the lowest free descriptor.
    pub fn insert(&mut self, file: Arc<dyn FileLike>, cloexec: bool) -> Result<i32> {
        self.insert_from(0, file, cloexec)
    }

    /// Installs `file` at `fd`, returning what was there.
    pub fn put(
        &mut self,
        fd: usize,
        file: Arc<dyn FileLike>,
        cloexec: bool,
    ) -> Option<Arc<dyn FileLike>> {
        if self.entries.len() <= fd {
            self.entries.resize(fd + 1, None);
        }
        let old = self.entries[fd]
            .replace(Entry { file, cloexec })
            .map(|e| e.file);
        if let Some(f) = &old {
            self.locks.descriptor_closed(f.as_ref());
        }
        old
    }

    /// The file at `fd`.
    pub fn get(&self, fd: i32) -> Result<Arc<dyn FileLike>> {
        self.entry(fd).map(|e| e.file.clone())
    }

    fn entry(&self, fd: i32) -> Result<&Entry> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.entries.get(fd))
            .and_then(|e| e.as_ref())
            .ok_or(Error::new(EBADF))
    }

    /// Removes `fd`.
    pub fn remove(&mut self, fd: i32) -> Result<Arc<dyn FileLike>> {
        self.entry(fd)?;
        let e = self.entries[fd as usize].take().ok_or(Error::new(EBADF))?;
        self.locks.descriptor_closed(e.file.as_ref());
        Ok(e.file)
    }

    /// The close-on-exec flag of `fd`.
    pub fn cloexec(&self, fd: i32) -> Result<bool> {
        self.entry(fd).map(|e| e.cloexec)
    }

    /// Sets the close-on-exec flag of `fd`.
    pub fn set_cloexec(&mut self, fd: i32, on: bool) -> Result<()> {
        self.entry(fd)?;
        if let Some(Some(e)) = self.entries.get_mut(fd as usize) {
            e.cloexec = on;
        }
        Ok(())
    }

    /// Closes every close-on-exec descriptor (at `execve`).
    pub fn close_on_exec(&mut self) {
        for e in self.entries.iter_mut() {
            if let Some(closed) = e.take_if(|e| e.cloexec) {
                self.locks.descriptor_closed(closed.file.as_ref());
            }
        }
    }

    /// The owner of the POSIX record locks taken through this table.
    pub fn lock_owner(&self) -> super::lock::Owner {
        self.locks.owner()
    }

    /// Open descriptors and their files.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &Arc<dyn FileLike>)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i as i32, &e.file)))
    }
}
