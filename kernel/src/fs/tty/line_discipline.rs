//! The line discipline: what a terminal does with the bytes typed on it
//! before a program reads them, and with the bytes a program writes before
//! they reach the screen (Linux's `n_tty`).
//!
//! Input: `ICRNL`; with `ISIG`, the `VINTR`, `VQUIT` and `VSUSP` characters
//! become signals; in canonical mode (`ICANON`) input is collected into
//! lines with erase (`VERASE`, backspace), kill (`VKILL`), word erase
//! (`VWERASE` with `IEXTEN`) and end of file (`VEOF`); with `ECHO` it is
//! echoed, control characters as `^X` with `ECHOCTL`. In non-canonical
//! mode bytes are readable as they come.
//! Output: `OPOST` with `ONLCR` turns `\n` into `\r\n`.
//!
//! This is pure state: the terminal ([`Tty`](super::Tty)) holds it under
//! its lock, sends the echo to its device and the signals to its
//! foreground process group.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use linux_raw_sys::general::{
    ECHO, ECHOCTL, ECHOE, ECHOK, ECHOKE, ICANON, ICRNL, IEXTEN, ISIG, IXON, NOFLSH, ONLCR, OPOST,
    VEOF, VERASE, VINTR, VKILL, VMIN, VQUIT, VSUSP, VTIME, VWERASE, termios,
};

use crate::prelude::{ENOMEM, Error, Result};
use crate::process::signal::{Signal, sig};

/// Bytes of input a terminal holds before writers to it wait (Linux's
/// `N_TTY_BUF_SIZE`); a canonical line longer than this loses its extra
/// characters, as on Linux.
pub const INPUT_LIMIT: usize = 4096;

/// The termios of a new terminal, as Linux's `tty_std_termios`: canonical
/// mode with echo and signals, `ICRNL`, `IXON`, `OPOST | ONLCR`, 38400 baud
/// 8-bit, and the usual control characters.
pub fn std_termios() -> termios {
    let mut t = console_termios();
    t.c_cc[linux_raw_sys::general::VSTART as usize] = 0x11;
    t.c_cc[linux_raw_sys::general::VSTOP as usize] = 0x13;
    t.c_cc[linux_raw_sys::general::VREPRINT as usize] = 0x12;
    t.c_cc[linux_raw_sys::general::VDISCARD as usize] = 0x0f;
    t.c_cc[linux_raw_sys::general::VLNEXT as usize] = 0x16;
    t
}

/// The console's initial termios: [`std_termios`] without the control
/// characters of features the console does not have (start/stop, reprint,
/// discard, literal next).
pub fn console_termios() -> termios {
    let mut cc = [0u8; 19];
    cc[VINTR as usize] = 3;
    cc[VQUIT as usize] = 0x1c;
    cc[VERASE as usize] = 0x7f;
    cc[VKILL as usize] = 0x15;
    cc[VEOF as usize] = 4;
    cc[VMIN as usize] = 1;
    cc[VSUSP as usize] = 0x1a;
    cc[VWERASE as usize] = 0x17;
    termios {
        c_iflag: ICRNL | IXON,
        c_oflag: OPOST | ONLCR,
        c_cflag: linux_raw_sys::general::B38400
            | linux_raw_sys::general::CS8
            | linux_raw_sys::general::CREAD,
        c_lflag: ICANON | ECHO | ECHOE | ECHOK | ISIG | IEXTEN | ECHOCTL | ECHOKE,
        c_line: 0,
        c_cc: cc,
    }
}

/// The input side of a terminal and its termios.
pub struct LineDiscipline {
    termios: termios,
    /// Bytes ready for `read`.
    ready: VecDeque<u8>,
    /// In canonical mode, the lengths of the lines in `ready`, in order; a
    /// line ended by `VEOF` has no newline, and an empty one is an end of
    /// file. Empty in non-canonical mode.
    lines: VecDeque<usize>,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
}

