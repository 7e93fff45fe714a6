// SPDX-License-Identifier: MPL-2.0

extern crate std;

use alloc::borrow::Cow;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use super::*;

/// Builds newc archives the way `gen_init_cpio` and GNU cpio do.
struct Writer {
    buf: Vec<u8>,
    next_ino: u32,
    checksum: bool,
}

#[derive(Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: u32,
    nlink: u32,
    rdev: (u32, u32),
}

impl Meta {
    fn new(mode: u32) -> Self {
        Meta {
            mode,
            uid: 0,
            gid: 0,
            mtime: 0x5f00_0000,
            nlink: 1,
            rdev: (0, 0),
        }
    }
}

impl Writer {
    fn new() -> Self {
        Writer {
            buf: Vec::new(),
            next_ino: 100,
            checksum: false,
        }
    }

    fn with_checksum() -> Self {
        Writer {
            checksum: true,
            ..Writer::new()
        }
    }

    fn raw(&mut self, name: &[u8], meta: Meta, data: &[u8], check: Option<u32>) {
        let magic = if self.checksum { "070702" } else { "070701" };
        let check = check.unwrap_or_else(|| {
            if self.checksum {
                data.iter().fold(0u32, |a, &b| a.wrapping_add(u32::from(b)))
            } else {
                0
            }
        });
        let header = format!(
            "{}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            magic,
            self.next_ino,
            meta.mode,
            meta.uid,
            meta.gid,
            meta.nlink,
            meta.mtime,
            data.len(),
            3,
            1,
            meta.rdev.0,
            meta.rdev.1,
            name.len() + 1,
            check
        );
        assert_eq!(header.len(), HEADER_LEN);
        self.next_ino += 1;
        self.buf.extend_from_slice(header.as_bytes());
        self.buf.extend_from_slice(name);
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> &mut Self {
        self.raw(name.as_bytes(), Meta::new(0o100_000 | perm), data, None);
        self
    }

    fn dir(&mut self, name: &str) -> &mut Self {
        self.raw(name.as_bytes(), Meta::new(0o040_755), b"", None);
        self
    }

    fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw(
            name.as_bytes(),
            Meta::new(0o120_777),
            target.as_bytes(),
            None,
        );
        self
    }

    fn trailer(&mut self) -> &mut Self {
        self.raw(TRAILER.as_bytes(), Meta::new(0), b"", None);
        self
    }

    fn finish(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.buf)
    }
}

fn sample() -> Vec<u8> {
    let mut w = Writer::new();
    w.dir(".")
        .dir("./bin")
        .file("./bin/hello", 0o755, b"#!/bin/sh\necho hello\n")
        .file("empty", 0o644, b"")
        .symlink("/sbin", "bin")
        .dir("dev");
    let mut console = Meta::new(0o020_600);
    console.rdev = (5, 1);
    console.uid = 1000;
    console.gid = 1001;
    w.raw(b"dev/console", console, b"", None);
    w.trailer();
    w.finish()
}

fn collect(data: &[u8]) -> (Vec<Entry<'_>>, Option<Error>) {
    let result = collect_only(data);
    // Every plain input the tests parse is also streamed, whole and in
    // small pieces: the results must agree.
    if matches!(decompress(data, LIMIT), Ok(Cow::Borrowed(_))) {
        let expected: Vec<Rec> = result.0.iter().map(Rec::from).collect();
        let kind = result.1.map(|e| e.kind);
        assert_eq!(streamed(data), (expected.clone(), kind), "streamed");
        for piece in [1, 3, 7, 64] {
            assert_eq!(
                fed_in_pieces(data, piece),
                (expected.clone(), kind),
                "pieces of {piece}"
            );
        }
    }
    result
}

/// A member as a sink sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rec {
    name: std::string::String,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: u32,
    rdev: (u32, u32),
    data: Vec<u8>,
}

