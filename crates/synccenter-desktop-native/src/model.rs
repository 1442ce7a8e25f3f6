//! The native surfaces' pure parts, tested on every system: the icon as the RGBA pixels `tray-icon` takes (drawn
//! once, by `synccenter-desktop`, as the ARGB32 pixmaps a StatusNotifierItem wants) and the menu's entries as
//! `muda` menu IDs and back (a click names an ID; `Layout::action` says what it asks for).

use synccenter_desktop::portable::{Status, pixmaps};

/// What every menu ID of synccenter's starts with; IDs without it are someone else's.
const ID_PREFIX: &str = "synccenter-";

/// ARGB32 in network byte order (a StatusNotifierItem pixmap) as RGBA (`tray_icon::Icon::from_rgba`); a trailing
/// partial pixel is dropped.
pub fn rgba(argb: &[u8]) -> Vec<u8> {
    argb.chunks_exact(4).flat_map(|p| [p[1], p[2], p[3], p[0]]).collect()
}

/// The icon of `status` as RGBA and its edge in pixels: the smallest drawn size of at least `size`, else the
/// largest (the system scales).
pub fn icon(status: Status, size: u32) -> (Vec<u8>, u32) {
    let all = pixmaps(status);
    let pick = all.iter().find(|p| u32::try_from(p.0).is_ok_and(|edge| edge >= size)).or(all.last());
    pick.map_or((Vec::new(), 0), |(edge, _, argb)| (rgba(argb), u32::try_from(*edge).unwrap_or(0)))
}

/// The menu ID of the layout's entry `entry`.
pub fn menu_id(entry: i32) -> String {
    format!("{ID_PREFIX}{entry}")
}

/// The layout's entry that `menu_id` names, if it is one of synccenter's.
pub fn entry_of(menu_id: &str) -> Option<i32> {
    menu_id.strip_prefix(ID_PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use synccenter_desktop::portable::{Action, Failure, Layout};

    use super::*;

    #[test]
    fn argb_becomes_rgba_pixel_by_pixel() {
        assert_eq!(rgba(&[0xff, 1, 2, 3, 0x80, 4, 5, 6]), [1, 2, 3, 0xff, 4, 5, 6, 0x80]);
        assert_eq!(rgba(&[9, 1, 2, 3, 7]), [1, 2, 3, 9], "a partial pixel is dropped");
        assert!(rgba(&[]).is_empty());
    }

    #[test]
    fn the_icon_is_the_nearest_drawn_size_with_clear_corners_and_an_opaque_disc() {
        for status in [Status::Passive, Status::Active, Status::NeedsAttention] {
            for (asked, edge) in [(16, 16), (20, 22), (32, 32), (64, 48)] {
                let (px, got) = icon(status, asked);
                assert_eq!(got, edge);
                assert_eq!(px.len(), (edge * edge * 4) as usize);
                assert_eq!(px[3], 0, "a transparent corner");
                let centre = ((edge / 2 * edge + edge / 2) * 4) as usize;
                assert_eq!(px[centre + 3], 0xff, "an opaque centre");
            }
        }
        let (idle, _) = icon(Status::Passive, 48);
        let (attention, _) = icon(Status::NeedsAttention, 48);
        let edge_pixel = |p: &[u8]| p[(48 + 24) * 4..(48 + 24) * 4 + 4].to_vec();
        assert_eq!(edge_pixel(&idle), [0x2e, 0x8b, 0x57, 0xff], "the idle green, as RGBA");
        assert_ne!(edge_pixel(&idle), edge_pixel(&attention));
    }

    #[test]
    fn menu_ids_map_back_to_the_layouts_actions() {
        let mut layout = Layout::default();
        let failure = Failure { handler: "nas".into(), session: Some("s1".into()), label: "nas: full".into() };
        assert!(layout.set_failures(vec![failure]));
        let actions: Vec<Option<Action>> =
            layout.entries().iter().map(|e| entry_of(&menu_id(e.id)).and_then(|id| layout.action(id))).collect();
        let open = Action::Open { handler: Some("nas".into()), session: Some("s1".into()) };
        let dashboard = Action::Open { handler: None, session: None };
        let (sync, hour, pause, resume) = (Action::SyncAll, Action::PauseHour, Action::Pause, Action::Resume);
        let expected = [Some(sync), Some(hour), Some(pause), Some(resume), Some(dashboard), None, Some(open)];
        assert_eq!(actions, expected, "the fixed entries, the separator, the failure");
        for foreign in ["", "3", "synccenter-", "synccenter-x", "other-3", "synccenter-3.0"] {
            assert_eq!(entry_of(foreign), None, "{foreign:?}");
        }
        assert_eq!(entry_of("synccenter--1"), Some(-1), "a number, which the layout then refuses");
        assert_eq!(layout.action(-1), None);
    }
}
