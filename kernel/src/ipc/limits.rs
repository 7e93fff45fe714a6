//! The IPC limits, with Linux's defaults, and their `/proc/sys/kernel`
//! files (`sem`, `shmmax`, `shmall`, `shmmni`, `msgmax`, `msgmnb`,
//! `msgmni`), which root may write.

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use super::ids::IPCMNI;
use crate::prelude::*;

/// `SEMMSL`: semaphores per set.
static SEMMSL: AtomicI32 = AtomicI32::new(32000);
/// `SEMMNS`: semaphores in all sets.
static SEMMNS: AtomicI32 = AtomicI32::new(1_024_000_000);
/// `SEMOPM`: operations per `semop` call.
static SEMOPM: AtomicI32 = AtomicI32::new(500);
/// `SEMMNI`: semaphore sets.
static SEMMNI: AtomicI32 = AtomicI32::new(32000);
/// `SHMMAX`: bytes per segment (`ULONG_MAX - 2^24`, "unlimited").
static SHMMAX: AtomicU64 = AtomicU64::new(u64::MAX - (1 << 24));
/// `SHMALL`: pages in all segments.
static SHMALL: AtomicU64 = AtomicU64::new(u64::MAX - (1 << 24));
/// `SHMMNI`: segments.
static SHMMNI: AtomicI32 = AtomicI32::new(4096);
/// `MSGMAX`: bytes per message.
static MSGMAX: AtomicI32 = AtomicI32::new(8192);
/// `MSGMNB`: bytes per queue, the initial `msg_qbytes`.
static MSGMNB: AtomicI32 = AtomicI32::new(16384);
/// `MSGMNI`: message queues.
static MSGMNI: AtomicI32 = AtomicI32::new(32000);

/// The smallest segment (`SHMMIN`).
pub const SHMMIN: u64 = 1;

/// The semaphore limits: `[SEMMSL, SEMMNS, SEMOPM, SEMMNI]`, in the order
/// of `/proc/sys/kernel/sem`.
pub fn sem() -> [i32; 4] {
    [&SEMMSL, &SEMMNS, &SEMOPM, &SEMMNI].map(|v| v.load(Ordering::Relaxed))
}

/// `SHMMAX`.
pub fn shmmax() -> u64 {
    SHMMAX.load(Ordering::Relaxed)
}

/// `SHMALL`.
pub fn shmall() -> u64 {
    SHMALL.load(Ordering::Relaxed)
}

/// `SHMMNI`.
pub fn shmmni() -> i32 {
    SHMMNI.load(Ordering::Relaxed)
}

/// `MSGMAX`.
pub fn msgmax() -> i32 {
    MSGMAX.load(Ordering::Relaxed)
}

/// `MSGMNB`.
pub fn msgmnb() -> i32 {
    MSGMNB.load(Ordering::Relaxed)
}

/// `MSGMNI`.
pub fn msgmni() -> i32 {
    MSGMNI.load(Ordering::Relaxed)
}

/// A `*mni` limit as the id table takes it (a negative one allows none).
pub fn as_table_limit(mni: i32) -> u32 {
    u32::try_from(mni).unwrap_or(0)
}

// ---- /proc/sys/kernel ----

/// `/proc/sys/kernel/sem`: four tab-separated numbers.
pub fn sem_text() -> String {
    let [msl, mns, opm, mni] = sem();
    format!("{msl}\t{mns}\t{opm}\t{mni}\n")
}

/// Writes `/proc/sys/kernel/sem`. As Linux's `proc_ipc_sem_dointvec`,
/// the numbers given replace the first ones (any values, the rest of the
/// text ignored), but `SEMMNI` must stay within `0..=IPCMNI`: else it is
/// kept and the write fails with `ERANGE`.
pub fn set_sem_text(text: &str) -> Result<()> {
    let vars = [&SEMMSL, &SEMMNS, &SEMOPM, &SEMMNI];
    let mut values = [0; 4];
    let mut n = 0;
    for (slot, word) in values.iter_mut().zip(text.split_whitespace()) {
        *slot = parse_int(word)?;
        n += 1;
    }
    if n == 0 {
        return_errno!(EINVAL);
    }
    for (var, &v) in vars.iter().zip(&values[..n.min(3)]) {
        var.store(v, Ordering::Relaxed);
    }
    if n == 4 {
        if !(0..=IPCMNI as i32).contains(&values[3]) {
            return_errno!(ERANGE);
        }
        SEMMNI.store(values[3], Ordering::Relaxed);
    }
    Ok(())
}

