//! Per-CPU state and CPU numbering.
//!
//! Every CPU has a [`PerCpu`] area in a static array, indexed by the CPU's
//! number (0 for the bootstrap processor, then the application processors
//! in the order the firmware lists them). In kernel mode the GS base points
//! at the running CPU's area: the trap entry code reaches its scratch slots
//! with `%gs:` operands, and Rust code with [`this_cpu`]. In user mode the
//! GS base is the user's (zero: `arch_prctl(ARCH_SET_GS)` is refused), and
//! every entry from user mode or return to it swaps the two with `swapgs`
//! (see `arch::x86::idt`).
//!
//! A task may be preempted and moved to another CPU between any two
//! instructions that run with interrupts enabled. So a `&PerCpu` from
//! [`this_cpu`] names the CPU the task was on when it asked: its fields are
//! atomics (safe to touch from anywhere), and code for which "this CPU"
//! must stay true keeps interrupts disabled while it uses them. Values that
//! must be read as one with the CPU's identity (the running task, the CPU
//! number) are read with a single `%gs:`-relative instruction.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use x86_64::registers::model_specific::Msr;
use x86_64::structures::gdt::GlobalDescriptorTable;
use x86_64::structures::tss::TaskStateSegment;

use crate::task::Task;

/// The most CPUs this kernel brings up.
pub const MAX_CPUS: usize = 64;

const IA32_GS_BASE: u32 = 0xc000_0101;
const IA32_KERNEL_GS_BASE: u32 = 0xc000_0102;

/// The state of one CPU. The first fields are at fixed offsets used by the
/// assembly entry code (checked below).
#[repr(C, align(64))]
pub(crate) struct PerCpu {
    /// The address of this area (`%gs:0`), so that Rust code finds it with
    /// one load.
    self_addr: AtomicU64,
    /// The kernel stack pointer saved by `__ostd_run_user`, restored when
    /// the user thread traps back.
    kernel_rsp: AtomicU64,
    /// The user stack pointer, kept by the syscall entry while it switches
    /// stacks.
    user_rsp_scratch: AtomicU64,
    /// The end of the running `UserContext`'s frame, where the syscall
    /// entry builds the user frame.
    user_frame_end: AtomicU64,
    /// The CPU's number.
    index: AtomicU32,
    /// Set once the CPU runs the scheduler.
    online: AtomicBool,
    /// The task running on this CPU (the scheduler holds a reference).
    pub(crate) current_task: AtomicPtr<Task>,
    /// The running task should make way at the next preemption point.
    pub(crate) need_resched: AtomicBool,
    /// The user FS base loaded in the CPU.
    pub(crate) loaded_fs_base: AtomicU64,
    /// The address of the FPU state whose registers are live in this CPU
    /// (see `user::fpu`), with bit 0 set when they are newer than its
    /// buffer.
    pub(crate) fpu_owner: AtomicUsize,
    /// Set while an interrupt that arrived in user mode is handled (for
    /// the user/system split of CPU time).
    pub(crate) irq_from_user: AtomicBool,
    /// CPU-time statistics (see `task::stats`).
    pub(crate) stats: crate::task::stats::CpuStats,
    /// The local APIC id (for IPIs).
    pub(crate) apic_id: AtomicU32,
    /// A few free frames for this CPU's allocations (see `mm::frame`).
    pub(crate) frame_cache: crate::mm::FrameCache,
    /// The CPU's TSS and GDT: written by the CPU itself, during its
    /// initialisation and (RSP0) with interrupts off on each entry to user
    /// mode.
    tss: UnsafeCell<TaskStateSegment>,
    gdt: UnsafeCell<GlobalDescriptorTable>,
}

/// Offsets of the fields the assembly uses.
pub(crate) mod offset {
    pub const KERNEL_RSP: usize = 8;
    pub const USER_RSP_SCRATCH: usize = 16;
    pub const USER_FRAME_END: usize = 24;
    pub const INDEX: usize = 32;
    pub const CURRENT_TASK: usize = 40;
    pub const NEED_RESCHED: usize = 48;
}

