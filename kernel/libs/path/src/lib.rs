// SPDX-License-Identifier: MPL-2.0

//! Lexical helpers for path names, as the VFS sees them before any lookup.
//!
//! Linux path names are byte strings: any byte except NUL may appear in a
//! component, `/` separates components, and runs of slashes count as one.
//! This crate only looks at the bytes. It never resolves anything: `..`,
//! symbolic links and mount points all need the file system, so they are
//! reported to the caller (as [`Component::ParentDir`] and so on) and left
//! for the path walk to act on.
//!
//! The limits follow Linux:
//! - [`PATH_MAX`] counts the terminating NUL, so a path of 4096 bytes or more
//!   (without the NUL) is rejected with `ENAMETOOLONG`, as `getname()` does.
//! - [`NAME_MAX`] bounds one component. Linux checks it when a component is
//!   looked up (in each file system's `lookup`), not when the path is copied
//!   in, so `open("/missing/<300 bytes>")` fails with `ENOENT`, not
//!   `ENAMETOOLONG`. To keep that precedence, [`check_path`] does not look at
//!   component lengths; call [`check_name`] on each component as it is looked
//!   up (or when creating a name).

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use core::fmt;

use linux_raw_sys::errno;

/// Maximum length of a path in bytes, including the terminating NUL.
pub const PATH_MAX: usize = 4096;

/// Maximum length of one path component (a file name) in bytes.
pub const NAME_MAX: usize = 255;

/// Why a path or a name was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// The path is empty. Linux answers `ENOENT` unless the system call
    /// allows an empty path (`AT_EMPTY_PATH`), which is the caller's call.
    Empty,
    /// The path, with its NUL, does not fit in [`PATH_MAX`] bytes.
    TooLong,
    /// A component is longer than [`NAME_MAX`] bytes.
    NameTooLong,
    /// The bytes contain a NUL. A path copied from user space stops at the
    /// first NUL, so one inside the bytes means the caller built it wrongly.
    ContainsNul,
    /// A name handed to [`check_name`] is empty or contains a `/`, or one
    /// handed to [`check_new_name`] is `.` or `..`: none of these can be a
    /// directory entry's name.
    InvalidName,
}

impl PathError {
    /// The positive Linux errno value for this error.
    pub fn errno(self) -> i32 {
        let e = match self {
            PathError::Empty => errno::ENOENT,
            PathError::TooLong | PathError::NameTooLong => errno::ENAMETOOLONG,
            PathError::ContainsNul | PathError::InvalidName => errno::EINVAL,
        };
        // Errno values are small positive numbers, so this cannot wrap.
        e as i32
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            PathError::Empty => "empty path",
            PathError::TooLong => "path too long",
            PathError::NameTooLong => "file name too long",
            PathError::ContainsNul => "path contains a NUL byte",
            PathError::InvalidName => "invalid file name",
        };
        f.write_str(s)
    }
}

/// Checks the path as a whole: not empty, shorter than [`PATH_MAX`] and free
/// of NUL bytes.
///
/// Component lengths are not checked here; see the crate documentation.
pub fn check_path(path: &[u8]) -> Result<(), PathError> {
    // Same order as Linux's getname(): the length check happens while
    // copying, before the emptiness check.
    if path.len() >= PATH_MAX {
        return Err(PathError::TooLong);
    }
    if path.contains(&0) {
        return Err(PathError::ContainsNul);
    }
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    Ok(())
}

/// Checks the length of a single component about to be looked up or
/// created: at most [`NAME_MAX`] bytes.
///
/// This accepts `.` and `..` (they are valid while walking); use
/// [`check_new_name`] for a name that is about to become a directory entry.
pub fn check_name(name: &[u8]) -> Result<(), PathError> {
    if name.len() > NAME_MAX {
        return Err(PathError::NameTooLong);
    }
    if name.contains(&0) {
        return Err(PathError::ContainsNul);
    }
    if name.is_empty() || name.contains(&b'/') {
        return Err(PathError::InvalidName);
    }
    Ok(())
}

