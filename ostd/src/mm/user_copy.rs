//! Copying between kernel buffers and user memory of the current address
//! space. The routines here act on whatever space CR3 holds; the public
//! entry points are the `VmSpace` methods, which first check that their
//! space is the loaded one.
//!
//! User addresses are *allegations*: they are checked to lie in the user
//! half before any access, and the copy itself may fault (unmapped page,
//! read-only page, page not yet populated). Such a fault does not crash the
//! kernel: the page-fault handler sees that the faulting instruction is one
//! of the copy instructions below and resumes at its fixup, and the copy
//! returns a [`UserFault`] with the address. The kernel then resolves the
//! fault (demand paging, copy-on-write) and retries, or returns `EFAULT`.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Vaddr;
use crate::arch::x86::mm::USER_SPACE_END;

/// A copy stopped at a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserFault {
    /// The first address that could not be accessed.
    pub addr: Vaddr,
    /// Bytes copied before the fault.
    pub copied: usize,
}

/// Why an access to user memory through a `VmSpace` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserAccessError {
    /// The access faulted (the kernel may resolve the fault and retry).
    Fault(UserFault),
    /// The space is not the one loaded for the current task, so its user
    /// addresses cannot be reached directly.
    NotActive,
}

impl From<UserFault> for UserAccessError {
    fn from(f: UserFault) -> Self {
        Self::Fault(f)
    }
}

global_asm!(
    r#"
/* With SMAP, kernel accesses to user pages fault unless AC is set: open the
   window for the copy instructions only. `stac`/`clac` do not exist without
   SMAP, hence the test. */
.macro OSTD_USER_ACCESS_BEGIN
    testb $1, __ostd_smap_enabled(%rip)
    jz 1f
    stac
1:
.endm
.macro OSTD_USER_ACCESS_END
    testb $1, __ostd_smap_enabled(%rip)
    jz 1f
    clac
1:
.endm

/* One aligned word from (%rsi) to (%rdi) through `reg` (the alignment of
   both, or-ed together, is in %al), then on to 5f; unaligned, on to 3f.
   Either access may fault: `name` and `name`_store are in the fixup
   table. */
.macro OSTD_COPY_WORD name, mask, reg
    test $\mask, %al
    jnz 3f
.global \name
\name:
    mov (%rsi), \reg
.global \name\()_store
\name\()_store:
    mov \reg, (%rdi)
    jmp 5f
.endm

.text
/* usize __ostd_copy_user(dst, src, len): returns the bytes NOT copied.
   An aligned word (2, 4 or 8 bytes at addresses that are multiples of
   its size) is copied by one load and one store, so that a word another
   CPU changes meanwhile (a futex) is seen whole, never torn, as Linux's
   get_user/put_user see it. */
.global __ostd_copy_user
__ostd_copy_user:
    OSTD_USER_ACCESS_BEGIN
    mov %rdi, %rax
    or %rsi, %rax
    cmp $8, %rdx
    je 8f
    cmp $4, %rdx
    je 4f
    cmp $2, %rdx
    je 2f
    jmp 3f
8:
    OSTD_COPY_WORD __ostd_copy_user_w8, 7, %rax
4:
    OSTD_COPY_WORD __ostd_copy_user_w4, 3, %eax
2:
    OSTD_COPY_WORD __ostd_copy_user_w2, 1, %ax
5:
    xor %eax, %eax
    OSTD_USER_ACCESS_END
    ret
.global __ostd_copy_user_word_fixup
__ostd_copy_user_word_fixup:
    mov %rdx, %rax
    OSTD_USER_ACCESS_END
    ret
3:
    mov %rdx, %rcx
    shr $3, %rcx
    and $7, %edx
.global __ostd_copy_user_q
__ostd_copy_user_q:
    rep movsq
    mov %edx, %ecx
.global __ostd_copy_user_b
__ostd_copy_user_b:
    rep movsb
    xor %eax, %eax
    OSTD_USER_ACCESS_END
    ret
.global __ostd_copy_user_q_fixup
__ostd_copy_user_q_fixup:
    lea (%rdx, %rcx, 8), %rax
    OSTD_USER_ACCESS_END
    ret
.global __ostd_copy_user_b_fixup
__ostd_copy_user_b_fixup:
    mov %rcx, %rax
    OSTD_USER_ACCESS_END
    ret

/* usize __ostd_fill_user(dst, byte, len): returns the bytes NOT written. */
.global __ostd_fill_user
__ostd_fill_user:
    OSTD_USER_ACCESS_BEGIN
    mov %esi, %eax
    mov %rdx, %rcx
.global __ostd_fill_user_b
__ostd_fill_user_b:
    rep stosb
    xor %eax, %eax
    OSTD_USER_ACCESS_END
    ret
.global __ostd_fill_user_b_fixup
__ostd_fill_user_b_fixup:
    mov %rcx, %rax
    OSTD_USER_ACCESS_END
    ret

/* u64 __ostd_user_cmpxchg_u32(ptr, expected, new): atomically replaces the
   u32 at ptr with new if it holds expected. Returns the value it held (in
   the low 32 bits), or bit 32 set if the access faulted. */
.global __ostd_user_cmpxchg_u32
__ostd_user_cmpxchg_u32:
    OSTD_USER_ACCESS_BEGIN
    mov %esi, %eax
.global __ostd_user_cmpxchg_insn
__ostd_user_cmpxchg_insn:
    lock cmpxchg %edx, (%rdi)
    OSTD_USER_ACCESS_END
    ret
.global __ostd_user_cmpxchg_fixup
__ostd_user_cmpxchg_fixup:
    mov $0x100000000, %rax
    OSTD_USER_ACCESS_END
    ret
"#,
    options(att_syntax)
);

