//! How the CLI says an item's progress, in every listing and in `watch`: the status, then the amount in its
//! unit (`33.2 MiB of 57.2 MiB`, `3 of 10 files`, `1 of 4 steps`), then, where a rate was measured, the
//! smoothed rate and the time left (`unknown` rather than made up), then the text. The words are
//! `synccenter-human`'s, shared with the desktop.

use synccenter_client::StatusWire;
use synccenter_client::methods::AmountInfo;
use synccenter_human::{Estimate, Unit};

/// An item's numbers: its amount when the report gave one, else the spec's steps.
pub(crate) fn numbers(steps: Option<(u32, u32)>, amount: Option<&AmountInfo>) -> Option<(Unit, u64, u64)> {
    match (amount, steps) {
        (Some(a), _) => Some((a.unit.into(), a.done, a.total)),
        (None, Some((step, max))) if max > 0 => Some((Unit::Steps, u64::from(step), u64::from(max))),
        _ => None,
    }
}

/// `updating 33.2 MiB of 57.2 MiB, 1.2 MiB/s, 0:21 left: copying`. `none` names a status not reported yet;
/// numbers are said only while the item runs; `estimate` adds the rate and time left.
pub(crate) fn describe(
    none: &str,
    status: Option<StatusWire>,
    numbers: Option<(Unit, u64, u64)>,
    estimate: Option<Estimate>,
    text: &str,
) -> String {
    let mut s = status.map_or_else(|| none.to_owned(), |s| s.name().to_owned());
    let running = matches!(status, Some(StatusWire::Updating | StatusWire::UpdatingIndeterminate));
    if let Some((unit, done, total)) = numbers.filter(|_| running) {
        s.push(' ');
        s.push_str(&match estimate {
            Some(e) => synccenter_human::line(unit, done, total, e),
            None => synccenter_human::progress(unit, done, total),
        });
    }
    if !text.is_empty() {
        s.push_str(": ");
        s.push_str(text);
    }
    s
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use synccenter_client::UnitWire;

    use super::*;

    #[test]
    fn bytes_files_and_steps_read_in_their_units() {
        let bytes = AmountInfo { unit: UnitWire::Bytes, done: 34_800_000, total: 60_000_000 };
        let n = numbers(Some((348, 600)), Some(&bytes));
        assert_eq!(describe("-", Some(StatusWire::Updating), n, None, "x"), "updating 33.2 MiB of 57.2 MiB: x");
        let e = Estimate { rate: Some(1024.0 * 1024.0), left: Some(Duration::from_secs(24)) };
        assert_eq!(
            describe("-", Some(StatusWire::Updating), n, Some(e), ""),
            "updating 33.2 MiB of 57.2 MiB, 1.0 MiB/s, 0:24 left"
        );
        let n = numbers(Some((1, 4)), None);
        assert_eq!(
            describe("-", Some(StatusWire::Updating), n, Some(Estimate::default()), "copying"),
            "updating 1 of 4 steps, time left unknown: copying"
        );
        assert_eq!(describe("waiting", None, numbers(Some((0, 0)), None), None, ""), "waiting");
        assert_eq!(
            describe("-", Some(StatusWire::Succeeded), n, None, "done"),
            "succeeded: done",
            "no numbers once final"
        );
    }
}
