//! Builds the initramfs: merges several directory trees and packs the result
//! into a gzip-compressed newc cpio archive.
//!
//! Trees are merged in order. When two trees have an entry at the same path,
//! the later one wins, except that two directories merge (the later
//! directory's own metadata is kept). Replacing a directory by a
//! non-directory drops everything the earlier trees had below it.
//!
//! Entries are emitted in path order compared component by component, so a
//! directory always comes before its children. Names are relative to the
//! archive root, without a leading `./` or `/`; the root itself is not an
//! entry.

use std::collections::BTreeMap;
use std::fs::{self, File, Metadata};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::cpio::{EntryMeta, NewcWriter};

/// What one archive entry is made from.
#[derive(Debug, Clone)]
struct Source {
    /// Where the entry is on the host.
    host_path: PathBuf,
    /// `lstat` of `host_path` (symbolic links are not followed).
    meta: Metadata,
}

/// A merged view of several directory trees.
#[derive(Debug, Default)]
pub struct Tree {
    entries: BTreeMap<PathBuf, Source>,
    warnings: Vec<String>,
}

impl Tree {
    /// Merges the given directories, in order, into one tree.
    pub fn from_dirs<P: AsRef<Path>>(dirs: &[P]) -> io::Result<Tree> {
        let mut tree = Tree::default();
        for dir in dirs {
            tree.merge_dir(dir.as_ref())?;
        }
        Ok(tree)
    }

    /// Merges one directory on top of what the tree holds.
    pub fn merge_dir(&mut self, dir: &Path) -> io::Result<()> {
        let meta = fs::metadata(dir).map_err(|e| annotate(dir, e))?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a directory", dir.display()),
            ));
        }
        self.merge_children(dir, Path::new(""))
    }

    /// Warnings about skipped entries (sockets, devices, FIFOs).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The archive paths, in the order they are written.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.entries.keys().map(PathBuf::as_path)
    }

    fn merge_children(&mut self, host_dir: &Path, rel_dir: &Path) -> io::Result<()> {
        let mut children: Vec<_> = fs::read_dir(host_dir)
            .map_err(|e| annotate(host_dir, e))?
            .collect::<io::Result<_>>()
            .map_err(|e| annotate(host_dir, e))?;
        children.sort_by_key(|entry| entry.file_name());
        for child in children {
            let host_path = child.path();
            let rel = rel_dir.join(child.file_name());
            let meta = fs::symlink_metadata(&host_path).map_err(|e| annotate(&host_path, e))?;
            let ft = meta.file_type();
            if !(ft.is_dir() || ft.is_file() || ft.is_symlink()) {
                let kind = if ft.is_socket() {
                    "socket"
                } else if ft.is_fifo() {
                    "FIFO"
                } else if ft.is_block_device() || ft.is_char_device() {
                    "device"
                } else {
                    "special file"
                };
                self.warnings
                    .push(format!("skipping {kind} {}", host_path.display()));
                continue;
            }
            self.insert(rel.clone(), host_path.clone(), meta);
            if ft.is_dir() {
                self.merge_children(&host_path, &rel)?;
            }
        }
        Ok(())
    }

    fn insert(&mut self, rel: PathBuf, host_path: PathBuf, meta: Metadata) {
        let was_dir = self.entries.get(&rel).is_some_and(|s| s.meta.is_dir());
        if was_dir && !meta.is_dir() {
            // Drop what earlier trees had below the directory being replaced.
            let below: Vec<PathBuf> = self
                .entries
                .range(rel.clone()..)
                .skip(1)
                .take_while(|(path, _)| path.starts_with(&rel))
                .map(|(path, _)| path.clone())
                .collect();
            for path in below {
                self.entries.remove(&path);
            }
        }
        self.entries.insert(rel, Source { host_path, meta });
    }

    /// Writes the tree as a newc archive (not compressed) to `out`.
    pub fn write_cpio<W: Write>(&self, out: W) -> io::Result<W> {
        let mut writer = NewcWriter::new(out);
        for (rel, source) in &self.entries {
            let name = rel.as_os_str().as_bytes();
            let meta = EntryMeta {
                perm: source.meta.mode(),
                mtime: u32::try_from(source.meta.mtime().max(0)).unwrap_or(u32::MAX),
            };
            let ft = source.meta.file_type();
            let result = if ft.is_dir() {
                writer.add_dir(name, meta)
            } else if ft.is_symlink() {
                let target = fs::read_link(&source.host_path)?;
                writer.add_symlink(name, target.as_os_str().as_bytes(), meta)
            } else {
                let file = File::open(&source.host_path)?;
                writer.add_file(name, meta, source.meta.len(), file)
            };
            result.map_err(|e| annotate(&source.host_path, e))?;
        }
        writer.finish()
    }

    /// Writes the tree as a gzip-compressed newc archive to the file `path`.
    pub fn write_cpio_gz(&self, path: &Path) -> io::Result<()> {
        let file = File::create(path).map_err(|e| annotate(path, e))?;
        let gz = GzEncoder::new(BufWriter::new(file), Compression::default());
        let gz = self.write_cpio(gz)?;
        gz.finish()?.flush()
    }
}

