//! `procfs`: process and system information under `/proc`.

use alloc::sync::Arc;

use super::inode::Inode;

/// Creates the root directory of a procfs instance.
pub fn new_root() -> Arc<dyn Inode> {
    super::ramfs::RamInode::new_root()
}
