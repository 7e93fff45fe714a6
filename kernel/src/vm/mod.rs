//! Virtual memory of processes: regions (`Vmar`), memory objects (`Vmo`),
//! page faults and copy-on-write.

pub mod oom;
mod perms;
mod vmar;
mod vmo;

pub use perms::VmPerms;
pub use vmar::{
    ForkAdvice, MapName, MapOptions, Placement, RegionInfo, Remap, VmLimits, Vmar, layout,
};
pub use vmo::{PageQuota, Vmo, shmem_pages};

/// Page size.
pub const PAGE_SIZE: u64 = ostd::mm::PAGE_SIZE as u64;

/// Rounds up to a page boundary (saturating).
pub fn page_up(x: u64) -> u64 {
    x.checked_next_multiple_of(PAGE_SIZE)
        .unwrap_or(!(PAGE_SIZE - 1))
}

/// Rounds down to a page boundary.
pub fn page_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}
