//! Seeded randomness for the tests that pick moments at random: the seed is printed, and an environment
//! variable replays a run.

/// SplitMix64: small, seedable, good enough to pick moments.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The seed in `var`, or one from the clock; printed either way so that a failure can be replayed.
#[allow(clippy::print_stderr, reason = "the seed must be visible to replay a failure")]
pub(crate) fn seed(var: &str, what: &str) -> u64 {
    let seed = match std::env::var(var) {
        Ok(s) => s.parse().unwrap_or_else(|_| panic!("{var} is a number")),
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64),
    };
    eprintln!("{what} seed {seed} ({var}={seed} replays it)");
    seed
}
