//! Terminals: the serial console and the slaves of pseudo-terminals.
//!
//! A [`Tty`] is a line discipline ([`line_discipline`]: termios, canonical
//! editing, echo, signal characters) in front of a device, its
//! [`TtyDriver`], plus what every terminal has: a window size and the job
//! control state (the session it is the controlling terminal of and its
//! foreground process group). The console's driver writes to the serial
//! port and bytes typed there arrive in interrupt context; a pseudo-
//! terminal's driver is its master ([`pty`]), which reads what the slave
//! writes and whose writes are the slave's input.

pub mod line_discipline;
pub mod pty;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use linux_raw_sys::general::{TOSTOP, termios, winsize};
use linux_raw_sys::ioctl::{
    FIONREAD, TCFLSH, TCGETS, TCSBRK, TCSETS, TCSETSF, TCSETSW, TCXONC, TIOCGETD, TIOCGPGRP,
    TIOCGSID, TIOCGWINSZ, TIOCNOTTY, TIOCOUTQ, TIOCSCTTY, TIOCSPGRP, TIOCSWINSZ,
};
use ostd::sync::{SpinLock, WaitQueue};

use self::line_discipline::LineDiscipline;
use super::file::FileLike;
use super::inode::{InodeType, Metadata};
use super::lock::FileLockHandle;
use super::poll::IoEvents;
use super::sigio::{IoOwner, PollReason, SigioList};
use crate::prelude::*;
use crate::process::signal::{Signal, sig};
use crate::process::{Pid, Process};

/// The most bytes of a write processed at once.
const WRITE_CHUNK: usize = 4096;

/// The device behind a terminal: where its output goes.
pub trait TtyDriver: Send + Sync {
    /// Bytes of output the device takes now; writers wait while it is 0.
    fn output_room(&self) -> usize;
    /// Sends output (already processed by the line discipline). May go
    /// past [`output_room`](Self::output_room) by one write's worth;
    /// `ENOMEM` if memory is short.
    fn push_output(&self, buf: &[u8]) -> Result<()>;
    /// Sends echoed input; a full device, or a lack of memory, may drop it
    /// (never waits).
    fn push_echo(&self, buf: &[u8]) {
        let _ = self.push_output(buf);
    }
    /// Woken when output room appears (none if there is always room).
    fn output_waiters(&self) -> Option<&WaitQueue> {
        None
    }
    /// Discards output the device has not delivered yet (`TCOFLUSH`).
    fn flush_output(&self) {}
    /// The terminal discarded its input (`TCIFLUSH`).
    fn input_flushed(&self) {}
    /// The termios changed from `old` to `new`.
    fn termios_changed(&self, _old: &termios, _new: &termios) {}
    /// `fstat` of an open terminal.
    fn metadata(&self) -> Metadata;
    /// The path of the terminal's device node (`/proc/PID/fd`).
    fn name(&self) -> String;
    /// A file of the terminal was opened.
    fn opened(&self) {}
    /// A file of the terminal was closed.
    fn closed(&self) {}
}

struct State {
    ldisc: LineDiscipline,
    winsize: winsize,
    /// The session this is the controlling terminal of.
    session: Option<Pid>,
    /// The foreground process group.
    fg_pgid: Option<Pid>,
    /// Hung up (a pseudo-terminal whose master closed): reads give end
    /// of file, writes and ioctls `EIO`.
    hung_up: bool,
}

/// A terminal.
pub struct Tty {
    state: SpinLock<State>,
    /// Readers waiting for input, and writers of input waiting for room.
    input_waiters: WaitQueue,
    /// Opens with `O_ASYNC`: signalled when input can be read.
    sigio: SigioList,
    driver: Arc<dyn TtyDriver>,
}

impl Tty {
    /// A terminal over `driver` with termios `t` and window size `ws`.
    pub fn new(driver: Arc<dyn TtyDriver>, t: termios, ws: winsize) -> Arc<Self> {
        Arc::new(Self {
            state: SpinLock::new(State {
                ldisc: LineDiscipline::new(t),
                winsize: ws,
                session: None,
                fg_pgid: None,
                hung_up: false,
            }),
            input_waiters: WaitQueue::new(),
            sigio: SigioList::new(),
            driver,
        })
    }