impl From<&Entry<'_>> for Rec {
    fn from(e: &Entry<'_>) -> Self {
        Rec {
            name: e.name.into(),
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            mtime: e.mtime,
            rdev: (e.rdev_major, e.rdev_minor),
            data: e.data.to_vec(),
        }
    }
}

/// Records the members it is given; only ended ones count.
#[derive(Default)]
struct Recorder {
    done: Vec<Rec>,
    open: Option<Rec>,
}

impl Sink for Recorder {
    fn begin(&mut self, h: &Header<'_>) {
        assert!(self.open.is_none(), "begin without end");
        self.open = Some(Rec {
            name: h.name.into(),
            mode: h.mode,
            uid: h.uid,
            gid: h.gid,
            mtime: h.mtime,
            rdev: (h.rdev_major, h.rdev_minor),
            data: Vec::new(),
        });
    }

    fn data(&mut self, chunk: &[u8]) {
        self.open
            .as_mut()
            .expect("data outside a member")
            .data
            .extend_from_slice(chunk);
    }

    fn end(&mut self) {
        let rec = self.open.take().expect("end without begin");
        self.done.push(rec);
    }
}

fn streamed(image: &[u8]) -> (Vec<Rec>, Option<ErrorKind>) {
    let mut r = Recorder::default();
    let e = unpack(image, &mut r, LIMIT).err().map(|e| e.kind);
    (r.done, e)
}

/// A plain archive fed to the stream parser `piece` bytes at a time.
fn fed_in_pieces(data: &[u8], piece: usize) -> (Vec<Rec>, Option<ErrorKind>) {
    let mut r = Recorder::default();
    let mut p = stream::Parser::new();
    for chunk in data.chunks(piece) {
        if let Err(e) = p.feed(chunk, &mut r, false) {
            return (r.done, Some(e.kind));
        }
    }
    let e = p.finish(&mut r).err().map(|e| e.kind);
    (r.done, e)
}

/// Streams `image` and checks the result against `decompress` and
/// `entries`. When decompression fails, the stream must fail with the same
/// error (it may have delivered members before).
fn check_stream(image: &[u8]) {
    let (recs, kind) = streamed(image);
    match decompress(image, LIMIT) {
        Ok(out) => {
            let (v, e) = collect_only(&out);
            let expected: Vec<Rec> = v.iter().map(Rec::from).collect();
            assert_eq!((recs, kind), (expected, e.map(|e| e.kind)));
        }
        Err(e) => assert_eq!(kind, Some(e.kind)),
    }
}

fn collect_only(data: &[u8]) -> (Vec<Entry<'_>>, Option<Error>) {
    let mut ok = Vec::new();
    let mut error = None;
    for item in entries(data) {
        match item {
            Ok(e) => {
                assert!(error.is_none(), "entry after an error");
                ok.push(e)
            }
            Err(e) => {
                assert!(error.is_none(), "two errors");
                error = Some(e)
            }
        }
    }
    (ok, error)
}

fn names<'a>(v: &[Entry<'a>]) -> Vec<&'a str> {
    v.iter().map(|e| e.name).collect()
}

#[test]
fn parses_files_dirs_symlinks_and_devices() {
    let data = sample();
    let (v, e) = collect(&data);
    assert_eq!(e, None);
    assert_eq!(
        names(&v),
        vec!["bin", "bin/hello", "empty", "sbin", "dev", "dev/console"]
    );

    assert_eq!(v[0].file_type(), FileType::Directory);
    assert_eq!(v[0].permissions(), 0o755);

    let hello = &v[1];
    assert_eq!(hello.file_type(), FileType::Regular);
    assert_eq!(hello.mode, 0o100_755);
    assert_eq!(hello.data, b"#!/bin/sh\necho hello\n");
    assert_eq!(hello.nlink, 1);
    assert_eq!(hello.mtime, 0x5f00_0000);
    assert_eq!((hello.dev_major, hello.dev_minor), (3, 1));
    assert_eq!(hello.ino, 102);
    assert_eq!(hello.offset % 4, 0);

    assert_eq!(v[2].data, b"");
    assert_eq!(v[2].file_type(), FileType::Regular);

    assert_eq!(v[3].file_type(), FileType::Symlink);
    assert_eq!(v[3].data, b"bin");

    let console = &v[5];
    assert_eq!(console.file_type(), FileType::CharDevice);
    assert_eq!((console.rdev_major, console.rdev_minor), (5, 1));
    assert_eq!((console.uid, console.gid), (1000, 1001));
}

