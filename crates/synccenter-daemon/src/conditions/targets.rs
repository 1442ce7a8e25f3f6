//! Targets (`requires`, `requires_mount`, `requires_uuid`): whether what a run needs is present, read from the
//! file system and the mount table without `blkid`.
//!
//! A mount point is a line of `/proc/self/mountinfo`. A UUID is a mounted file system's: the device its
//! `/dev/disk/by-uuid` link names must be some mount's source, or, where udev keeps no such link (containers,
//! minimal systems), the superblock of a mounted block device says it (ext2/3/4, Btrfs, XFS, FAT, exFAT; read only
//! where the daemon may open the device). Both sources are paths in [`TargetSources`], so tests give their own.
//! The watcher re-reads every [`TARGETS_EVERY`] and when the configuration's targets change; reads are blocking
//! file I/O, so they run on tokio's blocking pool, never on the hub.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use synccenter_config::Target;
use tokio::sync::watch;

/// How often targets are read again (the mount table has no signal this code waits on).
pub(crate) const TARGETS_EVERY: Duration = Duration::from_secs(2);

/// Where the mount table and the UUID links are read; the system's by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSources {
    /// The mount table in `mountinfo` format (`/proc/self/mountinfo`).
    pub mountinfo: PathBuf,
    /// A directory of links named by UUID to devices (`/dev/disk/by-uuid`).
    pub by_uuid: PathBuf,
}

impl Default for TargetSources {
    fn default() -> Self {
        Self { mountinfo: "/proc/self/mountinfo".into(), by_uuid: "/dev/disk/by-uuid".into() }
    }
}

/// Whether each watched target is present, as last read.
pub(crate) type Presence = BTreeMap<Target, bool>;

/// One line of the mount table.
#[derive(Debug, PartialEq, Eq)]
struct Mount {
    id: u64,
    point: PathBuf,
    source: String,
}

/// Reads which of `targets` are present. `uuids` caches what superblocks said, per mount ID.
pub(crate) fn read(targets: &[Target], sources: &TargetSources, uuids: &mut HashMap<u64, Option<String>>) -> Presence {
    let needs_table = targets.iter().any(|t| !matches!(t, Target::Path(_)));
    let mounts = if needs_table {
        let text = std::fs::read_to_string(&sources.mountinfo).unwrap_or_else(|e| {
            tracing::warn!("cannot read the mount table {}: {e}", sources.mountinfo.display());
            String::new()
        });
        parse_mountinfo(&text)
    } else {
        Vec::new()
    };
    uuids.retain(|id, _| mounts.iter().any(|m| m.id == *id));
    targets
        .iter()
        .map(|t| {
            let present = match t {
                Target::Path(p) => p.exists(),
                Target::Mount(p) => mounts.iter().any(|m| m.point == *p),
                Target::Uuid(u) => uuid_mounted(u, &mounts, sources, uuids),
            };
            (t.clone(), present)
        })
        .collect()
}

/// Why `targets` keep a run from starting now (the first absent one), reading them afresh.
pub(crate) fn first_absent(targets: &[Target], sources: &TargetSources) -> Option<String> {
    let presence = read(targets, sources, &mut HashMap::new());
    targets.iter().find(|t| presence.get(t) == Some(&false)).map(absent)
}

/// How an absent target is named where a waiting run says why.
pub(crate) fn absent(target: &Target) -> String {
    match target {
        Target::Path(p) => format!("{} is absent", p.display()),
        Target::Mount(p) => format!("nothing is mounted at {}", p.display()),
        Target::Uuid(u) => format!("file system {u} is not mounted"),
    }
}

