//! `devfs`: the device files under `/dev`.

use alloc::sync::Arc;

use super::inode::Inode;

/// Creates the root directory of a devfs instance.
pub fn new_root() -> Arc<dyn Inode> {
    super::ramfs::RamInode::new_root()
}
