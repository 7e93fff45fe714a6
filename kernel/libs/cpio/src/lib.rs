// SPDX-License-Identifier: MPL-2.0

//! A parser for "newc" cpio archives, the format of Linux's initramfs.
//!
//! [`entries`] walks an archive held in memory and yields one [`Entry`] per
//! member, borrowing names and contents from the input. [`decompress`]
//! turns a gzip-compressed image into the plain archive stream first.
//!
//! # Format
//!
//! Each member is a 110-byte ASCII header (the magic `070701`, or `070702`
//! when the header carries a checksum of the data, then thirteen fields of
//! eight hexadecimal digits), the NUL-terminated name, padding to a multiple
//! of four bytes, the data, and padding again to a multiple of four. The
//! member named `TRAILER!!!` ends an archive.
//!
//! Like Linux's `unpack_to_rootfs()`, the parser accepts several archives in
//! a row: after a trailer, NUL bytes are skipped and, if anything but NULs
//! follows, it must be the next archive. This is how an initramfs is put
//! together from pieces (for example an early-microcode archive followed by
//! the main one).
//!
//! # Errors
//!
//! Errors are values. On malformed input the iterator yields one [`Error`]
//! with the byte offset of the damage and then ends; the entries it yielded
//! before stay valid, much as Linux keeps the files it had already unpacked
//! when it gives up on a broken initramfs.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod crc32;
mod gzip;
mod stream;

use core::fmt;

pub use gzip::decompress;
pub use stream::{Header, MAX_NAME, Sink, unpack};

/// Length of a newc header, magic included.
const HEADER_LEN: usize = 110;

/// Name of the member that ends an archive.
const TRAILER: &str = "TRAILER!!!";

/// Mask of the file type bits in [`Entry::mode`] (`S_IFMT`).
pub const S_IFMT: u32 = 0o170_000;

/// The type of file an entry describes, from the `S_IFMT` bits of its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// A regular file; the data is its contents.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link; the data is the target path (without a NUL).
    Symlink,
    /// A character device; see [`Entry::rdev_major`] and [`Entry::rdev_minor`].
    CharDevice,
    /// A block device; see [`Entry::rdev_major`] and [`Entry::rdev_minor`].
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// Any other value of the type bits (Linux skips such entries).
    Unknown(u32),
}

impl FileType {
    /// Classifies the `S_IFMT` bits of `mode`.
    pub fn from_mode(mode: u32) -> Self {
        match mode & S_IFMT {
            0o100_000 => FileType::Regular,
            0o040_000 => FileType::Directory,
            0o120_000 => FileType::Symlink,
            0o020_000 => FileType::CharDevice,
            0o060_000 => FileType::BlockDevice,
            0o010_000 => FileType::Fifo,
            0o140_000 => FileType::Socket,
            other => FileType::Unknown(other),
        }
    }
}

/// One member of an archive.
///
/// Hard links are stored as several entries with the same `ino`,
/// `dev_major` and `dev_minor` and an `nlink` above one; usually only one of
/// them carries the data. Linux links them together by that key
/// (`maybe_link()` in `init/initramfs.c`); doing the same is left to the
/// caller, which owns the file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The path, with any leading `./` and `/` removed, so that it is
    /// relative to the root the archive is unpacked into. Entries naming the
    /// root itself (`.`) are not returned.
    pub name: &'a str,
    /// File type and permission bits, as in `st_mode`.
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Modification time in seconds since the epoch (unsigned, so it lasts
    /// until 2106).
    pub mtime: u32,
    /// Number of links, used to recognise hard links.
    pub nlink: u32,
    /// Inode number on the system that made the archive.
    pub ino: u32,
    /// Major number of the device that held the file.
    pub dev_major: u32,
    /// Minor number of the device that held the file.
    pub dev_minor: u32,
    /// For device files, the major number of the device.
    pub rdev_major: u32,
    /// For device files, the minor number of the device.
    pub rdev_minor: u32,
    /// The data: file contents, or a symbolic link's target.
    pub data: &'a [u8],
    /// Offset of this entry's header in the parsed buffer.
    pub offset: usize,
}

impl<'a> Entry<'a> {
    /// The file type, from the mode.
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode)
    }

    /// The permission bits (including set-user-id, set-group-id and sticky).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// What went wrong, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// Byte offset in the input at which the problem was found.
    pub offset: usize,
    /// The kind of problem.
    pub kind: ErrorKind,
}

