//! The panic handler: report and power off (or, in a test kernel, fail the
//! running test and go on with the next).

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU32, Ordering};

/// The number of the CPU that panicked first, plus one (0: none).
static PANICKING: AtomicU32 = AtomicU32::new(0);

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    #[cfg(feature = "ktest")]
    crate::ktest::on_panic(info);

    let me = crate::cpu::this_cpu_index() as u32 + 1;
    match PANICKING.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {}
        Err(first) if first == me => {
            crate::console::emergency_print(format_args!("\nKERNEL PANIC (nested): {info}\n"));
            crate::power::exit_qemu(crate::power::ExitStatus::Panic);
        }
        // Another CPU reports its panic and powers off: stay out of its way.
        Err(_) => loop {
            x86_64::instructions::hlt();
        },
    }
    crate::console::emergency_print(format_args!("\nKERNEL PANIC: {}\n", info.message()));
    if let Some(loc) = info.location() {
        crate::console::emergency_print(format_args!(
            "  at {}:{}:{}\n",
            loc.file(),
            loc.line(),
            loc.column()
        ));
    }
    print_backtrace();
    crate::power::exit_qemu(crate::power::ExitStatus::Panic);
}

/// Walks the frame-pointer chain (the kernel is built with frame pointers)
/// and prints return addresses; `addr2line -e kernel` turns them into
/// source lines.
fn print_backtrace() {
    let mut rbp: u64;
    // SAFETY: reading RBP has no side effects.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack)) };
    crate::console::emergency_print(format_args!("  backtrace:"));
    for _ in 0..16 {
        // Only follow pointers into kernel memory that are aligned.
        if rbp < 0xffff_8000_0000_0000 || !rbp.is_multiple_of(8) || rbp > u64::MAX - 16 {
            break;
        }
        // SAFETY: best effort on a dying kernel: `rbp` is an aligned kernel
        // address from the frame chain, which points into a kernel stack.
        let (next, ret) = unsafe { (*(rbp as *const u64), *((rbp + 8) as *const u64)) };
        if ret == 0 {
            break;
        }
        crate::console::emergency_print(format_args!(" {ret:#x}"));
        if next <= rbp {
            break;
        }
        rbp = next;
    }
    crate::console::emergency_print(format_args!("\n"));
}
