//! Starting the application processors (APs).
//!
//! An AP wakes up in real mode at the page an INIT-SIPI-SIPI sequence
//! names (Intel SDM 9.4.4, "MP Initialization Example"). The trampoline
//! below is copied to [`TRAMPOLINE_PADDR`] (low memory, which the frame
//! allocator never hands out) and takes the AP through protected mode to
//! long mode on the boot page tables (`__ostd_boot_pml4`: the first 4 GiB
//! identity-mapped, the kernel at its link address), then jumps to
//! `__ostd_ap_entry64` at the kernel's address. That loads the kernel page
//! table and the stack the bootstrap processor (BSP) allocated for this AP
//! and calls [`ap_rust_entry`], which sets up the CPU (per-CPU area, GDT
//! and TSS, IDT, feature bits, local APIC and timer), reports in, and
//! becomes the CPU's idle task in the scheduler.
//!
//! The BSP starts the APs one at a time ([`start_aps`]): the trampoline's
//! parameter slots serve one AP, and are rewritten only after it reported
//! in (having read them) or was put back to sleep with an INIT.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use super::acpi::{self, MAX_CPUS};
use super::apic;
use super::mm::paddr_to_vaddr;
use crate::boot::{MemoryRegionKind, boot_info};
use crate::mm::{KernelStack, PAGE_SIZE};
use crate::timer::spin_for;

/// Physical address the trampoline runs at: page 8, below the EBDA and
/// above the real-mode IVT and BIOS data area.
const TRAMPOLINE_PADDR: u64 = 0x8000;
/// Size of each AP's boot stack (its stack until the scheduler gives it
/// tasks; it stays the AP's idle stack).
const AP_STACK_SIZE: usize = 64 * 1024;
/// How long the BSP waits for an AP to report in. Linux waits 10 s; under
/// TCG on a loaded host a vCPU thread may take a while to be scheduled.
const AP_START_TIMEOUT: Duration = Duration::from_secs(1);

global_asm!(
    r#"
.text
.code16
.global __ostd_ap_trampoline_start
__ostd_ap_trampoline_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl __ostd_ap_tramp_gdtr - __ostd_ap_trampoline_start + {base}
    movl %cr0, %eax
    orl $1, %eax                /* CR0.PE */
    movl %eax, %cr0
    ljmpl $0x08, $__ostd_ap_tramp_pm32 - __ostd_ap_trampoline_start + {base}

.code32
__ostd_ap_tramp_pm32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $0x20, %eax             /* CR4.PAE */
    movl %eax, %cr4
    movl $__ostd_boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx      /* IA32_EFER */
    rdmsr
    orl $0x901, %eax            /* LME | NXE | SCE */
    wrmsr
    movl %cr0, %eax
    orl $0x80010023, %eax       /* PG | WP | NE | MP | PE */
    andl $0xfffffffb, %eax      /* clear EM */
    movl %eax, %cr0
    ljmpl $0x18, $__ostd_ap_tramp_lm64 - __ostd_ap_trampoline_start + {base}

.code64
__ostd_ap_tramp_lm64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq __ostd_ap_tramp_cr3 - __ostd_ap_trampoline_start + {base}, %rdx
    movq __ostd_ap_tramp_stack - __ostd_ap_trampoline_start + {base}, %rcx
    movq __ostd_ap_tramp_cpu - __ostd_ap_trampoline_start + {base}, %rdi
    movabsq $__ostd_ap_entry64, %rax
    jmp *%rax

.balign 8
__ostd_ap_tramp_gdt:
    .quad 0
    .quad 0x00cf9b000000ffff    /* 0x08: 32-bit code */
    .quad 0x00cf93000000ffff    /* 0x10: data */
    .quad 0x00af9b000000ffff    /* 0x18: 64-bit code */
__ostd_ap_tramp_gdtr:
    .word 31
    .long __ostd_ap_tramp_gdt - __ostd_ap_trampoline_start + {base}
.balign 8
.global __ostd_ap_tramp_cr3
__ostd_ap_tramp_cr3: .quad 0
.global __ostd_ap_tramp_stack
__ostd_ap_tramp_stack: .quad 0
.global __ostd_ap_tramp_cpu
__ostd_ap_tramp_cpu: .quad 0
.global __ostd_ap_trampoline_end
__ostd_ap_trampoline_end:

/* At the kernel's address, still on the boot page tables. */
__ostd_ap_entry64:
    mov %rdx, %cr3
    mov %rcx, %rsp
    xor %ebp, %ebp
    call __ostd_ap_rust_entry
    ud2
"#,
    base = const TRAMPOLINE_PADDR,
    options(att_syntax)
);

