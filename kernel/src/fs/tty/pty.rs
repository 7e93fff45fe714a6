//! Pseudo-terminals (Unix 98 style, as Linux's `pty.c`).
//!
//! Opening `/dev/ptmx` makes a pair: the master, an open file that only
//! its opener holds, and the slave, a [`Tty`] that appears in devpts as
//! `/dev/pts/N` (see [`devpts`](crate::fs::devpts)). What the master
//! writes is the slave's input and goes through the slave's line
//! discipline; what the slave writes (after output processing) is what
//! the master reads. The master is the slave's [`TtyDriver`].
//!
//! As on Linux: a new slave is locked until `unlockpt` (`TIOCSPTLCK`),
//! and opening it before gives `EIO`; closing the master hangs the slave
//! up (its session leader gets `SIGHUP` and `SIGCONT`, its readers end of
//! file, its writers `EIO`) and removes `/dev/pts/N`; once
//! every slave file is closed, master reads give `EIO` after the data
//! left. Packet mode (`TIOCPKT`) prefixes each read of the master with a
//! status byte. At most [`PTY_MAX`] - 1 pairs exist at once (Linux's
//! `/proc/sys/kernel/pty/max` counts the new pair against the limit);
//! past that `/dev/ptmx` gives `ENOSPC`.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use linux_raw_sys::general::{
    IXON, TIOCPKT_DOSTOP, TIOCPKT_FLUSHREAD, TIOCPKT_FLUSHWRITE, TIOCPKT_NOSTOP, VSTART, VSTOP,
    termios, winsize,
};
use linux_raw_sys::ioctl::{
    FIONREAD, TCFLSH, TIOCGPKT, TIOCGPTLCK, TIOCGPTN, TIOCGPTPEER, TIOCPKT, TIOCSIG, TIOCSPTLCK,
};
use ostd::sync::{Mutex, SpinLock, WaitQueue};

use super::line_discipline::std_termios;
use super::{Tty, TtyDriver, TtyFile};
use crate::fs::file::FileLike;
use crate::fs::inode::{Inode, InodeType, Metadata};
use crate::fs::lock::FileLockHandle;
use crate::fs::poll::IoEvents;
use crate::fs::sigio::{IoOwner, PollReason, SigioList};
use crate::prelude::*;
use crate::process::Pid;

/// Linux's default `pty/max`. A new pair counts against it, so at most
/// `PTY_MAX - 1` exist at once.
pub const PTY_MAX: usize = 4096;
/// Bytes the slave may write before the master reads: slave writers wait
/// past this.
const OUTPUT_LIMIT: usize = 16384;
/// Echo is dropped once this much output is unread.
const ECHO_LIMIT: usize = 2 * OUTPUT_LIMIT;
/// Major number of the slaves (`UNIX98_PTY_SLAVE_MAJOR`).
pub const SLAVE_MAJOR: u32 = 136;
/// Device number reported for devpts.
pub const DEVPTS_DEV: u64 = 0x16;

/// The pseudo-terminals whose master is open, by number.
static PTYS: SpinLock<BTreeMap<u32, Arc<Pty>>> = SpinLock::new(BTreeMap::new());

/// A pseudo-terminal pair.
pub struct Pty {
    index: u32,
    slave: Arc<Tty>,
    master: Arc<MasterSide>,
}

/// The master's side: what the slave wrote, packet mode, and the state
/// of the pair.
struct MasterSide {
    index: u32,
    state: SpinLock<MasterState>,
    /// Master readers waiting for output, slave writers waiting for room.
    waiters: WaitQueue,
    /// The master's `O_ASYNC` opens.
    sigio: SigioList,
    /// Owner and permissions of `/dev/pts/N`.
    attrs: Mutex<NodeAttrs>,
}

struct MasterState {
    /// Written by the slave, not yet read by the master.
    output: VecDeque<u8>,
    /// Packet mode (`TIOCPKT`).
    packet: bool,
    /// Pending `TIOCPKT_*` status bits for the next packet-mode read.
    pktstatus: u8,
    /// Open files of the slave.
    slave_opens: usize,
    /// Every slave file has been closed (Linux's `TTY_OTHER_CLOSED`).
    slave_closed: bool,
    /// The slave cannot be opened (`TIOCSPTLCK`).
    locked: bool,
}

