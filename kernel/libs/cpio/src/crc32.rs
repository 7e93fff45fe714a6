// SPDX-License-Identifier: MPL-2.0

//! CRC-32 as used by gzip (IEEE 802.3, reflected, polynomial 0xEDB88320).
//!
//! miniz_oxide does not export its CRC, and the table costs only 1 KiB, so
//! a small byte-at-a-time implementation is enough: it runs once over data
//! that was just inflated.

const POLY: u32 = 0xEDB8_8320;

const TABLE: [u32; 256] = make_table();

const fn make_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { POLY ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// Continues a CRC-32 over `bytes`; start with `crc = 0`.
pub(crate) fn update(crc: u32, bytes: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in bytes {
        let idx = ((c ^ u32::from(b)) & 0xff) as usize;
        // `idx` is masked to 0..=255, so the lookup is always in range.
        c = TABLE.get(idx).copied().unwrap_or(0) ^ (c >> 8);
    }
    !c
}

/// CRC-32 of `bytes`.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    update(0, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
        assert_eq!(update(crc32(b"12345"), b"6789"), 0xCBF4_3926);
    }
}
