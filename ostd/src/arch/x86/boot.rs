//! The PVH entry point.
//!
//! QEMU's `-kernel` loads the ELF at its physical addresses and, finding the
//! `XEN_ELFNOTE_PHYS32_ENTRY` note, jumps to the address in it in 32-bit
//! protected mode with paging off and `ebx` holding the physical address of
//! an `hvm_start_info`. The trampoline below switches to long mode with
//! static page tables that map the first 4 GiB three times: identity (for the
//! trampoline itself), at the linear-map base and at the kernel's link
//! address. It then zeroes `.bss`, switches to the boot stack and calls
//! [`__ostd_rust_entry`].

use core::arch::global_asm;

/// Size of the stack the boot code (and later the boot task) runs on.
pub const BOOT_STACK_SIZE: usize = 256 * 1024;

global_asm!(
    r#"
.section .note.Xen, "a", @note
.balign 4
    .long 4             /* name size: "Xen\0" */
    .long 4             /* descriptor size */
    .long 18            /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .long __ostd_pvh_start
    .balign 4

.section .boot.text, "ax"
.code32
.global __ostd_pvh_start
__ostd_pvh_start:
    cli
    cld
    mov %ebx, %edi

    mov $__ostd_boot_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax              /* CR4.PAE */
    mov %eax, %cr4
    mov $0xc0000080, %ecx       /* IA32_EFER */
    rdmsr
    or $0x901, %eax             /* LME | NXE | SCE */
    wrmsr
    mov %cr0, %eax
    or $0x80010023, %eax        /* PG | WP | NE | MP | PE */
    and $0xfffffffb, %eax       /* clear EM: the FPU is present */
    mov %eax, %cr0

    lgdt __ostd_boot_gdtr
    ljmp $0x08, $__ostd_boot_long_mode

.code64
__ostd_boot_long_mode:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov %edi, %r12d             /* zero-extends the start info address */

    movabs $__bss_start, %rdi
    movabs $__bss_end, %rcx
    sub %rdi, %rcx
    xor %eax, %eax
    rep stosb

    movabs $__ostd_boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %r12, %rdi
    movabs $__ostd_rust_entry, %rax
    call *%rax
1:  hlt
    jmp 1b

.section .boot.data, "aw"
.balign 16
__ostd_boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 64-bit code */
    .quad 0x00cf92000000ffff    /* data */
__ostd_boot_gdtr:
    .word 23
    .long __ostd_boot_gdt

.balign 4096
.global __ostd_boot_pml4            /* also the APs' (see `ap_boot`) */
__ostd_boot_pml4:
    .quad __ostd_boot_pdpt_low + 3
    .fill 255, 8, 0
    .quad __ostd_boot_pdpt_low + 3      /* linear map at 0xffff800000000000 */
    .fill 254, 8, 0
    .quad __ostd_boot_pdpt_high + 3     /* kernel at 0xffffffff80000000 */
__ostd_boot_pdpt_low:
    .quad __ostd_boot_pd + 3
    .quad __ostd_boot_pd + 0x1000 + 3
    .quad __ostd_boot_pd + 0x2000 + 3
    .quad __ostd_boot_pd + 0x3000 + 3
    .fill 508, 8, 0
__ostd_boot_pdpt_high:
    .fill 510, 8, 0
    .quad __ostd_boot_pd + 3
    .quad 0
__ostd_boot_pd:
"#,
    include_str!(concat!(env!("OUT_DIR"), "/boot_pd.S")),
    r#"
.section .bss
.balign 4096
__ostd_boot_stack_bottom:
    .skip {stack_size}
.global __ostd_boot_stack_top
__ostd_boot_stack_top:
.code64
.text
"#,
    stack_size = const BOOT_STACK_SIZE,
    options(att_syntax)
);

/// The first Rust code to run. `start_info` is the physical address of the
/// `hvm_start_info` that QEMU passed in `ebx`.
#[unsafe(no_mangle)]
extern "C" fn __ostd_rust_entry(start_info: u64) -> ! {
    crate::boot::start(start_info)
}
