//! The shipped example parses, and `load` reads files.

use std::path::Path;
use std::time::Duration;

use synccenter_config::{
    Config, Kind, Notify, QuietHours, RunConditions, Target, Trigger, load, load_if_exists, parse,
};

#[test]
fn example_parses() {
    let path = Path::new("/home/me/.config/synccenter/config.toml");
    let config = parse(Config::example_toml(), path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.daemon.http.to_string(), "127.0.0.1:7420");
    assert_eq!(config.handlers.len(), 2);
    let backups = config.handler("BACKUPS").unwrap();
    assert_eq!(backups.items.len(), 3);
    assert_eq!(backups.notify, Notify::Failures);
    assert_eq!(config.handler("cloud").unwrap().notify, Notify::Failures, "failures unless declared");
    assert_eq!(backups.item("borg-home").unwrap().kind, Kind::Borg);
    let restic = backups.item("restic-home").unwrap();
    assert_eq!(restic.kind, Kind::Restic);
    assert_eq!(restic.retry.attempts, 5);
    // Fields the item does not override come from the handler.
    assert_eq!(restic.retry.max, backups.retry.max);
    assert!(matches!(restic.schedule.as_ref().unwrap().trigger, Trigger::Every(_)));
    let usb = backups.item("home-to-usb").unwrap();
    assert_eq!(usb.schedule, backups.schedule);
    assert_eq!(usb.freshness, backups.freshness);
    assert_eq!(usb.conditions.targets[0], Target::Path("/media/usb".into()));
    let notes = config.handler("cloud").unwrap().item("notes").unwrap();
    assert_eq!(notes.workdir.as_deref(), Some(Path::new("/home/me/.config/synccenter/scripts")));
    assert_eq!(notes.command, ["./sync-notes.sh", "--verbose"]);
    assert_eq!(notes.watchdog, Some(std::time::Duration::from_secs(300)));
    assert_eq!(config.handler("cloud").unwrap().items[0].watchdog, None, "no watchdog unless declared");
    assert_eq!(config.logs.max_per_run, Some(16 << 20));
    assert_eq!(config.logs.max_total, Some(512 << 20));
    assert_eq!(config.logs.max_age, Some(std::time::Duration::from_secs(30 * 24 * 3600)));
    let empty = parse("", path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(empty.logs, synccenter_config::LogsConfig::default(), "no [logs]: the daemon's defaults");
}

#[test]
fn example_uses_every_kind() {
    let config = parse(Config::example_toml(), Path::new("/c/config.toml")).unwrap_or_else(|e| panic!("{e}"));
    let used: Vec<Kind> = config.handlers.iter().flat_map(|h| h.items.iter().map(|i| i.kind)).collect();
    for kind in Kind::ALL {
        assert!(used.contains(&kind), "docs/config.example.toml has no item of kind {kind}");
    }
}

#[test]
fn example_file_on_disk_is_the_embedded_one() {
    let on_disk =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.example.toml")).unwrap();
    assert_eq!(on_disk, Config::example_toml());
}

#[test]
fn empty_file_is_the_default() {
    assert_eq!(parse("", Path::new("c.toml")).unwrap(), Config::default());
}

#[test]
fn load_reads_a_file_and_reports_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    assert_eq!(load_if_exists(&path).unwrap(), None);
    let e = load(&path).unwrap_err();
    assert_eq!(e.errors()[0].field, "(file)");
    assert!(e.to_string().starts_with(&format!("{}: (file): cannot read the file", path.display())));
    std::fs::write(&path, "[[handler]]\nid = \"h\"\nname = \"H\"\n").unwrap();
    assert_eq!(load(&path).unwrap().handlers.len(), 1);
    assert!(load_if_exists(&path).unwrap().is_some());
}