unsafe extern "C" {
    static __ostd_ap_trampoline_start: u8;
    static __ostd_ap_trampoline_end: u8;
    static __ostd_ap_tramp_cr3: u8;
    static __ostd_ap_tramp_stack: u8;
    static __ostd_ap_tramp_cpu: u8;
}

/// The TSC an AP read just before reporting in, to check that its TSC
/// runs in step with the BSP's (the monotonic clock assumes so).
static TSC_AT_REPORT: AtomicU64 = AtomicU64::new(0);

/// Starts every enabled processor the MADT lists, up to the limit of the
/// command line (`nosmp`, `maxcpus=N`, as in Linux), one after the other.
/// Called once on the BSP after memory, the APICs and the timer are set
/// up; interrupts may be on or off.
pub(crate) fn start_aps() {
    crate::cpu::this_cpu()
        .apic_id
        .store(apic::bsp_apic_id(), Ordering::Relaxed);
    let Some(platform) = acpi::platform().filter(|_| super::irq::apic_mode()) else {
        log::info!("smp: 1 CPU, legacy 8259 PIC and PIT (no usable ACPI MADT)");
        return;
    };
    let ids = platform.apic_ids();
    let wanted = ids.len().min(cpu_limit());
    // Before a second CPU runs: the lock kind must not change under
    // contention (see `sync::spin`).
    if wanted > 1 && super::cpu::under_hypervisor() && !has_option("nopvspin") {
        crate::sync::use_test_and_set();
    }
    if wanted > 1 && !trampoline_page_is_free_ram() {
        log::warn!("smp: page {TRAMPOLINE_PADDR:#x} is not RAM; APs not started");
    } else if wanted > 1 {
        copy_trampoline();
        for &apic_id in &ids[1..wanted] {
            start_one(apic_id);
        }
    }
    log_summary(ids.len());
}

/// Whether the kernel command line has the word `word`.
fn has_option(word: &str) -> bool {
    crate::boot::kernel_options().any(|w| w == word)
}

fn cpu_limit() -> usize {
    let mut limit = usize::MAX;
    for word in crate::boot::kernel_options() {
        if word == "nosmp" {
            limit = 1;
        } else if let Some(n) = word.strip_prefix("maxcpus=") {
            // As in Linux, `maxcpus=0` leaves only the boot CPU.
            limit = n.parse::<usize>().map_or(limit, |n| n.max(1));
        }
    }
    limit
}

fn trampoline_page_is_free_ram() -> bool {
    let end = TRAMPOLINE_PADDR + PAGE_SIZE as u64;
    boot_info().memory_regions().iter().any(|r| {
        r.kind == MemoryRegionKind::Usable
            && r.base <= TRAMPOLINE_PADDR
            && r.base.saturating_add(r.len) >= end
    })
}

fn trampoline_offset(symbol: *const u8) -> u64 {
    symbol as u64 - &raw const __ostd_ap_trampoline_start as u64
}

fn copy_trampoline() {
    let start = &raw const __ostd_ap_trampoline_start;
    let len = trampoline_offset(&raw const __ostd_ap_trampoline_end) as usize;
    assert!(len <= PAGE_SIZE, "AP trampoline larger than a page");
    // SAFETY: the source is the trampoline's bytes in the kernel text. The
    // destination is the page at TRAMPOLINE_PADDR, RAM per the memory map
    // (checked by the caller), below 1 MiB so never given out by the frame
    // allocator nor part of the kernel image or the initrd: no one else
    // uses it. It is reached through the linear map. No AP runs yet.
    unsafe {
        core::ptr::copy_nonoverlapping(start, paddr_to_vaddr(TRAMPOLINE_PADDR) as *mut u8, len)
    };
}

