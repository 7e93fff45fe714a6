//! Socket syscalls: `socket`, `socketpair`, `bind`, `listen`, `accept4`,
//! `connect`, `send*`/`recv*` (with `msghdr` and control messages),
//! `shutdown`, `get*name`, `get`/`setsockopt`.
//!
//! These only move user structures in and out (addresses as raw bytes,
//! `SCM_RIGHTS` descriptors as open files); the sockets live in `net/`.

use alloc::sync::Arc;
use alloc::vec::Vec;

use linux_raw_sys::general as g;

use super::fs::get_file;
use super::{SyscallContext, SyscallReturn, ret};
use crate::fs::file::FileLike;
use crate::net::unix::SCM_MAX_FD;
use crate::net::{
    self, Ancillary, DataSink, DataSource, Received, SendArgs, SocketFile, UCred, msg,
};
use crate::prelude::*;
use crate::vm::Vmar;

type R = Result<SyscallReturn>;

/// `sizeof(struct sockaddr_storage)`: longer addresses are cut to this.
const SOCKADDR_MAX: usize = 128;
/// Linux's `optmem_max`: the largest control buffer a send takes.
const CONTROL_MAX: usize = 131_072;
/// `sizeof(struct cmsghdr)`.
const CMSG_HDR: usize = 16;
/// `SCM_RIGHTS`.
const SCM_RIGHTS: i32 = 1;
/// `SCM_CREDENTIALS`.
const SCM_CREDENTIALS: i32 = 2;
/// One send or receive moves at most this much (`MAX_RW_COUNT`).
const MAX_RW_COUNT: usize = 0x7fff_f000;

/// The open file at `fd` and its socket: `EBADF`, or `ENOTSOCK` for a file
/// that is not a socket.
fn socket_file(ctx: &SyscallContext, fd: u64) -> Result<Arc<dyn FileLike>> {
    let file = get_file(ctx, fd as i32)?;
    net::socket_of(&file)?;
    Ok(file)
}

/// `move_addr_to_kernel`: an address of `len` bytes (`EINVAL` if negative
/// or longer than a `sockaddr_storage`).
fn read_sockaddr(ctx: &SyscallContext, addr: u64, len: u64) -> Result<Vec<u8>> {
    let len = len as i32;
    if len < 0 || len as usize > SOCKADDR_MAX {
        return_errno!(EINVAL);
    }
    let mut buf = alloc::vec![0u8; len as usize];
    if len > 0 {
        ctx.vmar().read_bytes(addr, &mut buf)?;
    }
    Ok(buf)
}

/// `move_addr_to_user`: copies as much of `raw` as the user's length
/// allows, and stores the full length.
fn write_sockaddr(vmar: &Vmar, addr: u64, len_addr: u64, raw: &[u8]) -> Result<()> {
    let len: i32 = vmar.read_val(len_addr)?;
    if len < 0 {
        return_errno!(EINVAL);
    }
    let n = (len as usize).min(raw.len());
    if n > 0 {
        vmar.write_bytes(addr, &raw[..n])?;
    }
    vmar.write_val(len_addr, &(raw.len() as u32))?;
    Ok(())
}

/// User buffers of an I/O vector, read or written at offsets.
struct UserBuffers {
    vmar: Arc<Vmar>,
    segs: Vec<(u64, usize)>,
    total: usize,
}

impl UserBuffers {
    fn new(vmar: Arc<Vmar>, segs: Vec<(u64, usize)>) -> Self {
        let mut total = 0usize;
        let mut kept = Vec::with_capacity(segs.len());
        for (base, len) in segs {
            let len = len.min(MAX_RW_COUNT - total);
            total += len;
            kept.push((base, len));
        }
        Self {
            vmar,
            segs: kept,
            total,
        }
    }

    fn single(vmar: Arc<Vmar>, base: u64, len: usize) -> Self {
        Self::new(vmar, alloc::vec![(base, len)])
    }

    /// Calls `f(user address, range of the buffer)` for the pieces that
    /// `offset..offset + len` covers.
    fn for_pieces(
        &self,
        offset: usize,
        len: usize,
        mut f: impl FnMut(u64, core::ops::Range<usize>) -> Result<()>,
    ) -> Result<()> {
        let (mut pos, end) = (offset, offset + len);
        let mut seg_start = 0;
        for &(base, seg_len) in &self.segs {
            let seg_end = seg_start + seg_len;
            if pos < seg_end && pos < end {
                let n = (seg_end - pos).min(end - pos);
                f(
                    base + (pos - seg_start) as u64,
                    pos - offset..pos - offset + n,
                )?;
                pos += n;
            }
            seg_start = seg_end;
            if pos >= end {
                break;
            }
        }
        Ok(())
    }
}

