// SPDX-License-Identifier: MPL-2.0

extern crate std;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::*;

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PT_NOTE: u32 = 4;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;

const LIMITS: Limits = Limits {
    user_space_end: USER_SPACE_END_X86_64,
    max_total_memsz: 1 << 32,
};

#[derive(Clone, Copy)]
struct Ph {
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
    Ph {
        p_type: PT_LOAD,
        flags,
        offset,
        vaddr,
        filesz,
        memsz,
    }
}

/// A minimal ELF64 writer: header at 0, program headers at `phoff`, file
/// `len` bytes long, with `blobs` written at their offsets.
struct ElfBuilder {
    e_type: u16,
    machine: u16,
    entry: u64,
    phoff: u64,
    phentsize: u16,
    phdrs: Vec<Ph>,
    len: usize,
    blobs: Vec<(usize, Vec<u8>)>,
}

impl ElfBuilder {
    fn new(e_type: u16) -> Self {
        ElfBuilder {
            e_type,
            machine: 62,
            entry: 0,
            phoff: 64,
            phentsize: 56,
            phdrs: Vec::new(),
            len: 0x3000,
            blobs: Vec::new(),
        }
    }

    fn build(&self) -> Vec<u8> {
        let mut f = vec![0u8; self.len];
        let mut h = Vec::new();
        h.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&self.e_type.to_le_bytes());
        h.extend_from_slice(&self.machine.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        h.extend_from_slice(&self.entry.to_le_bytes());
        h.extend_from_slice(&self.phoff.to_le_bytes());
        h.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        h.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
        h.extend_from_slice(&self.phentsize.to_le_bytes());
        h.extend_from_slice(&(self.phdrs.len() as u16).to_le_bytes());
        h.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
        assert_eq!(h.len(), 64);
        f[..64].copy_from_slice(&h);
        let mut at = self.phoff as usize;
        for ph in &self.phdrs {
            let mut p = Vec::new();
            p.extend_from_slice(&ph.p_type.to_le_bytes());
            p.extend_from_slice(&ph.flags.to_le_bytes());
            p.extend_from_slice(&ph.offset.to_le_bytes());
            p.extend_from_slice(&ph.vaddr.to_le_bytes());
            p.extend_from_slice(&ph.vaddr.to_le_bytes()); // p_paddr
            p.extend_from_slice(&ph.filesz.to_le_bytes());
            p.extend_from_slice(&ph.memsz.to_le_bytes());
            p.extend_from_slice(&0x1000u64.to_le_bytes());
            f[at..at + 56].copy_from_slice(&p);
            at += 56;
        }
        for (off, blob) in &self.blobs {
            f[*off..*off + blob.len()].copy_from_slice(blob);
        }
        f
    }
}

/// A typical static non-PIE layout: headers in a read-only first segment,
/// text, then data + bss whose first page shares file bytes with text's
/// last page (the usual non-page-aligned data layout).
fn static_exec() -> ElfBuilder {
    let mut b = ElfBuilder::new(ET_EXEC);
    b.entry = 0x401010;
    b.phdrs = vec![
        load(PF_R, 0, 0x400000, 0x1000, 0x1000),
        load(PF_R | PF_X, 0x1000, 0x401000, 0x1000, 0x1000),
        load(PF_R | PF_W, 0x2e10, 0x403e10, 0x100, 0x2300),
        Ph {
            p_type: PT_GNU_STACK,
            flags: PF_R | PF_W,
            offset: 0,
            vaddr: 0,
            filesz: 0,
            memsz: 0,
        },
    ];
    b
}

/// A PIE with an interpreter and PT_PHDR.
fn pie() -> ElfBuilder {
    let mut b = ElfBuilder::new(ET_DYN);
    b.entry = 0x1040;
    let interp = b"/lib64/ld-linux-x86-64.so.2\0";
    b.phdrs = vec![
        Ph {
            p_type: PT_PHDR,
            flags: PF_R,
            offset: 64,
            vaddr: 64,
            filesz: 4 * 56,
            memsz: 4 * 56,
        },
        Ph {
            p_type: PT_INTERP,
            flags: PF_R,
            offset: 0x200,
            vaddr: 0x200,
            filesz: interp.len() as u64,
            memsz: interp.len() as u64,
        },
        load(PF_R | PF_X, 0, 0, 0x1800, 0x1800),
        load(PF_R | PF_W, 0x1e00, 0x2e00, 0x300, 0x1000),
    ];
    b.blobs.push((0x200, interp.to_vec()));
    b
}

