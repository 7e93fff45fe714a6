//! The console: output to COM1, input from COM1's interrupt.
//!
//! Output is synchronous. Input bytes are handed to the callback the kernel
//! registers (its TTY); until one is registered they are buffered.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::fmt::{self, Write};

use crate::arch::x86::serial;
use crate::sync::SpinLock;

type InputCallback = Box<dyn Fn(u8) + Send + Sync>;

static OUTPUT: SpinLock<()> = SpinLock::new(());
static INPUT_CALLBACK: SpinLock<Option<InputCallback>> = SpinLock::new(None);
static EARLY_INPUT: SpinLock<VecDeque<u8>> = SpinLock::new(VecDeque::new());

/// Writes bytes to the console as they are.
pub fn write_bytes(bytes: &[u8]) {
    let _g = OUTPUT.lock();
    serial::write_console(bytes);
}

struct Writer;

impl Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        serial::write_console(s.as_bytes());
        Ok(())
    }
}

/// Prints formatted text (used by [`println!`](crate::println)).
pub fn print(args: fmt::Arguments) {
    let _g = OUTPUT.lock();
    let _ = Writer.write_fmt(args);
}

/// Prints without taking any lock: for panics and fatal exceptions only.
pub(crate) fn emergency_print(args: fmt::Arguments) {
    let _ = Writer.write_fmt(args);
}

/// Registers the function that receives every byte typed on the console,
/// in interrupt context. Bytes received before registration are delivered
/// first.
pub fn register_input_callback(f: impl Fn(u8) + Send + Sync + 'static) {
    let early: VecDeque<u8> = core::mem::take(&mut *EARLY_INPUT.lock());
    for b in early {
        f(b);
    }
    *INPUT_CALLBACK.lock() = Some(Box::new(f));
}

pub(crate) fn on_serial_interrupt() {
    while let Some(b) = serial::read_console() {
        let cb = INPUT_CALLBACK.lock();
        match cb.as_ref() {
            Some(f) => f(b),
            None => {
                let mut early = EARLY_INPUT.lock();
                if early.len() < 4096 {
                    early.push_back(b);
                }
            }
        }
    }
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

/// Prints a line to the console.
#[macro_export]
macro_rules! println {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::console::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}
