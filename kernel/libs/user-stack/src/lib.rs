// SPDX-License-Identifier: MPL-2.0

//! The initial user stack that `execve` hands to a new program, laid out as
//! Linux lays it out on x86-64 (System V ABI, section 3.4.1).
//!
//! From the top of the stack down:
//!
//! ```text
//! stack_top ->  8 zero bytes (end marker)
//!               execfn string            <- AT_EXECFN
//!               envp strings, envp[0] lowest
//!               argv strings, argv[0] lowest  <- arg_start
//!               padding to 16 bytes
//!               platform string          <- AT_PLATFORM
//!               16 random bytes          <- AT_RANDOM
//!               padding (so that sp ends up 16-byte aligned)
//!               auxv pairs, then AT_NULL
//!               NULL, envp pointers
//!               NULL, argv pointers
//! sp ->         argc
//! ```
//!
//! This mirrors `fs/exec.c` (`bprm->p` starts one pointer below the top,
//! then `copy_string_kernel()` of the file name, `copy_strings()` of envp
//! and of argv, each copied from its last string down) and
//! `create_elf_tables()` in `fs/binfmt_elf.c` (`arch_align_stack()`, the
//! platform string, the random bytes, then the vectors, with `sp` rounded
//! down to 16 bytes). Linux also moves the stack down by a random amount in
//! `arch_align_stack()`; a caller that wants that randomises `stack_top`.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;

use linux_raw_sys::auxvec::{AT_EXECFN, AT_NULL, AT_PLATFORM, AT_RANDOM};
use linux_raw_sys::errno;

/// Longest single argument or environment string, including its NUL
/// (Linux's `MAX_ARG_STRLEN`, 32 pages).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Most argument or environment strings Linux accepts (`MAX_ARG_STRINGS`).
pub const MAX_ARG_STRINGS: usize = 0x7fff_ffff;

/// The smallest limit Linux ever applies to arguments and environment
/// together (`ARG_MAX`, 32 pages), whatever the stack rlimit.
pub const ARG_MAX: u64 = 32 * 4096;

/// Linux's default stack rlimit (`_STK_LIM`, 8 MiB).
const STK_LIM: u64 = 8 * 1024 * 1024;

const WORD: u64 = 8;

/// The limit on the space taken by the argument and environment strings
/// plus their pointers, for a given soft `RLIMIT_STACK`: a quarter of the
/// rlimit, at most three quarters of `_STK_LIM` (6 MiB) and at least
/// [`ARG_MAX`], as in Linux's `bprm_stack_limits()`.
pub fn arg_limit(stack_rlimit: u64) -> u64 {
    (STK_LIM / 4 * 3).min(stack_rlimit / 4).max(ARG_MAX)
}

/// What goes on the stack.
#[derive(Clone, Copy, Debug)]
pub struct StackArgs<'a> {
    /// User address just past the stack (exclusive end).
    pub stack_top: u64,
    /// The argument strings, without NULs. If empty, Linux (since 5.18)
    /// passes a single empty string instead, and so does this crate: argc is
    /// then 1.
    pub argv: &'a [&'a [u8]],
    /// The environment strings, without NULs.
    pub envp: &'a [&'a [u8]],
    /// The path the program was executed by (`AT_EXECFN`), without NUL.
    pub execfn: &'a [u8],
    /// Random bytes for `AT_RANDOM` (the C library seeds its stack
    /// protector and pointer guard from them).
    pub random: [u8; 16],
    /// The platform string for `AT_PLATFORM` ("x86_64"), if any.
    pub platform: Option<&'a [u8]>,
    /// The other auxiliary vector entries, in the order to write them.
    /// `AT_RANDOM`, `AT_EXECFN`, `AT_PLATFORM` and the terminating
    /// `AT_NULL` are added by this crate and must not appear here.
    pub auxv: &'a [(u64, u64)],
    /// The limit on strings plus pointers; see [`arg_limit`].
    pub max_bytes: u64,
}

/// The stack contents, ready to be copied so that they end at
/// `stack_top`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    /// The bytes from `initial_sp` up to `stack_top`.
    pub bytes: Vec<u8>,
    /// The initial stack pointer: 16-byte aligned, pointing at argc.
    pub initial_sp: u64,
    /// Address of the first argument string (`mm->arg_start`, used by
    /// `/proc/PID/cmdline`).
    pub arg_start: u64,
    /// End of the argument strings (`mm->arg_end`).
    pub arg_end: u64,
    /// Address of the first environment string (`mm->env_start`).
    pub env_start: u64,
    /// End of the environment strings (`mm->env_end`).
    pub env_end: u64,
    /// The auxiliary vector as written, without the `AT_NULL` terminator
    /// (for `/proc/PID/auxv` and `getauxval` emulation).
    pub auxv: Vec<(u64, u64)>,
}

