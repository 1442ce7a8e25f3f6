//! The spec's result codes (§0.1) as numbers and names.
//!
//! Every error the core returns maps to exactly one of these, so the protocol can send the number and the
//! name unchanged and a client in any language can compare them.

use std::fmt;

/// A Windows `HRESULT`: the numeric code and its symbolic name.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HResult {
    /// The 32-bit code, e.g. `0x80070057`.
    pub code: u32,
    /// The symbolic name, e.g. `E_INVALIDARG`.
    pub name: &'static str,
}

impl HResult {
    /// Success.
    pub const S_OK: HResult = HResult { code: 0x0000_0000, name: "S_OK" };
    /// Success; for predicates "no".
    pub const S_FALSE: HResult = HResult { code: 0x0000_0001, name: "S_FALSE" };
    /// The operation is not implemented.
    pub const E_NOTIMPL: HResult = HResult { code: 0x8000_4001, name: "E_NOTIMPL" };
    /// A bad or unknown ID, duplicate membership, out-of-range value.
    pub const E_INVALIDARG: HResult = HResult { code: 0x8007_0057, name: "E_INVALIDARG" };
    /// An illegal progress transition, or an action forbidden by policy.
    pub const E_ACCESSDENIED: HResult = HResult { code: 0x8007_0005, name: "E_ACCESSDENIED" };
    /// A generic failure (storage).
    pub const E_FAIL: HResult = HResult { code: 0x8000_4005, name: "E_FAIL" };
    /// Allocation failure, or a configured capacity is exhausted.
    pub const E_OUTOFMEMORY: HResult = HResult { code: 0x8007_000E, name: "E_OUTOFMEMORY" };
    /// A call on a session that has ended.
    pub const E_UNEXPECTED: HResult = HResult { code: 0x8000_FFFF, name: "E_UNEXPECTED" };
    /// A required argument is missing.
    pub const E_POINTER: HResult = HResult { code: 0x8000_4003, name: "E_POINTER" };
    /// `HRESULT_FROM_WIN32(ERROR_BUSY)`: a second session for a handler without concurrent sessions.
    pub const ERROR_BUSY: HResult = HResult { code: 0x8007_00AA, name: "ERROR_BUSY" };
    /// `HRESULT_FROM_WIN32(ERROR_NOT_READY)`: the target is inactive, disabled or disconnected.
    pub const ERROR_NOT_READY: HResult = HResult { code: 0x8007_0015, name: "ERROR_NOT_READY" };

    /// Every code the core can produce, for documentation and for lookups by number or name.
    pub const ALL: [HResult; 11] = [
        Self::S_OK,
        Self::S_FALSE,
        Self::E_NOTIMPL,
        Self::E_INVALIDARG,
        Self::E_ACCESSDENIED,
        Self::E_FAIL,
        Self::E_OUTOFMEMORY,
        Self::E_UNEXPECTED,
        Self::E_POINTER,
        Self::ERROR_BUSY,
        Self::ERROR_NOT_READY,
    ];

    /// Looks a code up by its number.
    pub fn from_code(code: u32) -> Option<HResult> {
        Self::ALL.into_iter().find(|h| h.code == code)
    }

    /// True for success codes (top bit clear).
    pub fn is_success(self) -> bool {
        self.code & 0x8000_0000 == 0
    }
}

impl fmt::Debug for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:08X})", self.name, self.code)
    }
}

impl fmt::Display for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
