// SPDX-License-Identifier: MPL-2.0

//! Load planning for ELF64 x86-64 executables.
//!
//! [`plan`] validates an executable image and describes what `execve` must
//! map: its loadable segments, its interpreter, where its program headers
//! appear in memory and the extent of the image. [`page_mappings`] turns a
//! plan into page-aligned regions to create, plus the few byte ranges that
//! need fixing up after mapping.
//!
//! Nothing here touches memory or files: the caller reads the file, picks
//! the load bias for position-independent executables, and creates the
//! mappings.
//!
//! # Checks, and how they relate to Linux
//!
//! The checks follow `load_elf_binary()` in Linux's `fs/binfmt_elf.c`, with
//! two differences in when and how errors show up:
//!
//! - Linux notices some problems (a file size larger than the memory size,
//!   a segment outside user space) only while mapping, after the point of no
//!   return of `execve`, so the process is killed instead of getting an
//!   error. All checks here happen up front, so the caller can still return
//!   an errno.
//! - Some checks are stricter than Linux, which would load the file and let
//!   the program fault later: segments must lie inside the file, be sorted
//!   by address and not overlap, and the interpreter path must be UTF-8.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod mappings;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use linux_raw_sys::errno;
use xmas_elf::ElfFile;
use xmas_elf::header::{Class, Data, Machine, Type as ElfType, Version};
use xmas_elf::program::{ProgramHeader, ProgramHeader64, Type as PhType};

pub use mappings::{Backing, Fixup, Mapping, PageMappings, page_mappings};

/// The page size the plan is made for.
pub const PAGE_SIZE: u64 = 4096;

/// The lowest address an `ET_EXEC` segment may use. Linux's
/// `vm.mmap_min_addr` is usually 64 KiB; one page is the least any
/// configuration allows, and keeps address zero unmapped.
pub const MIN_EXEC_VADDR: u64 = PAGE_SIZE;

/// The end of the user half of the address space with 4-level paging, as
/// Linux's `TASK_SIZE_MAX` (one guard page below 2^47).
pub const USER_SPACE_END_X86_64: u64 = 0x0000_7fff_ffff_f000;

/// Size of an ELF64 header.
const EHDR_SIZE: usize = 64;
/// Size of an ELF64 program header (`sizeof(struct elf64_phdr)`).
const PHDR_SIZE: u16 = 56;
/// Linux refuses program header tables larger than this (`load_elf_phdrs()`).
const MAX_PHDR_TABLE: u64 = 65536;
/// Linux's `PATH_MAX`, which bounds `PT_INTERP` including its NUL.
const PATH_MAX: u64 = 4096;
/// `PT_GNU_STACK`, in the OS-specific range.
const PT_GNU_STACK: u32 = 0x6474_e551;

/// Limits the caller imposes on an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Exclusive end of user space; see [`USER_SPACE_END_X86_64`].
    pub user_space_end: u64,
    /// The largest sum of the segments' memory sizes to accept, so that a
    /// tiny file cannot ask for terabytes of zeroed memory.
    pub max_total_memsz: u64,
}

/// The ELF file type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `ET_EXEC`: loaded at the addresses in its headers (bias 0).
    Exec,
    /// `ET_DYN`: a position-independent executable or the dynamic linker,
    /// loaded at an address the caller chooses.
    Dyn,
}

/// A `PT_LOAD` segment, with addresses as written in the file (not biased).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Virtual address of the first byte.
    pub vaddr: u64,
    /// Size in memory; bytes past `filesz` are zero.
    pub memsz: u64,
    /// Offset in the file of the first byte.
    pub file_offset: u64,
    /// Number of bytes that come from the file.
    pub filesz: u64,
    /// `PF_R`.
    pub readable: bool,
    /// `PF_W`.
    pub writable: bool,
    /// `PF_X`.
    pub executable: bool,
}

impl Segment {
    /// End (exclusive) of the segment in memory. [`plan`] has checked that
    /// it does not overflow.
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.memsz)
    }

    /// End (exclusive) of the part that comes from the file.
    pub fn file_end(&self) -> u64 {
        self.vaddr.saturating_add(self.filesz)
    }
}

