//! `#!` scripts: `#!interpreter [one optional argument]` on the first line.

use alloc::vec::Vec;

use crate::prelude::*;

/// A parsed `#!` line.
pub struct Script {
    /// The interpreter path.
    pub interpreter: Vec<u8>,
    /// The optional argument (everything after the first blank, trimmed,
    /// as Linux passes it: one string, not split).
    pub arg: Option<Vec<u8>>,
}

/// Longest `#!` line Linux reads (`BINPRM_BUF_SIZE`).
const MAX_LINE: usize = 256;

/// Parses the start of a file; `Ok(None)` if it is not a script.
pub fn parse(head: &[u8]) -> Result<Option<Script>> {
    let Some(rest) = head.strip_prefix(b"#!") else {
        return Ok(None);
    };
    let line = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => &rest[..i],
        None if head.len() < MAX_LINE => rest,
        // The line is longer than Linux reads and has no end: ENOEXEC.
        None => return_errno!(ENOEXEC),
    };
    let line = trim(line);
    let split = line.iter().position(|&b| b == b' ' || b == b'\t');
    let (interp, arg) = match split {
        Some(i) => (&line[..i], Some(trim(&line[i..]))),
        None => (line, None),
    };
    if interp.is_empty() {
        return_errno!(ENOEXEC);
    }
    Ok(Some(Script {
        interpreter: interp.to_vec(),
        arg: arg.filter(|a| !a.is_empty()).map(|a| a.to_vec()),
    }))
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t' && b != b'\r')
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

impl Script {
    /// The interpreter's argv: interpreter, optional argument, the script
    /// path, then the script's arguments after its `argv[0]`.
    pub fn new_argv(&self, path: &str, argv: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut v = Vec::with_capacity(argv.len() + 2);
        v.push(self.interpreter.clone());
        if let Some(a) = &self.arg {
            v.push(a.clone());
        }
        v.push(path.as_bytes().to_vec());
        v.extend(argv.into_iter().skip(1));
        v
    }
}
