//! Every error a person can meet in `config.toml` and in a command handler's run reads as words (the shared
//! check of `synccenter-core/tests/words`): the configuration's own errors, found by loading a file with many
//! mistakes, and each variant of the errors of `synccenter-runs` and `synccenter-config`. The walks match
//! without a wildcard, so a new variant does not compile here until it has a sample.

use std::path::Path;
use std::time::Duration;

use synccenter_config::{DurationError, parse};
use synccenter_runs::notify::Refused;
use synccenter_runs::script::MalformedLine;
use synccenter_runs::{PolicyError, UnknownKind};

#[path = "../../../synccenter-core/tests/words/mod.rs"]
mod words;

fn check(e: &impl std::fmt::Display) {
    words::assert_words(&e.to_string());
}

#[test]
fn configuration_errors_read_as_words() {
    let bad = r#"
[daemon]
http = "localhost"
grace_period = "10"

[[handler]]
id = "bad id\twith tab"
name = ""
type = "spaceship"
retention = "forever"
schedule = { every = "5 minutes" }
retry = { attempts = 0, multiplier = 0.5, jitter = 2.0, initial = "1h", max = "1m" }

[[handler.item]]
id = ""
name = "x"
kind = "unison"
command = "rsync -a src dst"
timeout = "1000000d"

[[handler.item]]
id = "two"
name = "Two"
kind = "Rsync"
command = []
schedule = { cron = "not a cron" }

[[handler.item]]
id = "three"
name = "Three"
kind = "script"
command = ["true"]
requires_mount = ["media/usb"]
requires_uuid = ["my disk"]
quiet_hours = "22:00-25:00"
max_age = "a week"
stop_when_unmet = true

[[handler.item]]
id = "four"
name = "Four"
kind = "script"
command = ["true"]
quiet_hours = "7-8"
max_age = "7d"
"#;
    let errors = parse(bad, Path::new("/c/config.toml")).expect_err("refused");
    assert!(errors.errors().len() >= 10, "{errors}");
    for e in errors.errors() {
        check(e);
    }
    let text = errors.to_string();
    assert!(text.contains("contains a control character"), "{text}");
    assert!(text.contains("expected one of: rsync, restic, rclone, script, borg"), "{text}");
    for field in
        ["requires_mount[0]", "requires_uuid[0]", "item[2].quiet_hours", "item[2].max_age", "item[3].quiet_hours"]
    {
        assert!(errors.errors().iter().any(|e| e.field.ends_with(field)), "no error on {field}: {text}");
    }
    assert!(!text.contains("qualifies"), "no second error for the keys a wrong condition qualifies: {text}");
    assert!(text.contains("\"7-8\" is not a time of day") || text.contains("\"7\" in \"7-8\""), "{text}");
}

#[test]
fn every_duration_error_reads_as_words() {
    let samples = [
        DurationError::Empty,
        DurationError::MissingUnit { text: "10".into(), number: "10".into() },
        DurationError::UnknownUnit { text: "5y".into(), unit: "y".into() },
        DurationError::Malformed { text: "m5".into() },
        DurationError::TooLong { text: "99999d".into() },
    ];
    for e in &samples {
        match e {
            DurationError::Empty
            | DurationError::MissingUnit { .. }
            | DurationError::UnknownUnit { .. }
            | DurationError::Malformed { .. }
            | DurationError::TooLong { .. } => check(e),
        }
    }
}

#[test]
fn every_run_error_reads_as_words() {
    check(&UnknownKind { name: "Unison".into() });
    let lines = [
        MalformedLine::NoVerb,
        MalformedLine::UnknownVerb("Frobnicate".into()),
        MalformedLine::MissingArgument { verb: "progress" },
        MalformedLine::BadProgress("three of ten".into()),
        MalformedLine::BadJson { verb: "conflict", reason: "expected value at line 1 column 2".into() },
        MalformedLine::TooManyVersions { count: 9, max: 8 },
    ];
    for e in &lines {
        match e {
            MalformedLine::NoVerb
            | MalformedLine::UnknownVerb(_)
            | MalformedLine::MissingArgument { .. }
            | MalformedLine::BadProgress(_)
            | MalformedLine::BadJson { .. }
            | MalformedLine::TooManyVersions { .. } => check(e),
        }
    }
    let policies = [
        PolicyError::NoAttempts,
        PolicyError::Multiplier(0.5),
        PolicyError::Jitter(2.0),
        PolicyError::InitialAboveMax { initial: Duration::from_secs(3600), max: Duration::from_millis(1500) },
    ];
    for e in &policies {
        match e {
            PolicyError::NoAttempts
            | PolicyError::Multiplier(_)
            | PolicyError::Jitter(_)
            | PolicyError::InitialAboveMax { .. } => check(e),
        }
    }
    for e in [Refused::TooLong(70_000), Refused::Nul] {
        match e {
            Refused::TooLong(_) | Refused::Nul => check(&e),
        }
    }
}
