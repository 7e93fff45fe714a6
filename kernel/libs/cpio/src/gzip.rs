// SPDX-License-Identifier: MPL-2.0

//! Turning a (possibly gzip-compressed) initramfs image into a plain cpio
//! stream.
//!
//! Linux's `unpack_to_rootfs()` reads the image as a sequence of pieces:
//! plain cpio archives, compressed streams (each of which decompresses to
//! one or more archives), and NUL padding between them. [`decompress`]
//! follows the same model for gzip, the one compression format handled
//! here, and hands back one stream that [`entries`](crate::entries) can
//! parse.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::vec::Vec;

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress as inflate};

use crate::{Error, ErrorKind, archive_end, crc32};

pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Compression method "deflate", the only one RFC 1952 defines.
const CM_DEFLATE: u8 = 8;
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xe0;

fn err(offset: usize, kind: ErrorKind) -> Error {
    Error { offset, kind }
}

/// Returns the plain cpio stream held in `data`.
///
/// If no gzip member is found, the input is returned as it is (borrowed).
/// Otherwise the result is built the way Linux unpacks an initramfs: each
/// gzip member is inflated and appended (concatenated members are allowed),
/// plain archives found between members are copied through, and NUL
/// padding between pieces is dropped. Each piece starts on a four-byte
/// boundary of the result, as a new archive must.
///
/// `limit` bounds the size of the result in bytes when decompression is
/// needed; going over it gives [`ErrorKind::TooLarge`].
///
/// Damage in a plain archive is not reported here: that piece and the rest
/// of the input are passed through unchanged, so that the entries before
/// the damage can still be read and [`entries`](crate::entries) reports the
/// problem. Damage in a gzip member is an error, since nothing after it can
/// be trusted.
///
/// Unlike Linux, which skips the gzip trailer, the CRC-32 and size in each
/// trailer are checked.
pub fn decompress(data: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, Error> {
    let mut out: Option<Vec<u8>> = None;
    let mut pos = 0usize;
    loop {
        let rest = data.get(pos..).unwrap_or_default();
        pos = pos.saturating_add(rest.iter().take_while(|&&b| b == 0).count());
        let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) else {
            break;
        };

        if rest.starts_with(&GZIP_MAGIC) {
            let buf = match out.as_mut() {
                Some(buf) => buf,
                None => {
                    // Everything before this member was plain archives and
                    // padding: copy it across, dropping the padding.
                    let mut buf = Vec::new();
                    copy_plain(data, 0, pos, &mut buf, limit)?;
                    out.insert(buf)
                }
            };
            pad_to_4(buf, limit, pos)?;
            pos = gunzip_member(data, pos, buf, limit)?;
            continue;
        }

        // A plain piece: find the end of its archive so that a compressed
        // member after it can be recognised.
        let end = if pos.is_multiple_of(4) {
            archive_end(data, pos)
        } else {
            None
        };
        match end {
            Some(end) => {
                if let Some(buf) = out.as_mut() {
                    pad_to_4(buf, limit, pos)?;
                    append(buf, data.get(pos..end).unwrap_or_default(), limit, pos)?;
                }
                pos = end;
            }
            None => {
                if let Some(buf) = out.as_mut() {
                    pad_to_4(buf, limit, pos)?;
                    append(buf, rest, limit, pos)?;
                }
                break;
            }
        }
    }
    Ok(match out {
        Some(buf) => Cow::Owned(buf),
        None => Cow::Borrowed(data),
    })
}

/// Copies the plain archives in `data[from..to]` to `out`, dropping NUL
/// padding between them, as [`decompress`] does for pieces found after a
/// compressed one.
fn copy_plain(
    data: &[u8],
    from: usize,
    to: usize,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), Error> {
    let region = data.get(..to).unwrap_or_default();
    let mut pos = from;
    loop {
        let rest = region.get(pos..).unwrap_or_default();
        pos = pos.saturating_add(rest.iter().take_while(|&&b| b == 0).count());
        if pos >= to {
            return Ok(());
        }
        // The first loop in `decompress` only reaches a gzip member after
        // whole, well-formed archives, so this always finds an end; treat
        // a miss as "copy the rest" rather than trusting that.
        let end = archive_end(region, pos).unwrap_or(to).min(to);
        pad_to_4(out, limit, pos)?;
        append(out, region.get(pos..end).unwrap_or_default(), limit, pos)?;
        if end <= pos {
            return Ok(());
        }
        pos = end;
    }
}

