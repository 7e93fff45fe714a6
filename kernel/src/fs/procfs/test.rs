//! In-kernel tests of procfs.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::prelude::ktest;
use ostd::sync::Mutex;

use super::*;
use crate::fs::FsContext;
use crate::process::ProcessBuilder;
use crate::vm::{MapOptions, VmPerms, layout};

/// Opens `path` (relative to the procfs root) and reads all of it.
fn read(root: &Arc<dyn Inode>, path: &str) -> String {
    let node = walk(root, path);
    let file = node.open_special(flags::O_RDONLY).unwrap().unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 100];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(out).unwrap()
}

fn walk(root: &Arc<dyn Inode>, path: &str) -> Arc<dyn Inode> {
    path.split('/')
        .filter(|c| !c.is_empty())
        .fold(root.clone(), |dir, c| dir.lookup(c.as_bytes()).unwrap())
}

fn names(dir: &Arc<dyn Inode>) -> Vec<String> {
    dir.readdir()
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8(e.0).unwrap())
        .collect()
}

#[ktest]
fn procfs_root_listing() {
    let root = new_root();
    let listed = names(&root);
    for n in [
        "meminfo",
        "uptime",
        "self",
        "thread-self",
        "cpuinfo",
        "mounts",
        "sys",
    ] {
        assert!(listed.iter().any(|l| l == n), "{n} missing");
    }
    let m = root.metadata();
    assert_eq!((m.kind, m.dev, m.mode), (InodeType::Dir, PROC_DEV, 0o555));
    assert_eq!(root.fs_stats().magic, 0x9fa0);
    assert_eq!(root.lookup(b"nonexistent").err().unwrap().errno(), ENOENT);
    assert_eq!(root.lookup(b"0").err().unwrap().errno(), ENOENT);
    assert_eq!(
        root.create(b"x", InodeType::File, 0o644)
            .err()
            .unwrap()
            .errno(),
        EACCES
    );
    // No user thread runs a ktest: `self` has nothing to point to.
    let me = root.lookup(b"self").unwrap();
    assert_eq!(me.metadata().kind, InodeType::Symlink);
    assert_eq!(me.read_link().err().unwrap().errno(), ENOENT);
    // Inode numbers are stable and distinct.
    let a = root.lookup(b"meminfo").unwrap().metadata().ino;
    let b = root.lookup(b"meminfo").unwrap().metadata().ino;
    let c = root.lookup(b"uptime").unwrap().metadata().ino;
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[ktest]
fn procfs_meminfo() {
    let root = new_root();
    let text = read(&root, "meminfo");
    let mut values = alloc::collections::BTreeMap::new();
    for line in text.lines() {
        let (key, rest) = line.split_once(':').unwrap();
        let value: u64 = rest.split_whitespace().next().unwrap().parse().unwrap();
        values.insert(key.to_string(), value);
    }
    for key in [
        "MemTotal",
        "MemFree",
        "MemAvailable",
        "Buffers",
        "Cached",
        "SwapCached",
        "Active",
        "Inactive",
        "SwapTotal",
        "SwapFree",
        "Shmem",
        "Slab",
    ] {
        assert!(values.contains_key(key), "{key} missing");
    }
    let total = values["MemTotal"];
    assert_eq!(total, ostd::mm::total_frames() as u64 * 4);
    assert!(values["MemFree"] <= total && values["MemFree"] > 0);
    // Linux's alignment: label in 16 columns, value right-aligned in 8.
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("MemTotal:       "));
    assert!(first.ends_with(" kB"));
    assert_eq!(first.len(), 16 + 8.max(total.to_string().len()) + 3);
}

