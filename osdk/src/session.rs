//! `osdk session`: boots the kernel with the console on pipes and drives it
//! like a person at a keyboard, following a script of `expect`, `send`,
//! `type`, `key`, `sleep` and `expect-exit` steps.
//!
//! Script syntax (one step a line; blank lines and lines starting with `#`
//! are ignored):
//!
//! ```text
//! expect TEXT          wait (30 s) for TEXT in the output since the last match
//! expect@60 TEXT       the same with a timeout of 60 s
//! send TEXT            type TEXT, then Enter (`\r`)
//! type TEXT            type TEXT without Enter
//! key NAME...          control keys: C-c, C-z, C-d, C-\, Esc, Enter, Tab,
//!                      Backspace, Up, Down, Right, Left, Home, End, Delete
//! sleep MS             pause
//! expect-exit CODE     wait (30 s; `expect-exit@SECS`) for QEMU to end and
//!                      check the guest's `exit N` status
//! ```
//!
//! TEXT may be put in double quotes to make leading or trailing spaces
//! visible, and knows the escapes `\\`, `\"`, `\n`, `\r`, `\t`, `\e` (ESC)
//! and `\xNN`. Before matching, ANSI escape sequences, `\r` and other
//! control characters but `\n` and `\t` are removed from the output.

use std::collections::VecDeque;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::cli::SessionArgs;
use crate::commands::{self, Prepared};
use crate::qemu::{Console, QemuConfig};
use crate::runner;
use crate::status::{self, NO_REPORT_STATUS, Outcome, QemuEnd};

/// Default timeout of `expect` and `expect-exit`.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after each typed byte, so that the guest's 16-byte UART FIFO never
/// overflows.
const TYPE_DELAY: Duration = Duration::from_millis(2);
/// How much of the output a failure report shows.
const TAIL: usize = 2048;
/// How long QEMU gets to exit after its output has ended.
const ENDING: Duration = Duration::from_secs(5);
/// Exit status for a script that cannot be read or parsed.
const BAD_SCRIPT: u8 = 2;
/// The size of the screen the driver pretends to have (the guest console's
/// default window size).
const SCREEN_ROWS: u16 = 24;
const SCREEN_COLS: u16 = 80;

/// One step of a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Wait until the text appears.
    Expect { text: Vec<u8>, timeout: Duration },
    /// Type the bytes (already including the Enter of `send`).
    Type(Vec<u8>),
    /// Do nothing for a while.
    Sleep(Duration),
    /// Wait for the machine to end with this status.
    ExpectExit { code: u8, timeout: Duration },
}

/// A step and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based line number in the script.
    pub line: usize,
    /// The line as written (for messages).
    pub source: String,
    /// What to do.
    pub action: Action,
}

impl Step {
    /// Whether the step checks something (counts in the summary).
    fn is_check(&self) -> bool {
        matches!(
            self.action,
            Action::Expect { .. } | Action::ExpectExit { .. }
        )
    }
}

/// Parses a whole script. Every bad line is reported as `(line, message)`.
pub fn parse_script(text: &str) -> Result<Vec<Step>, Vec<(usize, String)>> {
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_step(trimmed) {
            Ok(action) => steps.push(Step {
                line: i + 1,
                source: trimmed.trim_end().to_string(),
                action,
            }),
            Err(e) => errors.push((i + 1, e)),
        }
    }
    if errors.is_empty() {
        Ok(steps)
    } else {
        Err(errors)
    }
}

/// Parses one non-blank, non-comment line (leading blanks removed).
fn parse_step(line: &str) -> Result<Action, String> {
    let word_end = line.find([' ', '\t']).unwrap_or(line.len());
    let (word, rest) = line.split_at(word_end);
    // Exactly one separator; the rest is the argument as written.
    let arg = rest
        .strip_prefix(' ')
        .or_else(|| rest.strip_prefix('\t'))
        .unwrap_or(rest);
    let (command, timeout) = match word.split_once('@') {
        Some((command, secs)) => {
            let secs: f64 = secs
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s > 0.0)
                .ok_or_else(|| format!("`@{secs}` is not a positive number of seconds"))?;
            (command, Some(Duration::from_secs_f64(secs)))
        }
        None => (word, None),
    };
    if timeout.is_some() && !matches!(command, "expect" | "expect-exit") {
        return Err(format!("`{command}` takes no @timeout"));
    }
    let timeout = timeout.unwrap_or(STEP_TIMEOUT);
    match command {
        "expect" => {
            let text = unescape(arg)?;
            if text.is_empty() {
                return Err("expect needs a text".into());
            }
            Ok(Action::Expect { text, timeout })
        }
        "send" => {
            let mut text = unescape(arg)?;
            text.push(b'\r');
            Ok(Action::Type(text))
        }
        "type" => {
            let text = unescape(arg)?;
            if text.is_empty() {
                return Err("type needs a text".into());
            }
            Ok(Action::Type(text))
        }
        "key" => {
            let mut bytes = Vec::new();
            for name in arg.split_whitespace() {
                bytes.extend(key(name).ok_or_else(|| format!("unknown key `{name}`"))?);
            }
            if bytes.is_empty() {
                return Err("key needs a key name such as C-c or Esc".into());
            }
            Ok(Action::Type(bytes))
        }
        "sleep" => {
            let ms: u64 = arg
                .trim()
                .parse()
                .map_err(|_| format!("sleep takes milliseconds, not `{}`", arg.trim()))?;
            Ok(Action::Sleep(Duration::from_millis(ms)))
        }
        "expect-exit" => {
            let code: u8 = arg
                .trim()
                .parse()
                .map_err(|_| format!("expect-exit takes a status 0-255, not `{}`", arg.trim()))?;
            Ok(Action::ExpectExit { code, timeout })
        }
        "" => Err("missing command".into()),
        other => Err(format!(
            "unknown command `{other}` (expect, send, type, key, sleep, expect-exit)"
        )),
    }
}

