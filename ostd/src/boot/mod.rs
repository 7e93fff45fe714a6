//! Boot: from the PVH entry to the kernel's `main`.
//!
//! [`start`] brings the machine up in dependency order (console, boot
//! information, CPU tables, memory, interrupts, timer, scheduler) and then
//! runs the kernel's entry point as the first task. The kernel sees the boot
//! information through the safe, read-only [`boot_info`].

mod pvh;

use crate::sync::Once;

/// Kind of a physical memory region, from the firmware's memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryRegionKind {
    /// RAM the kernel may use.
    Usable,
    /// ACPI tables; reclaimable once parsed (the kernel does not reclaim it).
    AcpiReclaimable,
    /// Anything else.
    Reserved,
}

/// A physical memory region.
#[derive(Clone, Copy, Debug)]
pub struct MemoryRegion {
    /// First physical address.
    pub base: u64,
    /// Length in bytes.
    pub len: u64,
    /// What it is.
    pub kind: MemoryRegionKind,
}

const MAX_REGIONS: usize = 128;
const MAX_CMDLINE: usize = 4096;

/// What the boot loader told us, copied out of the loader's memory.
pub struct BootInfo {
    regions: [MemoryRegion; MAX_REGIONS],
    nr_regions: usize,
    cmdline_buf: [u8; MAX_CMDLINE],
    cmdline_len: usize,
    initrd: Option<(u64, u64)>,
    rsdp: Option<u64>,
    problem: Option<&'static str>,
}

impl BootInfo {
    const fn empty() -> Self {
        Self {
            regions: [MemoryRegion {
                base: 0,
                len: 0,
                kind: MemoryRegionKind::Reserved,
            }; MAX_REGIONS],
            nr_regions: 0,
            cmdline_buf: [0; MAX_CMDLINE],
            cmdline_len: 0,
            initrd: None,
            rsdp: None,
            problem: None,
        }
    }

    fn push_region(&mut self, r: MemoryRegion) {
        if self.nr_regions < MAX_REGIONS {
            self.regions[self.nr_regions] = r;
            self.nr_regions += 1;
        }
    }

    /// The physical memory map.
    pub fn memory_regions(&self) -> &[MemoryRegion] {
        &self.regions[..self.nr_regions]
    }

    /// The kernel command line (empty if absent or not UTF-8).
    pub fn cmdline(&self) -> &str {
        core::str::from_utf8(&self.cmdline_buf[..self.cmdline_len]).unwrap_or("")
    }

    /// Physical range `(base, len)` of the initrd, if the loader passed one.
    pub fn initrd_range(&self) -> Option<(u64, u64)> {
        self.initrd
    }

    /// The initramfs image, if the loader passed one and it lies in RAM.
    pub fn initramfs(&self) -> Option<&'static [u8]> {
        let (base, len) = self.initrd?;
        crate::mm::phys_slice(base, len)
    }

    /// Physical address of the ACPI RSDP, if the loader gave it.
    pub(crate) fn rsdp(&self) -> Option<u64> {
        self.rsdp
    }

    /// A problem found while parsing the boot information, if any.
    pub fn problem(&self) -> Option<&'static str> {
        self.problem
    }

    /// Total usable RAM in bytes.
    pub fn total_usable(&self) -> u64 {
        self.memory_regions()
            .iter()
            .filter(|r| r.kind == MemoryRegionKind::Usable)
            .map(|r| r.len)
            .sum()
    }
}

static BOOT_INFO: Once<BootInfo> = Once::new();

/// The boot information. Available from the kernel's entry point on.
pub fn boot_info() -> &'static BootInfo {
    BOOT_INFO.expect_init()
}

/// Value of `key=value` on the kernel command line, if present.
pub fn cmdline_value(key: &str) -> Option<&'static str> {
    boot_info().cmdline().split_whitespace().find_map(|w| {
        let (k, v) = w.split_once('=')?;
        (k == key).then_some(v)
    })
}

/// The words of the command line meant for the kernel: those before a
/// lone `--` (the rest are arguments for init).
pub(crate) fn kernel_options() -> impl Iterator<Item = &'static str> {
    boot_info()
        .cmdline()
        .split_whitespace()
        .take_while(|&w| w != "--")
}

unsafe extern "Rust" {
    /// Defined by the kernel through [`crate::entry_point!`].
    safe fn __ostd_kernel_main();
}

pub(crate) fn start(start_info: u64) -> ! {
    // SAFETY: the first thing the bootstrap processor does, with interrupts
    // off; it is CPU 0. (Its APIC id is set when the APIC is found.)
    unsafe { crate::cpu::init_this_cpu(0, 0) };
    crate::arch::x86::serial::init();
    // Calibrate first so that every log line has a true timestamp.
    crate::arch::x86::tsc::calibrate();

    let mut info = BootInfo::empty();
    if let Err(e) = pvh::parse(start_info, &mut info) {
        info.problem = Some(e);
    }
    BOOT_INFO.set(info);
    crate::logger::init(boot_info().cmdline());
    log::info!("ostd: framekernel booting");
    if let Some(p) = boot_info().problem() {
        log::error!("ostd: boot information: {p}");
    }

    crate::arch::x86::init_cpu();
    crate::mm::init();
    crate::arch::x86::init_interrupts(boot_info().rsdp());
    crate::timer::init();
    crate::user::init();
    crate::task::init_boot_task();
    crate::cpu::set_online();
    // The other CPUs come up last, when everything they share is set up;
    // they only wait for IPIs so far.
    crate::arch::x86::ap_boot::start_aps();
    crate::arch::x86::enable_interrupts();
    log::debug!(
        "ostd: TSC at {} MHz; up after {:?}",
        crate::arch::x86::tsc::mhz(),
        crate::timer::monotonic()
    );

    #[cfg(feature = "ktest")]
    crate::ktest::run_all_and_exit();

    #[cfg(not(feature = "ktest"))]
    {
        __ostd_kernel_main();
        crate::power::exit_qemu(crate::power::ExitStatus::Code(0));
    }
}
