//! The tray icon, drawn here as ARGB32 pixmaps rather than named from an icon theme: hosts prefer a name when
//! one is given and then draw nothing where the theme lacks it (LXQt's panel with no theme configured), while
//! every StatusNotifierItem host draws pixmaps. A disc in the status's colour with a white glyph: a check mark
//! (idle), an open circle with an arrow head (syncing), an exclamation mark (needs attention).

use super::Status;

/// The sizes served; hosts pick the nearest and scale.
const SIZES: [i32; 4] = [16, 22, 32, 48];
/// Samples per pixel edge, for anti-aliased edges.
const SUPERSAMPLE: usize = 4;

/// One pixmap as the specification has it: width, height, ARGB32 pixels in network byte order.
pub type Pixmap = (i32, i32, Vec<u8>);

/// The icon of `status` at every served size.
pub fn pixmaps(status: Status) -> Vec<Pixmap> {
    SIZES.iter().map(|&size| (size, size, draw(status, size))).collect()
}

fn colour(status: Status) -> [u8; 3] {
    match status {
        Status::Passive => [0x2e, 0x8b, 0x57],
        Status::Active => [0x1f, 0x6f, 0xd0],
        Status::NeedsAttention => [0xe0, 0x5a, 0x1c],
    }
}

/// Where the glyph is white, in a unit square centred on the origin (x right, y down, the disc's radius 0.5).
fn glyph(status: Status, x: f32, y: f32) -> bool {
    match status {
        Status::Passive => {
            near_segment((x, y), (-0.22, 0.0), (-0.06, 0.17), 0.07)
                || near_segment((x, y), (-0.06, 0.17), (0.24, -0.15), 0.07)
        }
        Status::Active => {
            let r = x.hypot(y);
            // A ring open in its upper right, the gap's end carrying an arrow head.
            let ring = (0.19..=0.30).contains(&r) && !(x > 0.0 && y < 0.0 && x > -y * 0.4);
            ring || triangle((x, y), (0.07, -0.33), (0.07, -0.13), (0.24, -0.23))
        }
        Status::NeedsAttention => near_segment((x, y), (0.0, -0.26), (0.0, 0.07), 0.075) || x.hypot(y - 0.21) < 0.075,
    }
}

fn near_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32), half_width: f32) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let t = (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    (p.0 - a.0 - t * dx).hypot(p.1 - a.1 - t * dy) <= half_width
}

fn triangle(p: (f32, f32), a: (f32, f32), b: (f32, f32), c: (f32, f32)) -> bool {
    let side = |u: (f32, f32), v: (f32, f32)| (v.0 - u.0) * (p.1 - u.1) - (v.1 - u.1) * (p.0 - u.0);
    let (s1, s2, s3) = (side(a, b), side(b, c), side(c, a));
    (s1 >= 0.0 && s2 >= 0.0 && s3 >= 0.0) || (s1 <= 0.0 && s2 <= 0.0 && s3 <= 0.0)
}

fn draw(status: Status, size: i32) -> Vec<u8> {
    let n = usize::try_from(size).unwrap_or(0);
    let [r, g, b] = colour(status);
    let mut out = Vec::with_capacity(n * n * 4);
    let samples = (SUPERSAMPLE * SUPERSAMPLE) as f32;
    for row in 0..n {
        for col in 0..n {
            let (mut disc, mut white) = (0.0f32, 0.0f32);
            for sy in 0..SUPERSAMPLE {
                for sx in 0..SUPERSAMPLE {
                    let x = (col as f32 + (sx as f32 + 0.5) / SUPERSAMPLE as f32) / n as f32 - 0.5;
                    let y = (row as f32 + (sy as f32 + 0.5) / SUPERSAMPLE as f32) / n as f32 - 0.5;
                    if x.hypot(y) <= 0.48 {
                        disc += 1.0;
                        if glyph(status, x, y) {
                            white += 1.0;
                        }
                    }
                }
            }
            let alpha = disc / samples;
            let mix = |c: u8| {
                let w = if disc > 0.0 { white / disc } else { 0.0 };
                (f32::from(c) * (1.0 - w) + 255.0 * w).round() as u8
            };
            out.extend_from_slice(&[(alpha * 255.0).round() as u8, mix(r), mix(g), mix(b)]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(p: &Pixmap, x: i32, y: i32) -> [u8; 4] {
        let at = usize::try_from((y * p.0 + x) * 4).unwrap();
        [p.2[at], p.2[at + 1], p.2[at + 2], p.2[at + 3]]
    }

    #[test]
    fn every_size_is_whole_with_clear_corners_and_an_opaque_disc() {
        for status in [Status::Passive, Status::Active, Status::NeedsAttention] {
            let pixmaps = pixmaps(status);
            assert_eq!(pixmaps.iter().map(|p| p.0).collect::<Vec<_>>(), SIZES);
            for p in &pixmaps {
                assert_eq!((p.1, p.2.len()), (p.0, usize::try_from(p.0 * p.0 * 4).unwrap()));
                assert_eq!(pixel(p, 0, 0)[0], 0, "a transparent corner");
                let edge = pixel(p, p.0 / 2, 1);
                assert_eq!(edge, [255, colour(status)[0], colour(status)[1], colour(status)[2]], "{status:?} {}", p.0);
            }
        }
    }

    #[test]
    fn each_status_has_its_own_glyph() {
        let big = |s: Status| pixmaps(s).pop().expect("48 px");
        let (idle, syncing, attention) = (big(Status::Passive), big(Status::Active), big(Status::NeedsAttention));
        let white = |p: &Pixmap, x: i32, y: i32| pixel(p, x, y) == [255, 255, 255, 255];
        // The exclamation mark's stem runs through the centre column above the middle; the check mark starts left
        // of the middle; the ring passes further left and leaves the centre itself clear.
        assert!(white(&attention, 24, 16) && !white(&idle, 24, 16) && !white(&syncing, 24, 16));
        assert!(white(&idle, 14, 24) && !white(&attention, 14, 24));
        assert!(white(&syncing, 11, 24) && !white(&syncing, 24, 24) && !white(&attention, 11, 24));
    }
}
