//! Architecture support. Only x86-64 exists.

pub(crate) mod x86;