fn reserve(out: &mut Vec<u8>, extra: usize, limit: usize, offset: usize) -> Result<(), Error> {
    let total = out
        .len()
        .checked_add(extra)
        .ok_or(err(offset, ErrorKind::TooLarge))?;
    if total > limit {
        return Err(err(offset, ErrorKind::TooLarge));
    }
    out.try_reserve(extra)
        .map_err(|_| err(offset, ErrorKind::OutOfMemory))
}

fn append(out: &mut Vec<u8>, bytes: &[u8], limit: usize, offset: usize) -> Result<(), Error> {
    reserve(out, bytes.len(), limit, offset)?;
    out.extend_from_slice(bytes);
    Ok(())
}

/// Pads `out` with NULs to a multiple of four bytes, so that the next piece
/// starts where a cpio header may start.
fn pad_to_4(out: &mut Vec<u8>, limit: usize, offset: usize) -> Result<(), Error> {
    let pad = (4 - out.len() % 4) % 4;
    reserve(out, pad, limit, offset)?;
    out.resize(out.len().saturating_add(pad), 0);
    Ok(())
}

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    let end = at.checked_add(2)?;
    let b = data.get(at..end)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    let b: [u8; 4] = data.get(at..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// Position just past the NUL that ends the string at `at`.
fn skip_cstr(data: &[u8], at: usize) -> Option<usize> {
    let rest = data.get(at..)?;
    let nul = rest.iter().position(|&b| b == 0)?;
    at.checked_add(nul)?.checked_add(1)
}

/// Checks the header of the gzip member at `start` (RFC 1952 section 2.3)
/// and returns the position of its deflate data.
pub(crate) fn member_header(data: &[u8], start: usize) -> Result<usize, Error> {
    let truncated = |at: usize| err(at, ErrorKind::Truncated);

    // Fixed part: ID1 ID2 CM FLG MTIME(4) XFL OS.
    let fixed_end = start.checked_add(10).ok_or(truncated(start))?;
    let fixed = data.get(start..fixed_end).ok_or(truncated(start))?;
    let (cm, flags) = match fixed {
        [_, _, cm, flags, ..] => (*cm, *flags),
        _ => return Err(truncated(start)),
    };
    if cm != CM_DEFLATE {
        return Err(err(start, ErrorKind::UnsupportedCompression));
    }
    if flags & FRESERVED != 0 {
        return Err(err(start, ErrorKind::ReservedGzipFlags));
    }

    let mut pos = fixed_end;
    if flags & FEXTRA != 0 {
        let xlen = read_u16(data, pos).ok_or(truncated(pos))?;
        pos = pos
            .checked_add(2)
            .and_then(|p| p.checked_add(usize::from(xlen)))
            .filter(|&p| p <= data.len())
            .ok_or(truncated(pos))?;
    }
    if flags & FNAME != 0 {
        pos = skip_cstr(data, pos).ok_or(truncated(pos))?;
    }
    if flags & FCOMMENT != 0 {
        pos = skip_cstr(data, pos).ok_or(truncated(pos))?;
    }
    if flags & FHCRC != 0 {
        let stored = read_u16(data, pos).ok_or(truncated(pos))?;
        let header = data.get(start..pos).ok_or(truncated(pos))?;
        // The header CRC is the low half of the CRC-32 of the header bytes.
        if (crc32::crc32(header) & 0xffff) as u16 != stored {
            return Err(err(start, ErrorKind::GzipHeaderCrc));
        }
        pos = pos.checked_add(2).ok_or(truncated(pos))?;
    }
    Ok(pos)
}

/// Checks the trailer at `at` (the CRC-32 and the size modulo 2^32 of the
/// uncompressed data) against what was produced; returns the position
/// just past the member.
pub(crate) fn check_trailer(data: &[u8], at: usize, crc: u32, size: usize) -> Result<usize, Error> {
    let truncated = |at: usize| err(at, ErrorKind::Truncated);
    let stored_crc = read_u32(data, at).ok_or(truncated(at))?;
    let size_at = at.checked_add(4).ok_or(truncated(at))?;
    let isize = read_u32(data, size_at).ok_or(truncated(size_at))?;
    if crc != stored_crc {
        return Err(err(at, ErrorKind::GzipCrc));
    }
    // ISIZE is the length modulo 2^32, so only the low bits are compared.
    if size as u32 != isize {
        return Err(err(size_at, ErrorKind::GzipSize));
    }
    size_at.checked_add(4).ok_or(truncated(size_at))
}

/// Inflates the gzip member at `start`, appending its output to `out`, and
/// returns the position just past the member.
fn gunzip_member(
    data: &[u8],
    start: usize,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<usize, Error> {
    let pos = member_header(data, start)?;
    let member_out_start = out.len();
    let after_deflate = inflate_raw(data, pos, out, limit)?;

    let produced = out.get(member_out_start..).unwrap_or_default();
    check_trailer(data, after_deflate, crc32::crc32(produced), produced.len())
}

/// Inflates the raw deflate stream starting at `start`, appending to `out`
/// without letting `out` grow past `limit`, and returns the position just
/// past the stream.
///
/// `miniz_oxide::inflate::decompress_to_vec_with_limit` would be simpler
/// but does not say how much input it consumed, which is needed to find
/// the gzip trailer and any member after it.
fn inflate_raw(data: &[u8], start: usize, out: &mut Vec<u8>, limit: usize) -> Result<usize, Error> {
    let base = out.len();
    let room = limit
        .checked_sub(base)
        .ok_or(err(start, ErrorKind::TooLarge))?;
    // One byte past the limit lets "exactly at the limit" be told apart
    // from "needs more".
    let cap = room.saturating_add(1);
    let input = data.get(start..).unwrap_or_default();

    // The decompressor state is about 11 KiB: keep it off the stack.
    let mut state = Box::<DecompressorOxide>::default();
    let mut in_pos = 0usize;
    let mut out_pos = 0usize;
    let mut window = input.len().saturating_mul(4).clamp(4096, 1 << 24).min(cap);
    grow(out, base, window, start)?;

    loop {
        let in_buf = input.get(in_pos..).unwrap_or_default();
        let Some(out_buf) = out.get_mut(base..) else {
            return Err(err(start, ErrorKind::OutOfMemory));
        };
        let (status, consumed, written) = inflate(
            &mut state,
            in_buf,
            out_buf,
            out_pos,
            TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
        );
        in_pos = in_pos.saturating_add(consumed);
        out_pos = out_pos.saturating_add(written);
        let at = start.saturating_add(in_pos);
        match status {
            TINFLStatus::Done => break,
            TINFLStatus::HasMoreOutput => {
                if window >= cap {
                    out.truncate(base);
                    return Err(err(at, ErrorKind::TooLarge));
                }
                window = window.saturating_mul(2).min(cap);
                grow(out, base, window, at)?;
            }
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                out.truncate(base);
                return Err(err(at, ErrorKind::Truncated));
            }
            _ => {
                out.truncate(base);
                return Err(err(at, ErrorKind::CorruptDeflate));
            }
        }
    }
    if out_pos > room {
        out.truncate(base);
        return Err(err(start, ErrorKind::TooLarge));
    }
    out.truncate(base.saturating_add(out_pos));
    Ok(start.saturating_add(in_pos))
}

/// Makes `out[base..]` `window` bytes long, failing instead of aborting if
/// memory runs out.
fn grow(out: &mut Vec<u8>, base: usize, window: usize, offset: usize) -> Result<(), Error> {
    let want = base
        .checked_add(window)
        .ok_or(err(offset, ErrorKind::TooLarge))?;
    let extra = want.saturating_sub(out.len());
    out.try_reserve(extra)
        .map_err(|_| err(offset, ErrorKind::OutOfMemory))?;
    out.resize(want, 0);
    Ok(())
}
