//! ELF executables: static, static PIE, and dynamic (with the interpreter
//! named by `PT_INTERP`, e.g. `ld-linux-x86-64.so.2` or musl's `ld-musl`).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use elf_layout::{Backing, Fixup, Kind, Limits, LoadPlan};

use super::LoadedProgram;
use crate::fs::FsContext;
use crate::fs::inode::{Inode, InodeType};
use crate::prelude::*;
use crate::process::credentials::Credentials;
use crate::vm::{MapOptions, VmPerms, Vmar, layout, page_up};

/// Most memory a program's segments may span.
const MAX_IMAGE: u64 = 1 << 30;

const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_HWCAP2: u64 = 26;
const AT_MINSIGSTKSZ: u64 = 51;

fn read_all(inode: &Arc<dyn Inode>) -> Result<Vec<u8>> {
    let size = inode.metadata().size;
    if size > MAX_IMAGE {
        return_errno!(ENOEXEC);
    }
    let mut buf = Vec::new();
    buf.try_reserve_exact(size as usize)
        .map_err(|_| Error::new(ENOMEM))?;
    buf.resize(size as usize, 0);
    let n = inode.read_at(0, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

fn plan(data: &[u8]) -> Result<LoadPlan> {
    let limits = Limits {
        user_space_end: layout::USER_END,
        max_total_memsz: MAX_IMAGE,
    };
    elf_layout::plan(data, &limits).map_err(|e| {
        log::debug!("exec: bad ELF: {e:?}");
        Error::new(Errno(e.errno() as u32))
    })
}

/// Maps an image into `vmar` with `bias` added to its addresses.
fn map_image(
    vmar: &Vmar,
    inode: &Arc<dyn Inode>,
    data: &[u8],
    plan: &LoadPlan,
    bias: u64,
) -> Result<()> {
    let vmo = inode.vmo().ok_or(Error::new(ENOEXEC))?;
    let pm =
        elf_layout::page_mappings(plan, bias).map_err(|e| Error::new(Errno(e.errno() as u32)))?;
    for m in &pm.mappings {
        let mut perms = VmPerms::empty();
        perms.set(VmPerms::READ, m.readable);
        perms.set(VmPerms::WRITE, m.writable);
        perms.set(VmPerms::EXEC, m.executable);
        let backing = match m.backing {
            Backing::File { offset } => Some((vmo.clone(), offset)),
            Backing::Anonymous => None,
        };
        vmar.map(MapOptions {
            len: m.end - m.start,
            perms,
            shared: false,
            backing,
            addr: Some((m.start, true)),
        })?;
    }
    for f in &pm.fixups {
        match *f {
            Fixup::Zero { start, end } => {
                let zeros = vec![0u8; (end - start) as usize];
                vmar.write_bytes_force(start, &zeros)?;
            }
            Fixup::Copy {
                vaddr,
                file_offset,
                len,
            } => {
                let bytes = data
                    .get(file_offset as usize..(file_offset + len) as usize)
                    .ok_or(Error::new(ENOEXEC))?;
                vmar.write_bytes_force(vaddr, bytes)?;
            }
        }
    }
    Ok(())
}

/// Loads an ELF program (and its interpreter) into a new address space,
/// to run with `creds` (which the auxiliary vector reports).
pub fn load(
    fs: &FsContext,
    inode: &Arc<dyn Inode>,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    creds: Credentials,
) -> Result<LoadedProgram> {
    let data = read_all(inode)?;
    let plan = plan(&data)?;
    let vmar = Vmar::new()?;

    let bias = match plan.kind {
        Kind::Exec => 0,
        Kind::Dyn => layout::PIE_BASE - plan.min_vaddr,
    };
    map_image(&vmar, inode, &data, &plan, bias)?;
    vmar.init_brk(page_up(plan.max_vaddr + bias));

    let mut entry = plan.entry + bias;
    let mut interp_base = 0;
    if let Some(interp_path) = &plan.interp {
        let interp = fs
            .lookup(None, interp_path.as_bytes(), true)
            .inspect_err(|&e| {
                log::debug!("exec: interpreter {interp_path}: {e:?}");
            })?;
        if interp.metadata().kind != InodeType::File {
            return_errno!(EACCES);
        }
        let idata = read_all(&interp)?;
        let iplan = plan_interp(&idata)?;
        // Reserve a place for the interpreter the way mmap would.
        let base = vmar.map(MapOptions {
            len: iplan.max_vaddr - iplan.min_vaddr,
            perms: VmPerms::empty(),
            shared: false,
            backing: None,
            addr: None,
        })?;
        vmar.unmap(base, iplan.max_vaddr - iplan.min_vaddr)?;
        let ibias = base - iplan.min_vaddr;
        map_image(&vmar, &interp, &idata, &iplan, ibias)?;
        interp_base = base;
        entry = iplan.entry + ibias;
    }

    // The stack.
    vmar.map(MapOptions {
        len: layout::STACK_SIZE,
        perms: VmPerms::READ | VmPerms::WRITE,
        shared: false,
        backing: None,
        addr: Some((layout::STACK_TOP - layout::STACK_SIZE, true)),
    })?;

    let mut random = [0u8; 16];
    ostd::random::fill(&mut random);
    let hwcap = core::arch::x86_64::__cpuid(1).edx as u64;
    let secure = creds.is_secure_exec();
    let auxv = [
        (AT_HWCAP, hwcap),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, 100),
        (AT_PHDR, plan.phdr_vaddr.map_or(0, |p| p + bias)),
        (AT_PHENT, plan.phent as u64),
        (AT_PHNUM, plan.phnum as u64),
        (AT_BASE, interp_base),
        (AT_FLAGS, 0),
        (AT_ENTRY, plan.entry + bias),
        (AT_UID, creds.ruid as u64),
        (AT_EUID, creds.euid as u64),
        (AT_GID, creds.rgid as u64),
        (AT_EGID, creds.egid as u64),
        (AT_SECURE, secure as u64),
        (AT_HWCAP2, 0),
        (AT_MINSIGSTKSZ, 2048),
    ];
    let argv_refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let envp_refs: Vec<&[u8]> = envp.iter().map(|a| a.as_slice()).collect();
    let image = user_stack::build(&user_stack::StackArgs {
        stack_top: layout::STACK_TOP,
        argv: &argv_refs,
        envp: &envp_refs,
        execfn: path,
        random,
        platform: Some(b"x86_64"),
        auxv: &auxv,
        max_bytes: user_stack::arg_limit(layout::STACK_SIZE),
    })
    .map_err(|e| Error::new(Errno(e.errno() as u32)))?;
    vmar.write_bytes_force(image.initial_sp, &image.bytes)?;

    let mut cmdline = Vec::new();
    for a in &argv {
        cmdline.extend_from_slice(a);
        cmdline.push(0);
    }
    Ok(LoadedProgram {
        vmar,
        entry,
        sp: image.initial_sp,
        exe_path: String::from_utf8_lossy(
            &fs.canonical_path(path).unwrap_or_else(|_| path.to_vec()),
        )
        .into_owned(),
        cmdline,
        creds,
    })
}

/// The interpreter must be a position-independent, non-interpreted ELF.
fn plan_interp(data: &[u8]) -> Result<LoadPlan> {
    let p = plan(data)?;
    if p.interp.is_some() {
        return_errno_with_message!(ELIBBAD, "the interpreter has an interpreter");
    }
    Ok(p)
}
