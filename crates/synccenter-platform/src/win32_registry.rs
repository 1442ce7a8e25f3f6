//! The registry calls behind `com_registration` (Windows only): create, open and delete keys, and read and write
//! string values, under `HKEY_CURRENT_USER` or `HKEY_LOCAL_MACHINE`. Like `win32`, each call is wrapped in a safe
//! function with its `SAFETY:` argument; an open key is a `Key`, closed exactly once when dropped.

#![allow(unsafe_code)]

use std::io;
use std::ptr::{null, null_mut};

use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_SUCCESS, WIN32_ERROR};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_READ, KEY_WRITE, REG_CREATED_NEW_KEY, REG_OPTION_NON_VOLATILE,
    REG_SZ, RRF_RT_REG_SZ, RegCloseKey, RegCreateKeyExW, RegDeleteKeyW, RegDeleteTreeW, RegGetValueW, RegOpenKeyExW,
    RegSetValueExW,
};

/// Which hive: the user's own (`HKEY_CURRENT_USER`) or the machine's (`HKEY_LOCAL_MACHINE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hive {
    User,
    Machine,
}

impl Hive {
    fn root(self) -> HKEY {
        match self {
            Hive::User => HKEY_CURRENT_USER,
            Hive::Machine => HKEY_LOCAL_MACHINE,
        }
    }
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

fn result(code: WIN32_ERROR) -> io::Result<()> {
    if code == ERROR_SUCCESS { Ok(()) } else { Err(io::Error::from_raw_os_error(code as i32)) }
}

/// An open key, closed when dropped.
#[derive(Debug)]
pub(crate) struct Key(HKEY);

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: the key was opened by `create` or `open` and is closed only here.
        unsafe { RegCloseKey(self.0) };
    }
}

/// Opens `path` under `hive`, creating it (and its parents) when missing; true when this call created it.
pub(crate) fn create(hive: Hive, path: &str) -> io::Result<(Key, bool)> {
    let path = wide(path);
    let mut key: HKEY = null_mut();
    let mut disposition = 0;
    // SAFETY: `path` is NUL-terminated and outlives the call; the key and disposition are written on success.
    result(unsafe {
        RegCreateKeyExW(
            hive.root(),
            path.as_ptr(),
            0,
            null(),
            REG_OPTION_NON_VOLATILE,
            KEY_READ | KEY_WRITE,
            null(),
            &mut key,
            &mut disposition,
        )
    })?;
    Ok((Key(key), disposition == REG_CREATED_NEW_KEY))
}

/// Opens `path` under `hive` for reading and writing; `None` when it does not exist.
pub(crate) fn open(hive: Hive, path: &str) -> io::Result<Option<Key>> {
    let path = wide(path);
    let mut key: HKEY = null_mut();
    // SAFETY: `path` is NUL-terminated and outlives the call; the key is written on success.
    let code = unsafe { RegOpenKeyExW(hive.root(), path.as_ptr(), 0, KEY_READ | KEY_WRITE, &mut key) };
    if code == ERROR_FILE_NOT_FOUND {
        return Ok(None);
    }
    result(code).map(|()| Some(Key(key)))
}

impl Key {
    /// Writes the string value `name` (`None`: the key's default value).
    pub(crate) fn set_string(&self, name: Option<&str>, value: &str) -> io::Result<()> {
        let name = name.map(wide);
        let value = wide(value);
        let bytes = u32::try_from(value.len() * 2).map_err(|_| io::Error::other("a registry value too long"))?;
        // SAFETY: the key is open; `name` is NULL or NUL-terminated; `value` holds `bytes` bytes including its NUL.
        result(unsafe {
            RegSetValueExW(
                self.0,
                name.as_ref().map_or(null(), |n| n.as_ptr()),
                0,
                REG_SZ,
                value.as_ptr().cast(),
                bytes,
            )
        })
    }

    /// The string value `name` (`None`: the default value), or `None` when it does not exist.
    pub(crate) fn get_string(&self, name: Option<&str>) -> io::Result<Option<String>> {
        let name = name.map(wide);
        let name_ptr = name.as_ref().map_or(null(), |n| n.as_ptr());
        let mut bytes = 0u32;
        // SAFETY: the key is open; a NULL buffer asks for the size in bytes, written to `bytes`.
        let code = unsafe { RegGetValueW(self.0, null(), name_ptr, RRF_RT_REG_SZ, null_mut(), null_mut(), &mut bytes) };
        if code == ERROR_FILE_NOT_FOUND {
            return Ok(None);
        }
        result(code)?;
        let mut buf = vec![0u16; (bytes as usize).div_ceil(2).max(1)];
        bytes = u32::try_from(buf.len() * 2).map_err(|_| io::Error::other("a registry value too long"))?;
        // SAFETY: `buf` holds `bytes` bytes; the value (NUL-terminated) and its size are written on success.
        result(unsafe {
            RegGetValueW(self.0, null(), name_ptr, RRF_RT_REG_SZ, null_mut(), buf.as_mut_ptr().cast(), &mut bytes)
        })?;
        buf.truncate((bytes as usize / 2).min(buf.len()));
        while buf.last() == Some(&0) {
            buf.pop();
        }
        String::from_utf16(&buf).map(Some).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// Deletes `path` under `hive` with everything in it. A missing key is no error.
pub(crate) fn delete_tree(hive: Hive, path: &str) -> io::Result<()> {
    let path = wide(path);
    // SAFETY: `path` is NUL-terminated and outlives the call.
    let code = unsafe { RegDeleteTreeW(hive.root(), path.as_ptr()) };
    if code == ERROR_FILE_NOT_FOUND { Ok(()) } else { result(code) }
}

/// Deletes `path` under `hive` only if it has no subkeys (Windows refuses otherwise). A missing key is no error.
pub(crate) fn delete_empty(hive: Hive, path: &str) -> io::Result<()> {
    let path = wide(path);
    // SAFETY: `path` is NUL-terminated and outlives the call.
    let code = unsafe { RegDeleteKeyW(hive.root(), path.as_ptr()) };
    if code == ERROR_FILE_NOT_FOUND { Ok(()) } else { result(code) }
}
