//! The application's event loop on the main thread: an accessory application (a menu bar item, no Dock icon),
//! its events dispatched as `-[NSApplication run]` would, with the requests from the runtime looked at every
//! [`POLL`] (the runtime sends at most every 250 ms anyway), so no Objective-C callback is needed to wake it.

use std::time::Duration;

use objc2::MainThreadMarker;
use objc2_app_kit::{NSApplication, NSApplicationActivationPolicy, NSEventMask};
use objc2_foundation::{NSDate, NSString};

use crate::error::NativeError;

/// How often the loop looks at the requests.
const POLL: Duration = Duration::from_millis(100);
/// `NSDefaultRunLoopMode`'s value (`kCFRunLoopDefaultMode`), named rather than read from the framework's static.
const DEFAULT_MODE: &str = "kCFRunLoopDefaultMode";

/// Nothing to do: the loop polls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Waker;

impl Waker {
    pub(crate) fn wake(self) -> bool {
        true
    }
}

/// The main thread's application.
#[derive(Debug)]
pub(crate) struct EventLoop {
    mtm: MainThreadMarker,
}

impl EventLoop {
    /// Makes this process an accessory application, which the status item needs before it is made.
    pub(crate) fn prepare() -> Result<EventLoop, NativeError> {
        let mtm = MainThreadMarker::new().ok_or(NativeError::NotMainThread)?;
        let app = NSApplication::sharedApplication(mtm);
        app.setActivationPolicy(NSApplicationActivationPolicy::Accessory);
        app.finishLaunching();
        Ok(EventLoop { mtm })
    }

    pub(crate) fn waker(&self) -> Waker {
        Waker
    }

    /// Dispatches the application's events; every [`POLL`] calls `on_wake`, and ends when it says false.
    pub(crate) fn run(self, mut on_wake: impl FnMut() -> bool) {
        let app = NSApplication::sharedApplication(self.mtm);
        let mode = NSString::from_str(DEFAULT_MODE);
        loop {
            let until = NSDate::dateWithTimeIntervalSinceNow(POLL.as_secs_f64());
            while let Some(event) =
                app.nextEventMatchingMask_untilDate_inMode_dequeue(NSEventMask::Any, Some(&until), &mode, true)
            {
                app.sendEvent(&event);
            }
            if !on_wake() {
                return;
            }
        }
    }
}