/// Checks a name that is about to become a directory entry: everything
/// [`check_name`] checks, and not `.` or `..`.
pub fn check_new_name(name: &[u8]) -> Result<(), PathError> {
    check_name(name)?;
    if name == b"." || name == b".." {
        return Err(PathError::InvalidName);
    }
    Ok(())
}

/// Whether the path starts at the root directory.
pub fn is_absolute(path: &[u8]) -> bool {
    path.first() == Some(&b'/')
}

/// Whether the path has a last component followed by one or more slashes,
/// as in `dir/` or `a/b//`.
///
/// Linux treats such a path as if the last component must be a directory
/// (it sets `LOOKUP_DIRECTORY`): `open("file/")` fails with `ENOTDIR`, and
/// creating a regular file through it fails with `EISDIR`. A path made only
/// of slashes has no last component, so this returns `false` for it.
pub fn has_trailing_slash(path: &[u8]) -> bool {
    path.last() == Some(&b'/') && path.iter().any(|&b| b != b'/')
}

/// One component of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component<'a> {
    /// `.`: stays in the same directory.
    CurDir,
    /// `..`: goes to the parent (which needs the file system and the
    /// process's root to resolve, so it is only reported here).
    ParentDir,
    /// Any other name.
    Normal(&'a [u8]),
}

impl<'a> Component<'a> {
    fn from_bytes(name: &'a [u8]) -> Self {
        match name {
            b"." => Component::CurDir,
            b".." => Component::ParentDir,
            other => Component::Normal(other),
        }
    }

    /// The bytes of this component as they appear in the path.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            Component::CurDir => b".",
            Component::ParentDir => b"..",
            Component::Normal(name) => name,
        }
    }
}

/// Iterator over the components of a path, skipping empty ones (so `a//b/`
/// yields `a` and `b`). Whether the path was absolute is not a component;
/// ask [`is_absolute`].
#[derive(Clone, Debug)]
pub struct Components<'a> {
    rest: &'a [u8],
}

/// Splits `path` into its components.
pub fn components(path: &[u8]) -> Components<'_> {
    Components { rest: path }
}

impl<'a> Components<'a> {
    /// The part of the path not yet returned, without leading slashes.
    pub fn remaining(&self) -> &'a [u8] {
        trim_leading_slashes(self.rest)
    }

    /// Whether no component is left. During a path walk this tells whether
    /// the component just returned was the last one, which decides whether
    /// a final symbolic link is followed.
    pub fn is_empty(&self) -> bool {
        self.remaining().is_empty()
    }
}

impl<'a> Iterator for Components<'a> {
    type Item = Component<'a>;

    fn next(&mut self) -> Option<Component<'a>> {
        let rest = trim_leading_slashes(self.rest);
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
        let (name, tail) = rest.split_at(end);
        self.rest = tail;
        Some(Component::from_bytes(name))
    }
}

impl<'a> DoubleEndedIterator for Components<'a> {
    fn next_back(&mut self) -> Option<Component<'a>> {
        let rest = trim_trailing_slashes(trim_leading_slashes(self.rest));
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        let start = rest.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
        let (head, name) = rest.split_at(start);
        self.rest = head;
        Some(Component::from_bytes(name))
    }
}

fn trim_leading_slashes(p: &[u8]) -> &[u8] {
    let start = p.iter().position(|&b| b != b'/').unwrap_or(p.len());
    p.split_at(start).1
}

fn trim_trailing_slashes(p: &[u8]) -> &[u8] {
    let end = p.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    p.split_at(end).0
}

/// The last component of a path, classified the way Linux's
/// `filename_parentat()` does for system calls that create or remove a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Last<'a> {
    /// The path is only slashes: there is no last name (Linux `LAST_ROOT`;
    /// `mkdir("/")` answers `EEXIST`, `rmdir("/")` answers `EBUSY`).
    Root,
    /// The last component is `.` (`LAST_DOT`; `rmdir("x/.")` answers `EINVAL`).
    Dot,
    /// The last component is `..` (`LAST_DOTDOT`; `rmdir("x/..")` answers
    /// `ENOTEMPTY`).
    DotDot,
    /// An ordinary name (`LAST_NORM`).
    Normal(&'a [u8]),
}

