//! A counting global allocator shared by the benches that prove zero-copy
//! claims or measure memory per connection. Include it with
//! `#[path = "util/counting.rs"] mod counting;` and install it with
//! `#[global_allocator] static GLOBAL: counting::Counting = counting::Counting;`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};

/// Forwards to the system allocator and counts.
pub struct Counting;

/// Bytes ever allocated (a `realloc` counts its growth only).
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
/// Bytes allocated and not freed yet.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Bytes ever allocated so far.
pub fn allocated() -> u64 {
    ALLOCATED.load(Ordering::Relaxed)
}

/// Bytes currently allocated.
pub fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// The bytes allocated while `f` runs, with its result.
pub fn allocated_by<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = allocated();
    let r = f();
    (allocated() - before, r)
}

// SAFETY: every call is forwarded to the system allocator with the same
// arguments; the counters have no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(
            new_size.saturating_sub(layout.size()) as u64,
            Ordering::Relaxed,
        );
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: `ptr` was allocated by `System` with this layout; the
        // caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