/// Keeps `tx` up to date with the presence of the targets `wanted` lists, until the daemon stops.
pub(super) async fn watch_targets(
    tx: watch::Sender<Presence>,
    mut wanted: watch::Receiver<Vec<Target>>,
    sources: TargetSources,
) {
    let mut uuids = HashMap::new();
    loop {
        let targets = wanted.borrow_and_update().clone();
        let src = sources.clone();
        let read = tokio::task::spawn_blocking(move || {
            let presence = read(&targets, &src, &mut uuids);
            (presence, uuids)
        });
        let Ok((presence, cache)) = read.await else { return };
        uuids = cache;
        tx.send_if_modified(|old| {
            for (target, present) in &presence {
                if old.get(target) != Some(present) {
                    let state = if *present { "present".to_owned() } else { absent(target) };
                    tracing::info!("target {}: {state}", describe(target));
                }
            }
            std::mem::replace(old, presence) != *old
        });
        tokio::select! {
            () = tokio::time::sleep(TARGETS_EVERY) => {}
            changed = wanted.changed() => if changed.is_err() { return },
        }
        if tx.is_closed() {
            return;
        }
    }
}

fn describe(target: &Target) -> String {
    match target {
        Target::Path(p) => format!("path {}", p.display()),
        Target::Mount(p) => format!("mount point {}", p.display()),
        Target::Uuid(u) => format!("file system {u}"),
    }
}

/// The mount table's lines: `ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER`, with
/// spaces, tabs, newlines and backslashes in paths written as octal escapes. Lines that do not parse are skipped.
fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let id = fields.next()?.parse().ok()?;
            let point = unescape(fields.nth(3)?);
            let mut rest = fields.skip_while(|f| *f != "-");
            rest.next()?;
            let source = unescape(rest.nth(1)?);
            Some(Mount { id, point: PathBuf::from(point), source })
        })
        .collect()
}

