//! FPU/SSE/AVX state of user threads: saved when a task is switched out,
//! restored lazily.
//!
//! The kernel is compiled without SSE, so a CPU's FPU registers hold the
//! state of the last user context that entered user mode on it (its
//! *owner*, in the CPU's area). Entering user mode marks them *dirty*:
//! newer than the owner's buffer. When the scheduler switches tasks it
//! saves dirty registers into the owner's buffer (the owner then belongs
//! to the outgoing task, which cannot have dropped it: a context is
//! dropped only by its own thread, and dropping one clears the mark). The
//! registers stay loaded: if the same context enters user mode on the same
//! CPU next, with nobody else's state loaded there in between, nothing is
//! restored. A state remembers the CPU that loaded it last (`last_cpu`):
//! a CPU that loads it clears that CPU's owner slot if it still names the
//! state, so at most one CPU names a state, and only while its registers
//! are current; a thread that ran elsewhere meanwhile is reloaded from its
//! (saved, so current) buffer. Only the CPU where the state's thread runs
//! loads it, so two CPUs never do this for one state at once.

use alloc::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::arch::x86::cpu::{fpu_area_size, has_xsave, xsave_mask};
use crate::cpu::PerCpu;

/// Bit 0 of a CPU's owner slot: its registers are newer than the owner's
/// buffer (the buffer is 64-byte aligned, so the bit is free).
const DIRTY: usize = 1;

/// `last_cpu` of a state that no CPU has loaded since it last changed.
const NO_CPU: u32 = u32::MAX;

/// A saved FPU/SSE/AVX state (the `xsave` or `fxsave` area).
pub struct FpuState {
    area: NonNull<u8>,
    /// The CPU whose registers were loaded from this state last, or
    /// `NO_CPU`.
    last_cpu: AtomicU32,
}

// SAFETY: the buffer is owned by this value; the only other access is the
// save of a CPU's dirty registers (`save_dirty`), which runs
// with interrupts disabled on the CPU where the owning thread runs, while
// no `&mut` to the area is live (the area is only reached through raw
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
        let s = Self {
            area,
            last_cpu: AtomicU32::new(NO_CPU),
        };
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

    /// Whether `cpu`'s registers hold this state (see the module
    /// documentation: a CPU's slot names a state only while they do).
    fn is_loaded_in(&self, cpu: &PerCpu) -> bool {
        cpu.fpu_owner.load(Ordering::Relaxed) & !DIRTY == self.addr()
    }

    fn addr(&self) -> usize {
        self.area.as_ptr() as usize
    }

    /// Clears the owner slot of the CPU that loaded this state last, if it
    /// still names it (that CPU's registers stop being this state's).
    fn unname(&self, replace: u32) {
        let last = self.last_cpu.swap(replace, Ordering::Relaxed);
        if last != NO_CPU && last != replace {
            // Never dereferenced there: a CPU saves through its slot only
            // while its own running thread's state is loaded, and this
            // state's thread is here.
            let _ = crate::cpu::cpu(last as usize).fpu_owner.compare_exchange(
                self.addr(),
                0,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// Makes this state the one in `cpu`'s registers (the running CPU's),
    /// saving the previous owner's if they are dirty, and marks them dirty.
    /// Called with interrupts disabled before entering user mode.
    #[inline]
    pub(crate) fn load(&self, cpu: &PerCpu) {
        let slot = cpu.fpu_owner.load(Ordering::Relaxed);
        // The usual case: the same thread enters user mode again.
        if slot != self.addr() | DIRTY {
            self.load_slow(cpu, slot);
        }
    }

    #[cold]
    fn load_slow(&self, cpu: &PerCpu, slot: usize) {
        if slot != self.addr() {
            save_dirty(cpu);
            // SAFETY: our buffer holds a valid state (initial, saved by
            // `save`, or copied from one), aligned and sized for the
            // enabled features; it is current, since the registers of any
            // CPU that ran this state were saved when its task switched
            // out (or below, when it is this CPU's).
            unsafe { restore(self.area.as_ptr()) };
            self.unname(cpu.index() as u32);
        }
        cpu.fpu_owner.store(self.addr() | DIRTY, Ordering::Relaxed);
    }

    /// Writes the live registers into the buffer if they hold this state
    /// and are newer (the state's thread is the caller, on this CPU).
    fn sync(&self) {
        let _irq = crate::sync::disable_irqs();
        let cpu = crate::cpu::this_cpu();
        if self.is_loaded_in(cpu) {
            save_dirty(cpu);
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
        self.forget(crate::cpu::this_cpu());
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

impl FpuState {
    /// Makes every CPU reload this state before running it, and stops
    /// `cpu` (the running one) from saving its registers into it.
    fn forget(&self, cpu: &PerCpu) {
        if self.is_loaded_in(cpu) {
            cpu.fpu_owner.store(0, Ordering::Relaxed);
        }
        self.unname(NO_CPU);
    }
}

impl Drop for FpuState {
    fn drop(&mut self) {
        {
            let _irq = crate::sync::disable_irqs();
            // No CPU names the buffer afterwards (a new state at the same
            // address must not pass for loaded), and none has dirty
            // registers for it: those would belong to the thread running
            // there, and a state is dropped by its own thread (or after it
            // exited, which saved them).
            self.forget(crate::cpu::this_cpu());
        }
        // SAFETY: allocated in `new` with the same layout; no CPU will save
        // into it any more (see above).
        unsafe { dealloc(self.area.as_ptr(), layout()) };
    }
}

/// Saves `cpu`'s registers into their owner's buffer if they are newer.
/// Called on `cpu` with interrupts disabled, by the scheduler before it
/// switches tasks and before another state is loaded.
pub(crate) fn save_dirty(cpu: &PerCpu) {
    let slot = cpu.fpu_owner.load(Ordering::Relaxed);
    if slot & DIRTY == 0 {
        return;
    }
    let owner = slot & !DIRTY;
    // SAFETY: dirty registers belong to the context that entered user mode
    // on this CPU since the last switch, which is the running task's and
    // alive (dropping it clears the slot, see `forget`); its buffer is
    // 64-byte aligned and of the area size; interrupts are off, so nothing
    // else touches it.
    unsafe { save(owner as *mut u8) };
    cpu.fpu_owner.store(owner, Ordering::Relaxed);
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