unsafe extern "C" {
    fn __ostd_copy_user(dst: *mut u8, src: *const u8, len: usize) -> usize;
    fn __ostd_fill_user(dst: *mut u8, byte: u32, len: usize) -> usize;
    static __ostd_copy_user_q: u8;
    static __ostd_copy_user_w8: u8;
    static __ostd_copy_user_w8_store: u8;
    static __ostd_copy_user_w4: u8;
    static __ostd_copy_user_w4_store: u8;
    static __ostd_copy_user_w2: u8;
    static __ostd_copy_user_w2_store: u8;
    static __ostd_copy_user_word_fixup: u8;
    static __ostd_copy_user_b: u8;
    static __ostd_copy_user_q_fixup: u8;
    static __ostd_copy_user_b_fixup: u8;
    static __ostd_fill_user_b: u8;
    static __ostd_fill_user_b_fixup: u8;
    fn __ostd_user_cmpxchg_u32(ptr: *mut u32, expected: u32, new: u32) -> u64;
    static __ostd_user_cmpxchg_insn: u8;
    static __ostd_user_cmpxchg_fixup: u8;
}

/// Where the last fixed-up fault happened, when no task runs yet.
static BOOT_FAULT_ADDR: AtomicU64 = AtomicU64::new(0);

/// Records the address of a fixed-up fault for the running task: per task,
/// since the task may move to another CPU between the fault and the read.
fn set_fault_addr(addr: u64) {
    crate::task::with_current(|t| t.user_fault_addr.store(addr, Ordering::Relaxed))
        .unwrap_or_else(|| BOOT_FAULT_ADDR.store(addr, Ordering::Relaxed));
}

/// The address of the running task's last fixed-up fault.
fn fault_addr() -> u64 {
    crate::task::with_current(|t| t.user_fault_addr.load(Ordering::Relaxed))
        .unwrap_or_else(|| BOOT_FAULT_ADDR.load(Ordering::Relaxed))
}

