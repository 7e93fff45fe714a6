//! Items used throughout the kernel.

pub use crate::error::*;
pub use crate::{return_errno, return_errno_with_message};
