//! The protocol's times are RFC 3339 text; the history chart and the metrics both need them as instants.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `None` for text that is not an RFC 3339 time.
pub(crate) fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}
