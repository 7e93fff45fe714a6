//! The time-stamp counter: calibrated once against the PIT, then the source
//! of the monotonic clock.

use core::sync::atomic::{AtomicU64, Ordering};

/// TSC ticks per microsecond, scaled by 2^16 for precision.
static TSC_PER_US_X65536: AtomicU64 = AtomicU64::new(1000 << 16);
static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds per TSC tick, scaled by 2^32: turning ticks into time is a
/// multiplication and a shift (the scheduler does it on every switch; a
/// 128-bit division is a library call of a hundred instructions or more).
static NS_PER_TSC_X2_32: AtomicU64 = AtomicU64::new(1 << 32);

/// Reads the TSC.
pub(crate) fn read() -> u64 {
    // SAFETY: `rdtsc` only reads the counter; CR4.TSD is clear so it is
    // allowed at any privilege level.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Measures the TSC frequency over 10 ms of PIT channel 2.
pub(crate) fn calibrate() {
    const MS: u64 = 10;
    let ticks = (super::pit::PIT_HZ * MS / 1000) as u16;
    let start = super::pit::wait_channel2(ticks, read);
    let elapsed = read().saturating_sub(start).max(1);
    let per_us_x65536 = (elapsed << 16) / (MS * 1000);
    let scale = per_us_x65536.max(1);
    TSC_PER_US_X65536.store(scale, Ordering::Relaxed);
    // ns per tick = 1000 * 65536 / scale.
    let mult = ((1000u128 * 65536) << 32) / scale as u128;
    NS_PER_TSC_X2_32.store(mult.min(u64::MAX as u128) as u64, Ordering::Relaxed);
    TSC_AT_BOOT.store(read(), Ordering::Relaxed);
}

/// TSC frequency in MHz.
pub(crate) fn mhz() -> u64 {
    TSC_PER_US_X65536.load(Ordering::Relaxed) >> 16
}

/// Nanoseconds since calibration.
pub(crate) fn nanos_since_boot() -> u64 {
    let delta = read().saturating_sub(TSC_AT_BOOT.load(Ordering::Relaxed));
    let mult = NS_PER_TSC_X2_32.load(Ordering::Relaxed);
    // In 128 bits: no overflow for centuries of uptime.
    ((delta as u128 * mult as u128) >> 32) as u64
}
