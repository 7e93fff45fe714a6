//! `capget(2)`, `capset(2)` and the capability operations of `prctl(2)`
//! (`PR_CAPBSET_*`, `PR_CAP_AMBIENT`, keep-caps and the secure bits).
//! The rules themselves live in `process::capabilities`.

use linux_raw_sys::general::{
    __user_cap_data_struct as CapData, __user_cap_header_struct as CapHeader,
    _LINUX_CAPABILITY_VERSION_1, _LINUX_CAPABILITY_VERSION_2, _LINUX_CAPABILITY_VERSION_3,
};
use linux_raw_sys::prctl as pr;

use super::{SyscallContext, SyscallReturn, ret};
use crate::prelude::*;
use crate::process::capabilities::{CapSet, cap_valid, securebits};

type R = Result<SyscallReturn>;

crate::plain_struct!(CapHeader { version, pid });
crate::plain_struct!(CapData {
    effective,
    permitted,
    inheritable
});
const _: () = assert!(size_of::<CapHeader>() == 8 && size_of::<CapData>() == 12);

/// How many [`CapData`] the header's version moves (1 for the 32-bit
/// version 1, 2 for versions 2 and 3). An unknown version gets the
/// preferred one written back, then `EINVAL` (Linux's `cap_validate_magic`).
fn data_count(ctx: &SyscallContext, header: u64) -> Result<usize> {
    let version: u32 = ctx.vmar().read_val(header)?;
    match version {
        _LINUX_CAPABILITY_VERSION_1 => Ok(1),
        _LINUX_CAPABILITY_VERSION_2 | _LINUX_CAPABILITY_VERSION_3 => Ok(2),
        _ => {
            ctx.vmar().write_val(header, &_LINUX_CAPABILITY_VERSION_3)?;
            return_errno!(EINVAL)
        }
    }
}

/// `capget(header, data)`: the effective, permitted and inheritable sets
/// of the thread `header.pid` (0: the caller). A null `data` only probes
/// the version: it returns 0 even for a bad one (which is written back).
pub fn sys_capget(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (header, data) = (a[0], a[1]);
    let count = match data_count(ctx, header) {
        Err(e) if e.errno() == EINVAL && data == 0 => return ret(0),
        r => r?,
    };
    if data == 0 {
        return ret(0);
    }
    let pid: i32 = ctx.vmar().read_val(header + 4)?;
    if pid < 0 {
        return_errno!(EINVAL);
    }
    let caps = if pid == 0 || pid as u32 == ctx.thread.tid() {
        ctx.thread.credentials().caps
    } else {
        crate::process::find_thread(pid as u32)
            .ok_or(Error::new(ESRCH))?
            .credentials()
            .caps
    };
    let word = |set: CapSet, i: usize| (set.bits() >> (32 * i)) as u32;
    for i in 0..count {
        let d = CapData {
            effective: word(caps.effective, i),
            permitted: word(caps.permitted, i),
            inheritable: word(caps.inheritable, i),
        };
        ctx.vmar().write_val(data + 12 * i as u64, &d)?;
    }
    ret(0)
}

/// `capset(header, data)`: sets the caller's effective, permitted and
/// inheritable sets. Only the caller itself (pid 0 or its own thread id)
/// may be named: another gives `EPERM`.
pub fn sys_capset(ctx: &mut SyscallContext, a: [u64; 6]) -> R {
    let (header, data) = (a[0], a[1]);
    let count = data_count(ctx, header)?;
    let pid: i32 = ctx.vmar().read_val(header + 4)?;
    if pid != 0 && pid as u32 != ctx.thread.tid() {
        return_errno!(EPERM);
    }
    let (mut e, mut p, mut i) = (0u64, 0u64, 0u64);
    for n in 0..count {
        let d: CapData = ctx.vmar().read_val(data + 12 * n as u64)?;
        let shift = 32 * n;
        e |= (d.effective as u64) << shift;
        p |= (d.permitted as u64) << shift;
        i |= (d.inheritable as u64) << shift;
    }
    // Bits past the last capability are dropped (Linux's `mk_kernel_cap`).
    let set = |bits| CapSet::from_bits(bits).intersect(CapSet::FULL);
    let (e, p, i) = (set(e), set(p), set(i));
    ctx.thread.update_credentials(|c| c.caps.set(e, p, i))?;
    ret(0)
}

