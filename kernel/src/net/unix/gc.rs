//! Collecting sockets that only queues hold.
//!
//! A socket sent over itself (or a ring of sockets, each in flight in the
//! next one's queue) is referenced by queues only, and no descriptor can
//! ever read it again: without help it would never be released. As
//! Linux's `unix_gc`, the collector looks at the sockets in flight; those
//! referenced only by messages ("candidates") that no live socket's
//! queue holds, directly or through other candidates, are garbage: their
//! queues are dropped, which breaks the cycles.
//!
//! It runs from the send path (never from a release, which must not
//! allocate), every so many sockets sent and when too many descriptors
//! are in flight, with the registry lock held throughout: on this
//! one-CPU kernel a spin lock keeps every other task out, so no
//! reference moves while it counts.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use ostd::sync::SpinLock;

use super::UnixSocket;
use super::message::Message;
use crate::fs::file::FileLike;
use crate::net::SocketFile;

/// Open files of Unix sockets that have been in flight.
static REGISTRY: SpinLock<Vec<Weak<dyn FileLike>>> = SpinLock::new(Vec::new());
/// Sockets sent since the last collection.
static SENT_SINCE_GC: AtomicUsize = AtomicUsize::new(0);
/// A collection runs after this many sockets were sent.
const GC_EVERY: usize = 256;

/// The Unix socket of an open file, if it is one.
pub fn unix_socket(file: &Arc<dyn FileLike>) -> Option<&UnixSocket> {
    file.as_any()
        .downcast_ref::<SocketFile>()
        .and_then(|sf| sf.socket().as_any().downcast_ref::<UnixSocket>())
}

/// Counts `file` as held by one more message (if it is a Unix socket).
pub fn hold(file: &Arc<dyn FileLike>) {
    let Some(s) = unix_socket(file) else {
        return;
    };
    s.inflight.fetch_add(1, Ordering::AcqRel);
    SENT_SINCE_GC.fetch_add(1, Ordering::Relaxed);
    if !s.registered.swap(true, Ordering::AcqRel) {
        let mut reg = REGISTRY.lock();
        if reg.try_reserve(1).is_ok() {
            reg.push(Arc::downgrade(file));
        } else {
            // Not collectable then; no harm beyond that.
            s.registered.store(false, Ordering::Release);
        }
    }
}

/// Counts `file` as held by one message less.
pub fn unhold(file: &Arc<dyn FileLike>) {
    if let Some(s) = unix_socket(file) {
        s.inflight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Collects if enough sockets were sent since the last time, or if
/// `force`.
pub fn maybe_collect(force: bool) {
    if force || SENT_SINCE_GC.load(Ordering::Relaxed) >= GC_EVERY {
        SENT_SINCE_GC.store(0, Ordering::Relaxed);
        collect();
    }
}

/// One collection.
fn collect() {
    let mut garbage: Vec<VecDeque<Message>> = Vec::new();
    let files: Vec<Arc<dyn FileLike>>;
    {
        let mut reg = REGISTRY.lock();
        reg.retain(|w| {
            w.upgrade().is_some_and(|f| {
                unix_socket(&f).is_some_and(|s| {
                    let held = s.inflight.load(Ordering::Acquire) > 0;
                    if !held {
                        s.registered.store(false, Ordering::Release);
                    }
                    held
                })
            })
        });
        files = reg.iter().filter_map(|w| w.upgrade()).collect();
        let socks: Vec<&UnixSocket> = files.iter().filter_map(unix_socket).collect();
        if socks.len() != files.len() {
            return;
        }
        let index: BTreeMap<usize, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (Arc::as_ptr(f) as *const () as usize, i))
            .collect();
        let find =
            |f: &Arc<dyn FileLike>| index.get(&(Arc::as_ptr(f) as *const () as usize)).copied();
        let n = files.len();
        // Candidates: every reference is a message's (our `files` adds one).
        let candidate: Vec<bool> = (0..n)
            .map(|i| {
                let inflight = socks[i].inflight.load(Ordering::Acquire);
                inflight > 0 && Arc::strong_count(&files[i]) - 1 == inflight
            })
            .collect();
        // References to each candidate from candidates' queues.
        let mut internal = alloc::vec![0usize; n];
        for j in (0..n).filter(|&j| candidate[j]) {
            socks[j].for_each_queued_file(|f| {
                if let Some(i) = find(f)
                    && candidate[i]
                {
                    internal[i] += 1;
                }
            });
        }
        // Live: not a candidate, or held by some queue outside the
        // candidates; and whatever a live candidate's queue holds.
        let mut live: Vec<bool> = (0..n)
            .map(|i| !candidate[i] || socks[i].inflight.load(Ordering::Acquire) > internal[i])
            .collect();
        let mut work: Vec<usize> = (0..n).filter(|&i| candidate[i] && live[i]).collect();
        while let Some(j) = work.pop() {
            socks[j].for_each_queued_file(|f| {
                if let Some(i) = find(f)
                    && candidate[i]
                    && !live[i]
                {
                    live[i] = true;
                    work.push(i);
                }
            });
        }
        for i in (0..n).filter(|&i| candidate[i] && !live[i]) {
            garbage.push(socks[i].take_queue());
        }
    }
    // Outside the lock: dropping the queues drops the last references.
    drop(garbage);
    drop(files);
}
