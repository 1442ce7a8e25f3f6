//! Replays real rsync, restic, rclone, borg and script output (`tests/data/`, see its README) through the
//! readers and the outcome rules, and checks concrete values.

mod borg;
mod events;
mod fixtures;
mod rclone;
mod restic;
mod rsync;
mod script;
mod stop;
