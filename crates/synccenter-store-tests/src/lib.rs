//! # synccenter-store-tests
//!
//! The `Store` conformance suite, written once for every backend (house style H8). A backend implements
//! [`StoreFixture`] and calls [`store_conformance!`] from its `tests/it/main.rs`; the macro expands one
//! `#[tokio::test]` per behaviour, so a failure names both the behaviour and the backend. The invoking crate
//! needs `tokio` (with `macros` and `rt`) as a dev-dependency.
//!
//! The reference semantics are those of `synccenter_core::MemoryStore`, which runs the same suite.

#![warn(missing_docs)]

use std::future::Future;

use synccenter_core::{HandlerId, Store};

pub mod cases;
pub mod facade;
pub mod retention;
pub mod sample;

/// How the suite gets stores of one backend.
pub trait StoreFixture: Sized {
    /// The backend.
    type Store: Store + 'static;

    /// Whether the backend can be tested here; when it cannot, each generated case returns at once. A backend
    /// that needs a server answers through `synccenter_test_support::require` (a failure under CI, a
    /// `SKIPPED:` line elsewhere).
    fn available() -> bool {
        true
    }

    /// A fixture over fresh, empty storage (a temporary directory, a new database...).
    fn fresh() -> impl Future<Output = Self>;

    /// Opens the fixture's storage.
    fn open(&self) -> impl Future<Output = Self::Store>;

    /// Closes `old` and opens the same storage again, as a restarted process would. A backend without
    /// persistence hands `old` back.
    fn reopen(&self, old: Self::Store) -> impl Future<Output = Self::Store>;

    /// Writes `damage` into the storage beneath the store, as a bug or a hand edit could, so that a case can
    /// check that reads trust nothing; returns how many rows it changed. `None` when the backend keeps nothing
    /// beneath its records to damage (the reference `MemoryStore`); every backend that stores rows writes each
    /// [`Damage`].
    fn damage(&self, damage: &Damage) -> impl Future<Output = Option<u64>> {
        let _ = damage;
        async { None }
    }
}

/// A stored value that no build writes through the `Store` trait, for [`StoreFixture::damage`].
#[derive(Clone, Debug)]
pub enum Damage {
    /// The handler's stored pause loses its start and keeps its end.
    PauseEndWithoutStart(HandlerId),
}

/// Expands one `#[tokio::test]` per conformance case for a [`StoreFixture`] type.
#[macro_export]
macro_rules! store_conformance {
    ($fixture:ty) => {
        $crate::store_conformance!(@cases $fixture; cases:
            registry_round_trip,
            handler_saved_again_keeps_items,
            item_of_unknown_handler_is_ignored,
            item_deleted_keeps_events_and_history,
            handler_deleted_keeps_events_and_history,
            event_insert_and_get,
            events_listed_newest_first,
            events_paged_with_cursor,
            event_filter_fields,
            count_events_matches_filter,
            remove_events_returns_existing_count,
            clear_events_with_filter,
            events_purged_by_handler_and_time,
            conflict_save_update_remove,
            conflict_resolutions_persist,
            session_history_lifecycle,
            list_sessions_newest_first_with_filter_and_cursor,
            get_session_unknown_is_none,
            load_returns_only_live_sessions,
            apply_is_ordered_and_empty_apply_is_harmless,
            large_batch_keeps_order_and_replacements,
            counts_follow_rewrites_and_deletes,
            pause_end_without_start_is_corrupt,
            prune_removes_events_by_age_per_level,
            prune_keeps_the_newest_per_handler_and_level,
            prune_removes_ended_sessions_never_live_ones,
            prune_forever_and_zero_limit_remove_nothing,
        ; facade:
            restart_ends_live_session,
            error_counts_and_remove_events,
            replace_on_sync_drops_previous_events,
            keep_retention_keeps_events,
            everything_durable_survives_reopen,
        );
    };
    (@cases $fixture:ty; cases: $($case:ident),* $(,)?; facade: $($fcase:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                if <$fixture as $crate::StoreFixture>::available() {
                    $crate::cases::$case::<$fixture>().await
                }
            }
        )*
        $(
            #[tokio::test]
            async fn $fcase() {
                if <$fixture as $crate::StoreFixture>::available() {
                    $crate::facade::$fcase::<$fixture>().await
                }
            }
        )*
    };
}
