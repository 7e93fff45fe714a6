//! Placeholder for the local APIC driver.

/// Sends `vector` to the CPU with local APIC id `apic_id`.
pub(crate) fn send_ipi(_apic_id: u32, _vector: u8) {}
