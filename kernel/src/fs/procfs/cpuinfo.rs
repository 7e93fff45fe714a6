//! `/proc/cpuinfo`, from the `cpuid` instruction.

use alloc::string::String;
use alloc::vec::Vec;
use core::arch::x86_64::{__cpuid, __cpuid_count};
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

/// Linux's names of the feature bits it shows, per `cpuid` register, in
/// the order Linux prints them (its capability words 0, 1, 4, 6, 9, 16, 18).
/// Each entry is `(bit, name)`.
const LEAF1_EDX: &[(u32, &str)] = &[
    (0, "fpu"),
    (1, "vme"),
    (2, "de"),
    (3, "pse"),
    (4, "tsc"),
    (5, "msr"),
    (6, "pae"),
    (7, "mce"),
    (8, "cx8"),
    (9, "apic"),
    (11, "sep"),
    (12, "mtrr"),
    (13, "pge"),
    (14, "mca"),
    (15, "cmov"),
    (16, "pat"),
    (17, "pse36"),
    (18, "pn"),
    (19, "clflush"),
    (21, "dts"),
    (22, "acpi"),
    (23, "mmx"),
    (24, "fxsr"),
    (25, "sse"),
    (26, "sse2"),
    (27, "ss"),
    (28, "ht"),
    (29, "tm"),
    (30, "ia64"),
    (31, "pbe"),
];

const EXT1_EDX: &[(u32, &str)] = &[
    (11, "syscall"),
    (19, "mp"),
    (20, "nx"),
    (22, "mmxext"),
    (25, "fxsr_opt"),
    (26, "pdpe1gb"),
    (27, "rdtscp"),
    (29, "lm"),
    (30, "3dnowext"),
    (31, "3dnow"),
];

const LEAF1_ECX: &[(u32, &str)] = &[
    (0, "pni"),
    (1, "pclmulqdq"),
    (2, "dtes64"),
    (3, "monitor"),
    (4, "ds_cpl"),
    (5, "vmx"),
    (6, "smx"),
    (7, "est"),
    (8, "tm2"),
    (9, "ssse3"),
    (10, "cid"),
    (11, "sdbg"),
    (12, "fma"),
    (13, "cx16"),
    (14, "xtpr"),
    (15, "pdcm"),
    (17, "pcid"),
    (18, "dca"),
    (19, "sse4_1"),
    (20, "sse4_2"),
    (21, "x2apic"),
    (22, "movbe"),
    (23, "popcnt"),
    (24, "tsc_deadline_timer"),
    (25, "aes"),
    (26, "xsave"),
    (28, "avx"),
    (29, "f16c"),
    (30, "rdrand"),
    (31, "hypervisor"),
];

const EXT1_ECX: &[(u32, &str)] = &[
    (0, "lahf_lm"),
    (1, "cmp_legacy"),
    (2, "svm"),
    (3, "extapic"),
    (4, "cr8_legacy"),
    (5, "abm"),
    (6, "sse4a"),
    (7, "misalignsse"),
    (8, "3dnowprefetch"),
    (9, "osvw"),
    (10, "ibs"),
    (11, "xop"),
    (12, "skinit"),
    (13, "wdt"),
    (15, "lwp"),
    (16, "fma4"),
    (17, "tce"),
    (19, "nodeid_msr"),
    (21, "tbm"),
    (22, "topoext"),
    (23, "perfctr_core"),
    (24, "perfctr_nb"),
    (26, "bpext"),
    (27, "ptsc"),
    (28, "perfctr_llc"),
    (29, "mwaitx"),
];

const LEAF7_EBX: &[(u32, &str)] = &[
    (0, "fsgsbase"),
    (1, "tsc_adjust"),
    (3, "bmi1"),
    (4, "hle"),
    (5, "avx2"),
    (7, "smep"),
    (8, "bmi2"),
    (9, "erms"),
    (10, "invpcid"),
    (11, "rtm"),
    (12, "cqm"),
    (14, "mpx"),
    (15, "rdt_a"),
    (16, "avx512f"),
    (17, "avx512dq"),
    (18, "rdseed"),
    (19, "adx"),
    (20, "smap"),
    (21, "avx512ifma"),
    (23, "clflushopt"),
    (24, "clwb"),
    (25, "intel_pt"),
    (26, "avx512pf"),
    (27, "avx512er"),
    (28, "avx512cd"),
    (29, "sha_ni"),
    (30, "avx512bw"),
    (31, "avx512vl"),
];