#[test]
fn plans_static_executable() {
    let file = static_exec().build();
    let p = plan(&file, &LIMITS).unwrap();
    assert_eq!(p.kind, Kind::Exec);
    assert_eq!(p.entry, 0x401010);
    assert_eq!(p.segments.len(), 3);
    assert_eq!(
        p.segments[2],
        Segment {
            vaddr: 0x403e10,
            memsz: 0x2300,
            file_offset: 0x2e10,
            filesz: 0x100,
            readable: true,
            writable: true,
            executable: false,
        }
    );
    assert!(p.segments[1].executable && !p.segments[1].writable);
    assert_eq!(p.interp, None);
    // No PT_PHDR: the first PT_LOAD maps file offset 64 at 0x400040.
    assert_eq!(p.phdr_vaddr, Some(0x400040));
    assert_eq!((p.phent, p.phnum), (56, 4));
    assert_eq!(p.min_vaddr, 0x400000);
    assert_eq!(p.max_vaddr, 0x407000);
    assert_eq!(p.span(), 0x7000);
    assert!(!p.stack_exec);
    assert!(!p.shares_pages);
}

#[test]
fn plans_pie_with_interpreter() {
    let file = pie().build();
    let p = plan(&file, &LIMITS).unwrap();
    assert_eq!(p.kind, Kind::Dyn);
    assert_eq!(p.interp.as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
    assert_eq!(p.phdr_vaddr, Some(64));
    assert_eq!(p.min_vaddr, 0);
    assert_eq!(p.max_vaddr, 0x4000);
}

#[test]
fn stack_exec_follows_last_gnu_stack() {
    let mut b = static_exec();
    b.phdrs[3].flags = PF_R | PF_W | PF_X;
    assert!(plan(&b.build(), &LIMITS).unwrap().stack_exec);
    b.phdrs.pop();
    assert!(!plan(&b.build(), &LIMITS).unwrap().stack_exec);
}

#[test]
fn phdr_location_needs_whole_table_mapped() {
    let mut b = static_exec();
    // The first segment now covers only part of the table.
    b.phdrs[0].filesz = 100;
    b.phdrs[0].memsz = 100;
    let p = plan(&b.build(), &LIMITS).unwrap();
    assert_eq!(p.phdr_vaddr, None);
}

#[test]
fn unknown_segment_types_are_ignored() {
    let mut b = static_exec();
    b.phdrs.push(Ph {
        p_type: 0x1234_5678,
        ..b.phdrs[3]
    });
    b.phdrs.push(Ph {
        p_type: PT_NOTE,
        ..b.phdrs[3]
    });
    assert!(plan(&b.build(), &LIMITS).is_ok());
}

#[test]
fn header_errors() {
    let good = static_exec().build();

    assert_eq!(plan(b"", &LIMITS), Err(ElfError::NotElf));
    assert_eq!(plan(b"\x7fEL", &LIMITS), Err(ElfError::NotElf));
    assert_eq!(plan(b"#!/bin/sh\n", &LIMITS), Err(ElfError::NotElf));
    assert_eq!(plan(&good[..63], &LIMITS), Err(ElfError::Truncated));

    let mut bad = good.clone();
    bad[4] = 1; // ELFCLASS32
    assert_eq!(plan(&bad, &LIMITS), Err(ElfError::BadArch));
    let mut bad = good.clone();
    bad[4] = 9;
    assert_eq!(plan(&bad, &LIMITS), Err(ElfError::BadArch));
    let mut bad = good.clone();
    bad[5] = 2; // big-endian
    assert_eq!(plan(&bad, &LIMITS), Err(ElfError::BadArch));
    let mut bad = good.clone();
    bad[6] = 0; // EI_VERSION
    assert_eq!(plan(&bad, &LIMITS), Err(ElfError::BadArch));

    let mut b = static_exec();
    b.machine = 183; // EM_AARCH64
    assert_eq!(plan(&b.build(), &LIMITS), Err(ElfError::BadArch));
    let mut b = static_exec();
    b.e_type = 1; // ET_REL
    assert_eq!(plan(&b.build(), &LIMITS), Err(ElfError::BadType));
    b.e_type = 4; // ET_CORE
    assert_eq!(plan(&b.build(), &LIMITS), Err(ElfError::BadType));

    let mut b = static_exec();
    b.phentsize = 64;
    assert!(matches!(
        plan(&b.build(), &LIMITS),
        Err(ElfError::Malformed(_))
    ));

    let mut b = static_exec();
    b.phdrs.clear();
    assert!(matches!(
        plan(&b.build(), &LIMITS),
        Err(ElfError::Malformed(_))
    ));

    let mut b = static_exec();
    b.phdrs.retain(|p| p.p_type != PT_LOAD);
    assert_eq!(
        plan(&b.build(), &LIMITS),
        Err(ElfError::Malformed("no PT_LOAD segment"))
    );

    // Program header table past the end of the file, or at a huge offset.
    let mut bad = good.clone();
    bad[32..40].copy_from_slice(&0x2f80u64.to_le_bytes());
    assert_eq!(plan(&bad, &LIMITS), Err(ElfError::Truncated));
    let mut bad = good.clone();
    bad[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(plan(&bad, &LIMITS), Err(ElfError::Truncated));

    // Too many program headers for Linux (over 64 KiB).
    let mut bad = good.clone();
    bad[56..58].copy_from_slice(&2000u16.to_le_bytes());
    assert!(matches!(plan(&bad, &LIMITS), Err(ElfError::Malformed(_))));
}

#[test]
fn unaligned_buffers_and_tables_are_fine() {
    // xmas-elf panics on misaligned input; the planner must not pass that
    // on. Shift the whole file by one byte, and put the table at an odd
    // offset.
    let file = static_exec().build();
    let mut shifted = vec![0u8];
    shifted.extend_from_slice(&file);
    assert_eq!(plan(&shifted[1..], &LIMITS), plan(&file, &LIMITS));

    let mut b = static_exec();
    b.phoff = 0x123;
    assert!(plan(&b.build(), &LIMITS).is_ok());
}

#[test]
fn segment_errors() {
    let check = |f: &dyn Fn(&mut ElfBuilder)| {
        let mut b = static_exec();
        f(&mut b);
        plan(&b.build(), &LIMITS)
    };

    // filesz > memsz
    assert!(matches!(
        check(&|b| b.phdrs[2].filesz = 0x3000),
        Err(ElfError::Malformed(_))
    ));
    // file data past the end of the file
    assert_eq!(
        check(&|b| {
            b.phdrs[2].filesz = 0x1000;
            b.phdrs[2].memsz = 0x1000;
        }),
        Err(ElfError::Truncated)
    );
    assert_eq!(
        check(&|b| b.phdrs[2].offset = u64::MAX - 0xff),
        Err(ElfError::Malformed(
            "p_vaddr and p_offset not congruent modulo the page size"
        ))
    );
    assert_eq!(
        check(&|b| b.phdrs[2].offset = u64::MAX - 0x1ef),
        Err(ElfError::Truncated)
    );
    // not congruent
    assert!(matches!(
        check(&|b| b.phdrs[1].offset = 0x1008),
        Err(ElfError::Malformed(_))
    ));
    // overlapping, unsorted
    assert!(matches!(
        check(&|b| b.phdrs[1].vaddr = 0x400800),
        Err(ElfError::Malformed(_))
    ));
    assert!(matches!(
        check(&|b| b.phdrs.swap(0, 1)),
        Err(ElfError::Malformed(_))
    ));
    // above user space, below the first page, wrapping around
    assert!(matches!(
        check(&|b| {
            b.phdrs[2].vaddr = USER_SPACE_END_X86_64 - 0x1f0;
            b.phdrs[2].offset = 0x2e10;
        }),
        Err(ElfError::Malformed("segment outside user space"))
    ));
    assert!(matches!(
        check(&|b| {
            b.phdrs[0].vaddr = 0;
        }),
        Err(ElfError::Malformed("segment outside user space"))
    ));
    assert!(matches!(
        check(&|b| {
            b.phdrs[2].vaddr = u64::MAX - 0x1ef;
            b.phdrs[2].memsz = 0x1000;
        }),
        Err(ElfError::Malformed("segment wraps around"))
    ));
    // huge memsz
    assert_eq!(
        check(&|b| b.phdrs[2].memsz = 1 << 40),
        Err(ElfError::TooBig)
    );
    assert_eq!(
        check(&|b| b.phdrs[2].memsz = 1 << 62),
        Err(ElfError::TooBig)
    );
    assert_eq!(
        check(&|b| b.phdrs[2].memsz = u64::MAX - 0x403e10),
        Err(ElfError::Malformed("segment wraps around"))
    );
}

#[test]
fn total_memsz_limit() {
    let file = static_exec().build();
    let total = 0x1000 + 0x1000 + 0x2300;
    let at = |max| Limits {
        max_total_memsz: max,
        ..LIMITS
    };
    assert!(plan(&file, &at(total)).is_ok());
    assert_eq!(plan(&file, &at(total - 1)), Err(ElfError::TooBig));
}

#[test]
fn dyn_span_must_fit_user_space() {
    let mut b = pie();
    b.phdrs[3].vaddr = 0x7000_0000_0e00;
    let limits = Limits {
        max_total_memsz: u64::MAX,
        ..LIMITS
    };
    assert!(plan(&b.build(), &limits).is_ok());
    b.phdrs[3].vaddr = USER_SPACE_END_X86_64 - 0x200;
    assert_eq!(plan(&b.build(), &limits), Err(ElfError::TooBig));
}

#[test]
fn interp_errors() {
    let check = |bytes: &[u8], filesz: u64| {
        let mut b = pie();
        b.blobs[0].1 = bytes.to_vec();
        b.phdrs[1].filesz = filesz;
        plan(&b.build(), &LIMITS).map(|p| p.interp)
    };
    assert_eq!(check(b"/ld.so\0", 7), Ok(Some(String::from("/ld.so"))));
    // The path ends at the first NUL, as in Linux.
    assert_eq!(check(b"/ld\0xx\0", 7), Ok(Some(String::from("/ld"))));
    assert_eq!(check(b"/ld.so", 6), Err(ElfError::BadInterp));
    assert_eq!(check(b"\0", 1), Err(ElfError::BadInterp));
    assert_eq!(check(b"\0\0", 2), Err(ElfError::BadInterp));
    assert_eq!(check(b"/\xff\0", 3), Err(ElfError::BadInterp));
    assert_eq!(check(b"/x\0", 4097), Err(ElfError::BadInterp));
    assert_eq!(check(b"/x\0", 0x3000), Err(ElfError::BadInterp));

    let mut b = pie();
    b.phdrs[1].offset = u64::MAX;
    assert_eq!(plan(&b.build(), &LIMITS), Err(ElfError::BadInterp));

    // A path of 4095 bytes and its NUL is the longest Linux accepts.
    let mut b = pie();
    b.len = 0x3000;
    let mut long = vec![b'a'; 4095];
    long[0] = b'/';
    long.push(0);
    b.blobs[0] = (0x1000, long);
    b.phdrs[1].offset = 0x1000;
    b.phdrs[1].filesz = 4096;
    assert_eq!(
        plan(&b.build(), &LIMITS).unwrap().interp.map(|s| s.len()),
        Some(4095)
    );
}

#[test]
fn first_interp_wins() {
    let mut b = pie();
    let mut second = b.phdrs[1];
    second.offset = 0x300;
    b.phdrs.insert(2, second);
    b.blobs.push((0x300, b"/other\0".to_vec()));
    let p = plan(&b.build(), &LIMITS).unwrap();
    assert_eq!(p.interp.as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
}

#[test]
fn truncation_at_every_offset() {
    // Everything up to the end of the last segment's file data is needed;
    // what follows it is not.
    for (file, needed) in [(static_exec().build(), 0x2f10), (pie().build(), 0x2100)] {
        for cut in 0..file.len() {
            let r = plan(&file[..cut], &LIMITS);
            assert_eq!(r.is_ok(), cut >= needed, "cut {cut:#x}: {r:?}");
        }
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    // Random bytes after a valid-looking identification.
    for _ in 0..2000 {
        let len = (rng.next() % 600) as usize;
        let mut f: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if f.len() >= 20 {
            f[..8].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
            f[18] = 62;
            f[19] = 0;
        }
        if let Ok(p) = plan(&f, &LIMITS) {
            let _ = page_mappings(&p, 0);
        }
    }
    // Mutations of valid files, concentrated on the headers.
    let bases = [static_exec().build(), pie().build()];
    for i in 0..20000 {
        let mut f = bases[i % 2].clone();
        for _ in 0..(rng.next() % 4 + 1) {
            let at = (rng.next() % 300) as usize;
            f[at] = match rng.next() % 4 {
                0 => 0xff,
                1 => 0,
                _ => rng.next() as u8,
            };
        }
        if let Ok(p) = plan(&f, &LIMITS) {
            for bias in [0, 0x5555_5555_4000, 0xffff_ffff_ffff_f000] {
                if let Ok(m) = page_mappings(&p, bias) {
                    check_mappings(&p, bias, &m);
                }
            }
        }
    }
}

// ---- page mappings ----

/// Checks the invariants every result must have, and that applying it
/// gives each segment byte its ELF-specified value.
fn check_mappings(p: &LoadPlan, bias: u64, m: &PageMappings) {
    let mut prev_end = 0;
    for map in &m.mappings {
        assert_eq!(map.start % PAGE_SIZE, 0);
        assert_eq!(map.end % PAGE_SIZE, 0);
        assert!(map.start < map.end);
        assert!(map.start >= prev_end, "sorted, disjoint");
        prev_end = map.end;
        if let Backing::File { offset } = map.backing {
            assert_eq!(offset % PAGE_SIZE, 0);
        }
    }
    // Fixups are disjoint from each other.
    let mut ranges: Vec<(u64, u64)> = m
        .fixups
        .iter()
        .map(|f| match *f {
            Fixup::Zero { start, end } => (start, end),
            Fixup::Copy { vaddr, len, .. } => (vaddr, vaddr + len),
        })
        .collect();
    ranges.sort();
    for w in ranges.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlapping fixups {:x?}", w);
    }
    // Every segment byte is mapped with at least the segment's permissions.
    for s in &p.segments {
        if s.memsz == 0 {
            continue;
        }
        let start = s.vaddr + bias;
        let end = start + s.memsz;
        let mut at = page_down(start);
        while at < end {
            let map = m
                .mappings
                .iter()
                .find(|x| x.start <= at && at < x.end)
                .expect("segment page not mapped");
            assert!(map.readable >= s.readable);
            assert!(map.writable >= s.writable);
            assert!(map.executable >= s.executable);
            at = map.end;
        }
    }
}

/// Simulates loading: builds the memory image of `[lo, hi)` from the
/// mappings and fixups, reading file bytes from `file`.
fn simulate(file: &[u8], m: &PageMappings, lo: u64, hi: u64) -> Vec<Option<u8>> {
    let mut mem = vec![None; (hi - lo) as usize];
    let file_byte = |off: u64| file.get(off as usize).copied().unwrap_or(0);
    for map in &m.mappings {
        for a in map.start.max(lo)..map.end.min(hi) {
            mem[(a - lo) as usize] = Some(match map.backing {
                Backing::File { offset } => file_byte(offset + (a - map.start)),
                Backing::Anonymous => 0,
            });
        }
    }
    for f in &m.fixups {
        match *f {
            Fixup::Zero { start, end } => {
                for a in start..end {
                    mem[(a - lo) as usize] = Some(0);
                }
            }
            Fixup::Copy {
                vaddr,
                file_offset,
                len,
            } => {
                for k in 0..len {
                    mem[(vaddr + k - lo) as usize] = Some(file_byte(file_offset + k));
                }
            }
        }
    }
    mem
}

/// Checks that every byte of every segment reads what the ELF file says.
fn check_contents(file: &[u8], p: &LoadPlan, bias: u64) -> PageMappings {
    let m = page_mappings(p, bias).unwrap();
    check_mappings(p, bias, &m);
    let lo = p.min_vaddr + bias;
    let hi = p.max_vaddr + bias;
    let mem = simulate(file, &m, lo, hi);
    for s in &p.segments {
        for k in 0..s.memsz {
            let want = if k < s.filesz {
                file[(s.file_offset + k) as usize]
            } else {
                0
            };
            let a = s.vaddr + bias + k;
            assert_eq!(mem[(a - lo) as usize], Some(want), "byte at {a:#x}");
        }
        // The rest of the last file page is zeroed when there is .bss.
        if s.memsz > s.filesz && s.filesz > 0 {
            let fe = s.vaddr + bias + s.filesz;
            let next = p
                .segments
                .iter()
                .map(|n| n.vaddr + bias)
                .filter(|&v| v > s.vaddr + bias)
                .min()
                .unwrap_or(u64::MAX);
            for a in fe..page_up(fe).unwrap().min(next) {
                assert_eq!(mem[(a - lo) as usize], Some(0), "padzero at {a:#x}");
            }
        }
    }
    m
}

/// Fills the file with a pattern so that wrong offsets show.
fn patterned(b: &ElfBuilder) -> Vec<u8> {
    let mut f = b.build();
    let keep = 64 + 56 * b.phdrs.len();
    for (i, byte) in f.iter_mut().enumerate().skip(keep.max(0x300)) {
        *byte = (i % 251) as u8 | 1;
    }
    for (off, blob) in &b.blobs {
        f[*off..*off + blob.len()].copy_from_slice(blob);
    }
    f
}

#[test]
fn mappings_for_static_executable() {
    let b = static_exec();
    let file = patterned(&b);
    let p = plan(&file, &LIMITS).unwrap();
    let m = check_contents(&file, &p, 0);
    let ro = Mapping {
        start: 0x400000,
        end: 0x401000,
        backing: Backing::File { offset: 0 },
        readable: true,
        writable: false,
        executable: false,
    };
    assert_eq!(
        m.mappings,
        vec![
            ro,
            Mapping {
                start: 0x401000,
                end: 0x402000,
                backing: Backing::File { offset: 0x1000 },
                executable: true,
                ..ro
            },
            Mapping {
                start: 0x403000,
                end: 0x404000,
                backing: Backing::File { offset: 0x2000 },
                writable: true,
                ..ro
            },
            Mapping {
                start: 0x404000,
                end: 0x407000,
                backing: Backing::Anonymous,
                writable: true,
                ..ro
            },
        ]
    );
    assert_eq!(
        m.fixups,
        vec![Fixup::Zero {
            start: 0x403f10,
            end: 0x404000
        }]
    );
}

#[test]
fn mappings_for_pie_with_bias() {
    let b = pie();
    let file = patterned(&b);
    let p = plan(&file, &LIMITS).unwrap();
    let bias = 0x5555_5555_4000;
    let m = check_contents(&file, &p, bias);
    assert_eq!(m.mappings[0].start, bias);
    assert_eq!(m.mappings.last().unwrap().end, bias + 0x4000);
    assert_eq!(page_mappings(&p, 0x123), Err(ElfError::BadBias));
    assert_eq!(
        page_mappings(&p, 0xffff_ffff_ffff_f000),
        Err(ElfError::BadBias)
    );
}

#[test]
fn shared_page_same_file_page() {
    // Text ends and data starts in the same page, mapped from the same
    // file page (as with `ld -N`/`-n` style layouts).
    let mut b = ElfBuilder::new(ET_EXEC);
    b.phdrs = vec![
        load(PF_R | PF_X, 0, 0x400000, 0x1400, 0x1400),
        load(PF_R | PF_W, 0x1400, 0x401400, 0x200, 0x800),
    ];
    let file = patterned(&b);
    let p = plan(&file, &LIMITS).unwrap();
    assert!(p.shares_pages);
    let m = check_contents(&file, &p, 0);
    assert_eq!(m.mappings.len(), 2);
    assert_eq!(
        m.mappings[1],
        Mapping {
            start: 0x401000,
            end: 0x402000,
            backing: Backing::File { offset: 0x1000 },
            readable: true,
            writable: true,
            executable: true,
        }
    );
    // No copy is needed; only the .bss tail is zeroed.
    assert_eq!(
        m.fixups,
        vec![Fixup::Zero {
            start: 0x401600,
            end: 0x402000
        }]
    );
}

#[test]
fn shared_page_different_file_pages() {
    // The second segment maps its page from a different file page.
    let mut b = ElfBuilder::new(ET_EXEC);
    b.len = 0x4000;
    b.phdrs = vec![
        load(PF_R | PF_X, 0, 0x400000, 0x1400, 0x1400),
        load(PF_R | PF_W, 0x3800, 0x401800, 0x100, 0x1200),
    ];
    let file = patterned(&b);
    let p = plan(&file, &LIMITS).unwrap();
    assert!(p.shares_pages);
    let m = check_contents(&file, &p, 0);
    assert!(m.fixups.contains(&Fixup::Copy {
        vaddr: 0x401800,
        file_offset: 0x3800,
        len: 0x100
    }));
    // The shared page keeps the first segment's file page, with both
    // segments' permissions.
    assert_eq!(
        m.mappings[1],
        Mapping {
            start: 0x401000,
            end: 0x402000,
            backing: Backing::File { offset: 0x1000 },
            readable: true,
            writable: true,
            executable: true,
        }
    );
    // The rest of the second segment is anonymous.
    assert_eq!(m.mappings[2].backing, Backing::Anonymous);
    assert_eq!(
        (m.mappings[2].start, m.mappings[2].end),
        (0x402000, 0x403000)
    );
}

#[test]
fn shared_page_with_bss_only_segment() {
    // The first segment's .bss ends in a page where a file-less segment
    // starts, followed by a third segment in the same page.
    let mut b = ElfBuilder::new(ET_EXEC);
    b.phdrs = vec![
        load(PF_R | PF_W, 0x1000, 0x401000, 0x100, 0x1200),
        load(PF_R, 0, 0x402300, 0, 0x100),
        load(PF_R | PF_X, 0x2500, 0x402500, 0x200, 0x200),
    ];
    let file = patterned(&b);
    let p = plan(&file, &LIMITS).unwrap();
    assert!(p.shares_pages);
    let m = check_contents(&file, &p, 0);
    // The page 0x402000 is anonymous (from the first segment's .bss), so
    // the third segment's bytes are copied in.
    assert!(m.fixups.contains(&Fixup::Copy {
        vaddr: 0x402500,
        file_offset: 0x2500,
        len: 0x200
    }));
    let page = m.mappings.iter().find(|x| x.start == 0x402000).unwrap();
    assert!(page.readable && page.writable && page.executable);
}

#[test]
fn file_less_segment_in_file_backed_page_is_zeroed() {
    let mut b = ElfBuilder::new(ET_EXEC);
    b.phdrs = vec![
        load(PF_R | PF_X, 0, 0x400000, 0x1100, 0x1100),
        load(PF_R | PF_W, 0, 0x401200, 0, 0x2000),
    ];
    let file = patterned(&b);
    let p = plan(&file, &LIMITS).unwrap();
    let m = check_contents(&file, &p, 0);
    assert!(m.fixups.contains(&Fixup::Zero {
        start: 0x401200,
        end: 0x402000
    }));
}

#[test]
fn hand_built_plans_are_rechecked() {
    let file = static_exec().build();
    let mut p = plan(&file, &LIMITS).unwrap();
    p.segments.swap(0, 1);
    assert!(matches!(page_mappings(&p, 0), Err(ElfError::Malformed(_))));
    let mut p = plan(&file, &LIMITS).unwrap();
    p.segments[0].filesz = p.segments[0].memsz + 1;
    assert!(matches!(page_mappings(&p, 0), Err(ElfError::Malformed(_))));
    let mut p = plan(&file, &LIMITS).unwrap();
    p.segments[2].vaddr = u64::MAX - 10;
    assert_eq!(page_mappings(&p, 0), Err(ElfError::BadBias));
}

#[test]
fn errnos() {
    assert_eq!(ElfError::NotElf.errno(), 8);
    assert_eq!(ElfError::Malformed("x").errno(), 8);
    assert_eq!(ElfError::BadInterp.errno(), 8);
    assert_eq!(ElfError::TooBig.errno(), 12);
    assert_eq!(ElfError::BadBias.errno(), 22);
}

/// Plans real executables of this system, when they are there.
#[test]
fn real_binaries() {
    let limits = Limits {
        user_space_end: USER_SPACE_END_X86_64,
        max_total_memsz: 1 << 34,
    };
    let candidates = [
        "/bin/busybox",
        "/bin/ls",
        "/bin/sh",
        "/usr/bin/env",
        "/lib64/ld-linux-x86-64.so.2",
    ];
    let mut planned = 0;
    for path in candidates {
        let Ok(file) = std::fs::read(path) else {
            continue;
        };
        if file.get(..4) != Some(&b"\x7fELF"[..]) {
            continue;
        }
        let p = plan(&file, &limits).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(!p.segments.is_empty());
        assert!(p.phdr_vaddr.is_some(), "{path}");
        let bias = if p.kind == Kind::Dyn {
            0x5555_5555_4000
        } else {
            0
        };
        check_contents(&file, &p, bias);
        if path == "/bin/busybox" && p.interp.is_none() {
            assert_eq!(p.kind, Kind::Exec);
        }
        planned += 1;
    }
    std::eprintln!("planned {planned} system binaries");
}
