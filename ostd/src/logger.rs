//! The `log` backend: `[seconds] LEVEL message` on the console.
//!
//! The level comes from `log_level=` on the kernel command line (default
//! `info`); an unknown value is reported and ignored.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Logger;

static LOGGER: Logger = Logger;

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let t = crate::arch::x86::tsc::nanos_since_boot();
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
            Some(l) => log::set_max_level(l),
            None => log::warn!("ostd: ignoring unknown log_level={v:?}"),
        }
    }
}
