//! The conflict store (§1.8, §2.18, §5.33): conflicts reported by owners, resolutions chosen by the user and
//! handed to the owner, and removal only when the owner says the conflict is gone.

use super::Center;
use crate::enums::{ResolutionAbilities, ValueError};
use crate::error::CoreError;
use crate::model::{Conflict, NewConflict, Resolution, ResolutionChoice, ResolveOutcome};
use crate::notice::Notice;
use crate::store::Change;
use crate::text::{
    ConflictId, HandlerId, ItemId, MAX_EVENT_DESCRIPTION_UNITS, MAX_NAME_UNITS, SessionId, truncate_marked,
};

/// Most versions one conflict may carry.
pub const MAX_CONFLICT_VERSIONS: usize = 64;

impl Center {
    /// A session's owner reports a conflict; the item, if any, must be part of the session.
    pub fn report_conflict(&mut self, session: SessionId, new: NewConflict) -> Result<ConflictId, CoreError> {
        let s = self.live(session)?;
        if let Some(item) = &new.item
            && s.member(item).is_none()
        {
            return Err(CoreError::NotMember { session, item: item.clone() });
        }
        let handler = s.handler.clone();
        self.save_conflict(&handler, new)
    }

    /// A handler's store reports a conflict outside any session (`UpdateConflicts` / `UpdateConflict` ADDED or
    /// CHANGED): the same `key` updates the existing conflict and clears a recorded resolution.
    pub fn add_conflict(&mut self, handler: &HandlerId, new: NewConflict) -> Result<ConflictId, CoreError> {
        if let Some(item) = &new.item {
            self.item_ref(handler, item)?;
        } else {
            self.entry(handler)?;
        }
        self.save_conflict(handler, new)
    }

    fn save_conflict(&mut self, handler: &HandlerId, new: NewConflict) -> Result<ConflictId, CoreError> {
        if new.name.trim().is_empty() {
            return Err(CoreError::EmptyArgument("conflict name"));
        }
        if new.versions.len() < 2 {
            return Err(ValueError::OutOfRange {
                what: "number of conflict versions (at least 2)",
                value: new.versions.len() as i64,
            }
            .into());
        }
        if new.versions.len() > MAX_CONFLICT_VERSIONS {
            return Err(CoreError::CapacityExceeded { what: "versions per conflict", limit: MAX_CONFLICT_VERSIONS });
        }
        let existing = new
            .key
            .as_ref()
            .and_then(|k| self.conflicts.values().find(|c| &c.handler == handler && c.key.as_ref() == Some(k)))
            .map(|c| c.id);
        let id = existing.unwrap_or_else(|| ConflictId(self.ids.next_uuid()));
        let conflict = Conflict {
            id,
            handler: handler.clone(),
            item: new.item,
            key: new.key,
            name: truncate_marked(&new.name, MAX_NAME_UNITS),
            description: truncate_marked(&new.description, MAX_EVENT_DESCRIPTION_UNITS),
            versions: new.versions,
            abilities: new.abilities,
            detected_at: self.clock.now(),
            resolution: None,
        };
        self.conflicts.insert(id, conflict.clone());
        self.changes.push(Change::ConflictSaved(conflict));
        Ok(id)
    }

    /// `EnumConflicts(handler, item)`: a handler's conflicts including its items', or only one item's.
    pub fn conflicts(&self, handler: Option<&HandlerId>, item: Option<&ItemId>) -> Vec<&Conflict> {
        self.conflicts
            .values()
            .filter(|c| handler.is_none_or(|h| &c.handler == h))
            .filter(|c| item.is_none_or(|i| c.item.as_ref() == Some(i)))
            .collect()
    }

    /// One conflict.
    pub fn conflict(&self, id: ConflictId) -> Result<&Conflict, CoreError> {
        self.conflicts.get(&id).ok_or(CoreError::UnknownConflict(id))
    }

    /// The handler's conflict count (§5.30).
    pub fn conflict_count(&self, handler: &HandlerId) -> u32 {
        self.conflicts.values().filter(|c| &c.handler == handler).count() as u32
    }

