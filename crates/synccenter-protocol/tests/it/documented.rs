//! `docs/protocol.md` documents exactly the declared methods: a method documented but not declared, or
//! declared but not documented, fails here; so does a forwardable method the document does not list as taking
//! a `host`.

use std::collections::BTreeSet;

use synccenter_protocol::api;
use synccenter_protocol::methods::names;

const PUSHES: &[&str] = &[
    names::PUSH_CANCEL_REQUESTED,
    names::PUSH_SYNC_REQUESTED,
    names::PUSH_SYNC_RESULT,
    names::PUSH_RESOLUTION_REQUESTED,
    names::PUSH_UPDATE,
];

fn document() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md");
    std::fs::read_to_string(path).expect("docs/protocol.md")
}

/// The text between the heading `start` and the next heading of the same level.
fn section<'a>(doc: &'a str, start: &str) -> &'a str {
    let from = doc.find(start).unwrap_or_else(|| panic!("{start} is missing"));
    let rest = &doc[from + start.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    &rest[..end]
}

/// Every `name` in backticks on the lines that `keep` selects, the part before a colon for bullets.
fn quoted<'a>(text: &'a str, keep: impl Fn(&'a str) -> Option<&'a str>) -> BTreeSet<String> {
    text.lines()
        .filter_map(keep)
        .flat_map(|line| line.split('`').skip(1).step_by(2).map(str::to_owned).collect::<Vec<_>>())
        .filter(|name| !PUSHES.contains(&name.as_str()))
        .collect()
}

fn documented_methods(doc: &str) -> BTreeSet<String> {
    let mut methods = quoted(section(doc, "\n## Methods\n"), |l| l.strip_prefix("### "));
    let fleet = section(doc, "\n## Fleet methods\n");
    methods.extend(quoted(fleet, |l| l.strip_prefix("- ").and_then(|l| l.split_once(':')).map(|(name, _)| name)));
    methods
}

#[test]
fn every_declared_method_is_documented_and_nothing_else() {
    let doc = document();
    let documented = documented_methods(&doc);
    let declared: BTreeSet<String> = api::ALL.iter().map(|m| m.name.to_owned()).collect();
    let undocumented: Vec<_> = declared.difference(&documented).collect();
    let undeclared: Vec<_> = documented.difference(&declared).collect();
    assert!(undocumented.is_empty(), "declared but not in docs/protocol.md: {undocumented:?}");
    assert!(undeclared.is_empty(), "in docs/protocol.md but not declared: {undeclared:?}");
}

#[test]
fn the_methods_documented_as_taking_a_host_are_the_forwardable_ones() {
    let doc = document();
    let line = section(&doc, "\n## Fleet methods\n")
        .lines()
        .find(|l| l.contains("take an optional `host`"))
        .expect("the sentence listing the methods that take a host");
    let documented = quoted(line.split(" take ").next().unwrap_or_default(), Some);
    let declared: BTreeSet<String> = api::ALL.iter().filter(|m| m.forwardable).map(|m| m.name.to_owned()).collect();
    assert_eq!(documented, declared);
}