#[derive(Clone, Copy)]
struct NodeAttrs {
    mode: u32,
    uid: u32,
    gid: u32,
    ctime: core::time::Duration,
}

impl Pty {
    /// Its number: the slave is `/dev/pts/N`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The slave terminal.
    pub fn slave(&self) -> &Arc<Tty> {
        &self.slave
    }

    /// Opens the slave (`/dev/pts/N`): `EIO` while it is locked.
    pub fn open_slave(&self, oflags: u32) -> Result<Arc<dyn FileLike>> {
        if self.master.state.lock().locked || self.slave.is_hung_up() {
            return_errno!(EIO);
        }
        Ok(TtyFile::open(self.slave.clone(), oflags))
    }

    /// `fstat` of the slave.
    pub fn slave_metadata(&self) -> Metadata {
        self.master.metadata()
    }

    /// `chmod` of `/dev/pts/N`.
    pub fn set_mode(&self, mode: u32) {
        let mut a = self.master.attrs.lock();
        a.mode = mode & 0o7777;
        a.ctime = ostd::timer::wall_clock();
    }

    /// `chown` of `/dev/pts/N`.
    pub fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) {
        let mut a = self.master.attrs.lock();
        if let Some(u) = uid {
            a.uid = u;
        }
        if let Some(g) = gid {
            a.gid = g;
        }
        a.ctime = ostd::timer::wall_clock();
    }
}

/// The pseudo-terminal `/dev/pts/index`, while its master is open.
pub fn find(index: u32) -> Option<Arc<Pty>> {
    PTYS.lock().get(&index).cloned()
}

/// How many pseudo-terminals exist (`/proc/sys/kernel/pty/nr`).
pub fn count() -> usize {
    PTYS.lock().len()
}

/// The numbers of the pseudo-terminals, in order.
pub fn indices() -> Vec<u32> {
    PTYS.lock().keys().copied().collect()
}

/// The slave that is the controlling terminal of session `sid`.
pub fn controlling_tty(sid: Pid) -> Option<Arc<Tty>> {
    PTYS.lock()
        .values()
        .find(|p| p.slave.session() == Some(sid))
        .map(|p| p.slave.clone())
}

/// Opens `/dev/ptmx`: a new pair, its master open with `oflags`; `node`
/// is the inode opened (for `fstat`). `ENOSPC` at [`PTY_MAX`] - 1 pairs.
pub fn open_master(oflags: u32, node: Arc<dyn Inode>) -> Result<Arc<dyn FileLike>> {
    let cred = crate::process::current_thread()
        .map(|t| t.credentials())
        .ok();
    let mut table = PTYS.lock();
    if table.len() + 1 >= PTY_MAX {
        return_errno!(ENOSPC);
    }
    // The lowest free number, as Linux's IDA gives.
    let mut index = 0;
    for &used in table.keys() {
        if used != index {
            break;
        }
        index += 1;
    }
    let master = Arc::new(MasterSide {
        index,
        state: SpinLock::new(MasterState {
            output: VecDeque::new(),
            packet: false,
            pktstatus: 0,
            slave_opens: 0,
            slave_closed: false,
            locked: true,
        }),
        waiters: WaitQueue::new(),
        sigio: SigioList::new(),
        attrs: Mutex::new(NodeAttrs {
            mode: 0o620,
            uid: cred.map_or(0, |c| c.fsuid),
            gid: 5, // tty
            ctime: ostd::timer::wall_clock(),
        }),
    });
    let ws = winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let slave = Tty::new(master.clone(), std_termios(), ws);
    let pty = Arc::new(Pty {
        index,
        slave,
        master,
    });
    table.insert(index, pty.clone());
    drop(table);
    let keep = linux_raw_sys::general::O_ACCMODE
        | linux_raw_sys::general::O_NONBLOCK
        | linux_raw_sys::general::O_APPEND;
    Ok(Arc::new(PtyMaster {
        pty,
        node,
        flags: AtomicU32::new(oflags & keep),
        lock: FileLockHandle::new(),
        owner: IoOwner::new(),
    }))
}