impl LineDiscipline {
    /// A line discipline with termios `t` and no input.
    pub fn new(t: termios) -> Self {
        Self {
            termios: t,
            ready: VecDeque::new(),
            lines: VecDeque::new(),
            line: Vec::new(),
        }
    }

    /// The termios.
    pub fn termios(&self) -> termios {
        self.termios
    }

    fn canonical(&self) -> bool {
        self.termios.c_lflag & ICANON != 0
    }

    /// Sets the termios (`TCSETS*`); `flush` discards pending input
    /// (`TCSETSF`). Leaving canonical mode makes the line being edited
    /// readable; entering it makes what is unread one line.
    pub fn set_termios(&mut self, t: termios, flush: bool) {
        let was_canonical = self.canonical();
        self.termios = t;
        if flush {
            self.flush_input();
        }
        match (was_canonical, self.canonical()) {
            (true, false) => {
                let line = core::mem::take(&mut self.line);
                if self.ready.try_reserve(line.len()).is_ok() {
                    self.ready.extend(line);
                }
                self.lines.clear();
            }
            (false, true) if !self.ready.is_empty() => {
                self.lines.clear();
                if self.lines.try_reserve(1).is_ok() {
                    self.lines.push_back(self.ready.len());
                } else {
                    self.ready.clear();
                }
            }
            _ => {}
        }
    }

    /// Discards all input (`TCIFLUSH`, a signal character).
    pub fn flush_input(&mut self) {
        self.ready.clear();
        self.lines.clear();
        self.line.clear();
    }

    /// Whether a read would return now (data, or an end of file).
    pub fn readable(&self) -> bool {
        if self.canonical() {
            !self.lines.is_empty()
        } else {
            !self.ready.is_empty()
        }
    }

    /// Whether `poll` reports input: as [`readable`](Self::readable), but
    /// in non-canonical mode with `VMIN` and no `VTIME`, only once `VMIN`
    /// bytes are there (Linux's `input_available_p`).
    pub fn poll_readable(&self) -> bool {
        let (vmin, vtime) = (
            self.termios.c_cc[VMIN as usize],
            self.termios.c_cc[VTIME as usize],
        );
        if self.canonical() || vtime != 0 || vmin == 0 {
            return self.readable();
        }
        self.ready.len() >= vmin as usize
    }

    /// Whether input is collected into lines (`ICANON`).
    pub fn is_canonical(&self) -> bool {
        self.canonical()
    }

    /// Bytes a read could take now (`FIONREAD`).
    pub fn readable_bytes(&self) -> usize {
        self.ready.len()
    }

    /// Whether more input can be taken now: a writer to the terminal waits
    /// while the unread input is at [`INPUT_LIMIT`]. A full canonical line
    /// with nothing readable does not block: its extra characters are
    /// dropped instead, so a reader and a writer never wait on each other.
    pub fn has_room(&self) -> bool {
        self.ready.len() + self.line.len() < INPUT_LIMIT || self.ready.is_empty()
    }

