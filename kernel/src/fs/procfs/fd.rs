//! Descriptors seen through procfs: the magic links `/proc/PID/fd/N`,
//! what they show, and `/proc/PID/fdinfo/N`.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt::Write;

use super::{Node, ProcInode, lock_bounded, target};
use crate::fs::epoll::{EpollFile, EventFd};
use crate::fs::file::{FileLike, flags};
use crate::fs::inode::{Inode, InodeType, Metadata};
use crate::fs::pidfd::PidFd;
use crate::fs::signalfd::SignalFd;
use crate::fs::timerfd::TimerFd;
use crate::prelude::*;
use crate::process::Process;

/// What following `link` leads to when it is a descriptor's magic link
/// (`/proc/PID/fd/N`): not the path it shows but the open file itself, as
/// an inode to open again, with the path a file opened through it shows.
/// `None` for every other inode.
///
/// Like Linux, an inode-backed file is reached by its inode (opening it
/// makes a new open file description), a pipe by the pipe (opening it
/// makes a new end, as opening a FIFO does), and everything else (sockets,
/// event descriptors, ...) gives `ENXIO` when opened.
pub fn magic_link(link: &Arc<dyn Inode>) -> Option<Result<crate::fs::Reached>> {
    let node = link.as_any().downcast_ref::<ProcInode>()?;
    let Node::Fd { pid, tid, fd } = node.node else {
        return None;
    };
    Some(open_target(pid, tid, fd))
}

fn open_target(pid: u32, tid: Option<u32>, fd: i32) -> Result<crate::fs::Reached> {
    let (p, _) = target(pid, tid)?;
    may_follow(&p)?;
    let file = lock_bounded(&p.files())?
        .get(fd)
        .map_err(|_| Error::new(ENOENT))?;
    let path = super::pid::describe_file(&p, &file)?;
    let inode = match file.inode() {
        Some(inode) => inode.clone(),
        None => Arc::new(FileObject { file }) as Arc<dyn Inode>,
    };
    Ok((inode, path))
}

/// Linux lets a process follow another's descriptor links only if it may
/// trace it (`PTRACE_MODE_READ`): here, its own, the same user's, or as
/// root.
fn may_follow(p: &Process) -> Result<()> {
    let Some(me) = crate::process::try_current_thread() else {
        return Ok(());
    };
    let mine = me.process().credentials();
    let theirs = p.credentials();
    if core::ptr::eq(me.process().as_ref(), p)
        || mine.has_cap(linux_raw_sys::general::CAP_SYS_PTRACE)
        || mine.euid == theirs.ruid
    {
        Ok(())
    } else {
        return_errno!(EACCES)
    }
}

/// An open file without an inode, reached through a magic link: it shows
/// the file's metadata, and opening it reopens a pipe (a new end of the
/// same pipe, without waiting for a partner as a FIFO would) or fails
/// with `ENXIO`.
struct FileObject {
    file: Arc<dyn FileLike>,
}

impl Inode for FileObject {
    fn metadata(&self) -> Metadata {
        self.file.metadata()
    }

    fn open_special(&self, oflags: u32) -> Option<Result<Arc<dyn FileLike>>> {
        Some(match crate::fs::pipe::pipe_of(self.file.as_ref()) {
            Some(pipe) => Ok(crate::fs::pipe::reopen_pipe(pipe.clone(), oflags)),
            None => Err(Error::new(ENXIO)),
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The name Linux gives the anonymous inode behind `file` (what its
/// descriptor link shows as `anon_inode:[NAME]`), if it is one.
pub(super) fn anon_name(file: &dyn FileLike) -> Option<&'static str> {
    let any = file.as_any();
    if any.is::<EventFd>() {
        Some("eventfd")
    } else if any.is::<EpollFile>() {
        Some("eventpoll")
    } else if any.is::<SignalFd>() {
        Some("signalfd")
    } else if any.is::<TimerFd>() {
        Some("timerfd")
    } else if any.is::<PidFd>() {
        Some("pidfd")
    } else {
        None
    }
}

/// `/proc/PID/fdinfo/N`: position, status flags (in octal, with
/// `O_CLOEXEC` for a close-on-exec descriptor and `O_LARGEFILE` for files
/// opened by name, as on 64-bit Linux), mount id and inode number.
pub(super) fn fdinfo(p: &Process, fd: i32) -> Result<String> {
    let (file, cloexec) = {
        let table = p.files();
        let files = lock_bounded(&table)?;
        let file = files.get(fd).map_err(|_| Error::new(ENOENT))?;
        (file, files.cloexec(fd).unwrap_or(false))
    };
    let meta = file.metadata();
    let pos = match meta.kind {
        InodeType::File | InodeType::Dir | InodeType::BlockDevice => file
            .seek(crate::fs::file::SeekFrom::Current(0))
            .unwrap_or(0),
        _ => 0,
    };
    // What only the open itself uses is not kept (Linux's `do_dentry_open`).
    let mut f =
        file.status_flags() & !(flags::O_CREAT | flags::O_EXCL | flags::O_NOCTTY | flags::O_TRUNC);
    if cloexec {
        f |= flags::O_CLOEXEC;
    }
    let any = file.as_any();
    let opened_by_name = file.inode().is_some()
        || file.path().is_some()
        || any.is::<crate::fs::tty::TtyFile>()
        || any.is::<crate::fs::tty::pty::PtyMaster>();
    if opened_by_name {
        f |= flags::O_LARGEFILE;
    }
    let mut s = String::new();
    let _ = write!(
        s,
        "pos:\t{pos}\nflags:\t0{f:o}\nmnt_id:\t{}\nino:\t{}\n",
        file.inode().map_or(
            crate::fs::mount::ROOT_MOUNT_ID,
            crate::fs::mount::mount_id_of
        ),
        meta.ino
    );
    if let Some(e) = file.as_any().downcast_ref::<EventFd>() {
        let (count, semaphore) = e.counter();
        let _ = write!(
            s,
            "eventfd-count: {count:>16x}\neventfd-id: {}\neventfd-semaphore: {}\n",
            meta.ino,
            u8::from(semaphore)
        );
    }
    if let Some(sfd) = file.as_any().downcast_ref::<SignalFd>() {
        let _ = writeln!(s, "sigmask:\t{:016x}", sfd.mask().0);
    }
    Ok(s)
}

/// Formats a descriptor link target for an object without a path.
pub(super) fn describe_object(file: &dyn FileLike) -> Vec<u8> {
    let m = file.metadata();
    match m.kind {
        InodeType::Fifo => format!("pipe:[{}]", m.ino),
        InodeType::Socket => format!("socket:[{}]", m.ino),
        _ => match anon_name(file) {
            Some(name) => format!("anon_inode:[{name}]"),
            None => format!("anon_inode:[{}]", m.ino),
        },
    }
    .into_bytes()
}

/// How `/proc/PID/maps` names a mapping of `file` made by `p`: its path,
/// device and inode number.
pub fn map_name(p: &Process, file: &Arc<dyn FileLike>) -> Option<Arc<crate::vm::MapName>> {
    let m = file.metadata();
    let path = super::pid::describe_file(p, file).ok()?;
    Some(Arc::new(crate::vm::MapName {
        path,
        dev: m.dev,
        ino: m.ino,
    }))
}