impl DataSource for UserBuffers {
    fn len(&self) -> usize {
        self.total
    }
    fn read_at(&mut self, offset: usize, buf: &mut [u8]) -> Result<()> {
        let vmar = self.vmar.clone();
        self.for_pieces(offset, buf.len(), |addr, r| {
            vmar.read_bytes(addr, &mut buf[r])
        })
    }
}

impl DataSink for UserBuffers {
    fn len(&self) -> usize {
        self.total
    }
    fn write_at(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        let vmar = self.vmar.clone();
        self.for_pieces(offset, data.len(), |addr, r| {
            vmar.write_bytes(addr, &data[r])
        })
    }
}

pub fn sys_socket(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (ty, nonblock, cloexec) = net::split_type(a[1] as i32)?;
    let socket = net::create(a[0] as i32, ty, a[2] as i32)?;
    let file = SocketFile::new(socket, nonblock);
    ret(ctx.process.files().lock().insert(file, cloexec)?)
}

pub fn sys_socketpair(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (ty, nonblock, cloexec) = net::split_type(a[1] as i32)?;
    let (s0, s1) = net::create_pair(a[0] as i32, ty, a[2] as i32)?;
    let (f0, f1) = (SocketFile::new(s0, nonblock), SocketFile::new(s1, nonblock));
    let (fd0, fd1) = {
        let files_table = ctx.process.files();
        let mut files = files_table.lock();
        let fd0 = files.insert(f0, cloexec)?;
        match files.insert(f1, cloexec) {
            Ok(fd1) => (fd0, fd1),
            Err(e) => {
                let f = files.remove(fd0);
                drop(files);
                drop(f);
                return Err(e);
            }
        }
    };
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&fd0.to_le_bytes());
    buf[4..].copy_from_slice(&fd1.to_le_bytes());
    if let Err(e) = ctx.vmar().write_bytes(a[3], &buf) {
        let closed = {
            let files_table = ctx.process.files();
            let mut files = files_table.lock();
            (files.remove(fd0), files.remove(fd1))
        };
        drop(closed);
        return Err(e);
    }
    ret(0)
}

pub fn sys_bind(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    let addr = read_sockaddr(ctx, a[1], a[2])?;
    net::socket_of(&file)?.socket().bind(&addr)?;
    ret(0)
}

pub fn sys_listen(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    net::socket_of(&file)?.socket().listen(a[1] as i32)?;
    ret(0)
}

pub fn sys_accept(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_accept4(ctx, a[0], a[1], a[2], 0)
}

pub fn sys_accept4(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    do_accept4(ctx, a[0], a[1], a[2], a[3] as i32)
}

fn do_accept4(ctx: &mut SyscallContext, fd: u64, addr: u64, len_addr: u64, flags: i32) -> R {
    if flags & !(net::sock::NONBLOCK | net::sock::CLOEXEC) != 0 {
        return_errno!(EINVAL);
    }
    let file = socket_file(ctx, fd)?;
    let listener = net::socket_of(&file)?;
    let (new, peer) = listener.socket().accept(listener.nonblocking())?;
    let new_file = SocketFile::new(new, flags & net::sock::NONBLOCK != 0);
    if addr != 0 {
        // A bad address loses the connection, as on Linux.
        write_sockaddr(&ctx.vmar(), addr, len_addr, &peer)?;
    }
    let cloexec = flags & net::sock::CLOEXEC != 0;
    ret(ctx.process.files().lock().insert(new_file, cloexec)?)
}

pub fn sys_connect(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    let addr = read_sockaddr(ctx, a[1], a[2])?;
    let s = net::socket_of(&file)?;
    s.socket().connect(&addr, s.nonblocking())?;
    ret(0)
}

pub fn sys_shutdown(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    net::socket_of(&file)?.socket().shutdown(a[1] as i32)?;
    ret(0)
}

pub fn sys_getsockname(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    let name = net::socket_of(&file)?.socket().name();
    write_sockaddr(&ctx.vmar(), a[1], a[2], &name)?;
    ret(0)
}

