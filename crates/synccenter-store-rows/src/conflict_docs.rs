//! The JSON documents of a conflict row: its versions and its resolution.
//!
//! The core's records are not serde types (house style H3), so the documents are private serde structs
//! defined here. Their JSON text is what every earlier build wrote: field names and order, the `choice` tag
//! and its spellings must not change (a test pins the text).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use synccenter_core::{
    ConflictId, ConflictItemType, ConflictVersion, KeptVersion, Resolution, ResolutionChoice, Timestamp,
};

use crate::{Bad, Read};

#[derive(Debug, Serialize, Deserialize)]
struct VersionDoc {
    original_name: Option<String>,
    alternate_name: Option<String>,
    location_short: String,
    location_full: String,
    item_type: u32,
    modified: Option<i64>,
    size: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeptDoc {
    index: u64,
    new_name: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "choice", rename_all = "snake_case")]
enum ChoiceDoc {
    KeepItems { keep: Vec<KeptDoc> },
    KeepRecent,
    KeepOther { location: String },
    RemoveFromSyncSet,
}

#[derive(Debug, Serialize, Deserialize)]
struct ResolutionDoc {
    #[serde(flatten)]
    choice: ChoiceDoc,
    requested_at: i64,
    applied_from: Option<String>,
}

/// The versions document.
pub(crate) fn versions_doc(versions: &[ConflictVersion]) -> Result<Value, serde_json::Error> {
    let docs: Vec<VersionDoc> = versions
        .iter()
        .map(|v| VersionDoc {
            original_name: v.original_name.clone(),
            alternate_name: v.alternate_name.clone(),
            location_short: v.location_short.clone(),
            location_full: v.location_full.clone(),
            item_type: v.item_type.bits(),
            modified: v.modified.map(Timestamp::as_micros),
            size: v.size,
        })
        .collect();
    serde_json::to_value(docs)
}

/// The resolution document.
pub(crate) fn resolution_doc(r: &Resolution) -> Result<Value, serde_json::Error> {
    let choice = match &r.choice {
        ResolutionChoice::KeepItems(kept) => ChoiceDoc::KeepItems {
            keep: kept.iter().map(|k| KeptDoc { index: k.index as u64, new_name: k.new_name.clone() }).collect(),
        },
        ResolutionChoice::KeepRecent => ChoiceDoc::KeepRecent,
        ResolutionChoice::KeepOther(location) => ChoiceDoc::KeepOther { location: location.clone() },
        ResolutionChoice::RemoveFromSyncSet => ChoiceDoc::RemoveFromSyncSet,
    };
    serde_json::to_value(ResolutionDoc {
        choice,
        requested_at: r.requested_at.as_micros(),
        applied_from: r.applied_from.map(|c| c.0.hyphenated().to_string()),
    })
}

/// Reads a stored versions document.
pub(crate) fn versions_from(text: &str) -> Read<Vec<ConflictVersion>> {
    let docs: Vec<VersionDoc> = serde_json::from_str(text).map_err(|e| Bad::new("conflict versions document", e))?;
    Ok(docs
        .into_iter()
        .map(|v| ConflictVersion {
            original_name: v.original_name,
            alternate_name: v.alternate_name,
            location_short: v.location_short,
            location_full: v.location_full,
            item_type: ConflictItemType::from_mask_lenient(v.item_type),
            modified: v.modified.map(Timestamp::from_micros),
            size: v.size,
        })
        .collect())
}

