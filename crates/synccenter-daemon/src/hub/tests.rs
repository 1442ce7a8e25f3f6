//! Unit tests of the handlers: a hub over a fresh model, calls made directly, replies read from the outbox.
