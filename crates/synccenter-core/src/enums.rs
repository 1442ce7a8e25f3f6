//! The spec's enumerations and flag masks (§3) with their Windows numbers.
//!
//! Numbers are kept so that wire messages and foreign clients can use them; every conversion from a number
//! validates the range (§5.5) and every mask is checked against the union of its defined bits (§5.23).

use std::fmt;

use bitflags::bitflags;

/// Which mask carried undefined bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    /// `SYNCMGR_HANDLER_CAPABILITIES`.
    HandlerCapabilities,
    /// `SYNCMGR_HANDLER_POLICIES`.
    HandlerPolicies,
    /// `SYNCMGR_ITEM_CAPABILITIES`.
    ItemCapabilities,
    /// `SYNCMGR_ITEM_POLICIES`.
    ItemPolicies,
    /// `SYNCMGR_CONTROL_FLAGS`.
    ControlFlags,
    /// `SYNCMGR_SYNC_CONTROL_FLAGS`.
    SyncControlFlags,
    /// `SYNCMGR_RESOLUTION_ABILITIES`.
    ResolutionAbilities,
    /// `SYNCMGR_CONFLICT_ITEM_TYPE`.
    ConflictItemType,
    /// `SYNCMGR_EVENT_FLAGS` (no flag is defined).
    EventFlags,
}

impl fmt::Display for FlagKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlagKind::HandlerCapabilities => "handler capabilities",
            FlagKind::HandlerPolicies => "handler policies",
            FlagKind::ItemCapabilities => "item capabilities",
            FlagKind::ItemPolicies => "item policies",
            FlagKind::ControlFlags => "control flags",
            FlagKind::SyncControlFlags => "sync control flags",
            FlagKind::ResolutionAbilities => "resolution abilities",
            FlagKind::ConflictItemType => "conflict item type",
            FlagKind::EventFlags => "event flags",
        })
    }
}

/// A value outside what it may be (`E_INVALIDARG`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A number outside its enumeration's range (§5.5), or another number out of its range.
    #[error("{value} is not a valid {what}")]
    OutOfRange {
        /// Which enumeration or quantity.
        what: &'static str,
        /// The refused number.
        value: i64,
    },
    /// A mask with bits outside the defined flags (§5.23).
    #[error("the {kind} mask has undefined bits 0x{bits:X}")]
    UndefinedFlags {
        /// Which mask.
        kind: FlagKind,
        /// The undefined bits.
        bits: u32,
    },
    /// A flag name that the mask does not define.
    #[error("the {kind} mask has no flag named {name:?}")]
    UnknownFlagName {
        /// Which mask.
        kind: FlagKind,
        /// The refused name.
        name: String,
    },
}

