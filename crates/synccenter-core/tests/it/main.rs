//! Conformance tests for the 80 behaviours of `shared/syncmgr-spec.md` §4, one `bNN_*` test (or more) per
//! behaviour; `docs/conformance.md` maps each number to its test.

mod cancel;
mod conflicts;
mod control;
mod events;
mod history;
mod lifetime;
mod membership;
mod pause;
mod policies;
mod progress;
mod queue;
mod registry;
mod resolve;
mod sessions;
mod support;
mod values;
mod views;