const LEAF7_ECX: &[(u32, &str)] = &[
    (1, "avx512vbmi"),
    (2, "umip"),
    (3, "pku"),
    (4, "ospke"),
    (5, "waitpkg"),
    (6, "avx512_vbmi2"),
    (8, "gfni"),
    (9, "vaes"),
    (10, "vpclmulqdq"),
    (11, "avx512_vnni"),
    (12, "avx512_bitalg"),
    (14, "avx512_vpopcntdq"),
    (16, "la57"),
    (22, "rdpid"),
    (25, "cldemote"),
    (27, "movdiri"),
    (28, "movdir64b"),
];

const LEAF7_EDX: &[(u32, &str)] = &[
    (4, "fsrm"),
    (8, "avx512_vp2intersect"),
    (10, "md_clear"),
    (14, "serialize"),
    (18, "pconfig"),
    (28, "flush_l1d"),
    (29, "arch_capabilities"),
];

/// The clock rate in kHz as the CPU states it: the nominal frequency
/// (leaf 0x16), else the TSC rate from the crystal ratio (leaf 0x15), else
/// the "@ 2.40GHz" at the end of the brand string; `None` if none says.
fn stated_khz(max_leaf: u32, brand: &str) -> Option<u64> {
    if max_leaf >= 0x16 {
        let mhz = __cpuid(0x16).eax & 0xffff;
        if mhz != 0 {
            return Some(mhz as u64 * 1000);
        }
    }
    if max_leaf >= 0x15 {
        let r = __cpuid(0x15);
        if r.eax != 0 && r.ebx != 0 && r.ecx != 0 {
            return Some(r.ecx as u64 * r.ebx as u64 / r.eax as u64 / 1000);
        }
    }
    brand_khz(brand)
}

/// Delay-loop iterations per millisecond, measured once: the "bogus"
/// speed of BogoMIPS, used when the CPU does not state its clock (e.g.
/// under emulation). A `dec; jnz`-like loop runs about one iteration per
/// cycle on current processors, so this also estimates the clock in kHz.
static LOOPS_PER_MS: AtomicU64 = AtomicU64::new(0);

fn calibrated_khz() -> u64 {
    let cached = LOOPS_PER_MS.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    let window = Duration::from_millis(2);
    let start = ostd::timer::monotonic();
    let mut loops = 0u64;
    let elapsed = loop {
        for i in 0..1000u32 {
            core::hint::black_box(i);
        }
        loops += 1000;
        let e = ostd::timer::monotonic().saturating_sub(start);
        if e >= window {
            break e;
        }
    };
    let per_ms = (loops as u128 * 1_000_000 / elapsed.as_nanos().max(1)) as u64;
    let per_ms = per_ms.max(1);
    LOOPS_PER_MS.store(per_ms, Ordering::Relaxed);
    per_ms
}

