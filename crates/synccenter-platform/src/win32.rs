//! The Win32 calls the Windows halves of this crate need and that neither the standard library nor tokio wraps:
//! the user SID of a process token, the client and server processes of a named pipe, a pipe instance created
//! with a security descriptor from SDDL, Job Objects, resuming a process created suspended, and the host name.
//!
//! Like `win32_registry` and `memory`, and unlike the rest of this crate, it may hold `unsafe` code. Each call
//! is wrapped in a safe function that owns what it gets (handles become `OwnedHandle`s, closed exactly once;
//! allocations of the system are freed by a guard) and checks the result; each `unsafe` block says why it is
//! sound. Nothing here keeps a raw pointer beyond the function that obtained it.

#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};
use std::ptr::{null, null_mut};

use tokio::net::windows::named_pipe::{NamedPipeClient, NamedPipeServer, ServerOptions};
use windows_sys::Win32::Foundation::{FALSE, HANDLE, INVALID_HANDLE_VALUE, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    GetLengthSid, GetTokenInformation, IsValidSid, PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES, TOKEN_QUERY, TOKEN_USER,
    TokenUser,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectBasicAccountingInformation,
    JobObjectExtendedLimitInformation, QueryInformationJobObject, SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Pipes::{GetNamedPipeClientProcessId, GetNamedPipeServerProcessId};
use windows_sys::Win32::System::SystemInformation::{ComputerNameDnsHostname, GetComputerNameExW};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, OpenProcess, OpenProcessToken, OpenThread, PROCESS_QUERY_LIMITED_INFORMATION, ResumeThread,
    THREAD_SUSPEND_RESUME,
};

use crate::sid::Sid;

/// A handle returned by a successful call, owned from now on; the last OS error when the call failed (null).
fn owned(handle: HANDLE) -> io::Result<OwnedHandle> {
    if handle.is_null() || handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the handle was just returned by a successful Win32 call that hands its ownership to the caller,
    // and nothing else holds it, so it is closed exactly once, by the `OwnedHandle`.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
}

/// `Ok` when a Win32 `BOOL` says success, else the last OS error.
fn check(ok: i32) -> io::Result<()> {
    if ok == 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// The user SID of the process behind `process` (a handle with query access).
fn process_user_sid(process: HANDLE) -> io::Result<Sid> {
    let mut token: HANDLE = null_mut();
    // SAFETY: `process` is a valid process handle for the duration of the call (a pseudo handle or one owned by
    // the caller) and `token` is a valid place for the new handle.
    check(unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) })?;
    let token = owned(token)?;
    let mut len = 0u32;
    // SAFETY: a null buffer of length 0 only asks for the length needed, written to `len`. The call "fails"
    // with ERROR_INSUFFICIENT_BUFFER by design; `len` tells.
    unsafe { GetTokenInformation(token.as_raw_handle(), TokenUser, null_mut(), 0, &mut len) };
    if len == 0 {
        return Err(io::Error::last_os_error());
    }
    // `u64`s, so the buffer is aligned for TOKEN_USER (a pointer and a u32).
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: `buf` is writable for at least `len` bytes and aligned for TOKEN_USER.
    check(unsafe { GetTokenInformation(token.as_raw_handle(), TokenUser, buf.as_mut_ptr().cast(), len, &mut len) })?;
    // SAFETY: on success the buffer starts with a TOKEN_USER, whose SID pointer points into the same buffer.
    let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    // SAFETY: `sid` points at a SID written by the system into `buf`, which is alive.
    if unsafe { IsValidSid(sid) } == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "the token's user SID is not valid"));
    }
    // SAFETY: `sid` is a valid SID (checked above).
    let n = unsafe { GetLengthSid(sid) } as usize;
    // SAFETY: a valid SID occupies exactly `GetLengthSid` bytes, all inside `buf`, which outlives this slice.
    let bytes = unsafe { std::slice::from_raw_parts(sid.cast::<u8>(), n) };
    Sid::from_bytes(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The user SID of this process.
pub(crate) fn current_user_sid() -> io::Result<Sid> {
    // SAFETY: no arguments; returns a pseudo handle that needs no closing.
    process_user_sid(unsafe { GetCurrentProcess() })
}

/// The user SID of process `pid`.
fn pid_user_sid(pid: u32) -> io::Result<Sid> {
    // SAFETY: plain values; the returned handle is checked and owned by `owned`.
    let process = owned(unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid) })?;
    process_user_sid(process.as_raw_handle())
}

