//! In-kernel tests of frames, the heap and `VmSpace`.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::*;
use crate::prelude::ktest;

#[ktest]
fn frame_alloc_free_no_leak() {
    let before = free_frames();
    for _ in 0..10_000 {
        let f = Frame::alloc().expect("out of frames");
        assert_eq!(f.ref_count(), 1);
    }
    assert_eq!(free_frames(), before);
    let many: Vec<Frame> = (0..1000).map(|_| Frame::alloc().unwrap()).collect();
    assert_eq!(free_frames(), before - 1000);
    drop(many);
    assert_eq!(free_frames(), before);
}

#[ktest]
fn frame_reference_counts() {
    let before = free_frames();
    let a = Frame::alloc_zeroed().unwrap();
    let b = a.clone();
    assert_eq!(a.ref_count(), 2);
    drop(a);
    assert_eq!(b.ref_count(), 1);
    assert_eq!(free_frames(), before - 1);
    drop(b);
    assert_eq!(free_frames(), before);
}

#[ktest]
fn frame_contents() {
    let a = Frame::alloc_zeroed().unwrap();
    let mut buf = [0xffu8; 64];
    a.read_bytes(4000, &mut buf);
    assert!(buf.iter().all(|&b| b == 0));
    a.write_bytes(10, b"framekernel");
    let b = Frame::alloc().unwrap();
    b.copy_from(&a);
    let mut out = [0u8; 11];
    b.read_bytes(10, &mut out);
    assert_eq!(&out, b"framekernel");
}

#[ktest]
fn segment_alloc_free() {
    let before = free_frames();
    let s = Segment::alloc(16).unwrap();
    assert_eq!(s.len(), 16 * PAGE_SIZE);
    assert!(s.paddr().is_multiple_of((16 * PAGE_SIZE) as u64));
    drop(s);
    assert_eq!(free_frames(), before);
}

#[ktest]
fn heap_stress_mixed_sizes() {
    let (used_before, _) = heap_stats();
    let mut boxes: Vec<Vec<u8>> = Vec::new();
    let mut seed = 12345u32;
    for i in 0..4000 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let size = match i % 4 {
            0 => (seed % 16) as usize + 1,
            1 => (seed % 512) as usize + 1,
            2 => (seed % 8192) as usize + 1,
            _ => (seed % 200_000) as usize + 1,
        };
        let v = alloc::vec![(i % 251) as u8; size];
        boxes.push(v);
        if seed.is_multiple_of(3) && !boxes.is_empty() {
            let idx = seed as usize % boxes.len();
            let v = boxes.swap_remove(idx);
            assert!(v.iter().all(|&b| b == v[0]));
        }
    }
    for v in &boxes {
        assert!(v.iter().all(|&b| b == v[0]));
    }
    drop(boxes);
    // A large allocation forces the heap to grow.
    let big = alloc::vec![7u8; 40 << 20];
    assert_eq!(big[(40 << 20) - 1], 7);
    drop(big);
    let (used_after, _) = heap_stats();
    assert!(
        used_after <= used_before + 4096,
        "heap leak: {used_before} -> {used_after}"
    );
}

const VA: Vaddr = 0x4000_0000;

#[ktest]
fn vm_space_map_read_back_through_other_mapping() {
    let space = Arc::new(VmSpace::new().unwrap());
    space.activate();
    let frame = Frame::alloc_zeroed().unwrap();
    assert!(
        space
            .map(VA, frame.clone(), PageFlags::WRITE)
            .unwrap()
            .is_none()
    );
    assert!(
        space
            .map(VA + 0x10_0000, frame.clone(), PageFlags::empty())
            .unwrap()
            .is_none()
    );
    assert_eq!(frame.ref_count(), 3);

    space
        .write_user(VA + 100, b"written through one mapping")
        .unwrap();
    let mut buf = [0u8; 27];
    space.read_user(VA + 0x10_0000 + 100, &mut buf).unwrap();
    assert_eq!(&buf, b"written through one mapping");
    frame.read_bytes(100, &mut buf);
    assert_eq!(&buf, b"written through one mapping");

    let (q, flags) = space.query(VA + 5).unwrap();
    assert_eq!(q, frame);
    assert_eq!(flags, PageFlags::WRITE);
    drop(q);
}

