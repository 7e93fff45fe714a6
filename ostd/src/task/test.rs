//! In-kernel tests of tasks, scheduling and wait queues.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;

use super::*;
use crate::prelude::ktest;
use crate::sync::{Mutex, WaitQueue};

/// Keeps the test task, and the tasks it spawns with [`OneCpu::options`],
/// on the CPU it runs on, for tests of the order of one CPU's queue;
/// dropping it lets the test task run anywhere again.
struct OneCpu {
    mask: u64,
}

impl OneCpu {
    fn pin() -> Self {
        let cpu = crate::cpu::this_cpu_index();
        let mask = 1 << cpu;
        assert!(Task::current().set_affinity(mask));
        yield_now();
        Self { mask }
    }

    fn options(&self, entry: impl FnOnce() + Send + 'static) -> TaskOptions {
        TaskOptions::new(entry).affinity(self.mask)
    }
}

impl Drop for OneCpu {
    fn drop(&mut self) {
        Task::current().set_affinity(u64::MAX);
    }
}

#[ktest]
fn spawn_and_yield_interleave() {
    let one = OneCpu::pin();
    let log = Arc::new(crate::sync::SpinLock::new(Vec::new()));
    let done = Arc::new(AtomicUsize::new(0));
    for id in 0..3 {
        let (log, done) = (log.clone(), done.clone());
        one.options(move || {
            for step in 0..3 {
                log.lock().push((id, step));
                yield_now();
            }
            done.fetch_add(1, Ordering::SeqCst);
        })
        .spawn()
        .unwrap();
    }
    while done.load(Ordering::SeqCst) < 3 {
        yield_now();
    }
    let log = log.lock();
    assert_eq!(log.len(), 9);
    // Round robin: every task's first step comes before any second step.
    let first_second = log.iter().position(|&(_, s)| s == 1).unwrap();
    assert!(log[..first_second].len() >= 3);
}

#[ktest]
fn busy_task_is_preempted() {
    let one = OneCpu::pin();
    let stop = Arc::new(AtomicBool::new(false));
    let spun = Arc::new(AtomicBool::new(false));
    let (s, sp) = (stop.clone(), spun.clone());
    one.options(move || {
        sp.store(true, Ordering::SeqCst);
        // Never yields: only the timer can take the CPU away.
        while !s.load(Ordering::SeqCst) {
            core::hint::spin_loop();
        }
    })
    .spawn()
    .unwrap();
    yield_now();
    // We are running again although the other task never yielded.
    assert!(spun.load(Ordering::SeqCst));
    stop.store(true, Ordering::SeqCst);
}

#[ktest]
fn wait_queue_wakes_sleeper() {
    let wq = Arc::new(WaitQueue::new());
    let flag = Arc::new(AtomicBool::new(false));
    let (w, f) = (wq.clone(), flag.clone());
    TaskOptions::new(move || {
        crate::timer::spin_for(Duration::from_millis(5));
        f.store(true, Ordering::SeqCst);
        w.wake_all();
    })
    .spawn()
    .unwrap();
    wq.wait_until(|| flag.load(Ordering::SeqCst).then_some(()));
    assert!(flag.load(Ordering::SeqCst));
}

#[ktest]
fn wait_queue_timeout() {
    let wq = WaitQueue::new();
    let start = crate::timer::monotonic();
    let r: Option<()> = wq.wait_until_or_timeout(|| None, Some(Duration::from_millis(30)));
    assert!(r.is_none());
    assert!(crate::timer::monotonic() - start >= Duration::from_millis(30));
}

#[ktest]
fn mutex_excludes() {
    let m = Arc::new(Mutex::new(0u64));
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..4 {
        let (m, done) = (m.clone(), done.clone());
        TaskOptions::new(move || {
            for _ in 0..200 {
                let mut g = m.lock();
                let v = *g;
                yield_now();
                *g = v + 1;
            }
            done.fetch_add(1, Ordering::SeqCst);
        })
        .spawn()
        .unwrap();
    }
    while done.load(Ordering::SeqCst) < 4 {
        yield_now();
    }
    assert_eq!(*m.lock(), 800);
}

#[ktest]
fn exited_tasks_free_their_stacks() {
    let before = crate::mm::free_frames();
    for _ in 0..50 {
        let t = TaskOptions::new(|| {}).spawn().unwrap();
        while !t.has_exited() {
            yield_now();
        }
    }
    yield_now();
    // Up to a few ended tasks' stacks are kept for reuse.
    crate::mm::drain_stack_cache();
    assert!(crate::mm::free_frames() + 32 >= before);
}

#[ktest]
fn long_idle_sleep_does_not_nest_the_scheduler() {
    // With nothing else to run, the scheduler idles with interrupts on for
    // hundreds of ticks; each must not start another schedule() on top of
    // the idle loop (which would overflow the stack).
    let wq = WaitQueue::new();
    let r: Option<()> = wq.wait_until_or_timeout(|| None, Some(Duration::from_secs(3)));
    assert!(r.is_none());
}

#[ktest]
fn task_stacks_have_guard_pages() {
    let s = crate::mm::KernelStack::new(KERNEL_STACK_SIZE).unwrap();
    assert_eq!(s.top() - s.bottom(), KERNEL_STACK_SIZE as u64);
    // The page below the stack is not mapped in any address space.
    assert!(crate::mm::is_guard_page(s.bottom() - 8));
    crate::mm::drain_stack_cache();
    let before = crate::mm::free_frames();
    drop(s);
    crate::mm::drain_stack_cache();
    // Its pages come back, and the page table of its 2 MiB if no other
    // stack is left there.
    let freed = crate::mm::free_frames() - before;
    let pages = KERNEL_STACK_SIZE / crate::mm::PAGE_SIZE;
    assert!(freed == pages || freed == pages + 1, "{freed} frames freed");
}