/// What [`plan`] found out about an executable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    /// `ET_EXEC` or `ET_DYN`.
    pub kind: Kind,
    /// The entry point, not biased. Linux does not check that it lies in an
    /// executable segment (a bad one just faults in user space), and
    /// neither does this crate.
    pub entry: u64,
    /// The `PT_LOAD` segments in file order, which is also address order.
    pub segments: Vec<Segment>,
    /// The `PT_INTERP` path, if any (the first one, as in Linux).
    pub interp: Option<String>,
    /// Where the program headers are in memory, not biased: from `PT_PHDR`
    /// if present, else from the `PT_LOAD` whose file range holds the whole
    /// table. `None` if they are not mapped at all; `AT_PHDR` then has
    /// nothing useful to point at.
    pub phdr_vaddr: Option<u64>,
    /// Size of one program header (`AT_PHENT`); always 56.
    pub phent: u16,
    /// Number of program headers (`AT_PHNUM`).
    pub phnum: u16,
    /// Lowest address used, rounded down to a page.
    pub min_vaddr: u64,
    /// Highest address used (exclusive), rounded up to a page. The heap
    /// (`brk`) starts here, plus the bias.
    pub max_vaddr: u64,
    /// Whether the stack should be executable: `PT_GNU_STACK` with `PF_X`.
    /// Without `PT_GNU_STACK`, x86-64 Linux makes the stack non-executable
    /// (only 32-bit programs get `READ_IMPLIES_EXEC`), so this is `false`.
    pub stack_exec: bool,
    /// Whether two segments share a page (one ends and the next starts in
    /// the same page). [`page_mappings`] handles it; this is for callers
    /// that map segments themselves.
    pub shares_pages: bool,
}

impl LoadPlan {
    /// Bytes of address space the image needs, from [`min_vaddr`] to
    /// [`max_vaddr`]: the size of the hole to find for an `ET_DYN` image
    /// (Linux's `total_mapping_size()`).
    ///
    /// [`min_vaddr`]: LoadPlan::min_vaddr
    /// [`max_vaddr`]: LoadPlan::max_vaddr
    pub fn span(&self) -> u64 {
        self.max_vaddr.saturating_sub(self.min_vaddr)
    }
}

/// Why an image was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// No ELF magic.
    NotElf,
    /// Not ELF64, little-endian, version 1, `EM_X86_64`.
    BadArch,
    /// Neither `ET_EXEC` nor `ET_DYN` (a relocatable object or core dump).
    BadType,
    /// The headers or a segment's file data run past the end of the file.
    Truncated,
    /// The headers are inconsistent; the text says how.
    Malformed(&'static str),
    /// The image needs more memory than the limits allow.
    TooBig,
    /// The `PT_INTERP` segment is not a usable path.
    BadInterp,
    /// [`page_mappings`] was given a bias that is not page aligned or that
    /// moves the image out of the address space.
    BadBias,
}

impl ElfError {
    /// The positive errno `execve` should return for this error.
    pub fn errno(&self) -> i32 {
        let e = match self {
            ElfError::NotElf
            | ElfError::BadArch
            | ElfError::BadType
            | ElfError::Truncated
            | ElfError::Malformed(_)
            | ElfError::BadInterp => errno::ENOEXEC,
            ElfError::TooBig => errno::ENOMEM,
            ElfError::BadBias => errno::EINVAL,
        };
        // Errno values are small positive numbers, so this cannot wrap.
        e as i32
    }
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf => f.write_str("not an ELF file"),
            ElfError::BadArch => f.write_str("not an ELF64 x86-64 file"),
            ElfError::BadType => f.write_str("not an executable or shared object"),
            ElfError::Truncated => f.write_str("ELF file truncated"),
            ElfError::Malformed(why) => write!(f, "malformed ELF file: {why}"),
            ElfError::TooBig => f.write_str("ELF image too big"),
            ElfError::BadInterp => f.write_str("bad ELF interpreter path"),
            ElfError::BadBias => f.write_str("bad load bias"),
        }
    }
}

