//! The Linux personality of the framekernel.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

/// The kernel's entry point, called by ostd once the machine is set up.
pub fn main() {
    log::info!("kernel: hello");
}