#[ktest]
fn vm_space_protect_and_unmap() {
    let before = free_frames();
    {
        let space = Arc::new(VmSpace::new().unwrap());
        space.activate();
        for i in 0..8 {
            let f = Frame::alloc_zeroed().unwrap();
            space.map(VA + i * 4096, f, PageFlags::WRITE).unwrap();
        }
        space.write_user(VA, &[1u8; 8 * 4096]).unwrap();

        space
            .protect(VA..VA + 8 * 4096, |f| f - PageFlags::WRITE)
            .unwrap();
        let err = space.write_user(VA + 4096 + 8, b"x").unwrap_err();
        assert!(matches!(err, UserAccessError::Fault(f) if f.addr == VA + 4096 + 8));
        let mut b = [0u8; 1];
        space.read_user(VA + 4096, &mut b).unwrap();
        assert_eq!(b[0], 1);

        space
            .protect(VA..VA + 4096, |f| f | PageFlags::WRITE)
            .unwrap();
        space.write_user(VA, b"ok").unwrap();

        space.unmap(VA + 2 * 4096..VA + 8 * 4096).unwrap();
        assert!(space.query(VA + 3 * 4096).is_none());
        let err = space
            .read_user(VA + 2 * 4096 - 8, &mut [0u8; 16])
            .unwrap_err();
        assert_eq!(
            err,
            UserAccessError::Fault(UserFault {
                addr: VA + 2 * 4096,
                copied: 8
            })
        );
        // Switch back to a fresh space so the old one can be freed.
        Arc::new(VmSpace::new().unwrap()).activate();
    }
    // All frames and page tables of the dropped space are back (the fresh
    // active space holds one root table).
    assert!(
        free_frames() + 1 >= before,
        "{} frames lost",
        before - free_frames()
    );
}

#[ktest]
fn user_copy_rejects_kernel_addresses() {
    let space = Arc::new(VmSpace::new().unwrap());
    space.activate();
    let mut b = [0u8; 8];
    let kernel = 0xffff_8000_0000_1000;
    assert!(space.read_user(kernel, &mut b).is_err());
    assert!(space.write_user(kernel, &b).is_err());
    assert!(space.read_user(USER_SPACE_END - 4, &mut b).is_err());
    assert!(space.read_user(u64::MAX - 2, &mut b).is_err());
    assert!(space.fill_user(kernel, 0, 8).is_err());
}

#[ktest]
fn user_copy_refuses_an_inactive_space() {
    let active = Arc::new(VmSpace::new().unwrap());
    active.activate();
    active
        .map(VA, Frame::alloc_zeroed().unwrap(), PageFlags::WRITE)
        .unwrap();
    let other = VmSpace::new().unwrap();
    other
        .map(VA, Frame::alloc_zeroed().unwrap(), PageFlags::WRITE)
        .unwrap();
    // The address is mapped in both, but only the active space's copy may
    // go through: the other's would reach the active space's memory.
    let mut b = [0u8; 8];
    assert_eq!(other.read_user(VA, &mut b), Err(UserAccessError::NotActive));
    assert_eq!(other.write_user(VA, &b), Err(UserAccessError::NotActive));
    assert_eq!(other.fill_user(VA, 0, 8), Err(UserAccessError::NotActive));
    assert!(active.write_user(VA, b"active!!").is_ok());
}

#[ktest]
fn share_into_refuses_an_active_child() {
    let parent = VmSpace::new().unwrap();
    parent
        .map(VA, Frame::alloc_zeroed().unwrap(), PageFlags::WRITE)
        .unwrap();
    let child = Arc::new(VmSpace::new().unwrap());
    child.activate();
    assert_eq!(
        parent.share_into(&child, VA..VA + 4096, true, PageFlags::SOFT0),
        Err(VmSpaceError::BadAddress)
    );
}

#[ktest]
fn frame_reads_and_writes_are_bounded() {
    let f = Frame::alloc_zeroed().unwrap();
    f.write_bytes(PAGE_SIZE - 3, b"end");
    let mut out = [0u8; 3];
    f.read_bytes(PAGE_SIZE - 3, &mut out);
    assert_eq!(&out, b"end");
    f.write_bytes(PAGE_SIZE, &[]);
}

