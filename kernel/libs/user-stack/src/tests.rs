// SPDX-License-Identifier: MPL-2.0

extern crate std;

use alloc::vec;
use alloc::vec::Vec;

use super::*;

const AT_PHDR: u64 = 3;
const AT_PAGESZ: u64 = 6;
const AT_ENTRY: u64 = 9;
const TOP: u64 = 0x7fff_ffff_f000;
const RANDOM: [u8; 16] = *b"0123456789abcdef";

fn args<'a>(argv: &'a [&'a [u8]], envp: &'a [&'a [u8]], auxv: &'a [(u64, u64)]) -> StackArgs<'a> {
    StackArgs {
        stack_top: TOP,
        argv,
        envp,
        execfn: b"/bin/prog",
        random: RANDOM,
        platform: Some(b"x86_64"),
        auxv,
        max_bytes: arg_limit(8 << 20),
    }
}

/// What a C runtime finds on its initial stack.
#[derive(Debug)]
struct Parsed {
    argc: u64,
    argv: Vec<u64>,
    envp: Vec<u64>,
    auxv: Vec<(u64, u64)>,
    /// Address just past the AT_NULL entry.
    auxv_end: u64,
}

fn word(img: &StackImage, addr: u64) -> u64 {
    let off = (addr - img.initial_sp) as usize;
    u64::from_le_bytes(img.bytes[off..off + 8].try_into().unwrap())
}

fn cstr(img: &StackImage, addr: u64) -> &[u8] {
    let off = (addr - img.initial_sp) as usize;
    let rest = &img.bytes[off..];
    &rest[..rest.iter().position(|&b| b == 0).expect("unterminated")]
}

fn parse(img: &StackImage) -> Parsed {
    let mut at = img.initial_sp;
    let mut next = || {
        let v = word(img, at);
        at += 8;
        v
    };
    let argc = next();
    let argv: Vec<u64> = (0..argc).map(|_| next()).collect();
    assert_eq!(next(), 0, "argv NULL");
    let mut envp = Vec::new();
    loop {
        match next() {
            0 => break,
            p => envp.push(p),
        }
    }
    let mut auxv = Vec::new();
    loop {
        let (k, v) = (next(), next());
        if k == 0 {
            assert_eq!(v, 0);
            break;
        }
        auxv.push((k, v));
    }
    Parsed {
        argc,
        argv,
        envp,
        auxv,
        auxv_end: at,
    }
}

fn aux(p: &Parsed, key: u32) -> Option<u64> {
    p.auxv
        .iter()
        .find(|(k, _)| *k == u64::from(key))
        .map(|&(_, v)| v)
}

#[test]
fn round_trip() {
    let argv: &[&[u8]] = &[b"/bin/sh", b"-c", b"echo hi"];
    let envp: &[&[u8]] = &[b"PATH=/bin", b"HOME=/"];
    let auxv = [(AT_PAGESZ, 4096), (AT_PHDR, 0x400040), (AT_ENTRY, 0x401000)];
    let img = build(&args(argv, envp, &auxv)).unwrap();

    assert_eq!(img.initial_sp % 16, 0);
    assert_eq!(img.initial_sp + img.bytes.len() as u64, TOP);
    let p = parse(&img);
    assert_eq!(p.argc, 3);
    let got: Vec<&[u8]> = p.argv.iter().map(|&a| cstr(&img, a)).collect();
    assert_eq!(got, argv);
    let got: Vec<&[u8]> = p.envp.iter().map(|&a| cstr(&img, a)).collect();
    assert_eq!(got, envp);

    // Caller entries first, in order, then the ones this crate adds.
    assert_eq!(&p.auxv[..3], &auxv[..]);
    assert_eq!(p.auxv.len(), 6);
    assert_eq!(img.auxv, p.auxv);
    let execfn = aux(&p, AT_EXECFN).unwrap();
    assert_eq!(cstr(&img, execfn), b"/bin/prog");
    let platform = aux(&p, AT_PLATFORM).unwrap();
    assert_eq!(cstr(&img, platform), b"x86_64");
    let random = aux(&p, AT_RANDOM).unwrap();
    let off = (random - img.initial_sp) as usize;
    assert_eq!(img.bytes[off..off + 16], RANDOM);

    // Strings are packed at the top: argv, then envp, then execfn, then
    // the 8-byte end marker.
    assert_eq!(execfn + b"/bin/prog\0".len() as u64, TOP - 8);
    assert_eq!(img.bytes[img.bytes.len() - 8..], [0; 8]);
    let mut expect = p.argv[0];
    for (&addr, s) in p.argv.iter().chain(&p.envp).zip(argv.iter().chain(envp)) {
        assert_eq!(addr, expect);
        expect += s.len() as u64 + 1;
    }
    assert_eq!(expect, execfn);
    assert_eq!(img.arg_start, p.argv[0]);
    assert_eq!(img.arg_end, p.envp[0]);
    assert_eq!(img.env_start, p.envp[0]);
    assert_eq!(img.env_end, execfn);

    // Below the strings: 16-byte alignment, the platform string, the
    // random bytes right below it, then padding down to the vectors.
    assert_eq!(platform + 7, img.arg_start & !15);
    assert_eq!(random, platform - 16);
    assert!(p.auxv_end <= random);
    assert!(random - p.auxv_end < 16);
}