/// Parses the frequency a brand string ends with ("... @ 2.40GHz").
fn brand_khz(brand: &str) -> Option<u64> {
    let (_, freq) = brand.rsplit_once('@')?;
    let freq = freq.trim();
    let (num, scale) = if let Some(n) = freq.strip_suffix("GHz") {
        (n, 1_000_000)
    } else {
        (freq.strip_suffix("MHz")?, 1000)
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let mut khz = int.trim().parse::<u64>().ok()? * scale;
    let mut unit = scale;
    for d in frac.bytes().take(6) {
        unit /= 10;
        khz += (d as char).to_digit(10)? as u64 * unit;
    }
    Some(khz)
}

/// The names of the set bits of `reg`.
fn flag_names(reg: u32, table: &[(u32, &'static str)], out: &mut Vec<&'static str>) {
    out.extend(
        table
            .iter()
            .filter(|(bit, _)| reg & (1 << bit) != 0)
            .map(|(_, n)| *n),
    );
}

/// Four little-endian register values as text (vendor and brand strings).
fn regs_text(regs: &[u32]) -> String {
    let bytes: Vec<u8> = regs.iter().flat_map(|r| r.to_le_bytes()).collect();
    let text = String::from_utf8_lossy(&bytes);
    String::from(text.trim_end_matches('\0').trim())
}

/// `/proc/cpuinfo`: one block for each CPU that is up.
pub(super) fn cpuinfo() -> String {
    let leaf0 = __cpuid(0);
    let max_leaf = leaf0.eax;
    let vendor = regs_text(&[leaf0.ebx, leaf0.edx, leaf0.ecx]);
    let leaf1 = __cpuid(1);
    let max_ext = __cpuid(0x8000_0000).eax;

    let sig = leaf1.eax;
    let stepping = sig & 0xf;
    let mut family = (sig >> 8) & 0xf;
    let mut model = (sig >> 4) & 0xf;
    if family == 0xf {
        family += (sig >> 20) & 0xff;
    }
    if family >= 6 {
        model += ((sig >> 16) & 0xf) << 4;
    }

    let brand = if max_ext >= 0x8000_0004 {
        let regs: Vec<u32> = (0x8000_0002..=0x8000_0004u32)
            .flat_map(|leaf| {
                let r = __cpuid(leaf);
                [r.eax, r.ebx, r.ecx, r.edx]
            })
            .collect();
        regs_text(&regs)
    } else {
        String::from("unknown")
    };

    let mut flags = Vec::new();
    flag_names(leaf1.edx, LEAF1_EDX, &mut flags);
    let (ext1, l2_kb, (phys_bits, virt_bits)) = {
        let ext1 = (max_ext >= 0x8000_0001).then(|| __cpuid(0x8000_0001));
        let l2 = if max_ext >= 0x8000_0006 {
            __cpuid(0x8000_0006).ecx >> 16
        } else {
            0
        };
        let bits = if max_ext >= 0x8000_0008 {
            let a = __cpuid(0x8000_0008).eax;
            (a & 0xff, (a >> 8) & 0xff)
        } else {
            (36, 48)
        };
        (ext1, l2, bits)
    };
    if let Some(e) = &ext1 {
        flag_names(e.edx, EXT1_EDX, &mut flags);
    }
    flag_names(leaf1.ecx, LEAF1_ECX, &mut flags);
    if let Some(e) = &ext1 {
        flag_names(e.ecx, EXT1_ECX, &mut flags);
    }
    if max_leaf >= 7 {
        let l7 = __cpuid_count(7, 0);
        flag_names(l7.ebx, LEAF7_EBX, &mut flags);
        flag_names(l7.ecx, LEAF7_ECX, &mut flags);
        flag_names(l7.edx, LEAF7_EDX, &mut flags);
    }

    let khz = stated_khz(max_leaf, &brand).unwrap_or_else(calibrated_khz);
    let clflush = ((leaf1.ebx >> 8) & 0xff) * 8;

    let mut s = String::new();
    let cpus = ostd::cpu::num_cpus();
    for cpu in 0..cpus {
        let Some(apic) = ostd::cpu::apic_id(cpu) else {
            continue;
        };
        let _ = writeln!(s, "processor\t: {cpu}");
        let _ = writeln!(s, "vendor_id\t: {vendor}");
        let _ = writeln!(s, "cpu family\t: {family}");
        let _ = writeln!(s, "model\t\t: {model}");
        let _ = writeln!(s, "model name\t: {brand}");
        let _ = writeln!(s, "stepping\t: {stepping}");
        let _ = writeln!(s, "microcode\t: 0x1");
        let _ = writeln!(s, "cpu MHz\t\t: {}.{:03}", khz / 1000, khz % 1000);
        if l2_kb != 0 {
            let _ = writeln!(s, "cache size\t: {l2_kb} KB");
        }
        let _ = writeln!(s, "physical id\t: 0");
        let _ = writeln!(s, "siblings\t: {cpus}");
        let _ = writeln!(s, "core id\t\t: {cpu}");
        let _ = writeln!(s, "cpu cores\t: {cpus}");
        let _ = writeln!(s, "apicid\t\t: {apic}");
        let _ = writeln!(s, "initial apicid\t: {apic}");
        let _ = writeln!(s, "fpu\t\t: yes");
        let _ = writeln!(s, "fpu_exception\t: yes");
        let _ = writeln!(s, "cpuid level\t: {max_leaf}");
        let _ = writeln!(s, "wp\t\t: yes");
        let _ = writeln!(s, "flags\t\t: {}", flags.join(" "));
        let _ = writeln!(s, "bugs\t\t:");
        // Linux derives BogoMIPS from the clock: two "instructions" per cycle.
        let bogo = khz / 500;
        let _ = writeln!(s, "bogomips\t: {}.{:02}", bogo, (khz / 5) % 100);
        let _ = writeln!(
            s,
            "clflush size\t: {}",
            if clflush == 0 { 64 } else { clflush }
        );
        let _ = writeln!(s, "cache_alignment\t: 64");
        let _ = writeln!(
            s,
            "address sizes\t: {phys_bits} bits physical, {virt_bits} bits virtual"
        );
        let _ = writeln!(s, "power management:");
        let _ = writeln!(s);
    }
    s
}