impl MasterSide {
    /// Tells master readers and pollers that something changed.
    fn wake(&self, readable: bool) {
        self.waiters.wake_all();
        crate::fs::poll::notify();
        if readable {
            self.sigio.notify(PollReason::In);
        }
    }

    /// Adds packet-mode status bits (if in packet mode).
    fn packet_status(&self, bits: u32) {
        let changed = {
            let mut s = self.state.lock();
            if s.packet {
                s.pktstatus |= bits as u8;
            }
            s.packet
        };
        if changed {
            self.wake(true);
        }
    }
}

/// Whether `t` makes `^S`/`^Q` flow control apply (Linux's check in
/// `pty_set_termios`).
fn flow_control(t: &termios) -> bool {
    t.c_iflag & IXON != 0 && t.c_cc[VSTOP as usize] == 0x13 && t.c_cc[VSTART as usize] == 0x11
}

impl TtyDriver for MasterSide {
    fn output_room(&self) -> usize {
        OUTPUT_LIMIT.saturating_sub(self.state.lock().output.len())
    }

    fn push_output(&self, buf: &[u8]) -> Result<()> {
        {
            let mut s = self.state.lock();
            s.output
                .try_reserve(buf.len())
                .map_err(|_| Error::new(ENOMEM))?;
            s.output.extend(buf);
        }
        self.wake(true);
        Ok(())
    }

    fn push_echo(&self, buf: &[u8]) {
        {
            let mut s = self.state.lock();
            let n = ECHO_LIMIT.saturating_sub(s.output.len()).min(buf.len());
            if s.output.try_reserve(n).is_ok() {
                s.output.extend(&buf[..n]);
            }
        }
        self.wake(true);
    }

    fn output_waiters(&self) -> Option<&WaitQueue> {
        Some(&self.waiters)
    }

    fn flush_output(&self) {
        self.state.lock().output.clear();
        self.packet_status(TIOCPKT_FLUSHWRITE);
        self.wake(false);
    }

    fn input_flushed(&self) {
        self.packet_status(TIOCPKT_FLUSHREAD);
    }

    fn termios_changed(&self, old: &termios, new: &termios) {
        let (was, is) = (flow_control(old), flow_control(new));
        if was != is {
            {
                let mut s = self.state.lock();
                s.pktstatus &= !((TIOCPKT_NOSTOP | TIOCPKT_DOSTOP) as u8);
            }
            self.packet_status(if is { TIOCPKT_DOSTOP } else { TIOCPKT_NOSTOP });
        }
    }

    fn metadata(&self) -> Metadata {
        let a = *self.attrs.lock();
        let rdev = crate::fs::devfs::encode_dev(SLAVE_MAJOR + self.index / 256, self.index % 256);
        Metadata {
            uid: a.uid,
            gid: a.gid,
            ctime: a.ctime,
            ..Metadata::anonymous(
                self.index as u64 + 3,
                DEVPTS_DEV,
                InodeType::CharDevice,
                a.mode,
                rdev,
            )
        }
    }

    fn name(&self) -> String {
        alloc::format!("/dev/pts/{}", self.index)
    }

    fn opened(&self) {
        let mut s = self.state.lock();
        s.slave_opens += 1;
        s.slave_closed = false;
    }

    fn closed(&self) {
        let last = {
            let mut s = self.state.lock();
            s.slave_opens = s.slave_opens.saturating_sub(1);
            if s.slave_opens == 0 {
                s.slave_closed = true;
            }
            s.slave_closed
        };
        if last {
            self.wake(false);
            self.sigio.notify(PollReason::Hup);
        }
    }
}

/// The master of a pseudo-terminal: an open `/dev/ptmx`.
pub struct PtyMaster {
    pty: Arc<Pty>,
    node: Arc<dyn Inode>,
    flags: AtomicU32,
    lock: FileLockHandle,
    owner: Arc<IoOwner>,
}

