//! The global request rate limit of the dashboard: one token bucket for the whole server, so a flood from any
//! page or process on the machine cannot keep the daemon busy answering it.

use std::time::Instant;

/// `rate` tokens per second, at most `rate` stored (one second of burst).
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate_per_second: u32) -> TokenBucket {
        let rate = f64::from(rate_per_second.max(1));
        TokenBucket { rate, tokens: rate, last: Instant::now() }
    }

    /// Takes a token if one is there.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2);
        assert!(b.take(t0));
        assert!(b.take(t0));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(600)));
    }
}
