//! The interfaces, declared here with windows-core's `#[interface]` in `syncmgr.idl`'s vtable order, every
//! method answering a raw `HRESULT` (so `S_FALSE` survives) and taking raw pointers (so NULL out-pointers are
//! seen, not written through). `IEnumString`, `IEnumUnknown` and `IClassFactory` are COM's own, declared the
//! same way rather than pulling in the `windows` crate; `ISynccenterContext` is private: it marks the context
//! objects this DLL hands out, so `AddIUnknownToSession` knows its own.

#![allow(non_snake_case, clippy::upper_case_acronyms, clippy::too_many_arguments)]

use std::ffi::c_void;

use windows_core::{GUID, HRESULT, IUnknown, IUnknown_Vtbl, interface};

#[interface("17f48517-f305-4321-a08d-b25a834918fd")]
pub(crate) unsafe trait ISyncMgrSessionCreator: IUnknown {
    unsafe fn CreateSession(
        &self,
        handler: *const u16,
        items: *const *const u16,
        count: u32,
        callback: *mut *mut c_void,
    ) -> HRESULT;
}

#[interface("884ccd87-b139-4937-a4ba-4f8e19513fbe")]
pub(crate) unsafe trait ISyncMgrSyncCallback: IUnknown {
    unsafe fn ReportProgress(
        &self,
        item: *const u16,
        text: *const u16,
        status: u32,
        step: u32,
        max_step: u32,
        cancel: *mut u32,
    ) -> HRESULT;
    unsafe fn SetHandlerProgressText(&self, text: *const u16, cancel: *mut u32) -> HRESULT;
    unsafe fn ReportEvent(
        &self,
        item: *const u16,
        level: u32,
        flags: u32,
        name: *const u16,
        description: *const u16,
        link_text: *const u16,
        link_reference: *const u16,
        context: *const u16,
        event_id: *mut GUID,
    ) -> HRESULT;
    unsafe fn CanContinue(&self, item: *const u16) -> HRESULT;
    unsafe fn QueryForAdditionalItems(&self, items: *mut *mut c_void, punks: *mut *mut c_void) -> HRESULT;
    unsafe fn AddItemToSession(&self, item: *const u16) -> HRESULT;
    unsafe fn AddIUnknownToSession(&self, punk: *mut c_void) -> HRESULT;
    unsafe fn ProposeItem(&self, item: *mut c_void) -> HRESULT;
    unsafe fn CommitItem(&self, item: *const u16) -> HRESULT;
    unsafe fn ReportManualSync(&self) -> HRESULT;
}

/// The item `ProposeItem` takes; only its first two methods are called, so only they are declared.
#[interface("b20b24ce-2593-4f04-bd8b-7ad6c45051cd")]
pub(crate) unsafe trait ISyncMgrSyncItem: IUnknown {
    pub unsafe fn GetItemID(&self, id: *mut *mut u16) -> HRESULT;
    pub unsafe fn GetName(&self, name: *mut *mut u16) -> HRESULT;
}

#[interface("00000101-0000-0000-c000-000000000046")]
pub(crate) unsafe trait IEnumString: IUnknown {
    unsafe fn Next(&self, count: u32, strings: *mut *mut u16, fetched: *mut u32) -> HRESULT;
    unsafe fn Skip(&self, count: u32) -> HRESULT;
    unsafe fn Reset(&self) -> HRESULT;
    unsafe fn Clone(&self, copy: *mut *mut c_void) -> HRESULT;
}

#[interface("00000100-0000-0000-c000-000000000046")]
pub(crate) unsafe trait IEnumUnknown: IUnknown {
    unsafe fn Next(&self, count: u32, objects: *mut *mut c_void, fetched: *mut u32) -> HRESULT;
    unsafe fn Skip(&self, count: u32) -> HRESULT;
    unsafe fn Reset(&self) -> HRESULT;
    unsafe fn Clone(&self, copy: *mut *mut c_void) -> HRESULT;
}

#[interface("00000001-0000-0000-c000-000000000046")]
pub(crate) unsafe trait IClassFactory: IUnknown {
    unsafe fn CreateInstance(&self, outer: *mut c_void, iid: *const GUID, object: *mut *mut c_void) -> HRESULT;
    unsafe fn LockServer(&self, lock: i32) -> HRESULT;
}

/// A pending start request's context (spec §5.14), as `QueryForAdditionalItems` hands it out.
#[interface("f9ad091a-716b-460a-989c-9454845e7313")]
pub(crate) unsafe trait ISynccenterContext: IUnknown {
    /// The context as JSON text, allocated with `CoTaskMemAlloc`.
    unsafe fn GetJson(&self, json: *mut *mut u16) -> HRESULT;
}