macro_rules! numbered_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $value:literal => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[repr(u32)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $value),+
        }

        impl $name {
            /// Every value, in numeric order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spec's number.
            pub fn number(self) -> u32 {
                self as u32
            }

            /// From the spec's number; out of range is `E_INVALIDARG`.
            pub fn from_number(n: u32) -> Result<Self, ValueError> {
                match n {
                    $($value => Ok($name::$variant),)+
                    _ => Err(ValueError::OutOfRange { what: $what, value: n as i64 }),
                }
            }

            /// The lower-case wire name (`../shared/INTERFACE.md`).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// From the lower-case wire name.
            pub fn from_name(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

numbered_enum!(
    /// `SYNCMGR_PROGRESS_STATUS` (§3.1.2); there is no value 0.
    ProgressStatus, "progress status" {
        /// In progress; steps are meaningful.
        Updating = 1 => "updating",
        /// In progress, extent unknown; steps ignored.
        UpdatingIndeterminate = 2 => "updating_indeterminate",
        /// Completed successfully.
        Succeeded = 3 => "succeeded",
        /// Completed with failure.
        Failed = 4 => "failed",
        /// Stopped by the user before completion.
        Canceled = 5 => "canceled",
        /// The target went away before completion (a completion status here, §5.4).
        Disconnected = 6 => "disconnected",
    }
);

impl ProgressStatus {
    /// Completion statuses end the item: after one, only `Failed` is accepted (§2.19 rules 9, 10).
    pub fn is_final(self) -> bool {
        !matches!(self, ProgressStatus::Updating | ProgressStatus::UpdatingIndeterminate)
    }

    /// Rank used to aggregate a result (§5.19): the highest rank wins.
    pub(crate) fn severity(self) -> u8 {
        match self {
            ProgressStatus::Failed => 4,
            ProgressStatus::Disconnected => 3,
            ProgressStatus::Canceled => 2,
            ProgressStatus::Succeeded => 1,
            ProgressStatus::Updating | ProgressStatus::UpdatingIndeterminate => 0,
        }
    }

    /// A session's result from its items' statuses (§5.19): failed, then disconnected, then canceled, else
    /// succeeded (also when no item has a completion status). Stores that compute a result themselves use it.
    pub fn aggregate(statuses: impl IntoIterator<Item = ProgressStatus>) -> ProgressStatus {
        statuses.into_iter().max_by_key(|s| s.severity()).filter(|s| s.is_final()).unwrap_or(ProgressStatus::Succeeded)
    }
}

numbered_enum!(
    /// `SYNCMGR_CANCEL_REQUEST` (§3.1.1).
    CancelRequest, "cancel request" {
        /// No stop requested.
        None = 0 => "none",
        /// Stop this item; continue with the others.
        CancelItem = 1 => "cancel_item",
        /// Stop the whole synchronization.
        CancelAll = 2 => "cancel_all",
    }
);

numbered_enum!(
    /// `SYNCMGR_EVENT_LEVEL` (§3.1.3).
    EventLevel, "event level" {
        /// Informational.
        Info = 1 => "info",
        /// Warning.
        Warning = 2 => "warning",
        /// Error; counted in error totals.
        Error = 3 => "error",
    }
);

numbered_enum!(
    /// `SYNCMGR_HANDLER_TYPE` (§3.1.5).
    HandlerType, "handler type" {
        /// Unknown or other; the default.
        Unspecified = 0 => "unspecified",
        /// An application.
        Application = 1 => "application",
        /// A device (phone, player).
        Device = 2 => "device",
        /// Local or remote folders.
        Folder = 3 => "folder",
        /// A web service.
        Service = 4 => "service",
        /// Another computer.
        Computer = 5 => "computer",
    }
);

numbered_enum!(
    /// `SYNCMGR_PRESENTER_CHOICE` (§3.4.5): what the user chose for a conflict.
    PresenterChoice, "presenter choice" {
        /// Skipped, or resolution cancelled.
        NoChoice = 0 => "no_choice",
        /// Keep a single version.
        KeepOne = 1 => "keep_one",
        /// Keep several versions.
        KeepMultiple = 2 => "keep_multiple",
        /// Keep the most recent version.
        KeepRecent = 3 => "keep_recent",
        /// Remove the item from the sync set.
        RemoveFromSyncSet = 4 => "remove_from_sync_set",
        /// Not now; leave for later.
        Skip = 5 => "skip",
    }
);

numbered_enum!(
    /// `SYNCMGR_RESOLUTION_FEEDBACK` (§3.4.3): how resolving one conflict steers the next.
    ResolutionFeedback, "resolution feedback" {
        /// Go on to the next conflict.
        Continue = 0 => "continue",
        /// Stop "apply to all"; ask again for this conflict.
        Refresh = 1 => "refresh",
        /// Stop resolving the rest of the set.
        Cancel = 2 => "cancel",
    }
);

macro_rules! spec_flags {
    ($(#[$doc:meta])* $name:ident, $kind:expr, header_valid = $header:literal { $($(#[doc = $fdoc:literal])* const $flag:ident = $value:literal => $wire:literal;)+ }) => {
        bitflags! {
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
            #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
            pub struct $name: u32 {
                $($(#[doc = $fdoc])* const $flag = $value;)+
            }
        }

        impl $name {
            /// The header's `*_VALID_MASK`, kept for fidelity (it may omit defined bits, §5.23).
            pub const HEADER_VALID_MASK: u32 = $header;
            /// Every defined single flag with its wire name.
            pub const NAMED: &'static [($name, &'static str)] = &[$(($name::$flag, $wire)),+];

            /// From a mask; bits outside the union of defined flags are `E_INVALIDARG` (§5.23).
            pub fn from_mask(bits: u32) -> Result<Self, ValueError> {
                Self::from_bits(bits).ok_or(ValueError::UndefinedFlags { kind: $kind, bits: bits & !Self::all().bits() })
            }

            /// From a mask read from a plug-in: undefined bits are dropped (§5.23).
            pub fn from_mask_lenient(bits: u32) -> Self {
                Self::from_bits_truncate(bits)
            }

            /// The wire names of the set flags.
            pub fn names(self) -> Vec<&'static str> {
                Self::NAMED.iter().filter(|(f, _)| self.contains(*f)).map(|(_, n)| *n).collect()
            }

            /// From wire names; an unknown name is `E_INVALIDARG`.
            pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, ValueError> {
                let mut out = Self::empty();
                for n in names {
                    let (f, _) = Self::NAMED.iter().find(|(_, w)| *w == n)
                        .ok_or_else(|| ValueError::UnknownFlagName { kind: $kind, name: n.to_owned() })?;
                    out |= *f;
                }
                Ok(out)
            }
        }
    };
}

spec_flags!(
    /// `SYNCMGR_HANDLER_CAPABILITIES` (§3.2.1).
    HandlerCapabilities, FlagKind::HandlerCapabilities, header_valid = 0xF30017 {
        /// Provides a dynamic icon.
        const PROVIDES_ICON = 0x1 => "provides_icon";
        /// Keeps its own event store.
        const EVENT_STORE = 0x2 => "event_store";
        /// Keeps a conflict store.
        const CONFLICT_STORE = 0x4 => "conflict_store";
        /// May hold several live sessions at once.
        const SUPPORTS_CONCURRENT_SESSIONS = 0x10 => "supports_concurrent_sessions";
        /// Offers *Browse Content*.
        const CAN_BROWSE_CONTENT = 0x10000 => "can_browse_content";
        /// Offers *Show Schedule*.
        const CAN_SHOW_SCHEDULE = 0x20000 => "can_show_schedule";
        /// Confirms before activation.
        const QUERY_BEFORE_ACTIVATE = 0x100000 => "query_before_activate";
        /// Confirms before deactivation.
        const QUERY_BEFORE_DEACTIVATE = 0x200000 => "query_before_deactivate";
        /// Confirms before enabling.
        const QUERY_BEFORE_ENABLE = 0x400000 => "query_before_enable";
        /// Confirms before disabling.
        const QUERY_BEFORE_DISABLE = 0x800000 => "query_before_disable";
    }
);

spec_flags!(
    /// `SYNCMGR_HANDLER_POLICIES` (§3.2.2). PREVENT hides an action, DISABLE greys it; both are enforced (§5.22).
    HandlerPolicies, FlagKind::HandlerPolicies, header_valid = 0x12F3F {
        /// Activation refused.
        const PREVENT_ACTIVATE = 0x1 => "prevent_activate";
        /// Deactivation refused.
        const PREVENT_DEACTIVATE = 0x2 => "prevent_deactivate";
        /// Enabling refused.
        const PREVENT_ENABLE = 0x4 => "prevent_enable";
        /// Disabling refused.
        const PREVENT_DISABLE = 0x8 => "prevent_disable";
        /// Starting a sync through control refused; only external session creators sync it.
        const PREVENT_START_SYNC = 0x10 => "prevent_start_sync";
        /// Stopping refused.
        const PREVENT_STOP_SYNC = 0x20 => "prevent_stop_sync";
        /// *Enable* greyed.
        const DISABLE_ENABLE = 0x100 => "disable_enable";
        /// *Disable* greyed.
        const DISABLE_DISABLE = 0x200 => "disable_disable";
        /// *Start Sync* greyed.
        const DISABLE_START_SYNC = 0x400 => "disable_start_sync";
        /// *Stop Sync* greyed.
        const DISABLE_STOP_SYNC = 0x800 => "disable_stop_sync";
        /// *Browse* greyed.
        const DISABLE_BROWSE = 0x1000 => "disable_browse";
        /// *Show Schedule* greyed.
        const DISABLE_SCHEDULE = 0x2000 => "disable_schedule";
        /// Hidden on first registration.
        const HIDDEN_BY_DEFAULT = 0x10000 => "hidden_by_default";
    }
);

impl HandlerPolicies {
    /// `PREVENT_START_SYNC | PREVENT_STOP_SYNC`.
    pub const BACKGROUND_SYNC_ONLY: HandlerPolicies =
        HandlerPolicies::PREVENT_START_SYNC.union(HandlerPolicies::PREVENT_STOP_SYNC);
}

spec_flags!(
    /// `SYNCMGR_ITEM_CAPABILITIES` (§3.2.3).
    ItemCapabilities, FlagKind::ItemCapabilities, header_valid = 0x710017 {
        /// Provides a dynamic icon.
        const PROVIDES_ICON = 0x1 => "provides_icon";
        /// Keeps its own event store.
        const EVENT_STORE = 0x2 => "event_store";
        /// Keeps a conflict store.
        const CONFLICT_STORE = 0x4 => "conflict_store";
        /// May be deleted by the user.
        const CAN_DELETE = 0x10 => "can_delete";
        /// Offers *Browse Content*.
        const CAN_BROWSE_CONTENT = 0x10000 => "can_browse_content";
        /// Confirms before enabling.
        const QUERY_BEFORE_ENABLE = 0x100000 => "query_before_enable";
        /// Confirms before disabling.
        const QUERY_BEFORE_DISABLE = 0x200000 => "query_before_disable";
        /// Confirms before deletion.
        const QUERY_BEFORE_DELETE = 0x400000 => "query_before_delete";
    }
);

spec_flags!(
    /// `SYNCMGR_ITEM_POLICIES` (§3.2.4).
    ItemPolicies, FlagKind::ItemPolicies, header_valid = 0x102FF {
        /// Enabling refused.
        const PREVENT_ENABLE = 0x1 => "prevent_enable";
        /// Disabling refused.
        const PREVENT_DISABLE = 0x2 => "prevent_disable";
        /// Starting through control refused.
        const PREVENT_START_SYNC = 0x4 => "prevent_start_sync";
        /// Stopping refused.
        const PREVENT_STOP_SYNC = 0x8 => "prevent_stop_sync";
        /// *Enable* greyed.
        const DISABLE_ENABLE = 0x10 => "disable_enable";
        /// *Disable* greyed.
        const DISABLE_DISABLE = 0x20 => "disable_disable";
        /// *Start Sync* greyed.
        const DISABLE_START_SYNC = 0x40 => "disable_start_sync";
        /// *Stop Sync* greyed.
        const DISABLE_STOP_SYNC = 0x80 => "disable_stop_sync";
        /// *Browse* greyed.
        const DISABLE_BROWSE = 0x100 => "disable_browse";
        /// *Delete* greyed.
        const DISABLE_DELETE = 0x200 => "disable_delete";
        /// Hidden on first registration.
        const HIDDEN_BY_DEFAULT = 0x10000 => "hidden_by_default";
    }
);

spec_flags!(
    /// `SYNCMGR_CONTROL_FLAGS` (§3.3.1). `NOWAIT` is the empty set.
    ControlFlags, FlagKind::ControlFlags, header_valid = 0x3 {
        /// Return only when processed.
        const WAIT = 0x1 => "wait";
        /// Skip confirmations; tell the handler not to show UI.
        const NOUI = 0x2 => "noui";
    }
);

spec_flags!(
    /// `SYNCMGR_SYNC_CONTROL_FLAGS` (§3.3.2).
    SyncControlFlags, FlagKind::SyncControlFlags, header_valid = 0x1 {
        /// Sync only requested items that are not syncing right now.
        const IGNORE_IF_ALREADY_SYNCING = 0x1 => "ignore_if_already_syncing";
    }
);

spec_flags!(
    /// `SYNCMGR_RESOLUTION_ABILITIES` (§3.4.2): which resolutions a conflict allows.
    ResolutionAbilities, FlagKind::ResolutionAbilities, header_valid = 0x1F {
        /// A merged other version may be kept.
        const KEEP_OTHER = 0x1 => "keep_other";
        /// The most recent version may be kept.
        const KEEP_RECENT = 0x2 => "keep_recent";
        /// The item may be removed from the sync set.
        const REMOVE_FROM_SYNC_SET = 0x4 => "remove_from_sync_set";
        /// Not used by Windows; accepted.
        const KEEP_SINGLE = 0x8 => "keep_single";
        /// Several versions may be kept.
        const KEEP_MULTIPLE = 0x10 => "keep_multiple";
    }
);

spec_flags!(
    /// `SYNCMGR_CONFLICT_ITEM_TYPE` (§3.4.1): what happened to one version.
    ConflictItemType, FlagKind::ConflictItemType, header_valid = 0x3 {
        /// This version was updated.
        const UPDATED = 0x1 => "updated";
        /// This version was deleted.
        const DELETED = 0x2 => "deleted";
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_header() {
        assert_eq!(HandlerCapabilities::all().bits(), 0xF30017);
        assert_eq!(ItemCapabilities::all().bits(), 0x710017);
        // §5.23: validation uses the union of defined bits, which the header masks undercount.
        assert_eq!(HandlerPolicies::all().bits(), 0x13F3F);
        assert_eq!(ItemPolicies::all().bits(), 0x103FF);
        assert_eq!(HandlerPolicies::BACKGROUND_SYNC_ONLY.bits(), 0x30);
        assert_eq!(ResolutionAbilities::all().bits(), 0x1F);
        assert!(HandlerPolicies::from_mask(0x1000).is_ok());
        assert!(HandlerPolicies::from_mask(0x40).is_err());
        assert_eq!(HandlerPolicies::from_mask_lenient(0x1040), HandlerPolicies::DISABLE_BROWSE);
    }

    #[test]
    fn a_result_is_the_most_severe_completion_status() {
        use ProgressStatus::*;
        assert_eq!(ProgressStatus::aggregate([]), Succeeded);
        assert_eq!(ProgressStatus::aggregate([Succeeded, Canceled]), Canceled);
        assert_eq!(ProgressStatus::aggregate([Canceled, Disconnected, Succeeded]), Disconnected);
        assert_eq!(ProgressStatus::aggregate([Disconnected, Failed]), Failed);
        assert_eq!(ProgressStatus::aggregate([Updating]), Succeeded, "no completion status: succeeded");
    }

    #[test]
    fn retention_round_trips_its_names() {
        for r in crate::model::EventRetention::ALL {
            assert_eq!(crate::model::EventRetention::from_name(r.name()), Some(r));
        }
        assert_eq!(crate::model::EventRetention::from_name("Keep"), None);
        assert_eq!(crate::model::EventRetention::ReplaceOnSync.name(), "replace_on_sync");
    }

    #[test]
    fn enums_round_trip_numbers_and_names() {
        for s in ProgressStatus::ALL {
            assert_eq!(ProgressStatus::from_number(s.number()).unwrap(), *s);
            assert_eq!(ProgressStatus::from_name(s.name()), Some(*s));
        }
        assert!(ProgressStatus::from_number(0).is_err());
        assert!(ProgressStatus::from_number(7).is_err());
        assert!(EventLevel::from_number(4).is_err());
        assert_eq!(HandlerPolicies::from_names(["prevent_stop_sync", "hidden_by_default"]).unwrap().bits(), 0x10020);
        assert!(HandlerPolicies::from_names(["nope"]).is_err());
    }
}