#[test]
fn notify_takes_each_of_its_names() {
    for notify in Notify::ALL {
        let src = format!("[[handler]]\nid = \"h\"\nname = \"H\"\nnotify = \"{}\"\n", notify.name());
        let config = parse(&src, Path::new("c.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.handlers[0].notify, notify);
    }
}

#[test]
fn inhibit_sleep_is_on_unless_turned_off() {
    let src = "[[handler]]\nid = \"h\"\nname = \"H\"\n[[handler]]\nid = \"g\"\nname = \"G\"\ninhibit_sleep = false\n";
    let config = parse(src, Path::new("c.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.handler("h").unwrap().inhibit_sleep, "on by default");
    assert!(!config.handler("g").unwrap().inhibit_sleep);
}

#[test]
fn run_conditions_are_off_unless_set_and_items_inherit_or_override_them() {
    let src = "[[handler]]\nid = \"h\"\nname = \"H\"\non_ac_power = true\n\
        [[handler.item]]\nid = \"a\"\nname = \"A\"\nkind = \"script\"\ncommand = [\"true\"]\n\
        [[handler.item]]\nid = \"b\"\nname = \"B\"\nkind = \"script\"\ncommand = [\"true\"]\n\
        on_ac_power = false\nunmetered_network = true\n\
        [[handler]]\nid = \"g\"\nname = \"G\"\n";
    let config = parse(src, Path::new("c.toml")).unwrap_or_else(|e| panic!("{e}"));
    let h = config.handler("h").unwrap();
    let on_ac = RunConditions { on_ac_power: true, ..RunConditions::default() };
    assert_eq!(h.conditions, on_ac);
    assert_eq!(h.item("a").unwrap().conditions, on_ac, "inherited from the handler");
    let b = RunConditions { unmetered_network: true, ..RunConditions::default() };
    assert_eq!(h.item("b").unwrap().conditions, b, "the item's keys win");
    assert!(!config.handler("g").unwrap().conditions.any(), "off by default");
    let example = parse(Config::example_toml(), Path::new("c.toml")).unwrap_or_else(|e| panic!("{e}"));
    let usb = example.handler("backups").unwrap().item("home-to-usb").unwrap();
    assert!(usb.conditions.on_ac_power && !usb.conditions.unmetered_network);
}

#[test]
fn targets_quiet_hours_and_max_age_parse_and_an_items_keys_replace_its_handlers() {
    let src = "[[handler]]\nid = \"h\"\nname = \"H\"\nrequires_uuid = [\"1234-ABCD\"]\n\
        quiet_hours = \"22:00-07:00\"\nmax_age = \"7d\"\nstop_when_unmet = true\n\
        [[handler.item]]\nid = \"a\"\nname = \"A\"\nkind = \"script\"\ncommand = [\"true\"]\n\
        [[handler.item]]\nid = \"b\"\nname = \"B\"\nkind = \"script\"\ncommand = [\"true\"]\n\
        requires = [\"data\"]\nrequires_mount = [\"/media/usb/\"]\nquiet_hours = \"9:30-13:00\"\n\
        max_age = \"1h\"\nstop_when_unmet = false\n";
    let config = parse(src, Path::new("/etc/sc/c.toml")).unwrap_or_else(|e| panic!("{e}"));
    let h = config.handler("h").unwrap();
    let a = &h.item("a").unwrap().conditions;
    assert_eq!(a, &h.conditions, "inherited whole");
    assert_eq!(a.targets, [Target::Uuid("1234-ABCD".into())]);
    assert_eq!(a.quiet_hours, Some(QuietHours { start: 22 * 60, end: 7 * 60 }));
    assert_eq!(a.max_age, Some(Duration::from_secs(7 * 86400)));
    assert!(a.stop_when_unmet && a.any());
    let b = &h.item("b").unwrap().conditions;
    assert_eq!(
        b.targets,
        [Target::Path("/etc/sc/data".into()), Target::Mount("/media/usb".into())],
        "the item's targets replace the handler's; a relative path is the file's directory's"
    );
    assert_eq!(b.quiet_hours, Some(QuietHours { start: 9 * 60 + 30, end: 13 * 60 }));
    assert_eq!(b.max_age, Some(Duration::from_secs(3600)));
    assert!(!b.stop_when_unmet);
}
