//! The GDT and the TSS.
//!
//! Selector layout (fixed: `syscall`/`sysret` derive segments from STAR):
//! 0x08 kernel code, 0x10 kernel data, 0x18|3 user data, 0x20|3 user code,
//! 0x28 the TSS. The TSS's RSP0 is rewritten on every entry to user mode so
//! that a trap from user mode saves the user's registers straight into its
//! `UserContext` (see `trap`).

use core::cell::UnsafeCell;

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

use crate::sync::Once;

pub(crate) const KERNEL_CS: u16 = 0x08;
pub(crate) const KERNEL_DS: u16 = 0x10;
pub(crate) const USER_DS: u16 = 0x18 | 3;
pub(crate) const USER_CS: u16 = 0x20 | 3;

/// IST slots (1-based in the IDT) for exceptions that need a known-good stack.
pub(crate) const IST_DOUBLE_FAULT: u8 = 1;
pub(crate) const IST_NMI: u8 = 2;
pub(crate) const IST_MACHINE_CHECK: u8 = 3;

const IST_STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct IstStacks([[u8; IST_STACK_SIZE]; 3]);

struct TssCell(UnsafeCell<TaskStateSegment>);
// SAFETY: one CPU; the TSS is written only with interrupts disabled (boot and
// the entry to user mode) and otherwise read only by the CPU itself.
unsafe impl Sync for TssCell {}

struct IstCell(UnsafeCell<IstStacks>);
// SAFETY: the stacks are never accessed from Rust; the CPU uses them.
unsafe impl Sync for IstCell {}

static TSS: TssCell = TssCell(UnsafeCell::new(TaskStateSegment::new()));
static IST_STACKS: IstCell = IstCell(UnsafeCell::new(IstStacks([[0; IST_STACK_SIZE]; 3])));
static GDT: Once<GlobalDescriptorTable> = Once::new();

pub(crate) fn init() {
    let stacks = IST_STACKS.0.get() as u64;
    let tss = TSS.0.get();
    for (i, slot) in [IST_DOUBLE_FAULT, IST_NMI, IST_MACHINE_CHECK]
        .iter()
        .enumerate()
    {
        let top = stacks + ((i + 1) * IST_STACK_SIZE) as u64;
        // SAFETY: boot runs on one CPU with interrupts off: nothing else
        // accesses the TSS yet.
        unsafe { (*tss).interrupt_stack_table[*slot as usize - 1] = VirtAddr::new(top) };
    }

    let mut gdt = GlobalDescriptorTable::new();
    let kcode = gdt.append(Descriptor::kernel_code_segment());
    let kdata = gdt.append(Descriptor::kernel_data_segment());
    let udata = gdt.append(Descriptor::user_data_segment());
    let ucode = gdt.append(Descriptor::user_code_segment());
    // SAFETY: the TSS is a static that lives forever and is not moved.
    let tss_sel = gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss) });
    debug_assert_eq!(
        (kcode.0, kdata.0, udata.0, ucode.0),
        (KERNEL_CS, KERNEL_DS, USER_DS, USER_CS)
    );
    GDT.set(gdt);
    GDT.expect_init().load();
    // SAFETY: the selectors index valid descriptors of the GDT just loaded,
    // and the TSS descriptor points at a valid, unused TSS.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CS));
        DS::set_reg(SegmentSelector(KERNEL_DS));
        ES::set_reg(SegmentSelector(KERNEL_DS));
        SS::set_reg(SegmentSelector(KERNEL_DS));
        load_tss(tss_sel);
    }
}

/// Sets the stack the CPU switches to on a trap from user mode.
pub(crate) fn set_kernel_stack(top: u64) {
    // SAFETY: called with interrupts disabled on the only CPU; the CPU reads
    // RSP0 only on a privilege change, which cannot happen concurrently.
    unsafe { (*TSS.0.get()).privilege_stack_table[0] = VirtAddr::new(top) };
}
