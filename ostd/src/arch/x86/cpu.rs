//! CPU feature set-up: FPU/SSE/AVX for user programs, SMEP and SMAP, and
//! the extended-state save area size.

use core::arch::x86_64::{__cpuid, __cpuid_count};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::xcontrol::{XCr0, XCr0Flags};

unsafe extern "C" {
    /// Nonzero when SMAP is on: `stac`/`clac` are then used (see
    /// `mm::user_copy` and the trap entry).
    static mut __ostd_smap_enabled: u8;
}

static HAS_XSAVE: AtomicBool = AtomicBool::new(false);
static XSAVE_SIZE: AtomicUsize = AtomicUsize::new(512);
static XSAVE_MASK: AtomicUsize = AtomicUsize::new(0);
/// CR4 as [`init_features`] left it on the bootstrap processor, for the
/// other CPUs (all of one model).
static BSP_CR4: AtomicU64 = AtomicU64::new(0);

/// Whether `xsave`/`xrstor` are in use (else `fxsave`/`fxrstor`).
pub(crate) fn has_xsave() -> bool {
    HAS_XSAVE.load(Ordering::Relaxed)
}

/// Size in bytes of the FPU save area for the enabled features.
pub(crate) fn fpu_area_size() -> usize {
    XSAVE_SIZE.load(Ordering::Relaxed)
}

/// The XCR0 features saved and restored.
pub(crate) fn xsave_mask() -> u64 {
    XSAVE_MASK.load(Ordering::Relaxed) as u64
}

pub(crate) fn init_features() {
    let leaf1 = __cpuid(1);
    let leaf7 = __cpuid_count(7, 0);

    // SAFETY: setting MP/NE and clearing EM/TS only changes how FPU
    // instructions trap; the kernel itself is built without SSE.
    unsafe {
        Cr0::update(|f| {
            f.insert(Cr0Flags::MONITOR_COPROCESSOR | Cr0Flags::NUMERIC_ERROR);
            f.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
        })
    };

    let mut cr4 = Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE;
    let xsave = leaf1.ecx & (1 << 26) != 0;
    if xsave {
        cr4 |= Cr4Flags::OSXSAVE;
    }
    if leaf7.ebx & (1 << 7) != 0 {
        // SMEP: the kernel never executes user pages.
        cr4 |= Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION;
    }
    if leaf7.ebx & (1 << 20) != 0 {
        // SMAP: the kernel touches user pages only inside the user-copy
        // routines, which set AC around their copy instructions.
        // SAFETY: a byte read only by the trap entry and the user-copy
        // routines, written once here during boot on one CPU before any of
        // them can run; `stac`/`clac` are valid since CPUID reports SMAP.
        unsafe { (&raw mut __ostd_smap_enabled).write(1) };
        cr4 |= Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION;
    }
    // SAFETY: each flag is set only when CPUID reports the feature; none of
    // them changes memory mappings.
    unsafe { Cr4::update(|f| f.insert(cr4)) };

    if xsave {
        let mut features = XCr0Flags::X87 | XCr0Flags::SSE;
        if leaf1.ecx & (1 << 28) != 0 {
            features |= XCr0Flags::AVX;
        }
        // SAFETY: CR4.OSXSAVE is set and only supported features are
        // enabled (x87 and SSE always, AVX when CPUID says so).
        unsafe { XCr0::write(features) };
        let size = __cpuid_count(0xd, 0).ebx as usize;
        XSAVE_SIZE.store(size.max(576), Ordering::Relaxed);
        XSAVE_MASK.store(features.bits() as usize, Ordering::Relaxed);
        HAS_XSAVE.store(true, Ordering::Relaxed);
    }
    BSP_CR4.store(Cr4::read_raw(), Ordering::Relaxed);
}

/// Whether CPUID says the kernel runs under a hypervisor.
pub(crate) fn under_hypervisor() -> bool {
    __cpuid(1).ecx & (1 << 31) != 0
}

/// Enables on an application processor the features [`init_features`]
/// enabled on the bootstrap processor (which ran it first).
pub(crate) fn init_features_on_ap() {
    // SAFETY: as in `init_features`.
    unsafe {
        Cr0::update(|f| {
            f.insert(Cr0Flags::MONITOR_COPROCESSOR | Cr0Flags::NUMERIC_ERROR);
            f.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
        })
    };
    // SAFETY: the bootstrap processor's CR4, which holds only features its
    // CPUID reported; every CPU of the machine is of the same model. Its
    // paging bits (PAE, and PGE if set) match the kernel page table this CPU
    // runs on.
    unsafe { Cr4::write_raw(BSP_CR4.load(Ordering::Relaxed)) };
    if has_xsave() {
        let features = XCr0Flags::from_bits_truncate(xsave_mask());
        // SAFETY: CR4.OSXSAVE was just set (it is in the BSP's CR4 when
        // XSAVE is in use) and the features are those the BSP enabled.
        unsafe { XCr0::write(features) };
    }
}
