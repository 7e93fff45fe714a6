//! Generates repetitive assembly: the 256 trap entry stubs and the boot page
//! directories. Writing them out here keeps the assembler free of
//! `.altmacro`/`.rept` tricks whose support differs between assemblers.

use std::fmt::Write;

fn main() {
    let out = std::env::var("OUT_DIR").unwrap();

    // Trap stubs: each is 16 bytes, so stub `v` lives at `base + 16 * v`.
    // Vectors whose exceptions push an error code skip the dummy push.
    let mut stubs = String::new();
    stubs.push_str(".section .text\n.balign 16\n.global __ostd_trap_stubs\n__ostd_trap_stubs:\n");
    for v in 0..256u32 {
        let has_error_code = matches!(v, 8 | 10..=14 | 17 | 21 | 29 | 30);
        stubs.push_str(".balign 16\n");
        if !has_error_code {
            stubs.push_str("    push $0\n");
        }
        writeln!(stubs, "    push ${v}").unwrap();
        stubs.push_str("    jmp __ostd_trap_common\n");
    }
    std::fs::write(format!("{out}/trap_stubs.S"), stubs).unwrap();

    // Boot page directories: 2048 entries of 2 MiB pages covering 4 GiB.
    let mut pd = String::new();
    for i in 0..2048u64 {
        writeln!(pd, "    .quad {:#x}", (i << 21) | 0x83).unwrap();
    }
    std::fs::write(format!("{out}/boot_pd.S"), pd).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
