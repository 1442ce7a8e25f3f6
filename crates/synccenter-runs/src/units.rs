//! Small text helpers shared by the readers: bounded strings, counts, numbers; human byte counts and durations
//! are `synccenter-human`'s, as every surface spells them.
//!
//! Kept private: the public surface is the observations, not how their text is spelled.

/// The longest text a reader copies from a tool's output into one observation field, in bytes.
pub(crate) const MAX_TEXT_BYTES: usize = 4096;

pub(crate) use synccenter_human::{bytes, clock};

/// `text` cut to at most [`MAX_TEXT_BYTES`] on a character boundary, so one wild line cannot grow an
/// observation without bound.
pub(crate) fn clip(text: &str) -> String {
    clip_to(text, MAX_TEXT_BYTES).to_owned()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub(crate) fn clip_to(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `n` and a noun, plural unless `n` is 1: `1 file`, `3 files`, `0 errors`. English plurals in `s` only.
pub(crate) fn count(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// A decimal integer that may contain thousands separators (`1,238,099`).
pub(crate) fn integer_with_commas(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return None;
    }
    let digits: String = s.chars().filter(|c| *c != ',').collect();
    digits.parse().ok()
}

/// A non-negative, finite JSON-ish float as `u64`, saturating; `None` for negatives and NaN.
pub(crate) fn float_to_u64(f: f64) -> Option<u64> {
    if f.is_finite() && f >= 0.0 {
        // `as` saturates at u64::MAX for large finite values.
        Some(f as u64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_respects_char_boundaries() {
        let s = "é".repeat(MAX_TEXT_BYTES);
        let c = clip(&s);
        assert!(c.len() <= MAX_TEXT_BYTES);
        assert!(c.chars().all(|ch| ch == 'é'));
        assert_eq!(clip_to("aé", 2), "a");
    }

    #[test]
    fn counts_agree_in_number() {
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(count(300, "error"), "300 errors");
    }

    #[test]
    fn integers_with_commas() {
        assert_eq!(integer_with_commas("1,238,099"), Some(1_238_099));
        assert_eq!(integer_with_commas("12"), Some(12));
        assert_eq!(integer_with_commas(""), None);
        assert_eq!(integer_with_commas("1.5"), None);
        assert_eq!(integer_with_commas("99999999999999999999999"), None);
    }
}