/// The bytes a key name stands for.
fn key(name: &str) -> Option<Vec<u8>> {
    let bytes: &[u8] = match name.to_ascii_lowercase().as_str() {
        "esc" | "escape" => b"\x1b",
        "enter" | "return" => b"\r",
        "tab" => b"\t",
        "backspace" | "bs" => b"\x7f",
        "space" => b" ",
        "up" => b"\x1b[A",
        "down" => b"\x1b[B",
        "right" => b"\x1b[C",
        "left" => b"\x1b[D",
        "home" => b"\x1b[H",
        "end" => b"\x1b[F",
        "delete" | "del" => b"\x1b[3~",
        _ => {
            let c = name
                .strip_prefix("C-")
                .or_else(|| name.strip_prefix("c-"))?;
            let &[c] = c.as_bytes() else {
                return None;
            };
            let code = match c.to_ascii_uppercase() {
                c @ b'@'..=b'_' => c & 0x1f,
                b'?' => 0x7f,
                _ => return None,
            };
            return Some(vec![code]);
        }
    };
    Some(bytes.to_vec())
}

/// Removes one pair of enclosing double quotes and decodes the escapes.
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let text = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner,
        None => text,
    };
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('\\') => out.push(b'\\'),
            Some('"') => out.push(b'"'),
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('e') => out.push(0x1b),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = (hex.len() == 2)
                    .then(|| u8::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| format!("`\\x{hex}` needs two hex digits"))?;
                out.push(byte);
            }
            Some(other) => {
                return Err(format!(
                    "unknown escape `\\{other}` (write `\\\\` for a backslash)"
                ));
            }
            None => return Err("a lone `\\` ends the text (write `\\\\`)".into()),
        }
    }
    Ok(out)
}

/// Removes ANSI escape sequences, `\r` and control characters other than
/// `\n` and `\t` from a byte stream. Sequences may be split across chunks.
#[derive(Debug, Default)]
pub struct Cleaner {
    state: CleanState,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum CleanState {
    #[default]
    Text,
    /// After ESC.
    Esc,
    /// After ESC and intermediate bytes (e.g. `ESC ( B`).
    EscIntermediate,
    /// In a control sequence `ESC [ ...`.
    Csi,
    /// In a string `ESC ] ...`, `ESC P ...` etc., ended by BEL or `ESC \`.
    Str,
    /// ESC seen inside a string.
    StrEsc,
}

impl Cleaner {
    /// Appends the visible text of `input` to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        use CleanState::*;
        for &b in input {
            self.state = match (self.state, b) {
                (Text, 0x1b) => Esc,
                (Text, b'\n' | b'\t') => {
                    out.push(b);
                    Text
                }
                (Text, 0..=0x1f | 0x7f) => Text,
                (Text, _) => {
                    out.push(b);
                    Text
                }
                (Esc, b'[') => Csi,
                (Esc, b']' | b'P' | b'X' | b'^' | b'_') => Str,
                (Esc | EscIntermediate, 0x20..=0x2f) => EscIntermediate,
                (Esc | EscIntermediate, 0x1b) => Esc,
                (Esc | EscIntermediate, _) => Text,
                (Csi, 0x40..=0x7e) => Text,
                (Csi, 0x1b) => Esc,
                (Csi, _) => Csi,
                (Str, 0x07) => Text,
                (Str, 0x1b) => StrEsc,
                (Str, _) => Str,
                (StrEsc, b'\\') => Text,
                (StrEsc, _) => Str,
            };
        }
    }
}

/// The cleaned output since the last match, and the search for the text of
/// an `expect`.
#[derive(Debug, Default)]
pub struct Matcher {
    cleaner: Cleaner,
    /// Cleaned text received since the previous match.
    pending: Vec<u8>,
}

impl Matcher {
    /// Adds raw console output.
    pub fn feed(&mut self, raw: &[u8]) {
        self.cleaner.feed(raw, &mut self.pending);
    }