/// Writes one of the trampoline's 64-bit parameter slots.
fn set_slot(symbol: *const u8, value: u64) {
    let vaddr = paddr_to_vaddr(TRAMPOLINE_PADDR + trampoline_offset(symbol));
    // SAFETY: the slot is an 8-byte aligned word inside the copied
    // trampoline page (see `copy_trampoline`), which only the BSP writes
    // and only the AP being started reads, after the startup IPI sent
    // below.
    unsafe { (vaddr as *mut u64).write_volatile(value) };
}

fn start_one(apic_id: u32) {
    // CPUs are numbered in the order they come up (see `crate::cpu`).
    let index = crate::cpu::num_cpus();
    if index >= MAX_CPUS {
        return;
    }
    let Some(stack) = KernelStack::new(AP_STACK_SIZE) else {
        log::warn!("smp: no memory for the stack of the CPU with APIC id {apic_id}");
        return;
    };
    // This runs during boot, on the kernel page table.
    set_slot(&raw const __ostd_ap_tramp_cr3, super::mm::current_root());
    set_slot(&raw const __ostd_ap_tramp_stack, stack.top());
    set_slot(&raw const __ostd_ap_tramp_cpu, index as u64);

    let before_tsc = super::tsc::read();
    // INIT, 10 ms, then two startup IPIs 200 µs apart (SDM 9.4.4.1); the
    // second is ignored by a CPU the first one started.
    apic::send_init(apic_id);
    spin_for(Duration::from_millis(10));
    let page = (TRAMPOLINE_PADDR / PAGE_SIZE as u64) as u8;
    apic::send_startup(apic_id, page);
    spin_for(Duration::from_micros(200));
    apic::send_startup(apic_id, page);

    let deadline = crate::timer::monotonic() + AP_START_TIMEOUT;
    while !crate::cpu::cpu(index).is_online() {
        if crate::timer::monotonic() > deadline {
            // Back to waiting for a startup IPI, so that it cannot run on
            // with the next AP's parameters; its stack is then unused.
            apic::send_init(apic_id);
            log::warn!("smp: the CPU with APIC id {apic_id} did not start; going on without it");
            return;
        }
        core::hint::spin_loop();
    }
    let (before, ap, after) = (
        before_tsc,
        TSC_AT_REPORT.load(Ordering::Relaxed),
        super::tsc::read(),
    );
    if !(before..=after).contains(&ap) {
        log::warn!(
            "smp: the TSC of the CPU with APIC id {apic_id} is out of step \
             ({ap} not within {before}..={after})"
        );
    }
    // The AP runs on this stack from now on, and CPUs never go offline.
    core::mem::forget(stack);
}

fn log_summary(listed: usize) {
    let n = crate::cpu::num_cpus();
    let mut ids = [0u32; MAX_CPUS];
    for (i, id) in ids.iter_mut().enumerate().take(n) {
        *id = crate::cpu::apic_id(i).unwrap_or(0);
    }
    let io_apic = acpi::platform().map(|p| p.io_apic);
    log::info!(
        "smp: {n} CPU{} (APIC ids {:?}) of {listed} listed, {}, I/O APIC at {:#x} ({} pins), {} spin locks",
        if n == 1 { "" } else { "s" },
        &ids[..n],
        if apic::is_x2apic() { "x2APIC" } else { "xAPIC" },
        io_apic.map_or(0, |a| a.addr),
        super::ioapic::nr_pins(),
        if crate::sync::test_and_set_locks() {
            "test-and-set"
        } else {
            "ticket"
        },
    );
}

/// The first Rust code an AP runs, on its own stack and the kernel page
/// table, interrupts off. `cpu_index` is the number the BSP gave it.
#[unsafe(no_mangle)]
extern "C" fn __ostd_ap_rust_entry(cpu_index: usize) -> ! {
    ap_rust_entry(cpu_index)
}