/// If `rip` is a user-copy instruction, records `addr` and returns the
/// address to resume at. Called by the page-fault handler.
pub(crate) fn fixup(rip: u64, addr: u64) -> Option<u64> {
    let word = &raw const __ostd_copy_user_word_fixup;
    let table = [
        (&raw const __ostd_copy_user_w8, word),
        (&raw const __ostd_copy_user_w8_store, word),
        (&raw const __ostd_copy_user_w4, word),
        (&raw const __ostd_copy_user_w4_store, word),
        (&raw const __ostd_copy_user_w2, word),
        (&raw const __ostd_copy_user_w2_store, word),
        (
            &raw const __ostd_copy_user_q,
            &raw const __ostd_copy_user_q_fixup,
        ),
        (
            &raw const __ostd_copy_user_b,
            &raw const __ostd_copy_user_b_fixup,
        ),
        (
            &raw const __ostd_fill_user_b,
            &raw const __ostd_fill_user_b_fixup,
        ),
        (
            &raw const __ostd_user_cmpxchg_insn,
            &raw const __ostd_user_cmpxchg_fixup,
        ),
    ];
    let (_, to) = table.iter().find(|(at, _)| *at as u64 == rip)?;
    set_fault_addr(addr);
    Some(*to as u64)
}

fn check(addr: Vaddr, len: usize) -> Result<(), UserFault> {
    match addr.checked_add(len as u64) {
        Some(end) if end <= USER_SPACE_END => Ok(()),
        _ => Err(UserFault {
            addr: addr.max(USER_SPACE_END),
            copied: 0,
        }),
    }
}

fn result(len: usize, left: usize) -> Result<(), UserFault> {
    if left == 0 {
        Ok(())
    } else {
        Err(UserFault {
            addr: fault_addr(),
            copied: len - left,
        })
    }
}

/// Copies `dst.len()` bytes from user address `src` of the loaded space.
pub(crate) fn copy_from_user(dst: &mut [u8], src: Vaddr) -> Result<(), UserFault> {
    check(src, dst.len())?;
    // SAFETY: `dst` is a valid kernel buffer; `src..src+len` is in the user
    // half, so it cannot alias kernel memory, and faults on it are fixed up
    // (see `fixup`) instead of crashing.
    let left = unsafe { __ostd_copy_user(dst.as_mut_ptr(), src as *const u8, dst.len()) };
    result(dst.len(), left)
}

/// Copies `src` to user address `dst` of the loaded space.
pub(crate) fn copy_to_user(dst: Vaddr, src: &[u8]) -> Result<(), UserFault> {
    check(dst, src.len())?;
    // SAFETY: as in `copy_from_user`, with the roles swapped: the
    // destination is user memory, which no Rust reference points into.
    let left = unsafe { __ostd_copy_user(dst as *mut u8, src.as_ptr(), src.len()) };
    result(src.len(), left)
}

/// Atomically replaces the `u32` at user address `addr` (4-byte aligned) of
/// the loaded space with `new` if it holds `expected`; returns the value it
/// held (equal to `expected` when the exchange happened).
pub(crate) fn cmpxchg_user_u32(addr: Vaddr, expected: u32, new: u32) -> Result<u32, UserFault> {
    check(addr, 4)?;
    if !addr.is_multiple_of(4) {
        return Err(UserFault { addr, copied: 0 });
    }
    // SAFETY: `addr..addr+4` is an aligned user address (checked above), so
    // it cannot alias kernel memory; a fault on it is fixed up (see
    // `fixup`); `lock cmpxchg` is atomic with respect to every other access
    // to the word, user or kernel, on any CPU.
    let r = unsafe { __ostd_user_cmpxchg_u32(addr as *mut u32, expected, new) };
    if r & (1 << 32) != 0 {
        return Err(UserFault {
            addr: fault_addr(),
            copied: 0,
        });
    }
    Ok(r as u32)
}

/// Sets `len` bytes at user address `dst` of the loaded space to `byte`.
pub(crate) fn fill_user(dst: Vaddr, byte: u8, len: usize) -> Result<(), UserFault> {
    check(dst, len)?;
    // SAFETY: as in `copy_to_user`.
    let left = unsafe { __ostd_fill_user(dst as *mut u8, byte as u32, len) };
    result(len, left)
}