pub fn sys_getpeername(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    let name = net::socket_of(&file)?.socket().peer_name()?;
    write_sockaddr(&ctx.vmar(), a[1], a[2], &name)?;
    ret(0)
}

pub fn sys_getsockopt(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    let vmar = ctx.vmar();
    let len: i32 = vmar.read_val(a[4])?;
    if len < 0 {
        return_errno!(EINVAL);
    }
    let value = net::socket_of(&file)?
        .socket()
        .get_option(a[1] as i32, a[2] as i32)?;
    let n = (len as usize).min(value.len());
    vmar.write_bytes(a[3], &value[..n])?;
    vmar.write_val(a[4], &(n as u32))?;
    ret(0)
}

pub fn sys_setsockopt(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    let len = a[4] as i32;
    if len < 0 {
        return_errno!(EINVAL);
    }
    // No option of ours is longer than this; the rest is not looked at.
    let mut value = alloc::vec![0u8; (len as usize).min(64)];
    ctx.vmar().read_bytes(a[3], &mut value)?;
    net::socket_of(&file)?
        .socket()
        .set_option(a[1] as i32, a[2] as i32, &value)?;
    ret(0)
}

pub fn sys_sendto(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    let flags = a[3] as u32;
    let addr = if a[4] != 0 {
        Some(read_sockaddr(ctx, a[4], a[5])?).filter(|v| !v.is_empty())
    } else {
        None
    };
    let mut src = UserBuffers::single(ctx.vmar(), a[1], a[2] as usize);
    let s = net::socket_of(&file)?;
    let args = SendArgs {
        addr,
        flags,
        nonblock: s.nonblocking() || flags & msg::DONTWAIT != 0,
        ancillary: Ancillary::default(),
    };
    ret(s.socket().send(&mut src, args)?)
}

pub fn sys_recvfrom(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    let flags = a[3] as u32;
    let mut dst = UserBuffers::single(ctx.vmar(), a[1], a[2] as usize);
    let s = net::socket_of(&file)?;
    let nonblock = s.nonblocking() || flags & msg::DONTWAIT != 0;
    let got = s.socket().recv(&mut dst, flags, nonblock)?;
    // Passed files have nowhere to go without a control buffer: they are
    // closed when `got` is dropped.
    if a[4] != 0 {
        write_sockaddr(&ctx.vmar(), a[4], a[5], &got.addr)?;
    }
    ret(got.len)
}

/// The fields of a `struct msghdr`.
struct MsgHdr {
    name: u64,
    namelen: usize,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: usize,
}

/// Reads a `struct msghdr` at `addr` (Linux's `copy_msghdr_from_user`).
fn read_msghdr(vmar: &Vmar, addr: u64) -> Result<MsgHdr> {
    let mut b = [0u8; 56];
    vmar.read_bytes(addr, &mut b)?;
    let u64_at = |o: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(x)
    };
    let namelen = i32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    if namelen < 0 {
        return_errno!(EINVAL);
    }
    let name = u64_at(0);
    let iovlen = u64_at(24);
    if iovlen > g::UIO_MAXIOV as u64 {
        return_errno!(EMSGSIZE);
    }
    let controllen = u64_at(40);
    Ok(MsgHdr {
        name,
        namelen: if name == 0 {
            0
        } else {
            (namelen as usize).min(SOCKADDR_MAX)
        },
        iov: u64_at(16),
        iovlen,
        control: u64_at(32),
        controllen: controllen.min(usize::MAX as u64) as usize,
    })
}

fn user_buffers(ctx: &SyscallContext, hdr: &MsgHdr) -> Result<UserBuffers> {
    let segs = super::fs::read_iovecs(ctx, hdr.iov, hdr.iovlen)?;
    Ok(UserBuffers::new(ctx.vmar(), segs))
}

