// SPDX-License-Identifier: MPL-2.0

//! Turning a [`LoadPlan`] into page-aligned mappings.
//!
//! # Data model
//!
//! The result is a list of [`Mapping`]s and a list of [`Fixup`]s:
//!
//! 1. Create every mapping: page-aligned, sorted, non-overlapping regions,
//!    each either a private copy of consecutive file pages or zero-filled
//!    memory, with the permissions to give its pages.
//! 2. Then apply every fixup, writing to the pages directly (regardless of
//!    their permissions): zero a byte range, or copy a byte range from the
//!    file. The fixups never overlap each other, so their order does not
//!    matter.
//!
//! For each segment this yields what Linux's `elf_load()` produces:
//!
//! - the file-backed part `[page_down(vaddr), page_up(vaddr + filesz))`,
//!   mapped from file offset `page_down(p_offset)`;
//! - the anonymous tail `[page_up(vaddr + filesz), page_up(vaddr + memsz))`;
//! - when `memsz > filesz`, a [`Fixup::Zero`] for the rest of the last file
//!   page, from `vaddr + filesz` to the end of that page (Linux's
//!   `padzero()`), because those bytes are `.bss` and the file has other
//!   data there.
//!
//! When two segments share a page, Linux maps the later one over the
//! earlier one (`MAP_FIXED`) and the shared page ends up with the later
//! segment's file contents and permissions. Here the shared page instead
//! becomes a one-page mapping with the union of both permissions; it keeps
//! the earlier segment's backing, and fixups bring the later segment's
//! bytes to their right values (a copy from the file when the two segments
//! map that page from different file offsets, zeros for `.bss`). Every
//! byte that belongs to a segment thus reads what the ELF file says, and
//! neither segment loses access to its own bytes. Zeroing stops where the
//! next segment begins.

use alloc::vec::Vec;

use crate::{ElfError, LoadPlan, PAGE_SIZE, Segment, page_down, page_up};

/// Where a mapping's initial contents come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Page `k` of the mapping starts as a private copy of the file's page
    /// at `offset + k * PAGE_SIZE` (page aligned). Bytes past the end of
    /// the file read as zero, as with `mmap`.
    File {
        /// Page-aligned file offset of the first page.
        offset: u64,
    },
    /// Zero-filled memory.
    Anonymous,
}

/// A page-aligned region to map, with addresses already biased.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// First address (page aligned).
    pub start: u64,
    /// End address, exclusive (page aligned, above `start`).
    pub end: u64,
    /// Initial contents.
    pub backing: Backing,
    /// Pages may be read.
    pub readable: bool,
    /// Pages may be written.
    pub writable: bool,
    /// Pages may be executed.
    pub executable: bool,
}

impl Mapping {
    /// The backing of the page at `page` (inside this mapping).
    fn backing_at(&self, page: u64) -> Backing {
        match self.backing {
            Backing::File { offset } => Backing::File {
                offset: offset.saturating_add(page.saturating_sub(self.start)),
            },
            Backing::Anonymous => Backing::Anonymous,
        }
    }

    fn perms(&self) -> (bool, bool, bool) {
        (self.readable, self.writable, self.executable)
    }
}

/// A byte-level correction applied after the mappings exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixup {
    /// Set the bytes in `[start, end)` to zero.
    Zero {
        /// First address.
        start: u64,
        /// End address, exclusive.
        end: u64,
    },
    /// Copy `len` bytes from the file at `file_offset` to `vaddr`.
    Copy {
        /// Destination address.
        vaddr: u64,
        /// Source offset in the file.
        file_offset: u64,
        /// Number of bytes.
        len: u64,
    },
}

/// The mappings and fixups that load an image; see the module documentation
/// for how to apply them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageMappings {
    /// Regions to create, sorted by address, not overlapping.
    pub mappings: Vec<Mapping>,
    /// Corrections to apply once all regions exist.
    pub fixups: Vec<Fixup>,
}

