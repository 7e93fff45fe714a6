//! The System V IPC constants and structures user space sees.
//!
//! `linux-raw-sys` has neither, so they are written out here for x86-64,
//! from Linux's `include/uapi/linux/{ipc,sem,shm,msg}.h` and the
//! `asm-generic` `ipcbuf.h`, `shmbuf.h` and `msgbuf.h` that x86-64 uses
//! (with `sembuf.h` from `arch/x86`). On x86-64 the `*ctl` calls take the
//! 64-bit layouts (`semid64_ds`, ...) whatever the command, and a command
//! with `IPC_64` (0x100) set is simply unknown.

use crate::plain_struct;
use crate::util::plain::{Field, Plain};

/// The key that always makes a new object.
pub const IPC_PRIVATE: i32 = 0;
/// `*get`: create the object if the key has none.
pub const IPC_CREAT: i32 = 0o1000;
/// `*get` with `IPC_CREAT`: fail if the key has one.
pub const IPC_EXCL: i32 = 0o2000;
/// Do not block (`semop`, `msgsnd`, `msgrcv`).
pub const IPC_NOWAIT: i32 = 0o4000;

/// `*ctl`: remove the object.
pub const IPC_RMID: i32 = 0;
/// `*ctl`: set owner and mode (and a queue's size).
pub const IPC_SET: i32 = 1;
/// `*ctl`: read the object's `*id64_ds`.
pub const IPC_STAT: i32 = 2;
/// `*ctl`: read the family's limits.
pub const IPC_INFO: i32 = 3;

/// `semop`: undo the operation when the process exits.
pub const SEM_UNDO: i16 = 0x1000;
/// `semctl` commands.
pub const GETPID: i32 = 11;
#[allow(missing_docs)]
pub const GETVAL: i32 = 12;
#[allow(missing_docs)]
pub const GETALL: i32 = 13;
#[allow(missing_docs)]
pub const GETNCNT: i32 = 14;
#[allow(missing_docs)]
pub const GETZCNT: i32 = 15;
#[allow(missing_docs)]
pub const SETVAL: i32 = 16;
#[allow(missing_docs)]
pub const SETALL: i32 = 17;
#[allow(missing_docs)]
pub const SEM_STAT: i32 = 18;
#[allow(missing_docs)]
pub const SEM_INFO: i32 = 19;
#[allow(missing_docs)]
pub const SEM_STAT_ANY: i32 = 20;
/// The largest semaphore value (`SEMVMX`); adjustments on exit are bounded
/// by it too (`SEMAEM`).
pub const SEMVMX: i32 = 32767;

/// `shmat`: attach read-only.
pub const SHM_RDONLY: i32 = 0o10000;
/// `shmat`: round the address down to `SHMLBA` (a page on x86-64).
pub const SHM_RND: i32 = 0o20000;
/// `shmat`: replace what is mapped at the address.
pub const SHM_REMAP: i32 = 0o40000;
/// `shmat`: attach executable.
pub const SHM_EXEC: i32 = 0o100000;
/// `shmget`: use huge pages (there are none to use).
pub const SHM_HUGETLB: i32 = 0o4000;
/// `shmget`: do not account the segment's memory.
pub const SHM_NORESERVE: i32 = 0o10000;
/// Mode bit: removed, destroyed at the last detach.
pub const SHM_DEST: u32 = 0o1000;
/// Mode bit: locked in memory (`SHM_LOCK`).
pub const SHM_LOCKED: u32 = 0o2000;
/// `shmctl` commands.
pub const SHM_LOCK: i32 = 11;
#[allow(missing_docs)]
pub const SHM_UNLOCK: i32 = 12;
#[allow(missing_docs)]
pub const SHM_STAT: i32 = 13;
#[allow(missing_docs)]
pub const SHM_INFO: i32 = 14;
#[allow(missing_docs)]
pub const SHM_STAT_ANY: i32 = 15;

/// `msgrcv`: truncate a message longer than the buffer.
pub const MSG_NOERROR: i32 = 0o10000;
/// `msgrcv`: the first message whose type is not `msgtyp`.
pub const MSG_EXCEPT: i32 = 0o20000;
/// `msgrcv`: copy the `msgtyp`-th message without removing it.
pub const MSG_COPY: i32 = 0o40000;
/// `msgctl` commands.
pub const MSG_STAT: i32 = 11;
#[allow(missing_docs)]
pub const MSG_INFO: i32 = 12;
#[allow(missing_docs)]
pub const MSG_STAT_ANY: i32 = 13;

/// `struct ipc64_perm`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct Ipc64Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// `__kernel_mode_t` is 32 bits on x86-64, so there is no `__pad1`.
    pub mode: u32,
    pub seq: u16,
    pub pad2: u16,
    pub unused1: u64,
    pub unused2: u64,
}

/// `struct semid64_ds`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct SemidDs {
    pub sem_perm: Ipc64Perm,
    pub sem_otime: i64,
    pub unused1: u64,
    pub sem_ctime: i64,
    pub unused2: u64,
    pub sem_nsems: u64,
    pub unused3: u64,
    pub unused4: u64,
}