    /// Records the user's resolution and asks the owner to carry it out. The conflict stays listed until the
    /// owner removes it (behaviour 78). With `apply_to_all`, the same choice is recorded on every other
    /// unresolved conflict of the handler with the same kind of versions; those that do not allow it are
    /// returned as needing attention (`SYNCMGR_RF_REFRESH`).
    pub fn resolve_conflict(
        &mut self,
        id: ConflictId,
        choice: ResolutionChoice,
        apply_to_all: bool,
    ) -> Result<ResolveOutcome, CoreError> {
        let first = self.conflict(id)?;
        check_choice(first, &choice)?;
        let mut outcome = ResolveOutcome { recorded: vec![id], needs_attention: Vec::new() };
        if apply_to_all {
            let kind = first.kind();
            let handler = first.handler.clone();
            for c in self.conflicts.values() {
                if c.id == id || c.handler != handler || c.resolution.is_some() || c.kind() != kind {
                    continue;
                }
                match check_choice(c, &choice) {
                    Ok(()) => outcome.recorded.push(c.id),
                    Err(_) => outcome.needs_attention.push(c.id),
                }
            }
        }
        let now = self.clock.now();
        for cid in &outcome.recorded {
            let c = self.conflicts.get_mut(cid).expect("listed above");
            c.resolution = Some(Resolution {
                choice: choice.clone(),
                requested_at: now,
                applied_from: (*cid != id).then_some(id),
            });
            let saved = c.clone();
            let notice = Notice::ResolutionRequested {
                conflict: *cid,
                handler: saved.handler.clone(),
                item: saved.item.clone(),
                choice: choice.clone(),
            };
            self.changes.push(Change::ConflictSaved(saved));
            self.notify(notice);
        }
        Ok(outcome)
    }

    /// The owner reports conflicts gone (`UpdateConflict` REMOVED, `RemoveConflicts`). All IDs must exist.
    pub fn remove_conflicts(&mut self, ids: &[ConflictId]) -> Result<(), CoreError> {
        if let Some(missing) = ids.iter().find(|id| !self.conflicts.contains_key(id)) {
            return Err(CoreError::UnknownConflict(*missing));
        }
        for id in ids {
            if self.conflicts.remove(id).is_some() {
                self.changes.push(Change::ConflictRemoved(*id));
            }
        }
        Ok(())
    }
}

/// Whether `c`'s abilities allow `choice` (§2.18, §5.33, behaviour 80).
fn check_choice(c: &Conflict, choice: &ResolutionChoice) -> Result<(), CoreError> {
    let needs = |ability: ResolutionAbilities, name: &'static str| {
        if c.abilities.contains(ability) {
            Ok(())
        } else {
            Err(CoreError::ResolutionNotAllowed { conflict: c.id, choice: name, needs: ability })
        }
    };
    match choice {
        ResolutionChoice::KeepItems(kept) => {
            if kept.is_empty() {
                return Err(CoreError::EmptyArgument("versions to keep"));
            }
            for k in kept {
                if k.index >= c.versions.len() {
                    return Err(CoreError::BadVersionIndex { conflict: c.id, index: k.index, count: c.versions.len() });
                }
            }
            let mut idx: Vec<usize> = kept.iter().map(|k| k.index).collect();
            idx.sort_unstable();
            idx.dedup();
            if idx.len() != kept.len() {
                return Err(ValueError::OutOfRange { what: "repeated version index", value: kept.len() as i64 }.into());
            }
            if kept.len() > 1 {
                needs(ResolutionAbilities::KEEP_MULTIPLE, "keeping several versions")?;
            }
            Ok(())
        }
        ResolutionChoice::KeepRecent => needs(ResolutionAbilities::KEEP_RECENT, "keeping the most recent version"),
        ResolutionChoice::KeepOther(location) => {
            if location.trim().is_empty() {
                return Err(CoreError::EmptyArgument("merged version location"));
            }
            needs(ResolutionAbilities::KEEP_OTHER, "keeping another version")
        }
        ResolutionChoice::RemoveFromSyncSet => {
            needs(ResolutionAbilities::REMOVE_FROM_SYNC_SET, "removing the item from the sync set")
        }
    }
}
