//! Enumerations as they travel: lower-case names of the spec's enums without prefix, with the spec's numbers
//! accepted as input too (`shared/INTERFACE.md`), and timestamps as RFC 3339 UTC strings.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $num:literal => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The wire name.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// The spec's number.
            pub fn number(self) -> u32 {
                match self { $($name::$variant => $num),+ }
            }

            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "a {} name or number", $what)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        match v {
                            $($wire => Ok($name::$variant),)+
                            _ => Err(E::custom(format!("{:?} is not a valid {}", v, $what))),
                        }
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        match v {
                            $($num => Ok($name::$variant),)+
                            _ => Err(E::custom(format!("{} is not a valid {}", v, $what))),
                        }
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        u64::try_from(v).map_err(|_| E::custom(format!("{} is not a valid {}", v, $what))).and_then(|v| self.visit_u64(v))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

wire_enum!(
    /// `SYNCMGR_PROGRESS_STATUS`.
    StatusWire, "progress status" {
        /// 1.
        Updating = 1 => "updating",
        /// 2.
        UpdatingIndeterminate = 2 => "updating_indeterminate",
        /// 3.
        Succeeded = 3 => "succeeded",
        /// 4.
        Failed = 4 => "failed",
        /// 5.
        Canceled = 5 => "canceled",
        /// 6.
        Disconnected = 6 => "disconnected",
    }
);

impl StatusWire {
    /// Whether the status ends the item's sync (anything but the two running statuses).
    pub fn is_final(self) -> bool {
        !matches!(self, StatusWire::Updating | StatusWire::UpdatingIndeterminate)
    }
}

wire_enum!(
    /// What a progress report's numbers count: an extension of the spec, whose steps have no unit
    /// (`docs/divergences.md`). The numbers are this project's, not the spec's.
    UnitWire, "progress unit" {
        /// The spec's plain steps (the default).
        Steps = 0 => "steps",
        /// Bytes.
        Bytes = 1 => "bytes",
        /// Files.
        Files = 2 => "files",
    }
);

impl From<UnitWire> for synccenter_human::Unit {
    fn from(u: UnitWire) -> synccenter_human::Unit {
        match u {
            UnitWire::Steps => synccenter_human::Unit::Steps,
            UnitWire::Bytes => synccenter_human::Unit::Bytes,
            UnitWire::Files => synccenter_human::Unit::Files,
        }
    }
}

wire_enum!(
    /// `SYNCMGR_CANCEL_REQUEST`.
    CancelWire, "cancel request" {
        /// 0.
        None = 0 => "none",
        /// 1.
        CancelItem = 1 => "cancel_item",
        /// 2.
        CancelAll = 2 => "cancel_all",
    }
);

wire_enum!(
    /// `SYNCMGR_EVENT_LEVEL`.
    EventLevelWire, "event level" {
        /// 1.
        Info = 1 => "info",
        /// 2.
        Warning = 2 => "warning",
        /// 3.
        Error = 3 => "error",
    }
);

wire_enum!(
    /// `SYNCMGR_HANDLER_TYPE`.
    HandlerTypeWire, "handler type" {
        /// 0.
        Unspecified = 0 => "unspecified",
        /// 1.
        Application = 1 => "application",
        /// 2.
        Device = 2 => "device",
        /// 3.
        Folder = 3 => "folder",
        /// 4.
        Service = 4 => "service",
        /// 5.
        Computer = 5 => "computer",
    }
);

wire_enum!(
    /// Event retention per handler.
    RetentionWire, "retention" {
        /// Events persist until removed.
        Keep = 0 => "keep",
        /// A new session of the handler deletes its previous events.
        ReplaceOnSync = 1 => "replace_on_sync",
    }
);

wire_enum!(
    /// `SYNCMGR_CONTROL_FLAGS` and `SYNCMGR_SYNC_CONTROL_FLAGS` bits by name.
    ControlFlagWire, "control flag" {
        /// `SYNCMGR_CF_NOUI`: skip confirmations.
        NoUi = 2 => "noui",
        /// `SYNCMGR_SCF_IGNORE_IF_ALREADY_SYNCING`.
        IgnoreIfAlreadySyncing = 1 => "ignore_if_already_syncing",
    }
);

/// Formats microseconds since the Unix epoch as RFC 3339 UTC with microseconds.
pub fn format_time(micros: i64) -> String {
    let nanos = i128::from(micros) * 1000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => t
            .format(&time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
            ))
            .unwrap_or_else(|_| micros.to_string()),
        Err(_) => micros.to_string(),
    }
}

/// Parses an RFC 3339 timestamp into microseconds since the Unix epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_accept_names_and_numbers() {
        let s: StatusWire = serde_json::from_str("\"succeeded\"").expect("name");
        assert_eq!(s, StatusWire::Succeeded);
        let s: StatusWire = serde_json::from_str("3").expect("number");
        assert_eq!(s, StatusWire::Succeeded);
        assert!(serde_json::from_str::<StatusWire>("0").is_err());
        assert!(serde_json::from_str::<StatusWire>("7").is_err());
        assert!(serde_json::from_str::<StatusWire>("-1").is_err());
        assert!(serde_json::from_str::<StatusWire>("\"Succeeded\"").is_err());
        assert_eq!(serde_json::to_string(&CancelWire::CancelItem).expect("ser"), "\"cancel_item\"");
    }

    #[test]
    fn times_round_trip() {
        let t = 1_795_593_384_815_386;
        let s = format_time(t);
        assert_eq!(s, "2026-11-25T07:56:24.815386Z");
        assert_eq!(parse_time(&s), Some(t));
        assert_eq!(parse_time("2026-11-25T08:56:24.815386+01:00"), Some(t));
        assert_eq!(parse_time("yesterday"), None);
    }
}
