//! `syslog(2)` (`klogctl`, what `dmesg` uses): reading and clearing the
//! kernel log ring that ostd's logger fills, with Linux's access rules.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::prelude::*;

/// The actions of `syslog(2)` (Linux's `include/linux/syslog.h`, not in
/// the user-space headers).
pub mod action {
    pub const CLOSE: u32 = 0;
    pub const OPEN: u32 = 1;
    pub const READ: u32 = 2;
    pub const READ_ALL: u32 = 3;
    pub const READ_CLEAR: u32 = 4;
    pub const CLEAR: u32 = 5;
    pub const CONSOLE_OFF: u32 = 6;
    pub const CONSOLE_ON: u32 = 7;
    pub const CONSOLE_LEVEL: u32 = 8;
    pub const SIZE_UNREAD: u32 = 9;
    pub const SIZE_BUFFER: u32 = 10;
}

/// `/proc/sys/kernel/dmesg_restrict`: set, only privileged processes may
/// read the ring (Debian's default, `CONFIG_SECURITY_DMESG_RESTRICT`).
static DMESG_RESTRICT: AtomicBool = AtomicBool::new(true);
/// The console log level `CONSOLE_LEVEL` sets (Linux's default 7).
static CONSOLE_LOGLEVEL: AtomicU32 = AtomicU32::new(7);
/// Linux's `minimum_console_loglevel`.
const MINIMUM_CONSOLE_LOGLEVEL: u32 = 1;

/// `/proc/sys/kernel/dmesg_restrict`.
pub fn dmesg_restrict() -> bool {
    DMESG_RESTRICT.load(Ordering::Relaxed)
}

/// Sets `/proc/sys/kernel/dmesg_restrict` (0 or 1).
pub fn set_dmesg_restrict(on: bool) {
    DMESG_RESTRICT.store(on, Ordering::Relaxed);
}

/// Whether `cred` may use the kernel log freely: `CAP_SYSLOG` (or, as
/// Linux still accepts, `CAP_SYS_ADMIN`).
pub fn privileged(cred: &crate::process::credentials::Credentials) -> bool {
    use linux_raw_sys::general::{CAP_SYS_ADMIN, CAP_SYSLOG};
    cred.has_cap(CAP_SYSLOG) || cred.has_cap(CAP_SYS_ADMIN)
}

/// Linux's `check_syslog_permissions`: without privilege, only reading
/// the whole ring and asking its size are allowed, and only while
/// `dmesg_restrict` is 0. Checked before the action itself.
pub fn check_permission(action: u32, privileged: bool) -> Result<()> {
    let restricted = dmesg_restrict() || !matches!(action, action::READ_ALL | action::SIZE_BUFFER);
    if restricted && !privileged {
        return_errno!(EPERM);
    }
    Ok(())
}

/// `SYSLOG_ACTION_CONSOLE_LEVEL`: `EINVAL` outside 1..=8.
pub fn set_console_level(level: i32) -> Result<()> {
    if !(1..=8).contains(&level) {
        return_errno!(EINVAL);
    }
    CONSOLE_LOGLEVEL.store(
        (level as u32).max(MINIMUM_CONSOLE_LOGLEVEL),
        Ordering::Relaxed,
    );
    Ok(())
}
