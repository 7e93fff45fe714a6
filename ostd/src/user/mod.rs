//! The user-mode boundary.
//!
//! [`UserContext`] holds a user thread's registers and FPU state;
//! [`UserContext::execute`] runs the thread in user mode until it makes a
//! system call, raises an exception, or the kernel has something to do
//! (returns [`ReturnReason`]). Interrupts that arrive meanwhile are handled
//! here, and the task is rescheduled when its time slice is over, so the
//! kernel sees only the events that concern the thread.

mod fpu;

use x86_64::registers::model_specific::Msr;

pub use fpu::FpuState;

use crate::arch::x86::gdt::{USER_CS, USER_DS};
use crate::arch::x86::idt::{__ostd_run_user, __ostd_syscall_entry, SYSCALL_VECTOR, TrapFrame};
use crate::arch::x86::mm::USER_SPACE_END;

const IA32_STAR: u32 = 0xc000_0081;
const IA32_LSTAR: u32 = 0xc000_0082;
const IA32_FMASK: u32 = 0xc000_0084;
const IA32_FS_BASE: u32 = 0xc000_0100;

/// RFLAGS bits user code may control: CF PF AF ZF SF TF DF OF AC ID (and
/// the always-one bit 1). IF is always set, IOPL always 0.
const USER_RFLAGS_MASK: u64 =
    0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4_0000 | 0x20_0000;
const RFLAGS_IF: u64 = 1 << 9;

/// Saves the running CPU's FPU registers for the task being switched out
/// (interrupts are off; see `fpu`).
pub(crate) fn save_fpu_on_switch() {
    fpu::save_dirty(crate::cpu::this_cpu());
}

/// Sets up `syscall` on the running CPU.
pub(crate) fn init() {
    // SAFETY: STAR/LSTAR/FMASK configure `syscall` to enter at
    // `__ostd_syscall_entry` with the kernel segments of our GDT and with
    // interrupts, direction, trap and alignment-check flags cleared; EFER.SCE
    // was set by the boot code.
    unsafe {
        let star =
            ((USER_DS as u64 - 8 - 3) << 48) | ((crate::arch::x86::gdt::KERNEL_CS as u64) << 32);
        Msr::new(IA32_STAR).write(star);
        Msr::new(IA32_LSTAR).write(__ostd_syscall_entry as *const () as u64);
        Msr::new(IA32_FMASK).write(0x4_7700);
    }
}

/// The general-purpose registers of a user thread.
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct GeneralRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    pub fs_base: u64,
}

/// Details of a CPU exception raised in user mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuException {
    /// The vector (e.g. 14 for a page fault).
    pub vector: u64,
    /// The error code pushed by the CPU (0 if none).
    pub error_code: u64,
    /// For a page fault, the faulting address (CR2).
    pub page_fault_addr: u64,
}

impl CpuException {
    /// Page fault.
    pub const PAGE_FAULT: u64 = 14;
    /// General protection fault.
    pub const GENERAL_PROTECTION: u64 = 13;

    /// For a page fault: the access was a write.
    pub fn is_write(&self) -> bool {
        self.error_code & 2 != 0
    }
    /// For a page fault: the page was present (a protection violation).
    pub fn is_protection(&self) -> bool {
        self.error_code & 1 != 0
    }
    /// For a page fault: the access was an instruction fetch.
    pub fn is_fetch(&self) -> bool {
        self.error_code & 0x10 != 0
    }
}

/// [`UserContext::set_fs_base`] was given an address that is not a
/// canonical user address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidFsBase;

/// Why [`UserContext::execute`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnReason {
    /// The thread executed `syscall`; the number is in `rax`.
    Syscall,
    /// The thread raised an exception.
    Exception(CpuException),
    /// The kernel's `has_event` check returned true.
    KernelEvent,
}

/// A user thread's registers and FPU state.
pub struct UserContext {
    frame: TrapFrame,
    fs_base: u64,
    fpu: FpuState,
}

