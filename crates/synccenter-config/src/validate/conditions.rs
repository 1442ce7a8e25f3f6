//! Run conditions' keys, the same in `[[handler]]` and `[[handler.item]]`: each key an item sets replaces its
//! handler's, and every value is checked here with the rest of the file.

use std::path::Path;

use toml::Spanned;

use super::Cx;
use crate::model::{QuietHours, RunConditions, Target};
use crate::raw::RawConditions;

impl Cx<'_> {
    /// The conditions of one table: its own keys over `inherited` (the handler's, or none for a handler).
    pub(super) fn conditions(
        &mut self,
        raw: RawConditions<'_>,
        inherited: &RunConditions,
        prefix: &str,
    ) -> RunConditions {
        let f = |name: &str| format!("{prefix}.{name}");
        let mut targets = Vec::new();
        let lists = [raw.requires, raw.requires_mount, raw.requires_uuid];
        if lists.iter().all(Option::is_none) {
            targets.clone_from(&inherited.targets);
        } else {
            // Any of the three keys replaces the handler's targets as a whole.
            for (i, r) in raw.requires.unwrap_or_default().iter().enumerate() {
                targets.extend(self.path(r, &format!("{}[{i}]", f("requires"))).map(Target::Path));
            }
            for (i, r) in raw.requires_mount.unwrap_or_default().iter().enumerate() {
                targets.extend(self.mount_point(r, &format!("{}[{i}]", f("requires_mount"))).map(Target::Mount));
            }
            for (i, r) in raw.requires_uuid.unwrap_or_default().iter().enumerate() {
                targets.extend(self.uuid(r, &format!("{}[{i}]", f("requires_uuid"))).map(Target::Uuid));
            }
        }
        let quiet_hours = match raw.quiet_hours {
            Some(q) => self.quiet_hours(q, &f("quiet_hours")),
            None => inherited.quiet_hours,
        };
        let max_age = match raw.max_age {
            Some(a) => self.duration(a, &f("max_age"), true),
            None => inherited.max_age,
        };
        RunConditions {
            on_ac_power: raw.on_ac_power.unwrap_or(inherited.on_ac_power),
            unmetered_network: raw.unmetered_network.unwrap_or(inherited.unmetered_network),
            targets,
            quiet_hours,
            max_age,
            stop_when_unmet: raw.stop_when_unmet.unwrap_or(inherited.stop_when_unmet),
        }
    }

    /// An item's (starting at byte `start`) effective `max_age` and `stop_when_unmet` qualify its other conditions: without one they
    /// would silently do nothing.
    pub(super) fn check_qualifiers(&mut self, raw: RawConditions<'_>, effective: &RunConditions, item: (&str, usize)) {
        let (prefix, start) = item;
        // A condition key the item sets but got wrong has its own error; this one would only pile onto it.
        let set = raw.on_ac_power == Some(true)
            || raw.unmetered_network == Some(true)
            || [raw.requires, raw.requires_mount, raw.requires_uuid].iter().any(|l| l.is_some_and(|l| !l.is_empty()))
            || raw.quiet_hours.is_some();
        if effective.any() || set {
            return;
        }
        let why = "qualifies the other run conditions, but this item has none (set on_ac_power, \
                   unmetered_network, requires, requires_mount, requires_uuid or quiet_hours)";
        if let Some(a) = raw.max_age {
            self.at(a, &format!("{prefix}.max_age"), format!("max_age {why}"));
        } else if effective.max_age.is_some() {
            self.push(
                Some(start..start),
                format!("{prefix}.max_age"),
                format!("the max_age it inherits from its handler {why}"),
            );
        }
        if effective.stop_when_unmet {
            let inherited = if raw.stop_when_unmet.is_some() { "" } else { " (inherited from its handler)" };
            self.push(
                Some(start..start),
                format!("{prefix}.stop_when_unmet"),
                format!("stop_when_unmet{inherited} {why}"),
            );
        }
    }

    fn mount_point(&mut self, raw: &Spanned<String>, field: &str) -> Option<std::path::PathBuf> {
        if !Path::new(raw.get_ref()).is_absolute() {
            let reason =
                format!("{:?} is not an absolute path; write the mount point, such as \"/media/usb\"", raw.get_ref());
            self.at(raw, field, reason);
            return None;
        }
        self.path(raw, field)
    }

    fn uuid(&mut self, raw: &Spanned<String>, field: &str) -> Option<String> {
        let s = raw.get_ref();
        let valid = (1..=64).contains(&s.len())
            && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            && s.chars().any(|c| c.is_ascii_hexdigit());
        if !valid {
            let reason = format!(
                "{s:?} is not a file system UUID; write it as blkid or /dev/disk/by-uuid shows it, such as \
                 \"1234-ABCD\" or \"3f1c2a9e-5b7d-4e61-9c0a-8d2f4b6e1a37\""
            );
            self.at(raw, field, reason);
            return None;
        }
        Some(s.clone())
    }

    fn quiet_hours(&mut self, raw: &Spanned<String>, field: &str) -> Option<QuietHours> {
        match parse_quiet_hours(raw.get_ref()) {
            Ok(q) => Some(q),
            Err(why) => {
                self.at(raw, field, why);
                None
            }
        }
    }
}

/// `"22:00-07:00"`: two local times `H:MM` or `HH:MM` (`24:00` as an end); the end is excluded.
fn parse_quiet_hours(s: &str) -> Result<QuietHours, String> {
    let hint = "write a span of local time such as \"22:00-07:00\"";
    let (start, end) = s.split_once('-').ok_or_else(|| format!("{s:?} is not a span of time; {hint}"))?;
    let minute = |t: &str, end: bool| -> Result<u16, String> {
        let t = t.trim();
        let bad = || format!("{t:?} in {s:?} is not a time of day (00:00 to 23:59); {hint}");
        let (h, m) = t.split_once(':').ok_or_else(bad)?;
        let digits =
            |x: &str, n: std::ops::RangeInclusive<usize>| n.contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit());
        if !digits(h, 1..=2) || !digits(m, 2..=2) {
            return Err(bad());
        }
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        match (h, m) {
            (24, 0) if end => Ok(0),
            (0..=23, 0..=59) => Ok(h * 60 + m),
            _ => Err(bad()),
        }
    };
    let (start, end) = (minute(start, false)?, minute(end, true)?);
    if start == end {
        return Err(format!("{s:?} starts where it ends; a quiet span must be shorter than a day"));
    }
    Ok(QuietHours { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_parse_and_wrap_midnight() {
        let night = parse_quiet_hours("22:00-07:00").expect("valid");
        assert_eq!(night, QuietHours { start: 22 * 60, end: 7 * 60 });
        assert!(night.contains(23 * 60) && night.contains(0) && night.contains(6 * 60 + 59));
        assert!(!night.contains(7 * 60) && !night.contains(12 * 60) && !night.contains(21 * 60 + 59));
        let lunch = parse_quiet_hours("9:30 - 13:00").expect("valid");
        assert!(lunch.contains(9 * 60 + 30) && !lunch.contains(13 * 60) && !lunch.contains(9 * 60 + 29));
        assert_eq!(parse_quiet_hours("22:00-24:00").expect("valid").end, 0);
        assert_eq!(night.to_string(), "22:00-07:00");
        for bad in
            ["22:00", "22-07", "25:00-07:00", "22:60-07:00", "22:00-07:0", "07:00-07:00", "24:00-07:00", "a:bc-07:00"]
        {
            assert!(parse_quiet_hours(bad).is_err(), "{bad}");
        }
    }
}
