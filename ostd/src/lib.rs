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
//! * Several CPUs: every CPU the firmware lists runs the scheduler; per-CPU
//!   state lives in per-CPU areas reached through the GS base (`cpu`),
//!   locks spin, and changes to page tables are shot down on the CPUs that
//!   may cache them (`smp`).

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate alloc;
extern crate self as ostd;

pub(crate) mod arch;
pub mod boot;
pub mod console;
pub mod cpu;
pub mod ktest;
pub mod logger;
pub mod mm;
mod panic;
pub mod power;
pub(crate) mod smp;

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