#[test]
fn exact_layout_of_a_small_stack() {
    // Worked through by hand from fs/exec.c and create_elf_tables().
    let t: u64 = 0x8000_0000;
    let a = StackArgs {
        stack_top: t,
        argv: &[b"a"],
        envp: &[],
        execfn: b"/x",
        random: [7; 16],
        platform: None,
        auxv: &[],
        max_bytes: ARG_MAX,
    };
    let img = build(&a).unwrap();
    // execfn at t-11, "a" at t-13, aligned down to t-16, random at t-32,
    // auxv = RANDOM, EXECFN, NULL (48 bytes) and argc, argv[0], NULL, NULL
    // (32 bytes) below it.
    assert_eq!(img.initial_sp, t - 112);
    let words: Vec<u64> = (0..10).map(|i| word(&img, t - 112 + 8 * i)).collect();
    assert_eq!(
        words,
        vec![
            1,
            t - 13,
            0,
            0,
            u64::from(AT_RANDOM),
            t - 32,
            u64::from(AT_EXECFN),
            t - 11,
            0,
            0
        ]
    );
    assert_eq!(&img.bytes[112 - 32..112 - 16], &[7; 16]);
    assert_eq!(&img.bytes[112 - 16..], b"\0\0\0a\0/x\0\0\0\0\0\0\0\0\0");
}

#[test]
fn alignment_for_all_shapes() {
    let strings: [&[u8]; 6] = [b"", b"a", b"bb", b"ccc", b"dddddddddddddddd", b"e"];
    let auxv = [(AT_PAGESZ, 4096), (AT_ENTRY, 1), (AT_PHDR, 2)];
    for argc in 0..6 {
        for envc in 0..6 {
            for naux in 0..=3 {
                for platform in [None, Some(&b"x86_64"[..]), Some(&b""[..])] {
                    for top_off in [0u64, 1, 7, 8, 13] {
                        let mut a = args(&strings[..argc], &strings[..envc], &auxv[..naux]);
                        a.platform = platform;
                        a.stack_top = TOP - top_off;
                        let img = build(&a).unwrap();
                        assert_eq!(img.initial_sp % 16, 0);
                        assert_eq!(img.initial_sp + img.bytes.len() as u64, a.stack_top);
                        let p = parse(&img);
                        assert_eq!(p.argc as usize, argc.max(1));
                        assert_eq!(p.envp.len(), envc);
                        for (i, &ptr) in p.argv.iter().enumerate() {
                            let want: &[u8] = if argc == 0 { b"" } else { strings[i] };
                            assert_eq!(cstr(&img, ptr), want);
                        }
                        for (i, &ptr) in p.envp.iter().enumerate() {
                            assert_eq!(cstr(&img, ptr), strings[i]);
                        }
                        assert_eq!(p.auxv.len(), naux + 2 + usize::from(platform.is_some()));
                        let random = aux(&p, AT_RANDOM).unwrap();
                        assert!(p.auxv_end <= random && random - p.auxv_end < 16);
                    }
                }
            }
        }
    }
}

