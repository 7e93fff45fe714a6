//! A writer for the SVR4 "newc" cpio format (magic `070701`), the format the
//! Linux-compatible initramfs loader understands.
//!
//! Every entry is a 110-byte ASCII header of thirteen 8-digit hexadecimal
//! fields, followed by the NUL-terminated name, padded so that header plus
//! name is a multiple of four bytes, followed by the data, padded to a
//! multiple of four bytes. The archive ends with an entry named `TRAILER!!!`.
//!
//! The writer only deals with already-decided entries; collecting them from
//! directories on disk is the job of [`crate::initramfs`].

use std::io::{self, Read, Write};

/// The magic number that opens every newc header.
pub const MAGIC: &[u8; 6] = b"070701";
/// The name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";
/// Size of a newc header in bytes.
pub const HEADER_LEN: usize = 110;

/// File-type bits of `st_mode`, as stored in the `mode` field.
pub mod mode {
    /// Mask of the file-type bits.
    pub const S_IFMT: u32 = 0o170000;
    /// Regular file.
    pub const S_IFREG: u32 = 0o100000;
    /// Directory.
    pub const S_IFDIR: u32 = 0o040000;
    /// Symbolic link.
    pub const S_IFLNK: u32 = 0o120000;
}

/// Metadata common to every entry written to the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryMeta {
    /// Permission bits (and set-id/sticky bits); the file type is added by
    /// the writer according to the kind of entry.
    pub perm: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
}

/// Streams a newc archive into `W`.
///
/// Inode numbers are assigned sequentially from 1, so they are unique within
/// the archive. Owner and group are always 0 (root).
pub struct NewcWriter<W: Write> {
    out: W,
    written: u64,
    next_ino: u32,
}

impl<W: Write> NewcWriter<W> {
    /// Starts an archive that is written to `out`.
    pub fn new(out: W) -> Self {
        NewcWriter {
            out,
            written: 0,
            next_ino: 1,
        }
    }

    /// Adds a directory.
    pub fn add_dir(&mut self, name: &[u8], meta: EntryMeta) -> io::Result<()> {
        let ino = self.alloc_ino();
        self.header(name, ino, mode::S_IFDIR | perm(meta), 2, meta.mtime, 0)?;
        Ok(())
    }

    /// Adds a symbolic link whose target is stored as the entry's data.
    pub fn add_symlink(&mut self, name: &[u8], target: &[u8], meta: EntryMeta) -> io::Result<()> {
        let size = data_size(target.len() as u64)?;
        let ino = self.alloc_ino();
        self.header(name, ino, mode::S_IFLNK | perm(meta), 1, meta.mtime, size)?;
        self.write(target)?;
        self.pad()
    }

    /// Adds a regular file of exactly `size` bytes read from `data`.
    ///
    /// Fails if `data` ends before `size` bytes; bytes after `size` are not
    /// read.
    pub fn add_file<R: Read>(
        &mut self,
        name: &[u8],
        meta: EntryMeta,
        size: u64,
        data: R,
    ) -> io::Result<()> {
        let size32 = data_size(size)?;
        let ino = self.alloc_ino();
        self.header(name, ino, mode::S_IFREG | perm(meta), 1, meta.mtime, size32)?;
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        self.written += copied;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: file shrank while being archived ({copied} of {size} bytes)",
                    String::from_utf8_lossy(name)
                ),
            ));
        }
        self.pad()
    }

    /// Writes the `TRAILER!!!` entry and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.header(TRAILER.as_bytes(), 0, 0, 1, 0, 0)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn alloc_ino(&mut self) -> u32 {
        let ino = self.next_ino;
        self.next_ino += 1;
        ino
    }

    /// Writes a header and the padded name.
    fn header(
        &mut self,
        name: &[u8],
        ino: u32,
        mode: u32,
        nlink: u32,
        mtime: u32,
        filesize: u32,
    ) -> io::Result<()> {
        if name.is_empty() || name.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cpio entry names must be non-empty and contain no NUL byte",
            ));
        }
        let namesize = u32::try_from(name.len() + 1)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "cpio entry name too long"))?;
        let fields = [
            ino, mode, 0, // uid
            0, // gid
            nlink, mtime, filesize, 0, // devmajor
            0, // devminor
            0, // rdevmajor
            0, // rdevminor
            namesize, 0, // check
        ];
        let mut header = Vec::with_capacity(HEADER_LEN + name.len() + 4);
        header.extend_from_slice(MAGIC);
        for field in fields {
            header.extend_from_slice(format!("{field:08X}").as_bytes());
        }
        debug_assert_eq!(header.len(), HEADER_LEN);
        header.extend_from_slice(name);
        header.push(0);
        self.write(&header)?;
        self.pad()
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Pads the archive with NUL bytes to the next multiple of four.
    fn pad(&mut self) -> io::Result<()> {
        let pad = padding(self.written);
        self.write(&[0u8; 3][..pad])
    }
}

/// Number of NUL bytes needed after `len` bytes to reach a multiple of four.
pub fn padding(len: u64) -> usize {
    ((4 - (len % 4)) % 4) as usize
}

fn perm(meta: EntryMeta) -> u32 {
    meta.perm & !mode::S_IFMT
}

fn data_size(size: u64) -> io::Result<u32> {
    u32::try_from(size).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "newc cpio cannot hold entries of 4 GiB or more",
        )
    })
}

#[cfg(test)]
pub(crate) mod reader {
    //! A minimal newc reader used by the tests to check archives.

    use super::{HEADER_LEN, MAGIC, TRAILER, padding};

