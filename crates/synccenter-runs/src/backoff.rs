//! How long to wait before retrying a failed run: capped exponential backoff with jitter.
//!
//! Pure arithmetic. The caller supplies the random number (`0..1`), so tests and the daemon's
//! deterministic mode need no random source, and sleeps are the caller's business.

use std::time::Duration;

/// A retry policy is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// `attempts` is 0; at least the first run must be allowed.
    #[error("attempts must be at least 1")]
    NoAttempts,
    /// `multiplier` is below 1 or not finite.
    #[error("multiplier must be a finite number >= 1, not {0}")]
    Multiplier(f64),
    /// `jitter` is outside `0..=1`.
    #[error("jitter must be between 0 and 1, not {0}")]
    Jitter(f64),
    /// `initial` is greater than `max`.
    #[error("initial delay {initial:?} exceeds the maximum {max:?}")]
    InitialAboveMax {
        /// The initial delay.
        initial: Duration,
        /// The cap.
        max: Duration,
    },
}

/// When to retry a failed run.
///
/// `attempts` counts every run, the first included: with `attempts: 3` a run is retried at most twice.
/// The delay after failed run `n` (1-based) is `min(initial * multiplier^(n-1), max)`, then reduced by up
/// to `jitter` of itself: `base * (1 - jitter * random)`. Jitter only shortens, so the cap holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Runs allowed in total, the first included.
    pub attempts: u32,
    /// The delay after the first failure.
    pub initial: Duration,
    /// The growth factor per further failure (`>= 1`).
    pub multiplier: f64,
    /// The longest delay.
    pub max: Duration,
    /// The fraction of a delay that randomness may take off (`0..=1`).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// Three runs; 30 s then 60 s; capped at 10 min; 20 % jitter.
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            initial: Duration::from_secs(30),
            multiplier: 2.0,
            max: Duration::from_secs(600),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// A validated policy.
    pub fn new(
        attempts: u32,
        initial: Duration,
        multiplier: f64,
        max: Duration,
        jitter: f64,
    ) -> Result<RetryPolicy, PolicyError> {
        let p = RetryPolicy { attempts, initial, multiplier, max, jitter };
        p.validate()?;
        Ok(p)
    }

    /// A policy that never retries.
    pub fn never() -> RetryPolicy {
        RetryPolicy { attempts: 1, initial: Duration::ZERO, multiplier: 1.0, max: Duration::ZERO, jitter: 0.0 }
    }

    /// Checks the fields (the struct's fields are public, so a policy built by hand may be invalid).
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.attempts == 0 {
            return Err(PolicyError::NoAttempts);
        }
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return Err(PolicyError::Multiplier(self.multiplier));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(PolicyError::Jitter(self.jitter));
        }
        if self.initial > self.max {
            return Err(PolicyError::InitialAboveMax { initial: self.initial, max: self.max });
        }
        Ok(())
    }

    /// The delay after failed run `attempt` before jitter, ignoring `attempts`; attempt 0 counts as 1.
    /// Never above `max`, and non-decreasing in `attempt` for a valid policy.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1);
        let mult = if self.multiplier.is_finite() && self.multiplier >= 1.0 { self.multiplier } else { 1.0 };
        let secs = self.initial.as_secs_f64() * mult.powi(i32::try_from(exp).unwrap_or(i32::MAX));
        let max = self.max.as_secs_f64();
        if !secs.is_finite() || secs >= max {
            self.max
        } else {
            // `secs` is finite, non-negative and below `max`, so the conversion cannot fail.
            Duration::try_from_secs_f64(secs).unwrap_or(self.max).min(self.max)
        }
    }

    /// The delay after failed run `attempt` (1-based), or `None` when that was the last allowed run.
    /// `random` is a uniform number in `0..1` from the caller; values outside are clamped and NaN counts
    /// as 0.
    pub fn delay(&self, attempt: u32, random: f64) -> Option<Duration> {
        if attempt.max(1) >= self.attempts {
            return None;
        }
        let base = self.base_delay(attempt);
        let r = if random.is_nan() { 0.0 } else { random.clamp(0.0, 1.0) };
        let jitter = if self.jitter.is_nan() { 0.0 } else { self.jitter.clamp(0.0, 1.0) };
        Some(base.mul_f64(1.0 - jitter * r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(5, Duration::from_secs(1), 2.0, Duration::from_secs(5), 0.5).unwrap()
    }

    #[test]
    fn exponential_then_capped_then_exhausted() {
        let p = policy();
        let d: Vec<_> = (1..=5).map(|n| p.delay(n, 0.0)).collect();
        assert_eq!(
            d,
            [
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(4)),
                Some(Duration::from_secs(5)),
                None
            ]
        );
        assert_eq!(p.delay(2, 1.0), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(0, 0.0), Some(Duration::from_secs(1)));
        assert_eq!(RetryPolicy::never().delay(1, 0.5), None);
        assert_eq!(RetryPolicy::default().delay(1, 0.0), Some(Duration::from_secs(30)));
    }

    #[test]
    fn odd_random_values_are_tamed() {
        let p = policy();
        assert_eq!(p.delay(1, f64::NAN), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(1, -3.0), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(1, 7.0), Some(Duration::from_millis(500)));
    }

    #[test]
    fn validation() {
        let d = Duration::from_secs(1);
        assert_eq!(RetryPolicy::new(0, d, 2.0, d, 0.0), Err(PolicyError::NoAttempts));
        assert_eq!(RetryPolicy::new(1, d, 0.5, d, 0.0), Err(PolicyError::Multiplier(0.5)));
        assert!(matches!(RetryPolicy::new(1, d, f64::NAN, d, 0.0), Err(PolicyError::Multiplier(_))));
        assert_eq!(RetryPolicy::new(1, d, 1.0, d, 1.5), Err(PolicyError::Jitter(1.5)));
        assert_eq!(
            RetryPolicy::new(1, d * 2, 1.0, d, 0.0),
            Err(PolicyError::InitialAboveMax { initial: d * 2, max: d })
        );
        assert!(PolicyError::Jitter(1.5).to_string().contains("1.5"));
    }

    fn any_policy() -> impl Strategy<Value = RetryPolicy> {
        (1u32..50, 0u64..10_000_000, 1.0f64..10.0, 0u64..100_000_000, 0.0f64..=1.0).prop_map(
            |(attempts, initial_ms, multiplier, extra_ms, jitter)| RetryPolicy {
                attempts,
                initial: Duration::from_millis(initial_ms),
                multiplier,
                max: Duration::from_millis(initial_ms + extra_ms),
                jitter,
            },
        )
    }

    proptest! {
        #[test]
        fn delays_are_within_jitter_bounds_and_capped(p in any_policy(), attempt in 0u32..100, r in 0.0f64..1.0) {
            prop_assert!(p.validate().is_ok());
            let base = p.base_delay(attempt);
            prop_assert!(base <= p.max);
            match p.delay(attempt, r) {
                None => prop_assert!(attempt.max(1) >= p.attempts),
                Some(d) => {
                    prop_assert!(attempt.max(1) < p.attempts);
                    prop_assert!(d <= base);
                    // Allow a nanosecond of float rounding below the jittered floor.
                    let floor = base.mul_f64(1.0 - p.jitter);
                    prop_assert!(d + Duration::from_nanos(1) >= floor, "{d:?} < {floor:?}");
                }
            }
        }

        #[test]
        fn base_delay_is_monotone(p in any_policy(), attempt in 0u32..1000) {
            prop_assert!(p.base_delay(attempt) <= p.base_delay(attempt + 1));
        }

        #[test]
        fn huge_attempts_hit_the_cap(p in any_policy()) {
            prop_assume!(p.multiplier > 1.01 && !p.initial.is_zero());
            prop_assert_eq!(p.base_delay(u32::MAX), p.max);
        }
    }
}
