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

    copy_to_user(VA + 100, b"written through one mapping").unwrap();
    let mut buf = [0u8; 27];
    copy_from_user(&mut buf, VA + 0x10_0000 + 100).unwrap();
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
        copy_to_user(VA, &[1u8; 8 * 4096]).unwrap();

        space
            .protect(VA..VA + 8 * 4096, |f| f - PageFlags::WRITE)
            .unwrap();
        let err = copy_to_user(VA + 4096 + 8, b"x").unwrap_err();
        assert_eq!(err.addr, VA + 4096 + 8);
        let mut b = [0u8; 1];
        copy_from_user(&mut b, VA + 4096).unwrap();
        assert_eq!(b[0], 1);

        space
            .protect(VA..VA + 4096, |f| f | PageFlags::WRITE)
            .unwrap();
        copy_to_user(VA, b"ok").unwrap();

        space.unmap(VA + 2 * 4096..VA + 8 * 4096).unwrap();
        assert!(space.query(VA + 3 * 4096).is_none());
        let err = copy_from_user(&mut [0u8; 16], VA + 2 * 4096 - 8).unwrap_err();
        assert_eq!(
            err,
            UserFault {
                addr: VA + 2 * 4096,
                copied: 8
            }
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
    let mut b = [0u8; 8];
    let kernel = 0xffff_8000_0000_1000;
    assert!(copy_from_user(&mut b, kernel).is_err());
    assert!(copy_to_user(kernel, &b).is_err());
    assert!(copy_from_user(&mut b, USER_SPACE_END - 4).is_err());
    assert!(copy_from_user(&mut b, u64::MAX - 2).is_err());
    assert!(fill_user(kernel, 0, 8).is_err());
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