/// Reads a stored resolution document.
pub(crate) fn resolution_from(text: &str) -> Read<Resolution> {
    let doc: ResolutionDoc = serde_json::from_str(text).map_err(|e| Bad::new("conflict resolution document", e))?;
    let choice = match doc.choice {
        ChoiceDoc::KeepItems { keep } => ResolutionChoice::KeepItems(
            keep.into_iter()
                .map(|k| {
                    let index = usize::try_from(k.index).map_err(|_| Bad::new("kept version index", k.index))?;
                    Ok(KeptVersion { index, new_name: k.new_name })
                })
                .collect::<Read<Vec<_>>>()?,
        ),
        ChoiceDoc::KeepRecent => ResolutionChoice::KeepRecent,
        ChoiceDoc::KeepOther { location } => ResolutionChoice::KeepOther(location),
        ChoiceDoc::RemoveFromSyncSet => ResolutionChoice::RemoveFromSyncSet,
    };
    let applied_from = doc
        .applied_from
        .map(|s| uuid::Uuid::try_parse(&s).map(ConflictId).map_err(|e| Bad::new("conflict ID", e)))
        .transpose()?;
    Ok(Resolution { choice, requested_at: Timestamp::from_micros(doc.requested_at), applied_from })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions() -> Vec<ConflictVersion> {
        vec![
            ConflictVersion {
                original_name: Some("a\0 \"ü\".txt".into()),
                alternate_name: Some("b.txt".into()),
                location_short: "here".into(),
                location_full: "/x/y".into(),
                item_type: ConflictItemType::UPDATED,
                modified: Some(Timestamp::from_micros(-3)),
                size: Some(u64::MAX),
            },
            ConflictVersion {
                original_name: None,
                alternate_name: None,
                location_short: String::new(),
                location_full: "✓".into(),
                item_type: ConflictItemType::from_mask_lenient(0),
                modified: None,
                size: None,
            },
        ]
    }

    fn resolution(choice: ResolutionChoice, applied_from: Option<u128>) -> Resolution {
        Resolution {
            choice,
            requested_at: Timestamp::from_micros(8),
            applied_from: applied_from.map(|n| ConflictId(uuid::Uuid::from_u128(n))),
        }
    }

    /// The exact text earlier builds wrote (taken from the SQLite store before the codec moved here): a SQLite
    /// file keeps it byte for byte, so a change here would make old and new rows differ.
    #[test]
    fn the_documents_json_text_is_pinned() {
        assert_eq!(
            versions_doc(&versions()).unwrap().to_string(),
            r#"[{"original_name":"a\u0000 \"ü\".txt","alternate_name":"b.txt","location_short":"here","location_full":"/x/y","item_type":1,"modified":-3,"size":18446744073709551615},{"original_name":null,"alternate_name":null,"location_short":"","location_full":"✓","item_type":0,"modified":null,"size":null}]"#
        );
        let kept = vec![KeptVersion { index: 0, new_name: Some("n".into()) }, KeptVersion { index: 1, new_name: None }];
        let pinned = [
            (
                resolution(ResolutionChoice::KeepItems(kept), Some(0x1234)),
                r#"{"choice":"keep_items","keep":[{"index":0,"new_name":"n"},{"index":1,"new_name":null}],"requested_at":8,"applied_from":"00000000-0000-0000-0000-000000001234"}"#,
            ),
            (
                resolution(ResolutionChoice::KeepRecent, None),
                r#"{"choice":"keep_recent","requested_at":8,"applied_from":null}"#,
            ),
            (
                resolution(ResolutionChoice::KeepOther("elsewhere".into()), None),
                r#"{"choice":"keep_other","location":"elsewhere","requested_at":8,"applied_from":null}"#,
            ),
            (
                resolution(ResolutionChoice::RemoveFromSyncSet, None),
                r#"{"choice":"remove_from_sync_set","requested_at":8,"applied_from":null}"#,
            ),
        ];
        for (r, text) in pinned {
            assert_eq!(resolution_doc(&r).unwrap().to_string(), text);
            assert_eq!(resolution_from(text).unwrap(), r, "{text} reads back");
        }
    }

    #[test]
    fn documents_round_trip_whatever_the_key_order() {
        let text = versions_doc(&versions()).unwrap().to_string();
        assert_eq!(versions_from(&text).unwrap(), versions());
        // PostgreSQL's jsonb hands documents back with its own key order and spacing.
        let reordered = r#"{"applied_from": null, "choice": "keep_recent", "requested_at": 8}"#;
        assert_eq!(resolution_from(reordered).unwrap(), resolution(ResolutionChoice::KeepRecent, None));
    }

    #[test]
    fn damaged_documents_are_bad() {
        assert_eq!(versions_from("{}").unwrap_err().what, "conflict versions document");
        assert_eq!(versions_from("[{\"item_type\": -1}]").unwrap_err().what, "conflict versions document");
        let guess = r#"{"choice":"guess","requested_at":1,"applied_from":null}"#;
        assert_eq!(resolution_from(guess).unwrap_err().what, "conflict resolution document");
        let bad_id = r#"{"choice":"keep_recent","requested_at":1,"applied_from":"nope"}"#;
        assert_eq!(resolution_from(bad_id).unwrap_err().what, "conflict ID");
    }
}