/// The kinds of [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A header does not start with `070701` or `070702`.
    BadMagic,
    /// A header field holds something other than eight hexadecimal digits.
    BadHexDigit {
        /// The name of the field.
        field: &'static str,
    },
    /// A header starts at an offset that is not a multiple of four.
    BadAlignment,
    /// The name size is zero, the name does not end with its NUL, or it has
    /// a NUL before the end.
    NameNotTerminated,
    /// The name is not valid UTF-8.
    NameNotUtf8,
    /// A name is longer than [`MAX_NAME`].
    NameTooLong,
    /// The input ends inside a header, name or data (or a size field points
    /// past the end).
    Truncated,
    /// The input ends between members, before any `TRAILER!!!`.
    MissingTrailer,
    /// A `070702` regular file's data does not add up to its checksum field.
    BadChecksum,
    /// A gzip member uses a compression method other than deflate.
    UnsupportedCompression,
    /// A gzip header sets flag bits that RFC 1952 reserves.
    ReservedGzipFlags,
    /// The CRC16 of a gzip header does not match.
    GzipHeaderCrc,
    /// The deflate data is invalid.
    CorruptDeflate,
    /// The CRC32 in a gzip trailer does not match the data.
    GzipCrc,
    /// The size in a gzip trailer does not match the data.
    GzipSize,
    /// The decompressed data would exceed the caller's limit.
    TooLarge,
    /// Memory for the decompressed data could not be allocated.
    OutOfMemory,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::BadMagic => "no cpio magic",
            ErrorKind::BadHexDigit { field } => {
                return write!(
                    f,
                    "bad hex digit in the {} field at offset {}",
                    field, self.offset
                );
            }
            ErrorKind::BadAlignment => "header not aligned to four bytes",
            ErrorKind::NameNotTerminated => "name not NUL-terminated",
            ErrorKind::NameNotUtf8 => "name not UTF-8",
            ErrorKind::NameTooLong => "name too long",
            ErrorKind::Truncated => "truncated",
            ErrorKind::MissingTrailer => "archive ends without TRAILER!!!",
            ErrorKind::BadChecksum => "bad data checksum",
            ErrorKind::UnsupportedCompression => "unsupported gzip compression method",
            ErrorKind::ReservedGzipFlags => "reserved gzip flags set",
            ErrorKind::GzipHeaderCrc => "bad gzip header CRC",
            ErrorKind::CorruptDeflate => "corrupt deflate data",
            ErrorKind::GzipCrc => "bad gzip CRC32",
            ErrorKind::GzipSize => "bad gzip size",
            ErrorKind::TooLarge => "decompressed data too large",
            ErrorKind::OutOfMemory => "out of memory",
        };
        write!(f, "{} at offset {}", what, self.offset)
    }
}

/// Iterates over the entries of the archive(s) in `data`.
///
/// An empty input, or one made only of NUL bytes, holds no entries and is
/// not an error.
pub fn entries(data: &[u8]) -> Entries<'_> {
    Entries {
        data,
        pos: 0,
        state: State::BetweenArchives,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first archive or after a trailer: NULs may follow.
    BetweenArchives,
    /// Inside an archive: a header must follow.
    InArchive,
    /// The end was reached or an error was reported.
    Done,
}

/// Iterator over the entries of an archive; see [`entries`].
#[derive(Clone, Debug)]
pub struct Entries<'a> {
    data: &'a [u8],
    pos: usize,
    state: State,
}

impl<'a> Entries<'a> {
    /// Offset of the next byte the iterator will look at.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn fail(&mut self, offset: usize, kind: ErrorKind) -> Option<Result<Entry<'a>, Error>> {
        self.state = State::Done;
        Some(Err(Error { offset, kind }))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.state {
                State::Done => return None,
                State::BetweenArchives => {
                    let rest = self.data.get(self.pos..).unwrap_or_default();
                    let zeros = rest.iter().take_while(|&&b| b == 0).count();
                    self.pos = self.pos.saturating_add(zeros);
                    if self.pos >= self.data.len() {
                        self.state = State::Done;
                        return None;
                    }
                    // Linux insists that each archive start on a four-byte
                    // boundary ("broken padding" otherwise).
                    if !self.pos.is_multiple_of(4) {
                        return self.fail(self.pos, ErrorKind::BadAlignment);
                    }
                    self.state = State::InArchive;
                }
                State::InArchive => {
                    if self.pos >= self.data.len() {
                        return self.fail(self.pos, ErrorKind::MissingTrailer);
                    }
                    match parse_member(self.data, self.pos) {
                        Err(e) => {
                            self.state = State::Done;
                            return Some(Err(e));
                        }
                        Ok(Member::Trailer { next }) => {
                            self.pos = next;
                            self.state = State::BetweenArchives;
                        }
                        Ok(Member::Entry { entry, next }) => {
                            self.pos = next;
                            if entry.name.is_empty() {
                                // The root directory itself ("." or "./").
                                continue;
                            }
                            return Some(Ok(entry));
                        }
                    }
                }
            }
        }
    }
}

/// Where the archive starting at `pos` ends (just past its trailer and the
/// trailer's padding), or `None` if it is damaged before its trailer.
pub(crate) fn archive_end(data: &[u8], pos: usize) -> Option<usize> {
    let mut at = pos;
    loop {
        match parse_member(data, at).ok()? {
            Member::Trailer { next } => return Some(next),
            Member::Entry { next, .. } => at = next,
        }
    }
}

enum Member<'a> {
    Entry { entry: Entry<'a>, next: usize },
    Trailer { next: usize },
}

const FIELD_NAMES: [&str; 13] = [
    "ino",
    "mode",
    "uid",
    "gid",
    "nlink",
    "mtime",
    "filesize",
    "devmajor",
    "devminor",
    "rdevmajor",
    "rdevminor",
    "namesize",
    "check",
];

