//! Memory the allocator keeps after the program freed it, given back to the system. glibc's allocator keeps
//! what was freed in its arenas for reuse and returns pages on its own only from the top of a heap, so a daemon
//! that served ten thousand sessions stays near that peak after they all ended although it holds little.
//! `malloc_trim` returns every whole free page of every arena. The allocators of macOS, Windows and musl return
//! large free blocks by themselves and have no such call: there it does nothing.

/// Gives the allocator's free pages back to the system; whether any were given back. It walks each arena under
/// that arena's lock, so a thread allocating meanwhile waits: call it where nothing is waiting on latency (a
/// blocking thread) and after a burst has ended, not periodically under load.
pub fn release_freed_memory() -> bool {
    glibc::trim()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod glibc {
    pub(super) fn trim() -> bool {
        // SAFETY: `malloc_trim` takes no pointer and touches only the allocator's own state, which glibc locks
        // arena by arena while it runs; any thread may call it at any time.
        unsafe { libc::malloc_trim(0) == 1 }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod glibc {
    pub(super) fn trim() -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    /// This process's resident memory, in bytes.
    fn resident() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kib * 1024
    }

    #[test]
    fn freed_pages_below_a_live_allocation_go_back_to_the_system() {
        const CHUNKS: usize = 200_000;
        const CHUNK: usize = 512;
        // Small chunks come from the heap (not a mapping of their own); the one allocated last stays live
        // above them, so freeing them cannot shrink the heap from its top.
        let mut chunks: Vec<Vec<u8>> = (0..CHUNKS).map(|i| vec![(i % 251) as u8; CHUNK]).collect();
        let pinned = vec![1u8; CHUNK];
        let filled = resident();
        chunks.clear();
        chunks.shrink_to_fit();
        let freed = resident();
        let released = super::release_freed_memory();
        let trimmed = resident();
        let mb = |b: u64| b as f64 / (1 << 20) as f64;
        let held = (CHUNKS * CHUNK) as u64;
        assert!(
            freed + held / 2 > filled,
            "freeing alone already gave back most of it ({:.1} -> {:.1} MiB): the test shows nothing",
            mb(filled),
            mb(freed)
        );
        assert!(
            released && trimmed + held / 2 < freed,
            "released {released}: {:.1} MiB resident before, {:.1} MiB after ({:.1} MiB were freed)",
            mb(freed),
            mb(trimmed),
            mb(held)
        );
        assert_eq!(pinned[0], 1);
    }
}
