//! Order between syncs in the file: `after` references resolve across handlers, and unknown or ambiguous
//! references, an item after itself, cycles and `after` with a schedule are refused with the field and line.

use std::path::Path;

use synccenter_config::{ConfigError, parse};

/// A handler `h` (a schedule every hour, in group `disk`) with items; each `(id, extra lines)`.
fn handler(id: &str, extra: &str, items: &[(&str, &str)]) -> String {
    let mut s = format!("[[handler]]\nid = \"{id}\"\nname = \"{id}\"\n{extra}\n");
    for (item, lines) in items {
        s.push_str(&format!(
            "[[handler.item]]\nid = \"{item}\"\nname = \"{item}\"\nkind = \"script\"\ncommand = [\"true\"]\n{lines}\n"
        ));
    }
    s
}

fn errors(src: &str) -> Vec<ConfigError> {
    match parse(src, Path::new("/c/config.toml")) {
        Ok(c) => panic!("accepted:\n{src}\n{c:?}"),
        Err(e) => e.0,
    }
}

/// The line of the first line of `src` that starts with `prefix` (1-based).
fn line_of(src: &str, nth: usize, prefix: &str) -> usize {
    src.lines().enumerate().filter(|(_, l)| l.starts_with(prefix)).nth(nth).map(|(n, _)| n + 1).expect(prefix)
}

#[test]
fn after_resolves_across_handlers_and_takes_the_item_off_every_schedule() {
    let src = format!(
        "{}{}",
        handler("local", "schedule = { every = \"1h\" }\nexclusive = \"disk\"", &[("backup", ""), ("check", "")]),
        handler(
            "offsite",
            "schedule = { every = \"1h\" }",
            &[
                ("copy", "after = [\"LOCAL/backup\", \"local/check\", \"local/backup\"]\nexclusive = \"net\""),
                ("prune", "after = [\"copy\"]"),
                ("plain", ""),
            ]
        )
    );
    let config = parse(&src, Path::new("/c/config.toml")).unwrap_or_else(|e| panic!("{e}"));
    let local = config.handler("local").unwrap();
    assert_eq!(local.exclusive.as_deref(), Some("disk"));
    assert_eq!(local.item("backup").unwrap().order.exclusive.as_deref(), Some("disk"), "inherited");
    assert!(local.item("backup").unwrap().order.after.is_empty());
    let offsite = config.handler("offsite").unwrap();
    let copy = offsite.item("copy").unwrap();
    let names: Vec<String> = copy.order.after.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["local/backup", "local/check"], "case folded to the IDs, each once, in file order");
    assert_eq!(copy.order.exclusive.as_deref(), Some("net"));
    assert_eq!(copy.schedule, None, "an item with `after` runs by no schedule, not the handler's either");
    let prune = offsite.item("prune").unwrap();
    assert_eq!(prune.order.after.iter().map(ToString::to_string).collect::<Vec<_>>(), ["offsite/copy"]);
    assert_eq!(prune.order.exclusive, None);
    assert!(offsite.item("plain").unwrap().schedule.is_some(), "items without `after` keep the schedule");
    let empty = handler("h", "schedule = { every = \"1h\" }", &[("a", "after = []")]);
    let config = parse(&empty, Path::new("/c/config.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.handlers[0].items[0].schedule.is_some(), "an empty list is no `after`");
}

#[test]
fn a_cycle_is_refused_naming_every_member() {
    let src = format!(
        "{}{}",
        handler("a", "", &[("one", "after = [\"b/two\"]")]),
        handler("b", "", &[("two", "after = [\"c/three\"]")])
    ) + &handler("c", "", &[("three", "after = [\"a/one\"]")]);
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "one cycle, one error: {errs:#?}");
    let e = &errs[0];
    assert_eq!(e.field, "handler[0].item[0].after", "{e}");
    assert_eq!(e.line, Some(line_of(&src, 0, "after")), "{e}");
    for member in ["\"a/one\"", "\"b/two\"", "\"c/three\""] {
        assert!(e.reason.contains(member), "{e}");
    }
    assert!(e.reason.contains("cycle"), "{e}");
}

#[test]
fn bad_references_are_refused_with_their_place() {
    let src = handler(
        "h",
        "",
        &[
            ("a", "after = [\"nowhere/x\", \"a\"]"),
            ("b", "after = [\"a\"]\nschedule = { every = \"1h\" }"),
            ("c", "exclusive = \"\""),
        ],
    );
    let errs = errors(&src);
    let find = |field: &str| {
        errs.iter().find(|e| e.field == field).unwrap_or_else(|| panic!("no error on {field}: {errs:#?}")).clone()
    };
    let unknown = find("handler[0].item[0].after[0]");
    assert!(unknown.reason.contains("\"nowhere/x\" is not a configured item"), "{unknown}");
    assert_eq!(unknown.line, Some(line_of(&src, 0, "after")));
    let own = find("handler[0].item[0].after[1]");
    assert!(own.reason.contains("cannot run after itself"), "{own}");
    let scheduled = find("handler[0].item[1].schedule");
    assert!(scheduled.reason.contains("remove `schedule` or `after`"), "{scheduled}");
    assert_eq!(scheduled.line, Some(line_of(&src, 0, "schedule")));
    let group = find("handler[0].item[2].exclusive");
    assert!(group.reason.contains("must not be empty"), "{group}");
    assert_eq!(errs.len(), 4, "{errs:#?}");
}

#[test]
fn a_reference_two_items_match_is_ambiguous() {
    // IDs may contain `/`: "x/y" is both item "y" of handler "x" and item "x/y" of this handler.
    let src =
        format!("{}{}", handler("x", "", &[("y", "")]), handler("h", "", &[("x/y", ""), ("a", "after = [\"x/y\"]")]));
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].field, "handler[1].item[1].after[0]");
    assert!(errs[0].reason.contains("ambiguous") && errs[0].reason.contains("\"h/x/y\""), "{}", errs[0]);
}
