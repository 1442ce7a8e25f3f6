//! When the daemon gives the memory it freed back to the system: once a burst of sessions has ended. glibc keeps
//! freed memory for reuse (`synccenter_platform::memory`): ten thousand sessions of ten items, ended, left the
//! daemon at seven times its idle size. Giving it back walks the allocator's arenas under their locks, so it
//! runs on a blocking thread, once per burst, and never while most of the burst is still live.

/// Sessions that must have ended since the peak before giving memory back is worth the walk.
const ENDED_BEFORE_RELEASE: usize = 1_000;

/// The highest number of live sessions seen since memory was last given back.
#[derive(Debug, Default)]
pub(crate) struct Release {
    peak: usize,
}

impl Release {
    /// Whether to give memory back now, with `live` sessions live: when at least [`ENDED_BEFORE_RELEASE`] fewer
    /// than at the peak, and at most a quarter of it, are live. The peak then starts again from `live`.
    pub(crate) fn due(&mut self, live: usize) -> bool {
        self.peak = self.peak.max(live);
        let due = self.peak - live >= ENDED_BEFORE_RELEASE && live <= self.peak / 4;
        if due {
            self.peak = live;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dues(live: &[usize]) -> Vec<bool> {
        let mut release = Release::default();
        live.iter().map(|&l| release.due(l)).collect()
    }

    #[test]
    fn memory_goes_back_once_per_burst_after_most_of_it_ended() {
        let live = [0, 10_000, 6_000, 2_600, 2_500, 2_000, 1_600, 1_400, 0];
        let want = [false, false, false, false, true, false, false, false, true];
        assert_eq!(dues(&live), want, "after 7,500 ended, then once the rest (over 1,000, and all) ended too");
        assert_eq!(dues(&[999, 0, 999, 0]), [false; 4], "a burst smaller than the threshold");
        assert_eq!(dues(&[5_000, 0, 4_000, 100]), [false, true, false, true], "a second burst after the first");
        assert_eq!(dues(&[40_000, 10_001, 10_000, 9_000]), [false, false, true, false], "a quarter of the peak");
    }
}