    /// Reads into `buf`: in canonical mode at most one line; `0` for an
    /// end of file. Call only when [`readable`](Self::readable).
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let limit = if self.canonical() {
            match self.lines.front() {
                Some(0) => {
                    self.lines.pop_front();
                    return 0;
                }
                Some(&n) => n.min(buf.len()),
                None => 0,
            }
        } else {
            buf.len()
        };
        let mut n = 0;
        while n < limit {
            let Some(b) = self.ready.pop_front() else {
                break;
            };
            buf[n] = b;
            n += 1;
        }
        if let Some(front) = self.lines.front_mut() {
            *front -= n;
            if *front == 0 {
                self.lines.pop_front();
            }
        }
        n
    }

    /// Takes one input byte; appends what to echo to `echo` and returns
    /// the signal it stands for, if any: the caller sends it to the
    /// foreground process group and, unless [`flushes_on_signal`] is
    /// false, discards the output not yet delivered (input and the echo
    /// so far have been discarded here).
    ///
    /// [`flushes_on_signal`]: Self::flushes_on_signal
    pub fn receive(&mut self, mut b: u8, echo: &mut Vec<u8>) -> Option<Signal> {
        let t = self.termios;
        let lflag = t.c_lflag;
        let cc = t.c_cc;
        let echoing = lflag & ECHO != 0;
        if t.c_iflag & ICRNL != 0 && b == b'\r' {
            b = b'\n';
        }
        let is_signal = [VINTR, VQUIT, VSUSP].iter().any(|&c| cc[c as usize] == b);
        if lflag & ISIG != 0 && b != 0 && is_signal {
            let signal = if b == cc[VINTR as usize] {
                sig::SIGINT
            } else if b == cc[VQUIT as usize] {
                sig::SIGQUIT
            } else {
                sig::SIGTSTP
            };
            // Like n_tty: unless NOFLSH, flush pending input (the caller
            // flushes pending output: echo so far included) and echo the
            // character.
            if lflag & NOFLSH == 0 {
                self.flush_input();
                echo.clear();
            }
            if echoing {
                self.echo_char(b, echo);
            }
            return Some(signal);
        }
        if !self.canonical() {
            if self.ready.len() < INPUT_LIMIT && self.ready.try_reserve(1).is_ok() {
                self.ready.push_back(b);
            }
            if echoing {
                self.echo_char(b, echo);
            }
            return None;
        }
        // Erasing a character takes back the columns its echo took.
        let erase = |this: &Self, erased: &[u8], echo: &mut Vec<u8>| {
            if echoing {
                for &c in erased {
                    for _ in 0..this.echo_width(c) {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                }
            }
        };
        if b == cc[VERASE as usize] || b == 0x08 {
            if let Some(c) = self.line.pop() {
                erase(self, &[c], echo);
            }
        } else if b == cc[VKILL as usize] {
            let line = core::mem::take(&mut self.line);
            erase(self, &line, echo);
        } else if b == cc[VWERASE as usize] && lflag & IEXTEN != 0 {
            // Word erase: trailing blanks, then the word before them.
            let mut n = self.line.len();
            while n > 0 && (self.line[n - 1] == b' ' || self.line[n - 1] == b'\t') {
                n -= 1;
            }
            while n > 0 && self.line[n - 1] != b' ' && self.line[n - 1] != b'\t' {
                n -= 1;
            }
            let word = self.line.split_off(n);
            erase(self, &word, echo);
        } else if b == cc[VEOF as usize] {
            self.end_line();
        } else if b == b'\n' {
            if self.line.try_reserve(1).is_ok() {
                self.line.push(b);
            }
            if echoing && echo.try_reserve(1).is_ok() {
                echo.push(b);
            }
            self.end_line();
        } else if self.line.len() < INPUT_LIMIT - 1 && self.line.try_reserve(1).is_ok() {
            self.line.push(b);
            if echoing {
                self.echo_char(b, echo);
            }
        }
        None
    }

    /// Whether `c` echoes as `^X` (`ECHOCTL`: control characters but tab;
    /// a canonical newline is echoed as itself before it gets here).
    fn echoes_as_caret(&self, c: u8) -> bool {
        self.termios.c_lflag & ECHOCTL != 0 && (c < 0x20 || c == 0x7f) && c != b'\t'
    }

    /// Echoes input character `c`, as n_tty's `echo_char` (dropped when
    /// memory is short).
    fn echo_char(&self, c: u8, echo: &mut Vec<u8>) {
        if echo.try_reserve(2).is_err() {
            return;
        }
        if self.echoes_as_caret(c) {
            echo.extend_from_slice(&[b'^', c ^ 0x40]);
        } else {
            echo.push(c);
        }
    }

    /// The columns the echo of `c` took.
    fn echo_width(&self, c: u8) -> usize {
        if self.echoes_as_caret(c) { 2 } else { 1 }
    }

    /// Whether a signal character flushes the queues (no `NOFLSH`).
    pub fn flushes_on_signal(&self) -> bool {
        self.termios.c_lflag & NOFLSH == 0
    }

    /// Makes the edited line readable as one line (or loses it when
    /// memory is short).
    fn end_line(&mut self) {
        let line = core::mem::take(&mut self.line);
        if self.lines.try_reserve(1).is_ok() && self.ready.try_reserve(line.len()).is_ok() {
            self.lines.push_back(line.len());
            self.ready.extend(line);
        }
    }

    /// Output processing: `buf` as it goes to the device; `ENOMEM` when
    /// memory is short.
    pub fn process_output(&self, buf: &[u8], out: &mut Vec<u8>) -> Result<()> {
        out.try_reserve(buf.len() * 2)
            .map_err(|_| Error::new(ENOMEM))?;
        let o = self.termios.c_oflag;
        if o & OPOST == 0 || o & ONLCR == 0 {
            out.extend_from_slice(buf);
            return Ok(());
        }
        for &b in buf {
            if b == b'\n' {
                out.push(b'\r');
            }
            out.push(b);
        }
        Ok(())
    }
}