/// The capability options of `prctl`; `None` for any other option.
pub fn prctl(ctx: &SyscallContext, a: [u64; 6]) -> Option<R> {
    let option = u32::try_from(a[0]).ok()?;
    Some(match option {
        pr::PR_CAPBSET_READ => capbset_read(ctx, a[1]),
        pr::PR_CAPBSET_DROP => ctx
            .thread
            .update_credentials(|c| c.caps.drop_bounding(a[1]))
            .and_then(|()| ret(0)),
        pr::PR_CAP_AMBIENT => cap_ambient(ctx, a),
        pr::PR_GET_KEEPCAPS => {
            ret((ctx.thread.credentials().securebits & securebits::KEEP_CAPS != 0) as u64)
        }
        pr::PR_SET_KEEPCAPS => set_keepcaps(ctx, a[1]),
        pr::PR_GET_SECUREBITS => ret(ctx.thread.credentials().securebits),
        pr::PR_SET_SECUREBITS => set_securebits(ctx, a[1]),
        _ => return None,
    })
}

/// `PR_CAPBSET_READ`: 1 if `cap` is in the bounding set.
fn capbset_read(ctx: &SyscallContext, cap: u64) -> R {
    if !cap_valid(cap) {
        return_errno!(EINVAL);
    }
    ret(ctx.thread.credentials().caps.bounding.has(cap as u32) as u64)
}

/// `PR_CAP_AMBIENT`: `CLEAR_ALL` takes no other argument; the others take
/// a valid capability and nothing after it.
fn cap_ambient(ctx: &SyscallContext, a: [u64; 6]) -> R {
    let (op, cap) = (a[1], a[2]);
    if op == pr::PR_CAP_AMBIENT_CLEAR_ALL as u64 {
        if a[2] | a[3] | a[4] != 0 {
            return_errno!(EINVAL);
        }
        ctx.thread.update_credentials(|c| {
            c.caps.ambient = CapSet::EMPTY;
            Ok(())
        })?;
        return ret(0);
    }
    if !cap_valid(cap) || a[3] | a[4] != 0 {
        return_errno!(EINVAL);
    }
    let cap = cap as u32;
    match u32::try_from(op) {
        Ok(pr::PR_CAP_AMBIENT_IS_SET) => ret(ctx.thread.credentials().caps.ambient.has(cap) as u64),
        Ok(pr::PR_CAP_AMBIENT_RAISE) => {
            ctx.thread
                .update_credentials(|c| c.caps.raise_ambient(cap, c.securebits))?;
            ret(0)
        }
        Ok(pr::PR_CAP_AMBIENT_LOWER) => {
            ctx.thread.update_credentials(|c| {
                c.caps.ambient.lower(cap);
                Ok(())
            })?;
            ret(0)
        }
        _ => return_errno!(EINVAL),
    }
}

/// `PR_SET_KEEPCAPS`: 0 or 1 (`EINVAL` otherwise); `EPERM` when
/// `SECBIT_KEEP_CAPS_LOCKED` is set.
fn set_keepcaps(ctx: &SyscallContext, on: u64) -> R {
    if on > 1 {
        return_errno!(EINVAL);
    }
    ctx.thread.update_credentials(|c| {
        if c.securebits & securebits::KEEP_CAPS_LOCKED != 0 {
            return_errno!(EPERM);
        }
        if on == 1 {
            c.securebits |= securebits::KEEP_CAPS;
        } else {
            c.securebits &= !securebits::KEEP_CAPS;
        }
        Ok(())
    })?;
    ret(0)
}

/// `PR_SET_SECUREBITS` (Linux's `cap_task_prctl`): a locked bit may not
/// change, a lock may not be released, unknown bits are refused, and the
/// caller needs `CAP_SETPCAP`; every failure is `EPERM`.
fn set_securebits(ctx: &SyscallContext, bits: u64) -> R {
    use linux_raw_sys::general::CAP_SETPCAP;
    ctx.thread.update_credentials(|c| {
        let old = c.securebits as u64;
        let locks = old & securebits::ALL_LOCKS as u64;
        if (locks >> 1) & (old ^ bits) != 0
            || locks & !bits != 0
            || bits & !(securebits::ALL_LOCKS | securebits::ALL_BITS) as u64 != 0
            || !c.has_cap(CAP_SETPCAP)
        {
            return_errno!(EPERM);
        }
        c.securebits = bits as u32;
        Ok(())
    })?;
    ret(0)
}