#[ktest]
fn procfs_file_semantics() {
    let root = new_root();
    let node = root.lookup(b"version").unwrap();
    let m = node.metadata();
    assert_eq!(
        (m.kind, m.mode, m.size, m.dev),
        (InodeType::File, 0o444, 0, PROC_DEV)
    );
    assert_eq!(
        node.open_special(flags::O_WRONLY)
            .unwrap()
            .err()
            .unwrap()
            .errno(),
        EACCES
    );
    let file = node
        .open_special(flags::O_RDONLY | flags::O_CLOEXEC)
        .unwrap()
        .unwrap();
    assert_eq!(file.status_flags(), flags::O_RDONLY);
    assert_eq!(file.metadata().ino, m.ino);
    assert_eq!(file.path().unwrap(), b"/proc/version");
    let mut head = [0u8; 6];
    assert_eq!(file.read(&mut head).unwrap(), 6);
    assert_eq!(&head, b"Linux ");
    assert_eq!(file.read_at(0, &mut head[..5]).unwrap(), 5);
    assert_eq!(file.seek(SeekFrom::Current(0)).unwrap(), 6);
    let mut rest = [0u8; 8];
    assert_eq!(file.read(&mut rest).unwrap(), 8);
    assert_eq!(&rest, b"version ");
    assert_eq!(file.seek(SeekFrom::Start(0)).unwrap(), 0);
    assert_eq!(file.read(&mut head).unwrap(), 6);
    assert_eq!(file.write(b"x").err().unwrap().errno(), EBADF);
    // As Linux's `seq_lseek`: no SEEK_END; the end is found by reading.
    assert_eq!(file.seek(SeekFrom::End(0)).err().unwrap().errno(), EINVAL);
    let mut all = [0u8; 4096];
    let end = file.read_at(0, &mut all).unwrap() as u64;
    assert_eq!(file.seek(SeekFrom::Start(end)).unwrap(), end);
    assert_eq!(file.read(&mut rest).unwrap(), 0);
    assert_eq!(file.read_at(end - 1, &mut rest).unwrap(), 1);
    assert_eq!(rest[0], b'\n');

    let up = read(&root, "uptime");
    let parts: Vec<&str> = up.trim_end().split(' ').collect();
    assert_eq!(parts.len(), 2);
    for p in parts {
        let (secs, cs) = p.split_once('.').unwrap();
        secs.parse::<u64>().unwrap();
        assert_eq!(cs.len(), 2);
    }
    assert!(read(&root, "mounts").starts_with("rootfs / rootfs rw 0 0\n"));
    let load = read(&root, "loadavg");
    assert!(load.starts_with("0.00 0.00 0.00 1/"));
    let stat = read(&root, "stat");
    assert!(stat.starts_with("cpu  ") && stat.contains("\nbtime "));
    let cpu = read(&root, "cpuinfo");
    assert!(cpu.starts_with("processor\t: 0\n"));
    assert!(cpu.contains("\nmodel name\t: ") && cpu.contains("\nflags\t\t: fpu"));
    assert!(read(&root, "filesystems").contains("nodev\tproc\n"));
}

#[ktest]
fn procfs_sys_tree() {
    let root = new_root();
    assert_eq!(read(&root, "sys/kernel/ostype"), "Linux\n");
    assert_eq!(
        read(&root, "sys/kernel/random/boot_id"),
        read(&root, "sys/kernel/random/boot_id")
    );
    assert_eq!(read(&root, "sys/kernel/random/uuid").len(), 37);
    let kernel = walk(&root, "sys/kernel");
    assert_eq!(kernel.metadata().kind, InodeType::Dir);
    let sys = kernel.parent().unwrap();
    assert_eq!(
        sys.metadata().ino,
        root.lookup(b"sys").unwrap().metadata().ino
    );
    assert!(Arc::ptr_eq(&sys.parent().unwrap(), &root));
    assert!(names(&kernel).iter().any(|n| n == "hostname"));
}

/// A process with no threads, an empty address space but for a stack, and
/// a few open files, for the per-process files.
fn test_process() -> Arc<Process> {
    let fs = FsContext {
        root: crate::fs::ramfs::RamInode::new_root(),
        cwd: crate::fs::ramfs::RamInode::new_root(),
        cwd_path: b"/tmp".to_vec(),
        umask: 0o027,
    };
    let p = ProcessBuilder::new()
        .fs(Arc::new(Mutex::new(fs)))
        .exe_path("/usr/bin/a-rather-long-program-name".to_string())
        .build()
        .unwrap();
    p.set_exe(
        "/usr/bin/a-rather-long-program-name".to_string(),
        b"prog\0-x\0arg\0".to_vec(),
    );
    p.set_comm(b"a-rather-long-program-name");
    p.vmar()
        .map(MapOptions {
            len: 4 * 4096,
            perms: VmPerms::READ | VmPerms::WRITE,
            shared: false,
            backing: None,
            addr: Some((layout::STACK_TOP - 4 * 4096, true)),
        })
        .unwrap();
    let null = crate::fs::devfs::new_root().lookup(b"null").unwrap();
    let null = null.open_special(flags::O_RDWR).unwrap().unwrap();
    let (r, _w) = crate::fs::pipe::new_pipe(0);
    let pipe_ino = r.metadata().ino;
    {
        let table = p.files();
        let mut files = table.lock();
        files.insert(null, false).unwrap();
        files.insert(r, false).unwrap();
    }
    assert_ne!(pipe_ino, 0);
    p
}

