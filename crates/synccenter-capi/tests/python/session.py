#!/usr/bin/env python3
"""libsynccenter from Python through ctypes (docs/c-api.md): a session over one item, progress, an event, then
a wait on the cancel descriptor with select() until a stop arrives, the acknowledgement and the end.

Usage: session.py LIBRARY SOCKET HANDLER ITEM   (tests/c.rs runs it against a real daemon)
"""
import ctypes
import select
import sys

S_OK, S_FALSE = 0, 1
UPDATING, CANCELED = 1, 5
CANCEL_ALL = 2


def load(path):
    lib = ctypes.CDLL(path)
    p, c, u32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32
    lib.sc_client_new.argtypes = [c, ctypes.POINTER(p)]
    lib.sc_client_free.argtypes = [p]
    lib.sc_session_new.argtypes = [p, c, ctypes.POINTER(c), ctypes.c_size_t, ctypes.POINTER(p)]
    lib.sc_session_id.argtypes = [p]
    lib.sc_session_id.restype = c
    lib.sc_session_report_progress.argtypes = [p, c, c, u32, u32, u32, ctypes.POINTER(u32)]
    lib.sc_session_report_event.argtypes = [p, c, u32, u32, c, c, c, c, c, ctypes.POINTER(p)]
    lib.sc_session_can_continue.argtypes = [p, c]
    lib.sc_session_cancel_fd.argtypes = [p, ctypes.POINTER(ctypes.c_int)]
    lib.sc_session_end.argtypes = [p, ctypes.POINTER(u32)]
    lib.sc_session_free.argtypes = [p]
    lib.sc_string_free.argtypes = [p]
    lib.sc_last_error_message.restype = c
    for name in ("sc_client_new", "sc_session_new", "sc_session_report_progress", "sc_session_report_event",
                 "sc_session_can_continue", "sc_session_cancel_fd", "sc_session_end"):
        getattr(lib, name).restype = ctypes.c_int32
    return lib


def check(lib, hr, what):
    if hr < 0:
        message = lib.sc_last_error_message() or b""
        raise RuntimeError("%s failed: 0x%08x %s" % (what, hr & 0xFFFFFFFF, message.decode()))
    return hr


def main(library, socket, handler, item):
    lib = load(library)
    client = ctypes.c_void_p()
    check(lib, lib.sc_client_new(socket.encode(), ctypes.byref(client)), "sc_client_new")
    items = (ctypes.c_char_p * 1)(item.encode())
    session = ctypes.c_void_p()
    check(lib, lib.sc_session_new(client, handler.encode(), items, 1, ctypes.byref(session)), "sc_session_new")
    print("session", lib.sc_session_id(session).decode(), flush=True)

    cancel = ctypes.c_uint32(99)
    check(lib, lib.sc_session_report_progress(session, item.encode(), b"from Python", UPDATING, 1, 4,
                                              ctypes.byref(cancel)), "report_progress")
    assert cancel.value == 0, cancel.value
    event = ctypes.c_void_p()
    check(lib, lib.sc_session_report_event(session, item.encode(), 1, 0, b"Hello from ctypes", b"", None, None,
                                           None, ctypes.byref(event)), "report_event")
    lib.sc_string_free(event)
    assert lib.sc_session_can_continue(session, None) == S_OK

    fd = ctypes.c_int(-1)
    check(lib, lib.sc_session_cancel_fd(session, ctypes.byref(fd)), "cancel_fd")
    print("ready", flush=True)
    readable, _, _ = select.select([fd.value], [], [], 20)
    assert readable, "no stop arrived within 20 s"
    assert lib.sc_session_can_continue(session, item.encode()) == S_FALSE
    check(lib, lib.sc_session_report_progress(session, item.encode(), b"stopped", CANCELED, 1, 4,
                                              ctypes.byref(cancel)), "report_progress")
    assert cancel.value == CANCEL_ALL, cancel.value
    status = ctypes.c_uint32()
    check(lib, lib.sc_session_end(session, ctypes.byref(status)), "sc_session_end")
    lib.sc_session_free(session)
    lib.sc_client_free(client)
    print("ended", status.value, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