/// `/proc/sys/kernel/shmmax`.
pub fn shmmax_text() -> String {
    format!("{}\n", shmmax())
}

/// Writes `/proc/sys/kernel/shmmax` (any unsigned long).
pub fn set_shmmax_text(text: &str) -> Result<()> {
    SHMMAX.store(parse_ulong(text)?, Ordering::Relaxed);
    Ok(())
}

/// `/proc/sys/kernel/shmall`.
pub fn shmall_text() -> String {
    format!("{}\n", shmall())
}

/// Writes `/proc/sys/kernel/shmall` (any unsigned long).
pub fn set_shmall_text(text: &str) -> Result<()> {
    SHMALL.store(parse_ulong(text)?, Ordering::Relaxed);
    Ok(())
}

/// `/proc/sys/kernel/shmmni`.
pub fn shmmni_text() -> String {
    format!("{}\n", shmmni())
}

/// Writes `/proc/sys/kernel/shmmni` (`0..=IPCMNI`).
pub fn set_shmmni_text(text: &str) -> Result<()> {
    set_bounded(&SHMMNI, text, IPCMNI as i32)
}

/// `/proc/sys/kernel/msgmax`.
pub fn msgmax_text() -> String {
    format!("{}\n", msgmax())
}

/// Writes `/proc/sys/kernel/msgmax` (`0..=INT_MAX`).
pub fn set_msgmax_text(text: &str) -> Result<()> {
    set_bounded(&MSGMAX, text, i32::MAX)
}

/// `/proc/sys/kernel/msgmnb`.
pub fn msgmnb_text() -> String {
    format!("{}\n", msgmnb())
}

/// Writes `/proc/sys/kernel/msgmnb` (`0..=INT_MAX`).
pub fn set_msgmnb_text(text: &str) -> Result<()> {
    set_bounded(&MSGMNB, text, i32::MAX)
}

/// `/proc/sys/kernel/msgmni`.
pub fn msgmni_text() -> String {
    format!("{}\n", msgmni())
}

/// Writes `/proc/sys/kernel/msgmni` (`0..=IPCMNI`).
pub fn set_msgmni_text(text: &str) -> Result<()> {
    set_bounded(&MSGMNI, text, IPCMNI as i32)
}

/// Stores an int in `0..=max` (`EINVAL` outside, as
/// `proc_dointvec_minmax`).
fn set_bounded(var: &AtomicI32, text: &str, max: i32) -> Result<()> {
    let v = parse_int(text)?;
    if !(0..=max).contains(&v) {
        return_errno!(EINVAL);
    }
    var.store(v, Ordering::Relaxed);
    Ok(())
}

/// A C `int` written to a sysctl: the first word, with an optional `-`
/// (the rest of the text is ignored, as `proc_dointvec` stops there).
fn parse_int(text: &str) -> Result<i32> {
    let word = first_word(text)?;
    if word.starts_with('+') {
        return_errno!(EINVAL);
    }
    word.parse().map_err(|_| Error::new(EINVAL))
}

/// An `unsigned long` written to a sysctl (no sign accepted).
fn parse_ulong(text: &str) -> Result<u64> {
    let word = first_word(text)?;
    if word.starts_with('+') {
        return_errno!(EINVAL);
    }
    word.parse().map_err(|_| Error::new(EINVAL))
}

fn first_word(text: &str) -> Result<&str> {
    text.split_whitespace().next().ok_or(Error::new(EINVAL))
}