    /// The session this is the controlling terminal of.
    pub fn session(&self) -> Option<Pid> {
        self.state.lock().session
    }

    /// The foreground process group.
    pub fn foreground(&self) -> Option<Pid> {
        self.state.lock().fg_pgid
    }

    /// Whether the terminal has been hung up.
    pub fn is_hung_up(&self) -> bool {
        self.state.lock().hung_up
    }

    /// A byte typed on the console (interrupt context: never waits; input
    /// past the buffer's limit is dropped).
    fn receive(&self, b: u8) {
        self.take_input(&[b]);
    }

    /// Input from the device: bytes written to a pseudo-terminal's master.
    /// Waits for room unless `nonblocking`; returns the bytes taken (at
    /// least one, or an error: `EAGAIN`, `ERESTARTSYS` on a signal, `EIO`
    /// once hung up).
    pub fn input(&self, buf: &[u8], nonblocking: bool) -> Result<usize> {
        let thread = crate::process::try_current_thread();
        let mut done = 0;
        while done < buf.len() {
            let room = self.input_waiters.wait_until(|| {
                let s = self.state.lock();
                if s.hung_up {
                    return Some(Err(Error::new(EIO)));
                }
                if s.ldisc.has_room() {
                    return Some(Ok(()));
                }
                if nonblocking {
                    return Some(Err(Error::new(EAGAIN)));
                }
                if thread.as_ref().is_some_and(|t| t.has_pending_work()) {
                    return Some(Err(Error::new(ERESTARTSYS)));
                }
                None
            });
            if let Err(e) = room {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            done += self.take_input(&buf[done..]);
        }
        Ok(done)
    }

    /// Runs bytes through the line discipline while it has room; echoes,
    /// signals and wakes readers. Returns the bytes taken.
    fn take_input(&self, buf: &[u8]) -> usize {
        let mut echo = Vec::new();
        let mut signals: Vec<Signal> = Vec::new();
        let mut out = Vec::new();
        let mut flush = false;
        let (taken, fg, readable) = {
            let mut s = self.state.lock();
            let mut n = 0;
            while n < buf.len() && (n == 0 || s.ldisc.has_room()) {
                if let Some(sig) = s.ldisc.receive(buf[n], &mut echo) {
                    signals.push(sig);
                    flush |= s.ldisc.flushes_on_signal();
                }
                n += 1;
            }
            if !echo.is_empty() {
                // Without memory for it the echo is lost, not the input.
                let _ = s.ldisc.process_output(&echo, &mut out);
            }
            (n, s.fg_pgid, s.ldisc.readable())
        };
        // As n_tty's `isig`: the output queue and the input go, then the
        // signal character is echoed.
        if flush {
            self.driver.flush_output();
            self.driver.input_flushed();
        }
        if !out.is_empty() {
            self.driver.push_echo(&out);
        }
        if let Some(pgid) = fg {
            for sig in signals {
                signal_group(pgid, sig);
            }
        }
        self.input_waiters.wake_all();
        super::poll::notify();
        if readable {
            self.sigio.notify(PollReason::In);
        }
        taken
    }

    /// Makes this the controlling terminal of `process`'s session if the
    /// process leads a session that has none and the terminal belongs to
    /// no session, or `force` (root's `TIOCSCTTY 1`) takes it from another
    /// one (opening a terminal without `O_NOCTTY`, or `TIOCSCTTY`).
    pub fn maybe_acquire(self: &Arc<Self>, process: &Process, force: bool) -> bool {
        if process.sid() != process.pid() {
            return false;
        }
        if let Some(current) = controlling_tty(process.sid()) {
            return Arc::ptr_eq(&current, self);
        }
        let mut s = self.state.lock();
        if s.hung_up || (s.session.is_some() && !force) {
            return false;
        }
        s.session = Some(process.sid());
        s.fg_pgid = Some(process.pgid());
        true
    }

    /// Job control for the current process: `Ok(())` if it may proceed;
    /// for a background process, sends `sig` to its group and asks for a
    /// restart, or fails with `EIO` if `sig` is ignored or blocked (an
    /// orphaned group in Linux's terms).
    fn check_job_control(&self, sig: Signal) -> Result<()> {
        let Some(thread) = crate::process::try_current_thread() else {
            return Ok(());
        };
        let process = thread.process();
        let (session, fg) = {
            let s = self.state.lock();
            (s.session, s.fg_pgid)
        };
        if session != Some(process.sid()) || fg.is_none_or(|fg| fg == process.pgid()) {
            return Ok(());
        }
        let ignored =
            process.sig_actions().lock().get(sig).handler == crate::process::signal::SIG_IGN;
        if ignored || thread.sig_mask().contains(sig) {
            if sig == sig::SIGTTOU {
                return Ok(()); // writing is allowed then
            }
            return_errno!(EIO);
        }
        signal_group(process.pgid(), sig);
        return_errno!(ERESTARTSYS)
    }

    /// Reads as a `read` through an open file does; `nonblocking`
    /// (`O_NONBLOCK`) gives `EAGAIN` instead of waiting. In non-canonical
    /// mode `VMIN` and `VTIME` decide how long to wait, as in termios(3):
    /// with `VMIN` 0, up to `VTIME` tenths of a second for any byte; with
    /// `VTIME` 0, for `VMIN` bytes; with both, for a first byte and then
    /// until `VMIN` bytes or a gap of `VTIME` between bytes.
    pub fn read(&self, buf: &mut [u8], nonblocking: bool) -> Result<usize> {
        use linux_raw_sys::general::{ICANON, VMIN, VTIME};
        if buf.is_empty() {
            return Ok(0);
        }
        self.check_job_control(sig::SIGTTIN)?;
        let t = self.state.lock().ldisc.termios();
        let raw = t.c_lflag & ICANON == 0;
        let vmin = t.c_cc[VMIN as usize] as usize;
        let vtime = core::time::Duration::from_millis(t.c_cc[VTIME as usize] as u64 * 100);
        if !raw {
            self.wait_input(1, None, nonblocking)?;
        } else if vmin == 0 {
            // VTIME = 0: just look (0 when there is nothing, even with
            // O_NONBLOCK, as Linux).
            let nonblocking = nonblocking || vtime.is_zero();
            match self.wait_input(1, Some(vtime), nonblocking) {
                Err(e) if e.errno() == EAGAIN && vtime.is_zero() => {}
                r => {
                    r?;
                }
            }
        } else {
            let target = vmin.min(buf.len());
            let first = if vtime.is_zero() { target } else { 1 };
            if self.wait_input(first, None, nonblocking)? && !vtime.is_zero() {
                // The inter-byte timer: go on while each gap is shorter
                // than VTIME. A signal now ends the read with what came.
                loop {
                    let have = self.state.lock().ldisc.readable_bytes();
                    if have >= target
                        || !matches!(self.wait_input(have + 1, Some(vtime), false), Ok(true))
                    {
                        break;
                    }
                }
            }
        }
        let n = {
            let mut s = self.state.lock();
            if s.hung_up || !s.ldisc.readable() {
                0
            } else {
                s.ldisc.read(buf)
            }
        };
        // Room for input has appeared.
        self.input_waiters.wake_all();
        super::poll::notify();
        Ok(n)
    }

    /// Waits until `want` bytes can be read (in canonical mode: a line or
    /// an end of file): `Ok(true)`; `Ok(false)` if the terminal hangs up,
    /// `timeout` passes, or `nonblocking` and fewer can be read. `EAGAIN`
    /// instead of waiting if `nonblocking` and nothing can be read;
    /// `ERESTARTSYS` on a signal.
    fn wait_input(
        &self,
        want: usize,
        timeout: Option<core::time::Duration>,
        nonblocking: bool,
    ) -> Result<bool> {
        let thread = crate::process::try_current_thread();
        let r = self.input_waiters.wait_until_or_timeout(
            || {
                let s = self.state.lock();
                if s.hung_up {
                    return Some(Ok(false));
                }
                let readable = s.ldisc.readable();
                if readable && (s.ldisc.is_canonical() || s.ldisc.readable_bytes() >= want) {
                    return Some(Ok(true));
                }
                if nonblocking {
                    return Some(if readable {
                        Ok(false)
                    } else {
                        Err(Error::new(EAGAIN))
                    });
                }
                if thread.as_ref().is_some_and(|t| t.has_pending_work()) {
                    return Some(Err(Error::new(ERESTARTSYS)));
                }
                None
            },
            timeout.filter(|t| !t.is_zero()),
        );
        r.unwrap_or(Ok(false))
    }

    /// Writes as a `write` through an open file does: output processing,
    /// then the device, waiting for room unless `nonblocking`.
    pub fn write(&self, buf: &[u8], nonblocking: bool) -> Result<usize> {
        let (tostop, hung_up) = {
            let s = self.state.lock();
            (s.ldisc.termios().c_lflag & TOSTOP != 0, s.hung_up)
        };
        if hung_up {
            return_errno!(EIO);
        }
        if tostop {
            self.check_job_control(sig::SIGTTOU)?;
        }
        let thread = crate::process::try_current_thread();
        let mut done = 0;
        let mut out = Vec::new();
        while done < buf.len() {
            let wait = || {
                if self.state.lock().hung_up {
                    return Some(Err(Error::new(EIO)));
                }
                let room = self.driver.output_room();
                if room > 0 {
                    return Some(Ok(room));
                }
                if nonblocking {
                    return Some(Err(Error::new(EAGAIN)));
                }
                if thread.as_ref().is_some_and(|t| t.has_pending_work()) {
                    return Some(Err(Error::new(ERESTARTSYS)));
                }
                None
            };
            let room = match self.driver.output_waiters() {
                Some(q) => q.wait_until(wait),
                None => Ok(usize::MAX),
            };
            let room = match room {
                Ok(r) => r,
                Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
            };
            // In pieces, so that output processing needs little memory.
            let n = room.min(buf.len() - done).min(WRITE_CHUNK);
            out.clear();
            let pushed = self
                .state
                .lock()
                .ldisc
                .process_output(&buf[done..done + n], &mut out)
                .and_then(|()| self.driver.push_output(&out));
            if let Err(e) = pushed {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            done += n;
        }
        Ok(done)
    }

    /// Readiness.
    pub fn poll(&self) -> IoEvents {
        let s = self.state.lock();
        if s.hung_up {
            return IoEvents::IN
                | IoEvents::RDNORM
                | IoEvents::OUT
                | IoEvents::WRNORM
                | IoEvents::ERR
                | IoEvents::HUP;
        }
        let mut ev = IoEvents::empty();
        if s.ldisc.poll_readable() {
            ev |= IoEvents::IN | IoEvents::RDNORM;
        }
        drop(s);
        if self.driver.output_room() > 0 {
            ev |= IoEvents::OUT | IoEvents::WRNORM;
        }
        ev
    }

    /// `fstat`.
    pub fn metadata(&self) -> Metadata {
        self.driver.metadata()
    }

    /// The path of its device node.
    pub fn name(&self) -> String {
        self.driver.name()
    }

    /// Sets the window size; the foreground group gets `SIGWINCH` if it
    /// changed (Linux's `tty_do_resize`).
    pub fn set_winsize(&self, w: winsize) {
        let fg = {
            let mut s = self.state.lock();
            let old = s.winsize;
            s.winsize = w;
            let same = (old.ws_row, old.ws_col, old.ws_xpixel, old.ws_ypixel)
                == (w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel);
            if same { None } else { s.fg_pgid }
        };
        if let Some(pgid) = fg {
            signal_group(pgid, sig::SIGWINCH);
        }
    }

    /// Sends `sig` to the foreground process group, if there is one
    /// (`TIOCSIG` on a pseudo-terminal's master).
    pub fn signal_foreground(&self, sig: Signal) {
        if let Some(pgid) = self.foreground() {
            signal_group(pgid, sig);
        }
    }

    /// Discards input (`TCIFLUSH`).
    fn flush_input(&self) {
        self.discard_input();
        self.driver.input_flushed();
    }

    /// Discards input without telling the device (a flush from a
    /// pseudo-terminal's master side).
    pub fn discard_input(&self) {
        self.state.lock().ldisc.flush_input();
        self.input_waiters.wake_all();
        super::poll::notify();
    }

    /// Whether [`input`](Self::input) would take a byte now.
    pub fn input_has_room(&self) -> bool {
        let s = self.state.lock();
        s.hung_up || s.ldisc.has_room()
    }

    /// Hangs the terminal up (its pseudo-terminal master closed), as
    /// Linux's `__tty_hangup`: the session leader gets `SIGHUP` and
    /// `SIGCONT`, the terminal stops being a controlling terminal, reads
    /// give end of file and writes `EIO`.
    pub fn hangup(&self) {
        let session = {
            let mut s = self.state.lock();
            s.hung_up = true;
            s.fg_pgid = None;
            s.session.take()
        };
        if let Some(sid) = session
            && let Some(leader) = crate::process::find_process(sid)
            && leader.sid() == sid
        {
            crate::process::exit::send_to_process(&leader, sig::SIGHUP);
            crate::process::exit::send_to_process(&leader, sig::SIGCONT);
        }
        self.input_waiters.wake_all();
        if let Some(q) = self.driver.output_waiters() {
            q.wake_all();
        }
        super::poll::notify();
        self.sigio.notify(PollReason::Hup);
    }

    /// The leader of the session this terminal controls gives it up
    /// (Linux's `disassociate_ctty`): the foreground group gets `SIGHUP`,
    /// and `SIGCONT` too unless the leader is exiting (`TIOCNOTTY`); the
    /// terminal is free for another session.
    fn disassociate(&self, on_exit: bool) {
        let fg = {
            let mut s = self.state.lock();
            s.session = None;
            s.fg_pgid.take()
        };
        if let Some(pgid) = fg {
            signal_group(pgid, sig::SIGHUP);
            if !on_exit {
                signal_group(pgid, sig::SIGCONT);
            }
        }
    }

    /// The ioctls a terminal and its pseudo-terminal master share:
    /// termios, window size, foreground group, session, flushes.
    /// `from_master`: issued on the master, which is no process's
    /// controlling terminal, so job control does not apply.
    pub fn ioctl(&self, cmd: u32, arg: u64, from_master: bool) -> Result<i64> {
        if self.is_hung_up() {
            return_errno!(EIO);
        }
        let vmar = crate::process::current_vmar()?;
        let job_control = |sig| {
            if from_master {
                Ok(())
            } else {
                self.check_job_control(sig)
            }
        };
        // Commands that need to be the caller's controlling terminal (from
        // the slave side).
        let own_session = || -> Result<Arc<crate::process::Thread>> {
            let t = crate::process::current_thread()?;
            if !from_master && self.session() != Some(t.process().sid()) {
                return_errno!(ENOTTY);
            }
            Ok(t)
        };
        match cmd {
            TCGETS => {
                let t = self.state.lock().ldisc.termios();
                vmar.write_val(arg, &t)?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                job_control(sig::SIGTTOU)?;
                let t: termios = vmar.read_val(arg)?;
                let old = {
                    let mut s = self.state.lock();
                    let old = s.ldisc.termios();
                    s.ldisc.set_termios(t, cmd == TCSETSF);
                    old
                };
                if cmd == TCSETSF {
                    self.driver.input_flushed();
                }
                self.driver.termios_changed(&old, &t);
                self.input_waiters.wake_all();
                super::poll::notify();
            }
            TIOCGWINSZ => {
                let w = self.state.lock().winsize;
                vmar.write_val(arg, &w)?;
            }
            TIOCSWINSZ => {
                let w: winsize = vmar.read_val(arg)?;
                self.set_winsize(w);
            }
            // The line discipline is always N_TTY (0).
            TIOCGETD => vmar.write_val(arg, &0i32)?,
            // Output leaves at once: the console writes it synchronously,
            // and a pseudo-terminal's goes straight to its master (Linux's
            // pty has no output queue either).
            TIOCOUTQ => vmar.write_val(arg, &0i32)?,
            TIOCGPGRP => {
                own_session()?;
                let fg = self.foreground();
                vmar.write_val(arg, &(fg.unwrap_or(0) as i32))?;
            }
            TIOCSPGRP => {
                let t = own_session()?;
                let pgid: i32 = vmar.read_val(arg)?;
                if pgid < 0 {
                    return_errno!(EINVAL);
                }
                if self.session() != Some(t.process().sid()) {
                    return_errno!(ENOTTY);
                }
                job_control(sig::SIGTTOU)?;
                // Linux: ESRCH if there is no such group, EPERM if it is
                // in another session.
                let group = crate::process::processes_in_group(pgid as u32);
                if group.is_empty() {
                    return_errno!(ESRCH);
                }
                if !group.iter().any(|p| p.sid() == t.process().sid()) {
                    return_errno!(EPERM);
                }
                self.state.lock().fg_pgid = Some(pgid as u32);
            }
            TIOCGSID => {
                own_session()?;
                match self.session() {
                    Some(sid) => vmar.write_val(arg, &(sid as i32))?,
                    None => return_errno!(ENOTTY),
                }
            }
            // Output is delivered at once, so draining is immediate.
            TCSBRK | TCXONC => {}
            TCFLSH => {
                // From the master, input and output swap sides.
                let (input, output) = match (arg as u32, from_master) {
                    (linux_raw_sys::general::TCIFLUSH, false)
                    | (linux_raw_sys::general::TCOFLUSH, true) => (true, false),
                    (linux_raw_sys::general::TCOFLUSH, false)
                    | (linux_raw_sys::general::TCIFLUSH, true) => (false, true),
                    (linux_raw_sys::general::TCIOFLUSH, _) => (true, true),
                    _ => return_errno!(EINVAL),
                };
                if input {
                    self.flush_input();
                }
                if output {
                    self.driver.flush_output();
                }
            }
            FIONREAD => {
                let n = self.state.lock().ldisc.readable_bytes() as i32;
                vmar.write_val(arg, &n)?;
            }
            _ => return_errno!(ENOTTY),
        }
        Ok(0)
    }

    /// The slave-side ioctls: the shared ones plus the controlling
    /// terminal.
    fn slave_ioctl(self: &Arc<Self>, cmd: u32, arg: u64) -> Result<i64> {
        // Linux's `hung_up_tty_ioctl`.
        if self.is_hung_up() {
            return_errno!(if cmd == TIOCSPGRP { ENOTTY } else { EIO });
        }
        match cmd {
            TIOCSCTTY => {
                let t = crate::process::current_thread()?;
                // Stealing another session's terminal needs CAP_SYS_ADMIN.
                let steal = arg == 1
                    && t.credentials()
                        .has_cap(linux_raw_sys::general::CAP_SYS_ADMIN);
                if !self.maybe_acquire(t.process(), steal) {
                    return_errno!(EPERM);
                }
                Ok(0)
            }
            TIOCNOTTY => {
                let t = crate::process::current_thread()?;
                if self.session() != Some(t.process().sid()) {
                    return_errno!(ENOTTY);
                }
                if t.process().sid() == t.process().pid() {
                    self.disassociate(false);
                }
                Ok(0)
            }
            _ => self.ioctl(cmd, arg, false),
        }
    }
}

/// Sends `sig` to every process of group `pgid`, with the process table
/// locked (no copy of it: this runs in interrupt context and on exit).
fn signal_group(pgid: Pid, sig: Signal) {
    crate::process::table::for_each_process(|p| {
        if p.pgid() == pgid {
            crate::process::exit::send_to_process(p, sig);
        }
    });
}

/// The console's device: the serial port, never full.
struct SerialConsole;

impl TtyDriver for SerialConsole {
    fn output_room(&self) -> usize {
        usize::MAX
    }

    fn push_output(&self, buf: &[u8]) -> Result<()> {
        ostd::console::write_bytes(buf);
        Ok(())
    }

    fn metadata(&self) -> Metadata {
        // /dev/console: character device 5:1, group tty (5).
        Metadata {
            gid: 5,
            ..Metadata::anonymous(5, 5, InodeType::CharDevice, 0o620, (5 << 8) | 1)
        }
    }

    fn name(&self) -> String {
        String::from("/dev/console")
    }
}

static CONSOLE: SpinLock<Option<Arc<Tty>>> = SpinLock::new(None);

/// The console TTY (created on first use, wired to the serial input).
pub fn console() -> Arc<Tty> {
    let mut c = CONSOLE.lock();
    if let Some(t) = c.as_ref() {
        return t.clone();
    }
    let ws = winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let tty = Tty::new(
        Arc::new(SerialConsole),
        line_discipline::console_termios(),
        ws,
    );
    *c = Some(tty.clone());
    drop(c);
    let t = tty.clone();
    ostd::console::register_input_callback(move |b| t.receive(b));
    tty
}

/// The controlling terminal of session `sid`: the console or a
/// pseudo-terminal slave.
pub fn controlling_tty(sid: Pid) -> Option<Arc<Tty>> {
    let console = CONSOLE.lock().clone();
    if let Some(c) = console
        && c.session() == Some(sid)
    {
        return Some(c);
    }
    pty::controlling_tty(sid)
}

/// The leader of session `sid` exited: its controlling terminal, if any,
/// is released and its foreground group hung up.
pub fn session_leader_exited(sid: Pid) {
    if let Some(tty) = controlling_tty(sid) {
        tty.disassociate(true);
    }
}

/// One open of a terminal (`/dev/console`, `/dev/tty`, `/dev/pts/N`, ...):
/// an open file description of its own, with its access mode and status
/// flags, over the one shared terminal.
pub struct TtyFile {
    tty: Arc<Tty>,
    /// The node opened, when it is not the terminal's own (`/dev/tty`):
    /// `fstat` describes it, as on Linux.
    node: Option<Arc<dyn super::inode::Inode>>,
    flags: AtomicU32,
    lock: FileLockHandle,
    owner: Arc<IoOwner>,
}

impl TtyFile {
    /// Opens the terminal with `oflags` (the access mode and `O_NONBLOCK`
    /// are kept).
    pub fn open(tty: Arc<Tty>, oflags: u32) -> Arc<TtyFile> {
        Self::open_via(tty, oflags, None)
    }

    /// Opens the terminal through `node` (`/dev/tty`), which `fstat`
    /// then describes.
    pub fn open_via(
        tty: Arc<Tty>,
        oflags: u32,
        node: Option<Arc<dyn super::inode::Inode>>,
    ) -> Arc<TtyFile> {
        let keep = linux_raw_sys::general::O_ACCMODE
            | linux_raw_sys::general::O_NONBLOCK
            | linux_raw_sys::general::O_APPEND;
        tty.driver.opened();
        Arc::new(TtyFile {
            tty,
            node,
            flags: AtomicU32::new(oflags & keep),
            lock: FileLockHandle::new(),
            owner: IoOwner::new(),
        })
    }

    /// The terminal.
    pub fn tty(&self) -> &Arc<Tty> {
        &self.tty
    }

    fn mode(&self) -> u32 {
        self.flags.load(Ordering::Relaxed) & linux_raw_sys::general::O_ACCMODE
    }

    fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & linux_raw_sys::general::O_NONBLOCK != 0
    }
}

impl FileLike for TtyFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if self.mode() == linux_raw_sys::general::O_WRONLY {
            return_errno!(EBADF);
        }
        self.tty.read(buf, self.nonblocking())
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if self.mode() == linux_raw_sys::general::O_RDONLY {
            return_errno!(EBADF);
        }
        self.tty.write(buf, self.nonblocking())
    }

    fn poll(&self) -> IoEvents {
        self.tty.poll()
    }

    fn metadata(&self) -> Metadata {
        match &self.node {
            Some(node) => node.metadata(),
            None => self.tty.metadata(),
        }
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        self.tty.slave_ioctl(cmd, arg)
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, new: u32) -> Result<()> {
        super::file::set_changeable_flags(&self.flags, new);
        Ok(())
    }

    fn lock_handle(&self) -> Option<&FileLockHandle> {
        Some(&self.lock)
    }

    fn io_owner(&self) -> Option<&Arc<IoOwner>> {
        Some(&self.owner)
    }

    fn set_async(&self, fd: i32, on: bool) -> Result<()> {
        self.tty.sigio.set(fd, &self.owner, on)?;
        crate::fs::file::set_status_bit(&self.flags, crate::fs::file::flags::O_ASYNC, on);
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for TtyFile {
    fn drop(&mut self) {
        let _ = self.tty.sigio.set(0, &self.owner, false);
        self.tty.driver.closed();
    }
}