/// Why the stack could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// A string is longer than [`MAX_ARG_STRLEN`], there are too many, or
    /// together they exceed `max_bytes` (`E2BIG`).
    TooBig,
    /// The image does not fit below `stack_top` (`E2BIG`, as when Linux
    /// cannot get a page for the strings).
    DoesNotFit,
    /// A string contains a NUL byte (`EINVAL`): it would be cut short.
    InteriorNul,
    /// `auxv` contains an entry of a type this crate writes itself
    /// (`EINVAL`).
    ReservedAuxEntry(u64),
    /// Memory for the image could not be allocated (`ENOMEM`).
    OutOfMemory,
}

impl StackError {
    /// The positive errno value for this error.
    pub fn errno(&self) -> i32 {
        let e = match self {
            StackError::TooBig | StackError::DoesNotFit => errno::E2BIG,
            StackError::InteriorNul | StackError::ReservedAuxEntry(_) => errno::EINVAL,
            StackError::OutOfMemory => errno::ENOMEM,
        };
        // Errno values are small positive numbers, so this cannot wrap.
        e as i32
    }
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::TooBig => f.write_str("argument list too long"),
            StackError::DoesNotFit => f.write_str("initial stack does not fit"),
            StackError::InteriorNul => f.write_str("string contains a NUL byte"),
            StackError::ReservedAuxEntry(t) => write!(f, "auxv entry type {t} is reserved"),
            StackError::OutOfMemory => f.write_str("out of memory"),
        }
    }
}

/// Size of a string on the stack, with its NUL, after the checks Linux's
/// `valid_arg_len()` makes.
fn string_size(s: &[u8]) -> Result<u64, StackError> {
    if s.contains(&0) {
        return Err(StackError::InteriorNul);
    }
    let size = s.len().checked_add(1).ok_or(StackError::TooBig)?;
    if size > MAX_ARG_STRLEN {
        return Err(StackError::TooBig);
    }
    u64::try_from(size).map_err(|_| StackError::TooBig)
}

fn sub(a: u64, b: u64) -> Result<u64, StackError> {
    a.checked_sub(b).ok_or(StackError::DoesNotFit)
}

fn to_u64(n: usize) -> Result<u64, StackError> {
    u64::try_from(n).map_err(|_| StackError::TooBig)
}

