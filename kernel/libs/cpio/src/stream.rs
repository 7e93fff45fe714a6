// SPDX-License-Identifier: MPL-2.0

//! Unpacking an image as a stream, in bounded memory.
//!
//! [`decompress`](crate::decompress) and [`entries`](crate::entries) need
//! the whole plain archive in one buffer: a large compressed initramfs
//! needs as much contiguous memory as it holds. [`unpack`] reads the same
//! images (the same pieces, padding rules and errors) but hands each member
//! to a [`Sink`] as it goes: its header, then its data in chunks. Inflating
//! uses a fixed 64 KiB window, so the memory needed does not depend on the
//! size of the image.

use alloc::boxed::Box;
use alloc::vec::Vec;

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress as inflate};

use crate::gzip::{GZIP_MAGIC, check_trailer, member_header};
use crate::{
    Error, ErrorKind, FIELD_NAMES, FileType, HEADER_LEN, TRAILER, align4, crc32, err, parse_hex8,
    strip_root,
};

/// The longest name accepted, with its NUL (Linux's `PATH_MAX`).
pub const MAX_NAME: usize = 4096;

/// Size of the inflate window: a power of two of at least 32 KiB, the
/// largest distance a deflate stream refers back.
const WINDOW: usize = 1 << 16;

/// A member's header, as [`Entry`](crate::Entry) without the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// Path name, with leading `/` and `./` removed.
    pub name: &'a str,
    /// File type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Number of links.
    pub nlink: u32,
    /// Inode number in the archive.
    pub ino: u32,
    /// Major number of the device holding the file.
    pub dev_major: u32,
    /// Minor number of the device holding the file.
    pub dev_minor: u32,
    /// Major number of a device file.
    pub rdev_major: u32,
    /// Minor number of a device file.
    pub rdev_minor: u32,
    /// Size of the data that follows.
    pub size: u32,
    /// Offset of the header in the plain stream.
    pub offset: usize,
}

impl Header<'_> {
    /// The file type.
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode)
    }

    /// The permission bits (including set-id and sticky bits).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// Receives the members of an archive from [`unpack`].
pub trait Sink {
    /// A member starts (never the root directory or a trailer).
    fn begin(&mut self, header: &Header<'_>);
    /// Part of the current member's data, in order.
    fn data(&mut self, chunk: &[u8]);
    /// The current member's data is complete.
    fn end(&mut self);
}

/// Unpacks `image` (plain archives and gzip members, with NUL padding
/// between pieces, as [`decompress`](crate::decompress) accepts) into
/// `sink`. `limit` bounds the bytes decompressed, as there.
///
/// On damage, the members before it have been delivered, as with
/// [`entries`](crate::entries); a member cut short by the damage is not
/// ended.
pub fn unpack(image: &[u8], sink: &mut impl Sink, limit: usize) -> Result<(), Error> {
    let mut parser = Parser::new();
    let mut pos = 0usize;
    let mut produced = 0usize;
    loop {
        let rest = image.get(pos..).unwrap_or_default();
        let zeros = rest.iter().take_while(|&&b| b == 0).count();
        pos = pos.saturating_add(zeros);
        parser.offset = parser.offset.saturating_add(zeros);
        let Some(rest) = image.get(pos..).filter(|r| !r.is_empty()) else {
            break;
        };
        // Each piece starts on a four-byte boundary of the stream.
        if parser.state == State::Between {
            parser.offset = align4(parser.offset).unwrap_or(usize::MAX);
        }
        if rest.starts_with(&GZIP_MAGIC) {
            pos = gunzip(image, pos, &mut parser, sink, limit, &mut produced)?;
            continue;
        }
        // A plain piece: one archive, up to its trailer.
        if !pos.is_multiple_of(4) {
            return Err(err(parser.offset, ErrorKind::BadAlignment));
        }
        if parser.state == State::Between {
            parser.state = State::Header;
        }
        let used = parser.feed(rest, sink, true)?;
        pos = pos.saturating_add(used);
    }
    parser.finish(sink)
}

/// Inflates the gzip member at `start` into `parser`; returns the position
/// just past it.
fn gunzip(
    image: &[u8],
    start: usize,
    parser: &mut Parser,
    sink: &mut impl Sink,
    limit: usize,
    produced: &mut usize,
) -> Result<usize, Error> {
    let deflate_start = member_header(image, start)?;
    let input = image.get(deflate_start..).unwrap_or_default();
    // About 11 KiB of state and the window: off the stack.
    let mut state = Box::<DecompressorOxide>::default();
    let mut window = Vec::new();
    window
        .try_reserve_exact(WINDOW)
        .map_err(|_| err(start, ErrorKind::OutOfMemory))?;
    window.resize(WINDOW, 0);
    let (mut in_pos, mut out_pos) = (0usize, 0usize);
    let (mut crc, mut size) = (0u32, 0usize);
    loop {
        let (status, consumed, written) = inflate(
            &mut state,
            input.get(in_pos..).unwrap_or_default(),
            &mut window,
            out_pos,
            0,
        );
        in_pos = in_pos.saturating_add(consumed);
        let at = deflate_start.saturating_add(in_pos);
        let chunk = window
            .get(out_pos..out_pos.saturating_add(written))
            .unwrap_or_default();
        *produced = produced.saturating_add(chunk.len());
        if *produced > limit {
            return Err(err(at, ErrorKind::TooLarge));
        }
        crc = crc32::update(crc, chunk);
        size = size.wrapping_add(chunk.len());
        parser.feed(chunk, sink, false)?;
        out_pos = (out_pos + written) % WINDOW;
        match status {
            TINFLStatus::Done => break,
            TINFLStatus::HasMoreOutput => {}
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                return Err(err(at, ErrorKind::Truncated));
            }
            _ => return Err(err(at, ErrorKind::CorruptDeflate)),
        }
    }
    check_trailer(image, deflate_start.saturating_add(in_pos), crc, size)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// After a trailer (or before anything): NULs may follow.
    Between,
    /// Collecting a header.
    Header,
    /// Collecting the name.
    Name,
    /// Skipping the padding after the name.
    NamePad,
    /// Passing the data on.
    Data,
    /// Skipping the padding after the data.
    DataPad,
}

