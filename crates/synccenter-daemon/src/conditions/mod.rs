//! Run conditions: whether a scheduled run may start now, and if not, why (the `waiting` reason).
//!
//! The states that change by themselves are watched in the background, each only once the configuration uses
//! it (so a daemon that needs none never touches the system bus or the mount table): power and network in
//! `system`, targets in `targets`. Deciding is then a pure function of those readings, the item's conditions,
//! the hub's clock (quiet hours, in local time) and the item's last success (`max_age`), so the hub never waits
//! and tests drive time through the injected clock.

mod system;
pub(crate) mod targets;

use synccenter_config::{RunConditions, Target};
use synccenter_core::Timestamp;
use tokio::sync::watch;

use system::Reading;
use targets::Presence;
pub use targets::TargetSources;

/// The watched states; a watcher starts the first time a configuration needs it.
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    power: Option<watch::Receiver<Reading>>,
    network: Option<watch::Receiver<Reading>>,
    /// The targets to watch (sent to the watcher) and their presence (from it).
    targets: Option<(watch::Sender<Vec<Target>>, watch::Receiver<Presence>)>,
    sources: TargetSources,
}

/// What `max_age` measures from: the last success or, when there was none, when the item appeared.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Age {
    pub(crate) last_success: Option<Timestamp>,
    pub(crate) since: Timestamp,
}

impl Conditions {
    /// Targets are read from `sources` from now on (tests give their own mount table).
    pub(crate) fn read_targets_from(&mut self, sources: TargetSources) {
        self.sources = sources;
    }

    pub(crate) fn sources(&self) -> &TargetSources {
        &self.sources
    }

    /// Starts the watchers that `all` (every item's conditions) needs and that do not run yet (on the current
    /// tokio runtime), and tells the targets' watcher what to watch (which re-reads them at once).
    pub(crate) fn watch<'a>(&mut self, all: impl IntoIterator<Item = &'a RunConditions>) {
        let (mut power, mut network, mut targets) = (false, false, Vec::new());
        for c in all {
            power |= c.on_ac_power;
            network |= c.unmetered_network;
            targets.extend(c.targets.iter().cloned());
        }
        targets.sort();
        targets.dedup();
        if power && self.power.is_none() {
            let (tx, rx) = watch::channel(Reading::Pending);
            tokio::spawn(system::power(tx));
            self.power = Some(rx);
        }
        if network && self.network.is_none() {
            let (tx, rx) = watch::channel(Reading::Pending);
            tokio::spawn(system::network(tx));
            self.network = Some(rx);
        }
        match &self.targets {
            Some((wanted, _)) => {
                wanted.send_if_modified(|w| std::mem::replace(w, targets.clone()) != targets);
            }
            None if !targets.is_empty() => {
                // The first reading is made here, with the configuration (read here too), so that the first
                // answers after a start say what is absent rather than `checking targets`.
                let first = targets::read(&targets, &self.sources, &mut std::collections::HashMap::new());
                let (wanted_tx, wanted_rx) = watch::channel(targets);
                let (tx, rx) = watch::channel(first);
                tokio::spawn(targets::watch_targets(tx, wanted_rx, self.sources.clone()));
                self.targets = Some((wanted_tx, rx));
            }
            None => {}
        }
    }

    /// Why `conditions` hold a run back at `now`, if they do; none once the last success is older than
    /// `max_age`.
    pub(crate) fn holding_back(&self, conditions: &RunConditions, now: Timestamp, age: Age) -> Option<String> {
        if !conditions.any() {
            return None;
        }
        if let Some(max) = conditions.max_age
            && synccenter_runs::freshness::overdue_since(age.last_success, age.since, max, now)
        {
            return None;
        }
        let read = |rx: &Option<watch::Receiver<Reading>>| rx.as_ref().map_or(Reading::Pending, |r| *r.borrow());
        let presence = self.targets.as_ref().map(|(_, rx)| rx.borrow());
        let state = State {
            on_battery: read(&self.power),
            metered: read(&self.network),
            presence: presence.as_deref(),
            minute: conditions.quiet_hours.and_then(|_| local_minute(now)),
        };
        reason(conditions, &state)
    }
}

/// The readings a decision is made from.
struct State<'a> {
    on_battery: Reading,
    metered: Reading,
    presence: Option<&'a Presence>,
    /// Minutes after local midnight.
    minute: Option<u16>,
}

/// Why a run with `conditions` waits in `state`: the first condition that does not hold.
fn reason(conditions: &RunConditions, state: &State<'_>) -> Option<String> {
    if conditions.on_ac_power {
        match state.on_battery {
            Reading::Pending => return Some("checking power".into()),
            Reading::Known(true) => return Some("on battery".into()),
            Reading::Known(false) | Reading::Unknown => {}
        }
    }
    if conditions.unmetered_network {
        match state.metered {
            Reading::Pending => return Some("checking the network".into()),
            Reading::Known(true) => return Some("metered network".into()),
            Reading::Known(false) | Reading::Unknown => {}
        }
    }
    for target in &conditions.targets {
        match state.presence.and_then(|p| p.get(target)) {
            None => return Some("checking targets".into()),
            Some(false) => return Some(targets::absent(target)),
            Some(true) => {}
        }
    }
    if let (Some(quiet), Some(minute)) = (conditions.quiet_hours, state.minute)
        && quiet.contains(minute)
    {
        return Some(format!("quiet hours ({quiet})"));
    }
    None
}

