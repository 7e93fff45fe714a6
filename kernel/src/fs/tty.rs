//! The console terminal.
//!
//! Bytes typed on the serial console arrive in interrupt context and go
//! through a line discipline: in canonical mode (the default) they are
//! echoed and collected into lines, with erase and kill; in raw mode they
//! are delivered as they come. Output translates `\n` to `\r\n` (`ONLCR`).

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use linux_raw_sys::general::{termios, winsize};
use linux_raw_sys::ioctl::{
    TCGETS, TCSETS, TCSETSF, TCSETSW, TIOCGPGRP, TIOCGSID, TIOCGWINSZ, TIOCNOTTY, TIOCSCTTY,
    TIOCSPGRP, TIOCSWINSZ,
};
use ostd::sync::{SpinLock, WaitQueue};

use super::file::FileLike;
use super::inode::{InodeType, Metadata};
use super::lock::FileLockHandle;
use super::sigio::{IoOwner, PollReason, SigioList};
use crate::prelude::*;
use crate::process::signal::sig;

const ICANON: u32 = linux_raw_sys::general::ICANON;
const ECHO: u32 = linux_raw_sys::general::ECHO;
const ONLCR: u32 = linux_raw_sys::general::ONLCR;
const ICRNL: u32 = linux_raw_sys::general::ICRNL;
const VERASE: usize = linux_raw_sys::general::VERASE as usize;
const VKILL: usize = linux_raw_sys::general::VKILL as usize;
const VEOF: usize = linux_raw_sys::general::VEOF as usize;
const VINTR: usize = linux_raw_sys::general::VINTR as usize;
const VQUIT: usize = linux_raw_sys::general::VQUIT as usize;
const VSUSP: usize = linux_raw_sys::general::VSUSP as usize;
const VMIN: usize = linux_raw_sys::general::VMIN as usize;
const VTIME: usize = linux_raw_sys::general::VTIME as usize;
const VWERASE: usize = linux_raw_sys::general::VWERASE as usize;

struct State {
    termios: termios,
    winsize: winsize,
    /// Bytes ready for `read`.
    ready: VecDeque<u8>,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
    /// An end-of-file (`^D` on an empty line) is pending.
    eof: bool,
    /// The session this is the controlling terminal of.
    session: Option<u32>,
    /// The foreground process group.
    fg_pgid: Option<u32>,
}

/// The console TTY.
pub struct Tty {
    state: SpinLock<State>,
    readers: WaitQueue,
    /// Opens with `O_ASYNC`: signalled when input can be read.
    sigio: SigioList,
}

fn default_termios() -> termios {
    let mut cc = [0u8; 19];
    cc[linux_raw_sys::general::VINTR as usize] = 3;
    cc[linux_raw_sys::general::VQUIT as usize] = 0x1c;
    cc[VERASE] = 0x7f;
    cc[VKILL] = 0x15;
    cc[VEOF] = 4;
    cc[linux_raw_sys::general::VMIN as usize] = 1;
    cc[linux_raw_sys::general::VSUSP as usize] = 0x1a;
    cc[linux_raw_sys::general::VWERASE as usize] = 0x17;
    termios {
        c_iflag: ICRNL | linux_raw_sys::general::IXON,
        c_oflag: linux_raw_sys::general::OPOST | ONLCR,
        c_cflag: linux_raw_sys::general::B38400
            | linux_raw_sys::general::CS8
            | linux_raw_sys::general::CREAD,
        c_lflag: ICANON
            | ECHO
            | linux_raw_sys::general::ECHOE
            | linux_raw_sys::general::ECHOK
            | linux_raw_sys::general::ISIG
            | linux_raw_sys::general::IEXTEN
            | linux_raw_sys::general::ECHOCTL
            | linux_raw_sys::general::ECHOKE,
        c_line: 0,
        c_cc: cc,
    }
}

static CONSOLE: SpinLock<Option<Arc<Tty>>> = SpinLock::new(None);

