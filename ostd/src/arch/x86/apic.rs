//! The local APIC of each CPU: interrupt acknowledgement, inter-processor
//! interrupts and the per-CPU timer.
//!
//! x2APIC mode (registers as MSRs) is used when CPUID.1:ECX[21] offers it,
//! else xAPIC mode (registers in a 4 KiB MMIO page at the address in
//! IA32_APIC_BASE, reached through the linear map; the firmware's MTRRs make
//! that range uncacheable). Both modes have the same registers: MSR
//! `0x800 + offset / 16` is the register at MMIO `offset`, except the ICR,
//! one 64-bit MSR instead of two 32-bit halves.
//!
//! The mode is chosen once on the bootstrap processor ([`init`]); every CPU
//! then enables its own APIC in that mode ([`init_this_cpu`]).

use core::arch::x86_64::__cpuid;
use core::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

use x86_64::instructions::interrupts::without_interrupts;
use x86_64::registers::model_specific::Msr;

use super::irq;
use super::mm::paddr_to_vaddr;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_BSP: u64 = 1 << 8;
const APIC_BASE_X2APIC: u64 = 1 << 10;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const APIC_BASE_ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

// Register offsets (xAPIC MMIO layout).
const ID: u32 = 0x20;
const TPR: u32 = 0x80;
const EOI: u32 = 0xb0;
const SVR: u32 = 0xf0;
const ESR: u32 = 0x280;
const ICR_LOW: u32 = 0x300;
const ICR_HIGH: u32 = 0x310;
const LVT_TIMER: u32 = 0x320;
const LVT_LINT0: u32 = 0x350;
const LVT_LINT1: u32 = 0x360;
const LVT_ERROR: u32 = 0x370;
const TIMER_INITIAL: u32 = 0x380;
const TIMER_CURRENT: u32 = 0x390;
const TIMER_DIVIDE: u32 = 0x3e0;

const SVR_ENABLE: u32 = 1 << 8;
const LVT_MASKED: u32 = 1 << 16;
const LVT_NMI: u32 = 0b100 << 8;
const TIMER_PERIODIC: u32 = 1 << 17;
/// Divide configuration 0b0011: the timer counts at the bus clock / 16.
const TIMER_DIVIDE_BY_16: u32 = 0b0011;

const ICR_INIT: u32 = 0b101 << 8;
const ICR_STARTUP: u32 = 0b110 << 8;
const ICR_DELIVERY_PENDING: u32 = 1 << 12;
const ICR_ASSERT: u32 = 1 << 14;

const MODE_NONE: u8 = 0;
const MODE_XAPIC: u8 = 1;
const MODE_X2APIC: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(MODE_NONE);
/// Linear-map address of the xAPIC register page.
static XAPIC_BASE: AtomicU64 = AtomicU64::new(0);
/// APIC id of the bootstrap processor.
static BSP_APIC_ID: AtomicU32 = AtomicU32::new(0);
/// Timer counts (at bus clock / 16) per tick; 0 until calibrated.
static COUNTS_PER_TICK: AtomicU32 = AtomicU32::new(0);

/// Whether the CPU offers x2APIC mode.
fn has_x2apic() -> bool {
    __cpuid(1).ecx & (1 << 21) != 0
}

/// APIC id of the calling CPU as CPUID reports it (usable before the APIC
/// is set up): the x2APIC id of leaf 0xB, or the 8-bit initial APIC id.
pub(crate) fn boot_apic_id() -> u32 {
    if has_x2apic() && __cpuid(0).eax >= 0xb {
        __cpuid(0xb).edx
    } else {
        __cpuid(1).ebx >> 24
    }
}

/// Chooses the APIC mode and records the calling CPU as the bootstrap
/// processor. `madt_addr` is the register address the MADT gave, used when
/// IA32_APIC_BASE holds none.
pub(crate) fn init(madt_addr: u64) {
    let x2 = has_x2apic();
    // SAFETY: IA32_APIC_BASE exists on every CPU with an APIC (CPUID.1:EDX
    // bit 9; the MADT said there is one); reading it has no side effects.
    let base = unsafe { Msr::new(IA32_APIC_BASE).read() };
    let mut paddr = base & APIC_BASE_ADDR_MASK;
    if paddr == 0 {
        paddr = madt_addr;
    }
    debug_assert!(base & APIC_BASE_BSP != 0, "apic::init on an AP");
    XAPIC_BASE.store(paddr_to_vaddr(paddr), Ordering::Relaxed);
    MODE.store(if x2 { MODE_X2APIC } else { MODE_XAPIC }, Ordering::Relaxed);
    BSP_APIC_ID.store(boot_apic_id(), Ordering::Relaxed);
}

