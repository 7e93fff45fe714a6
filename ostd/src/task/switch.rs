//! The context switch between kernel tasks.
//!
//! Only callee-saved registers need saving: the switch is an ordinary
//! function call for both tasks. A new task's stack is prepared so that the
//! first switch to it "returns" into [`super::run_current_entry`].

use core::arch::global_asm;

global_asm!(
    r#"
.text
/* fn __ostd_switch(save_rsp_to: *mut u64, load_rsp: u64) */
.global __ostd_switch
__ostd_switch:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

.global __ostd_task_trampoline
__ostd_task_trampoline:
    xor %ebp, %ebp
    call {entry}
    ud2
"#,
    entry = sym task_entry,
    options(att_syntax)
);

unsafe extern "C" {
    fn __ostd_switch(save_rsp_to: *mut u64, load_rsp: u64);
    static __ostd_task_trampoline: u8;
}

extern "C" fn task_entry() -> ! {
    super::run_current_entry()
}

/// Lays out the initial frame of a new task below `top` and returns the
/// stack pointer to switch to.
pub(super) fn prepare_stack(top: u64) -> u64 {
    // Six callee-saved registers, the return address, and padding so that
    // the trampoline starts with a 16-byte aligned stack.
    let rsp = top - 9 * 8;
    let trampoline = &raw const __ostd_task_trampoline as u64;
    // SAFETY: `[rsp, top)` lies within the freshly allocated stack segment
    // that the caller owns and nobody else uses yet.
    unsafe {
        let slots = rsp as *mut u64;
        for i in 0..9 {
            slots.add(i).write(0);
        }
        slots.add(6).write(trampoline);
    }
    rsp
}

/// Switches from the task whose stack pointer is saved at `save_to` to the
/// one saved as `load`.
///
/// # Safety
///
/// Interrupts must be disabled; `save_to` must be the current task's save
/// slot and `load` a stack pointer saved by a previous switch (or prepared
/// by [`prepare_stack`]) of a task that is not running, whose stack is live.
pub(super) unsafe fn switch(save_to: *mut u64, load: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { __ostd_switch(save_to, load) }
}
