//! The `log` backend: `[seconds] LEVEL message` on the console, and every
//! message up to `info` in the kernel log ring that `syslog(2)` (`dmesg`)
//! reads.
//!
//! The console's level comes from `log_level=` on the kernel command line
//! (default `info`); an unknown value is reported and ignored. While the
//! kernel boots, the ring keeps `info` and more severe messages whatever
//! the console shows, as Linux's log buffer keeps what its console level
//! hides; after [`end_of_boot`] it keeps what the console shows (a
//! message nobody asked for is not formatted at run time).

use core::fmt::Write;
use core::sync::atomic::{AtomicUsize, Ordering};

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::sync::SpinLock;

struct Logger;

static LOGGER: Logger = Logger;

/// The most verbose level the console prints (a `LevelFilter` as usize).
static CONSOLE_LEVEL: AtomicUsize = AtomicUsize::new(LevelFilter::Info as usize);

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let t = crate::arch::x86::tsc::nanos_since_boot();
        if record.level() <= Level::Info {
            ring::record(t, record.level(), record.args());
        }
        if record.level() as usize > CONSOLE_LEVEL.load(Ordering::Relaxed) {
            return;
        }
        let color = match record.level() {
            Level::Error => "\x1b[31m",
            Level::Warn => "\x1b[33m",
            _ => "",
        };
        let reset = if color.is_empty() { "" } else { "\x1b[0m" };
        crate::console::print(format_args!(
            "[{:>5}.{:06}] {}{:<5}{} {}\n",
            t / 1_000_000_000,
            (t / 1000) % 1_000_000,
            color,
            record.level(),
            reset,
            record.args()
        ));
    }

    fn flush(&self) {}
}

/// Called once user space starts: from now on only the messages the
/// console shows are formatted (and kept in the ring).
pub fn end_of_boot() {
    let console = match CONSOLE_LEVEL.load(Ordering::Relaxed) {
        0 => LevelFilter::Off,
        1 => LevelFilter::Error,
        2 => LevelFilter::Warn,
        3 => LevelFilter::Info,
        4 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    log::set_max_level(console);
}

fn parse_level(s: &str) -> Option<LevelFilter> {
    Some(match s {
        "off" => LevelFilter::Off,
        "error" => LevelFilter::Error,
        "warn" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => return None,
    })
}

pub(crate) fn init(cmdline: &str) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Info);
    let value = cmdline
        .split_whitespace()
        .take_while(|w| *w != "--")
        .filter_map(|w| w.strip_prefix("log_level="))
        .last();
    if let Some(v) = value {
        match parse_level(v) {
            Some(l) => {
                CONSOLE_LEVEL.store(l as usize, Ordering::Relaxed);
                // The ring wants `info` even when the console does not.
                log::set_max_level(l.max(LevelFilter::Info));
            }
            None => log::warn!("ostd: ignoring unknown log_level={v:?}"),
        }
    }
}

/// The kernel log ring: the text of the latest messages, one line each,
/// as Linux's `syslog(2)` gives them (`<level>[seconds.micros] text`).
///
/// Bounded: the oldest whole lines make room for new ones. Positions are
/// byte counts since boot, so that readers' cursors survive eviction.
pub mod ring {
    use super::*;

    /// Size of the ring in bytes (Linux's default `log_buf_len`, 128 KiB).
    pub const SIZE: usize = 1 << 17;
    /// The longest line kept; longer messages are cut.
    const MAX_LINE: usize = 1024;

    struct Ring {
        bytes: [u8; SIZE],
        /// Sequence number of the oldest line kept (lines are numbered
        /// from 0 at boot).
        head_seq: u64,
        /// Sequence number of the next line.
        next_seq: u64,
        /// Sequence number of the first line after the last clear.
        clear_seq: u64,
        /// Position of the oldest byte kept.
        head: u64,
        /// Position after the newest byte.
        tail: u64,
        /// Where `READ_ALL` starts (moved by `CLEAR`).
        clear: u64,
        /// Where the destructive `READ` goes on.
        unread: u64,
    }

    static RING: SpinLock<Ring> = SpinLock::new(Ring {
        bytes: [0; SIZE],
        head_seq: 0,
        next_seq: 0,
        clear_seq: 0,
        head: 0,
        tail: 0,
        clear: 0,
        unread: 0,
    });

    impl Ring {
        fn at(&self, pos: u64) -> u8 {
            self.bytes[(pos % SIZE as u64) as usize]
        }

        /// Appends one line, dropping the oldest lines that it needs the
        /// room of.
        fn push(&mut self, line: &[u8]) {
            let len = line.len().min(SIZE) as u64;
            while self.tail + len - self.head > SIZE as u64 {
                // Drop the oldest line.
                while self.head < self.tail {
                    let b = self.at(self.head);
                    self.head += 1;
                    if b == b'\n' {
                        break;
                    }
                }
                self.head_seq += 1;
            }
            for &b in &line[..len as usize] {
                let i = (self.tail % SIZE as u64) as usize;
                self.bytes[i] = b;
                self.tail += 1;
            }
            self.next_seq += 1;
            self.clear = self.clear.max(self.head);
            self.clear_seq = self.clear_seq.max(self.head_seq);
            self.unread = self.unread.max(self.head);
        }

        fn copy(&self, from: u64, out: &mut [u8]) -> usize {
            let n = ((self.tail - from) as usize).min(out.len());
            for (i, o) in out[..n].iter_mut().enumerate() {
                *o = self.at(from + i as u64);
            }
            n
        }