/// Rounds down to a page boundary.
pub fn page_down(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

/// Rounds up to a page boundary, or `None` if that overflows.
pub fn page_up(addr: u64) -> Option<u64> {
    addr.checked_add(PAGE_SIZE - 1).map(page_down)
}

/// A copy of some bytes at an 8-byte aligned address.
///
/// xmas-elf reads headers by casting byte slices to structs and asserts
/// (panics) when the slice is misaligned or too short, and its program
/// header accessor indexes the input without bounds checks. So it is only
/// ever given this copy, whose bounds have been checked first and which is
/// aligned however the caller's buffer happens to be.
struct Aligned {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(parts: &[&[u8]]) -> Self {
        let len = parts
            .iter()
            .map(|p| p.len())
            .fold(0usize, usize::saturating_add);
        let buf = vec![0u8; len.saturating_add(7)];
        // Taking the address of a buffer is safe; only dereferencing would
        // not be.
        let misalign = (buf.as_ptr() as usize) % 8;
        let start = (8 - misalign) % 8;
        let mut this = Aligned { buf, start, len };
        let mut at = start;
        for part in parts {
            let end = at.saturating_add(part.len());
            if let Some(dst) = this.buf.get_mut(at..end) {
                dst.copy_from_slice(part);
            }
            at = end;
        }
        this
    }

    fn bytes(&self) -> &[u8] {
        self.buf
            .get(self.start..self.start.saturating_add(self.len))
            .unwrap_or_default()
    }
}

/// Validates `file` as an ELF64 x86-64 executable and describes how to load
/// it.
pub fn plan(file: &[u8], limits: &Limits) -> Result<LoadPlan, ElfError> {
    // Linux compares the magic before anything else; a file too short to
    // hold it is simply not ELF.
    if file.get(..4) != Some(&xmas_elf::header::MAGIC[..]) {
        return Err(ElfError::NotElf);
    }
    let ehdr = file.get(..EHDR_SIZE).ok_or(ElfError::Truncated)?;

    let header_copy = Aligned::new(&[ehdr]);
    let elf = ElfFile::new(header_copy.bytes()).map_err(|_| ElfError::BadArch)?;
    let pt1 = elf.header.pt1;
    if pt1.class() != Class::SixtyFour
        || pt1.data() != Data::LittleEndian
        || pt1.version() != Version::Current
        || elf.header.pt2.machine().as_machine() != Machine::X86_64
    {
        return Err(ElfError::BadArch);
    }
    let kind = match elf.header.pt2.type_().as_type() {
        ElfType::Executable => Kind::Exec,
        ElfType::SharedObject => Kind::Dyn,
        _ => return Err(ElfError::BadType),
    };
    let entry = elf.header.pt2.entry_point();
    let phoff = elf.header.pt2.ph_offset();
    let phent = elf.header.pt2.ph_entry_size();
    let phnum = elf.header.pt2.ph_count();

    // load_elf_phdrs(): the entry size must match the kernel's struct and
    // the table must be non-empty and at most 64 KiB.
    if phent != PHDR_SIZE {
        return Err(ElfError::Malformed("e_phentsize is not 56"));
    }
    if phnum == 0 {
        return Err(ElfError::Malformed("no program headers"));
    }
    let table_size = u64::from(phnum) * u64::from(PHDR_SIZE);
    if table_size > MAX_PHDR_TABLE {
        return Err(ElfError::Malformed("program header table too large"));
    }
    let table_end = phoff.checked_add(table_size).ok_or(ElfError::Truncated)?;
    let table = usize::try_from(phoff)
        .ok()
        .zip(usize::try_from(table_end).ok())
        .and_then(|(s, e)| file.get(s..e))
        .ok_or(ElfError::Truncated)?;

    // Give xmas-elf the header followed directly by the table, with e_phoff
    // rewritten to match, so every read it makes is aligned and in bounds.
    let mut patched = [0u8; EHDR_SIZE];
    patched.copy_from_slice(ehdr);
    if let Some(slot) = patched.get_mut(32..40) {
        slot.copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
    }
    let image = Aligned::new(&[&patched, table]);
    let elf = ElfFile::new(image.bytes()).map_err(|_| ElfError::BadArch)?;

    let mut segments = Vec::new();
    let mut interp = None;
    let mut pt_phdr = None;
    let mut stack_exec = false;
    for index in 0..phnum {
        let ph: &ProgramHeader64 = match elf.program_header(index) {
            Ok(ProgramHeader::Ph64(ph)) => ph,
            _ => return Err(ElfError::Malformed("unreadable program header")),
        };
        match ph.get_type() {
            Ok(PhType::Load) => segments.push(check_load(ph, file)?),
            Ok(PhType::Interp) if interp.is_none() => interp = Some(read_interp(ph, file)?),
            Ok(PhType::Phdr) if pt_phdr.is_none() => pt_phdr = Some(ph.virtual_addr),
            // The last PT_GNU_STACK wins, as in Linux.
            Ok(PhType::OsSpecific(PT_GNU_STACK)) => stack_exec = ph.flags.is_execute(),
            // Linux ignores every other type, including unknown ones.
            _ => {}
        }
    }

    let first = *segments
        .first()
        .ok_or(ElfError::Malformed("no PT_LOAD segment"))?;

    let mut total: u64 = 0;
    let mut shares_pages = false;
    let mut max_end = first.end();
    let mut prev: Option<Segment> = None;
    for seg in &segments {
        total = total.checked_add(seg.memsz).ok_or(ElfError::TooBig)?;
        if let Some(p) = prev {
            // The ELF specification requires PT_LOAD entries sorted by
            // p_vaddr; overlapping bytes would make one segment overwrite
            // another.
            if seg.vaddr < p.end() {
                return Err(ElfError::Malformed(
                    "PT_LOAD segments unsorted or overlapping",
                ));
            }
            if p.memsz > 0 && seg.memsz > 0 && page_down(seg.vaddr) < page_end(&p)? {
                shares_pages = true;
            }
        }
        max_end = max_end.max(seg.end());
        prev = Some(*seg);
    }
    if total > limits.max_total_memsz {
        return Err(ElfError::TooBig);
    }
    let min_vaddr = page_down(first.vaddr);
    let max_vaddr = page_up(max_end).ok_or(ElfError::Malformed("segment wraps around"))?;

    match kind {
        Kind::Exec => {
            // An ET_EXEC image is mapped where it says; it must fit.
            if min_vaddr < MIN_EXEC_VADDR || max_vaddr > limits.user_space_end {
                return Err(ElfError::Malformed("segment outside user space"));
            }
        }
        Kind::Dyn => {
            // It can go anywhere, but it must fit somewhere.
            if max_vaddr.saturating_sub(min_vaddr)
                > limits.user_space_end.saturating_sub(MIN_EXEC_VADDR)
            {
                return Err(ElfError::TooBig);
            }
        }
    }

    let phdr_vaddr = pt_phdr.or_else(|| {
        // Linux >= 5.18 computes AT_PHDR from the PT_LOAD holding e_phoff.
        segments.iter().find_map(|s| {
            let file_end = s.file_offset.checked_add(s.filesz)?;
            (s.file_offset <= phoff && table_end <= file_end)
                .then(|| s.vaddr.checked_add(phoff - s.file_offset))
                .flatten()
        })
    });

    Ok(LoadPlan {
        kind,
        entry,
        segments,
        interp,
        phdr_vaddr,
        phent,
        phnum,
        min_vaddr,
        max_vaddr,
        stack_exec,
        shares_pages,
    })
}

/// End of the last page a segment touches.
fn page_end(seg: &Segment) -> Result<u64, ElfError> {
    page_up(seg.end()).ok_or(ElfError::Malformed("segment wraps around"))
}

fn check_load(ph: &ProgramHeader64, file: &[u8]) -> Result<Segment, ElfError> {
    let seg = Segment {
        vaddr: ph.virtual_addr,
        memsz: ph.mem_size,
        file_offset: ph.offset,
        filesz: ph.file_size,
        readable: ph.flags.is_read(),
        writable: ph.flags.is_write(),
        executable: ph.flags.is_execute(),
    };
    if seg.filesz > seg.memsz {
        return Err(ElfError::Malformed("p_filesz larger than p_memsz"));
    }
    // The end, and the end of its last page, must be representable.
    seg.vaddr
        .checked_add(seg.memsz)
        .and_then(page_up)
        .ok_or(ElfError::Malformed("segment wraps around"))?;
    if seg.filesz > 0 {
        // elf_map() maps from page_down(vaddr) at file offset
        // p_offset - (vaddr % PAGE_SIZE), which must be page aligned.
        // Linux does not look at the file part of a segment without one.
        if seg.vaddr % PAGE_SIZE != seg.file_offset % PAGE_SIZE {
            return Err(ElfError::Malformed(
                "p_vaddr and p_offset not congruent modulo the page size",
            ));
        }
        let end = seg
            .file_offset
            .checked_add(seg.filesz)
            .ok_or(ElfError::Truncated)?;
        if usize::try_from(end).map_or(true, |e| e > file.len()) {
            return Err(ElfError::Truncated);
        }
    }
    Ok(seg)
}

fn read_interp(ph: &ProgramHeader64, file: &[u8]) -> Result<String, ElfError> {
    // Linux: at least one character and its NUL, at most PATH_MAX bytes.
    if ph.file_size < 2 || ph.file_size > PATH_MAX {
        return Err(ElfError::BadInterp);
    }
    let start = usize::try_from(ph.offset).map_err(|_| ElfError::BadInterp)?;
    let len = usize::try_from(ph.file_size).map_err(|_| ElfError::BadInterp)?;
    let bytes = start
        .checked_add(len)
        .and_then(|end| file.get(start..end))
        .ok_or(ElfError::BadInterp)?;
    // The last byte must be the NUL; the path ends at the first NUL, as it
    // would when Linux hands the buffer to open_exec().
    let (&last, _) = bytes.split_last().ok_or(ElfError::BadInterp)?;
    if last != 0 {
        return Err(ElfError::BadInterp);
    }
    let path = bytes.split(|&b| b == 0).next().unwrap_or_default();
    if path.is_empty() {
        return Err(ElfError::BadInterp);
    }
    let path = core::str::from_utf8(path).map_err(|_| ElfError::BadInterp)?;
    Ok(String::from(path))
}

#[cfg(test)]
mod tests;
