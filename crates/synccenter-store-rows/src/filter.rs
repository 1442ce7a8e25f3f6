//! An event filter as conditions on the `events` columns both stores share, so that the two cannot differ on
//! what a filter selects; each store renders the conditions in its dialect.

use synccenter_core::EventFilter;
use uuid::Uuid;

/// One condition of an event filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition<'a> {
    /// `column = value` on a text column (`handler_id`, `item_id`).
    TextIs(&'static str, &'a str),
    /// `item_id IS NULL`: the handler's own events only.
    NoItem,
    /// `level` is one of these numbers.
    LevelIn(Vec<i64>),
    /// `session_id = value`.
    Session(Uuid),
    /// `time {operator} value`, the operator being `>=` (since) or `<` (until).
    Time(&'static str, i64),
}

/// The conditions equal to [`EventFilter::matches`], all of which must hold; none for the empty filter.
pub fn event_conditions(filter: &EventFilter) -> Vec<Condition<'_>> {
    let mut out = Vec::new();
    if let Some(h) = &filter.handler {
        out.push(Condition::TextIs("handler_id", h.as_str()));
    }
    match &filter.item {
        Some(i) => out.push(Condition::TextIs("item_id", i.as_str())),
        None if filter.handler_level_only => out.push(Condition::NoItem),
        None => {}
    }
    if !filter.levels.is_empty() {
        out.push(Condition::LevelIn(filter.levels.iter().map(|l| i64::from(l.number())).collect()));
    }
    if let Some(s) = filter.session {
        out.push(Condition::Session(s.0));
    }
    if let Some(t) = filter.since {
        out.push(Condition::Time(">=", t.as_micros()));
    }
    if let Some(t) = filter.until {
        out.push(Condition::Time("<", t.as_micros()));
    }
    out
}

#[cfg(test)]
mod tests {
    use synccenter_core::{EventLevel, HandlerId, ItemId, SessionId, Timestamp};

    use super::*;

    #[test]
    fn every_field_becomes_one_condition() {
        assert!(event_conditions(&EventFilter::default()).is_empty());
        let filter = EventFilter {
            handler: Some(HandlerId::new("nas").unwrap()),
            item: Some(ItemId::new("docs").unwrap()),
            levels: vec![EventLevel::Error, EventLevel::Info],
            session: Some(SessionId(Uuid::from_u128(5))),
            since: Some(Timestamp::from_micros(-1)),
            until: Some(Timestamp::from_micros(9)),
            ..Default::default()
        };
        assert_eq!(
            event_conditions(&filter),
            vec![
                Condition::TextIs("handler_id", "nas"),
                Condition::TextIs("item_id", "docs"),
                Condition::LevelIn(vec![i64::from(EventLevel::Error.number()), i64::from(EventLevel::Info.number())]),
                Condition::Session(Uuid::from_u128(5)),
                Condition::Time(">=", -1),
                Condition::Time("<", 9),
            ]
        );
    }

    #[test]
    fn handler_level_only_applies_without_an_item() {
        let own = EventFilter { handler_level_only: true, ..Default::default() };
        assert_eq!(event_conditions(&own), vec![Condition::NoItem]);
        let both =
            EventFilter { item: Some(ItemId::new("docs").unwrap()), handler_level_only: true, ..Default::default() };
        assert_eq!(event_conditions(&both), vec![Condition::TextIs("item_id", "docs")]);
    }
}