/// Builds the initial stack.
pub fn build(args: &StackArgs<'_>) -> Result<StackImage, StackError> {
    const EMPTY_ARGV: &[&[u8]] = &[b""];
    let argv = if args.argv.is_empty() {
        EMPTY_ARGV
    } else {
        args.argv
    };
    let envp = args.envp;
    if argv.len() > MAX_ARG_STRINGS || envp.len() > MAX_ARG_STRINGS {
        return Err(StackError::TooBig);
    }
    let argc = to_u64(argv.len())?;
    let envc = to_u64(envp.len())?;

    let reserved = [AT_NULL, AT_RANDOM, AT_EXECFN, AT_PLATFORM].map(u64::from);
    if let Some(&(key, _)) = args.auxv.iter().find(|(key, _)| reserved.contains(key)) {
        return Err(StackError::ReservedAuxEntry(key));
    }

    // bprm_stack_limits(): room for the pointers is set aside first, then
    // the strings (file name included) must fit in what is left.
    let ptr_size = argc
        .checked_add(envc)
        .and_then(|n| n.checked_mul(WORD))
        .ok_or(StackError::TooBig)?;
    let string_room = args
        .max_bytes
        .checked_sub(ptr_size)
        .filter(|&room| room > 0)
        .ok_or(StackError::TooBig)?;
    let mut strings: u64 = string_size(args.execfn)?;
    for s in envp.iter().chain(argv.iter()) {
        strings = strings
            .checked_add(string_size(s)?)
            .ok_or(StackError::TooBig)?;
    }
    if strings > string_room {
        return Err(StackError::TooBig);
    }
    let platform_size = args.platform.map(string_size).transpose()?;

    // Addresses, from the top down.
    let top = args.stack_top;
    let mut p = sub(top, WORD)?;
    p = sub(p, string_size(args.execfn)?)?;
    let execfn_addr = p;
    let mut env_ptrs = Vec::new();
    env_ptrs
        .try_reserve_exact(envp.len())
        .map_err(|_| StackError::OutOfMemory)?;
    for s in envp.iter().rev() {
        p = sub(p, string_size(s)?)?;
        env_ptrs.push(p);
    }
    env_ptrs.reverse();
    let env_start = p;
    let mut arg_ptrs = Vec::new();
    arg_ptrs
        .try_reserve_exact(argv.len())
        .map_err(|_| StackError::OutOfMemory)?;
    for s in argv.iter().rev() {
        p = sub(p, string_size(s)?)?;
        arg_ptrs.push(p);
    }
    arg_ptrs.reverse();
    let arg_start = p;

    // create_elf_tables(): arch_align_stack(), then the platform string and
    // the random bytes.
    p &= !15;
    let platform_addr = match platform_size {
        Some(size) => {
            p = sub(p, size)?;
            Some(p)
        }
        None => None,
    };
    p = sub(p, 16)?;
    let random_addr = p;

    let mut auxv = Vec::new();
    auxv.try_reserve_exact(args.auxv.len().saturating_add(3))
        .map_err(|_| StackError::OutOfMemory)?;
    auxv.extend_from_slice(args.auxv);
    auxv.push((u64::from(AT_RANDOM), random_addr));
    auxv.push((u64::from(AT_EXECFN), execfn_addr));
    if let Some(addr) = platform_addr {
        auxv.push((u64::from(AT_PLATFORM), addr));
    }

    // The auxiliary vector (with AT_NULL), then argc, the argv and envp
    // pointers and their NULLs; sp is rounded down to 16 bytes
    // (STACK_ROUND), which leaves any padding between the auxiliary vector
    // and the random bytes.
    let auxv_words = to_u64(auxv.len())?
        .checked_add(1)
        .and_then(|n| n.checked_mul(2))
        .ok_or(StackError::TooBig)?;
    let items = argc
        .checked_add(envc)
        .and_then(|n| n.checked_add(3))
        .ok_or(StackError::TooBig)?;
    let words = auxv_words.checked_add(items).ok_or(StackError::TooBig)?;
    let sp = sub(p, words.checked_mul(WORD).ok_or(StackError::TooBig)?)? & !15;

    let len = top
        .checked_sub(sp)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(StackError::DoesNotFit)?;
    let mut image = Image::new(sp, len)?;

    let mut at = sp;
    let mut put = |image: &mut Image, value: u64| {
        image.put_word(at, value);
        at = at.saturating_add(WORD);
    };
    put(&mut image, argc);
    for &ptr in &arg_ptrs {
        put(&mut image, ptr);
    }
    put(&mut image, 0);
    for &ptr in &env_ptrs {
        put(&mut image, ptr);
    }
    put(&mut image, 0);
    for &(key, value) in &auxv {
        put(&mut image, key);
        put(&mut image, value);
    }
    put(&mut image, u64::from(AT_NULL));
    put(&mut image, 0);

    image.put_bytes(random_addr, &args.random);
    if let (Some(addr), Some(platform)) = (platform_addr, args.platform) {
        image.put_bytes(addr, platform);
    }
    for (&ptr, s) in arg_ptrs.iter().zip(argv) {
        image.put_bytes(ptr, s);
    }
    for (&ptr, s) in env_ptrs.iter().zip(envp) {
        image.put_bytes(ptr, s);
    }
    image.put_bytes(execfn_addr, args.execfn);
    // The NULs after the strings, the padding and the end marker are the
    // zeros the image starts with.

    Ok(StackImage {
        bytes: image.bytes,
        initial_sp: sp,
        arg_start,
        arg_end: env_start,
        env_start,
        env_end: execfn_addr,
        auxv,
    })
}

/// The stack bytes being built, addressed by user address.
struct Image {
    base: u64,
    bytes: Vec<u8>,
}

impl Image {
    fn new(base: u64, len: usize) -> Result<Self, StackError> {
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(len)
            .map_err(|_| StackError::OutOfMemory)?;
        bytes.resize(len, 0);
        Ok(Image { base, bytes })
    }

    /// Copies `data` to `addr`. All addresses were computed to lie inside
    /// the image, so a miss would be a bug here; it is ignored rather than
    /// allowed to panic.
    fn put_bytes(&mut self, addr: u64, data: &[u8]) {
        let Some(start) = addr
            .checked_sub(self.base)
            .and_then(|off| usize::try_from(off).ok())
        else {
            return;
        };
        if let Some(dst) = start
            .checked_add(data.len())
            .and_then(|end| self.bytes.get_mut(start..end))
        {
            dst.copy_from_slice(data);
        }
    }

    fn put_word(&mut self, addr: u64, value: u64) {
        self.put_bytes(addr, &value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests;
