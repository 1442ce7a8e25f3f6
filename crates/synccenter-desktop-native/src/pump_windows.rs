//! The thread's Win32 message loop, which the tray's hidden window (made by `tray-icon`) needs, and a waker
//! that posts a thread message to it. The only unsafe code of this crate: its Win32 calls, each argued below.
#![allow(unsafe_code)]

use windows_sys::Win32::System::Threading::GetCurrentThreadId;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    DispatchMessageW, GetMessageW, MSG, PM_NOREMOVE, PeekMessageW, PostThreadMessageW, TranslateMessage, WM_APP,
    WM_USER,
};

use crate::error::NativeError;

/// The thread message that says "look at the queue of requests".
const WAKE: u32 = WM_APP + 0x5c;

/// Wakes the loop of the thread it was made on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Waker {
    thread: u32,
}

impl Waker {
    /// Posts [`WAKE`]; false when the thread has no message queue any more (its loop ended).
    pub(crate) fn wake(self) -> bool {
        // SAFETY: PostThreadMessageW takes plain integers (no pointers) and fails cleanly for a thread that is
        // gone or has no queue.
        unsafe { PostThreadMessageW(self.thread, WAKE, 0, 0) != 0 }
    }
}

/// The calling thread's message loop.
#[derive(Debug)]
pub(crate) struct EventLoop {
    thread: u32,
}

impl EventLoop {
    /// Makes sure the thread has a message queue, so that wakes posted before the loop runs are kept.
    pub(crate) fn prepare() -> Result<EventLoop, NativeError> {
        let mut msg = MSG::default();
        // SAFETY: GetCurrentThreadId has no preconditions. PeekMessageW writes into `msg`, a valid MSG owned
        // here, and with PM_NOREMOVE and a null window only creates the thread's queue (what Win32 documents
        // for this call) without taking a message.
        let thread = unsafe {
            PeekMessageW(&mut msg, std::ptr::null_mut(), WM_USER, WM_USER, PM_NOREMOVE);
            GetCurrentThreadId()
        };
        Ok(EventLoop { thread })
    }

    pub(crate) fn waker(&self) -> Waker {
        Waker { thread: self.thread }
    }

    /// Dispatches the thread's messages to their windows; on each wake calls `on_wake`, and ends when it says
    /// false, on `WM_QUIT`, or when the loop fails.
    pub(crate) fn run(self, mut on_wake: impl FnMut() -> bool) {
        let mut msg = MSG::default();
        loop {
            // SAFETY: `msg` is a valid MSG owned here; a null window asks for any message of this thread.
            let got = unsafe { GetMessageW(&mut msg, std::ptr::null_mut(), 0, 0) };
            if got == 0 || got == -1 {
                return;
            }
            if msg.hwnd.is_null() && msg.message == WAKE {
                if !on_wake() {
                    return;
                }
                continue;
            }
            // SAFETY: `msg` is the message GetMessageW just filled in, handed back as Win32's loop does.
            unsafe {
                TranslateMessage(&msg);
                DispatchMessageW(&msg);
            }
        }
    }
}