impl PtyMaster {
    fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & linux_raw_sys::general::O_NONBLOCK != 0
    }

    fn mode(&self) -> u32 {
        self.flags.load(Ordering::Relaxed) & linux_raw_sys::general::O_ACCMODE
    }

    /// `TIOCGPTPEER`: opens the slave as a new descriptor of the caller.
    fn open_peer(&self, oflags: u64) -> Result<i64> {
        use linux_raw_sys::general::{O_ACCMODE, O_CLOEXEC, O_NOCTTY, O_NONBLOCK};
        if oflags & !u64::from(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) != 0 {
            return_errno!(EINVAL);
        }
        let oflags = oflags as u32;
        if self.pty.slave.is_hung_up() {
            return_errno!(EIO);
        }
        let file = TtyFile::open(self.pty.slave.clone(), oflags);
        let t = crate::process::current_thread()?;
        let fd = t
            .process()
            .files()
            .lock()
            .insert(file, oflags & O_CLOEXEC != 0)?;
        Ok(fd as i64)
    }
}

impl FileLike for PtyMaster {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if self.mode() == linux_raw_sys::general::O_WRONLY {
            return_errno!(EBADF);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let side = &self.pty.master;
        let nonblocking = self.nonblocking();
        let thread = crate::process::try_current_thread();
        let r = side.waiters.wait_until(|| {
            let mut s = side.state.lock();
            if s.packet && s.pktstatus != 0 {
                buf[0] = s.pktstatus;
                s.pktstatus = 0;
                return Some(Ok(1));
            }
            if !s.output.is_empty() {
                let start = if s.packet {
                    buf[0] = linux_raw_sys::general::TIOCPKT_DATA as u8;
                    1
                } else {
                    0
                };
                let n = (buf.len() - start).min(s.output.len());
                for (i, b) in s.output.drain(..n).enumerate() {
                    buf[start + i] = b;
                }
                return Some(Ok(start + n));
            }
            if s.slave_closed {
                return Some(Err(Error::new(EIO)));
            }
            if nonblocking {
                return Some(Err(Error::new(EAGAIN)));
            }
            if thread.as_ref().is_some_and(|t| t.has_pending_work()) {
                return Some(Err(Error::new(ERESTARTSYS)));
            }
            None
        });
        // Slave writers may have room now.
        side.wake(false);
        r
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if self.mode() == linux_raw_sys::general::O_RDONLY {
            return_errno!(EBADF);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        self.pty.slave.input(buf, self.nonblocking())
    }

    fn poll(&self) -> IoEvents {
        let mut ev = IoEvents::empty();
        {
            let s = self.pty.master.state.lock();
            if !s.output.is_empty() {
                ev |= IoEvents::IN | IoEvents::RDNORM;
            }
            if s.packet && s.pktstatus != 0 {
                ev |= IoEvents::IN | IoEvents::RDNORM | IoEvents::PRI;
            }
            if s.slave_closed {
                ev |= IoEvents::HUP;
            }
        }
        if self.pty.slave.input_has_room() {
            ev |= IoEvents::OUT | IoEvents::WRNORM;
        }
        ev
    }

