//! What a KDE job says, kept as one state per job, and how it reads as synccenter progress: KDE sends
//! `update(a{sv})` with only the fields that changed (V3) or one setter per field (V2), so the state
//! accumulates them and every change is drawn again as a step, a maximum and one line of text. Pure, so the
//! mapping is tested without a bus.

use synccenter_client::UnitWire;
use synccenter_client::methods::AmountInfo;
use synccenter_human::{bytes, clock};

/// One field of an update, as the bus carried it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Field {
    Text(String),
    Number(u64),
    Flag(bool),
}

/// KDE's units, in the order progress prefers them.
const UNITS: [&str; 4] = ["Bytes", "Files", "Directories", "Items"];

/// Everything a job reported so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct JobState {
    pub(crate) title: String,
    info: String,
    labels: [String; 2],
    values: [String; 2],
    percent: Option<u64>,
    /// Bytes per second.
    speed: Option<u64>,
    processed: [Option<u64>; 4],
    total: [Option<u64>; 4],
    pub(crate) suspended: bool,
    dest_url: String,
    /// `setError` of the V2 interface: the code its `terminate(s)` ends with.
    pub(crate) error_code: u32,
}

/// A job's progress as synccenter draws it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Drawn {
    pub(crate) step: u32,
    pub(crate) max_step: u32,
    pub(crate) text: String,
    /// The bytes or files the steps come from, reported in their unit (issue 20).
    pub(crate) amount: Option<AmountInfo>,
}

impl JobState {
    /// Takes one field; an unknown key or a value of the wrong type is ignored (KDE adds keys over time).
    pub(crate) fn apply(&mut self, key: &str, value: Field) {
        match (key, value) {
            ("title", Field::Text(s)) => self.title = s,
            ("infoMessage", Field::Text(s)) => self.info = s,
            ("descriptionLabel1", Field::Text(s)) => self.labels[0] = s,
            ("descriptionLabel2", Field::Text(s)) => self.labels[1] = s,
            ("descriptionValue1", Field::Text(s)) => self.values[0] = s,
            ("descriptionValue2", Field::Text(s)) => self.values[1] = s,
            ("destUrl", Field::Text(s)) => self.dest_url = s,
            ("percent", Field::Number(n)) => self.percent = Some(n.min(100)),
            ("speed", Field::Number(n)) => self.speed = Some(n),
            ("suspended", Field::Flag(b)) => self.suspended = b,
            ("errorCode", Field::Number(n)) => self.error_code = u32::try_from(n).unwrap_or(u32::MAX),
            (key, Field::Number(n)) => {
                for (i, unit) in UNITS.iter().enumerate() {
                    if key.strip_prefix("processed") == Some(unit) {
                        self.processed[i] = Some(n);
                    } else if key.strip_prefix("total") == Some(unit) {
                        self.total[i] = Some(n);
                    }
                }
            }
            _ => {}
        }
    }

    /// The destination, when the job named one.
    pub(crate) fn dest_url(&self) -> Option<&str> {
        Some(self.dest_url.as_str()).filter(|s| !s.is_empty())
    }

    /// Steps from the first unit with a total (bytes, then files, directories, items), else from the percentage.
    pub(crate) fn draw(&self) -> Drawn {
        let unit = (0..UNITS.len()).find(|&i| self.total[i].is_some_and(|t| t > 0));
        let (step, max_step) = match unit {
            Some(i) => scale(self.processed[i].unwrap_or(0), self.total[i].unwrap_or(0)),
            None => self.percent.map_or((0, 0), |p| (p as u32, 100)),
        };
        let amount = unit.and_then(|i| {
            let unit = [UnitWire::Bytes, UnitWire::Files].get(i).copied()?;
            Some(AmountInfo { unit, done: self.processed[i].unwrap_or(0), total: self.total[i].unwrap_or(0) })
        });
        Drawn { step, max_step, text: self.text(), amount }
    }

    fn text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.suspended {
            parts.push("suspended".to_owned());
        }
        let headline = if self.info.is_empty() { &self.title } else { &self.info };
        if !headline.is_empty() {
            parts.push(headline.clone());
        }
        for (label, value) in self.labels.iter().zip(&self.values) {
            match (label.is_empty(), value.is_empty()) {
                (_, true) => {}
                (true, false) => parts.push(value.clone()),
                (false, false) => parts.push(format!("{label}: {value}")),
            }
        }
        if let Some(speed) = self.speed.filter(|s| *s > 0 && !self.suspended) {
            parts.push(format!("{}/s", bytes(speed)));
            if let (Some(total), processed) = (self.total[0], self.processed[0].unwrap_or(0))
                && total > processed
            {
                let left = std::time::Duration::from_secs((total - processed).div_ceil(speed));
                parts.push(format!("{} left", clock(left)));
            }
        }
        parts.join(" · ")
    }
}

/// `processed` of `total` as steps that fit in `u32`, in proportion.
fn scale(processed: u64, total: u64) -> (u32, u32) {
    let shift = (64 - total.leading_zeros()).saturating_sub(32);
    let step = (processed.min(total) >> shift) as u32;
    (step, (total >> shift) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(fields: &[(&str, Field)]) -> JobState {
        let mut s = JobState::default();
        for (k, v) in fields {
            s.apply(k, v.clone());
        }
        s
    }

    #[test]
    fn bytes_are_the_steps_and_the_fields_the_text() {
        let s = state(&[
            ("title", Field::Text("Copying".into())),
            ("descriptionLabel1", Field::Text("Source".into())),
            ("descriptionValue1", Field::Text("/a".into())),
            ("processedBytes", Field::Number(512)),
            ("totalBytes", Field::Number(2048)),
            ("processedFiles", Field::Number(1)),
            ("totalFiles", Field::Number(9)),
            ("speed", Field::Number(256)),
        ]);
        assert_eq!(
            s.draw(),
            Drawn {
                step: 512,
                max_step: 2048,
                text: "Copying · Source: /a · 256 B/s · 0:06 left".into(),
                amount: Some(AmountInfo { unit: UnitWire::Bytes, done: 512, total: 2048 }),
            }
        );
    }

    #[test]
    fn files_or_the_percentage_stand_in_for_missing_byte_totals() {
        let files = state(&[("processedFiles", Field::Number(3)), ("totalFiles", Field::Number(4))]);
        assert_eq!((files.draw().step, files.draw().max_step), (3, 4));
        assert_eq!(files.draw().amount, Some(AmountInfo { unit: UnitWire::Files, done: 3, total: 4 }));
        let percent = state(&[("percent", Field::Number(140)), ("infoMessage", Field::Text("Extracting".into()))]);
        assert_eq!(percent.draw(), Drawn { step: 100, max_step: 100, text: "Extracting".into(), amount: None });
        assert_eq!(JobState::default().draw(), Drawn { step: 0, max_step: 0, text: String::new(), amount: None });
    }

    #[test]
    fn totals_beyond_u32_keep_their_proportion() {
        let total = 6 * (1u64 << 32);
        assert_eq!(scale(total / 2, total), (3 << 29, 3 << 30));
        assert_eq!(scale(total * 2, total).0, scale(total, total).1, "processed never passes the total");
        assert_eq!(scale(5, 10), (5, 10));
    }

    #[test]
    fn wrong_types_and_unknown_keys_change_nothing_and_suspension_shows() {
        let mut s = state(&[("title", Field::Number(3)), ("nonsense", Field::Text("x".into()))]);
        assert_eq!(s, JobState::default());
        s.apply("suspended", Field::Flag(true));
        s.apply("speed", Field::Number(10));
        assert_eq!(s.draw().text, "suspended");
    }
}