    /// If `text` occurs in the pending output, drops the output up to the
    /// end of its first occurrence and returns true.
    pub fn take_match(&mut self, text: &[u8]) -> bool {
        match find(&self.pending, text) {
            Some(at) => {
                self.pending.drain(..at + text.len());
                true
            }
            None => false,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Follows the cursor well enough to answer the guest's cursor position
/// queries (`ESC [ 6 n`), which busybox's line editing sends at every
/// prompt and vi may send to learn the screen size.
#[derive(Debug)]
pub struct Cursor {
    row: u16,
    /// Column; `SCREEN_COLS` means "past the last column, wrap pending".
    col: u16,
    saved: (u16, u16),
    state: CursorState,
    params: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CursorState {
    Text,
    Esc,
    Csi,
    Str,
}

impl Default for Cursor {
    fn default() -> Self {
        Cursor {
            row: 0,
            col: 0,
            saved: (0, 0),
            state: CursorState::Text,
            params: Vec::new(),
        }
    }
}

impl Cursor {
    /// Processes output; returns the replies the terminal owes the guest.
    pub fn feed(&mut self, input: &[u8]) -> Vec<u8> {
        let mut replies = Vec::new();
        for &b in input {
            match self.state {
                CursorState::Text => self.text(b),
                CursorState::Esc => {
                    self.state = CursorState::Text;
                    match b {
                        b'[' => {
                            self.params.clear();
                            self.state = CursorState::Csi;
                        }
                        b']' | b'P' | b'X' | b'^' | b'_' => self.state = CursorState::Str,
                        b'7' => self.saved = (self.row, self.col),
                        b'8' => (self.row, self.col) = self.saved,
                        0x20..=0x2f => self.state = CursorState::Esc,
                        _ => {}
                    }
                }
                CursorState::Csi => match b {
                    0x40..=0x7e => {
                        self.state = CursorState::Text;
                        self.csi(b, &mut replies);
                    }
                    0x1b => self.state = CursorState::Esc,
                    _ => self.params.push(b),
                },
                CursorState::Str => {
                    if b == 0x07 || b == 0x1b {
                        self.state = CursorState::Text;
                    }
                }
            }
        }
        replies
    }

    fn text(&mut self, b: u8) {
        match b {
            0x1b => self.state = CursorState::Esc,
            b'\r' => self.col = 0,
            b'\n' => self.row = (self.row + 1).min(SCREEN_ROWS - 1),
            0x08 => self.col = self.col.min(SCREEN_COLS - 1).saturating_sub(1),
            b'\t' => self.col = ((self.col / 8 + 1) * 8).min(SCREEN_COLS - 1),
            0..=0x1f | 0x7f => {}
            // UTF-8 continuation bytes do not move the cursor.
            0x80..=0xbf => {}
            _ => {
                if self.col >= SCREEN_COLS {
                    self.col = 0;
                    self.row = (self.row + 1).min(SCREEN_ROWS - 1);
                }
                self.col += 1;
            }
        }
    }

    fn csi(&mut self, fin: u8, replies: &mut Vec<u8>) {
        let text = String::from_utf8_lossy(&self.params);
        if text.starts_with(['?', '>', '<', '=']) {
            return;
        }
        let nums: Vec<u16> = text
            .split(';')
            .map(|p| p.parse::<u16>().unwrap_or(0))
            .collect();
        let arg = |i: usize| nums.get(i).copied().filter(|n| *n > 0).unwrap_or(1);
        let (max_row, max_col) = (SCREEN_ROWS - 1, SCREEN_COLS - 1);
        match fin {
            b'H' | b'f' => {
                self.row = (arg(0) - 1).min(max_row);
                self.col = (arg(1) - 1).min(max_col);
            }
            b'A' => self.row = self.row.saturating_sub(arg(0)),
            b'B' => self.row = self.row.saturating_add(arg(0)).min(max_row),
            b'C' => self.col = self.col.saturating_add(arg(0)).min(max_col),
            b'D' => self.col = self.col.min(max_col).saturating_sub(arg(0)),
            b'G' => self.col = (arg(0) - 1).min(max_col),
            b'd' => self.row = (arg(0) - 1).min(max_row),
            b's' => self.saved = (self.row, self.col),
            b'u' => (self.row, self.col) = self.saved,
            b'n' if text == "6" => {
                let col = self.col.min(max_col);
                replies.extend(format!("\x1b[{};{}R", self.row + 1, col + 1).bytes());
            }
            _ => {}
        }
    }
}

/// Why a step failed.
#[derive(Debug)]
enum Failure {
    /// The text was not seen in time.
    Timeout { overall: bool },
    /// QEMU ended while the step waited; how the guest ended.
    Ended(Outcome),
    /// The guest ended with another status.
    WrongExit(Outcome),
    /// Typing failed.
    Write(io::Error),
}

/// A running QEMU whose console is driven through pipes.
struct Machine {
    child: Child,
    input: Arc<Mutex<Option<ChildStdin>>>,
    chunks: Receiver<Vec<u8>>,
    reader: Option<JoinHandle<()>>,
    matcher: Matcher,
    /// The last bytes of raw output, for failure reports.
    tail: VecDeque<u8>,
    /// The console output has ended.
    eof: bool,
    status_file: std::path::PathBuf,
    /// With the output echoed: whether the echo stopped in the middle of a
    /// line (the lock also keeps notes and echo apart).
    echo: Option<Arc<Mutex<bool>>>,
}

impl Machine {
    /// Starts QEMU with both ends of the console piped.
    fn start(
        program: &std::ffi::OsStr,
        config: &QemuConfig,
        echo: bool,
        log: Option<&Path>,
    ) -> Result<Machine, String> {
        let status_file = config.status_file.clone();
        match fs::remove_file(&status_file) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", status_file.display())),
        }
        let mut log = match log {
            Some(path) => {
                Some(fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?)
            }
            None => None,
        };
        let mut child = Command::new(program)
            .args(config.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    format!("{} not found; install QEMU", program.to_string_lossy())
                } else {
                    format!("cannot start {}: {e}", program.to_string_lossy())
                }
            })?;
        let input = Arc::new(Mutex::new(child.stdin.take()));
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let (sender, chunks) = mpsc::channel();
        let answer = Arc::clone(&input);
        let echo = echo.then(|| Arc::new(Mutex::new(false)));
        let echo_state = echo.clone();
        let reader = thread::spawn(move || {
            let mut cursor = Cursor::default();
            let mut buf = [0u8; 4096];
            loop {
                let n = match stdout.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let chunk = &buf[..n];
                let replies = cursor.feed(chunk);
                if !replies.is_empty()
                    && let Some(stdin) = answer.lock().unwrap_or_else(|e| e.into_inner()).as_mut()
                {
                    let _ = stdin.write_all(&replies).and_then(|()| stdin.flush());
                }
                if let Some(mid_line) = &echo_state {
                    let mut mid_line = mid_line.lock().unwrap_or_else(|e| e.into_inner());
                    let mut out = io::stdout().lock();
                    let _ = out.write_all(chunk).and_then(|()| out.flush());
                    *mid_line = !chunk.ends_with(b"\n");
                }
                if let Some(file) = log.as_mut()
                    && file.write_all(chunk).is_err()
                {
                    eprintln!("osdk: warning: cannot write the console log; stopped logging");
                    log = None;
                }
                if sender.send(chunk.to_vec()).is_err() {
                    break;
                }
            }
        });
        Ok(Machine {
            child,
            input,
            chunks,
            reader: Some(reader),
            matcher: Matcher::default(),
            tail: VecDeque::with_capacity(TAIL),
            eof: false,
            status_file,
            echo,
        })
    }

    /// Prints a line on stdout, after a line break if the echo of the
    /// output stopped in the middle of a line.
    fn note(&self, message: &str) {
        let mut mid_line = self
            .echo
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
        let mut out = io::stdout().lock();
        let newline = if mid_line.as_deref() == Some(&true) {
            "\n"
        } else {
            ""
        };
        let _ = writeln!(out, "{newline}{message}").and_then(|()| out.flush());
        if let Some(mid_line) = mid_line.as_deref_mut() {
            *mid_line = false;
        }
    }

    fn take_chunk(&mut self, chunk: &[u8]) {
        self.matcher.feed(chunk);
        self.tail.extend(chunk);
        let excess = self.tail.len().saturating_sub(TAIL);
        self.tail.drain(..excess);
    }

    /// Waits for output until `deadline`; false when nothing more will come.
    fn receive(&mut self, deadline: Instant) -> bool {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.chunks.recv_timeout(wait) {
            Ok(chunk) => {
                self.take_chunk(&chunk);
                // Take whatever else is already there.
                while let Ok(chunk) = self.chunks.try_recv() {
                    self.take_chunk(&chunk);
                }
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                false
            }
        }
    }

    fn expect(&mut self, text: &[u8], deadline: Instant, overall: Instant) -> Result<(), Failure> {
        loop {
            if self.matcher.take_match(text) {
                return Ok(());
            }
            if self.eof {
                return Err(Failure::Ended(self.outcome(Instant::now() + ENDING)));
            }
            let now = Instant::now();
            if now >= deadline.min(overall) {
                return Err(Failure::Timeout {
                    overall: overall <= deadline,
                });
            }
            self.receive(deadline.min(overall));
        }
    }

    fn type_bytes(&mut self, bytes: &[u8], overall: Instant) -> Result<(), Failure> {
        for &b in bytes {
            if Instant::now() >= overall {
                return Err(Failure::Timeout { overall: true });
            }
            {
                let mut guard = self.input.lock().unwrap_or_else(|e| e.into_inner());
                let stdin = guard.as_mut().ok_or_else(|| {
                    Failure::Write(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
                })?;
                stdin
                    .write_all(&[b])
                    .and_then(|()| stdin.flush())
                    .map_err(Failure::Write)?;
            }
            thread::sleep(TYPE_DELAY);
        }
        // Keep the matcher fed while typing long texts.
        while let Ok(chunk) = self.chunks.try_recv() {
            self.take_chunk(&chunk);
        }
        Ok(())
    }

    fn pause(&mut self, duration: Duration, overall: Instant) -> Result<(), Failure> {
        let until = Instant::now() + duration;
        while Instant::now() < until.min(overall) {
            if !self.receive(until.min(overall)) {
                // The output has ended; nothing more to collect.
                thread::sleep(until.min(overall).saturating_duration_since(Instant::now()));
            }
        }
        if until > overall {
            return Err(Failure::Timeout { overall: true });
        }
        Ok(())
    }

    fn expect_exit(
        &mut self,
        code: u8,
        deadline: Instant,
        overall: Instant,
    ) -> Result<(), Failure> {
        let limit = deadline.min(overall);
        while !self.eof && Instant::now() < limit {
            self.receive(limit);
        }
        match self.outcome(limit) {
            Outcome::Exit(n) if n == code => Ok(()),
            Outcome::Timeout => Err(Failure::Timeout {
                overall: overall <= deadline,
            }),
            outcome => Err(Failure::WrongExit(outcome)),
        }
    }

    /// Waits until `limit` for QEMU to exit and decodes how the guest
    /// ended; `Outcome::Timeout` if QEMU is still running.
    fn outcome(&mut self, limit: Instant) -> Outcome {
        let end = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break QemuEnd::Exited(status.code()),
                Ok(None) if Instant::now() < limit => thread::sleep(Duration::from_millis(20)),
                Ok(None) => return Outcome::Timeout,
                Err(_) => break QemuEnd::Exited(None),
            }
        };
        let report = fs::read(&self.status_file)
            .ok()
            .and_then(|bytes| status::parse_status_file(&String::from_utf8_lossy(&bytes)));
        status::outcome(report, end)
    }