fn err(offset: usize, kind: ErrorKind) -> Error {
    Error { offset, kind }
}

/// Rounds `n` up to a multiple of four, or `None` on overflow.
fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|v| v & !3)
}

fn parse_hex8(bytes: &[u8]) -> Option<u32> {
    if bytes.len() != 8 {
        return None;
    }
    let mut v: u32 = 0;
    for &b in bytes {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        // Eight digits fit exactly in 32 bits, so the shift never loses bits.
        v = (v << 4) | u32::from(d);
    }
    Some(v)
}

fn parse_member(data: &[u8], pos: usize) -> Result<Member<'_>, Error> {
    // Look at the magic first, so that junk shorter than a header is
    // reported as junk rather than as a truncated header.
    let avail = data.get(pos..).unwrap_or_default();
    let magic_seen = avail.get(..avail.len().min(6)).unwrap_or_default();
    if !b"070701".starts_with(magic_seen) && !b"070702".starts_with(magic_seen) {
        return Err(err(pos, ErrorKind::BadMagic));
    }
    let header_end = pos
        .checked_add(HEADER_LEN)
        .ok_or(err(pos, ErrorKind::Truncated))?;
    let header = data
        .get(pos..header_end)
        .ok_or(err(pos, ErrorKind::Truncated))?;
    let (magic, fields_text) = header.split_at(6);
    let with_checksum = match magic {
        b"070701" => false,
        b"070702" => true,
        _ => return Err(err(pos, ErrorKind::BadMagic)),
    };

    let mut fields = [0u32; 13];
    for (i, (chunk, slot)) in fields_text.chunks(8).zip(fields.iter_mut()).enumerate() {
        *slot = parse_hex8(chunk).ok_or_else(|| {
            err(
                pos.saturating_add(6 + 8 * i),
                ErrorKind::BadHexDigit {
                    field: FIELD_NAMES.get(i).copied().unwrap_or("?"),
                },
            )
        })?;
    }
    let [
        ino,
        mode,
        uid,
        gid,
        nlink,
        mtime,
        filesize,
        dev_major,
        dev_minor,
        rdev_major,
        rdev_minor,
        namesize,
        check,
    ] = fields;

    // The name, including its NUL, no longer than Linux's `PATH_MAX`.
    if namesize as usize > MAX_NAME {
        return Err(err(header_end, ErrorKind::NameTooLong));
    }
    let name_end = usize::try_from(namesize)
        .ok()
        .and_then(|n| header_end.checked_add(n))
        .ok_or(err(header_end, ErrorKind::Truncated))?;
    let raw_name = data
        .get(header_end..name_end)
        .ok_or(err(header_end, ErrorKind::Truncated))?;
    let name_bytes = match raw_name.split_last() {
        Some((0, name)) if !name.contains(&0) => name,
        _ => return Err(err(header_end, ErrorKind::NameNotTerminated)),
    };
    let name =
        core::str::from_utf8(name_bytes).map_err(|_| err(header_end, ErrorKind::NameNotUtf8))?;

    // Padding that would run past the end of the input is forgiven: only a
    // member's own bytes are required to be present.
    let data_start = align4(name_end)
        .ok_or(err(name_end, ErrorKind::Truncated))?
        .min(data.len());
    let data_end = usize::try_from(filesize)
        .ok()
        .and_then(|n| data_start.checked_add(n))
        .ok_or(err(data_start, ErrorKind::Truncated))?;
    let body = data
        .get(data_start..data_end)
        .ok_or(err(data_start, ErrorKind::Truncated))?;
    let next = align4(data_end)
        .ok_or(err(data_end, ErrorKind::Truncated))?
        .min(data.len());

    if name == TRAILER {
        return Ok(Member::Trailer { next });
    }

    // Linux checks the sum only for regular files (do_copy() in
    // init/initramfs.c); the checksum is the byte sum modulo 2^32.
    if with_checksum && FileType::from_mode(mode) == FileType::Regular {
        let sum = body
            .iter()
            .fold(0u32, |acc, &b| acc.wrapping_add(u32::from(b)));
        if sum != check {
            return Err(err(data_start, ErrorKind::BadChecksum));
        }
    }

    Ok(Member::Entry {
        entry: Entry {
            name: strip_root(name),
            mode,
            uid,
            gid,
            mtime,
            nlink,
            ino,
            dev_major,
            dev_minor,
            rdev_major,
            rdev_minor,
            data: body,
            offset: pos,
        },
        next,
    })
}

/// Removes leading `/` and `./` so that names are relative to the root the
/// archive is unpacked into; `.` itself becomes the empty string.
fn strip_root(mut name: &str) -> &str {
    loop {
        if let Some(rest) = name.strip_prefix('/') {
            name = rest;
        } else if let Some(rest) = name.strip_prefix("./") {
            name = rest;
        } else if name == "." {
            return "";
        } else {
            return name;
        }
    }
}

#[cfg(test)]
mod tests;