        /// Whether `pos` starts a line.
        fn line_start(&self, pos: u64) -> bool {
            pos <= self.head || self.at(pos - 1) == b'\n'
        }
    }

    /// A line being formatted on the stack (messages never allocate).
    struct Line {
        buf: [u8; MAX_LINE],
        len: usize,
    }

    impl Write for Line {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for &b in s.as_bytes() {
                // One line per message; the last byte is kept for '\n'.
                if self.len + 1 < MAX_LINE {
                    self.buf[self.len] = if b == b'\n' { b' ' } else { b };
                    self.len += 1;
                }
            }
            Ok(())
        }
    }

    /// Linux's level of a `log` level (`KERN_ERR` is 3, ..., `KERN_DEBUG` 7).
    fn syslog_level(level: Level) -> u8 {
        match level {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
            Level::Debug | Level::Trace => 7,
        }
    }

    pub(super) fn record(nanos: u64, level: Level, args: &core::fmt::Arguments) {
        append(nanos, syslog_level(level), args);
    }

    /// Adds a message at Linux level `level` (0-7, as `/dev/kmsg` writers
    /// give it).
    pub fn append(nanos: u64, level: u8, args: &core::fmt::Arguments) {
        let mut line = Line {
            buf: [0; MAX_LINE],
            len: 0,
        };
        let _ = write!(
            line,
            "<{}>[{:>5}.{:06}] {}",
            level,
            nanos / 1_000_000_000,
            (nanos / 1000) % 1_000_000,
            args
        );
        line.buf[line.len] = b'\n';
        line.len += 1;
        // A message logged while the ring is being used on this CPU (from
        // an interrupt, or a panic in the middle) is left out of the ring.
        if let Some(mut ring) = RING.try_lock() {
            ring.push(&line.buf[..line.len]);
        }
    }

    /// `SYSLOG_ACTION_READ_ALL`: the newest whole lines since the last
    /// clear that fit in `out`; with `clear`, the ring is then cleared
    /// (`READ_CLEAR`). Returns the bytes copied.
    pub fn read_all(out: &mut [u8], clear: bool) -> usize {
        let mut ring = RING.lock();
        let start = ring.clear.max(ring.head);
        let mut from = ring.tail.saturating_sub(out.len() as u64).max(start);
        while from < ring.tail && !ring.line_start(from) {
            from += 1;
        }
        let n = ring.copy(from, out);
        if clear {
            ring.clear = ring.tail;
        }
        n
    }

    /// `SYSLOG_ACTION_READ`: the bytes not read this way before, up to
    /// `out.len()` (a line may be split between two reads).
    pub fn read_unread(out: &mut [u8]) -> usize {
        let mut ring = RING.lock();
        let from = ring.unread.max(ring.head);
        let n = ring.copy(from, out);
        ring.unread = from + n as u64;
        n
    }

    /// `SYSLOG_ACTION_SIZE_UNREAD`.
    pub fn unread() -> usize {
        let ring = RING.lock();
        (ring.tail - ring.unread.max(ring.head)) as usize
    }

    /// `SYSLOG_ACTION_CLEAR`: `READ_ALL` starts after what is there now.
    pub fn clear() {
        let mut ring = RING.lock();
        ring.clear = ring.tail;
    }

    /// How many bytes the ring has ever taken (for waiting on new ones).
    pub fn written() -> u64 {
        RING.lock().tail
    }

    /// A reader's place in the ring, line by line (`/dev/kmsg`).
    #[derive(Clone, Copy, Debug)]
    pub struct Cursor {
        /// Sequence number of the next line to read.
        pub seq: u64,
        pos: u64,
    }

    /// Where a cursor can be put.
    pub enum Place {
        /// The oldest line kept.
        Oldest,
        /// The first line after the last clear (`SYSLOG_ACTION_CLEAR`).
        AfterClear,
        /// After the newest line.
        End,
    }

    /// A cursor at `place`.
    pub fn cursor(place: Place) -> Cursor {
        let ring = RING.lock();
        match place {
            Place::Oldest => Cursor {
                seq: ring.head_seq,
                pos: ring.head,
            },
            Place::AfterClear => Cursor {
                seq: ring.clear_seq.max(ring.head_seq),
                pos: ring.clear.max(ring.head),
            },
            Place::End => Cursor {
                seq: ring.next_seq,
                pos: ring.tail,
            },
        }
    }

    /// What is at a cursor.
    pub enum Next {
        /// The line (with its newline) and the cursor after it.
        Line(alloc::vec::Vec<u8>, Cursor),
        /// Lines were dropped before they were read; the cursor to go on
        /// from (the oldest line kept).
        Lost(Cursor),
        /// Nothing new.
        Empty,
    }

    /// The line at `at`, if any.
    pub fn next_line(at: Cursor) -> Next {
        let ring = RING.lock();
        if at.seq < ring.head_seq || at.pos < ring.head {
            return Next::Lost(Cursor {
                seq: ring.head_seq,
                pos: ring.head,
            });
        }
        if at.pos >= ring.tail {
            return Next::Empty;
        }
        let mut end = at.pos;
        while end < ring.tail && ring.at(end) != b'\n' {
            end += 1;
        }
        let end = (end + 1).min(ring.tail);
        let line = (at.pos..end).map(|p| ring.at(p)).collect();
        Next::Line(
            line,
            Cursor {
                seq: at.seq + 1,
                pos: end,
            },
        )
    }

    /// Whether there is something to read at `at` (a line or a loss).
    pub fn has_next(at: Cursor) -> bool {
        let ring = RING.lock();
        at.pos < ring.tail || at.pos < ring.head
    }
}
