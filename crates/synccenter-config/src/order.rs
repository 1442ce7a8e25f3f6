//! Order between syncs, resolved: `after` (an item runs once the items it names have finished a run) is read with
//! the rest of an item, but can only be checked once every handler is known: it may name an item further down the
//! file. [`resolve`] is that last pass: it turns each reference into an [`ItemRef`], and refuses unknown,
//! ambiguous and self references and cycles, naming the cycle. (`exclusive` needs no pass: any name is a group.)
//! The daemon's scheduler decides what the order means at run time (`docs/configuration.md`, Order between syncs).

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use crate::model::{HandlerConfig, ItemRef};

/// An item's `after` list as written, waiting for every handler to be known.
#[derive(Debug)]
pub(crate) struct PendingAfter {
    pub(crate) owner: ItemRef,
    /// The dotted field of the list, such as `handler[1].item[0].after`.
    pub(crate) field: String,
    pub(crate) list: Spanned<Vec<Spanned<String>>>,
}

/// A problem [`resolve`] found: where, which field, why.
pub(crate) type OrderError = (Range<usize>, String, String);

/// Resolves every pending `after` list into its item's [`Order::after`](crate::model::Order::after); returns
/// the problems, in file order of the lists. Items of lists with problems keep what resolved (the configuration
/// is refused anyway).
pub(crate) fn resolve(handlers: &mut [HandlerConfig], pending: Vec<PendingAfter>) -> Vec<OrderError> {
    let mut errors = Vec::new();
    let mut edges: BTreeMap<ItemRef, Vec<ItemRef>> = BTreeMap::new();
    let mut spans: BTreeMap<ItemRef, (Range<usize>, String)> = BTreeMap::new();
    for p in &pending {
        let mut after: Vec<ItemRef> = Vec::new();
        for (i, word) in p.list.get_ref().iter().enumerate() {
            let field = format!("{}[{i}]", p.field);
            match reference(handlers, &p.owner, word.get_ref()) {
                Ok(r) if r == p.owner => {
                    errors.push((word.span(), field, "an item cannot run after itself".to_owned()))
                }
                Ok(r) if !after.contains(&r) => after.push(r),
                Ok(_) => {}
                Err(reason) => errors.push((word.span(), field, reason)),
            }
        }
        spans.insert(p.owner.clone(), (p.list.span(), p.field.clone()));
        edges.insert(p.owner.clone(), after);
    }
    for cycle in cycles(&edges) {
        // Reported once, at the member that comes first in the file.
        let first = cycle.iter().filter_map(|r| spans.get(r)).min_by_key(|(span, _)| span.start);
        if let Some((span, field)) = first {
            let path: Vec<String> = cycle.iter().chain(cycle.first()).map(|r| format!("{:?}", r.to_string())).collect();
            let reason = format!(
                "{} is a cycle: these items would wait for each other forever; remove one of these `after` entries",
                path.join(" → ")
            );
            errors.push((span.clone(), field.clone(), reason));
        }
    }
    for (owner, after) in edges {
        let item = handlers
            .iter_mut()
            .find(|h| h.id == owner.handler)
            .and_then(|h| h.items.iter_mut().find(|i| i.id == owner.item));
        if let Some(item) = item {
            item.order.after = after;
        }
    }
    errors.sort_by_key(|e| e.0.start);
    errors
}

/// The item `word` names: `"handler/item"`, or `"item"` of the owner's handler. IDs may contain `/`, so every
/// split is tried; more than one match is ambiguous.
fn reference(handlers: &[HandlerConfig], owner: &ItemRef, word: &str) -> Result<ItemRef, String> {
    let find = |handler: &str, item: &str| {
        let h = handlers.iter().find(|h| h.id.as_str().eq_ignore_ascii_case(handler))?;
        let i = h.item(item)?;
        Some(ItemRef { handler: h.id.clone(), item: i.id.clone() })
    };
    let mut found: Vec<ItemRef> =
        word.match_indices('/').filter_map(|(at, _)| find(&word[..at], &word[at + 1..])).collect();
    if let Some(own) = find(owner.handler.as_str(), word)
        && !found.contains(&own)
    {
        found.push(own);
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "{word:?} is not a configured item; write \"HANDLER/ITEM\" (such as \"backups/home\"), or the ID of an \
             item of this handler"
        )),
        _ => {
            let names: Vec<String> = found.iter().map(|r| format!("{:?}", r.to_string())).collect();
            Err(format!("{word:?} is ambiguous: it may name {}", names.join(" or ")))
        }
    }
}

/// The cycles of the graph, each as its members in order (the last runs after the first), each set of members
/// once.
fn cycles(edges: &BTreeMap<ItemRef, Vec<ItemRef>>) -> Vec<Vec<ItemRef>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: BTreeMap<&ItemRef, Mark> = BTreeMap::new();
    let mut out: Vec<Vec<ItemRef>> = Vec::new();
    for start in edges.keys() {
        if marks.contains_key(start) {
            continue;
        }
        // Depth first without recursion: each frame is a node and how many of its edges were followed.
        let mut stack: Vec<(&ItemRef, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::Open);
        while let Some((node, next)) = stack.last_mut() {
            let node: &ItemRef = node;
            let Some(to) = edges.get(node).and_then(|e| e.get(*next)) else {
                marks.insert(node, Mark::Done);
                stack.pop();
                continue;
            };
            *next += 1;
            match marks.get(to) {
                None => {
                    marks.insert(to, Mark::Open);
                    stack.push((to, 0));
                }
                Some(Mark::Open) => {
                    let from = stack.iter().position(|(n, _)| *n == to).unwrap_or(0);
                    let cycle: Vec<ItemRef> = stack[from..].iter().map(|(n, _)| (*n).clone()).collect();
                    let mut key = cycle.clone();
                    key.sort();
                    if !out.iter().any(|c| {
                        let mut k = c.clone();
                        k.sort();
                        k == key
                    }) {
                        out.push(cycle);
                    }
                }
                Some(Mark::Done) => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use synccenter_core::{HandlerId, ItemId};

    use super::*;

    fn r(h: &str, i: &str) -> ItemRef {
        ItemRef { handler: HandlerId::new(h).unwrap(), item: ItemId::new(i).unwrap() }
    }

    #[test]
    fn cycles_are_found_once_each_and_a_chain_is_none() {
        let mut edges = BTreeMap::new();
        edges.insert(r("a", "1"), vec![r("b", "1")]);
        edges.insert(r("b", "1"), vec![r("c", "1")]);
        edges.insert(r("c", "1"), vec![r("a", "1")]);
        edges.insert(r("d", "1"), vec![r("a", "1")]);
        let found = cycles(&edges);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].len(), 3, "{found:?}");
        edges.insert(r("c", "1"), vec![]);
        assert!(cycles(&edges).is_empty());
    }
}
