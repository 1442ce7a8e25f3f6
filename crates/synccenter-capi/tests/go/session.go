// session.go: libsynccenter from Go through cgo (docs/c-api.md): a session over one item, progress, then a wait
// on the cancel descriptor until a stop arrives, the acknowledgement and the end.
//
// Usage: go run session.go SOCKET HANDLER ITEM (CGO_CFLAGS and CGO_LDFLAGS from `pkg-config synccenter`;
// tests/c.rs runs it against a real daemon).
package main

/*
#include <poll.h>
#include <stdlib.h>
#include <synccenter.h>

// Whether fd became readable within ms milliseconds.
static int wait_readable(int fd, int ms) {
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

// A C array of one item ID, which Go may not build itself from Go memory.
static sc_hresult new_session(sc_client *c, const char *handler, const char *item, sc_session **out) {
	const char *items[] = {item};
	return sc_session_new(c, handler, items, 1, out);
}
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"
)

const (
	sOK       = 0
	sFalse    = 1
	updating  = 1
	canceled  = 5
	cancelAll = 2
)

func check(hr C.sc_hresult, what string) {
	if hr < 0 {
		fmt.Fprintf(os.Stderr, "%s failed: 0x%08x %s\n", what, uint32(hr), C.GoString(C.sc_last_error_message()))
		os.Exit(1)
	}
}

func cstr(s string) *C.char { return C.CString(s) }

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: session SOCKET HANDLER ITEM")
		os.Exit(2)
	}
	socket, handler, item := cstr(os.Args[1]), cstr(os.Args[2]), cstr(os.Args[3])
	defer C.free(unsafe.Pointer(socket))
	defer C.free(unsafe.Pointer(handler))
	defer C.free(unsafe.Pointer(item))

	var client *C.sc_client
	check(C.sc_client_new(socket, &client), "sc_client_new")
	defer C.sc_client_free(client)
	var session *C.sc_session
	check(C.new_session(client, handler, item, &session), "sc_session_new")
	defer C.sc_session_free(session)
	fmt.Println("session", C.GoString(C.sc_session_id(session)))

	text := cstr("from Go")
	defer C.free(unsafe.Pointer(text))
	var cancel C.uint32_t = 99
	check(C.sc_session_report_progress(session, item, text, updating, 1, 4, &cancel), "report_progress")
	if cancel != 0 || C.sc_session_can_continue(session, nil) != sOK {
		fmt.Fprintln(os.Stderr, "a stop before any was sent")
		os.Exit(1)
	}

	var fd C.int
	check(C.sc_session_cancel_fd(session, &fd), "sc_session_cancel_fd")
	fmt.Println("ready")
	if C.wait_readable(fd, 20000) == 0 {
		fmt.Fprintln(os.Stderr, "no stop arrived within 20 s")
		os.Exit(1)
	}
	if C.sc_session_can_continue(session, item) != sFalse {
		fmt.Fprintln(os.Stderr, "can_continue after the stop is not S_FALSE")
		os.Exit(1)
	}
	check(C.sc_session_report_progress(session, item, nil, canceled, 1, 4, &cancel), "report_progress")
	if cancel != cancelAll {
		fmt.Fprintln(os.Stderr, "cancel is", cancel)
		os.Exit(1)
	}
	var status C.uint32_t
	check(C.sc_session_end(session, &status), "sc_session_end")
	fmt.Println("ended", status)
}
