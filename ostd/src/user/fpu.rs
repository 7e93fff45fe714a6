//! FPU/SSE/AVX state of user threads, switched lazily.
//!
//! The kernel is compiled without SSE, so the FPU registers always hold the
//! state of the last user context that ran. Entering user mode with another
//! context saves that owner's registers into its buffer and loads the new
//! one; a thread that makes syscalls without other threads running in
//! between pays nothing. The owner is tracked by the address of its buffer,
//! which is a separate heap allocation that never moves; dropping a state
//! clears the owner if it is the owner.

use alloc::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::arch::x86::cpu::{fpu_area_size, has_xsave, xsave_mask};

/// Address of the buffer whose state is live in the FPU registers.
static OWNER: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());

/// A saved FPU/SSE/AVX state (the `xsave` or `fxsave` area).
pub struct FpuState {
    area: NonNull<u8>,
}

// SAFETY: the buffer is owned by this value; the only other access is the
// lazy save in `load`, which runs with interrupts disabled on the one CPU
// while no `&mut` to the area is live (the area is only reached through raw
// pointers).
unsafe impl Send for FpuState {}
// SAFETY: as above; shared access only reads through `save_live`/copies.
unsafe impl Sync for FpuState {}

fn layout() -> Layout {
    Layout::from_size_align(fpu_area_size(), 64).expect("FPU area layout")
}

impl Default for FpuState {
    fn default() -> Self {
        Self::new()
    }
}

impl FpuState {
    /// The initial state: default control words, all registers zero.
    pub fn new() -> Self {
        // SAFETY: the layout has a nonzero size.
        let p = unsafe { alloc_zeroed(layout()) };
        let area = NonNull::new(p).unwrap_or_else(|| handle_alloc_error(layout()));
        let s = Self { area };
        s.write_bytes(0, &0x037fu16.to_le_bytes()); // FCW
        s.write_bytes(24, &0x1f80u32.to_le_bytes()); // MXCSR
        s
    }

    fn write_bytes(&self, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= fpu_area_size());
        // SAFETY: in bounds of our allocation, checked above.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.area.as_ptr().add(offset),
                bytes.len(),
            )
        };
    }

    fn is_owner(&self) -> bool {
        OWNER.load(Ordering::Relaxed) == self.area.as_ptr()
    }

    /// Makes this state the one in the FPU registers, saving the previous
    /// owner's. Called with interrupts disabled before entering user mode.
    pub(crate) fn load(&self) {
        if self.is_owner() {
            return;
        }
        let prev = OWNER.load(Ordering::Relaxed);
        if !prev.is_null() {
            // SAFETY: `prev` is the live buffer of another `FpuState` (its
            // drop would have cleared OWNER), 64-byte aligned and of the
            // area size; interrupts are off, so nothing else touches it.
            unsafe { save(prev) };
        }
        // SAFETY: our buffer holds a valid state (initial, saved by `save`,
        // or copied from one), aligned and sized for the enabled features.
        unsafe { restore(self.area.as_ptr()) };
        OWNER.store(self.area.as_ptr(), Ordering::Relaxed);
    }

    /// Writes the live registers into the buffer if this state owns them.
    fn sync(&self) {
        let _irq = crate::sync::disable_irqs();
        if self.is_owner() {
            // SAFETY: our own buffer; interrupts are off.
            unsafe { save(self.area.as_ptr()) };
        }
    }

    /// The raw save area (as `fxsave`/`xsave` lay it out), e.g. to build a
    /// signal frame.
    pub fn as_bytes(&self, out: &mut [u8]) -> usize {
        self.sync();
        let n = out.len().min(fpu_area_size());
        // SAFETY: `n` is within our buffer.
        unsafe { core::ptr::copy_nonoverlapping(self.area.as_ptr(), out.as_mut_ptr(), n) };
        n
    }

    /// Replaces the state with `bytes` (at most the area size), e.g. from a
    /// signal frame. Invalid contents are sanitised: reserved MXCSR bits are
    /// cleared so that the restore cannot fault.
    pub fn set_bytes(&mut self, bytes: &[u8]) {
        let _irq = crate::sync::disable_irqs();
        if self.is_owner() {
            OWNER.store(core::ptr::null_mut(), Ordering::Relaxed);
        }
        let n = bytes.len().min(fpu_area_size());
        self.write_bytes(0, &bytes[..n]);
        let mut mxcsr = [0u8; 4];
        // SAFETY: offset 24..28 is within the legacy area.
        unsafe {
            core::ptr::copy_nonoverlapping(self.area.as_ptr().add(24), mxcsr.as_mut_ptr(), 4)
        };
        let m = u32::from_le_bytes(mxcsr) & 0xffff;
        self.write_bytes(24, &m.to_le_bytes());
        if has_xsave() {
            // XSTATE_BV may only name enabled features; XCOMP_BV and the
            // reserved header bytes must be zero for the standard format.
            let mut bv = [0u8; 8];
            // SAFETY: 512..520 is within the area (xsave areas are >= 576).
            unsafe {
                core::ptr::copy_nonoverlapping(self.area.as_ptr().add(512), bv.as_mut_ptr(), 8)
            };
            let bv = u64::from_le_bytes(bv) & xsave_mask();
            self.write_bytes(512, &bv.to_le_bytes());
            self.write_bytes(520, &[0u8; 56]);
        }
    }
}

impl Clone for FpuState {
    fn clone(&self) -> Self {
        self.sync();
        let new = Self::new();
        // SAFETY: both buffers have the area size; distinct allocations.
        unsafe {
            core::ptr::copy_nonoverlapping(self.area.as_ptr(), new.area.as_ptr(), fpu_area_size())
        };
        new
    }
}

impl Drop for FpuState {
    fn drop(&mut self) {
        let _ = OWNER.compare_exchange(
            self.area.as_ptr(),
            core::ptr::null_mut(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        // SAFETY: allocated in `new` with the same layout; no longer owner.
        unsafe { dealloc(self.area.as_ptr(), layout()) };
    }
}

/// # Safety
/// `area` must be a 64-byte aligned buffer of `fpu_area_size()` bytes.
unsafe fn save(area: *mut u8) {
    if has_xsave() {
        let mask = xsave_mask();
        // SAFETY: guaranteed by the caller; XSAVE is enabled in CR4.
        unsafe {
            core::arch::asm!("xsave64 [{}]", in(reg) area, in("eax") mask as u32, in("edx") (mask >> 32) as u32, options(nostack))
        };
    } else {
        // SAFETY: guaranteed by the caller (512 bytes, 16-byte aligned).
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) area, options(nostack)) };
    }
}

/// # Safety
/// `area` must be an aligned buffer holding a valid saved state.
unsafe fn restore(area: *const u8) {
    if has_xsave() {
        let mask = xsave_mask();
        // SAFETY: guaranteed by the caller.
        unsafe {
            core::arch::asm!("xrstor64 [{}]", in(reg) area, in("eax") mask as u32, in("edx") (mask >> 32) as u32, options(nostack))
        };
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) area, options(nostack)) };
    }
}
