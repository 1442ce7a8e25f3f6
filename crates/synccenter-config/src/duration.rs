//! Durations written as text with units: `90s`, `5m`, `6h`, `1d`, `1h30m`.
//!
//! Parsed here rather than with a crate so that the accepted syntax is exactly what `docs/configuration.md`
//! says: one or more `<integer><unit>` groups, units `s`, `m`, `h`, `d`, `w`, no spaces, no fractions.

use std::time::Duration;

/// Why a duration text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is empty.
    #[error("empty duration; write a number with a unit, such as \"90s\", \"5m\", \"6h\" or \"1d\"")]
    Empty,
    /// A number without a unit after it.
    #[error("{text:?} has a number without a unit; add one of s, m, h, d, w (such as \"{number}m\")")]
    MissingUnit {
        /// The whole text.
        text: String,
        /// The number that lacks a unit.
        number: String,
    },
    /// A unit that is not one of `s m h d w`.
    #[error("{text:?} has unknown unit {unit:?}; use ms, s, m, h, d or w (such as \"1h30m\")")]
    UnknownUnit {
        /// The whole text.
        text: String,
        /// The refused unit.
        unit: String,
    },
    /// A unit with no number before it, or another stray character.
    #[error("{text:?} is not a duration; write groups of <integer><unit>, such as \"90s\" or \"1h30m\"")]
    Malformed {
        /// The whole text.
        text: String,
    },
    /// More than a hundred years.
    #[error("{text:?} is too long; the limit is 36500d")]
    TooLong {
        /// The whole text.
        text: String,
    },
}

const MAX_SECONDS: u64 = 36_500 * 86_400;

/// Parses a duration such as `"250ms"`, `"90s"`, `"5m"`, `"6h"`, `"1d"`, `"2w"` or `"1h30m"`.
///
/// Zero (`"0s"`) is accepted here; fields that must be positive say so themselves.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(DurationError::Malformed { text: text.to_owned() });
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.len() - after.trim_start_matches(|c: char| c.is_alphabetic()).len();
        if unit_len == 0 {
            if after.is_empty() {
                return Err(DurationError::MissingUnit { text: text.to_owned(), number: number.to_owned() });
            }
            return Err(DurationError::Malformed { text: text.to_owned() });
        }
        let (unit, after) = after.split_at(unit_len);
        let scale: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            _ => return Err(DurationError::UnknownUnit { text: text.to_owned(), unit: unit.to_owned() }),
        };
        let too_long = || DurationError::TooLong { text: text.to_owned() };
        let n: u64 = number.parse().map_err(|_| too_long())?;
        total = n.checked_mul(scale).and_then(|v| total.checked_add(v)).ok_or_else(too_long)?;
        if total > MAX_SECONDS * 1_000 {
            return Err(too_long());
        }
        rest = after;
    }
    Ok(Duration::from_millis(total))
}

/// Formats a whole-second duration the way [`parse_duration`] reads it (`5400s` → `1h30m`).
pub fn format_duration(d: Duration) -> String {
    let mut s = d.as_secs();
    if s == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, scale) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= scale {
            out.push_str(&format!("{}{unit}", s / scale));
            s %= scale;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_units_and_groups() {
        let cases = [("90s", 90), ("5m", 300), ("6h", 21_600), ("1d", 86_400), ("2w", 1_209_600), ("1h30m", 5_400)];
        for (text, secs) in cases {
            assert_eq!(parse_duration(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1s500ms"), Ok(Duration::from_millis(1_500)));
    }

    #[test]
    fn refuses_malformed_text() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert!(matches!(parse_duration("10"), Err(DurationError::MissingUnit { .. })));
        assert!(matches!(parse_duration("10 m"), Err(DurationError::Malformed { .. })));
        assert!(matches!(parse_duration("10x"), Err(DurationError::UnknownUnit { .. })));
        assert!(matches!(parse_duration("1.5h"), Err(DurationError::Malformed { .. })));
        assert!(matches!(parse_duration("h"), Err(DurationError::Malformed { .. })));
        assert!(matches!(parse_duration("-5m"), Err(DurationError::Malformed { .. })));
        assert!(matches!(parse_duration("99999999999999999999s"), Err(DurationError::TooLong { .. })));
        assert!(matches!(parse_duration("36501d"), Err(DurationError::TooLong { .. })));
    }

    #[test]
    fn format_round_trips() {
        for secs in [0, 1, 59, 60, 90, 3_600, 5_400, 86_400, 90_061] {
            let d = Duration::from_secs(secs);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_duration(Duration::from_secs(5_400)), "1h30m");
    }
}