/// A path split into the directory that holds the last component and that
/// component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split<'a> {
    /// The directory part, without trailing slashes. Empty means the
    /// starting directory of a relative path (the working directory or a
    /// `dirfd`); `/` means the root.
    pub parent: &'a [u8],
    /// The last component.
    pub last: Last<'a>,
    /// Whether slashes followed the last component (see
    /// [`has_trailing_slash`]).
    pub trailing_slash: bool,
}

/// Splits `path` into its parent directory and last component, after
/// checking it with [`check_path`].
///
/// ```
/// use kpath::{split_last, Last};
/// let s = split_last(b"/usr//bin/").unwrap();
/// assert_eq!(s.parent, b"/usr");
/// assert_eq!(s.last, Last::Normal(b"bin"));
/// assert!(s.trailing_slash);
/// ```
pub fn split_last(path: &[u8]) -> Result<Split<'_>, PathError> {
    check_path(path)?;
    let trailing_slash = has_trailing_slash(path);
    let body = trim_trailing_slashes(path);
    if body.is_empty() {
        // Only slashes (the empty path was rejected above).
        return Ok(Split {
            parent: path.split_at(1).0,
            last: Last::Root,
            trailing_slash,
        });
    }
    let start = body.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let (head, name) = body.split_at(start);
    let parent = match trim_trailing_slashes(head) {
        // `head` was only slashes, or `/name`: the parent is the root.
        [] if !head.is_empty() => head.split_at(1).0,
        p => p,
    };
    let last = match name {
        b"." => Last::Dot,
        b".." => Last::DotDot,
        n => Last::Normal(n),
    };
    Ok(Split {
        parent,
        last,
        trailing_slash,
    })
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    extern crate std;

    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;

    fn comps(p: &[u8]) -> Vec<&[u8]> {
        components(p).map(|c| c.as_bytes()).collect()
    }

    #[test]
    fn components_collapse_slashes() {
        assert_eq!(
            comps(b"/usr//lib/./x/../y/"),
            vec![&b"usr"[..], b"lib", b".", b"x", b"..", b"y"]
        );
        assert_eq!(comps(b"a"), vec![&b"a"[..]]);
        assert!(comps(b"").is_empty());
        assert!(comps(b"////").is_empty());
    }

    #[test]
    fn components_classify_dots() {
        let v: Vec<_> = components(b"./../.../..a").collect();
        assert_eq!(
            v,
            vec![
                Component::CurDir,
                Component::ParentDir,
                Component::Normal(b"..."),
                Component::Normal(b"..a"),
            ]
        );
    }

    #[test]
    fn components_backwards_and_remaining() {
        let v: Vec<_> = components(b"//a/b//c//")
            .rev()
            .map(|c| c.as_bytes())
            .collect();
        assert_eq!(v, vec![&b"c"[..], b"b", b"a"]);

        let mut it = components(b"a//b/");
        assert_eq!(it.next(), Some(Component::Normal(b"a")));
        assert!(!it.is_empty());
        assert_eq!(it.remaining(), b"b/");
        assert_eq!(it.next(), Some(Component::Normal(b"b")));
        assert!(it.is_empty());
        assert_eq!(it.next(), None);

        let mut it = components(b"a/b/c");
        assert_eq!(it.next(), Some(Component::Normal(b"a")));
        assert_eq!(it.next_back(), Some(Component::Normal(b"c")));
        assert_eq!(it.next(), Some(Component::Normal(b"b")));
        assert_eq!(it.next_back(), None);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn absolute_and_trailing_slash() {
        assert!(is_absolute(b"/"));
        assert!(is_absolute(b"//x"));
        assert!(!is_absolute(b"x/"));
        assert!(!is_absolute(b""));

        assert!(has_trailing_slash(b"a/"));
        assert!(has_trailing_slash(b"/a/b//"));
        assert!(has_trailing_slash(b"./"));
        assert!(!has_trailing_slash(b"/"));
        assert!(!has_trailing_slash(b"///"));
        assert!(!has_trailing_slash(b"a"));
        assert!(!has_trailing_slash(b""));
    }

    #[test]
    fn path_length_limits() {
        assert_eq!(check_path(b""), Err(PathError::Empty));
        assert_eq!(check_path(b"/"), Ok(()));
        let ok = vec![b'a'; PATH_MAX - 1];
        assert_eq!(check_path(&ok), Ok(()));
        let too_long = vec![b'a'; PATH_MAX];
        assert_eq!(check_path(&too_long), Err(PathError::TooLong));
        assert_eq!(check_path(&vec![b'/'; 100_000]), Err(PathError::TooLong));
        assert_eq!(check_path(b"a\0b"), Err(PathError::ContainsNul));

        assert_eq!(PathError::Empty.errno(), 2);
        assert_eq!(PathError::TooLong.errno(), 36);
        assert_eq!(PathError::NameTooLong.errno(), 36);
        assert_eq!(PathError::ContainsNul.errno(), 22);
    }

    #[test]
    fn name_length_limits() {
        assert_eq!(check_name(&[b'x'; NAME_MAX]), Ok(()));
        assert_eq!(
            check_name(&[b'x'; NAME_MAX + 1]),
            Err(PathError::NameTooLong)
        );
        assert_eq!(check_name(b""), Err(PathError::InvalidName));
        assert_eq!(check_name(b"a/b"), Err(PathError::InvalidName));
        assert_eq!(check_name(b"a\0"), Err(PathError::ContainsNul));
        assert_eq!(check_name(b".."), Ok(()));
        assert_eq!(check_new_name(b".."), Err(PathError::InvalidName));
        assert_eq!(check_new_name(b"."), Err(PathError::InvalidName));
        assert_eq!(check_new_name(b"..."), Ok(()));
    }

    #[test]
    fn split_last_cases() {
        let s = split_last(b"foo").unwrap();
        assert_eq!(
            (s.parent, s.last, s.trailing_slash),
            (&b""[..], Last::Normal(b"foo"), false)
        );

        let s = split_last(b"/foo").unwrap();
        assert_eq!((s.parent, s.last), (&b"/"[..], Last::Normal(b"foo")));

        let s = split_last(b"///foo//").unwrap();
        assert_eq!(
            (s.parent, s.last, s.trailing_slash),
            (&b"/"[..], Last::Normal(b"foo"), true)
        );

        let s = split_last(b"a//b/c").unwrap();
        assert_eq!((s.parent, s.last), (&b"a//b"[..], Last::Normal(b"c")));

        let s = split_last(b"a//c").unwrap();
        assert_eq!((s.parent, s.last), (&b"a"[..], Last::Normal(b"c")));

        let s = split_last(b"/").unwrap();
        assert_eq!(
            (s.parent, s.last, s.trailing_slash),
            (&b"/"[..], Last::Root, false)
        );

        let s = split_last(b"////").unwrap();
        assert_eq!((s.parent, s.last), (&b"/"[..], Last::Root));

        assert_eq!(split_last(b"x/.").unwrap().last, Last::Dot);
        assert_eq!(split_last(b"..").unwrap().last, Last::DotDot);
        assert_eq!(split_last(b"../..").unwrap().parent, b"..");
        assert_eq!(split_last(b""), Err(PathError::Empty));
        assert_eq!(split_last(&vec![b'a'; PATH_MAX]), Err(PathError::TooLong));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small xorshift generator keeps the test deterministic.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let len = (next() % 40) as usize;
            let p: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => b'/',
                    1 => b'.',
                    2 => 0,
                    _ => b'a',
                })
                .collect();
            let forward: Vec<_> = components(&p).collect();
            let mut backward: Vec<_> = components(&p).rev().collect();
            backward.reverse();
            assert_eq!(forward, backward);
            for c in &forward {
                assert!(!c.as_bytes().is_empty());
                assert!(!c.as_bytes().contains(&b'/'));
            }
            let _ = check_path(&p);
            if let Ok(s) = split_last(&p) {
                // The parent and the last name are pieces of the input.
                if let Last::Normal(n) = s.last {
                    assert!(!n.contains(&b'/'));
                    assert_eq!(forward.last().map(|c| c.as_bytes()), Some(n));
                }
            }
        }
    }
}
