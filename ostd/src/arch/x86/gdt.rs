//! The GDT and the TSS of each CPU.
//!
//! Selector layout (fixed: `syscall`/`sysret` derive segments from STAR):
//! 0x08 kernel code, 0x10 kernel data, 0x18|3 user data, 0x20|3 user code,
//! 0x28 the TSS. Each CPU has its own GDT and TSS in its per-CPU area (see
//! `crate::cpu`). The TSS's RSP0 is rewritten on every entry to user mode
//! so that a trap from user mode saves the user's registers straight into
//! its `UserContext` (see `trap`).

use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

pub(crate) const KERNEL_CS: u16 = 0x08;
pub(crate) const KERNEL_DS: u16 = 0x10;
pub(crate) const USER_DS: u16 = 0x18 | 3;
pub(crate) const USER_CS: u16 = 0x20 | 3;

/// IST slots (1-based in the IDT) for exceptions that need a known-good stack.
pub(crate) const IST_DOUBLE_FAULT: u8 = 1;
pub(crate) const IST_NMI: u8 = 2;
pub(crate) const IST_MACHINE_CHECK: u8 = 3;

/// The size of each IST stack.
pub(crate) const IST_STACK_SIZE: usize = 16 * 1024;

/// The bootstrap processor's IST stacks (application processors allocate
/// theirs).
#[repr(C, align(16))]
struct IstStacks([[u8; IST_STACK_SIZE]; 3]);

struct IstCell(core::cell::UnsafeCell<IstStacks>);
// SAFETY: the stacks are never accessed from Rust; the CPU uses them.
unsafe impl Sync for IstCell {}

static BSP_IST_STACKS: IstCell = IstCell(core::cell::UnsafeCell::new(IstStacks(
    [[0; IST_STACK_SIZE]; 3],
)));

/// The tops of the bootstrap processor's IST stacks, in IST slot order.
pub(crate) fn bsp_ist_tops() -> [u64; 3] {
    let base = BSP_IST_STACKS.0.get() as u64;
    core::array::from_fn(|i| base + ((i + 1) * IST_STACK_SIZE) as u64)
}

/// Fills `gdt` with the kernel's descriptors and `tss`, and loads both (and
/// the kernel segments) on the running CPU.
///
/// # Safety
///
/// `gdt` and `tss` must live forever at their addresses and belong to the
/// running CPU alone; interrupts must be disabled.
pub(crate) unsafe fn build_and_load(gdt: &mut GlobalDescriptorTable, tss: &TaskStateSegment) {
    *gdt = GlobalDescriptorTable::new();
    let kcode = gdt.append(Descriptor::kernel_code_segment());
    let kdata = gdt.append(Descriptor::kernel_data_segment());
    let udata = gdt.append(Descriptor::user_data_segment());
    let ucode = gdt.append(Descriptor::user_code_segment());
    // SAFETY: the caller guarantees the TSS lives forever and is not moved.
    let tss_sel = gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss) });
    debug_assert_eq!(
        (kcode.0, kdata.0, udata.0, ucode.0),
        (KERNEL_CS, KERNEL_DS, USER_DS, USER_CS)
    );
    // SAFETY: the GDT lives forever (caller's contract) and holds valid
    // descriptors; the selectors index them, and the TSS descriptor points
    // at a valid TSS that no other CPU has loaded (a TSS is marked busy
    // when loaded).
    unsafe {
        gdt.load_unsafe();
        CS::set_reg(SegmentSelector(KERNEL_CS));
        DS::set_reg(SegmentSelector(KERNEL_DS));
        ES::set_reg(SegmentSelector(KERNEL_DS));
        SS::set_reg(SegmentSelector(KERNEL_DS));
        load_tss(tss_sel);
    }
}
