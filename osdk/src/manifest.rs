//! The test-apps manifest: one test per line, fields separated by ` | `:
//!
//! ```text
//! # name | expected-exit-status | command and args | expected output (optional)
//! exit_status  | 42 | /test/basic/exit42
//! busybox_echo | 0  | /bin/busybox echo hello | hello
//! ```
//!
//! Blank lines and lines starting with `#` are ignored. The command is split
//! on whitespace; its first word must be an absolute path. The expected
//! output is the rest of the line after the third separator, so it may
//! itself contain ` | `.

use std::fmt;

/// One test from the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    /// Unique name, without whitespace.
    pub name: String,
    /// The exit status the run must end with.
    pub expected_status: u8,
    /// The program to run as init and its arguments.
    pub argv: Vec<String>,
    /// A substring the console output must contain, if any.
    pub expected_output: Option<String>,
    /// 1-based line number in the manifest.
    pub line: usize,
}

/// A malformed manifest line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The field separator.
const SEPARATOR: &str = " | ";

/// Parses a manifest. All bad lines are reported, not only the first.
pub fn parse(text: &str) -> Result<Vec<TestCase>, Vec<ManifestError>> {
    let mut tests: Vec<TestCase> = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_line(trimmed, line) {
            Ok(test) => {
                if let Some(first) = tests.iter().find(|t| t.name == test.name) {
                    errors.push(ManifestError {
                        line,
                        message: format!(
                            "duplicate test name `{}` (first on line {})",
                            test.name, first.line
                        ),
                    });
                } else {
                    tests.push(test);
                }
            }
            Err(message) => errors.push(ManifestError { line, message }),
        }
    }
    if errors.is_empty() {
        Ok(tests)
    } else {
        Err(errors)
    }
}

fn parse_line(line: &str, number: usize) -> Result<TestCase, String> {
    // A trailing ` |` with nothing after it is an empty output field.
    let line = line.strip_suffix(" |").unwrap_or(line);
    let fields: Vec<&str> = line.splitn(4, SEPARATOR).map(str::trim).collect();
    if fields.len() < 3 {
        return Err(format!(
            "expected `name | expected-exit-status | command [| expected output]`, \
             found {} field(s)",
            fields.len()
        ));
    }
    let name = fields[0];
    if name.is_empty() {
        return Err("empty test name".into());
    }
    if name.contains(char::is_whitespace) {
        return Err(format!("test name `{name}` contains whitespace"));
    }
    let expected_status = fields[1]
        .parse::<u8>()
        .map_err(|_| format!("exit status `{}` is not a number from 0 to 255", fields[1]))?;
    let argv: Vec<String> = fields[2].split_whitespace().map(String::from).collect();
    let Some(program) = argv.first() else {
        return Err("empty command".into());
    };
    if !program.starts_with('/') {
        return Err(format!("program `{program}` is not an absolute path"));
    }
    let expected_output = fields
        .get(3)
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string());
    Ok(TestCase {
        name: name.to_string(),
        expected_status,
        argv,
        expected_output,
        line: number,
    })
}

/// The kernel command line for running `argv` as the first program:
/// `<base> init=<argv[0]> -- <argv[1..]>`, without ` --` when there are no
/// arguments and without the leading space when `base` is empty.
pub fn kernel_cmdline(base: &str, argv: &[String]) -> String {
    let mut cmdline = base.trim().to_string();
    if let Some((program, args)) = argv.split_first() {
        if !cmdline.is_empty() {
            cmdline.push(' ');
        }
        cmdline.push_str("init=");
        cmdline.push_str(program);
        if !args.is_empty() {
            cmdline.push_str(" --");
            for arg in args {
                cmdline.push(' ');
                cmdline.push_str(arg);
            }
        }
    }
    cmdline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn parses_good_lines() {
        let text = "\
# a comment
exit_status | 42 | /test/basic/exit42

busybox_echo | 0 | /bin/busybox echo hello | hello
   # indented comment
pipes | 0 | /bin/sh -c true | a | b
trailing | 0 | /bin/true |
spaced   |   3   |   /bin/x   a   b   |   some output  
";
        let tests = parse(text).unwrap();
        assert_eq!(tests.len(), 5);
        assert_eq!(
            tests[0],
            TestCase {
                name: "exit_status".into(),
                expected_status: 42,
                argv: strings(&["/test/basic/exit42"]),
                expected_output: None,
                line: 2,
            }
        );
        assert_eq!(tests[1].argv, strings(&["/bin/busybox", "echo", "hello"]));
        assert_eq!(tests[1].expected_output.as_deref(), Some("hello"));
        assert_eq!(tests[1].line, 4);
        assert_eq!(tests[2].expected_output.as_deref(), Some("a | b"));
        assert_eq!(tests[3].argv, strings(&["/bin/true"]));
        assert_eq!(tests[3].expected_output, None);
        assert_eq!(tests[4].name, "spaced");
        assert_eq!(tests[4].expected_status, 3);
        assert_eq!(tests[4].argv, strings(&["/bin/x", "a", "b"]));
        assert_eq!(tests[4].expected_output.as_deref(), Some("some output"));
    }

    #[test]
    fn reports_every_bad_line_with_its_number() {
        let text = "\
ok | 0 | /bin/true
only-two | 0
bad_status | 256 | /bin/true
neg | -1 | /bin/true
word | zero | /bin/true
 | 0 | /bin/true
two words | 0 | /bin/true
relative | 0 | bin/true
empty_cmd | 0 |  | out
ok | 1 | /bin/false
nosep|0|/bin/true
";
        let errors = parse(text).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert!(errors[0].to_string().starts_with("line 2: "));
        assert!(errors[1].message.contains("256"));
        assert!(errors[6].message.contains("absolute"));
        assert!(errors[7].message.contains("empty command"));
        assert!(errors[8].message.contains("duplicate"));
        assert!(errors[8].message.contains("line 1"));
        assert!(errors[9].message.contains("field"));
    }

    #[test]
    fn empty_manifest_has_no_tests() {
        assert_eq!(parse("").unwrap(), []);
        assert_eq!(parse("# nothing\n\n").unwrap(), []);
    }

    #[test]
    fn cmdline_for_a_test() {
        assert_eq!(kernel_cmdline("", &strings(&["/bin/x"])), "init=/bin/x");
        assert_eq!(
            kernel_cmdline("log_level=warn", &strings(&["/bin/busybox", "echo", "hi"])),
            "log_level=warn init=/bin/busybox -- echo hi"
        );
        assert_eq!(kernel_cmdline(" ", &strings(&["/a", "b"])), "init=/a -- b");
    }
}
