//! The conversions at the COM boundary that need no Windows: UTF-16 strings (COM's) to UTF-8 (the protocol's),
//! where an unpaired surrogate is a bad argument, not a lossy replacement; and the daemon's event IDs (UUIDs) to
//! the `GUID`s `ReportEvent` answers, the same 128 bits, so that the GUID's text is the event's ID.

/// A UTF-16 string as UTF-8; `None` when it holds an unpaired surrogate.
pub fn from_utf16(units: &[u16]) -> Option<String> {
    String::from_utf16(units).ok()
}

/// The event ID `id` (a UUID in its hyphenated text form, any case) as a 128-bit value for a `GUID`
/// (`GUID::from_u128`), so that `StringFromGUID2` spells the same ID in braces; `None` for anything else.
pub fn event_guid(id: &str) -> Option<u128> {
    let groups: Vec<&str> = id.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lengths != [8, 4, 4, 4, 12] || !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit())) {
        return None;
    }
    u128::from_str_radix(&groups.concat(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_converts_and_an_unpaired_surrogate_is_refused() {
        let docs: Vec<u16> = "döcs 📁".encode_utf16().collect();
        assert_eq!(from_utf16(&docs).as_deref(), Some("döcs 📁"));
        assert_eq!(from_utf16(&[0x64, 0xD800, 0x65]), None);
        assert_eq!(from_utf16(&[0xDC00]), None);
        assert_eq!(from_utf16(&[]).as_deref(), Some(""));
    }

    #[test]
    fn an_event_id_is_the_same_128_bits_as_its_guid() {
        assert_eq!(event_guid("0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"), Some(0x0190a5b2_7c3d_7e4f_8a9b_0c1d2e3f4a5b));
        assert_eq!(event_guid("0190A5B2-7C3D-7E4F-8A9B-0C1D2E3F4A5B"), Some(0x0190a5b2_7c3d_7e4f_8a9b_0c1d2e3f4a5b));
        for bad in [
            "",
            "0190a5b27c3d7e4f8a9b0c1d2e3f4a5b",
            "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5",
            "+190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
        ] {
            assert_eq!(event_guid(bad), None, "{bad}");
        }
    }
}