    fn metadata(&self) -> Metadata {
        self.node.metadata()
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        let side = &self.pty.master;
        match cmd {
            TIOCGPTN => {
                let vmar = crate::process::current_vmar()?;
                vmar.write_val(arg, &self.pty.index)?;
            }
            TIOCSPTLCK => {
                let vmar = crate::process::current_vmar()?;
                let lock: i32 = vmar.read_val(arg)?;
                side.state.lock().locked = lock != 0;
            }
            TIOCGPTLCK => {
                let vmar = crate::process::current_vmar()?;
                let locked = side.state.lock().locked as i32;
                vmar.write_val(arg, &locked)?;
            }
            TIOCPKT => {
                let vmar = crate::process::current_vmar()?;
                let on: i32 = vmar.read_val(arg)?;
                let mut s = side.state.lock();
                if on != 0 {
                    if !s.packet {
                        s.pktstatus = 0;
                        s.packet = true;
                    }
                } else {
                    s.packet = false;
                }
            }
            TIOCGPKT => {
                let vmar = crate::process::current_vmar()?;
                let on = side.state.lock().packet as i32;
                vmar.write_val(arg, &on)?;
            }
            TIOCGPTPEER => return self.open_peer(arg),
            // Linux's `pty_signal`: only the signal characters' signals.
            TIOCSIG => {
                use crate::process::signal::sig::{SIGINT, SIGQUIT, SIGTSTP};
                let sig = match arg {
                    a if a == SIGINT as u64 => SIGINT,
                    a if a == SIGQUIT as u64 => SIGQUIT,
                    a if a == SIGTSTP as u64 => SIGTSTP,
                    _ => return_errno!(EINVAL),
                };
                self.pty.slave.signal_foreground(sig);
            }
            FIONREAD => {
                let vmar = crate::process::current_vmar()?;
                let n = side.state.lock().output.len() as i32;
                vmar.write_val(arg, &n)?;
            }
            TCFLSH => {
                use linux_raw_sys::general::{TCIFLUSH, TCIOFLUSH, TCOFLUSH};
                let arg = arg as u32;
                if ![TCIFLUSH, TCOFLUSH, TCIOFLUSH].contains(&arg) {
                    return_errno!(EINVAL);
                }
                // The master's input is what the slave wrote; its output
                // is the slave's input.
                if arg != TCOFLUSH {
                    side.state.lock().output.clear();
                    side.wake(false);
                }
                if arg != TCIFLUSH {
                    self.pty.slave.discard_input();
                }
            }
            _ => return self.pty.slave.ioctl(cmd, arg, true),
        }
        Ok(0)
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, new: u32) -> Result<()> {
        crate::fs::file::set_changeable_flags(&self.flags, new);
        Ok(())
    }

    fn inode(&self) -> Option<&Arc<dyn Inode>> {
        Some(&self.node)
    }

    fn lock_handle(&self) -> Option<&FileLockHandle> {
        Some(&self.lock)
    }

    fn io_owner(&self) -> Option<&Arc<IoOwner>> {
        Some(&self.owner)
    }

    fn set_async(&self, fd: i32, on: bool) -> Result<()> {
        self.pty.master.sigio.set(fd, &self.owner, on)?;
        crate::fs::file::set_status_bit(&self.flags, crate::fs::file::flags::O_ASYNC, on);
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for PtyMaster {
    fn drop(&mut self) {
        let _ = self.pty.master.sigio.set(0, &self.owner, false);
        // The number is free again and /dev/pts/N goes away; open slave
        // files keep the terminal, hung up.
        PTYS.lock().remove(&self.pty.index);
        self.pty.slave.hangup();
        self.pty.master.wake(false);
    }
}

#[cfg(feature = "ktest")]
mod test {
    use ostd::prelude::ktest;

    use super::*;

    #[ktest]
    fn pair_moves_data_and_hangs_up() {
        let node = crate::fs::devfs::new_root().lookup(b"ptmx").unwrap();
        let master = open_master(linux_raw_sys::general::O_RDWR, node).unwrap();
        let pty = master
            .as_any()
            .downcast_ref::<PtyMaster>()
            .unwrap()
            .pty
            .clone();
        assert!(pty.open_slave(0).is_err());
        pty.master.state.lock().locked = false;
        let slave = pty.open_slave(linux_raw_sys::general::O_RDWR).unwrap();
        assert_eq!(master.write(b"hi\n").unwrap(), 3);
        let mut buf = [0u8; 16];
        assert_eq!(slave.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"hi\n");
        // The echo, with ONLCR.
        assert_eq!(master.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"hi\r\n");
        assert_eq!(slave.write(b"x\n").unwrap(), 2);
        assert_eq!(master.read(&mut buf).unwrap(), 3);
        let index = pty.index;
        assert!(find(index).is_some());
        drop(master);
        assert!(find(index).is_none());
        assert_eq!(slave.read(&mut buf).unwrap(), 0);
        assert_eq!(slave.write(b"x").unwrap_err().errno(), EIO);
    }
}