/// Sets the calling AP up (its per-CPU area first, then its GDT and TSS
/// with IST stacks of its own, the IDT, the feature bits, the local APIC
/// and its timer, `syscall`), reports it online, and makes it run tasks:
/// this context becomes its idle task.
fn ap_rust_entry(cpu_index: usize) -> ! {
    // SAFETY: the first thing this CPU does, interrupts off; the index is
    // the one the BSP gave this CPU alone. The APIC id is set below, once
    // the local APIC is in its final mode.
    unsafe { crate::cpu::init_this_cpu(cpu_index, 0) };
    let ist = ist_stacks();
    // SAFETY: once, on this CPU, interrupts off, after `init_this_cpu`; the
    // IST stacks were just allocated for this CPU and are never freed. The
    // trampoline's GDT, still in GDTR, is replaced before any segment load.
    unsafe { crate::cpu::init_tables(ist) };
    super::idt::load();
    super::cpu::init_features_on_ap();
    apic::init_this_cpu();
    let apic_id = apic::this_apic_id();
    crate::cpu::this_cpu()
        .apic_id
        .store(apic_id, Ordering::Relaxed);
    crate::user::init();
    if !apic::start_timer(crate::timer::TICK_HZ) {
        log::warn!("smp: CPU {cpu_index} has no timer; it runs tasks without time slices");
    }

    TSC_AT_REPORT.store(super::tsc::read(), Ordering::Relaxed);
    // Reports in (`cpu::set_online`, which the BSP waits for) once it runs
    // its idle task.
    crate::task::run_ap_idle()
}

/// Allocates an AP's three IST stacks (never freed: CPUs do not go
/// offline) and returns their tops.
fn ist_stacks() -> [u64; 3] {
    use super::gdt::IST_STACK_SIZE;
    let layout =
        alloc::alloc::Layout::from_size_align(3 * IST_STACK_SIZE, 16).expect("IST stack layout");
    // SAFETY: the layout has a nonzero size. The memory is leaked on
    // purpose: the CPU uses it for ever.
    let base = unsafe { alloc::alloc::alloc_zeroed(layout) };
    if base.is_null() {
        alloc::alloc::handle_alloc_error(layout);
    }
    core::array::from_fn(|i| base as u64 + ((i + 1) * IST_STACK_SIZE) as u64)
}

#[cfg(feature = "ktest")]
mod test {
    use super::*;
    use crate::arch::x86::irq;
    use crate::prelude::ktest;

    #[ktest]
    fn every_listed_cpu_came_online() {
        let listed = acpi::platform()
            .filter(|_| irq::apic_mode())
            .map_or(1, |p| p.apic_ids().len());
        assert_eq!(crate::cpu::num_cpus(), listed.min(cpu_limit()));
        assert_eq!(crate::cpu::apic_id(0), Some(apic::bsp_apic_id()));
        for cpu in 1..crate::cpu::num_cpus() {
            assert_ne!(crate::cpu::apic_id(cpu), crate::cpu::apic_id(0));
        }
    }

    /// Sends `vector` to `apic_id` and waits up to a second for some CPU to
    /// count it.
    fn ipi_arrives(apic_id: u32, vector: u8) -> bool {
        let before = crate::smp::ipis_received(vector);
        apic::send_ipi(apic_id, vector);
        let deadline = crate::timer::monotonic() + Duration::from_secs(1);
        while crate::timer::monotonic() < deadline {
            if crate::smp::ipis_received(vector) > before {
                return true;
            }
            core::hint::spin_loop();
        }
        false
    }

    #[ktest]
    fn ipi_to_self_arrives() {
        if !irq::apic_mode() {
            return;
        }
        assert!(x86_64::instructions::interrupts::are_enabled());
        assert!(ipi_arrives(apic::this_apic_id(), irq::IPI_CALL_FUNCTION));
    }

    #[ktest]
    fn ipi_to_every_other_cpu_arrives() {
        for cpu in 1..crate::cpu::num_cpus() {
            let id = crate::cpu::apic_id(cpu).unwrap();
            for vector in irq::IPI_VECTORS {
                assert!(ipi_arrives(id, vector), "IPI {vector:#x} to CPU {cpu} lost");
            }
        }
    }
}
