//! Malformed files: every error names the file, the line and the field.

use std::path::Path;

use synccenter_config::{ConfigError, parse};

const HANDLER: &str = "[[handler]]\nid = \"h\"\nname = \"H\"\n";
const ITEM: &str = "[[handler.item]]\nid = \"a\"\nname = \"A\"\nkind = \"rsync\"\n";

/// A valid handler (lines 1-3) and item (lines 4-7) followed by `extra` item lines from line 8 on.
fn item_with(extra: &str) -> String {
    format!("{HANDLER}{ITEM}{extra}")
}

fn errors(src: &str) -> Vec<ConfigError> {
    match parse(src, Path::new("/etc/sc/config.toml")) {
        Ok(c) => panic!("accepted:\n{src}\n{c:?}"),
        Err(e) => e.0,
    }
}

/// Asserts that `src` fails with an error on `field` at `line` whose reason contains `needle`.
#[track_caller]
fn check(name: &str, src: &str, field: &str, line: usize, needle: &str) {
    let errs = errors(src);
    let hit = errs.iter().find(|e| e.field == field);
    let Some(e) = hit else { panic!("{name}: no error on {field}; got {errs:#?}") };
    assert_eq!(e.line, Some(line), "{name}: {e}");
    assert!(e.column.is_some(), "{name}: {e}");
    assert!(e.reason.contains(needle), "{name}: {e} does not contain {needle:?}");
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("/etc/sc/config.toml:{line}:")), "{name}: {shown}");
    assert!(shown.contains(&format!(": {field}: ")), "{name}: {shown}");
}