    /// Stops QEMU if it still runs and waits for the reader.
    fn finish(mut self) {
        self.input.lock().unwrap_or_else(|e| e.into_inner()).take();
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            runner::stop(&mut self.child);
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let _ = fs::remove_file(&self.status_file);
    }

    /// The tail of the output, with escapes made visible.
    fn tail_text(&self) -> String {
        let bytes: Vec<u8> = self.tail.iter().copied().collect();
        visible(&bytes)
    }
}

/// Shows output for a report: `\r` dropped, ESC as `^[`, other control
/// characters but newline and tab as `^X`.
fn visible(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' => {}
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\x7f' => out.push_str("^?"),
            c => out.push(c),
        }
    }
    out
}

/// A short, printable form of a text for messages.
fn quoted(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

/// Runs the script against a machine already started. Returns the number
/// of checks passed and, if a step failed, its index and why.
fn drive(
    machine: &mut Machine,
    steps: &[Step],
    overall: Instant,
) -> (usize, Option<(usize, Failure)>) {
    let mut checks = 0;
    for (i, step) in steps.iter().enumerate() {
        let started = Instant::now();
        let result = match &step.action {
            Action::Expect { text, timeout } => machine.expect(text, started + *timeout, overall),
            Action::Type(bytes) => machine.type_bytes(bytes, overall),
            Action::Sleep(duration) => machine.pause(*duration, overall),
            Action::ExpectExit { code, timeout } => {
                machine.expect_exit(*code, started + *timeout, overall)
            }
        };
        if let Err(failure) = result {
            return (checks, Some((i, failure)));
        }
        if step.is_check() {
            checks += 1;
            machine.note(&format!(
                "session: line {}: ok ({:.1} s): {}",
                step.line,
                started.elapsed().as_secs_f64(),
                step.source
            ));
        }
    }
    (checks, None)
}

/// Describes a failed step.
fn describe(step: &Step, failure: &Failure, timeout_secs: u64) -> String {
    let what = match &step.action {
        Action::Expect { text, timeout } => {
            format!(
                "expected {} within {} s",
                quoted(text),
                timeout.as_secs_f64()
            )
        }
        Action::ExpectExit { code, timeout } => format!(
            "expected the guest to exit with status {code} within {} s",
            timeout.as_secs_f64()
        ),
        Action::Type(bytes) => format!("typing {}", quoted(bytes)),
        Action::Sleep(d) => format!("sleeping {} ms", d.as_millis()),
    };
    let why = match failure {
        Failure::Timeout { overall: true } => {
            format!("the session timeout ({timeout_secs} s) passed")
        }
        Failure::Timeout { overall: false } => "not seen in time".to_string(),
        Failure::Ended(outcome) => format!("QEMU ended first ({})", ending(*outcome)),
        Failure::WrongExit(outcome) => ending(*outcome),
        Failure::Write(e) => format!("cannot write to the console: {e}"),
    };
    format!(
        "session: line {}: `{}` failed: {what}; {why}",
        step.line, step.source
    )
}

/// How the guest ended, in words.
fn ending(outcome: Outcome) -> String {
    match outcome {
        Outcome::Exit(n) => format!("the guest exited with status {n}"),
        Outcome::Panic => "the guest kernel panicked".to_string(),
        Outcome::Timeout => "QEMU did not exit".to_string(),
        Outcome::NoReport => "QEMU ended without a report from the guest".to_string(),
    }
}

/// `osdk session`: returns the exit status.
pub fn run(args: &SessionArgs) -> Result<u8, String> {
    let text = match fs::read_to_string(&args.script) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("osdk: error: {}: {e}", args.script.display());
            return Ok(BAD_SCRIPT);
        }
    };
    let steps = match parse_script(&text) {
        Ok(steps) if steps.is_empty() => {
            eprintln!("osdk: error: {}: no steps", args.script.display());
            return Ok(BAD_SCRIPT);
        }
        Ok(steps) => steps,
        Err(errors) => {
            for (line, message) in errors {
                eprintln!("osdk: error: {}:{line}: {message}", args.script.display());
            }
            return Ok(BAD_SCRIPT);
        }
    };
    let prepared = match Prepared::new(&args.run) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("osdk: error: {e}");
            return Ok(NO_REPORT_STATUS);
        }
    };
    let log = match &args.run.log {
        Some(path) => {
            Some(std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let config = prepared.qemu_config(&args.run, args.run.cmdline.clone(), Console::Pipe);
    let timeout_secs = args.run.timeout.unwrap_or(commands::RUN_TIMEOUT);
    eprintln!(
        "osdk: booting {} ({}{}) for {}",
        prepared.kernel.display(),
        prepared.accel.name(),
        if prepared.initrd.is_some() {
            ", with initramfs"
        } else {
            ""
        },
        args.script.display()
    );
    let program = std::env::var_os("OSDK_QEMU")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| runner::QEMU.into());
    let mut machine = match Machine::start(&program, &config, args.verbose, log.as_deref()) {
        Ok(machine) => machine,
        Err(e) => {
            eprintln!("osdk: error: {e}");
            return Ok(NO_REPORT_STATUS);
        }
    };
    Ok(finish(
        machine_run(&mut machine, &steps, timeout_secs),
        machine,
    ))
}

/// The outcome of driving a machine.
struct Driven {
    steps: usize,
    checks: usize,
    failure: Option<String>,
}

fn machine_run(machine: &mut Machine, steps: &[Step], timeout_secs: u64) -> Driven {
    // Far enough in the future to mean "never" without overflowing.
    let never = Duration::from_secs(100 * 365 * 24 * 3600);
    let overall = Instant::now() + commands::timeout(timeout_secs).unwrap_or(never);
    let (checks, failure) = drive(machine, steps, overall);
    Driven {
        steps: failure.as_ref().map_or(steps.len(), |(i, _)| *i),
        checks,
        failure: failure.map(|(i, f)| describe(&steps[i], &f, timeout_secs)),
    }
}

/// Reports and stops the machine; returns the exit status.
fn finish(driven: Driven, mut machine: Machine) -> u8 {
    let status = match &driven.failure {
        None => {
            machine.note(&format!(
                "session: {} steps passed\n{} passed, 0 failed",
                driven.steps, driven.checks
            ));
            0
        }
        Some(message) => {
            // Collect what is already there so that the tail is current.
            while let Ok(chunk) = machine.chunks.try_recv() {
                machine.take_chunk(&chunk);
            }
            let tail = machine.tail_text();
            let newline = if tail.ends_with('\n') { "" } else { "\n" };
            machine.note(&format!(
                "{message}\n--- last {TAIL} bytes of output ---\n{tail}{newline}\
                 --- end of output ---\n{} passed, 1 failed",
                driven.checks
            ));
            1
        }
    };
    machine.finish();
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qemu::Accel;
    use crate::testutil::TempDir;
    use std::os::unix::fs::PermissionsExt;

    fn expect(text: &str, secs: u64) -> Action {
        Action::Expect {
            text: text.as_bytes().to_vec(),
            timeout: Duration::from_secs(secs),
        }
    }

    fn actions(script: &str) -> Vec<Action> {
        parse_script(script)
            .unwrap()
            .into_iter()
            .map(|s| s.action)
            .collect()
    }

    #[test]
    fn parses_every_command() {
        let script = "\
# a comment
   # an indented comment

expect ~ # \r
expect@60 \"~ # \"
expect@0.5 done
send echo hi | wc -c
send
type abc
key C-c C-z C-d C-\\ Esc Enter Backspace Up
sleep 250
expect-exit 3
expect-exit@5 0
";
        assert_eq!(
            actions(script),
            vec![
                expect("~ # ", 30),
                expect("~ # ", 60),
                Action::Expect {
                    text: b"done".to_vec(),
                    timeout: Duration::from_millis(500)
                },
                Action::Type(b"echo hi | wc -c\r".to_vec()),
                Action::Type(b"\r".to_vec()),
                Action::Type(b"abc".to_vec()),
                Action::Type(b"\x03\x1a\x04\x1c\x1b\r\x7f\x1b[A".to_vec()),
                Action::Sleep(Duration::from_millis(250)),
                Action::ExpectExit {
                    code: 3,
                    timeout: Duration::from_secs(30)
                },
                Action::ExpectExit {
                    code: 0,
                    timeout: Duration::from_secs(5)
                },
            ]
        );
        let steps = parse_script(script).unwrap();
        assert_eq!(steps[0].line, 4);
        assert_eq!(steps[0].source, "expect ~ #");
        assert_eq!(steps.iter().filter(|s| s.is_check()).count(), 5);
    }

    #[test]
    fn escapes_and_quotes() {
        assert_eq!(
            unescape(r"a\\b\tc\n\e[\x41\r").unwrap(),
            b"a\\b\tc\n\x1b[A\r"
        );
        assert_eq!(unescape(r#""  padded  ""#).unwrap(), b"  padded  ");
        assert_eq!(unescape(r#""say \"hi\"""#).unwrap(), b"say \"hi\"");
        assert_eq!(
            unescape(r#"a "quoted" word"#).unwrap(),
            b"a \"quoted\" word"
        );
        assert_eq!(unescape("\"").unwrap(), b"\"");
        assert!(unescape(r"\q").unwrap_err().contains("unknown escape"));
        assert!(unescape(r"\x4").unwrap_err().contains("hex"));
        assert!(unescape(r"\xZZ").unwrap_err().contains("hex"));
        assert!(unescape("end\\").unwrap_err().contains("lone"));
        assert_eq!(unescape("héllo").unwrap(), "héllo".as_bytes());
    }

    #[test]
    fn keys() {
        assert_eq!(key("C-a"), Some(vec![1]));
        assert_eq!(key("C-Z"), Some(vec![0x1a]));
        assert_eq!(key("C-@"), Some(vec![0]));
        assert_eq!(key("C-["), Some(vec![0x1b]));
        assert_eq!(key("C-]"), Some(vec![0x1d]));
        assert_eq!(key("C-?"), Some(vec![0x7f]));
        assert_eq!(key("esc"), Some(vec![0x1b]));
        assert_eq!(key("Down"), Some(b"\x1b[B".to_vec()));
        assert_eq!(key("Delete"), Some(b"\x1b[3~".to_vec()));
        assert_eq!(key("C-"), None);
        assert_eq!(key("C-ab"), None);
        assert_eq!(key("C-1"), None);
        assert_eq!(key("Hyper"), None);
    }

    #[test]
    fn bad_lines_are_reported_with_their_numbers() {
        let errors = parse_script(
            "expect\nsend ok\nfrobnicate x\nsleep soon\nexpect-exit 256\nkey C-1\n\
             send@3 x\nexpect@-1 x\ntype\nkey\nexpect \\q\n",
        )
        .unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert!(errors[1].1.contains("unknown command"));
        assert!(errors[2].1.contains("milliseconds"));
        assert!(errors[4].1.contains("unknown key"));
        assert!(errors[5].1.contains("no @timeout"));
    }

    fn clean(chunks: &[&[u8]]) -> Vec<u8> {
        let mut cleaner = Cleaner::default();
        let mut out = Vec::new();
        for chunk in chunks {
            cleaner.feed(chunk, &mut out);
        }
        out
    }

    #[test]
    fn escapes_are_stripped() {
        assert_eq!(clean(&[b"~ # \x1b[6nls\r\n"]), b"~ # ls\n");
        assert_eq!(
            clean(&[b"\x1b[1;31mred\x1b[0m \x1b(Bx\x1b]0;title\x07y\x1b]2;t\x1b\\z"]),
            b"red xyz"
        );
        assert_eq!(clean(&[b"a\x1b7b\x1b8c\x08d\x07e\tf"]), b"abcde\tf");
        // Split anywhere, the result is the same.
        let whole: &[u8] = b"x\x1b[?25l\x1b[24;1H\x1b[K- /tmp/x.txt\x1b[1;1H\r\n";
        for cut in 0..whole.len() {
            assert_eq!(
                clean(&[&whole[..cut], &whole[cut..]]),
                b"x- /tmp/x.txt\n",
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn matches_span_chunks_and_consume_output() {
        let mut m = Matcher::default();
        m.feed(b"boot\r\n~ ");
        assert!(!m.take_match(b"~ # "));
        m.feed(b"#");
        assert!(!m.take_match(b"~ # "));
        m.feed(b" \x1b[6n");
        assert!(m.take_match(b"~ # "));
        assert_eq!(m.pending, b"");
        // The same prompt again is only matched when it comes again.
        assert!(!m.take_match(b"~ # "));
        m.feed(b"ls\r\nbin\x1b[0m  proc\r\n~ \x1b[1m# ");
        assert!(m.take_match(b"bin"));
        assert!(m.take_match(b"proc"));
        assert!(!m.take_match(b"bin"), "consumed by the first match");
        assert!(m.take_match(b"~ # "));
        // An escape sequence split inside the searched text.
        m.feed(b"6\x1b[");
        m.feed(b"0m\r");
        m.feed(b"\n");
        assert!(m.take_match(b"6\n"));
    }

    #[test]
    fn cursor_queries_are_answered() {
        let mut c = Cursor::default();
        assert_eq!(c.feed(b"\x1b[6n"), b"\x1b[1;1R");
        assert_eq!(c.feed(b"boot\r\n\r\n~ # \x1b[6n"), b"\x1b[3;5R");
        // Split query.
        assert_eq!(c.feed(b"ls\r\n\x1b["), b"");
        assert_eq!(c.feed(b"6n"), b"\x1b[4;1R");
        // vi's screen size probe: bottom right of a 24x80 screen.
        assert_eq!(c.feed(b"\x1b7\x1b[999;999H\x1b[6n\x1b8"), b"\x1b[24;80R");
        assert_eq!(c.feed(b"\x1b[6n"), b"\x1b[4;1R");
        // Wrapping and scrolling.
        let mut c = Cursor::default();
        c.feed(&[b'x'; 81]);
        assert_eq!(c.feed(b"\x1b[6n"), b"\x1b[2;2R");
        c.feed(&[b'\n'; 40]);
        assert_eq!(c.feed(b"\x1b[6n"), b"\x1b[24;2R");
        // Other `n` queries get no answer.
        assert_eq!(c.feed(b"\x1b[5n\x1b[?6n"), b"");
        assert_eq!(c.feed("é\x1b[6n".as_bytes()), b"\x1b[24;3R");
    }

    #[test]
    fn visible_tail() {
        assert_eq!(visible(b"a\r\n\x1b[6n\x7f\tb"), "a\n^[[6n^?\tb");
    }

    /// A stand-in for QEMU (bash, for `read -d`): a tiny shell that answers
    /// `echo WORD` lines, and `exit N` by writing the status file.
    const FAKE: &str = r#"#!/bin/bash
for a in "$@"; do case "$a" in file:*) f="${a#file:}";; esac; done
printf 'booting\r\n'
printf '$ \033[6n'
IFS= read -r -d $'R' reply
printf 'reply=%q\r\n' "$reply"
while IFS= read -r -d $'\r' line; do
  case "$line" in
    echo*) printf '%s\r\n' "${line#echo }";;
    exit*) echo "exit ${line#exit }" > "$f"; exit 1;;
    hang) exec sleep 30;;
    *) printf 'what?\r\n';;
  esac
  printf '$ '
done
"#;

    fn fake_config(dir: &Path) -> QemuConfig {
        QemuConfig {
            kernel: dir.join("kernel"),
            initrd: None,
            cmdline: String::new(),
            accel: Accel::Tcg,
            cpu: None,
            mem: "2G".into(),
            smp: 1,
            icount: false,
            gdb: false,
            status_file: dir.join("status.txt"),
            console: Console::Pipe,
        }
    }

    /// Whether bash can run (under the spawn lock, as every start of a
    /// program in the tests).
    fn has_bash() -> bool {
        let _guard = crate::testutil::spawn_lock();
        Command::new("bash").arg("-c").arg("true").status().is_ok()
    }

    fn run_fake(label: &str, script: &str, timeout_secs: u64) -> (Driven, String) {
        let _guard = crate::testutil::spawn_lock();
        let tmp = TempDir::new(label);
        let fake = tmp.path().join("fake-qemu");
        fs::write(&fake, FAKE).unwrap();
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        let log = tmp.path().join("console.log");
        let steps = parse_script(script).unwrap();
        let mut machine = Machine::start(
            fake.as_os_str(),
            &fake_config(tmp.path()),
            false,
            Some(&log),
        )
        .unwrap();
        let driven = machine_run(&mut machine, &steps, timeout_secs);
        let tail = machine.tail_text();
        machine.finish();
        (driven, tail)
    }

    #[test]
    fn a_session_against_a_fake_machine() {
        if !has_bash() {
            return;
        }
        let (driven, _) = run_fake(
            "session-ok",
            r#"expect "$ "
expect reply=$'\\E[2;3'
send echo hello
expect hello
expect "$ "
send exit 7
expect-exit 7
"#,
            60,
        );
        assert_eq!(driven.failure, None);
        assert_eq!((driven.steps, driven.checks), (7, 5));

        let (driven, tail) = run_fake(
            "session-fail",
            "expect \"$ \"\nsend echo one\nexpect@0.5 two\nsend exit 0\n",
            60,
        );
        assert_eq!((driven.steps, driven.checks), (2, 1));
        let failure = driven.failure.unwrap();
        assert!(failure.contains("line 3"), "{failure}");
        assert!(failure.contains("\"two\""), "{failure}");
        assert!(tail.contains("one\n$ "), "{tail}");

        let (driven, _) = run_fake(
            "session-exit",
            "expect \"$ \"\nsend exit 4\nexpect-exit 0\n",
            60,
        );
        let failure = driven.failure.unwrap();
        assert!(failure.contains("status 4"), "{failure}");

        let (driven, _) = run_fake(
            "session-ended",
            "expect \"$ \"\nsend exit 6\nexpect never\n",
            60,
        );
        let failure = driven.failure.unwrap();
        assert!(failure.contains("QEMU ended first"), "{failure}");
        assert!(failure.contains("status 6"), "{failure}");

        let start = Instant::now();
        let (driven, _) = run_fake(
            "session-overall",
            "expect \"$ \"\nsend hang\nexpect@20 never\n",
            1,
        );
        assert!(driven.failure.unwrap().contains("session timeout"));
        assert!(start.elapsed() < Duration::from_secs(15));
    }
}
