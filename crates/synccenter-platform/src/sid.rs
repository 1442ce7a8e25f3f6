//! Windows security identifiers in their binary and text forms (MS-DTYP 2.4.2), on every platform: the daemon's
//! peer check compares them, and the tests parse and print them on Linux too.

use std::fmt;
use std::str::FromStr;

/// A Windows security identifier in its binary form (revision 1, up to 15 sub-authorities), comparable,
/// printable and parseable as `S-1-5-21-…` on every platform.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sid(Vec<u8>);

/// Bytes or text that are not a security identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a security identifier: {0}")]
pub struct SidError(String);

/// Most sub-authorities a SID may have (`SID_MAX_SUB_AUTHORITIES`).
const MAX_SUB_AUTHORITIES: usize = 15;

impl Sid {
    /// From the binary form (`GetLengthSid` bytes at a `PSID`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Sid, SidError> {
        let (&revision, rest) = bytes.split_first().ok_or_else(|| SidError("empty".into()))?;
        let (&count, _) = rest.split_first().ok_or_else(|| SidError("truncated".into()))?;
        if revision != 1 {
            return Err(SidError(format!("revision {revision}")));
        }
        let count = usize::from(count);
        if count > MAX_SUB_AUTHORITIES {
            return Err(SidError(format!("{count} sub-authorities")));
        }
        if bytes.len() != 8 + 4 * count {
            return Err(SidError(format!("{} bytes for {count} sub-authorities", bytes.len())));
        }
        Ok(Sid(bytes.to_vec()))
    }

    /// The binary form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn authority(&self) -> u64 {
        self.0[2..8].iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    }

    fn sub_authorities(&self) -> impl Iterator<Item = u32> + '_ {
        self.0[8..].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-1-")?;
        let authority = self.authority();
        if authority < 1 << 32 {
            write!(f, "{authority}")?;
        } else {
            write!(f, "0x{authority:012X}")?;
        }
        for sub in self.sub_authorities() {
            write!(f, "-{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({self})")
    }
}

impl FromStr for Sid {
    type Err = SidError;

    /// `S-1-<authority>-<sub>…`, the authority in decimal (or `0x` and 12 hex digits).
    fn from_str(s: &str) -> Result<Sid, SidError> {
        let bad = || SidError(s.to_owned());
        let mut parts = s.split('-');
        if !parts.next().is_some_and(|p| p.eq_ignore_ascii_case("S")) || parts.next() != Some("1") {
            return Err(bad());
        }
        let authority = parts.next().ok_or_else(bad)?;
        let authority = match authority.strip_prefix("0x").or_else(|| authority.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| bad())?,
            None => authority.parse::<u64>().map_err(|_| bad())?,
        };
        if authority >= 1 << 48 {
            return Err(bad());
        }
        let subs = parts.map(|p| p.parse::<u32>().map_err(|_| bad())).collect::<Result<Vec<u32>, SidError>>()?;
        if subs.len() > MAX_SUB_AUTHORITIES {
            return Err(bad());
        }
        let mut bytes = vec![1u8, u8::try_from(subs.len()).map_err(|_| bad())?];
        bytes.extend_from_slice(&authority.to_be_bytes()[2..]);
        for sub in subs {
            bytes.extend_from_slice(&sub.to_le_bytes());
        }
        Ok(Sid(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_round_trip_between_text_and_bytes() {
        for text in ["S-1-5-21-3623811015-3361044348-30300820-1013", "S-1-5-18", "S-1-1-0", "S-1-0x0000DEADBEEF-7"] {
            let sid: Sid = text.parse().expect(text);
            assert_eq!(sid.to_string(), text.replace("0x0000DEADBEEF", &0xDEAD_BEEFu64.to_string()));
            assert_eq!(Sid::from_bytes(sid.as_bytes()).expect("bytes"), sid);
        }
        // The well-known binary form of LocalSystem.
        let system = Sid::from_bytes(&[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]).expect("S-1-5-18");
        assert_eq!(system.to_string(), "S-1-5-18");
        for bad in ["", "S-1", "S-2-5-18", "X-1-5-18", "S-1-5-x", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"] {
            assert!(bad.parse::<Sid>().is_err(), "{bad}");
        }
        assert!(Sid::from_bytes(&[1, 2, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]).is_err());
        assert!(Sid::from_bytes(&[2, 0, 0, 0, 0, 0, 0, 5]).is_err());
    }

    #[test]
    fn a_domain_user_s_binary_sid_reads_as_windows_writes_it() {
        // Revision 1, 5 sub-authorities, authority 5 (NT AUTHORITY) big-endian in 6 bytes, then each
        // sub-authority little-endian: 21, 3623811015, 3361044348, 30300820, 1013.
        let bytes = [
            0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x15, 0x00, 0x00, 0x00, 0xC7, 0xF7, 0xFE, 0xD7, 0x7C, 0x77,
            0x55, 0xC8, 0x94, 0x5A, 0xCE, 0x01, 0xF5, 0x03, 0x00, 0x00,
        ];
        let sid = Sid::from_bytes(&bytes).expect("S-1-5-21-…");
        assert_eq!(sid.to_string(), "S-1-5-21-3623811015-3361044348-30300820-1013");
        assert_eq!(format!("{sid:?}"), "Sid(S-1-5-21-3623811015-3361044348-30300820-1013)");
        let parsed: Sid = "S-1-5-21-3623811015-3361044348-30300820-1013".parse().expect("text");
        assert_eq!(parsed.as_bytes(), bytes);
    }

    #[test]
    fn an_authority_of_2_to_the_32_or_more_is_written_in_hex() {
        // MS-DTYP 2.4.2.1: an identifier authority below 2^32 in decimal, from 2^32 as "0x" and 12 hex digits.
        let with_authority = |authority: [u8; 6]| {
            let bytes = [&[1, 1][..], &authority, &[7, 0, 0, 0]].concat();
            Sid::from_bytes(&bytes).expect("one sub-authority").to_string()
        };
        assert_eq!(with_authority([0, 0, 0xFF, 0xFF, 0xFF, 0xFF]), "S-1-4294967295-7");
        assert_eq!(with_authority([0, 1, 0, 0, 0, 0]), "S-1-0x000100000000-7");
        assert_eq!(with_authority([0x20, 0x6C, 0x27, 0x7C, 0x66, 0x66]), "S-1-0x206C277C6666-7");
        assert_eq!(with_authority([0xFF; 6]), "S-1-0xFFFFFFFFFFFF-7");
        for text in ["S-1-0x000100000000-7", "S-1-0x206C277C6666-7"] {
            assert_eq!(text.parse::<Sid>().expect(text).to_string(), text);
        }
    }

    #[test]
    fn a_sid_has_at_most_15_sub_authorities() {
        let with = |count: u8| [&[1, count, 0, 0, 0, 0, 0, 5][..], &vec![0xAB; 4 * usize::from(count)]].concat();
        let full = Sid::from_bytes(&with(15)).expect("15 sub-authorities");
        assert_eq!(full.to_string(), format!("S-1-5{}", "-2880154539".repeat(15)));
        assert_eq!(Sid::from_bytes(&with(16)), Err(SidError("16 sub-authorities".into())));
        assert!(Sid::from_bytes(&with(255)).is_err());
        assert!(Sid::from_bytes(&with(0)).is_ok(), "S-1-5 alone is a SID (NT AUTHORITY)");
    }
}
