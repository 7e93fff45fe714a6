//! Running a signal handler: the `rt_sigframe` on the user stack and
//! `rt_sigreturn`.
//!
//! The frame follows Linux's x86-64 layout (`arch/x86/kernel/signal_64.c`)
//! so that `ucontext_t` seen by a `SA_SIGINFO` handler is what glibc and
//! musl expect:
//!
//! ```text
//! frame+0    pretcode (sa_restorer, the handler's return address)
//! frame+8    ucontext: uc_flags, uc_link, uc_stack, sigcontext, sigmask
//! frame+312  siginfo (128 bytes)
//! ...        FPU state (xsave area), 64-byte aligned, above the frame
//! ```

use alloc::sync::Arc;
use alloc::vec;

use ostd::user::{GeneralRegs, UserContext};

use super::Thread;
use super::exit::exit_process;
use super::signal::{SigAction, SigInfo, SigSet, Signal, sa};
use crate::prelude::*;

const UC_OFFSET: u64 = 8;
const SIGCONTEXT_OFFSET: usize = 40;
const SIGMASK_OFFSET: usize = 40 + 256;
const SIGINFO_OFFSET: u64 = 8 + 304;
const FRAME_SIZE: u64 = 8 + 304 + 128;
const FPU_MAX: usize = 4096;

fn put(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn get(buf: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[off..off + 8]);
    u64::from_le_bytes(b)
}

/// The order of registers in `struct sigcontext`.
fn sigcontext_regs(r: &GeneralRegs) -> [u64; 18] {
    [
        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx,
        r.rax, r.rcx, r.rsp, r.rip, r.rflags,
    ]
}

/// Sets up the registers and stack to run `action`'s handler for `sig`.
pub fn deliver(
    thread: &Arc<Thread>,
    ctx: &mut UserContext,
    sig: Signal,
    action: SigAction,
    info: SigInfo,
) {
    if setup_frame(thread, ctx, sig, action, info).is_err() {
        // Linux: a frame that cannot be written kills with SIGSEGV.
        exit_process(
            thread.process(),
            super::ExitStatus::Signaled {
                signal: super::signal::sig::SIGSEGV,
                core: true,
            },
        );
        return;
    }
    let mut mask = thread.sig_mask();
    mask.0 |= action.mask.0;
    if action.flags & sa::SA_NODEFER == 0 {
        mask.add(sig);
    }
    thread.set_sig_mask(mask);
    if action.flags & sa::SA_RESETHAND != 0 {
        let _ = thread
            .process()
            .sig_actions()
            .lock()
            .set(sig, SigAction::default());
    }
}

fn setup_frame(
    thread: &Arc<Thread>,
    ctx: &mut UserContext,
    sig: Signal,
    action: SigAction,
    info: SigInfo,
) -> Result<()> {
    let vmar = thread.process().vmar();
    let regs = ctx.general_regs();
    let mut sp = regs.rsp;
    if action.flags & sa::SA_ONSTACK != 0
        && let Some(top) = thread.alt_stack_top(sp)
    {
        sp = top;
    }
    sp = sp.checked_sub(128).ok_or(Error::new(EFAULT))?;

    let mut fpu = vec![0u8; FPU_MAX];
    let fpu_len = ctx.fpu().as_bytes(&mut fpu);
    let fpstate = (sp.checked_sub(fpu_len as u64).ok_or(Error::new(EFAULT))?) & !63;
    let frame = ((fpstate.checked_sub(FRAME_SIZE).ok_or(Error::new(EFAULT))?) & !15) - 8;

    let mut buf = vec![0u8; FRAME_SIZE as usize];
    put(&mut buf, 0, action.restorer);
    let uc = &mut buf[UC_OFFSET as usize..];
    put(uc, 0, 1 | 2 | 4); // UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
    put(uc, 8, 0);
    put(uc, 16, 0); // uc_stack
    put(uc, 24, 2); // SS_DISABLE
    put(uc, 32, 0);
    for (i, v) in sigcontext_regs(&regs).iter().enumerate() {
        put(uc, SIGCONTEXT_OFFSET + i * 8, *v);
    }
    // cs, gs, fs, ss as 16-bit fields.
    put(uc, SIGCONTEXT_OFFSET + 144, 0x33 | (0x2b << 48));
    put(uc, SIGCONTEXT_OFFSET + 152, 0); // err
    put(uc, SIGCONTEXT_OFFSET + 160, 0); // trapno
    put(uc, SIGCONTEXT_OFFSET + 168, thread.sig_mask().0); // oldmask
    put(uc, SIGCONTEXT_OFFSET + 176, info.addr); // cr2
    put(uc, SIGCONTEXT_OFFSET + 184, fpstate);
    // The mask to restore at sigreturn: the one sigsuspend replaced, if any.
    let restore_mask = thread.take_saved_mask().unwrap_or(thread.sig_mask());
    put(uc, SIGMASK_OFFSET, restore_mask.0);
    buf[SIGINFO_OFFSET as usize..].copy_from_slice(&info.to_bytes(sig));

    vmar.write_bytes(fpstate, &fpu[..fpu_len])?;
    vmar.write_bytes(frame, &buf)?;

    let mut r = regs;
    r.rsp = frame;
    r.rip = action.handler;
    r.rdi = sig as u64;
    r.rsi = frame + SIGINFO_OFFSET;
    r.rdx = frame + UC_OFFSET;
    r.rax = 0;
    r.rflags &= !(1 << 10); // DF clear for the handler, as the ABI requires
    ctx.set_general_regs(&r);
    Ok(())
}

/// `rt_sigreturn`: restores the registers, mask and FPU state saved in the
/// frame at the user stack pointer. A corrupt frame gives `SIGSEGV`.
pub fn sigreturn(thread: &Arc<Thread>, ctx: &mut UserContext) -> Result<()> {
    let vmar = thread.process().vmar();
    let uc_addr = ctx.rsp();
    let mut uc = vec![0u8; 304];
    vmar.read_bytes(uc_addr, &mut uc)?;
    let sc = |i: usize| get(&uc, SIGCONTEXT_OFFSET + i * 8);
    let mut r = ctx.general_regs();
    r.r8 = sc(0);
    r.r9 = sc(1);
    r.r10 = sc(2);
    r.r11 = sc(3);
    r.r12 = sc(4);
    r.r13 = sc(5);
    r.r14 = sc(6);
    r.r15 = sc(7);
    r.rdi = sc(8);
    r.rsi = sc(9);
    r.rbp = sc(10);
    r.rbx = sc(11);
    r.rdx = sc(12);
    r.rax = sc(13);
    r.rcx = sc(14);
    r.rsp = sc(15);
    r.rip = sc(16);
    r.rflags = sc(17);
    ctx.set_general_regs(&r);
    thread.set_sig_mask(SigSet(get(&uc, SIGMASK_OFFSET)));
    let fpstate = get(&uc, SIGCONTEXT_OFFSET + 184);
    if fpstate != 0 {
        let mut fpu = vec![0u8; ctx.fpu().as_bytes(&mut [0u8; FPU_MAX])];
        vmar.read_bytes(fpstate, &mut fpu)?;
        ctx.fpu_mut().set_bytes(&fpu);
    }
    Ok(())
}