#[test]
fn every_malformed_config_names_field_and_line() {
    let cmd = "command = [\"rsync\", \"-a\", \"x/\", \"y/\"]\n";
    let cases: Vec<(&str, String, &str, usize, &str)> = vec![
        (
            "unknown top-level field",
            "[daemon]\nhttp = \"127.0.0.1:1\"\n\n[dashboard]\nport = 1\n".into(),
            "dashboard",
            4,
            "unknown field",
        ),
        ("unknown daemon field", "[daemon]\n\nhttpx = \"x\"\n".into(), "daemon.httpx", 3, "unknown field `httpx`"),
        (
            "unknown item field",
            item_with(&format!("{cmd}shell = true\n")),
            "handler[0].item[0].shell",
            9,
            "unknown field `shell`",
        ),
        ("wrong type", format!("{HANDLER}comment = 7\n"), "handler[0].comment", 4, "invalid type"),
        (
            "wrong type in inline table",
            item_with(&format!("{cmd}retry = {{ attempts = \"3\" }}\n")),
            "handler[0].item[0].retry.attempts",
            9,
            "invalid type",
        ),
        (
            "bad duration",
            item_with(&format!("{cmd}timeout = \"10 minutes\"\n")),
            "handler[0].item[0].timeout",
            9,
            "not a duration",
        ),
        (
            "zero watchdog",
            item_with(&format!("{cmd}watchdog = \"0s\"\n")),
            "handler[0].item[0].watchdog",
            9,
            "longer than zero",
        ),
        (
            "duration without unit",
            format!("{HANDLER}freshness = \"24\"\n"),
            "handler[0].freshness",
            4,
            "without a unit",
        ),
        (
            "zero duration",
            format!("{HANDLER}schedule = {{ every = \"0s\" }}\n"),
            "handler[0].schedule.every",
            4,
            "longer than zero",
        ),
        (
            "bad cron",
            format!("{HANDLER}schedule = {{ cron = \"0 25 * * *\" }}\n"),
            "handler[0].schedule.cron",
            4,
            "invalid cron",
        ),
        (
            "cron with 4 fields",
            format!("{HANDLER}\nschedule = {{ cron = \"0 3 * *\" }}\n"),
            "handler[0].schedule.cron",
            5,
            "4 fields",
        ),
        (
            "schedule with both",
            format!("{HANDLER}schedule = {{ every = \"1h\", cron = \"0 3 * * *\" }}\n"),
            "handler[0].schedule",
            4,
            "both",
        ),
        (
            "schedule with neither",
            format!("{HANDLER}schedule = {{ jitter = \"1m\" }}\n"),
            "handler[0].schedule",
            4,
            "needs `every`",
        ),
        (
            "duplicate item id by case",
            item_with(&format!("{cmd}\n[[handler.item]]\nid = \"A\"\nname = \"A2\"\nkind = \"script\"\n{cmd}")),
            "handler[0].item[1].id",
            11,
            "duplicate item ID",
        ),
        (
            "duplicate handler id by case",
            format!("{HANDLER}\n[[handler]]\nid = \"H\"\nname = \"Other\"\n"),
            "handler[1].id",
            6,
            "duplicate handler ID",
        ),
        ("empty command", item_with("command = []\n"), "handler[0].item[0].command", 8, "must not be empty"),
        ("empty program", item_with("command = [\"\", \"x\"]\n"), "handler[0].item[0].command", 8, "program"),
        (
            "command as string",
            item_with("command = \"rsync -a x/ y/\"\n"),
            "handler[0].item[0].command",
            8,
            "command = [\"rsync\", \"-a\", \"x/\", \"y/\"]",
        ),
        (
            "unknown kind",
            format!("{HANDLER}[[handler.item]]\nid = \"a\"\nname = \"A\"\nkind = \"unison\"\n{cmd}"),
            "handler[0].item[0].kind",
            7,
            "unknown kind \"unison\"",
        ),
        (
            "unknown policy name",
            format!("{HANDLER}policies = [\"prevent_enable\",\n  \"prevent_everything\"]\n"),
            "handler[0].policies[1]",
            5,
            "unknown handler policy",
        ),
        (
            "unknown item capability",
            item_with(&format!("{cmd}capabilities = [\"fly\"]\n")),
            "handler[0].item[0].capabilities[0]",
            9,
            "unknown item capability",
        ),
        (
            "retry jitter 2.0",
            format!("{HANDLER}retry = {{ jitter = 2.0 }}\n"),
            "handler[0].retry.jitter",
            4,
            "between 0.0 and 1.0",
        ),
        (
            "retry attempts 0",
            item_with(&format!("{cmd}retry = {{ attempts = 0 }}\n")),
            "handler[0].item[0].retry.attempts",
            9,
            "between 1 and 1000",
        ),
        (
            "retry multiplier below 1",
            format!("{HANDLER}retry = {{ multiplier = 0.5 }}\n"),
            "handler[0].retry.multiplier",
            4,
            "between 1.0",
        ),
        (
            "id too long",
            format!("[[handler]]\nid = \"{}\"\nname = \"H\"\n", "x".repeat(64)),
            "handler[0].id",
            2,
            "64 UTF-16 units",
        ),
        (
            "id with control char",
            item_with(&format!("{cmd}[[handler.item]]\nid = \"b\\tc\"\nname = \"B\"\nkind = \"script\"\n{cmd}")),
            "handler[0].item[1].id",
            10,
            "control character",
        ),
        ("empty id", "[[handler]]\nid = \"\"\nname = \"H\"\n".into(), "handler[0].id", 2, "is empty"),
        (
            "missing name",
            "[[handler]]\nid = \"h\"\n\n[[handler]]\nid = \"g\"\ncomment = \"no name\"\n".into(),
            "handler[1].name",
            4,
            "missing field `name`",
        ),
        (
            "blank name",
            item_with(&format!("{cmd}[[handler.item]]\nid = \"b\"\nname = \"  \"\nkind = \"script\"\n{cmd}")),
            "handler[0].item[1].name",
            11,
            "must not be empty",
        ),
        (
            "missing command",
            item_with("timeout = \"1m\"\n"),
            "handler[0].item[0].command",
            4,
            "missing field `command`",
        ),
        (
            "unknown handler type",
            format!("{HANDLER}type = \"toaster\"\n"),
            "handler[0].type",
            4,
            "unknown handler type",
        ),
        (
            "unknown retention",
            format!("{HANDLER}retention = \"forever\"\n"),
            "handler[0].retention",
            4,
            "keep, replace_on_sync",
        ),
        (
            "unknown notify setting",
            format!("{HANDLER}notify = \"sometimes\"\n"),
            "handler[0].notify",
            4,
            "unknown notify setting \"sometimes\"; expected one of: never, failures, always",
        ),
        (
            "inhibit_sleep not a boolean",
            format!("{HANDLER}inhibit_sleep = \"no\"\n"),
            "handler[0].inhibit_sleep",
            4,
            "invalid type",
        ),
        (
            "on_ac_power not a boolean",
            format!("{HANDLER}on_ac_power = \"yes\"\n"),
            "handler[0].on_ac_power",
            4,
            "invalid type",
        ),
        (
            "unmetered_network not a boolean",
            item_with(&format!("{cmd}unmetered_network = 1\n")),
            "handler[0].item[0].unmetered_network",
            9,
            "invalid type",
        ),
        (
            "requires not an array",
            item_with(&format!("{cmd}requires = \"/media/usb\"\n")),
            "handler[0].item[0].requires",
            9,
            "invalid type",
        ),
        (
            "relative mount point",
            format!("{HANDLER}requires_mount = [\"media/usb\"]\n"),
            "handler[0].requires_mount[0]",
            4,
            "is not an absolute path; write the mount point",
        ),
        (
            "empty requires path",
            item_with(&format!("{cmd}requires = [\"\"]\n")),
            "handler[0].item[0].requires[0]",
            9,
            "must be a non-empty path",
        ),
        (
            "not a UUID",
            item_with(&format!("{cmd}requires_uuid = [\"my-usb-disk\"]\n")),
            "handler[0].item[0].requires_uuid[0]",
            9,
            "\"my-usb-disk\" is not a file system UUID",
        ),
        (
            "quiet hours without an end",
            format!("{HANDLER}quiet_hours = \"22:00\"\n"),
            "handler[0].quiet_hours",
            4,
            "\"22:00\" is not a span of time; write a span of local time such as \"22:00-07:00\"",
        ),
        (
            "quiet hours out of range",
            item_with(&format!("{cmd}quiet_hours = \"22:00-25:00\"\n")),
            "handler[0].item[0].quiet_hours",
            9,
            "\"25:00\" in \"22:00-25:00\" is not a time of day",
        ),
        (
            "quiet hours of no length",
            format!("{HANDLER}quiet_hours = \"07:00-07:00\"\n"),
            "handler[0].quiet_hours",
            4,
            "starts where it ends",
        ),
        (
            "max_age not a duration",
            format!("{HANDLER}on_ac_power = true\nmax_age = \"a week\"\n"),
            "handler[0].max_age",
            5,
            "a week",
        ),
        (
            "max_age with nothing to override",
            item_with(&format!("{cmd}max_age = \"7d\"\n")),
            "handler[0].item[0].max_age",
            9,
            "max_age qualifies the other run conditions, but this item has none",
        ),
        (
            "stop_when_unmet not a boolean",
            item_with(&format!("{cmd}on_ac_power = true\nstop_when_unmet = \"yes\"\n")),
            "handler[0].item[0].stop_when_unmet",
            10,
            "invalid type",
        ),
        ("bad http address", "[daemon]\nhttp = \"localhost\"\n".into(), "daemon.http", 2, "IP:PORT"),
        (
            "env value wrong type",
            item_with(&format!("{cmd}env = {{ A = \"1\", B = 2 }}\n")),
            "handler[0].item[0].env.B",
            9,
            "invalid type",
        ),
        (
            "env name with =",
            item_with(&format!("{cmd}env = {{ \"A=B\" = \"1\" }}\n")),
            "handler[0].item[0].env.A=B",
            9,
            "'='",
        ),
        ("handler as a table", "[handler]\nid = \"h\"\n".into(), "handler", 1, "[[handler]]"),
        ("a size that is not one", "[logs]\nmax_total = \"lots\"\n".into(), "logs.max_total", 2, "512 MiB"),
        ("a size as a number", "[logs]\nmax_total = 1024\n".into(), "logs.max_total", 2, "invalid type"),
        ("a run's log too small", "[logs]\nmax_per_run = \"4 KiB\"\n".into(), "logs.max_per_run", 2, "128 KiB"),
        (
            "all logs smaller than one run's",
            "[logs]\nmax_per_run = \"64 MiB\"\nmax_total = \"1 MiB\"\n".into(),
            "logs.max_total",
            3,
            "at least max_per_run",
        ),
        ("a zero log age", "[logs]\nmax_age = \"0s\"\n".into(), "logs.max_age", 2, "longer than zero"),
        ("no run's log kept", "[logs]\nmax_runs = 0\n".into(), "logs.max_runs", 2, "from 1 to 4294967295"),
        ("a negative count of logs", "[logs]\nmax_runs = -3\n".into(), "logs.max_runs", 2, "from 1 to 4294967295"),
        ("a count of logs as a string", "[logs]\nmax_runs = \"many\"\n".into(), "logs.max_runs", 2, "invalid type"),
        ("unknown logs field", "[logs]\nkeep = \"1d\"\n".into(), "logs.keep", 2, "unknown field `keep`"),
        ("invalid TOML syntax", format!("{HANDLER}comment = \"unterminated\n"), "(syntax)", 4, ""),
    ];
    assert!(cases.len() >= 15);
    for (name, src, field, line, needle) in &cases {
        check(name, src, field, *line, needle);
    }
}

