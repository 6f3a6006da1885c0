//! Giving freed memory back to the operating system.
//!
//! When thousands of connections go idle, each frees its read and write buffers. glibc keeps
//! freed memory inside the process (holes between live allocations are not returned), so the
//! resident size would still count those buffers. `malloc_trim(0)` asks glibc to release every
//! free page it can, including the holes.
//!
//! The call is rate-limited by the caller (the event loop trims at most once a second, and only
//! after many buffers were freed).

/// Returns free heap pages to the operating system.
#[allow(unsafe_code)]
pub fn release_free_memory() {
    // SAFETY: malloc_trim takes a plain integer and only walks glibc's own allocator state under
    // glibc's locks; it frees nothing that Rust still owns and touches no Rust memory, so it
    // cannot break any invariant this program relies on.
    unsafe {
        libc::malloc_trim(0);
    }
}