#[test]
fn file_types_from_mode() {
    assert_eq!(FileType::from_mode(0o060_660), FileType::BlockDevice);
    assert_eq!(FileType::from_mode(0o010_644), FileType::Fifo);
    assert_eq!(FileType::from_mode(0o140_755), FileType::Socket);
    assert_eq!(FileType::from_mode(0o170_000), FileType::Unknown(0o170_000));
    assert_eq!(FileType::from_mode(0o644), FileType::Unknown(0));
}

#[test]
fn root_prefixes_are_stripped() {
    assert_eq!(strip_root("./a/b"), "a/b");
    assert_eq!(strip_root("/a"), "a");
    assert_eq!(strip_root(".//./a"), "a");
    assert_eq!(strip_root("."), "");
    assert_eq!(strip_root("./"), "");
    assert_eq!(strip_root("/"), "");
    assert_eq!(strip_root(".hidden"), ".hidden");
    assert_eq!(strip_root("../x"), "../x");
}

#[test]
fn empty_and_padding_only_inputs_hold_nothing() {
    assert_eq!(collect(b"").0.len(), 0);
    assert_eq!(collect(b"").1, None);
    assert_eq!(collect(&[0u8; 512]).1, None);
}

#[test]
fn checksummed_archives() {
    let mut w = Writer::with_checksum();
    w.file("a", 0o644, b"\xff\xff\x01")
        .symlink("l", "a")
        .trailer();
    let data = w.finish();
    assert_eq!(&data[..6], b"070702");
    let (v, e) = collect(&data);
    assert_eq!(e, None);
    assert_eq!(names(&v), vec!["a", "l"]);

    let mut w = Writer::with_checksum();
    w.file("ok", 0o644, b"x");
    w.raw(b"bad", Meta::new(0o100_644), b"abc", Some(1));
    w.trailer();
    let data = w.finish();
    let (v, e) = collect(&data);
    assert_eq!(names(&v), vec!["ok"]);
    assert_eq!(e.map(|e| e.kind), Some(ErrorKind::BadChecksum));

    // Linux sums only regular files: a symlink's check field is ignored.
    let mut w = Writer::with_checksum();
    w.raw(b"l", Meta::new(0o120_777), b"target", Some(0));
    w.trailer();
    assert_eq!(collect(&w.finish()).1, None);
}

#[test]
fn several_archives_in_a_row() {
    let mut first = Writer::new();
    first
        .file("kernel/x86/microcode/GenuineIntel.bin", 0o644, b"ucode")
        .trailer();
    let mut data = first.finish();
    data.extend_from_slice(&[0u8; 512]);
    let mut second = Writer::new();
    second.dir("etc").file("init", 0o755, b"#!").trailer();
    data.extend_from_slice(&second.finish());
    data.extend_from_slice(&[0u8; 100]);

    let (v, e) = collect(&data);
    assert_eq!(e, None);
    assert_eq!(
        names(&v),
        vec!["kernel/x86/microcode/GenuineIntel.bin", "etc", "init"]
    );
}