/// Minutes after midnight of `now` in the machine's local time.
fn local_minute(now: Timestamp) -> Option<u16> {
    use chrono::Timelike;
    let local = chrono::DateTime::from_timestamp_micros(now.as_micros())?.with_timezone(&chrono::Local);
    u16::try_from(local.hour() * 60 + local.minute()).ok()
}

#[cfg(test)]
mod tests {
    use synccenter_config::QuietHours;

    use super::*;
    use Reading::{Known, Pending, Unknown};

    fn state(on_battery: Reading, metered: Reading) -> State<'static> {
        State { on_battery, metered, presence: None, minute: Some(12 * 60) }
    }

    #[test]
    fn reasons_name_the_first_condition_that_fails() {
        let ac = RunConditions { on_ac_power: true, ..RunConditions::default() };
        let net = RunConditions { unmetered_network: true, ..RunConditions::default() };
        let both = RunConditions { on_ac_power: true, unmetered_network: true, ..RunConditions::default() };
        let r = |c: &RunConditions, s: State<'_>| reason(c, &s);
        assert_eq!(r(&RunConditions::default(), state(Known(true), Known(true))), None, "no condition: never waits");
        assert_eq!(r(&ac, state(Known(true), Known(true))).as_deref(), Some("on battery"));
        assert_eq!(r(&ac, state(Known(false), Known(true))), None, "the network is not asked for");
        assert_eq!(r(&ac, state(Pending, Known(false))).as_deref(), Some("checking power"));
        assert_eq!(r(&ac, state(Unknown, Known(false))), None, "unknown holds");
        assert_eq!(r(&net, state(Known(true), Known(true))).as_deref(), Some("metered network"));
        assert_eq!(r(&net, state(Known(true), Pending)).as_deref(), Some("checking the network"));
        assert_eq!(r(&net, state(Known(true), Unknown)), None);
        assert_eq!(r(&both, state(Known(false), Known(true))).as_deref(), Some("metered network"));
        assert_eq!(r(&both, state(Known(true), Known(false))).as_deref(), Some("on battery"));
        assert_eq!(r(&both, state(Known(false), Known(false))), None);
    }

    #[test]
    fn targets_and_quiet_hours_wait_with_their_reasons() {
        let usb = Target::Mount("/media/usb".into());
        let quiet = QuietHours { start: 22 * 60, end: 7 * 60 };
        let c = RunConditions { targets: vec![usb.clone()], quiet_hours: Some(quiet), ..RunConditions::default() };
        let mut presence = Presence::new();
        let at = |presence: Option<&Presence>, minute| {
            reason(&c, &State { on_battery: Pending, metered: Pending, presence, minute: Some(minute) })
        };
        assert_eq!(at(None, 12 * 60).as_deref(), Some("checking targets"));
        assert_eq!(at(Some(&presence), 12 * 60).as_deref(), Some("checking targets"), "not read yet");
        presence.insert(usb.clone(), false);
        assert_eq!(at(Some(&presence), 12 * 60).as_deref(), Some("nothing is mounted at /media/usb"));
        presence.insert(usb, true);
        assert_eq!(at(Some(&presence), 12 * 60), None);
        assert_eq!(at(Some(&presence), 23 * 60).as_deref(), Some("quiet hours (22:00-07:00)"));
        assert_eq!(at(Some(&presence), 6 * 60 + 59).as_deref(), Some("quiet hours (22:00-07:00)"));
        assert_eq!(at(Some(&presence), 7 * 60), None, "the end is not quiet");
    }

    #[test]
    fn max_age_overrides_every_other_condition() {
        let conditions = Conditions::default();
        let day = std::time::Duration::from_secs(86_400);
        let c = RunConditions { on_ac_power: true, max_age: Some(7 * day), ..RunConditions::default() };
        let t0 = Timestamp::from_micros(1_700_000_000_000_000);
        let fresh = Age { last_success: Some(t0), since: t0 };
        assert_eq!(conditions.holding_back(&c, t0.plus(7 * day), fresh).as_deref(), Some("checking power"));
        assert_eq!(conditions.holding_back(&c, t0.plus(8 * day), fresh), None, "a week old: runs regardless");
        let never = Age { last_success: None, since: t0 };
        assert!(conditions.holding_back(&c, t0.plus(day), never).is_some(), "a new item waits");
        assert_eq!(conditions.holding_back(&c, t0.plus(8 * day), never), None, "counted from its appearance");
    }
}