#[test]
fn empty_argv_becomes_one_empty_string() {
    let img = build(&args(&[], &[b"X=1"], &[])).unwrap();
    let p = parse(&img);
    assert_eq!(p.argc, 1);
    assert_eq!(cstr(&img, p.argv[0]), b"");
    assert_eq!(cstr(&img, p.envp[0]), b"X=1");
}

#[test]
fn string_length_limit() {
    let ok = vec![b'a'; MAX_ARG_STRLEN - 1];
    let too_long = vec![b'a'; MAX_ARG_STRLEN];
    let mut a = args(&[], &[], &[]);
    let argv = [&ok[..]];
    a.argv = &argv;
    a.max_bytes = 1 << 20;
    assert!(build(&a).is_ok());

    let argv = [&too_long[..]];
    a.argv = &argv;
    assert_eq!(build(&a), Err(StackError::TooBig));

    a.argv = &[];
    let envp = [&too_long[..]];
    a.envp = &envp;
    assert_eq!(build(&a), Err(StackError::TooBig));

    a.envp = &[];
    a.execfn = &too_long;
    assert_eq!(build(&a), Err(StackError::TooBig));
    assert_eq!(StackError::TooBig.errno(), 7);
}

#[test]
fn total_size_limit() {
    let argv: &[&[u8]] = &[b"prog", b"arg"];
    let envp: &[&[u8]] = &[b"A=1"];
    // "/bin/prog\0" + "A=1\0" + "prog\0" + "arg\0" = 23 bytes of strings,
    // and 3 pointers.
    let needed = 23 + 3 * 8;
    let mut a = args(argv, envp, &[]);
    a.max_bytes = needed;
    assert!(build(&a).is_ok());
    a.max_bytes = needed - 1;
    assert_eq!(build(&a), Err(StackError::TooBig));
    // Pointers alone filling the limit is already too much.
    a.max_bytes = 3 * 8;
    assert_eq!(build(&a), Err(StackError::TooBig));
    a.max_bytes = 0;
    assert_eq!(build(&a), Err(StackError::TooBig));

    // Many small strings against Linux's default limit.
    let many: Vec<&[u8]> = vec![&b"0123456789abcdef"[..]; 200_000];
    let a = args(&many, &[], &[]);
    assert_eq!(build(&a), Err(StackError::TooBig));
}

#[test]
fn limit_from_rlimit() {
    assert_eq!(arg_limit(8 << 20), 2 << 20);
    assert_eq!(arg_limit(u64::MAX), 6 << 20);
    assert_eq!(arg_limit(64 << 10), ARG_MAX);
    assert_eq!(arg_limit(0), ARG_MAX);
}

#[test]
fn bad_inputs() {
    let a = args(&[b"a\0b"], &[], &[]);
    assert_eq!(build(&a), Err(StackError::InteriorNul));
    let a = args(&[b"a"], &[b"\0"], &[]);
    assert_eq!(build(&a), Err(StackError::InteriorNul));
    let mut a = args(&[b"a"], &[], &[]);
    a.platform = Some(b"x86\0");
    assert_eq!(build(&a), Err(StackError::InteriorNul));
    assert_eq!(StackError::InteriorNul.errno(), 22);

    for key in [0u64, 15, 25, 31] {
        let auxv = [(AT_PAGESZ, 4096), (key, 1)];
        let a = args(&[b"a"], &[], &auxv);
        assert_eq!(build(&a), Err(StackError::ReservedAuxEntry(key)));
    }
}

#[test]
fn stack_top_too_low() {
    for top in [0u64, 8, 20, 100] {
        let mut a = args(&[b"a"], &[], &[]);
        a.stack_top = top;
        assert_eq!(build(&a), Err(StackError::DoesNotFit));
    }
    // Just enough room.
    let mut a = args(&[b"a"], &[], &[]);
    let need = build(&a).unwrap().bytes.len() as u64;
    a.stack_top = need;
    assert_eq!(build(&a).unwrap().initial_sp, 0);
}