/// The user SID of the process at the client end of a connected pipe instance.
pub(crate) fn pipe_client_sid(pipe: &NamedPipeServer) -> io::Result<Sid> {
    let mut pid = 0u32;
    // SAFETY: the pipe handle is valid while `pipe` is borrowed; `pid` is a valid place for the result.
    check(unsafe { GetNamedPipeClientProcessId(pipe.as_raw_handle(), &mut pid) })?;
    pid_user_sid(pid)
}

/// The user SID of the process that created the pipe a client is connected to.
pub(crate) fn pipe_server_sid(pipe: &NamedPipeClient) -> io::Result<Sid> {
    let mut pid = 0u32;
    // SAFETY: the pipe handle is valid while `pipe` is borrowed; `pid` is a valid place for the result.
    check(unsafe { GetNamedPipeServerProcessId(pipe.as_raw_handle(), &mut pid) })?;
    pid_user_sid(pid)
}

/// Frees a `LocalAlloc`ed block when dropped.
struct LocalBox(*mut core::ffi::c_void);

impl Drop for LocalBox {
    fn drop(&mut self) {
        // SAFETY: the pointer was allocated by the system with LocalAlloc for us to free, and is freed only here.
        unsafe { LocalFree(self.0) };
    }
}

/// Creates a pipe instance named `name` with `options` and the security descriptor given as SDDL
/// (NUL-terminated UTF-16).
pub(crate) fn create_pipe_instance(options: &ServerOptions, name: &OsStr, sddl: &[u16]) -> io::Result<NamedPipeServer> {
    if sddl.last() != Some(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the SDDL string is not NUL-terminated"));
    }
    let mut descriptor: PSECURITY_DESCRIPTOR = null_mut();
    // SAFETY: `sddl` is NUL-terminated UTF-16 (checked above); on success `descriptor` receives a block the
    // system allocated with LocalAlloc, freed by the guard below; the size output is optional.
    check(unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut descriptor,
            null_mut(),
        )
    })?;
    let _free = LocalBox(descriptor);
    let mut attributes = SECURITY_ATTRIBUTES {
        nLength: u32::try_from(std::mem::size_of::<SECURITY_ATTRIBUTES>()).unwrap_or(u32::MAX),
        lpSecurityDescriptor: descriptor,
        bInheritHandle: FALSE,
    };
    // SAFETY: `attributes` is a valid SECURITY_ATTRIBUTES whose descriptor stays allocated until after the call
    // (`_free` drops at the end of the function); the system copies the descriptor into the new pipe instance.
    unsafe { options.create_with_security_attributes_raw(name, (&raw mut attributes).cast()) }
}

/// A Job Object whose processes are all killed when its last handle closes.
#[derive(Debug)]
pub(crate) struct Job(OwnedHandle);

impl Job {
    pub(crate) fn new() -> io::Result<Job> {
        // SAFETY: null attributes and name create an unnamed job with default security; the handle is checked
        // and owned by `owned`.
        let job = Job(owned(unsafe { CreateJobObjectW(null(), null()) })?);
        job.set_kill_on_close(true)?;
        Ok(job)
    }

    /// Whether closing the job's last handle kills its processes.
    pub(crate) fn set_kill_on_close(&self, kill: bool) -> io::Result<()> {
        let mut info = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
        info.BasicLimitInformation.LimitFlags = if kill { JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE } else { 0 };
        let size = u32::try_from(std::mem::size_of_val(&info)).unwrap_or(u32::MAX);
        // SAFETY: `info` is a valid JOBOBJECT_EXTENDED_LIMIT_INFORMATION of `size` bytes, read during the call.
        check(unsafe {
            SetInformationJobObject(
                self.0.as_raw_handle(),
                JobObjectExtendedLimitInformation,
                (&raw const info).cast(),
                size,
            )
        })
    }

    /// Puts the process behind `process` (a handle the caller keeps alive) into the job.
    pub(crate) fn assign(&self, process: RawHandle) -> io::Result<()> {
        // SAFETY: both handles are valid for the duration of the call (the job is ours; the caller holds the
        // process handle through its `Child`).
        check(unsafe { AssignProcessToJobObject(self.0.as_raw_handle(), process) })
    }

    /// Ends every process in the job.
    pub(crate) fn terminate(&self, exit_code: u32) -> io::Result<()> {
        // SAFETY: the job handle is valid while `self` lives.
        check(unsafe { TerminateJobObject(self.0.as_raw_handle(), exit_code) })
    }