/// Computes the mappings for `plan` loaded with `bias` added to every
/// address (0 for `ET_EXEC`; for `ET_DYN`, the chosen base minus
/// `plan.min_vaddr`).
///
/// The plan is checked again (sorted, non-overlapping segments, file and
/// memory sizes consistent, addresses that do not wrap around), since a
/// `LoadPlan` can be built by hand.
pub fn page_mappings(plan: &LoadPlan, bias: u64) -> Result<PageMappings, ElfError> {
    if !bias.is_multiple_of(PAGE_SIZE) {
        return Err(ElfError::BadBias);
    }
    let mut segs: Vec<Segment> = Vec::with_capacity(plan.segments.len());
    for s in plan.segments.iter().filter(|s| s.memsz > 0) {
        let vaddr = s.vaddr.checked_add(bias).ok_or(ElfError::BadBias)?;
        vaddr
            .checked_add(s.memsz)
            .and_then(page_up)
            .ok_or(ElfError::BadBias)?;
        if s.filesz > s.memsz {
            return Err(ElfError::Malformed("p_filesz larger than p_memsz"));
        }
        if s.filesz > 0 {
            if s.vaddr % PAGE_SIZE != s.file_offset % PAGE_SIZE {
                return Err(ElfError::Malformed(
                    "p_vaddr and p_offset not congruent modulo the page size",
                ));
            }
            s.file_offset
                .checked_add(s.filesz)
                .ok_or(ElfError::Truncated)?;
        }
        if let Some(prev) = segs.last()
            && vaddr < prev.end()
        {
            return Err(ElfError::Malformed(
                "PT_LOAD segments unsorted or overlapping",
            ));
        }
        segs.push(Segment { vaddr, ..*s });
    }

    let mut out = Builder::default();
    for (i, s) in segs.iter().enumerate() {
        let next_start = segs.get(i.saturating_add(1)).map_or(u64::MAX, |n| n.vaddr);
        let file_end = s.file_end();
        let mem_end = s.end();
        let overflow = ElfError::BadBias;
        if s.filesz > 0 {
            let end = page_up(file_end).ok_or(overflow)?;
            out.push(
                Piece {
                    start: page_down(s.vaddr),
                    end,
                    backing: Backing::File {
                        offset: page_down(s.file_offset),
                    },
                    perms: (s.readable, s.writable, s.executable),
                },
                s,
                next_start,
            );
            if mem_end > file_end {
                // padzero(): the rest of the last file page is .bss (or
                // nothing), but the file has other bytes there.
                let zero_end = end.min(next_start);
                if zero_end > file_end {
                    out.fixups.push(Fixup::Zero {
                        start: file_end,
                        end: zero_end,
                    });
                }
            }
        }
        let anon_start = if s.filesz > 0 {
            page_up(file_end).ok_or(overflow)?
        } else {
            page_down(s.vaddr)
        };
        let anon_end = page_up(mem_end).ok_or(overflow)?;
        if anon_end > anon_start {
            out.push(
                Piece {
                    start: anon_start,
                    end: anon_end,
                    backing: Backing::Anonymous,
                    perms: (s.readable, s.writable, s.executable),
                },
                s,
                next_start,
            );
        }
    }
    Ok(PageMappings {
        mappings: coalesce(out.maps),
        fixups: out.fixups,
    })
}

struct Piece {
    start: u64,
    end: u64,
    backing: Backing,
    perms: (bool, bool, bool),
}

#[derive(Default)]
struct Builder {
    maps: Vec<Mapping>,
    fixups: Vec<Fixup>,
}

impl Builder {
    /// Appends `piece` (part of segment `seg`), splitting off a page it
    /// shares with the previous mapping.
    fn push(&mut self, mut piece: Piece, seg: &Segment, next_start: u64) {
        if let Some(last) = self.maps.last_mut()
            && last.end > piece.start
        {
            // Segments are sorted and disjoint, so the overlap is the
            // single page where the previous segment ends and this one
            // starts.
            let page = piece.start;
            let page_end = page.saturating_add(PAGE_SIZE);
            let kept = last.backing_at(page);
            let (r, w, x) = last.perms();
            let perms = (r | piece.perms.0, w | piece.perms.1, x | piece.perms.2);

            match piece.backing {
                Backing::File { offset } => {
                    if kept != (Backing::File { offset }) {
                        let start = seg.vaddr.max(page);
                        let end = seg.file_end().min(page_end);
                        if end > start {
                            self.fixups.push(Fixup::Copy {
                                vaddr: start,
                                file_offset: seg
                                    .file_offset
                                    .saturating_add(start.saturating_sub(seg.vaddr)),
                                len: end.saturating_sub(start),
                            });
                        }
                    }
                }
                Backing::Anonymous => {
                    if kept != Backing::Anonymous {
                        // This segment's .bss in a page that keeps the
                        // previous segment's file contents.
                        let start = seg.file_end().max(page);
                        let end = page_end.min(next_start);
                        if end > start {
                            self.fixups.push(Fixup::Zero { start, end });
                        }
                    }
                }
            }

            let shared = Mapping {
                start: page,
                end: page_end,
                backing: kept,
                readable: perms.0,
                writable: perms.1,
                executable: perms.2,
            };
            if last.start >= page {
                *last = shared;
            } else {
                last.end = page;
                self.maps.push(shared);
            }
            piece.start = page_end;
            if let Backing::File { offset } = &mut piece.backing {
                *offset = offset.saturating_add(PAGE_SIZE);
            }
            if piece.start >= piece.end {
                return;
            }
        }
        self.maps.push(Mapping {
            start: piece.start,
            end: piece.end,
            backing: piece.backing,
            readable: piece.perms.0,
            writable: piece.perms.1,
            executable: piece.perms.2,
        });
    }
}

/// Merges neighbouring mappings that have the same permissions and
/// continuous backing, as Linux merges adjacent compatible VMAs.
fn coalesce(maps: Vec<Mapping>) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = Vec::with_capacity(maps.len());
    for m in maps {
        if let Some(last) = out.last_mut() {
            let continuous = match (last.backing, m.backing) {
                (Backing::Anonymous, Backing::Anonymous) => true,
                (Backing::File { offset: a }, Backing::File { offset: b }) => {
                    a.checked_add(last.end.saturating_sub(last.start)) == Some(b)
                }
                _ => false,
            };
            if last.end == m.start && last.perms() == m.perms() && continuous {
                last.end = m.end;
                continue;
            }
        }
        out.push(m);
    }
    out
}