#[ktest(should_panic)]
fn frame_read_past_the_page_panics() {
    let f = Frame::alloc_zeroed().unwrap();
    f.read_bytes(PAGE_SIZE - 1, &mut [0u8; 2]);
}

#[ktest(should_panic)]
fn frame_reference_count_cannot_wrap() {
    let f = Frame::alloc_zeroed().unwrap();
    frame::set_ref_count_for_test(&f, u32::MAX / 2);
    // One more reference would pass the limit: the clone must stop the
    // kernel instead of letting 2^32 forgotten clones free a live frame.
    let _g = f.clone();
}

#[ktest]
fn kernel_stack_slots_run_out_cleanly() {
    kernel_stack::drain_cache();
    let mut stacks = Vec::new();
    while let Some(s) = KernelStack::new(0) {
        stacks.push(s);
        assert!(stacks.len() <= kernel_stack::MAX_STACKS);
    }
    // Every slot is taken (some by running tasks): no stack can be made
    // (of a size the cache of ended tasks' stacks never holds: another
    // CPU may put one back meanwhile).
    assert!(KernelStack::new(PAGE_SIZE).is_none());
    let n = stacks.len();
    drop(stacks);
    kernel_stack::drain_cache();
    let again: Vec<KernelStack> = (0..n).map(|_| KernelStack::new(0).unwrap()).collect();
    assert_eq!(again.len(), n);
}

#[ktest]
fn vm_space_share_into_copy_on_write() {
    let parent = Arc::new(VmSpace::new().unwrap());
    let child = VmSpace::new().unwrap();
    let f = Frame::alloc_zeroed().unwrap();
    parent.map(VA, f.clone(), PageFlags::WRITE).unwrap();
    parent
        .share_into(&child, VA..VA + 4096, true, PageFlags::SOFT0)
        .unwrap();
    assert_eq!(f.ref_count(), 3);
    let (_, pflags) = parent.query(VA).unwrap();
    let (_, cflags) = child.query(VA).unwrap();
    assert_eq!(pflags, PageFlags::SOFT0);
    assert_eq!(cflags, PageFlags::SOFT0);
    drop(child);
    assert_eq!(f.ref_count(), 2);
}

#[ktest]
fn heap_gives_memory_back() {
    let frames_before = free_frames();
    let chunks_before = heap::chunk_count();
    // 48 MiB in small objects: the heap must grow by several chunks.
    let mut boxes: Vec<alloc::boxed::Box<[u8; 1024]>> = Vec::new();
    for i in 0..48 * 1024 {
        boxes.push(alloc::boxed::Box::new([i as u8; 1024]));
    }
    assert!(heap::chunk_count() > chunks_before + 8);
    assert!(boxes.iter().enumerate().all(|(i, b)| b[1023] == i as u8));
    drop(boxes);
    // Every chunk is given back: the heap is far from full, so it keeps
    // no spare.
    assert!(heap::chunk_count() <= chunks_before);
    assert!(free_frames() + 16 >= frames_before);
}

#[ktest]
fn heap_gives_large_chunks_back() {
    // A chunk made for one large allocation goes back when it is freed,
    // wherever the frame allocator placed it: only the boot chunks stay,
    // even if a later chunk lies below them in memory.
    let (_, total_before) = heap_stats();
    for mib in [2usize, 8, 32, 3, 17] {
        let mut v = Vec::<u8>::new();
        v.try_reserve_exact(mib << 20).unwrap();
        v.resize(mib << 20, 1);
        assert!(heap_stats().1 >= total_before + (mib << 20));
        drop(v);
        assert_eq!(heap_stats().1, total_before, "after {mib} MiB");
    }
}

#[ktest]
fn heap_serves_large_allocations() {
    let frames_before = free_frames();
    let mut big = Vec::<u8>::new();
    big.try_reserve_exact(20 << 20).unwrap();
    big.resize(20 << 20, 7);
    assert_eq!(big[(20 << 20) - 1], 7);
    drop(big);
    assert!(free_frames() + (4 << 20) / PAGE_SIZE >= frames_before);
}