#[test]
fn junk_after_trailer_is_reported() {
    let mut w = Writer::new();
    w.file("a", 0o644, b"1").trailer();
    let mut data = w.finish();
    let junk_at = data.len();
    data.extend_from_slice(b"JUNKJUNK");
    let (v, e) = collect(&data);
    assert_eq!(names(&v), vec!["a"]);
    assert_eq!(
        e,
        Some(Error {
            offset: junk_at,
            kind: ErrorKind::BadMagic
        })
    );

    // A second archive that does not start on a four-byte boundary.
    let mut data = Writer::new().trailer().finish();
    data.push(0);
    data.push(b'0');
    let (_, e) = collect(&data);
    assert_eq!(e.map(|e| e.kind), Some(ErrorKind::BadAlignment));
}

#[test]
fn missing_trailer() {
    let mut w = Writer::new();
    w.file("a", 0o644, b"1");
    let data = w.finish();
    let (v, e) = collect(&data);
    assert_eq!(names(&v), vec!["a"]);
    assert_eq!(
        e,
        Some(Error {
            offset: data.len(),
            kind: ErrorKind::MissingTrailer
        })
    );
}

#[test]
fn trailer_padding_may_be_cut_off() {
    let mut data = Writer::new().file("a", 0o644, b"1").trailer().finish();
    // "TRAILER!!!\0" after a 110-byte header ends 1 byte short of a boundary.
    data.pop();
    let (v, e) = collect(&data);
    assert_eq!(names(&v), vec!["a"]);
    assert_eq!(e, None);
}

#[test]
fn bad_headers() {
    let good = Writer::new().file("a", 0o644, b"1").trailer().finish();

    let mut bad = good.clone();
    bad[..6].copy_from_slice(b"070707");
    assert_eq!(
        collect(&bad).1,
        Some(Error {
            offset: 0,
            kind: ErrorKind::BadMagic
        })
    );

    let mut bad = good.clone();
    bad[6 + 8 + 3] = b'g'; // inside the mode field
    assert_eq!(
        collect(&bad).1,
        Some(Error {
            offset: 14,
            kind: ErrorKind::BadHexDigit { field: "mode" }
        })
    );

    let mut bad = good.clone();
    bad[HEADER_LEN + 1] = b'x'; // overwrite the name's NUL
    assert_eq!(
        collect(&bad).1.map(|e| e.kind),
        Some(ErrorKind::NameNotTerminated)
    );

    let mut bad = good.clone();
    bad[HEADER_LEN] = 0xff; // the name "a" becomes invalid UTF-8
    assert_eq!(
        collect(&bad).1.map(|e| e.kind),
        Some(ErrorKind::NameNotUtf8)
    );

    let mut w = Writer::new();
    w.raw(b"a\0b", Meta::new(0o100_644), b"", None);
    assert_eq!(
        collect(&w.trailer().finish()).1.map(|e| e.kind),
        Some(ErrorKind::NameNotTerminated)
    );

    // namesize 0
    let mut bad = good.clone();
    bad[6 + 11 * 8..6 + 12 * 8].copy_from_slice(b"00000000");
    assert_eq!(
        collect(&bad).1.map(|e| e.kind),
        Some(ErrorKind::NameNotTerminated)
    );
}

#[test]
fn huge_sizes_are_truncation_errors() {
    let good = Writer::new().file("a", 0o644, b"1").trailer().finish();
    for (field, kind) in [(6usize, ErrorKind::Truncated), (11, ErrorKind::NameTooLong)] {
        // filesize, namesize
        let mut bad = good.clone();
        let at = 6 + field * 8;
        bad[at..at + 8].copy_from_slice(b"ffffffff");
        let (v, e) = collect(&bad);
        assert!(v.is_empty());
        assert_eq!(e.map(|e| e.kind), Some(kind));
    }
}

#[test]
fn truncation_at_every_offset() {
    let mut w = Writer::with_checksum();
    w.dir(".")
        .file("a", 0o644, b"hello world")
        .symlink("b", "a")
        .file("c", 0o600, b"")
        .trailer();
    let plain = sample();
    for data in [w.finish(), plain] {
        let (full, e) = collect(&data);
        assert_eq!(e, None);
        for cut in 0..data.len() {
            let (v, e) = collect(&data[..cut]);
            assert!(v.len() <= full.len());
            assert_eq!(&full[..v.len()], &v[..]);
            if e.is_none() {
                // Without an error, the trailer must have been seen (or
                // nothing at all was there), and all entries returned.
                assert!(cut == 0 || v.len() == full.len(), "cut {cut}");
            } else {
                assert!(e.is_some_and(|e| e.offset <= cut));
            }
        }
    }
}