/// Reads the control messages of a send (Linux's `__scm_send`).
fn read_control(ctx: &SyscallContext, hdr: &MsgHdr) -> Result<Ancillary> {
    let mut anc = Ancillary::default();
    if hdr.controllen == 0 {
        return Ok(anc);
    }
    if hdr.controllen > i32::MAX as usize || hdr.controllen > CONTROL_MAX {
        return_errno!(ENOBUFS);
    }
    let mut buf = crate::util::zeroed_buffer(hdr.controllen)?;
    ctx.vmar().read_bytes(hdr.control, &mut buf)?;
    let mut off = 0;
    while off + CMSG_HDR <= buf.len() {
        let mut l = [0u8; 8];
        l.copy_from_slice(&buf[off..off + 8]);
        let len = u64::from_le_bytes(l);
        let level = i32::from_le_bytes([buf[off + 8], buf[off + 9], buf[off + 10], buf[off + 11]]);
        let ty = i32::from_le_bytes([buf[off + 12], buf[off + 13], buf[off + 14], buf[off + 15]]);
        if len < CMSG_HDR as u64 || len > (buf.len() - off) as u64 {
            return_errno!(EINVAL);
        }
        let len = len as usize;
        let data = &buf[off + CMSG_HDR..off + len];
        if level == net::options::SOL_SOCKET {
            match ty {
                SCM_RIGHTS => {
                    let n = data.len() / 4;
                    if n > 0 {
                        if anc.files.len() + n > SCM_MAX_FD {
                            return_errno!(EINVAL);
                        }
                        let files_table = ctx.process.files();
                        let files = files_table.lock();
                        for c in data.chunks_exact(4) {
                            let fd = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                            anc.files.push(files.get(fd)?);
                        }
                    }
                }
                SCM_CREDENTIALS => {
                    if len != CMSG_HDR + 12 {
                        return_errno!(EINVAL);
                    }
                    let word = |i: usize| [data[i], data[i + 1], data[i + 2], data[i + 3]];
                    anc.creds = Some(UCred {
                        pid: i32::from_le_bytes(word(0)),
                        uid: u32::from_le_bytes(word(4)),
                        gid: u32::from_le_bytes(word(8)),
                    });
                }
                _ => return_errno!(EINVAL),
            }
        }
        off += len.next_multiple_of(8);
    }
    Ok(anc)
}

/// Writes the control messages of a receive into the user's buffer
/// (Linux's `put_cmsg` and `scm_detach_fds`): credentials, then
/// descriptors installed in the caller's table. What does not fit is
/// dropped with `MSG_CTRUNC` (files dropped are closed). Returns the bytes
/// used and the flags to add.
fn write_control(
    ctx: &SyscallContext,
    hdr: &MsgHdr,
    anc: Ancillary,
    cloexec: bool,
) -> Result<(usize, u32)> {
    let room = hdr.controllen.min(CONTROL_MAX);
    let mut out: Vec<u8> = Vec::new();
    let mut flags = 0;
    if let Some(c) = anc.creds {
        let left = room - out.len();
        if left < CMSG_HDR {
            flags |= msg::CTRUNC;
        } else {
            let full = CMSG_HDR + 12;
            let cmlen = full.min(left);
            if cmlen < full {
                flags |= msg::CTRUNC;
            }
            let mut m = cmsg_header(cmlen, SCM_CREDENTIALS);
            m.extend_from_slice(&c.to_bytes()[..cmlen - CMSG_HDR]);
            m.resize(cmlen.next_multiple_of(8).min(left), 0);
            out.extend_from_slice(&m);
        }
    }
    let files = anc.files;
    if !files.is_empty() {
        let left = room - out.len();
        let fdmax = left.saturating_sub(CMSG_HDR) / 4;
        let mut fds: Vec<i32> = Vec::new();
        let mut rest: Vec<Arc<dyn FileLike>> = Vec::new();
        {
            let table_table = ctx.process.files();
            let mut table = table_table.lock();
            for f in files {
                if fds.len() < fdmax
                    && rest.is_empty()
                    && let Ok(fd) = table.insert(f.clone(), cloexec)
                {
                    fds.push(fd);
                    continue;
                }
                rest.push(f);
            }
        }
        if !rest.is_empty() {
            flags |= msg::CTRUNC;
        }
        drop(rest);
        if !fds.is_empty() {
            let cmlen = CMSG_HDR + 4 * fds.len();
            let mut m = cmsg_header(cmlen, SCM_RIGHTS);
            for fd in &fds {
                m.extend_from_slice(&fd.to_le_bytes());
            }
            m.resize(cmlen.next_multiple_of(8).min(left), 0);
            out.extend_from_slice(&m);
        }
    }
    if !out.is_empty() {
        ctx.vmar().write_bytes(hdr.control, &out)?;
    }
    Ok((out.len(), flags))
}

