//! Errors: an errno with an optional static message.

use core::fmt;

/// A Linux error number.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub u32);

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        $(
            #[allow(missing_docs)]
            pub const $name: Errno = Errno(linux_raw_sys::errno::$name);
        )*
        impl Errno {
            /// The symbolic name, e.g. `"ENOENT"`.
            pub fn name(self) -> &'static str {
                match self {
                    $( $name => stringify!($name), )*
                    _ => "E?",
                }
            }
        }
    };
}

errnos!(
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    ETXTBSY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    EDOM,
    ERANGE,
    EDEADLK,
    ENAMETOOLONG,
    ENOSYS,
    ENOTEMPTY,
    ELOOP,
    ENODATA,
    EOVERFLOW,
    EOPNOTSUPP,
    ETIMEDOUT,
    ENOTSOCK,
    ELIBBAD,
    ENOLCK,
    ENOMSG,
    EIDRM,
    EDESTADDRREQ,
    EMSGSIZE,
    EPROTOTYPE,
    ENOPROTOOPT,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
    EAFNOSUPPORT,
    EADDRINUSE,
    EADDRNOTAVAIL,
    ENETUNREACH,
    ECONNABORTED,
    ECONNRESET,
    ENOBUFS,
    EISCONN,
    ENOTCONN,
    ETOOMANYREFS,
    ECONNREFUSED,
    EHOSTUNREACH,
    EALREADY,
    EINPROGRESS,
);

/// Kernel-internal: the syscall was interrupted by a signal and is restarted
/// if the handler has `SA_RESTART` (never seen by user space otherwise).
pub const ERESTARTSYS: Errno = Errno(512);
/// Kernel-internal: interrupted before doing anything; always restarted,
/// after the handler if one runs (`fork` caught by a signal).
pub const ERESTARTNOINTR: Errno = Errno(513);
/// Kernel-internal: interrupted; restarted only if no handler runs
/// (`poll`, `nanosleep`, `sigsuspend`...).
pub const ERESTARTNOHAND: Errno = Errno(514);

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

/// A kernel error.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error {
    errno: Errno,
    msg: Option<&'static str>,
}

impl Error {
    /// An error with just an errno.
    pub const fn new(errno: Errno) -> Self {
        Self { errno, msg: None }
    }

    /// An error with a message explaining it (for logs).
    pub const fn with_message(errno: Errno, msg: &'static str) -> Self {
        Self {
            errno,
            msg: Some(msg),
        }
    }

    /// The errno.
    pub fn errno(&self) -> Errno {
        self.errno
    }

    /// The message, if any.
    pub fn message(&self) -> Option<&'static str> {
        self.msg
    }
}

impl From<Errno> for Error {
    fn from(errno: Errno) -> Self {
        Self::new(errno)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.msg {
            Some(m) => write!(f, "{:?}: {}", self.errno, m),
            None => write!(f, "{:?}", self.errno),
        }
    }
}

/// The kernel's result type.
pub type Result<T> = core::result::Result<T, Error>;

/// Returns `Err` with an errno: `return_errno!(EINVAL)`.
#[macro_export]
macro_rules! return_errno {
    ($errno:expr) => {
        return Err($crate::error::Error::new($errno))
    };
}

/// Returns `Err` with an errno and a message:
/// `return_errno_with_message!(EINVAL, "CLONE_THREAD requires CLONE_SIGHAND")`.
#[macro_export]
macro_rules! return_errno_with_message {
    ($errno:expr, $msg:expr) => {
        return Err($crate::error::Error::with_message($errno, $msg))
    };
}

impl From<ostd::mm::UserFault> for Error {
    fn from(_: ostd::mm::UserFault) -> Self {
        Error::new(EFAULT)
    }
}
