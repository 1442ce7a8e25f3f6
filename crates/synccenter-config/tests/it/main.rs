//! Integration tests of `synccenter-config`: the shipped example, malformed files, schedule semantics.

mod errors;
mod example;
mod messages;
mod order;
mod schedule;
