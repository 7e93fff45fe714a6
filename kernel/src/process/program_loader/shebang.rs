//! `#!` scripts: `#!interpreter [one optional argument]` on the first line.

use alloc::vec::Vec;

use crate::prelude::*;

/// A parsed `#!` line.
pub struct Script {
    /// The interpreter path.
    pub interpreter: Vec<u8>,
    /// The optional argument (the rest of the line after the first blank,
    /// up to a NUL, as Linux passes it: one string, not split).
    pub arg: Option<Vec<u8>>,
}

/// Longest `#!` line Linux reads (`BINPRM_BUF_SIZE`).
const MAX_LINE: usize = 256;

/// Parses the start of a file; `Ok(None)` if it is not a script.
///
/// As Linux's `load_script`, on the first `MAX_LINE` bytes: the line ends
/// at a newline (or the end of what was read), trailing blanks are
/// dropped, the interpreter runs from the first non-blank to a blank or a
/// NUL, and the argument from the next non-blank to the end of the line or
/// a NUL (it may be empty). Only spaces and tabs are blanks: a carriage
/// return is part of the line.
pub fn parse(head: &[u8]) -> Result<Option<Script>> {
    let buf = &head[..head.len().min(MAX_LINE)];
    if !buf.starts_with(b"#!") {
        return Ok(None);
    }
    let blank = |b: u8| b == b' ' || b == b'\t';
    let newline = buf[2..].iter().position(|&b| b == b'\n').map(|i| i + 2);
    let mut end = newline.unwrap_or(buf.len());
    while end > 2 && blank(buf[end - 1]) {
        end -= 1;
    }
    let name = (2..end).find(|&i| !blank(buf[i])).unwrap_or(end);
    if name == end {
        return_errno!(ENOEXEC);
    }
    let sep = (name..end).find(|&i| blank(buf[i]) || buf[i] == 0);
    // Without a newline, the interpreter must end within what was read.
    if newline.is_none() && sep.is_none() {
        return_errno!(ENOEXEC);
    }
    let interpreter = buf[name..sep.unwrap_or(end)].to_vec();
    let arg = sep
        .filter(|&i| buf[i] != 0)
        .and_then(|i| (i..end).find(|&j| !blank(buf[j])))
        .map(|a| {
            let stop = (a..end).find(|&j| buf[j] == 0).unwrap_or(end);
            buf[a..stop].to_vec()
        });
    Ok(Some(Script { interpreter, arg }))
}

impl Script {
    /// The interpreter's argv: interpreter, optional argument, the script
    /// path, then the script's arguments after its `argv[0]`.
    pub fn new_argv(&self, path: &[u8], argv: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut v = Vec::with_capacity(argv.len() + 2);
        v.push(self.interpreter.clone());
        if let Some(a) = &self.arg {
            v.push(a.clone());
        }
        v.push(path.to_vec());
        v.extend(argv.into_iter().skip(1));
        v
    }
}