/// Small deterministic generator for the random tests.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for i in 0..3000 {
        let len = (rng.next() % 400) as usize;
        let mut data = rng.bytes(len);
        // Give some inputs a valid-looking start so the parser goes deeper.
        match i % 4 {
            0 if data.len() >= 6 => data[..6].copy_from_slice(b"070701"),
            1 if data.len() >= 2 => data[..2].copy_from_slice(&[0x1f, 0x8b]),
            2 if data.len() >= 4 => data[..4].copy_from_slice(&[0x1f, 0x8b, 8, 0]),
            _ => {}
        }
        let _ = collect(&data);
        let _ = decompress(&data, 1 << 20);
    }
}

#[test]
fn mutated_archives_never_panic() {
    let base = sample();
    let mut rng = XorShift(12345);
    for _ in 0..5000 {
        let mut data = base.clone();
        for _ in 0..(rng.next() % 4 + 1) {
            let at = (rng.next() as usize) % data.len();
            data[at] = match rng.next() % 3 {
                0 => rng.next() as u8,
                1 => b'f',
                _ => b'0',
            };
        }
        let _ = collect(&data);
    }
}

// ---- gzip ----

fn gzip_member(data: &[u8], flags: u8) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3];
    if flags & FEXTRA_FLAG != 0 {
        let extra = b"AB\x02\x00xy";
        out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        out.extend_from_slice(extra);
    }
    if flags & FNAME_FLAG != 0 {
        out.extend_from_slice(b"initramfs.cpio\0");
    }
    if flags & FCOMMENT_FLAG != 0 {
        out.extend_from_slice(b"a comment\0");
    }
    if flags & FHCRC_FLAG != 0 {
        let crc = crc32::crc32(&out) as u16;
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 6));
    out.extend_from_slice(&crc32::crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

const FHCRC_FLAG: u8 = 2;
const FEXTRA_FLAG: u8 = 4;
const FNAME_FLAG: u8 = 8;
const FCOMMENT_FLAG: u8 = 16;

const LIMIT: usize = 1 << 24;

#[test]
fn plain_input_is_borrowed() {
    let data = sample();
    match decompress(&data, 0).unwrap() {
        Cow::Borrowed(b) => assert_eq!(b, &data[..]),
        Cow::Owned(_) => panic!("copied a plain archive"),
    }
    assert!(matches!(decompress(b"", 0), Ok(Cow::Borrowed(b""))));
    // Damage in plain input is left for the parser to report.
    assert!(matches!(decompress(b"junk", 0), Ok(Cow::Borrowed(b"junk"))));
}

#[test]
fn gunzip_with_every_header_flag() {
    let data = sample();
    for flags in 0..32u8 {
        let gz = gzip_member(&data, flags);
        check_stream(&gz);
        let out = decompress(&gz, LIMIT).unwrap();
        assert_eq!(&out[..], &data[..], "flags {flags:#x}");
        assert_eq!(collect(&out).0.len(), 6);
    }
}

#[test]
fn concatenated_members_and_padding() {
    let a = Writer::new().file("a", 0o644, b"first").trailer().finish();
    let b = Writer::new().file("b", 0o644, b"second").trailer().finish();
    let mut gz = gzip_member(&a, FNAME_FLAG);
    gz.extend_from_slice(&[0; 7]);
    gz.extend_from_slice(&gzip_member(&b, 0));
    gz.extend_from_slice(&[0; 3]);
    check_stream(&gz);
    let out = decompress(&gz, LIMIT).unwrap();
    let (v, e) = collect(&out);
    assert_eq!(e, None);
    assert_eq!(names(&v), vec!["a", "b"]);
    assert_eq!(v[1].data, b"second");

    // A member whose output does not end on a four-byte boundary is padded,
    // so the next archive still starts where a header may start.
    let odd = b"xyz";
    let mut gz = gzip_member(odd, 0);
    gz.extend_from_slice(&gzip_member(&b, 0));
    check_stream(&gz);
    let out = decompress(&gz, LIMIT).unwrap();
    assert_eq!(&out[..4], b"xyz\0");
    assert_eq!(&out[4..], &b[..]);
}

#[test]
fn plain_archive_then_compressed_one() {
    // The early-microcode layout: a plain archive, then a compressed one.
    let early = Writer::new()
        .file("kernel/x86/microcode/AuthenticAMD.bin", 0o644, b"u")
        .trailer()
        .finish();
    let main = Writer::new()
        .dir("bin")
        .file("init", 0o755, b"#!")
        .trailer()
        .finish();
    let mut image = early.clone();
    image.extend_from_slice(&[0; 8]);
    image.extend_from_slice(&gzip_member(&main, 0));
    // And a plain archive after the compressed one.
    image.extend_from_slice(&Writer::new().file("late", 0o644, b"z").trailer().finish());
    check_stream(&image);

    let out = decompress(&image, LIMIT).unwrap();
    assert!(matches!(out, Cow::Owned(_)));
    let (v, e) = collect(&out);
    assert_eq!(e, None);
    assert_eq!(
        names(&v),
        vec![
            "kernel/x86/microcode/AuthenticAMD.bin",
            "bin",
            "init",
            "late"
        ]
    );
}

#[test]
fn damaged_plain_piece_after_member_is_passed_through() {
    let main = Writer::new().file("a", 0o644, b"1").trailer().finish();
    let mut image = gzip_member(&main, 0);
    image.extend_from_slice(b"0707junk");
    check_stream(&image);
    let out = decompress(&image, LIMIT).unwrap();
    let (v, e) = collect(&out);
    assert_eq!(names(&v), vec!["a"]);
    assert_eq!(e.map(|e| e.kind), Some(ErrorKind::BadMagic));
}

#[test]
fn gzip_errors() {
    let data = sample();
    let gz = gzip_member(&data, FHCRC_FLAG | FNAME_FLAG);

    let mut bad = gz.clone();
    let n = bad.len();
    bad[n - 8] ^= 1;
    assert_eq!(
        decompress(&bad, LIMIT).map(|_| ()).unwrap_err().kind,
        ErrorKind::GzipCrc
    );

    let mut bad = gz.clone();
    bad[n - 4] ^= 1;
    assert_eq!(
        decompress(&bad, LIMIT).map(|_| ()).unwrap_err().kind,
        ErrorKind::GzipSize
    );

    let mut bad = gz.clone();
    bad[12] ^= 1; // inside the file name, covered by the header CRC
    assert_eq!(
        decompress(&bad, LIMIT).map(|_| ()).unwrap_err().kind,
        ErrorKind::GzipHeaderCrc
    );

    let mut bad = gz.clone();
    bad[2] = 7;
    assert_eq!(
        decompress(&bad, LIMIT).map(|_| ()).unwrap_err().kind,
        ErrorKind::UnsupportedCompression
    );

    let mut bad = gz.clone();
    bad[3] |= 0x80;
    assert_eq!(
        decompress(&bad, LIMIT).map(|_| ()).unwrap_err().kind,
        ErrorKind::ReservedGzipFlags
    );

    // A deflate block of reserved type 3 is invalid.
    let mut bad = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x07, 0, 0, 0];
    bad.extend_from_slice(&[0; 8]);
    assert_eq!(
        decompress(&bad, LIMIT).map(|_| ()).unwrap_err().kind,
        ErrorKind::CorruptDeflate
    );
}

