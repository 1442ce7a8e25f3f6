//! Progress as people read it, in one place so that the CLI, the desktop and the command readers say it the
//! same way (issue 20): bytes in binary units (`3.4 GiB`), files as files, a rate smoothed over a few seconds,
//! and a time left that is `unknown` while the total is still growing or the rate is not known yet, rather
//! than a made-up number. The dashboard's `assets/human.js` is its JavaScript twin.
//!
//! Pure: times come in as arguments (a [`Duration`] since any fixed start), no clock is read.

use std::time::Duration;

/// What a progress's numbers count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Plain steps (the spec's own progress has no unit).
    #[default]
    Steps,
    /// Bytes.
    Bytes,
    /// Files.
    Files,
}

impl Unit {
    /// The unit's name in `--json` output and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Steps => "steps",
            Unit::Bytes => "bytes",
            Unit::Files => "files",
        }
    }
}

/// `n` bytes with a binary prefix and one decimal: `512 B`, `1.2 KiB`, `3.4 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1023.95 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `n` of `unit` on its own: `3.4 GiB`, `1 file`, `12 files`, `7 steps`.
pub fn amount(unit: Unit, n: u64) -> String {
    match unit {
        Unit::Bytes => bytes(n),
        Unit::Files => count(n, "file"),
        Unit::Steps => count(n, "step"),
    }
}

fn count(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Done out of a total: `1.2 GiB of 3.4 GiB`, `3 of 10 files`, `3 of 10 steps`; a total of 0 (not known)
/// gives the done amount alone.
pub fn progress(unit: Unit, done: u64, total: u64) -> String {
    if total == 0 {
        return amount(unit, done);
    }
    match unit {
        Unit::Bytes => format!("{} of {}", bytes(done), bytes(total)),
        Unit::Files => format!("{done} of {}", count(total, "file")),
        Unit::Steps => format!("{done} of {}", count(total, "step")),
    }
}

/// A rate per second: `12.0 MiB/s`, `3.5 files/s`, `0.2 steps/s`.
pub fn rate(unit: Unit, per_second: f64) -> String {
    let per_second = if per_second.is_finite() { per_second.max(0.0) } else { 0.0 };
    match unit {
        Unit::Bytes => format!("{}/s", bytes(per_second.round() as u64)),
        Unit::Files => format!("{per_second:.1} files/s"),
        Unit::Steps => format!("{per_second:.1} steps/s"),
    }
}

/// A duration as `m:ss`, or `h:mm:ss` from one hour on.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// A time left: its clock, or `unknown`.
pub fn time_left(left: Option<Duration>) -> String {
    left.map_or_else(|| "unknown".to_owned(), clock)
}

/// How long the rate's memory is: a sample this old weighs `1/e` of a new one.
pub const SMOOTHING: Duration = Duration::from_secs(5);
/// How long a total must stay the same before a time left is given.
pub const SETTLE: Duration = Duration::from_secs(2);
/// The longest time left given; anything beyond is `unknown` (a rate near zero would make up a number).
pub const MAX_LEFT: Duration = Duration::from_secs(100 * 24 * 3600);

/// What a [`Meter`] makes of the samples so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Estimate {
    /// Units per second, smoothed; `None` until two samples some time apart.
    pub rate: Option<f64>,
    /// Time left; `None` (`unknown`) while the total is not known, still growing, or the rate is unknown or 0.
    pub left: Option<Duration>,
}

/// The smoothed rate and time left of one item's progress, fed its samples in time order.
#[derive(Clone, Debug, Default)]
pub struct Meter {
    last: Option<(Duration, u64, u64)>,
    rate: Option<f64>,
    total_since: Duration,
}

impl Meter {
    /// A meter without samples.
    pub fn new() -> Meter {
        Meter::default()
    }

    /// Takes the amount `done` of `total` (0: not known) seen at `at`, and says what it makes of it. A sample
    /// that goes back in time is ignored; one whose `done` went down starts the meter afresh.
    pub fn sample(&mut self, at: Duration, done: u64, total: u64) -> Estimate {
        match self.last {
            Some((t, _, _)) if at < t => {}
            Some((_, d, _)) if done < d => self.restart(at, done, total),
            Some((t, d, old_total)) => {
                let dt = (at - t).as_secs_f64();
                if dt > 0.0 {
                    let now = (done - d) as f64 / dt;
                    let weight = 1.0 - (-dt / SMOOTHING.as_secs_f64()).exp();
                    self.rate = Some(self.rate.map_or(now, |r| r + weight * (now - r)));
                    self.last = Some((at, done, total));
                } else {
                    // Same instant: the increment counts in the next interval.
                    self.last = Some((t, d, total));
                }
                if total != old_total {
                    self.total_since = at;
                }
            }
            None => self.restart(at, done, total),
        }
        self.estimate(at)
    }

    fn restart(&mut self, at: Duration, done: u64, total: u64) {
        *self = Meter { last: Some((at, done, total)), rate: None, total_since: at };
    }

    /// The estimate at `at` from the samples so far.
    pub fn estimate(&self, at: Duration) -> Estimate {
        let Some((_, done, total)) = self.last else { return Estimate::default() };
        let settled = at.saturating_sub(self.total_since) >= SETTLE;
        let left = match self.rate {
            _ if total == 0 || !settled => None,
            _ if done >= total => Some(Duration::ZERO),
            Some(r) if r > 0.0 => {
                Some((total - done) as f64 / r).filter(|s| *s <= MAX_LEFT.as_secs_f64()).map(Duration::from_secs_f64)
            }
            _ => None,
        };
        Estimate { rate: self.rate, left }
    }
}

/// One line for an item's amount: `1.2 GiB of 3.4 GiB, 12.0 MiB/s, 0:42 left` (`time left unknown` when it
/// is not known; no rate part before the rate is known).
pub fn line(unit: Unit, done: u64, total: u64, estimate: Estimate) -> String {
    let mut out = progress(unit, done, total);
    if let Some(r) = estimate.rate {
        out.push_str(&format!(", {}", rate(unit, r)));
    }
    match estimate.left {
        Some(left) if done < total => out.push_str(&format!(", {} left", clock(left))),
        Some(_) => {}
        None => out.push_str(", time left unknown"),
    }
    out
}

#[cfg(test)]
mod tests;
