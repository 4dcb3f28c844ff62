//! [`Allocator`]: the process's allocator, mimalloc with huge blocks from
//! the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of at least this many bytes come from the system allocator.
const HUGE_BLOCK: usize = 4 << 20;

/// The process's allocator: mimalloc for ordinary blocks (see the
/// `mimalloc` note in Cargo.toml), the system allocator for blocks of
/// [`HUGE_BLOCK`] bytes or more: the texts and strings of huge values. glibc
/// maps each such block on its own, grows it in place (`mremap`) and unmaps
/// it when freed, so a huge value's buffers cost their size only while
/// they live. mimalloc keeps freed blocks mapped for reuse and grows one by
/// copying it: a 200 MB value's freed input text stayed resident and added
/// its size again to the peak of `fedikv set` (docs/layouts.md, "Memory").
pub struct Allocator;

impl Allocator {
    fn is_huge(size: usize) -> bool {
        size >= HUGE_BLOCK
    }
}

// SAFETY: every block is freed, and reallocated, by the allocator that
// allocated it: a layout's size says which, and Rust passes a block's
// allocation layout (or, after `realloc`, its new size) back to `dealloc`
// and `realloc`. Both allocators uphold `GlobalAlloc`'s contract themselves.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::is_huge(layout.size()) {
            unsafe { System.alloc(layout) }
        } else {
            unsafe { mimalloc::MiMalloc.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::is_huge(layout.size()) {
            unsafe { System.alloc_zeroed(layout) }
        } else {
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::is_huge(layout.size()) {
            unsafe { System.dealloc(ptr, layout) }
        } else {
            unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match (Self::is_huge(layout.size()), Self::is_huge(new_size)) {
            (true, true) => unsafe { System.realloc(ptr, layout, new_size) },
            (false, false) => unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) },
            // Across the threshold: a new block from the other allocator.
            _ => {
                // SAFETY: `realloc`'s caller guarantees that `new_size`,
                // rounded up to the alignment, does not overflow `isize`.
                let new_layout =
                    unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    // SAFETY: both blocks are valid for the smaller size and
                    // distinct, as `new` was just allocated.
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                new
            }
        }
    }
}
