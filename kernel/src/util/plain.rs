//! Converting C structs to and from bytes in safe code.
//!
//! The Linux structs come from `linux-raw-sys`. [`plain_struct!`] lists a
//! struct's fields once; the macro then writes each field at its
//! `offset_of!` position (padding stays zero, so no uninitialised bytes
//! reach user space) and reads them back. Listing a field twice or
//! forgetting one is a compile error.

/// A value that can be written to and read from little-endian bytes.
pub trait Field: Sized {
    /// Writes the value at the start of `out`.
    fn put(&self, out: &mut [u8]);
    /// Reads a value from the start of `bytes`.
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn put(&self, out: &mut [u8]) {
                out[..size_of::<$t>()].copy_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut b = [0u8; size_of::<$t>()];
                b.copy_from_slice(&bytes[..size_of::<$t>()]);
                <$t>::from_le_bytes(b)
            }
        }
    )*};
}
int_field!(u8, u16, u32, u64, i8, i16, i32, i64, usize, isize);

impl<T: Field + Copy + Default, const N: usize> Field for [T; N] {
    fn put(&self, out: &mut [u8]) {
        for (i, v) in self.iter().enumerate() {
            v.put(&mut out[i * size_of::<T>()..]);
        }
    }
    fn get(bytes: &[u8]) -> Self {
        let mut a = [T::default(); N];
        for (i, v) in a.iter_mut().enumerate() {
            *v = T::get(&bytes[i * size_of::<T>()..]);
        }
        a
    }
}

impl Field for *mut core::ffi::c_void {
    fn put(&self, out: &mut [u8]) {
        (*self as usize).put(out)
    }
    fn get(bytes: &[u8]) -> Self {
        usize::get(bytes) as *mut core::ffi::c_void
    }
}

/// A struct with a fixed byte layout.
pub trait Plain: Sized {
    /// Size in bytes.
    const SIZE: usize;
    /// Writes the struct into `out` (at least `SIZE` bytes, zeroed first).
    fn write_bytes(&self, out: &mut [u8]);
    /// Reads the struct from `bytes` (at least `SIZE` bytes).
    fn read_bytes(bytes: &[u8]) -> Self;
}

/// Implements [`Plain`] for a `repr(C)` struct by listing all its fields.
#[macro_export]
macro_rules! plain_struct {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        impl $crate::util::plain::Plain for $ty {
            const SIZE: usize = size_of::<$ty>();
            fn write_bytes(&self, out: &mut [u8]) {
                out[..Self::SIZE].fill(0);
                $( $crate::util::plain::Field::put(&self.$field, &mut out[core::mem::offset_of!($ty, $field)..]); )*
            }
            fn read_bytes(bytes: &[u8]) -> Self {
                Self {
                    $( $field: $crate::util::plain::Field::get(&bytes[core::mem::offset_of!($ty, $field)..]), )*
                }
            }
        }
    };
}

/// Plain integers are plain structs too.
macro_rules! plain_int {
    ($($t:ty),*) => {$(
        impl Plain for $t {
            const SIZE: usize = size_of::<$t>();
            fn write_bytes(&self, out: &mut [u8]) {
                self.put(out)
            }
            fn read_bytes(bytes: &[u8]) -> Self {
                <$t>::get(bytes)
            }
        }
    )*};
}
plain_int!(u8, u16, u32, u64, i32, i64, usize);

use linux_raw_sys::general as g;

plain_struct!(g::stat {
    st_dev,
    st_ino,
    st_nlink,
    st_mode,
    st_uid,
    st_gid,
    __pad0,
    st_rdev,
    st_size,
    st_blksize,
    st_blocks,
    st_atime,
    st_atime_nsec,
    st_mtime,
    st_mtime_nsec,
    st_ctime,
    st_ctime_nsec,
    __unused,
});
plain_struct!(g::__kernel_timespec { tv_sec, tv_nsec });
plain_struct!(g::futex_waitv {
    val,
    uaddr,
    flags,
    __reserved
});
plain_struct!(g::timespec { tv_sec, tv_nsec });
plain_struct!(g::timeval { tv_sec, tv_usec });
plain_struct!(g::iovec { iov_base, iov_len });
plain_struct!(g::flock {
    l_type,
    l_whence,
    l_start,
    l_len,
    l_pid,
});
plain_struct!(g::f_owner_ex { type_, pid });
plain_struct!(g::rlimit64 { rlim_cur, rlim_max });
plain_struct!(g::rlimit { rlim_cur, rlim_max });
plain_struct!(g::winsize {
    ws_row,
    ws_col,
    ws_xpixel,
    ws_ypixel
});
plain_struct!(g::termios {
    c_iflag,
    c_oflag,
    c_cflag,
    c_lflag,
    c_line,
    c_cc
});
plain_struct!(g::statx_timestamp {
    tv_sec,
    tv_nsec,
    __reserved
});

impl Field for g::statx_timestamp {
    fn put(&self, out: &mut [u8]) {
        self.write_bytes(out)
    }
    fn get(bytes: &[u8]) -> Self {
        Self::read_bytes(bytes)
    }
}

plain_struct!(g::statx {
    stx_mask,
    stx_blksize,
    stx_attributes,
    stx_nlink,
    stx_uid,
    stx_gid,
    stx_mode,
    __spare0,
    stx_ino,
    stx_size,
    stx_blocks,
    stx_attributes_mask,
    stx_atime,
    stx_btime,
    stx_ctime,
    stx_mtime,
    stx_rdev_major,
    stx_rdev_minor,
    stx_dev_major,
    stx_dev_minor,
    stx_mnt_id,
    stx_dio_mem_align,
    stx_dio_offset_align,
    stx_subvol,
    stx_atomic_write_unit_min,
    stx_atomic_write_unit_max,
    stx_atomic_write_segments_max,
    stx_dio_read_offset_align,
    stx_atomic_write_unit_max_opt,
    __spare2,
    __spare3,
});
plain_struct!(linux_raw_sys::system::new_utsname {
    sysname,
    nodename,
    release,
    version,
    machine,
    domainname,
});