/// Prefixes an I/O error with the path it concerns.
fn annotate(path: &Path, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::reader;
    use crate::testutil::TempDir;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn write(path: &Path, contents: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn pack(dirs: &[PathBuf]) -> Vec<reader::Entry> {
        let tree = Tree::from_dirs(dirs).unwrap();
        reader::parse(&tree.write_cpio(Vec::new()).unwrap()).unwrap()
    }

    fn find<'a>(entries: &'a [reader::Entry], name: &str) -> &'a reader::Entry {
        entries
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} missing from the archive"))
    }

    #[test]
    fn tree_round_trips() {
        let tmp = TempDir::new("cpio-round-trip");
        let root = tmp.path().join("root");
        write(&root.join("bin/busybox"), b"\x7fELF pretend");
        fs::set_permissions(root.join("bin/busybox"), fs::Permissions::from_mode(0o755)).unwrap();
        write(&root.join("etc/empty"), b"");
        write(&root.join("etc/odd-size.txt"), b"12345");
        fs::create_dir_all(root.join("tmp/nested/deeper")).unwrap();
        symlink("busybox", root.join("bin/sh")).unwrap();
        symlink("/nowhere/dangling", root.join("dangling")).unwrap();

        let entries = pack(std::slice::from_ref(&root));
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "bin",
                "bin/busybox",
                "bin/sh",
                "dangling",
                "etc",
                "etc/empty",
                "etc/odd-size.txt",
                "tmp",
                "tmp/nested",
                "tmp/nested/deeper",
            ]
        );

        let busybox = find(&entries, "bin/busybox");
        assert_eq!(busybox.mode, 0o100755);
        assert_eq!(busybox.data, b"\x7fELF pretend");
        assert_eq!(busybox.nlink, 1);
        let host_mtime = fs::metadata(root.join("bin/busybox")).unwrap().mtime();
        assert_eq!(busybox.mtime as i64, host_mtime);

        assert_eq!(find(&entries, "bin/sh").mode & 0o170000, 0o120000);
        assert_eq!(find(&entries, "bin/sh").data, b"busybox");
        assert_eq!(find(&entries, "dangling").data, b"/nowhere/dangling");
        assert!(find(&entries, "etc/empty").data.is_empty());
        assert_eq!(find(&entries, "etc/odd-size.txt").data, b"12345");
        let dir = find(&entries, "tmp/nested/deeper");
        assert_eq!(dir.mode & 0o170000, 0o040000);
        assert!(dir.data.is_empty());

        assert!(entries.iter().all(|e| e.uid == 0 && e.gid == 0));
        let mut inos: Vec<_> = entries.iter().map(|e| e.ino).collect();
        inos.sort_unstable();
        inos.dedup();
        assert_eq!(inos.len(), entries.len(), "inode numbers must be unique");
    }

    #[test]
    fn later_trees_override_earlier_ones() {
        let tmp = TempDir::new("cpio-merge");
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        write(&a.join("etc/passwd"), b"old");
        write(&a.join("etc/only-in-a"), b"a");
        write(&a.join("lib/x/deep"), b"dropped");
        write(&a.join("usr/file-then-dir"), b"file");
        write(&b.join("etc/passwd"), b"new");
        write(&b.join("etc/only-in-b"), b"b");
        write(&b.join("lib/x"), b"now a file");
        write(&b.join("usr/file-then-dir/child"), b"c");

        let entries = pack(&[a, b]);
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "etc",
                "etc/only-in-a",
                "etc/only-in-b",
                "etc/passwd",
                "lib",
                "lib/x",
                "usr",
                "usr/file-then-dir",
                "usr/file-then-dir/child",
            ]
        );
        assert_eq!(find(&entries, "etc/passwd").data, b"new");
        assert_eq!(find(&entries, "lib/x").data, b"now a file");
        assert_eq!(
            find(&entries, "usr/file-then-dir").mode & 0o170000,
            0o040000
        );
    }

    #[test]
    fn parents_come_before_children() {
        let tmp = TempDir::new("cpio-order");
        let root = tmp.path().join("r");
        // "a.txt" sorts before "a/..." as a string, but after it by component.
        write(&root.join("a.txt"), b"");
        write(&root.join("a/b"), b"");
        write(&root.join("a-b/c"), b"");
        let entries = pack(&[root]);
        for (i, entry) in entries.iter().enumerate() {
            if let Some((parent, _)) = entry.name.rsplit_once('/') {
                let parent_pos = entries.iter().position(|e| e.name == parent).unwrap();
                assert!(parent_pos < i, "{parent} after {}", entry.name);
            }
        }
    }

    #[test]
    fn sockets_are_skipped_with_a_warning() {
        let tmp = TempDir::new("cpio-socket");
        let root = tmp.path().join("r");
        write(&root.join("file"), b"x");
        let _listener = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
        let tree = Tree::from_dirs(std::slice::from_ref(&root)).unwrap();
        assert_eq!(tree.paths().collect::<Vec<_>>(), [Path::new("file")]);
        assert_eq!(tree.warnings().len(), 1);
        assert!(tree.warnings()[0].contains("socket"));
    }

    #[test]
    fn gzip_output_decompresses_to_the_archive() {
        use std::io::Read;
        let tmp = TempDir::new("cpio-gz");
        let root = tmp.path().join("r");
        write(&root.join("hello"), b"world");
        let tree = Tree::from_dirs(std::slice::from_ref(&root)).unwrap();
        let out = tmp.path().join("initramfs.cpio.gz");
        tree.write_cpio_gz(&out).unwrap();
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(File::open(&out).unwrap())
            .read_to_end(&mut raw)
            .unwrap();
        let entries = reader::parse(&raw).unwrap();
        assert_eq!(find(&entries, "hello").data, b"world");
    }

    #[test]
    fn missing_directory_is_an_error() {
        let tmp = TempDir::new("cpio-missing");
        let err = Tree::from_dirs(&[tmp.path().join("nope")]).unwrap_err();
        assert!(err.to_string().contains("nope"));
    }
}