#[cfg(feature = "ktest")]
mod test {
    use alloc::vec::Vec;

    use ostd::prelude::ktest;

    use super::*;

    fn feed(ld: &mut LineDiscipline, bytes: &[u8]) -> Vec<u8> {
        let mut echo = Vec::new();
        for &b in bytes {
            ld.receive(b, &mut echo);
        }
        echo
    }

    #[ktest]
    fn canonical_lines_and_editing() {
        let mut ld = LineDiscipline::new(std_termios());
        let echo = feed(&mut ld, b"ab\x7fc");
        assert_eq!(echo, b"ab\x08 \x08c");
        assert!(!ld.readable());
        feed(&mut ld, b"\rtwo\n");
        let mut buf = [0u8; 16];
        assert_eq!(ld.read(&mut buf), 3);
        assert_eq!(&buf[..3], b"ac\n");
        assert_eq!(ld.read(&mut buf[..2]), 2);
        assert_eq!(ld.read(&mut buf), 2);
        assert_eq!(&buf[..2], b"o\n");
        feed(&mut ld, b"par\x04\x04");
        assert_eq!(ld.read(&mut buf), 3);
        assert!(ld.readable());
        assert_eq!(ld.read(&mut buf), 0);
        assert!(!ld.readable());
        feed(&mut ld, b"one two\x17\x15x");
        assert_eq!(ld.line, b"x");
        // ECHOCTL: a control character echoes as ^A and erases as two.
        assert_eq!(feed(&mut ld, b"\x01\x7f"), b"^A\x08 \x08\x08 \x08");
    }

    #[ktest]
    fn signals_raw_mode_and_output() {
        let mut ld = LineDiscipline::new(std_termios());
        let mut echo = Vec::new();
        feed(&mut ld, b"abc");
        assert_eq!(ld.receive(3, &mut echo), Some(sig::SIGINT));
        assert_eq!(echo, b"^C");
        assert!(ld.line.is_empty());
        let mut t = std_termios();
        t.c_lflag &= !(ICANON | ECHO);
        feed(&mut ld, b"xy");
        ld.set_termios(t, false);
        assert!(ld.readable() && ld.readable_bytes() == 2);
        ld.set_termios(std_termios(), false);
        assert!(ld.readable());
        let mut buf = [0u8; 4];
        assert_eq!(ld.read(&mut buf), 2);
        ld.set_termios(t, false);
        assert_eq!(feed(&mut ld, b"pq"), b"");
        assert_eq!(ld.readable_bytes(), 2);
        let mut out = Vec::new();
        ld.process_output(b"a\nb", &mut out).unwrap();
        assert_eq!(out, b"a\r\nb");
    }
}
