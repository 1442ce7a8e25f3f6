//! Power and network state (`on_ac_power`, `unmetered_network`), watched in the background.
//!
//! Power comes from UPower's `OnBattery`, the network from NetworkManager's `Metered`, both on the system bus and
//! re-read on their `PropertiesChanged` signals. Without UPower, power is read from sysfs's mains supplies (every
//! minute: sysfs has no signal). A state that cannot be known lets the condition hold (and says so once in the
//! log): a machine without UPower or NetworkManager must still run its syncs.

use std::path::Path;
use std::time::Duration;

use tokio::sync::watch;

const UPOWER: (&str, &str, &str, &str) =
    ("org.freedesktop.UPower", "/org/freedesktop/UPower", "org.freedesktop.UPower", "OnBattery");
const NETWORK_MANAGER: (&str, &str, &str, &str) =
    ("org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager", "org.freedesktop.NetworkManager", "Metered");
const POWER_SUPPLIES: &str = "/sys/class/power_supply";
const SYSFS_EVERY: Duration = Duration::from_secs(60);

/// One state as last read: "on battery" for power, "metered" for the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Not read yet: conditional runs wait for the first reading.
    Pending,
    /// The state is known.
    Known(bool),
    /// It cannot be known: the condition holds.
    Unknown,
}

/// Whether a mains supply under `dir` (sysfs's `power_supply` class) is online: `None` when there is no mains
/// supply to read (not Linux, a desktop without one listed, a container).
fn mains_online(dir: &Path) -> Option<bool> {
    let mut seen = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let kind = std::fs::read_to_string(path.join("type")).unwrap_or_default();
        if kind.trim() != "Mains" {
            continue;
        }
        if let Ok(online) = std::fs::read_to_string(path.join("online")) {
            let online = online.trim() == "1";
            seen = Some(seen.unwrap_or(false) || online);
        }
    }
    seen
}

/// Whether NetworkManager's `NM_METERED` value means metered (`yes` or `guess-yes`).
fn is_metered(value: u32) -> bool {
    matches!(value, 1 | 3)
}

/// Sends `reading` when it changed, logging the new state.
fn publish(tx: &watch::Sender<Reading>, reading: Reading, what: &str, source: &str) {
    if tx.send_if_modified(|r| std::mem::replace(r, reading) != reading) {
        match reading {
            Reading::Known(state) => tracing::info!("{what}: {} ({source})", describe(what, state)),
            Reading::Unknown | Reading::Pending => {}
        }
    }
}

fn describe(what: &str, state: bool) -> &'static str {
    match (what, state) {
        ("power", true) => "on battery",
        ("power", false) => "on AC power",
        (_, true) => "metered",
        (_, false) => "not metered",
    }
}

pub(super) async fn power(tx: watch::Sender<Reading>) {
    let why = match follow(&tx, UPOWER, "power", |v| bool::try_from(v).ok()).await {
        Ok(()) => return,
        Err(e) => e,
    };
    let mut said = false;
    loop {
        let reading =
            mains_online(Path::new(POWER_SUPPLIES)).map_or(Reading::Unknown, |online| Reading::Known(!online));
        if reading == Reading::Unknown && !said {
            tracing::warn!(
                "power state unknown (no UPower: {why}; no mains supply in {POWER_SUPPLIES}): on_ac_power is taken as met"
            );
            said = true;
        }
        publish(&tx, reading, "power", POWER_SUPPLIES);
        tokio::time::sleep(SYSFS_EVERY).await;
        if tx.is_closed() {
            return;
        }
    }
}

pub(super) async fn network(tx: watch::Sender<Reading>) {
    let metered = |v: zbus::OwnedVariant| u32::try_from(v).ok().map(is_metered);
    if let Err(why) = follow(&tx, NETWORK_MANAGER, "network", metered).await {
        tracing::warn!("network state unknown (no NetworkManager: {why}): unmetered_network is taken as met");
        publish(&tx, Reading::Unknown, "network", "");
    }
}

/// Reads a property on the system bus, then again on every `PropertiesChanged` of its object, until the daemon
/// stops; an error when the first reading fails.
async fn follow(
    tx: &watch::Sender<Reading>,
    (service, path, interface, property): (&str, &str, &str, &str),
    what: &str,
    decode: impl Fn(zbus::OwnedVariant) -> Option<bool>,
) -> Result<(), String> {
    use futures_util::StreamExt;
    let conn = zbus::Connection::system().await.map_err(|e| format!("no system bus ({e})"))?;
    let props = zbus::fdo::PropertiesProxy::builder(&conn)
        .destination(service)
        .path(path)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .map_err(|e| e.to_string())?;
    // Listen before reading, so that no change between the two is lost.
    let mut changes = props.receive_properties_changed().await.map_err(|e| e.to_string())?;
    let iface = zbus::names::InterfaceName::try_from(interface).map_err(|e| e.to_string())?;
    let read = async || {
        let value = props.get(iface.clone(), property).await.map_err(|e| e.to_string())?;
        decode(value).ok_or_else(|| format!("{property} has an unexpected type"))
    };
    let first = read().await?;
    publish(tx, Reading::Known(first), what, service);
    while changes.next().await.is_some() {
        match read().await {
            Ok(state) => publish(tx, Reading::Known(state), what, service),
            Err(e) => {
                tracing::warn!("{what} state unknown ({service}: {e}): its condition is taken as met");
                publish(tx, Reading::Unknown, what, service);
            }
        }
        if tx.is_closed() {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supply(dir: &Path, name: &str, kind: &str, online: Option<&str>) {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("type"), format!("{kind}\n")).expect("type");
        if let Some(o) = online {
            std::fs::write(d.join("online"), format!("{o}\n")).expect("online");
        }
    }

    #[test]
    fn sysfs_mains_supplies_say_whether_ac_is_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(mains_online(&dir.path().join("absent")), None, "no sysfs: unknown");
        assert_eq!(mains_online(dir.path()), None, "no supply: unknown");
        supply(dir.path(), "BAT0", "Battery", Some("1"));
        supply(dir.path(), "usb", "USB", Some("1"));
        assert_eq!(mains_online(dir.path()), None, "batteries and USB ports are not mains");
        supply(dir.path(), "AC", "Mains", Some("0"));
        assert_eq!(mains_online(dir.path()), Some(false), "unplugged");
        supply(dir.path(), "ADP1", "Mains", Some("1"));
        assert_eq!(mains_online(dir.path()), Some(true), "any mains supply online is AC power");
        std::fs::write(dir.path().join("AC/online"), "1\n").expect("online");
        std::fs::write(dir.path().join("ADP1/online"), "0\n").expect("online");
        assert_eq!(mains_online(dir.path()), Some(true));
    }

    #[test]
    fn nm_metered_values() {
        let metered: Vec<u32> = (0..6).filter(|v| is_metered(*v)).collect();
        assert_eq!(metered, [1, 3], "yes and guess-yes; unknown, no and guess-no are not");
    }
}
