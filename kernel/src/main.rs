//! The kernel binary: ostd boots the machine and calls [`kernel::main`].

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

ostd::entry_point!(kernel::main);