    /// How many processes of the job are running.
    pub(crate) fn active_processes(&self) -> io::Result<u32> {
        let mut info = JOBOBJECT_BASIC_ACCOUNTING_INFORMATION::default();
        let size = u32::try_from(std::mem::size_of_val(&info)).unwrap_or(u32::MAX);
        // SAFETY: `info` is writable for `size` bytes; the returned-length output is optional.
        check(unsafe {
            QueryInformationJobObject(
                self.0.as_raw_handle(),
                JobObjectBasicAccountingInformation,
                (&raw mut info).cast(),
                size,
                null_mut(),
            )
        })?;
        Ok(info.ActiveProcesses)
    }
}

/// Resumes every thread of process `pid` (created suspended: it has exactly one).
pub(crate) fn resume_process(pid: u32) -> io::Result<()> {
    // SAFETY: plain values; the snapshot handle is checked and owned by `owned`.
    let snapshot = owned(unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) })?;
    let mut entry = THREADENTRY32 {
        dwSize: u32::try_from(std::mem::size_of::<THREADENTRY32>()).unwrap_or(0),
        ..Default::default()
    };
    // SAFETY: the snapshot handle is valid and `entry` is a THREADENTRY32 with `dwSize` set, as required.
    let mut more = unsafe { Thread32First(snapshot.as_raw_handle(), &mut entry) } != 0;
    let mut resumed = 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: plain values; the thread handle is checked and owned by `owned`.
            let thread = owned(unsafe { OpenThread(THREAD_SUSPEND_RESUME, FALSE, entry.th32ThreadID) })?;
            // SAFETY: the thread handle is valid and has THREAD_SUSPEND_RESUME access.
            if unsafe { ResumeThread(thread.as_raw_handle()) } == u32::MAX {
                return Err(io::Error::last_os_error());
            }
            resumed += 1;
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(snapshot.as_raw_handle(), &mut entry) } != 0;
    }
    if resumed == 0 {
        return Err(io::Error::new(io::ErrorKind::NotFound, format!("process {pid} has no thread to resume")));
    }
    Ok(())
}

/// Moves `from` over `to`, replacing it, and returns only once the move is on disk (`MOVEFILE_WRITE_THROUGH`):
/// Windows has no directory to sync after a rename.
pub(crate) fn move_file_replacing(from: &std::path::Path, to: &std::path::Path) -> io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::{MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH, MoveFileExW};
    let wide = |p: &std::path::Path| -> Vec<u16> { p.as_os_str().encode_wide().chain([0]).collect() };
    let (from, to) = (wide(from), wide(to));
    // SAFETY: both are NUL-terminated UTF-16 strings that outlive the call, which keeps no pointer to them.
    check(unsafe { MoveFileExW(from.as_ptr(), to.as_ptr(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) })
}

/// This computer's DNS host name.
pub(crate) fn computer_name() -> io::Result<String> {
    let mut len = 0u32;
    // SAFETY: a null buffer asks for the length needed (in UTF-16 units, with the NUL), written to `len`.
    unsafe { GetComputerNameExW(ComputerNameDnsHostname, null_mut(), &mut len) };
    if len == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u16; len as usize];
    // SAFETY: `buf` holds `len` UTF-16 units; on success `len` is the length written, without the NUL.
    check(unsafe { GetComputerNameExW(ComputerNameDnsHostname, buf.as_mut_ptr(), &mut len) })?;
    buf.truncate(len as usize);
    String::from_utf16(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Waits up to `timeout` for process `pid` to end; true when it has ended (or no longer exists).
#[cfg(test)]
pub(crate) fn wait_for_exit(pid: u32, timeout: std::time::Duration) -> bool {
    use windows_sys::Win32::Foundation::WAIT_OBJECT_0;
    use windows_sys::Win32::System::Threading::{PROCESS_SYNCHRONIZE, WaitForSingleObject};
    // SAFETY: plain values; the handle is checked and owned by `owned`.
    let Ok(process) = owned(unsafe { OpenProcess(PROCESS_SYNCHRONIZE, FALSE, pid) }) else { return true };
    let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX - 1);
    // SAFETY: the process handle is valid and has SYNCHRONIZE access.
    unsafe { WaitForSingleObject(process.as_raw_handle(), ms) == WAIT_OBJECT_0 }
}