impl Default for UserContext {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for UserContext {
    fn clone(&self) -> Self {
        Self {
            frame: self.frame,
            fs_base: self.fs_base,
            fpu: self.fpu.clone(),
        }
    }
}

impl UserContext {
    /// A context with all registers zero and a fresh FPU state.
    pub fn new() -> Self {
        Self {
            frame: TrapFrame {
                rflags: RFLAGS_IF | 2,
                ..TrapFrame::default()
            },
            fs_base: 0,
            fpu: FpuState::new(),
        }
    }

    /// The general registers.
    pub fn general_regs(&self) -> GeneralRegs {
        let f = &self.frame;
        GeneralRegs {
            rax: f.rax,
            rbx: f.rbx,
            rcx: f.rcx,
            rdx: f.rdx,
            rsi: f.rsi,
            rdi: f.rdi,
            rbp: f.rbp,
            rsp: f.rsp,
            r8: f.r8,
            r9: f.r9,
            r10: f.r10,
            r11: f.r11,
            r12: f.r12,
            r13: f.r13,
            r14: f.r14,
            r15: f.r15,
            rip: f.rip,
            rflags: f.rflags,
            fs_base: self.fs_base,
        }
    }

    /// Replaces the general registers. RFLAGS is sanitised (interrupts
    /// stay enabled, no I/O privilege); an invalid FS base is ignored.
    pub fn set_general_regs(&mut self, r: &GeneralRegs) {
        let f = &mut self.frame;
        f.rax = r.rax;
        f.rbx = r.rbx;
        f.rcx = r.rcx;
        f.rdx = r.rdx;
        f.rsi = r.rsi;
        f.rdi = r.rdi;
        f.rbp = r.rbp;
        f.rsp = r.rsp;
        f.r8 = r.r8;
        f.r9 = r.r9;
        f.r10 = r.r10;
        f.r11 = r.r11;
        f.r12 = r.r12;
        f.r13 = r.r13;
        f.r14 = r.r14;
        f.r15 = r.r15;
        f.rip = r.rip;
        self.set_rflags(r.rflags);
        let _ = self.set_fs_base(r.fs_base);
    }

    /// The FPU/SSE/AVX state.
    pub fn fpu(&self) -> &FpuState {
        &self.fpu
    }

    /// The FPU/SSE/AVX state, mutably.
    pub fn fpu_mut(&mut self) -> &mut FpuState {
        &mut self.fpu
    }

    /// Sets RFLAGS, keeping only the bits user code may control.
    pub fn set_rflags(&mut self, rflags: u64) {
        self.frame.rflags = (rflags & USER_RFLAGS_MASK) | RFLAGS_IF | 2;
    }

    /// The syscall number and arguments: `(rax, [rdi, rsi, rdx, r10, r8, r9])`.
    pub fn syscall_args(&self) -> (u64, [u64; 6]) {
        let f = &self.frame;
        (f.rax, [f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9])
    }

    /// Sets the syscall return value (`rax`).
    pub fn set_syscall_ret(&mut self, value: u64) {
        self.frame.rax = value;
    }

    /// Instruction pointer.
    pub fn rip(&self) -> u64 {
        self.frame.rip
    }
    /// Sets the instruction pointer.
    pub fn set_rip(&mut self, v: u64) {
        self.frame.rip = v;
    }
    /// Stack pointer.
    pub fn rsp(&self) -> u64 {
        self.frame.rsp
    }
    /// Sets the stack pointer.
    pub fn set_rsp(&mut self, v: u64) {
        self.frame.rsp = v;
    }
    /// Return-value register.
    pub fn rax(&self) -> u64 {
        self.frame.rax
    }
    /// Sets `rax`.
    pub fn set_rax(&mut self, v: u64) {
        self.frame.rax = v;
    }
    /// Sets `rdi` (first argument register).
    pub fn set_rdi(&mut self, v: u64) {
        self.frame.rdi = v;
    }
    /// Sets `rsi`.
    pub fn set_rsi(&mut self, v: u64) {
        self.frame.rsi = v;
    }
    /// Sets `rdx`.
    pub fn set_rdx(&mut self, v: u64) {
        self.frame.rdx = v;
    }
    /// FS base (the thread pointer on x86-64 Linux).
    pub fn fs_base(&self) -> u64 {
        self.fs_base
    }
    /// Sets the FS base. A kernel or non-canonical address is refused (it
    /// could not be loaded, and keeping the previous thread's base instead
    /// would leak it): the caller reports `EPERM` as Linux does.
    pub fn set_fs_base(&mut self, v: u64) -> Result<(), InvalidFsBase> {
        if v >= USER_SPACE_END {
            return Err(InvalidFsBase);
        }
        self.fs_base = v;
        Ok(())
    }

