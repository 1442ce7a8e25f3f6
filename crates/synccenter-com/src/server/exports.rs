//! The DLL's exports: `DllGetClassObject` (a class factory for synccenter's class, and for `CLSID_SyncMgrClient`,
//! which a direct registration or an old `TreatAs` may ask for), `DllCanUnloadNow` (no object and no lock left),
//! and `DllRegisterServer`/`DllUnregisterServer`, which register this DLL for the current user under
//! synccenter's own class, as `synccenter com register` does without options (never the take-over).

use std::ffi::c_void;

use synccenter_platform::com_registration::{self, Registration, SYNCCENTER_CLSID, SYNCMGR_CLIENT_CLSID, Scope};
use windows_core::{GUID, HRESULT, IUnknown, Interface, implement};
use windows_sys::Win32::Foundation::HMODULE;
use windows_sys::Win32::System::LibraryLoader::{
    GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT, GetModuleFileNameW,
    GetModuleHandleExW,
};

use super::boundary::{
    CLASS_E_CLASSNOTAVAILABLE, CLASS_E_NOAGGREGATION, Counted, E_POINTER, S_FALSE, S_OK, SELFREG_E_CLASS, can_unload,
    guard, lock_server,
};
use super::creator::Creator;
use super::interfaces::{IClassFactory, IClassFactory_Impl};

#[implement(IClassFactory)]
struct Factory {
    _counted: Counted,
}

impl IClassFactory_Impl for Factory_Impl {
    unsafe fn CreateInstance(&self, outer: *mut c_void, iid: *const GUID, object: *mut *mut c_void) -> HRESULT {
        guard(|| {
            if object.is_null() || iid.is_null() {
                return Err(E_POINTER);
            }
            // SAFETY: checked non-NULL; writable by the method's contract.
            unsafe { object.write(std::ptr::null_mut()) };
            if !outer.is_null() {
                return Err(CLASS_E_NOAGGREGATION);
            }
            let creator: IUnknown = Creator::new().into();
            // SAFETY: `iid` and `object` checked non-NULL, valid by the method's contract.
            Ok(unsafe { creator.query(iid, object) })
        })
    }

    unsafe fn LockServer(&self, lock: i32) -> HRESULT {
        guard(|| {
            lock_server(lock != 0);
            Ok(S_OK)
        })
    }
}

/// Hands out the class factory of synccenter's session creator.
///
/// # Safety
/// COM's contract: `clsid` and `iid` point to GUIDs, `object` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DllGetClassObject(
    clsid: *const GUID,
    iid: *const GUID,
    object: *mut *mut c_void,
) -> HRESULT {
    guard(|| {
        if object.is_null() || clsid.is_null() || iid.is_null() {
            return Err(E_POINTER);
        }
        // SAFETY: checked non-NULL; writable by COM's contract.
        unsafe { object.write(std::ptr::null_mut()) };
        // SAFETY: checked non-NULL; a GUID by COM's contract.
        let clsid = unsafe { clsid.read() }.to_u128();
        if clsid != SYNCCENTER_CLSID && clsid != SYNCMGR_CLIENT_CLSID {
            return Err(CLASS_E_CLASSNOTAVAILABLE);
        }
        let factory: IUnknown = Factory { _counted: Counted::new() }.into();
        // SAFETY: `iid` and `object` checked non-NULL, valid by COM's contract.
        Ok(unsafe { factory.query(iid, object) })
    })
}

/// `S_OK` when no object of this DLL lives and no lock is held, else `S_FALSE`.
#[unsafe(no_mangle)]
pub extern "system" fn DllCanUnloadNow() -> HRESULT {
    guard(|| Ok(if can_unload() { S_OK } else { S_FALSE }))
}

/// Registers this DLL for the current user under synccenter's own class (`regsvr32 synccenter_com.dll`).
#[unsafe(no_mangle)]
pub extern "system" fn DllRegisterServer() -> HRESULT {
    guard(|| {
        let dll = this_dll().ok_or(SELFREG_E_CLASS)?;
        com_registration::register(&Registration { scope: Scope::User, dll, take_over: false })
            .map_err(|_| SELFREG_E_CLASS)?;
        Ok(S_OK)
    })
}

/// Removes what `DllRegisterServer` (or `synccenter com register` without `--machine`) wrote.
#[unsafe(no_mangle)]
pub extern "system" fn DllUnregisterServer() -> HRESULT {
    guard(|| {
        com_registration::unregister(Scope::User).map_err(|_| SELFREG_E_CLASS)?;
        Ok(S_OK)
    })
}

/// This DLL's own path.
fn this_dll() -> Option<std::path::PathBuf> {
    let mut module: HMODULE = std::ptr::null_mut();
    let flags = GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT;
    let address = DllCanUnloadNow as *const c_void;
    // SAFETY: with FROM_ADDRESS the "name" is an address inside this module; the handle is written on success
    // and, with UNCHANGED_REFCOUNT, is not ours to free.
    if unsafe { GetModuleHandleExW(flags, address.cast(), &mut module) } == 0 {
        return None;
    }
    let mut buf = vec![0u16; 32_768];
    // SAFETY: `buf` holds `buf.len()` units; the length written (without NUL) is returned, 0 on failure.
    let len = unsafe { GetModuleFileNameW(module, buf.as_mut_ptr(), buf.len() as u32) } as usize;
    if len == 0 || len >= buf.len() {
        return None;
    }
    Some(std::path::PathBuf::from(String::from_utf16(&buf[..len]).ok()?))
}