#[test]
fn output_limit() {
    let data = vec![b'a'; 100_000];
    let gz = gzip_member(&data, 0);
    assert_eq!(decompress(&gz, data.len()).unwrap().len(), data.len());
    assert_eq!(
        decompress(&gz, data.len() - 1)
            .map(|_| ())
            .unwrap_err()
            .kind,
        ErrorKind::TooLarge
    );
    assert_eq!(
        decompress(&gz, 0).map(|_| ()).unwrap_err().kind,
        ErrorKind::TooLarge
    );

    // The limit covers the whole result, not each member.
    let mut two = gz.clone();
    two.extend_from_slice(&gz);
    assert!(decompress(&two, 2 * data.len()).is_ok());
    assert_eq!(
        decompress(&two, 2 * data.len() - 1)
            .map(|_| ())
            .unwrap_err()
            .kind,
        ErrorKind::TooLarge
    );
}

#[test]
fn gzip_truncation_at_every_offset() {
    let data = sample();
    let gz = gzip_member(&data, FEXTRA_FLAG | FNAME_FLAG | FCOMMENT_FLAG | FHCRC_FLAG);
    for cut in 2..gz.len() {
        assert!(decompress(&gz[..cut], LIMIT).is_err(), "cut {cut}");
        check_stream(&gz[..cut]);
    }
    // Cutting before the magic leaves plain (junk) input, passed through.
    assert!(decompress(&gz[..1], LIMIT).is_ok());

    // Cut inside a second member: the error is reported, not a short result.
    let mut two = gz.clone();
    two.extend_from_slice(&gz);
    for cut in gz.len() + 2..two.len() {
        assert!(decompress(&two[..cut], LIMIT).is_err(), "cut {cut}");
    }
}