const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(PerCpu, self_addr) == 0);
    assert!(offset_of!(PerCpu, kernel_rsp) == offset::KERNEL_RSP);
    assert!(offset_of!(PerCpu, user_rsp_scratch) == offset::USER_RSP_SCRATCH);
    assert!(offset_of!(PerCpu, user_frame_end) == offset::USER_FRAME_END);
    assert!(offset_of!(PerCpu, index) == offset::INDEX);
    assert!(offset_of!(PerCpu, current_task) == offset::CURRENT_TASK);
    assert!(offset_of!(PerCpu, need_resched) == offset::NEED_RESCHED);
};

// SAFETY: every field but `tss`, `gdt` and `frame_cache` is an atomic (the
// frame cache is `Sync` itself, argued in `mm::frame`). The TSS and GDT of
// a CPU are written only by that CPU: in `init_tables` (once, before the
// CPU loads them) and in `set_kernel_stack` (RSP0, with interrupts off, so
// nothing else on the CPU runs meanwhile); other CPUs never touch them.
unsafe impl Sync for PerCpu {}

impl PerCpu {
    const fn new() -> Self {
        Self {
            self_addr: AtomicU64::new(0),
            kernel_rsp: AtomicU64::new(0),
            user_rsp_scratch: AtomicU64::new(0),
            user_frame_end: AtomicU64::new(0),
            index: AtomicU32::new(0),
            online: AtomicBool::new(false),
            current_task: AtomicPtr::new(core::ptr::null_mut()),
            need_resched: AtomicBool::new(false),
            loaded_fs_base: AtomicU64::new(0),
            fpu_owner: AtomicUsize::new(0),
            irq_from_user: AtomicBool::new(false),
            stats: crate::task::stats::CpuStats::new(),
            apic_id: AtomicU32::new(0),
            frame_cache: crate::mm::FrameCache::new(),
            tss: UnsafeCell::new(TaskStateSegment::new()),
            gdt: UnsafeCell::new(GlobalDescriptorTable::new()),
        }
    }

    /// The CPU's number.
    pub(crate) fn index(&self) -> usize {
        self.index.load(Ordering::Relaxed) as usize
    }

    /// Whether the CPU is up and scheduling.
    pub(crate) fn is_online(&self) -> bool {
        self.online.load(Ordering::Acquire)
    }

    /// Sets the stack the CPU switches to on a trap from user mode, and
    /// where the syscall entry builds the user frame. Must be called on
    /// this CPU with interrupts disabled.
    pub(crate) fn set_user_entry(&self, frame_end: u64) {
        debug_assert!(!x86_64::instructions::interrupts::are_enabled());
        // SAFETY: this is the running CPU's area (the caller's contract,
        // checked in debug builds below) and interrupts are off: nothing
        // else accesses the TSS; the CPU reads RSP0 only on a privilege
        // change, which cannot happen while this runs in kernel mode.
        debug_assert_eq!(self.index(), this_cpu_index());
        unsafe {
            (*self.tss.get()).privilege_stack_table[0] = x86_64::VirtAddr::new(frame_end);
        }
        self.user_frame_end.store(frame_end, Ordering::Relaxed);
    }
}

static CPUS: [PerCpu; MAX_CPUS] = [const { PerCpu::new() }; MAX_CPUS];
/// How many CPUs are online (they are numbered `0..NR_ONLINE`).
static NR_ONLINE: AtomicUsize = AtomicUsize::new(1);

/// The area of CPU `index`.
pub(crate) fn cpu(index: usize) -> &'static PerCpu {
    &CPUS[index]
}

/// The areas of the online CPUs.
pub(crate) fn online_cpus() -> impl Iterator<Item = &'static PerCpu> {
    CPUS[..num_cpus()].iter().filter(|c| c.is_online())
}

/// The CPUs that are up, as a mask (bit `n`: CPU `n`).
pub fn online_mask() -> u64 {
    online_cpus().fold(0, |m, c| m | (1 << c.index()))
}

/// The local APIC id of CPU `index`, if it is up.
pub fn apic_id(index: usize) -> Option<u32> {
    let c = CPUS.get(index)?;
    c.is_online().then(|| c.apic_id.load(Ordering::Relaxed))
}

/// The number of CPUs that are up.
pub fn num_cpus() -> usize {
    NR_ONLINE.load(Ordering::Acquire)
}