/// Whether x2APIC mode is in use.
pub(crate) fn is_x2apic() -> bool {
    MODE.load(Ordering::Relaxed) == MODE_X2APIC
}

/// Enables the calling CPU's local APIC: software-enabled with the
/// spurious vector, all priorities accepted, the timer masked, LINT0
/// (the 8259's ExtINT, unused once the I/O APIC delivers) masked, LINT1 an
/// NMI on the bootstrap processor only (as Linux's `setup_local_APIC`),
/// errors to [`irq::APIC_ERROR`].
pub(crate) fn init_this_cpu() {
    let mode = MODE.load(Ordering::Relaxed);
    assert_ne!(mode, MODE_NONE, "apic::init_this_cpu before apic::init");
    // SAFETY: as in `init`. Setting the enable bit, then EXTD when the CPU
    // supports x2APIC (checked in `init`; x2APIC mode is entered from xAPIC
    // mode, SDM 11.12.5), keeps the address; it changes only how this
    // CPU's APIC is reached, which this module owns.
    unsafe {
        let mut msr = Msr::new(IA32_APIC_BASE);
        let base = msr.read() | APIC_BASE_ENABLE;
        msr.write(base);
        if mode == MODE_X2APIC && base & APIC_BASE_X2APIC == 0 {
            msr.write(base | APIC_BASE_X2APIC);
        }
    }
    let is_bsp = this_apic_id() == BSP_APIC_ID.load(Ordering::Relaxed);

    write(TPR, 0);
    write(LVT_TIMER, LVT_MASKED | irq::TIMER as u32);
    write(LVT_LINT0, LVT_MASKED);
    let lint1_mask = if is_bsp { 0 } else { LVT_MASKED };
    write(LVT_LINT1, LVT_NMI | lint1_mask);
    write(LVT_ERROR, irq::APIC_ERROR as u32);
    // The ESR latches on a write; two writes clear stale errors (SDM
    // 11.5.3).
    write(ESR, 0);
    write(ESR, 0);
    write(SVR, SVR_ENABLE | irq::SPURIOUS as u32);
    // Anything the firmware left in service is done with.
    eoi();
}

/// APIC id of the calling CPU.
pub(crate) fn this_apic_id() -> u32 {
    match MODE.load(Ordering::Relaxed) {
        MODE_X2APIC => read(ID),
        MODE_XAPIC => read(ID) >> 24,
        _ => boot_apic_id(),
    }
}

/// APIC id of the bootstrap processor.
pub(crate) fn bsp_apic_id() -> u32 {
    BSP_APIC_ID.load(Ordering::Relaxed)
}

/// Acknowledges the interrupt in service.
pub(crate) fn eoi() {
    write(EOI, 0);
}

/// Sends interrupt `vector` to the CPU with APIC id `apic_id` (itself
/// included).
pub(crate) fn send_ipi(apic_id: u32, vector: u8) {
    send(apic_id, ICR_ASSERT | vector as u32);
}

/// Sends an INIT IPI: the target resets and waits for a startup IPI.
pub(crate) fn send_init(apic_id: u32) {
    send(apic_id, ICR_INIT | ICR_ASSERT);
}

/// Sends a startup IPI: the target, waiting since an INIT, starts in real
/// mode at `page * 4096`.
pub(crate) fn send_startup(apic_id: u32, page: u8) {
    send(apic_id, ICR_STARTUP | ICR_ASSERT | page as u32);
}

fn send(apic_id: u32, low: u32) {
    if MODE.load(Ordering::Relaxed) == MODE_X2APIC {
        let value = ((apic_id as u64) << 32) | low as u64;
        // SAFETY: the x2APIC ICR (MSR 0x830) exists in x2APIC mode, which
        // this CPU is in; sending an interrupt affects no memory.
        unsafe { Msr::new(0x830).write(value) };
        return;
    }
    // The two halves of the xAPIC ICR must not be interleaved with another
    // send from an interrupt handler on this CPU.
    without_interrupts(|| {
        while read(ICR_LOW) & ICR_DELIVERY_PENDING != 0 {
            core::hint::spin_loop();
        }
        write(ICR_HIGH, apic_id << 24);
        write(ICR_LOW, low);
    });
}

