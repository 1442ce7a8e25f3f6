//! Thread priority: the daemon runs its bulk work (parsing a flood of progress) on threads the operating
//! system's scheduler may preempt in favour of the thread that serves stops and status. On Linux a thread's
//! nice value is its own (`setpriority` with `PRIO_PROCESS` and 0 names the calling thread there); elsewhere it
//! would apply to the whole process, so this does nothing there.

/// The nice value the bulk threads take: a tenth of a nice-0 thread's share when both want the CPU.
pub const BULK_NICE: i32 = 10;

/// Lowers the calling thread's priority to [`BULK_NICE`], never raising it (Linux only; elsewhere, and when
/// refused, nothing changes: priority is a preference, never needed for correctness).
pub fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    if rustix::process::getpriority_process(None).is_ok_and(|nice| nice < BULK_NICE) {
        let _ = rustix::process::setpriority_process(None, BULK_NICE);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn only_the_calling_thread_is_lowered_and_never_raised() {
        let before = rustix::process::getpriority_process(None).expect("this thread's nice value");
        let lowered = std::thread::spawn(|| {
            super::lower_this_thread();
            rustix::process::getpriority_process(None).expect("the lowered thread's nice value")
        })
        .join()
        .expect("the thread");
        assert_eq!(lowered, super::BULK_NICE.max(before));
        assert_eq!(rustix::process::getpriority_process(None).expect("again"), before, "the caller is untouched");
    }
}