/// The archive parser, fed the plain stream piece by piece.
pub(crate) struct Parser {
    state: State,
    /// Offset in the plain stream of the next byte.
    offset: usize,
    header: [u8; HEADER_LEN],
    have: usize,
    /// The parsed fields, in header order.
    fields: [u32; 13],
    with_checksum: bool,
    member_offset: usize,
    name: Vec<u8>,
    /// Bytes left in the current name, data or padding.
    left: usize,
    /// Whether the current member was begun (it is not a trailer or the
    /// root directory).
    delivered: bool,
    sum: u32,
}

const F_MODE: usize = 1;
const F_FILESIZE: usize = 6;
const F_NAMESIZE: usize = 11;
const F_CHECK: usize = 12;

impl Parser {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Between,
            offset: 0,
            header: [0; HEADER_LEN],
            have: 0,
            fields: [0; 13],
            with_checksum: false,
            member_offset: 0,
            name: Vec::new(),
            left: 0,
            delivered: false,
            sum: 0,
        }
    }

    /// Feeds `bytes`; returns how many were used. With `one_archive`, stops
    /// after the trailer of the archive being read (a plain piece of the
    /// image); otherwise NULs and further archives may follow.
    pub(crate) fn feed(
        &mut self,
        bytes: &[u8],
        sink: &mut impl Sink,
        one_archive: bool,
    ) -> Result<usize, Error> {
        let mut i = 0usize;
        while i < bytes.len() {
            let rest = bytes.get(i..).unwrap_or_default();
            if self.state == State::Between {
                if one_archive {
                    return Ok(i);
                }
                let zeros = rest.iter().take_while(|&&b| b == 0).count();
                if zeros == 0 {
                    // Linux insists that each archive start on a four-byte
                    // boundary ("broken padding" otherwise).
                    if !self.offset.is_multiple_of(4) {
                        return Err(err(self.offset, ErrorKind::BadAlignment));
                    }
                    self.state = State::Header;
                }
                self.offset = self.offset.saturating_add(zeros);
                i = i.saturating_add(zeros);
                continue;
            }
            if self.state == State::Header {
                let n = self.take_header(rest)?;
                self.offset = self.offset.saturating_add(n);
                i = i.saturating_add(n);
                continue;
            }
            let n = self.left.min(rest.len());
            let chunk = rest.get(..n).unwrap_or_default();
            match self.state {
                State::Name => self.name.extend_from_slice(chunk),
                State::Data => {
                    if self.with_checksum {
                        self.sum = chunk
                            .iter()
                            .fold(self.sum, |acc, &b| acc.wrapping_add(u32::from(b)));
                    }
                    if self.delivered {
                        sink.data(chunk);
                    }
                }
                _ => {}
            }
            self.left -= n;
            self.offset = self.offset.saturating_add(n);
            i = i.saturating_add(n);
            if self.left == 0 {
                self.phase_done(sink)?;
            }
        }
        Ok(i)
    }

    /// Collects header bytes; when the header is complete, parses it and
    /// moves on to the name.
    fn take_header(&mut self, rest: &[u8]) -> Result<usize, Error> {
        if self.have == 0 {
            self.member_offset = self.offset;
        }
        let n = (HEADER_LEN - self.have).min(rest.len());
        if let (Some(dst), Some(src)) =
            (self.header.get_mut(self.have..self.have + n), rest.get(..n))
        {
            dst.copy_from_slice(src);
        }
        self.have += n;
        // Look at the magic as soon as it is there, so that junk shorter
        // than a header is reported as junk.
        let seen = self.header.get(..self.have.min(6)).unwrap_or_default();
        if !b"070701".starts_with(seen) && !b"070702".starts_with(seen) {
            return Err(err(self.member_offset, ErrorKind::BadMagic));
        }
        if self.have < HEADER_LEN {
            return Ok(n);
        }
        self.have = 0;
        self.with_checksum = self.header.get(..6) == Some(b"070702".as_slice());
        let pos = self.member_offset;
        for (i, chunk) in self
            .header
            .get(6..)
            .unwrap_or_default()
            .chunks(8)
            .enumerate()
        {
            let v = parse_hex8(chunk).ok_or_else(|| {
                err(
                    pos.saturating_add(6 + 8 * i),
                    ErrorKind::BadHexDigit {
                        field: FIELD_NAMES.get(i).copied().unwrap_or("?"),
                    },
                )
            })?;
            if let Some(slot) = self.fields.get_mut(i) {
                *slot = v;
            }
        }
        let header_end = pos.saturating_add(HEADER_LEN);
        let namesize = self.fields[F_NAMESIZE] as usize;
        if namesize == 0 {
            return Err(err(header_end, ErrorKind::NameNotTerminated));
        }
        if namesize > MAX_NAME {
            return Err(err(header_end, ErrorKind::NameTooLong));
        }
        self.name.clear();
        self.name
            .try_reserve(namesize)
            .map_err(|_| err(header_end, ErrorKind::OutOfMemory))?;
        self.left = namesize;
        self.state = State::Name;
        Ok(n)
    }

    /// The name, padding or data being read is complete.
    fn phase_done(&mut self, sink: &mut impl Sink) -> Result<(), Error> {
        match self.state {
            State::Name => {
                let header_end = self.member_offset.saturating_add(HEADER_LEN);
                match self.name.split_last() {
                    Some((0, name)) if !name.contains(&0) => {
                        core::str::from_utf8(name)
                            .map_err(|_| err(header_end, ErrorKind::NameNotUtf8))?;
                    }
                    _ => return Err(err(header_end, ErrorKind::NameNotTerminated)),
                }
                self.pad(State::NamePad, sink)
            }
            State::NamePad => self.begin_data(sink),
            State::Data => self.data_done(sink),
            _ => {
                self.next_member();
                Ok(())
            }
        }
    }

    /// Skips to the next four-byte boundary in state `state`, and goes on
    /// at once if already there.
    fn pad(&mut self, state: State, sink: &mut impl Sink) -> Result<(), Error> {
        self.state = state;
        self.left = align4(self.offset).unwrap_or(self.offset) - self.offset;
        if self.left == 0 {
            self.phase_done(sink)?;
        }
        Ok(())
    }

    fn is_trailer(&self) -> bool {
        self.name.strip_suffix(&[0]) == Some(TRAILER.as_bytes())
    }

    fn begin_data(&mut self, sink: &mut impl Sink) -> Result<(), Error> {
        let name = self
            .name
            .split_last()
            .and_then(|(_, n)| core::str::from_utf8(n).ok())
            .map(strip_root)
            .unwrap_or_default();
        // The root directory itself ("." or "./") is skipped, as by
        // `entries`.
        self.delivered = !self.is_trailer() && !name.is_empty();
        if self.delivered {
            let f = &self.fields;
            sink.begin(&Header {
                name,
                mode: f[F_MODE],
                uid: f[2],
                gid: f[3],
                mtime: f[5],
                nlink: f[4],
                ino: f[0],
                dev_major: f[7],
                dev_minor: f[8],
                rdev_major: f[9],
                rdev_minor: f[10],
                size: f[F_FILESIZE],
                offset: self.member_offset,
            });
        }
        self.sum = 0;
        self.state = State::Data;
        self.left = self.fields[F_FILESIZE] as usize;
        if self.left == 0 {
            self.data_done(sink)?;
        }
        Ok(())
    }

    fn data_done(&mut self, sink: &mut impl Sink) -> Result<(), Error> {
        // Linux checks the sum only for regular files (do_copy() in
        // init/initramfs.c); the checksum is the byte sum modulo 2^32.
        if self.with_checksum
            && !self.is_trailer()
            && FileType::from_mode(self.fields[F_MODE]) == FileType::Regular
            && self.sum != self.fields[F_CHECK]
        {
            let data_start = self.offset.saturating_sub(self.fields[F_FILESIZE] as usize);
            return Err(err(data_start, ErrorKind::BadChecksum));
        }
        if core::mem::take(&mut self.delivered) {
            sink.end();
        }
        self.pad(State::DataPad, sink)
    }

    fn next_member(&mut self) {
        self.state = if self.is_trailer() {
            State::Between
        } else {
            State::Header
        };
    }

    /// The stream ended. Padding cut off at the end is forgiven, as by
    /// [`entries`](crate::entries); a member whose own bytes are missing is
    /// not.
    pub(crate) fn finish(mut self, sink: &mut impl Sink) -> Result<(), Error> {
        if self.state == State::NamePad {
            self.begin_data(sink)?;
        }
        if self.state == State::DataPad {
            self.next_member();
        }
        match self.state {
            State::Between => Ok(()),
            State::Header if self.have == 0 => Err(err(self.offset, ErrorKind::MissingTrailer)),
            _ => Err(err(self.offset, ErrorKind::Truncated)),
        }
    }
}
