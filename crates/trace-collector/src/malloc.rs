//! Handing freed memory back to the system, where the allocator keeps it.
//!
//! glibc's malloc keeps freed memory in per-thread arenas and returns little
//! of it on its own, so after decoding a large batch (on whichever blocking
//! thread ran it) the process would stay as big as its peak. The collector
//! limits the arenas at start and trims after large batches; on other
//! platforms both are no-ops. The only `unsafe` in the crate: two calls
//! into glibc with no pointers or memory of ours involved.
#![allow(unsafe_code)]

/// Batches whose body was at least this large are followed by a trim.
pub const TRIM_AFTER_BYTES: usize = 1024 * 1024;

/// Caps glibc's malloc arenas at two (call before starting threads).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns free memory at the top of every arena to the system.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}