#[ktest]
fn woken_while_idle_is_queued_once() {
    // A task that is woken by an interrupt while the scheduler idles on
    // its behalf, and then finds another task to run first, must not end
    // up in the run queue twice (it would run again after exiting).
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..20 {
        let d = done.clone();
        let t = TaskOptions::new(move || {
            let wq = WaitQueue::new();
            let _: Option<()> = wq.wait_until_or_timeout(|| None, Some(Duration::from_millis(15)));
            d.fetch_add(1, Ordering::SeqCst);
        })
        .spawn()
        .unwrap();
        // Also make a second runnable task appear while we wait.
        let other = TaskOptions::new(yield_now).spawn().unwrap();
        let wq = WaitQueue::new();
        let _: Option<()> = wq.wait_until_or_timeout(|| None, Some(Duration::from_millis(20)));
        while !t.has_exited() || !other.has_exited() {
            yield_now();
        }
    }
    assert_eq!(done.load(Ordering::SeqCst), 20);
}

/// Spawns `tasks` (id, policy), which log their id when they run, and
/// returns the order they ran in (the test task, a fair one, yields
/// meanwhile).
fn run_order(tasks: &[(u32, SchedPolicy)]) -> Vec<u32> {
    let one = OneCpu::pin();
    let log = Arc::new(crate::sync::SpinLock::new(Vec::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let built: Vec<_> = tasks
        .iter()
        .map(|&(id, policy)| {
            let (log, done) = (log.clone(), done.clone());
            let t = one
                .options(move || {
                    log.lock().push(id);
                    done.fetch_add(1, Ordering::SeqCst);
                })
                .build()
                .unwrap();
            t.set_sched_policy(policy, 0);
            t
        })
        .collect();
    for t in built {
        spawn_built(t);
    }
    while done.load(Ordering::SeqCst) < tasks.len() {
        yield_now();
    }
    log.lock().clone()
}

#[ktest]
fn real_time_tasks_run_first_by_priority() {
    let order = run_order(&[
        (0, SchedPolicy::Normal),
        (1, SchedPolicy::Fifo(10)),
        (2, SchedPolicy::RoundRobin(20)),
        (3, SchedPolicy::Fifo(10)),
    ]);
    assert_eq!(order, [2, 1, 3, 0]);
}

#[ktest]
fn fifo_task_keeps_the_cpu_until_it_sleeps() {
    let one = OneCpu::pin();
    let fair_ran = Arc::new(AtomicBool::new(false));
    let f = fair_ran.clone();
    let fair = one
        .options(move || f.store(true, Ordering::SeqCst))
        .spawn()
        .unwrap();
    let ran_meanwhile = Arc::new(AtomicBool::new(true));
    let r = ran_meanwhile.clone();
    let f = fair_ran.clone();
    let rt = one
        .options(move || {
            // Spins across many timer ticks: the fair task must not run.
            let before = f.load(Ordering::SeqCst);
            crate::timer::spin_for(Duration::from_millis(30));
            r.store(f.load(Ordering::SeqCst) != before, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    rt.set_sched_policy(SchedPolicy::Fifo(1), 0);
    spawn_built(rt.clone());
    while !rt.has_exited() || !fair.has_exited() {
        yield_now();
    }
    assert!(
        !ran_meanwhile.load(Ordering::SeqCst),
        "a fair task ran while a FIFO task spun"
    );
}

#[ktest]
fn tasks_run_on_every_cpu_at_once() {
    // One task pinned to each CPU; each waits until all of them are
    // running at the same time (only possible if every CPU runs one).
    let n = crate::cpu::num_cpus();
    let arrived = Arc::new(AtomicUsize::new(0));
    let a = arrived.clone();
    on_every_cpu(move |cpu| {
        assert_eq!(crate::cpu::this_cpu_index(), cpu);
        a.fetch_add(1, Ordering::SeqCst);
        let deadline = crate::timer::monotonic() + Duration::from_secs(5);
        while a.load(Ordering::SeqCst) < n && crate::timer::monotonic() < deadline {
            core::hint::spin_loop();
        }
    });
    assert_eq!(arrived.load(Ordering::SeqCst), n);
}

#[ktest]
fn affinity_moves_a_running_task() {
    let n = crate::cpu::num_cpus();
    let me = Task::current();
    for cpu in (0..n).rev() {
        assert!(me.set_affinity(1 << cpu));
        yield_now();
        assert_eq!(crate::cpu::this_cpu_index(), cpu);
    }
    assert!(!me.set_affinity(0), "an empty mask is refused");
    me.set_affinity(u64::MAX);
}

#[ktest]
fn wake_ups_across_cpus_are_not_lost() {
    // Two tasks on different CPUs (when there are two) hand a token back
    // and forth through wait queues many times.
    let n = crate::cpu::num_cpus();
    let turn = Arc::new(AtomicUsize::new(0));
    let queue = Arc::new(WaitQueue::new());
    const ROUNDS: usize = 2000;
    let spawn = |me: usize| {
        let (turn, queue) = (turn.clone(), queue.clone());
        TaskOptions::new(move || {
            for r in 0..ROUNDS {
                let mine = 2 * r + me;
                queue.wait_until(|| (turn.load(Ordering::SeqCst) == mine).then_some(()));
                turn.store(mine + 1, Ordering::SeqCst);
                queue.wake_all();
            }
        })
        .affinity(1 << (me % n))
        .spawn()
        .unwrap()
    };
    let (a, b) = (spawn(0), spawn(1));
    while !a.has_exited() || !b.has_exited() {
        yield_now();
    }
    assert_eq!(turn.load(Ordering::SeqCst), 2 * ROUNDS);
}
