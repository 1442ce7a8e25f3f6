//! Integration tests of the daemon through its public protocol, on a real daemon with a temporary socket and
//! store.

mod bad_input;
mod commands;
mod doc_transcripts;
mod faults;
mod lifecycle;
mod limits;
mod owners;
mod python_client;
mod sessions;
mod transport;
