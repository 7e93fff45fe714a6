//! In-kernel unit tests.
//!
//! `#[ktest]` places a [`KtestItem`] in the `.ktest_array` link section.
//! A test kernel (feature `ktest`) runs each test in its own task: a test
//! passes if it returns and fails if it panics; the panic handler reports the
//! failure and ends that task, and the runner continues. The last line is
//! `N passed, M failed`, and QEMU exits with status 0 only if all passed.
//! A `#[ktest(should_panic)]` test passes only if it panics.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A registered test.
pub struct KtestItem {
    /// Full path of the test function.
    pub name: &'static str,
    /// The test.
    pub func: fn(),
    /// The test passes only if it panics (`#[ktest(should_panic)]`).
    pub should_panic: bool,
}

unsafe extern "C" {
    static __ktest_array_start: u8;
    static __ktest_array_end: u8;
}

/// All registered tests.
pub fn all_tests() -> &'static [KtestItem] {
    let start = (&raw const __ktest_array_start).cast::<KtestItem>();
    let end = (&raw const __ktest_array_end).cast::<KtestItem>();
    let n = (end as usize - start as usize) / size_of::<KtestItem>();
    // SAFETY: the linker script places every `.ktest_array` input section,
    // each holding exactly one `KtestItem` static emitted by `#[ktest]`,
    // contiguously between the two symbols; items are immutable statics.
    unsafe { core::slice::from_raw_parts(start, n) }
}

static CURRENT_FAILED: AtomicBool = AtomicBool::new(false);
static RUNNING_TASK: AtomicUsize = AtomicUsize::new(0);

/// Runs every test, prints the summary and exits QEMU.
pub fn run_all_and_exit() -> ! {
    let filter = crate::boot::cmdline_value("ktest.filter");
    let tests = all_tests();
    crate::println!("running {} ktests", tests.len());
    let (mut passed, mut failed) = (0, 0);
    for t in tests {
        if filter.is_some_and(|f| !t.name.contains(f)) {
            continue;
        }
        CURRENT_FAILED.store(false, Ordering::SeqCst);
        let done = alloc::sync::Arc::new(crate::sync::WaitQueue::new());
        let finished = alloc::sync::Arc::new(AtomicBool::new(false));
        let (d, f) = (done.clone(), finished.clone());
        let func = t.func;
        let task = crate::task::TaskOptions::new(move || {
            func();
            f.store(true, Ordering::SeqCst);
            d.wake_all();
        })
        .build()
        .expect("ktest: cannot create a task");
        RUNNING_TASK.store(task.id() as usize, Ordering::SeqCst);
        let waker_done = done.clone();
        let waker_finished = finished.clone();
        *FAILURE_HOOK.lock() = Some(alloc::boxed::Box::new(move || {
            waker_finished.store(true, Ordering::SeqCst);
            waker_done.wake_all();
        }));
        crate::task::spawn_built(task);
        done.wait_until(|| finished.load(Ordering::SeqCst).then_some(()));
        if CURRENT_FAILED.load(Ordering::SeqCst) != t.should_panic {
            crate::println!("test {} ... FAILED", t.name);
            failed += 1;
        } else {
            crate::println!("test {} ... ok", t.name);
            passed += 1;
        }
    }
    crate::println!("{passed} passed, {failed} failed");
    let code = if failed == 0 { 0 } else { 1 };
    crate::power::exit_qemu(crate::power::ExitStatus::Code(code));
}

type Hook = alloc::boxed::Box<dyn Fn() + Send>;
static FAILURE_HOOK: crate::sync::SpinLock<Option<Hook>> = crate::sync::SpinLock::new(None);

/// Called by the panic handler: if a test task panicked, record the failure
/// and end that task; otherwise return and let the panic proceed.
#[cfg(feature = "ktest")]
pub(crate) fn on_panic(info: &core::panic::PanicInfo) {
    let Some(cur) = crate::task::try_current() else {
        return;
    };
    if cur.id() as usize != RUNNING_TASK.load(Ordering::SeqCst) {
        return;
    }
    crate::console::emergency_print(format_args!("  panicked: {info}\n"));
    CURRENT_FAILED.store(true, Ordering::SeqCst);
    if let Some(hook) = FAILURE_HOOK.try_lock().and_then(|mut h| h.take()) {
        hook();
    }
    crate::task::exit_current();
}
