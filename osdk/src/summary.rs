//! Recognises test summary lines (`N passed, M failed`) in console output.
//!
//! A line counts when, after removing ANSI escape sequences and carriage
//! returns, it matches `^\s*(\w+:\s*)?(\d+) passed, (\d+) failed`; anything
//! may follow (for instance `, 2 skipped`).

/// The counts from one summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Number of tests that passed.
    pub passed: u64,
    /// Number of tests that failed.
    pub failed: u64,
}

impl Summary {
    /// A run succeeded when something passed and nothing failed.
    pub fn is_success(&self) -> bool {
        self.failed == 0 && self.passed > 0
    }
}

/// Removes ANSI escape sequences (CSI `ESC [ ... final`, OSC `ESC ] ... BEL`
/// or `ESC ] ... ESC \`, and two-byte `ESC x`) and carriage returns.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {}
            '\x1b' => match chars.next() {
                Some('[') => {
                    // Parameter and intermediate bytes, then one final byte.
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' {
                            break;
                        }
                        if c == '\x1b' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            },
            c => out.push(c),
        }
    }
    out
}

/// Parses one console line (escape sequences allowed) as a summary line.
pub fn parse_line(line: &str) -> Option<Summary> {
    let clean = strip_ansi(line);
    let rest = clean.trim_start();
    parse_counts(rest).or_else(|| {
        // Optional `\w+:\s*` label before the counts.
        let label_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if label_len == 0 {
            return None;
        }
        let after = rest[label_len..].strip_prefix(':')?;
        parse_counts(after.trim_start())
    })
}

/// Matches `(\d+) passed, (\d+) failed` at the start of `s`.
fn parse_counts(s: &str) -> Option<Summary> {
    let (passed, s) = leading_number(s)?;
    let s = s.strip_prefix(" passed, ")?;
    let (failed, s) = leading_number(s)?;
    s.strip_prefix(" failed")?;
    Some(Summary { passed, failed })
}

fn leading_number(s: &str) -> Option<(u64, &str)> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits == 0 {
        return None;
    }
    // A count too large for u64 is still a count; saturate.
    let n = s[..digits].parse().unwrap_or(u64::MAX);
    Some((n, &s[digits..]))
}

/// Finds the last summary line in a console transcript. Returns the line
/// (cleaned of escapes) and its counts.
pub fn last_summary(output: &[u8]) -> Option<(String, Summary)> {
    let text = String::from_utf8_lossy(output);
    text.split('\n')
        .rev()
        .find_map(|line| parse_line(line).map(|s| (strip_ansi(line).trim().to_string(), s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(passed: u64, failed: u64) -> Option<Summary> {
        Some(Summary { passed, failed })
    }

    #[test]
    fn plain_lines() {
        assert_eq!(parse_line("3 passed, 0 failed"), counts(3, 0));
        assert_eq!(parse_line("  12 passed, 4 failed"), counts(12, 4));
        assert_eq!(parse_line("3 passed, 1 failed, 2 skipped"), counts(3, 1));
        assert_eq!(parse_line("0 passed, 0 failed\r"), counts(0, 0));
    }

    #[test]
    fn labelled_lines() {
        assert_eq!(parse_line("ktest: 7 passed, 0 failed"), counts(7, 0));
        assert_eq!(parse_line("apps:5 passed, 2 failed"), counts(5, 2));
        assert_eq!(
            parse_line("  test_run_1:   1 passed, 0 failed"),
            counts(1, 0)
        );
    }

    #[test]
    fn escapes_are_ignored() {
        assert_eq!(
            parse_line("\x1b[32m4 passed\x1b[0m, \x1b[1;31m0\x1b[0m failed"),
            counts(4, 0)
        );
        assert_eq!(
            parse_line("\x1b]0;title\x07ok: 1 passed, 0 failed"),
            counts(1, 0)
        );
        assert_eq!(strip_ansi("a\x1b[2Kb\r"), "ab");
    }

    #[test]
    fn non_matching_lines() {
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("passed, 0 failed"), None);
        assert_eq!(parse_line("3 passed 0 failed"), None);
        assert_eq!(parse_line("3 passed,  0 failed"), None);
        assert_eq!(parse_line("two words: 3 passed, 0 failed"), None);
        assert_eq!(parse_line("x 3 passed, 0 failed"), None);
        assert_eq!(parse_line(": 3 passed, 0 failed"), None);
        assert_eq!(parse_line("3 passed, 0 fail"), None);
    }

    #[test]
    fn success_rule() {
        assert!(
            Summary {
                passed: 1,
                failed: 0
            }
            .is_success()
        );
        assert!(
            !Summary {
                passed: 0,
                failed: 0
            }
            .is_success()
        );
        assert!(
            !Summary {
                passed: 5,
                failed: 1
            }
            .is_success()
        );
    }

    #[test]
    fn last_line_wins() {
        let out = b"boot\r\n2 passed, 1 failed\r\nmore\r\nfinal: 3 passed, 0 failed\r\n$ ";
        let (line, summary) = last_summary(out).unwrap();
        assert_eq!(line, "final: 3 passed, 0 failed");
        assert_eq!(
            summary,
            Summary {
                passed: 3,
                failed: 0
            }
        );
        assert_eq!(last_summary(b"no summary here\n"), None);
        // A partial last line without a newline still counts.
        assert_eq!(last_summary(b"x\n1 passed, 0 failed").unwrap().1.passed, 1);
    }
}