#[ktest]
fn user_cmpxchg() {
    let space = Arc::new(VmSpace::new().unwrap());
    space.activate();
    let f = Frame::alloc_zeroed().unwrap();
    space.map(VA, f.clone(), PageFlags::WRITE).unwrap();
    space.write_user(VA + 8, &7u32.to_le_bytes()).unwrap();
    // Mismatch: nothing changes, the current value comes back.
    assert_eq!(space.cmpxchg_user_u32(VA + 8, 1, 2), Ok(7));
    assert_eq!(space.cmpxchg_user_u32(VA + 8, 7, 9), Ok(7));
    let mut b = [0u8; 4];
    space.read_user(VA + 8, &mut b).unwrap();
    assert_eq!(u32::from_le_bytes(b), 9);
    // Unmapped, misaligned or kernel addresses fault instead.
    assert!(matches!(
        space.cmpxchg_user_u32(VA + 0x10_0000, 0, 1),
        Err(UserAccessError::Fault(_))
    ));
    assert!(space.cmpxchg_user_u32(VA + 9, 0, 1).is_err());
    assert!(space.cmpxchg_user_u32(0xffff_8000_0000_0000, 0, 1).is_err());
    // A read-only page faults too (the kernel then resolves or refuses).
    space
        .protect(VA..VA + 4096, |fl| fl - PageFlags::WRITE)
        .unwrap();
    assert!(space.cmpxchg_user_u32(VA + 8, 9, 1).is_err());
}

/// A task on another CPU reads (or writes) a page of `space` in a loop
/// while this CPU takes the access away with `revoke`; every access that
/// starts after `revoke` returned must fault: the other CPU's TLB was
/// flushed before `revoke` returned.
fn revoked_on_other_cpu(write: bool, revoke: impl FnOnce(&VmSpace)) {
    use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let space = Arc::new(VmSpace::new().unwrap());
    let frame = Frame::alloc_zeroed().unwrap();
    space.map(VA, frame, PageFlags::WRITE).unwrap();
    // 0: accessing; 1: revoked (set after `revoke` returned).
    let phase = Arc::new(AtomicUsize::new(0));
    let before = Arc::new(AtomicUsize::new(0));
    let stale = Arc::new(AtomicUsize::new(0));
    let (s, p, b, st) = (space.clone(), phase.clone(), before.clone(), stale.clone());
    let reader = crate::task::TaskOptions::new(move || {
        s.activate();
        let mut after = 0;
        while after < 2000 {
            let revoked = p.load(SeqCst) == 1;
            let ok = if write {
                s.write_user(VA + 8, &[1]).is_ok()
            } else {
                s.read_user(VA + 8, &mut [0u8; 1]).is_ok()
            };
            if revoked {
                after += 1;
                if ok {
                    st.fetch_add(1, SeqCst);
                }
            } else if ok {
                b.fetch_add(1, SeqCst);
            }
        }
        Arc::new(VmSpace::new().unwrap()).activate();
    });
    let n = crate::cpu::num_cpus();
    let there = (crate::cpu::this_cpu_index() + 1) % n;
    let t = reader.affinity(1 << there).spawn().unwrap();
    // Let the other CPU cache the translation first.
    while before.load(SeqCst) < 1000 {
        crate::task::yield_now();
    }
    revoke(&space);
    phase.store(1, SeqCst);
    while !t.has_exited() {
        crate::task::yield_now();
    }
    assert_eq!(stale.load(SeqCst), 0, "accesses through a stale TLB entry");
}

#[ktest]
fn unmap_and_protect_are_shot_down_on_other_cpus() {
    if crate::cpu::num_cpus() < 2 {
        return;
    }
    revoked_on_other_cpu(false, |s| s.unmap(VA..VA + 4096).unwrap());
    revoked_on_other_cpu(true, |s| {
        s.protect(VA..VA + 4096, |f| f - PageFlags::WRITE).unwrap()
    });
    revoked_on_other_cpu(false, |s| {
        s.protect(VA..VA + 4096, |f| f | PageFlags::NO_ACCESS)
            .unwrap()
    });
}

#[ktest]
fn kernel_stacks_are_shot_down_before_reuse() {
    // Stacks freed beyond the cache are unmapped on every CPU before their
    // frames go back: create and free many on every CPU at once.
    crate::task::on_every_cpu(|_| {
        for _ in 0..64 {
            let stacks: Vec<_> = (0..16)
                .map(|_| super::KernelStack::new(64 * 1024).unwrap())
                .collect();
            drop(stacks);
        }
    });
}