    /// One parsed entry.
    #[derive(Debug, Clone)]
    pub struct Entry {
        pub name: String,
        pub ino: u32,
        pub mode: u32,
        pub uid: u32,
        pub gid: u32,
        pub nlink: u32,
        pub mtime: u32,
        pub data: Vec<u8>,
    }

    /// Parses a whole archive, checking magic, padding and the trailer.
    /// Returns the entries before the trailer.
    pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, String> {
        let mut pos = 0usize;
        let mut entries = Vec::new();
        loop {
            if !pos.is_multiple_of(4) {
                return Err(format!("header at unaligned offset {pos}"));
            }
            let header = bytes
                .get(pos..pos + HEADER_LEN)
                .ok_or_else(|| format!("truncated header at {pos}"))?;
            if &header[..6] != MAGIC {
                return Err(format!("bad magic at {pos}"));
            }
            let field = |i: usize| -> Result<u32, String> {
                let text = std::str::from_utf8(&header[6 + 8 * i..14 + 8 * i])
                    .map_err(|e| e.to_string())?;
                u32::from_str_radix(text, 16).map_err(|e| format!("field {i}: {e}"))
            };
            let namesize = field(11)? as usize;
            let filesize = field(6)? as usize;
            let name_start = pos + HEADER_LEN;
            let name_bytes = bytes
                .get(name_start..name_start + namesize)
                .ok_or("truncated name")?;
            if name_bytes.last() != Some(&0) {
                return Err("name not NUL-terminated".into());
            }
            let name = String::from_utf8(name_bytes[..namesize - 1].to_vec())
                .map_err(|e| e.to_string())?;
            let mut data_start = name_start + namesize;
            for (i, b) in bytes[data_start..data_start + padding(data_start as u64)]
                .iter()
                .enumerate()
            {
                if *b != 0 {
                    return Err(format!("non-NUL name padding byte {i} of {name}"));
                }
            }
            data_start += padding(data_start as u64);
            let data = bytes
                .get(data_start..data_start + filesize)
                .ok_or("truncated data")?
                .to_vec();
            pos = data_start + filesize;
            if bytes[pos..pos + padding(pos as u64)]
                .iter()
                .any(|b| *b != 0)
            {
                return Err(format!("non-NUL data padding of {name}"));
            }
            pos += padding(pos as u64);
            if name == TRAILER {
                if pos != bytes.len() {
                    return Err("data after the trailer".into());
                }
                return Ok(entries);
            }
            entries.push(Entry {
                name,
                ino: field(0)?,
                mode: field(1)?,
                uid: field(2)?,
                gid: field(3)?,
                nlink: field(4)?,
                mtime: field(5)?,
                data,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: EntryMeta = EntryMeta {
        perm: 0o755,
        mtime: 1_700_000_000,
    };

    #[test]
    fn padding_rounds_up_to_four() {
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 3);
        assert_eq!(padding(2), 2);
        assert_eq!(padding(3), 1);
        assert_eq!(padding(4), 0);
        assert_eq!(padding(113), 3);
    }

    #[test]
    fn empty_archive_is_only_the_trailer() {
        let bytes = NewcWriter::new(Vec::new()).finish().unwrap();
        // 110-byte header + "TRAILER!!!\0" (11 bytes) = 121, padded to 124.
        assert_eq!(bytes.len(), 124);
        assert!(bytes.starts_with(b"070701"));
        assert!(reader::parse(&bytes).unwrap().is_empty());
    }

    #[test]
    fn header_layout_is_exact() {
        let mut w = NewcWriter::new(Vec::new());
        w.add_file(b"ab", META, 5, &b"hello"[..]).unwrap();
        let bytes = w.finish().unwrap();
        let header = std::str::from_utf8(&bytes[..HEADER_LEN]).unwrap();
        assert_eq!(
            header,
            concat!(
                "070701", "00000001", "000081ED", "00000000", "00000000", "00000001", "6553F100",
                "00000005", "00000000", "00000000", "00000000", "00000000", "00000003", "00000000"
            )
        );
        // Name "ab\0" ends at 113, padded to 116; data 116..121, padded to 124.
        assert_eq!(&bytes[HEADER_LEN..116], b"ab\0\0\0\0");
        assert_eq!(&bytes[116..124], b"hello\0\0\0");
        assert_eq!(&bytes[124..130], b"070701");
    }

    #[test]
    fn entries_round_trip() {
        let mut w = NewcWriter::new(Vec::new());
        w.add_dir(b"bin", META).unwrap();
        w.add_file(b"bin/empty", META, 0, io::empty()).unwrap();
        w.add_file(b"bin/four", META, 4, &b"1234"[..]).unwrap();
        w.add_symlink(b"bin/sh", b"busybox", META).unwrap();
        let entries = reader::parse(&w.finish().unwrap()).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["bin", "bin/empty", "bin/four", "bin/sh"]);
        assert_eq!(entries[0].mode, 0o040755);
        assert_eq!(entries[0].nlink, 2);
        assert_eq!(entries[1].mode, 0o100755);
        assert!(entries[1].data.is_empty());
        assert_eq!(entries[2].data, b"1234");
        assert_eq!(entries[3].mode, 0o120755);
        assert_eq!(entries[3].data, b"busybox");
        let inos: Vec<_> = entries.iter().map(|e| e.ino).collect();
        assert_eq!(inos, [1, 2, 3, 4]);
    }

    #[test]
    fn short_file_is_an_error() {
        let mut w = NewcWriter::new(Vec::new());
        let err = w.add_file(b"f", META, 10, &b"abc"[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn bad_names_are_rejected() {
        let mut w = NewcWriter::new(Vec::new());
        assert!(w.add_dir(b"", META).is_err());
        assert!(w.add_dir(b"a\0b", META).is_err());
    }
}