/// Clears and returns the error status (for the error interrupt).
pub(crate) fn take_errors() -> u32 {
    write(ESR, 0);
    read(ESR)
}

/// Starts the calling CPU's timer, periodic at `hz` on vector
/// [`irq::TIMER`]. The first call measures the timer's rate against the
/// TSC (10 ms), later calls (the other CPUs, whose timers run at the same
/// bus clock) reuse it. Returns false, leaving the timer off, if the timer
/// does not count.
pub(crate) fn start_timer(hz: u64) -> bool {
    write(TIMER_DIVIDE, TIMER_DIVIDE_BY_16);
    let mut per_tick = COUNTS_PER_TICK.load(Ordering::Relaxed);
    if per_tick == 0 {
        per_tick = calibrate(hz);
        if per_tick == 0 {
            return false;
        }
        COUNTS_PER_TICK.store(per_tick, Ordering::Relaxed);
    }
    write(LVT_TIMER, TIMER_PERIODIC | irq::TIMER as u32);
    write(TIMER_INITIAL, per_tick);
    true
}

/// Timer counts per `1/hz` s, measured over 10 ms of TSC time; 0 if the
/// timer does not count.
fn calibrate(hz: u64) -> u32 {
    const MEASURE_NS: u64 = 10_000_000;
    write(LVT_TIMER, LVT_MASKED | irq::TIMER as u32);
    let start_ns = super::tsc::nanos_since_boot();
    write(TIMER_INITIAL, u32::MAX);
    let mut now = start_ns;
    while now - start_ns < MEASURE_NS {
        core::hint::spin_loop();
        now = super::tsc::nanos_since_boot();
    }
    let counted = (u32::MAX - read(TIMER_CURRENT)) as u64;
    write(TIMER_INITIAL, 0);
    let per_sec = counted * 1_000_000_000 / (now - start_ns);
    let per_tick = (per_sec / hz.max(1)).min(u32::MAX as u64) as u32;
    log::debug!("apic: timer counts {per_sec} Hz (divided by 16), {per_tick} per tick");
    per_tick
}

fn read(reg: u32) -> u32 {
    if MODE.load(Ordering::Relaxed) == MODE_X2APIC {
        // SAFETY: every register this module names exists as MSR
        // 0x800 + reg/16 in x2APIC mode; reading has no side effects.
        unsafe { Msr::new(0x800 + reg / 16).read() as u32 }
    } else {
        let addr = XAPIC_BASE.load(Ordering::Relaxed) + reg as u64;
        // SAFETY: `init` set XAPIC_BASE to the linear-map address of the
        // APIC page (in the first 4 GiB, always mapped); `reg` is a
        // register offset inside it, 16-byte aligned. Each CPU sees its own
        // APIC at that address, so no other code aliases it.
        unsafe { (addr as *const u32).read_volatile() }
    }
}

fn write(reg: u32, value: u32) {
    if MODE.load(Ordering::Relaxed) == MODE_X2APIC {
        // SAFETY: as in `read`; writes change only this CPU's interrupt
        // state, which this module owns.
        unsafe { Msr::new(0x800 + reg / 16).write(value as u64) };
    } else {
        let addr = XAPIC_BASE.load(Ordering::Relaxed) + reg as u64;
        // SAFETY: as in `read`.
        unsafe { (addr as *mut u32).write_volatile(value) };
    }
}

#[cfg(feature = "ktest")]
mod test {
    use crate::prelude::ktest;
    use crate::timer::{TICK_HZ, jiffies, monotonic, spin_for};
    use core::time::Duration;

    #[ktest]
    fn timer_ticks_at_about_tick_hz() {
        if !super::super::irq::apic_mode() {
            return;
        }
        let (j0, t0) = (jiffies(), monotonic());
        spin_for(Duration::from_millis(300));
        let (j1, t1) = (jiffies(), monotonic());
        let expected = (t1 - t0).as_micros() as u64 * TICK_HZ / 1_000_000;
        let ticks = j1 - j0;
        // Loose bounds: under TCG on a busy host a vCPU may miss ticks.
        assert!(
            ticks >= expected / 2 && ticks <= expected * 3 / 2,
            "{ticks} ticks where {expected} were expected"
        );
    }
}