/// Undoes the kernel's `\ooo` escapes.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal =
            bytes.get(i + 1..i + 4).filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal.and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok()) {
            Some(b) => {
                out.push(b);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn uuid_mounted(
    uuid: &str,
    mounts: &[Mount],
    sources: &TargetSources,
    cache: &mut HashMap<u64, Option<String>>,
) -> bool {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let linked = std::fs::read_dir(&sources.by_uuid).ok().and_then(|entries| {
        entries.flatten().find(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(uuid)).map(|e| e.path())
    });
    if let Some(device) = linked.as_deref().and_then(canonical) {
        return mounts
            .iter()
            .any(|m| Path::new(&m.source).is_absolute() && canonical(Path::new(&m.source)) == Some(device.clone()));
    }
    mounts.iter().filter(|m| m.source.starts_with("/dev/")).any(|m| {
        let found = cache.entry(m.id).or_insert_with(|| superblock_of(Path::new(&m.source)));
        found.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(uuid))
    })
}

/// Bytes read from a device's start: Btrfs's superblock ends there.
const SUPERBLOCK_SPAN: u64 = 0x10000 + 0x1000;

fn superblock_of(device: &Path) -> Option<String> {
    let mut head = Vec::new();
    std::fs::File::open(device).ok()?.take(SUPERBLOCK_SPAN).read_to_end(&mut head).ok()?;
    superblock_uuid(&head)
}

/// The UUID a file system's first bytes give, spelt as `blkid` spells it.
fn superblock_uuid(b: &[u8]) -> Option<String> {
    let at = |off: usize, len: usize| b.get(off..off + len);
    let serial = |off: usize| {
        at(off, 4).map(|s| {
            let v = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
            format!("{:04X}-{:04X}", v >> 16, v & 0xffff)
        })
    };
    if at(1024 + 0x38, 2) == Some(&[0x53, 0xEF]) {
        return at(1024 + 0x68, 16).map(uuid_text);
    }
    if at(0x10040, 8) == Some(b"_BHRfS_M") {
        return at(0x10020, 16).map(uuid_text);
    }
    if at(0, 4) == Some(b"XFSB") {
        return at(32, 16).map(uuid_text);
    }
    if at(3, 8) == Some(b"EXFAT   ") {
        return serial(100);
    }
    if at(510, 2) == Some(&[0x55, 0xAA]) {
        if at(82, 5) == Some(b"FAT32") {
            return serial(67);
        }
        if at(54, 3) == Some(b"FAT") {
            return serial(39);
        }
    }
    None
}

fn uuid_text(u: &[u8]) -> String {
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_give_mount_points_and_sources() {
        let text = "22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw\n\
                    98 22 7:0 / /media/my\\040usb rw,nosuid master:3 shared:9 - vfat /dev/loop0 rw\n\
                    99 22 0:50 / /mnt/nas rw - nfs4 nas:/export rw\n\
                    garbage\n";
        let mounts = parse_mountinfo(text);
        let points: Vec<_> = mounts.iter().map(|m| (m.id, m.point.to_str().unwrap(), m.source.as_str())).collect();
        assert_eq!(
            points,
            [(22, "/", "/dev/sda2"), (98, "/media/my usb", "/dev/loop0"), (99, "/mnt/nas", "nas:/export")]
        );
    }

    #[test]
    fn superblocks_name_their_uuids() {
        let mut ext = vec![0u8; 2048];
        ext[1024 + 0x38..1024 + 0x3a].copy_from_slice(&[0x53, 0xEF]);
        ext[1024 + 0x68..1024 + 0x78].copy_from_slice(&(0u8..16).collect::<Vec<_>>());
        assert_eq!(superblock_uuid(&ext).as_deref(), Some("00010203-0405-0607-0809-0a0b0c0d0e0f"));
        let mut fat = vec![0u8; 512];
        fat[510..512].copy_from_slice(&[0x55, 0xAA]);
        fat[82..87].copy_from_slice(b"FAT32");
        fat[67..71].copy_from_slice(&0x1234_abcdu32.to_le_bytes());
        assert_eq!(superblock_uuid(&fat).as_deref(), Some("1234-ABCD"));
        let mut xfs = vec![0u8; 512];
        xfs[..4].copy_from_slice(b"XFSB");
        xfs[32..48].copy_from_slice(&[0xff; 16]);
        assert_eq!(superblock_uuid(&xfs).as_deref(), Some("ffffffff-ffff-ffff-ffff-ffffffffffff"));
        assert_eq!(superblock_uuid(&[0u8; 4096]), None, "nothing known");
        assert_eq!(superblock_uuid(&ext[..1100]), None, "cut short");
    }

    // Linux's mount table names devices by Unix paths (with its octal escapes); a Windows temporary path in it
    // means nothing there.
    #[cfg(all(test, unix))]
    #[test]
    fn targets_are_read_from_the_given_mount_table_and_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let by_uuid = dir.path().join("by-uuid");
        std::fs::create_dir(&by_uuid).expect("by-uuid");
        // The link's target stands for the device; a plain file resolves to itself.
        let device = by_uuid.join("1234-ABCD");
        std::fs::write(&device, "").expect("device");
        let mountinfo = dir.path().join("mountinfo");
        let sources = TargetSources { mountinfo: mountinfo.clone(), by_uuid };
        let targets =
            [Target::Path(device.clone()), Target::Mount("/media/usb".into()), Target::Uuid("1234-abcd".into())];
        std::fs::write(&mountinfo, "22 1 8:2 / / rw - ext4 /dev/sda2 rw\n").expect("table");
        let presence = read(&targets, &sources, &mut HashMap::new());
        assert_eq!(presence.values().collect::<Vec<_>>(), [&true, &false, &false]);
        assert_eq!(first_absent(&targets, &sources).as_deref(), Some("nothing is mounted at /media/usb"));
        let line = format!("23 22 8:33 / /media/usb rw - vfat {} rw\n", device.display());
        std::fs::write(&mountinfo, format!("22 1 8:2 / / rw - ext4 /dev/sda2 rw\n{line}")).expect("table");
        let presence = read(&targets, &sources, &mut HashMap::new());
        assert!(presence.values().all(|p| *p), "{presence:?}");
        assert_eq!(first_absent(&targets, &sources), None);
    }
}