/// `struct shmid64_ds`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct ShmidDs {
    pub shm_perm: Ipc64Perm,
    pub shm_segsz: u64,
    pub shm_atime: i64,
    pub shm_dtime: i64,
    pub shm_ctime: i64,
    pub shm_cpid: i32,
    pub shm_lpid: i32,
    pub shm_nattch: u64,
    pub unused4: u64,
    pub unused5: u64,
}

/// `struct msqid64_ds`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct MsqidDs {
    pub msg_perm: Ipc64Perm,
    pub msg_stime: i64,
    pub msg_rtime: i64,
    pub msg_ctime: i64,
    pub msg_cbytes: u64,
    pub msg_qnum: u64,
    pub msg_qbytes: u64,
    pub msg_lspid: i32,
    pub msg_lrpid: i32,
    pub unused4: u64,
    pub unused5: u64,
}

/// `struct seminfo` (`semctl` `IPC_INFO`, `SEM_INFO`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct SemInfo {
    pub semmap: i32,
    pub semmni: i32,
    pub semmns: i32,
    pub semmnu: i32,
    pub semmsl: i32,
    pub semopm: i32,
    pub semume: i32,
    pub semusz: i32,
    pub semvmx: i32,
    pub semaem: i32,
}

/// `struct shminfo64` (`shmctl` `IPC_INFO`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct ShmInfo64 {
    pub shmmax: u64,
    pub shmmin: u64,
    pub shmmni: u64,
    pub shmseg: u64,
    pub shmall: u64,
    pub unused1: u64,
    pub unused2: u64,
    pub unused3: u64,
    pub unused4: u64,
}

/// `struct shm_info` (`shmctl` `SHM_INFO`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct ShmUsage {
    pub used_ids: i32,
    pub shm_tot: u64,
    pub shm_rss: u64,
    pub shm_swp: u64,
    pub swap_attempts: u64,
    pub swap_successes: u64,
}

/// `struct msginfo` (`msgctl` `IPC_INFO`, `MSG_INFO`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct MsgInfo {
    pub msgpool: i32,
    pub msgmap: i32,
    pub msgmax: i32,
    pub msgmnb: i32,
    pub msgmni: i32,
    pub msgssz: i32,
    pub msgtql: i32,
    pub msgseg: u16,
}

/// `struct sembuf`: one operation of `semop`.
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct SemBuf {
    pub sem_num: u16,
    pub sem_op: i16,
    pub sem_flg: i16,
}

impl SemBuf {
    /// Its size in user memory.
    pub const SIZE: usize = 6;

    /// Decodes one from its 6 bytes.
    pub fn from_bytes(b: &[u8]) -> Self {
        Self {
            sem_num: u16::get(b),
            sem_op: i16::get(&b[2..]),
            sem_flg: i16::get(&b[4..]),
        }
    }
}

plain_struct!(Ipc64Perm {
    key,
    uid,
    gid,
    cuid,
    cgid,
    mode,
    seq,
    pad2,
    unused1,
    unused2,
});

impl Field for Ipc64Perm {
    fn put(&self, out: &mut [u8]) {
        self.write_bytes(out)
    }
    fn get(bytes: &[u8]) -> Self {
        Self::read_bytes(bytes)
    }
}

plain_struct!(SemidDs {
    sem_perm,
    sem_otime,
    unused1,
    sem_ctime,
    unused2,
    sem_nsems,
    unused3,
    unused4,
});
plain_struct!(ShmidDs {
    shm_perm,
    shm_segsz,
    shm_atime,
    shm_dtime,
    shm_ctime,
    shm_cpid,
    shm_lpid,
    shm_nattch,
    unused4,
    unused5,
});
plain_struct!(MsqidDs {
    msg_perm,
    msg_stime,
    msg_rtime,
    msg_ctime,
    msg_cbytes,
    msg_qnum,
    msg_qbytes,
    msg_lspid,
    msg_lrpid,
    unused4,
    unused5,
});
plain_struct!(SemInfo {
    semmap,
    semmni,
    semmns,
    semmnu,
    semmsl,
    semopm,
    semume,
    semusz,
    semvmx,
    semaem,
});
plain_struct!(ShmInfo64 {
    shmmax,
    shmmin,
    shmmni,
    shmseg,
    shmall,
    unused1,
    unused2,
    unused3,
    unused4,
});
plain_struct!(ShmUsage {
    used_ids,
    shm_tot,
    shm_rss,
    shm_swp,
    swap_attempts,
    swap_successes,
});
plain_struct!(MsgInfo {
    msgpool,
    msgmap,
    msgmax,
    msgmnb,
    msgmni,
    msgssz,
    msgtql,
    msgseg,
});

// The sizes Linux has on x86-64.
const _: () = assert!(size_of::<Ipc64Perm>() == 48);
const _: () = assert!(size_of::<SemidDs>() == 104);
const _: () = assert!(size_of::<ShmidDs>() == 112);
const _: () = assert!(size_of::<MsqidDs>() == 120);
const _: () = assert!(size_of::<SemInfo>() == 40);
const _: () = assert!(size_of::<ShmInfo64>() == 72);
const _: () = assert!(size_of::<ShmUsage>() == 48);
const _: () = assert!(size_of::<MsgInfo>() == 32);
