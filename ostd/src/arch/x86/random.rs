//! Random numbers: RDRAND when the CPU has it, else a xorshift generator
//! seeded from the TSC. Good enough for `AT_RANDOM` and `getrandom` in a
//! test kernel; not a cryptographic claim.

use core::sync::atomic::{AtomicU64, Ordering};

static STATE: AtomicU64 = AtomicU64::new(0);

fn has_rdrand() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 30) != 0
}

fn rdrand() -> Option<u64> {
    for _ in 0..10 {
        let value: u64;
        let ok: u8;
        // SAFETY: RDRAND is available (checked by the caller); it only
        // writes the output register and the carry flag.
        unsafe {
            core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack));
        }
        if ok != 0 {
            return Some(value);
        }
    }
    None
}

/// A random 64-bit value.
pub(crate) fn next_u64() -> u64 {
    if let Some(v) = has_rdrand().then(rdrand).flatten() {
        return v;
    }
    // One step of xorshift, taken atomically so that two CPUs never get
    // the same value.
    let step = |mut x: u64| {
        if x == 0 {
            x = super::tsc::read() | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let old = STATE
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x)))
        .unwrap_or(0);
    step(old)
}