/// The console TTY (created on first use, wired to the serial input).
pub fn console() -> Arc<Tty> {
    let mut c = CONSOLE.lock();
    if let Some(t) = c.as_ref() {
        return t.clone();
    }
    let tty = Arc::new(Tty {
        state: SpinLock::new(State {
            termios: default_termios(),
            winsize: winsize {
                ws_row: 24,
                ws_col: 80,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
            ready: VecDeque::new(),
            line: Vec::new(),
            eof: false,
            session: None,
            fg_pgid: None,
        }),
        readers: WaitQueue::new(),
        sigio: SigioList::new(),
    });
    *c = Some(tty.clone());
    drop(c);
    let t = tty.clone();
    ostd::console::register_input_callback(move |b| t.receive(b));
    tty
}

impl Tty {
    /// A byte typed on the console (interrupt context).
    fn receive(&self, mut b: u8) {
        let mut echo: Vec<u8> = Vec::new();
        let mut signal = None;
        {
            let mut s = self.state.lock();
            if s.termios.c_iflag & ICRNL != 0 && b == b'\r' {
                b = b'\n';
            }
            let lflag = s.termios.c_lflag;
            let cc = s.termios.c_cc;
            let isig = lflag & linux_raw_sys::general::ISIG != 0;
            if isig && b != 0 && (b == cc[VINTR] || b == cc[VQUIT] || b == cc[VSUSP]) {
                signal = Some(if b == cc[VINTR] {
                    sig::SIGINT
                } else if b == cc[VQUIT] {
                    sig::SIGQUIT
                } else {
                    sig::SIGTSTP
                });
                // Like n_tty: flush pending input and echo the character.
                s.line.clear();
                s.ready.clear();
                if lflag & ECHO != 0 {
                    echo.extend_from_slice(&[b'^', b + 0x40]);
                }
            } else if lflag & ICANON == 0 {
                s.ready.push_back(b);
                if lflag & ECHO != 0 {
                    echo.push(b);
                }
            } else if b == s.termios.c_cc[VERASE] || b == 0x08 {
                if s.line.pop().is_some() && lflag & ECHO != 0 {
                    echo.extend_from_slice(b"\x08 \x08");
                }
            } else if b == s.termios.c_cc[VKILL] {
                let n = s.line.len();
                s.line.clear();
                if lflag & ECHO != 0 {
                    for _ in 0..n {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                }
            } else if b == cc[VWERASE] && lflag & linux_raw_sys::general::IEXTEN != 0 {
                // Word erase: trailing blanks, then the word before them.
                let mut n = 0;
                while s.line.last().is_some_and(|c| *c == b' ' || *c == b'\t') {
                    s.line.pop();
                    n += 1;
                }
                while s.line.last().is_some_and(|c| *c != b' ' && *c != b'\t') {
                    s.line.pop();
                    n += 1;
                }
                if lflag & ECHO != 0 {
                    for _ in 0..n {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                }
            } else if b == s.termios.c_cc[VEOF] {
                let line = core::mem::take(&mut s.line);
                if line.is_empty() {
                    s.eof = true;
                }
                s.ready.extend(line);
            } else {
                s.line.push(b);
                if lflag & ECHO != 0 {
                    echo.push(b);
                }
                if b == b'\n' {
                    let line = core::mem::take(&mut s.line);
                    s.ready.extend(line);
                }
            }
        }
        if !echo.is_empty() {
            self.output(&echo);
        }
        if let Some(sig) = signal {
            let fg = self.state.lock().fg_pgid;
            if let Some(pgid) = fg {
                for p in crate::process::processes_in_group(pgid) {
                    crate::process::exit::send_to_process(&p, sig);
                }
            }
        }
        let readable = {
            let s = self.state.lock();
            !s.ready.is_empty() || s.eof
        };
        self.readers.wake_all();
        super::poll::notify();
        if readable {
            self.sigio.notify(PollReason::In);
        }
    }

    /// Makes this the controlling terminal of `process`'s session if the
    /// process leads a session that has none (opening a terminal without
    /// `O_NOCTTY`, or `TIOCSCTTY`).
    pub fn maybe_acquire(&self, process: &crate::process::Process, force: bool) -> bool {
        let mut s = self.state.lock();
        if process.sid() != process.pid() {
            return false;
        }
        if s.session.is_some() && !force {
            return s.session == Some(process.sid());
        }
        s.session = Some(process.sid());
        s.fg_pgid = Some(process.pgid());
        true
    }

    /// Job control for the current process: `Ok(())` if it may proceed;
    /// for a background process, sends `sig` to its group and asks for a
    /// restart, or fails with `EIO` if `sig` is ignored or blocked (an
    /// orphaned group in Linux's terms).
    fn check_job_control(&self, sig: crate::process::signal::Signal) -> Result<()> {
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
        for p in crate::process::processes_in_group(process.pgid()) {
            crate::process::exit::send_to_process(&p, sig);
        }
        return_errno!(ERESTARTSYS)
    }

    fn output(&self, buf: &[u8]) {
        let onlcr = {
            let s = self.state.lock();
            s.termios.c_oflag & ONLCR != 0
        };
        if !onlcr || !buf.contains(&b'\n') {
            ostd::console::write_bytes(buf);
            return;
        }
        let mut out = Vec::with_capacity(buf.len() + 16);
        for &b in buf {
            if b == b'\n' {
                out.push(b'\r');
            }
            out.push(b);
        }
        ostd::console::write_bytes(&out);
    }
}

/// One open of the terminal (`/dev/console`, `/dev/tty`, ...): an open file
/// description of its own, with its access mode and status flags, over the
/// one shared terminal.
pub struct TtyFile {
    tty: Arc<Tty>,
    flags: AtomicU32,
    lock: FileLockHandle,
    owner: Arc<IoOwner>,
}

impl TtyFile {
    /// Opens the terminal with `oflags` (the access mode and `O_NONBLOCK`
    /// are kept).
    pub fn open(tty: Arc<Tty>, oflags: u32) -> Arc<TtyFile> {
        let keep = linux_raw_sys::general::O_ACCMODE
            | linux_raw_sys::general::O_NONBLOCK
            | linux_raw_sys::general::O_APPEND;
        Arc::new(TtyFile {
            tty,
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
}

impl FileLike for TtyFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if self.mode() == linux_raw_sys::general::O_WRONLY {
            return_errno!(EBADF);
        }
        let nonblocking =
            self.flags.load(Ordering::Relaxed) & linux_raw_sys::general::O_NONBLOCK != 0;
        self.tty.read_as(buf, nonblocking)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if self.mode() == linux_raw_sys::general::O_RDONLY {
            return_errno!(EBADF);
        }
        self.tty.write(buf)
    }

    fn poll(&self) -> super::poll::IoEvents {
        self.tty.poll()
    }

    fn metadata(&self) -> Metadata {
        self.tty.metadata()
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        self.tty.ioctl(cmd, arg)
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
        let bit = linux_raw_sys::general::FASYNC;
        if on {
            self.flags.fetch_or(bit, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!bit, Ordering::Relaxed);
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for TtyFile {
    fn drop(&mut self) {
        let _ = self.tty.sigio.set(0, &self.owner, false);
    }
}

impl Tty {
    /// Reads as a `read` through an open file does; `nonblocking`
    /// (`O_NONBLOCK`) gives `EAGAIN` instead of waiting.
    pub fn read_as(&self, buf: &mut [u8], nonblocking: bool) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.check_job_control(sig::SIGTTIN)?;
        let thread = crate::process::try_current_thread();
        // Non-canonical with VMIN = 0: VTIME tenths of a second is how long
        // to wait for a byte (0: return at once).
        let (raw, vmin, vtime) = {
            let s = self.state.lock();
            (
                s.termios.c_lflag & ICANON == 0,
                s.termios.c_cc[VMIN],
                s.termios.c_cc[VTIME],
            )
        };
        let timeout =
            (raw && vmin == 0).then(|| core::time::Duration::from_millis(vtime as u64 * 100));
        let r = self.readers.wait_until_or_timeout(
            || {
                let mut s = self.state.lock();
                let raw = s.termios.c_lflag & ICANON == 0;
                if raw
                    && s.ready.is_empty()
                    && s.termios.c_cc[VMIN] == 0
                    && s.termios.c_cc[VTIME] == 0
                {
                    return Some(Ok(0)); // VMIN = VTIME = 0: poll, don't wait
                }
                if !s.ready.is_empty() {
                    let canonical = s.termios.c_lflag & ICANON != 0;
                    let mut n = 0;
                    while n < buf.len() {
                        let Some(b) = s.ready.pop_front() else { break };
                        buf[n] = b;
                        n += 1;
                        if canonical && b == b'\n' {
                            break;
                        }
                    }
                    return Some(Ok(n));
                }
                if s.eof {
                    s.eof = false;
                    return Some(Ok(0));
                }
                if nonblocking {
                    return Some(Err(Error::new(EAGAIN)));
                }
                if thread.as_ref().is_some_and(|t| t.has_pending_work()) {
                    return Some(Err(Error::new(ERESTARTSYS)));
                }
                None
            },
            timeout,
        );
        r.unwrap_or(Ok(0))
    }
}

impl FileLike for Tty {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.read_as(buf, false)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if self.state.lock().termios.c_lflag & linux_raw_sys::general::TOSTOP != 0 {
            self.check_job_control(sig::SIGTTOU)?;
        }
        self.output(buf);
        Ok(buf.len())
    }

    fn poll(&self) -> super::poll::IoEvents {
        let s = self.state.lock();
        use super::poll::IoEvents;
        let mut ev = IoEvents::OUT | IoEvents::WRNORM;
        if !s.ready.is_empty() || s.eof {
            ev |= IoEvents::IN | IoEvents::RDNORM;
        }
        ev
    }

    fn metadata(&self) -> Metadata {
        // /dev/console: character device 5:1, group tty (5).
        Metadata {
            gid: 5,
            ..Metadata::anonymous(5, 5, InodeType::CharDevice, 0o620, (5 << 8) | 1)
        }
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        let vmar = crate::process::current_vmar()?;
        match cmd {
            TCGETS => {
                let t = self.state.lock().termios;
                vmar.write_val(arg, &t)?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                self.check_job_control(sig::SIGTTOU)?;
                let t: termios = vmar.read_val(arg)?;
                let mut s = self.state.lock();
                s.termios = t;
                if cmd == TCSETSF {
                    s.ready.clear();
                    s.line.clear();
                }
                if t.c_lflag & ICANON == 0 && !s.line.is_empty() {
                    let line = core::mem::take(&mut s.line);
                    s.ready.extend(line);
                }
            }
            TIOCGWINSZ => {
                let w = self.state.lock().winsize;
                vmar.write_val(arg, &w)?;
            }
            TIOCSWINSZ => {
                let w: winsize = vmar.read_val(arg)?;
                self.state.lock().winsize = w;
            }
            TIOCSCTTY => {
                let t = crate::process::current_thread()?;
                if !self.maybe_acquire(t.process(), arg == 1 && t.process().credentials().euid == 0)
                {
                    return_errno!(EPERM);
                }
            }
            TIOCNOTTY => {
                let t = crate::process::current_thread()?;
                let mut s = self.state.lock();
                if s.session != Some(t.process().sid()) {
                    return_errno!(ENOTTY);
                }
                if t.process().sid() == t.process().pid() {
                    s.session = None;
                    s.fg_pgid = None;
                }
            }
            TIOCGPGRP => {
                let t = crate::process::current_thread()?;
                let (session, fg) = {
                    let s = self.state.lock();
                    (s.session, s.fg_pgid)
                };
                if session != Some(t.process().sid()) {
                    return_errno!(ENOTTY);
                }
                vmar.write_val(arg, &(fg.unwrap_or(0) as i32))?;
            }
            TIOCSPGRP => {
                let t = crate::process::current_thread()?;
                let pgid: i32 = vmar.read_val(arg)?;
                if pgid < 0 {
                    return_errno!(EINVAL);
                }
                if self.state.lock().session != Some(t.process().sid()) {
                    return_errno!(ENOTTY);
                }
                self.check_job_control(sig::SIGTTOU)?;
                let in_session = crate::process::processes_in_group(pgid as u32)
                    .iter()
                    .any(|p| p.sid() == t.process().sid());
                if !in_session {
                    return_errno!(EPERM);
                }
                self.state.lock().fg_pgid = Some(pgid as u32);
            }
            TIOCGSID => {
                let t = crate::process::current_thread()?;
                let session = self.state.lock().session;
                match session {
                    Some(sid) if sid == t.process().sid() => vmar.write_val(arg, &(sid as i32))?,
                    _ => return_errno!(ENOTTY),
                }
            }
            // Output is written synchronously, so draining is immediate.
            linux_raw_sys::ioctl::TCSBRK | linux_raw_sys::ioctl::TCXONC => {}
            linux_raw_sys::ioctl::TCFLSH => match arg {
                // TCIFLUSH, TCIOFLUSH: discard typed input; TCOFLUSH: no
                // output is ever queued.
                0 | 2 => {
                    let mut s = self.state.lock();
                    s.ready.clear();
                    s.line.clear();
                }
                1 => {}
                _ => return_errno!(EINVAL),
            },
            linux_raw_sys::ioctl::FIONREAD => {
                let n = self.state.lock().ready.len() as i32;
                vmar.write_val(arg, &n)?;
            }
            _ => return_errno!(ENOTTY),
        }
        Ok(0)
    }

    fn status_flags(&self) -> u32 {
        linux_raw_sys::general::O_RDWR
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
