//! OSTD, the OS framework.
//!
//! This crate is the only place in the kernel with `unsafe` code. It turns
//! the machine into a few safe abstractions — boot information, physical
//! frames and user address spaces, user-mode execution, tasks and
//! synchronisation, time, the console — whose soundness is argued once, here,
//! so that the kernel built on top can forbid `unsafe` entirely.
//!
//! Design principles:
//! * Safe interfaces: a safe function of this crate cannot cause undefined
//!   behaviour whatever its arguments; user-supplied addresses are checked
//!   before use and faults on them are recovered.
//! * Every `unsafe` block says why it is sound (`// SAFETY:`), and every
//!   `unsafe fn` states its contract (`# Safety`).
//! * One CPU: this port runs on the bootstrap processor only, which keeps
//!   per-CPU state in statics and makes an interrupt-disabling lock a
//!   complete critical section.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate alloc;
extern crate self as ostd;

pub(crate) mod arch;
pub mod boot;
pub mod console;
pub mod ktest;
pub mod logger;
pub mod mm;
mod panic;
pub mod power;
mod smp_ipi;

/// Random numbers for the kernel (`AT_RANDOM`, `getrandom`).
pub mod random {
    /// Fills `buf` with random bytes.
    pub fn fill(buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = crate::arch::x86::random::next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}
pub mod sync;
pub mod task;
pub mod timer;
pub mod trap;
pub mod user;

pub use ktest_macro::ktest;

/// Commonly used items.
pub mod prelude {
    pub use crate::ktest;
    pub use crate::{print, println};
}

/// Declares the kernel's entry point, which ostd calls once the machine is
/// up. When it returns, the machine powers off with status 0.
#[macro_export]
macro_rules! entry_point {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "Rust" fn __ostd_kernel_main() {
            $main()
        }
    };
}