    /// Runs the thread in user mode until something needs the kernel:
    /// a syscall, an exception, or `has_event()` returning true (checked
    /// before entering and after every interrupt).
    // Inlined into the kernel's thread loop: this is the path of every
    // system call.
    #[inline(always)]
    pub fn execute(&mut self, mut has_event: impl FnMut() -> bool) -> ReturnReason {
        loop {
            crate::task::preempt_if_needed();
            if has_event() {
                return ReturnReason::KernelEvent;
            }
            // A non-canonical or kernel RIP would make `sysret`/`iret`
            // fault in kernel mode; report it as the #GP Linux would deliver.
            if self.frame.rip >= USER_SPACE_END {
                return ReturnReason::Exception(CpuException {
                    vector: CpuException::GENERAL_PROTECTION,
                    error_code: 0,
                    page_fault_addr: 0,
                });
            }
            let irq = crate::sync::disable_irqs();
            self.enter_user();
            let vector = self.frame.vector;
            if vector == SYSCALL_VECTOR {
                drop(irq);
                return ReturnReason::Syscall;
            }
            if (32..256).contains(&vector) {
                let _user = crate::task::stats::UserModeIrq::enter();
                crate::trap::handle_irq(vector);
                drop(irq);
                continue;
            }
            let page_fault_addr = if vector == CpuException::PAGE_FAULT {
                crate::trap::read_cr2()
            } else {
                0
            };
            drop(irq);
            return ReturnReason::Exception(CpuException {
                vector,
                error_code: self.frame.error_code,
                page_fault_addr,
            });
        }
    }

    /// Enters user mode; returns when the thread traps back. Interrupts must
    /// be disabled.
    fn enter_user(&mut self) {
        let cpu = crate::cpu::this_cpu();
        self.fpu.load(cpu);
        if cpu
            .loaded_fs_base
            .load(core::sync::atomic::Ordering::Relaxed)
            != self.fs_base
        {
            // SAFETY: writing IA32_FS_BASE only changes the user's thread
            // pointer; the kernel does not use FS. The value is a canonical
            // user address (`set_fs_base` refuses others), so the write
            // cannot fault.
            unsafe { Msr::new(IA32_FS_BASE).write(self.fs_base) };
            cpu.loaded_fs_base
                .store(self.fs_base, core::sync::atomic::Ordering::Relaxed);
        }
        let f = &mut self.frame;
        f.cs = USER_CS as u64;
        f.ss = USER_DS as u64;
        f.rflags = (f.rflags & USER_RFLAGS_MASK) | RFLAGS_IF | 2;
        // `sysret` is cheaper than `iret`, but clobbers rcx and r11 with rip
        // and rflags: use it only when they already hold those values (the
        // usual return from a syscall).
        let use_sysret = f.vector == SYSCALL_VECTOR && f.rcx == f.rip && f.r11 == f.rflags;
        let frame_ptr: *mut TrapFrame = f;
        let frame_end = frame_ptr as u64 + size_of::<TrapFrame>() as u64;
        cpu.set_user_entry(frame_end);
        // SAFETY: interrupts are disabled; the frame holds user selectors, a
        // user RIP (checked by the caller) and sanitised RFLAGS, so the
        // return to user mode cannot fault in kernel mode. This CPU's RSP0
        // and syscall frame pointer (interrupts are off, so the task stays
        // on this CPU until it traps back) point at the end of this frame, which
        // lives until we return (we hold `&mut self`), and is 16-byte
        // aligned (`TrapFrame` is `align(16)` and a multiple of 16 in size),
        // as the CPU requires for the frame it pushes.
        unsafe { __ostd_run_user(frame_ptr, use_sysret as u64) };
    }
}