#[test]
fn all_errors_are_collected_in_file_order() {
    let src = "\
[daemon]
grace_period = \"soon\"

[[handler]]
id = \"h\"
name = \"H\"
freshness = \"1y\"

[[handler.item]]
id = \"a\"
name = \"A\"
kind = \"nope\"
command = []
retry = { attempts = 0, jitter = 1.5 }

[[handler.item]]
id = \"b\"
bogus = 1
";
    let errs = errors(src);
    let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line.unwrap(), e.field.as_str())).collect();
    assert_eq!(
        got,
        [
            (2, "daemon.grace_period"),
            (7, "handler[0].freshness"),
            (12, "handler[0].item[0].kind"),
            (13, "handler[0].item[0].command"),
            (14, "handler[0].item[0].retry.attempts"),
            (14, "handler[0].item[0].retry.jitter"),
            (18, "handler[0].item[1].bogus"),
        ]
    );
}

#[test]
fn valid_item_is_accepted() {
    let src = item_with("command = [\"rsync\", \"-a\", \"x/\", \"y/\"]\n");
    let config = parse(&src, Path::new("/etc/sc/config.toml")).unwrap();
    let item = &config.handlers[0].items[0];
    assert_eq!(item.line, 4);
    assert_eq!(config.handlers[0].line, 1);
    assert_eq!(item.retry, synccenter_config::RetryPolicy::default());
    assert_eq!(item.schedule, None);
}

#[test]
fn qualifiers_inherited_without_a_condition_are_refused() {
    let cmd = "command = [\"true\"]\n";
    let src = format!("{HANDLER}max_age = \"7d\"\nstop_when_unmet = true\n{ITEM}{cmd}");
    let errs = errors(&src);
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["handler[0].item[0].max_age", "handler[0].item[0].stop_when_unmet"], "{errs:#?}");
    assert!(errs[0].reason.contains("the max_age it inherits from its handler qualifies"), "{}", errs[0]);
    assert!(errs[1].reason.contains("stop_when_unmet (inherited from its handler) qualifies"), "{}", errs[1]);
    let fine = format!("{HANDLER}max_age = \"7d\"\nstop_when_unmet = true\n{ITEM}{cmd}requires = [\"/media/usb\"]\n");
    parse(&fine, Path::new("c.toml")).unwrap_or_else(|e| panic!("{e}"));
}