fn cmsg_header(len: usize, ty: i32) -> Vec<u8> {
    let mut m = Vec::with_capacity(len.next_multiple_of(8));
    m.extend_from_slice(&(len as u64).to_le_bytes());
    m.extend_from_slice(&net::options::SOL_SOCKET.to_le_bytes());
    m.extend_from_slice(&ty.to_le_bytes());
    m
}

/// One `sendmsg` of the `msghdr` at `addr`.
fn send_one(
    ctx: &SyscallContext,
    file: &Arc<dyn FileLike>,
    addr: u64,
    flags: u32,
) -> Result<usize> {
    let vmar = ctx.vmar();
    let hdr = read_msghdr(&vmar, addr)?;
    let name = if hdr.namelen > 0 {
        let mut b = alloc::vec![0u8; hdr.namelen];
        vmar.read_bytes(hdr.name, &mut b)?;
        Some(b)
    } else {
        None
    };
    let mut src = user_buffers(ctx, &hdr)?;
    let ancillary = read_control(ctx, &hdr)?;
    let s = net::socket_of(file)?;
    let args = SendArgs {
        addr: name,
        flags,
        nonblock: s.nonblocking() || flags & msg::DONTWAIT != 0,
        ancillary,
    };
    s.socket().send(&mut src, args)
}

/// One `recvmsg` into the `msghdr` at `addr`; fills in its name length,
/// control length and flags.
fn recv_one(
    ctx: &SyscallContext,
    file: &Arc<dyn FileLike>,
    addr: u64,
    flags: u32,
) -> Result<usize> {
    let vmar = ctx.vmar();
    let hdr = read_msghdr(&vmar, addr)?;
    let mut dst = user_buffers(ctx, &hdr)?;
    let s = net::socket_of(file)?;
    let nonblock = s.nonblocking() || flags & msg::DONTWAIT != 0;
    let got: Received = s.socket().recv(&mut dst, flags, nonblock)?;
    let mut out_flags = got.flags;
    let namelen = if hdr.namelen > 0 {
        let n = got.addr.len().min(hdr.namelen);
        vmar.write_bytes(hdr.name, &got.addr[..n])?;
        got.addr.len()
    } else {
        0
    };
    let (ctl_used, ctl_flags) =
        write_control(ctx, &hdr, got.ancillary, flags & msg::CMSG_CLOEXEC != 0)?;
    out_flags |= ctl_flags;
    vmar.write_val(addr + 8, &(namelen as u32))?;
    vmar.write_val(addr + 40, &(ctl_used as u64))?;
    vmar.write_val(addr + 48, &out_flags)?;
    Ok(got.len)
}

pub fn sys_sendmsg(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    ret(send_one(ctx, &file, a[1], a[2] as u32)?)
}

pub fn sys_recvmsg(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    ret(recv_one(ctx, &file, a[1], a[2] as u32)?)
}

/// `sizeof(struct mmsghdr)`: a `msghdr` and the `msg_len` result.
const MMSGHDR: u64 = 64;

pub fn sys_sendmmsg(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    let vlen = (a[2] as u32).min(g::UIO_MAXIOV);
    let flags = a[3] as u32;
    let mut done = 0u32;
    while done < vlen {
        let at = a[1] + done as u64 * MMSGHDR;
        match send_one(ctx, &file, at, flags) {
            Ok(n) => {
                ctx.vmar().write_val(at + 56, &(n as u32))?;
                done += 1;
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        if ctx.thread.has_pending_work() {
            break;
        }
    }
    ret(done)
}

pub fn sys_recvmmsg(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let file = socket_file(ctx, a[0])?;
    let vlen = (a[2] as u32).min(g::UIO_MAXIOV);
    let mut flags = a[3] as u32;
    let deadline = if a[4] != 0 {
        let t = super::time::read_timespec(ctx, a[4])?;
        Some(ostd::timer::monotonic().saturating_add(t))
    } else {
        None
    };
    let mut done = 0u32;
    while done < vlen {
        let at = a[1] + done as u64 * MMSGHDR;
        match recv_one(ctx, &file, at, flags) {
            Ok(n) => {
                ctx.vmar().write_val(at + 56, &(n as u32))?;
                done += 1;
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
        if flags & msg::WAITFORONE != 0 {
            flags |= msg::DONTWAIT;
        }
        // As on Linux, the timeout is looked at between messages only.
        if deadline.is_some_and(|d| ostd::timer::monotonic() >= d) || ctx.thread.has_pending_work()
        {
            break;
        }
    }
    ret(done)
}
