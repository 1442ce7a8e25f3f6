//! Identifier validation and length limits, counted in UTF-16 code units as the spec counts them (§0.2, §5.7).
//!
//! IDs are opaque: compared ordinally and case-sensitively, but two IDs of one scope that differ only by ASCII
//! case are refused at registration so that no platform is surprised. Names and texts are truncated, never
//! rejected, at a character boundary.

use std::fmt;

/// `MAX_SYNCMGR_ID - 1`: usable UTF-16 units of a handler or item ID.
pub const MAX_ID_UNITS: usize = 63;
/// `MAX_SYNCMGR_NAME - 1`: usable UTF-16 units of a display name or comment.
pub const MAX_NAME_UNITS: usize = 127;
/// `MAX_SYNCMGR_PROGRESSTEXT - 1`: usable UTF-16 units of a progress text.
pub const MAX_PROGRESS_TEXT_UNITS: usize = 259;
/// Limits of event fields (§5.17), in UTF-16 units.
pub const MAX_EVENT_NAME_UNITS: usize = 127;
/// Event link text limit.
pub const MAX_EVENT_LINK_TEXT_UNITS: usize = 127;
/// Event description limit.
pub const MAX_EVENT_DESCRIPTION_UNITS: usize = 8192;
/// Event link reference limit.
pub const MAX_EVENT_LINK_REFERENCE_UNITS: usize = 2048;
/// Event context limit.
pub const MAX_EVENT_CONTEXT_UNITS: usize = 8192;

/// Number of UTF-16 code units `s` occupies.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// `s` cut to at most `max` UTF-16 units, never splitting a character.
pub fn truncate_utf16(s: &str, max: usize) -> String {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            return s[..i].to_owned();
        }
    }
    s.to_owned()
}

/// `s` cut to at most `max` UTF-16 units with a trailing "…" marking the cut (§5.17).
pub fn truncate_marked(s: &str, max: usize) -> String {
    if utf16_len(s) <= max {
        return s.to_owned();
    }
    let mut cut = truncate_utf16(s, max - 1);
    cut.push('…');
    cut
}

/// Which kind of identifier was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// A handler ID.
    Handler,
    /// An item ID.
    Item,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::Handler => "handler",
            IdKind::Item => "item",
        })
    }
}

/// What is wrong with an identifier (§5.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdProblem {
    /// Empty.
    Empty,
    /// Longer than 63 UTF-16 units.
    TooLong {
        /// Its length in UTF-16 units.
        units: usize,
    },
    /// Contains U+0000..=U+001F.
    ControlCharacter,
}

impl fmt::Display for IdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdProblem::Empty => f.write_str("it is empty"),
            IdProblem::TooLong { units } => {
                write!(f, "it is {units} UTF-16 units long; the limit is {}", MAX_ID_UNITS)
            }
            IdProblem::ControlCharacter => f.write_str("it contains a control character (U+0000 to U+001F)"),
        }
    }
}

/// An identifier that breaks §5.7 (`E_INVALIDARG`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} ID {id:?} is invalid: {problem}")]
pub struct IdError {
    /// Handler or item.
    pub kind: IdKind,
    /// The refused ID (cut for display).
    pub id: String,
    /// What is wrong.
    pub problem: IdProblem,
}

fn check_id(kind: IdKind, s: &str) -> Result<(), IdError> {
    let len = utf16_len(s);
    let problem = if s.is_empty() {
        Some(IdProblem::Empty)
    } else if len > MAX_ID_UNITS {
        Some(IdProblem::TooLong { units: len })
    } else if s.chars().any(|c| (c as u32) < 0x20) {
        Some(IdProblem::ControlCharacter)
    } else {
        None
    };
    match problem {
        Some(problem) => Err(IdError { kind, id: truncate_utf16(s, 80), problem }),
        None => Ok(()),
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
        pub struct $name(String);

        impl $name {
            /// Validates `s` (1..=63 UTF-16 units, no control characters).
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check_id($kind, &s)?;
                Ok(Self(s))
            }

            /// The ID as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The key under which uniqueness is checked: ASCII case folded.
            pub fn folded(&self) -> String {
                self.0.to_ascii_lowercase()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
    };
}

string_id!(
    /// A handler ID: unique across Sync Center, ASCII-case-insensitively.
    HandlerId,
    IdKind::Handler
);
string_id!(
    /// An item ID: unique within its handler, ASCII-case-insensitively; never changes for the item's life.
    ItemId,
    IdKind::Item
);

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// Parses the hyphenated form.
            pub fn parse(s: &str) -> Option<Self> {
                uuid::Uuid::try_parse(s).ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    };
}

uuid_id!(
    /// A session: one run of synchronization of some items of one handler.
    SessionId
);
uuid_id!(
    /// An event in Sync Results; never the nil UUID.
    EventId
);
uuid_id!(
    /// A conflict in the conflict store.
    ConflictId
);

/// A start request (`control.start`); unique within one running Sync Center.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r-{}", self.0)
    }
}

/// Whoever owns sessions (a connection, a process, an in-process caller). Chosen by the embedder.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OwnerId(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_utf16_units() {
        assert!(HandlerId::new("a".repeat(63)).is_ok());
        assert!(HandlerId::new("a".repeat(64)).is_err());
        // 31 astral characters are 62 units; one more is 64.
        assert!(ItemId::new("😀".repeat(31)).is_ok());
        assert!(ItemId::new("😀".repeat(32)).is_err());
        assert!(ItemId::new("").is_err());
        assert!(ItemId::new("a\u{1}b").is_err());
        assert!(ItemId::new("a\tb").is_err());
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate_utf16("ab😀c", 3), "ab");
        assert_eq!(truncate_utf16("ab😀c", 4), "ab😀");
        assert_eq!(truncate_marked("abcdef", 4), "abc…");
        assert_eq!(truncate_marked("abcd", 4), "abcd");
    }
}