#[test]
fn mutated_gzip_never_panics() {
    let gz = gzip_member(&sample(), FNAME_FLAG | FHCRC_FLAG);
    let mut rng = XorShift(777);
    for _ in 0..3000 {
        let mut bad = gz.clone();
        for _ in 0..(rng.next() % 3 + 1) {
            let at = 2 + (rng.next() as usize) % (bad.len() - 2);
            bad[at] = rng.next() as u8;
        }
        if let Ok(out) = decompress(&bad, 1 << 20) {
            let _ = collect(&out);
        }
        // Damage may show in the archive before the gzip trailer reveals
        // it, so only agreement on success is required.
        let (recs, kind) = streamed(&bad);
        if let Ok(out) = decompress(&bad, LIMIT) {
            let (v, e) = collect_only(&out);
            let expected: Vec<Rec> = v.iter().map(Rec::from).collect();
            assert_eq!((recs, kind), (expected, e.map(|e| e.kind)));
        }
    }
}

#[test]
fn streaming_a_large_member_in_bounded_memory() {
    // Larger than the inflate window many times over, with a file that
    // spans window boundaries: the stream delivers it intact.
    let big: Vec<u8> = (0..1_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let data = Writer::new()
        .dir("d")
        .file("d/big", 0o644, &big)
        .file("d/small", 0o600, b"x")
        .trailer()
        .finish();
    let gz = gzip_member(&data, 0);
    check_stream(&gz);
    let (recs, e) = streamed(&gz);
    assert_eq!(e, None);
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[1].data, big);

    // The output limit counts every member.
    let mut r = Recorder::default();
    let e = unpack(&gz, &mut r, data.len() - 1).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
}

#[test]
fn streamed_names_are_bounded() {
    let long = "n".repeat(MAX_NAME);
    let data = Writer::new().file(&long, 0o644, b"").trailer().finish();
    assert_eq!(streamed(&data).1, Some(ErrorKind::NameTooLong));
    let ok = "n".repeat(MAX_NAME - 1);
    let data = Writer::new().file(&ok, 0o644, b"").trailer().finish();
    assert_eq!(streamed(&data).1, None);
}