/// The running CPU's area. See the module documentation for what it means
/// when interrupts are enabled.
#[inline]
pub(crate) fn this_cpu() -> &'static PerCpu {
    let addr: u64;
    // SAFETY: from `init_this_cpu` on (called first thing on every CPU),
    // the GS base points at the CPU's area, whose first word holds its own
    // address; the load has no other effect.
    unsafe {
        core::arch::asm!("mov {}, gs:[0]", out(reg) addr, options(nostack, readonly, preserves_flags))
    };
    // SAFETY: `addr` is the address of an element of `CPUS`, a static.
    unsafe { &*(addr as *const PerCpu) }
}

/// The number of the CPU the caller runs on (it may have moved by the time
/// it looks at the result, unless interrupts are off).
#[inline]
pub fn this_cpu_index() -> usize {
    let index: u32;
    // SAFETY: as in `this_cpu`: the GS base points at the CPU's area; one
    // load, so the value is the index of the CPU that executed it.
    unsafe {
        core::arch::asm!("mov {:e}, gs:[{off}]", out(reg) index, off = const offset::INDEX, options(nostack, readonly, preserves_flags))
    };
    index as usize
}

/// The task running on this CPU, as a raw pointer read in one instruction
/// (null before the scheduler starts).
#[inline]
pub(crate) fn current_task_ptr() -> *const Task {
    let p: *const Task;
    // SAFETY: as in `this_cpu_index`.
    unsafe {
        core::arch::asm!("mov {}, gs:[{off}]", out(reg) p, off = const offset::CURRENT_TASK, options(nostack, readonly, preserves_flags))
    };
    p
}

/// Whether the running CPU should reschedule (read in one instruction).
#[inline]
pub(crate) fn need_resched_here() -> bool {
    let flag: u8;
    // SAFETY: as in `this_cpu_index`.
    unsafe {
        core::arch::asm!("mov {}, gs:[{off}]", out(reg_byte) flag, off = const offset::NEED_RESCHED, options(nostack, readonly, preserves_flags))
    };
    flag != 0
}

/// Points the GS base at CPU `index`'s area. The first thing each CPU does.
///
/// # Safety
///
/// Must be called once per CPU, on that CPU, with interrupts disabled,
/// before anything on it uses [`this_cpu`]; `index` must be unique to the
/// CPU.
pub(crate) unsafe fn init_this_cpu(index: usize, apic_id: u32) {
    let area = &CPUS[index];
    area.self_addr
        .store(area as *const PerCpu as u64, Ordering::Relaxed);
    area.index.store(index as u32, Ordering::Relaxed);
    area.apic_id.store(apic_id, Ordering::Relaxed);
    // SAFETY: the kernel GS base gets the address of the CPU's area (set
    // up above); the user GS base starts as zero. Neither changes memory.
    unsafe {
        Msr::new(IA32_GS_BASE).write(area as *const PerCpu as u64);
        Msr::new(IA32_KERNEL_GS_BASE).write(0);
    }
}

/// Builds and loads the CPU's GDT and TSS, with `ist_tops` as the tops of
/// its double-fault, NMI and machine-check stacks.
///
/// # Safety
///
/// Must be called once on the running CPU (after [`init_this_cpu`]) with
/// interrupts disabled; the stacks must be valid, unused by anything else
/// and live forever.
pub(crate) unsafe fn init_tables(ist_tops: [u64; 3]) {
    let area = this_cpu();
    // SAFETY: the caller guarantees we are the only user of this CPU's
    // tables, which nothing has loaded yet.
    let (tss, gdt) = unsafe { (&mut *area.tss.get(), &mut *area.gdt.get()) };
    for (slot, top) in ist_tops.iter().enumerate() {
        tss.interrupt_stack_table[slot] = x86_64::VirtAddr::new(*top);
    }
    // SAFETY: the TSS lives in a static forever and is not moved.
    unsafe { crate::arch::x86::gdt::build_and_load(gdt, tss) };
}

/// Marks the running CPU online and counts it.
pub(crate) fn set_online() {
    let area = this_cpu();
    area.online.store(true, Ordering::Release);
    NR_ONLINE.fetch_max(area.index() + 1, Ordering::AcqRel);
}
