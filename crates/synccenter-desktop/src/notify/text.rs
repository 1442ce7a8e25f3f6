//! What a notification says and offers, decided from a session's end alone (pure, so the wording and the
//! choice of actions are tested without a bus): whether the handler's `notify` setting wants it, one summary
//! line naming the handler and what happened, one body line with what failed, why and how many errors and
//! conflicts, its urgency, and the actions offered.

use synccenter_client::StatusWire;

/// A handler's `notify` setting, as `handler.list` reports it (absent: [`Mode::Failures`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No notifications.
    Never,
    /// A session that failed or left conflicts.
    Failures,
    /// Every end.
    Always,
}

impl Mode {
    /// The setting named on the wire; anything else (absent, or a name this build does not know) is the default.
    pub fn from_wire(name: Option<&str>) -> Mode {
        match name {
            Some("never") => Mode::Never,
            Some("always") => Mode::Always,
            _ => Mode::Failures,
        }
    }

    /// Whether a session that ended with `status` and `conflicts` is worth a notification.
    pub fn wants(self, status: StatusWire, conflicts: u32) -> bool {
        match self {
            Mode::Never => false,
            Mode::Always => true,
            Mode::Failures => status == StatusWire::Failed || conflicts > 0,
        }
    }
}

/// A session's end with what the notifier looked up about it.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The handler's display name.
    pub handler_name: String,
    /// The session ended `failed`.
    pub failed: bool,
    /// The session ended `canceled`.
    pub canceled: bool,
    /// Its error count.
    pub errors: u32,
    /// Its conflict count.
    pub conflicts: u32,
    /// Names of the items that failed.
    pub failed_items: Vec<String>,
    /// How many items it had.
    pub items: usize,
    /// The last error event's description.
    pub why: Option<String>,
}

/// `urgency` hint values of the specification: anything but a failure.
pub const NORMAL: u8 = 1;
/// A failure's urgency.
pub const CRITICAL: u8 = 2;

/// The words and urgency of one notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    /// The handler and what happened.
    pub summary: String,
    /// What failed, why, and how many errors and conflicts.
    pub body: String,
    /// [`NORMAL`] or [`CRITICAL`].
    pub urgency: u8,
}

fn count(n: u32, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// A sentence of `text` on one line, cut at 200 characters.
fn line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 200 {
        format!("{}…", flat.chars().take(199).collect::<String>())
    } else if flat.ends_with(['.', '!', '?', '…']) {
        flat
    } else {
        format!("{flat}.")
    }
}

/// What the notification of `o` says.
pub fn compose(o: &Outcome) -> Text {
    let name = &o.handler_name;
    let tally = [(o.errors, "error", "errors"), (o.conflicts, "conflict", "conflicts")]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| count(n, one, many))
        .collect::<Vec<_>>()
        .join(", ");
    let mut body = Vec::new();
    let (summary, urgency) = if o.failed {
        match o.failed_items.as_slice() {
            [] => {}
            [one] => body.push(format!("{one} failed.")),
            many => body.push(format!("{} of {} items failed: {}.", many.len(), o.items, many.join(", "))),
        }
        (format!("{name}: sync failed"), CRITICAL)
    } else if o.conflicts > 0 {
        (format!("{name}: {} to resolve", count(o.conflicts, "conflict", "conflicts")), NORMAL)
    } else if o.canceled {
        (format!("{name}: sync canceled"), NORMAL)
    } else {
        (format!("{name}: sync succeeded"), NORMAL)
    };
    // The error event's first paragraph is its reason; what follows (the run log's command, the tool's error
    // output) is for the result's page, which the notification opens.
    let reason = o.why.as_deref().and_then(|w| w.trim().split("\n\n").next());
    if let Some(why) = reason.filter(|w| !w.trim().is_empty() && o.failed) {
        body.push(line(why));
    }
    if !tally.is_empty() {
        body.push(format!("{tally}."));
    }
    if body.is_empty() {
        body.push(format!("{} synchronized.", count(o.items as u32, "item", "items")));
    }
    Text { summary, body: body.join(" "), urgency }
}

/// The action keys and labels offered for `o` (only when the server says it has `actions`): `default` opens
/// the result, `retry` (after a failure) starts the failed items again, `snooze` silences the handler.
pub(crate) fn actions(o: &Outcome) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![("default", "Open")];
    if o.failed {
        out.push(("retry", "Retry"));
    }
    out.push(("snooze", "Snooze 1 hour"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Outcome {
        Outcome {
            handler_name: "Backups".to_owned(),
            failed: true,
            errors: 2,
            failed_items: vec!["Home".to_owned(), "Photos".to_owned()],
            items: 3,
            why: Some("restic exited\n with status 3".to_owned()),
            ..Outcome::default()
        }
    }

    #[test]
    fn a_failure_names_the_items_the_reason_and_the_counts() {
        let t = compose(&failed());
        assert_eq!(t.summary, "Backups: sync failed");
        assert_eq!(t.body, "2 of 3 items failed: Home, Photos. restic exited with status 3. 2 errors.");
        assert_eq!(t.urgency, CRITICAL);
        assert_eq!(actions(&failed()).iter().map(|a| a.0).collect::<Vec<_>>(), ["default", "retry", "snooze"]);
    }

    #[test]
    fn only_the_reason_of_a_failure_event_is_told() {
        let mut o = failed();
        o.why = Some(
            "restic exited with status 3\n\nIts whole output: synccenter logs S home\n\nEnd of its error \
                      output:\nFatal: unable to open repository"
                .into(),
        );
        assert_eq!(compose(&o).body, "2 of 3 items failed: Home, Photos. restic exited with status 3. 2 errors.");
    }

    #[test]
    fn conflicts_successes_and_cancels_read_as_words() {
        let conflicts = Outcome { handler_name: "NAS".into(), conflicts: 1, items: 1, ..Outcome::default() };
        assert_eq!(compose(&conflicts).summary, "NAS: 1 conflict to resolve");
        assert_eq!(compose(&conflicts).body, "1 conflict.");
        assert_eq!(compose(&conflicts).urgency, NORMAL);
        assert!(!actions(&conflicts).iter().any(|a| a.0 == "retry"));
        let ok = Outcome { handler_name: "NAS".into(), items: 2, ..Outcome::default() };
        assert_eq!(
            compose(&ok),
            Text { summary: "NAS: sync succeeded".into(), body: "2 items synchronized.".into(), urgency: NORMAL }
        );
        let canceled = Outcome { canceled: true, ..ok };
        assert_eq!(compose(&canceled).summary, "NAS: sync canceled");
        let one = Outcome { failed_items: vec!["Home".into()], why: Some("x".repeat(300)), ..failed() };
        let body = compose(&one).body;
        assert!(body.starts_with("Home failed. xxx") && body.contains("…") && body.ends_with("2 errors."), "{body}");
    }

    #[test]
    fn the_setting_decides_which_ends_notify() {
        use StatusWire::{Canceled, Failed, Succeeded};
        assert_eq!(Mode::from_wire(None), Mode::Failures);
        assert_eq!(Mode::from_wire(Some("later")), Mode::Failures);
        assert!(!Mode::from_wire(Some("never")).wants(Failed, 3));
        assert!(Mode::Failures.wants(Failed, 0) && Mode::Failures.wants(Succeeded, 1));
        assert!(!Mode::Failures.wants(Succeeded, 0) && !Mode::Failures.wants(Canceled, 0));
        assert!(Mode::from_wire(Some("always")).wants(Succeeded, 0));
    }
}