#[ktest]
fn procfs_process_files() {
    let root = new_root();
    let p = test_process();
    let pid = p.pid();
    let dir = root.lookup(pid.to_string().as_bytes()).unwrap();
    assert!(names(&root).contains(&pid.to_string()));
    let entries = names(&dir);
    for n in [
        "stat", "status", "cmdline", "comm", "exe", "cwd", "fd", "maps", "task",
    ] {
        assert!(entries.iter().any(|e| e == n), "{n} missing");
    }
    assert!(Arc::ptr_eq(&dir.parent().unwrap(), &root));

    let base = pid.to_string();
    let stat = read(&root, &format!("{base}/stat"));
    assert!(stat.starts_with(&format!("{pid} (a-rather-long-p) S 0 {pid} {pid} 0 -1 ")));
    let after = stat.rsplit_once(") ").unwrap().1;
    assert_eq!(after.split_whitespace().count(), 50, "{stat}");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // vsize is field 23 (index 20 after the comm).
    assert_eq!(fields[20], (4 * 4096).to_string());

    assert_eq!(read(&root, &format!("{base}/comm")), "a-rather-long-p\n");
    assert_eq!(read(&root, &format!("{base}/cmdline")), "prog\0-x\0arg\0");
    let status = read(&root, &format!("{base}/status"));
    assert!(status.starts_with("Name:\ta-rather-long-p\nUmask:\t0027\nState:\tS (sleeping)\n"));
    assert!(status.contains(&format!("\nPid:\t{pid}\nPPid:\t0\n")));
    assert!(status.contains("\nUid:\t0\t0\t0\t0\n"));
    assert!(status.contains("\nVmSize:\t      16 kB\n"));
    assert!(status.contains("\nSigBlk:\t0000000000000000\n"));

    let maps = read(&root, &format!("{base}/maps"));
    let line = maps.lines().next().unwrap();
    assert!(line.starts_with("7fffffffb000-7ffffffff000 rw-p 00000000 00:00 0 "));
    assert!(line.ends_with(" [stack]"));
    assert_eq!(line.find('[').unwrap(), 73);

    let cwd = walk(&root, &format!("{base}/cwd"));
    assert_eq!(cwd.read_link().unwrap(), b"/tmp");
    let fd = walk(&root, &format!("{base}/fd"));
    assert_eq!(names(&fd), ["0", "1"]);
    assert_eq!(fd.lookup(b"0").unwrap().read_link().unwrap(), b"/dev/null");
    let pipe = String::from_utf8(fd.lookup(b"1").unwrap().read_link().unwrap()).unwrap();
    assert!(pipe.starts_with("pipe:[") && pipe.ends_with(']'));
    assert_eq!(fd.lookup(b"2").err().unwrap().errno(), ENOENT);
    assert!(Arc::ptr_eq(&fd.parent().unwrap().parent().unwrap(), &root));
    assert!(names(&walk(&root, &format!("{base}/task"))).is_empty());

    // Once the process is gone, its directory is too.
    drop(p);
    assert_eq!(root.lookup(base.as_bytes()).err().unwrap().errno(), ENOENT);
    assert_eq!(dir.lookup(b"stat").err().unwrap().errno(), ENOENT);
}

#[ktest]
fn procfs_path_helpers() {
    assert_eq!(pid::absolute(b"a/./b/../c", b"/x/y"), b"/x/y/a/c");
    assert_eq!(pid::absolute(b"/../a//b/", b"/x"), b"/a/b");
    assert_eq!(pid::absolute(b"..", b"/"), b"/");
    assert_eq!(parse_number("12"), Some(12));
    assert_eq!(parse_number("012"), None);
    assert_eq!(parse_number("+1"), None);
    assert_eq!(parse_number(""), None);
}

#[ktest]
fn procfs_fixed_inode_numbers_unique() {
    fn collect(entries: &'static [FixedEntry], out: &mut Vec<(u64, &'static str)>) {
        for e in entries {
            out.push((e.ino, e.name));
            if let Fixed::Dir(sub) = e.node {
                collect(sub, out);
            }
        }
    }
    // The root, `self` and `thread-self` are 1, 2 and 3.
    let mut all = alloc::vec![(1, "/proc"), (2, "self"), (3, "thread-self")];
    collect(ROOT_ENTRIES, &mut all);
    all.sort_unstable();
    for w in all.windows(2) {
        assert_ne!(
            w[0].0, w[1].0,
            "{} and {} share an inode number",
            w[0].1, w[1].1
        );
    }
    assert!(all.iter().all(|&(ino, _)| ino < 1000));
}
