#!/usr/bin/env python3
"""A complete synccenter client in standard-library Python 3.

It connects to the daemon's socket, says hello, registers a handler and two items, syncs them in one session
(progress as fire-and-forget notifications, a non-blocking check for a pushed stop between steps), reports an
event, ends the session and lists the handler's events. See docs/protocol.md.

Usage: client.py [SOCKET]   (default: the standard socket path, or $SYNCCENTER_SOCKET)
"""

import json
import os
import select
import socket
import sys

HANDLER = "pyexample"
ITEMS = ["docs", "photos"]
STEPS = 5
MAX_LINE_BYTES = 64 * 1024


def default_socket():
    """The standard path: $SYNCCENTER_SOCKET, else $XDG_RUNTIME_DIR/synccenter/, else /tmp/synccenter-$UID/."""
    if os.environ.get("SYNCCENTER_SOCKET"):
        return os.environ["SYNCCENTER_SOCKET"]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "synccenter", "synccenter.sock")
    return "/tmp/synccenter-%d/synccenter.sock" % os.getuid()


class RpcError(Exception):
    """A JSON-RPC error reply; `name` is the HRESULT name, e.g. E_INVALIDARG."""

    def __init__(self, error):
        data = error.get("data", {})
        self.name = data.get("name", "?")
        self.hresult = data.get("hresult", 0)
        super().__init__("%s (0x%08X): %s" % (self.name, self.hresult, error.get("message", "")))


class Client:
    """One connection: requests wait for their reply; pushes that arrive meanwhile are queued."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buffer = b""
        self.next_id = 0
        self.pushes = []

    def _send(self, message):
        line = json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"
        if len(line) > MAX_LINE_BYTES:
            raise ValueError("message longer than the protocol's line limit")
        self.sock.sendall(line)

    def _read_available(self, timeout):
        """Reads whatever arrives within `timeout` seconds (None blocks); returns complete messages."""
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if readable:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the daemon closed the connection")
            self.buffer += chunk
        messages = []
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if line.strip():
                messages.append(json.loads(line))
        return messages

    def call(self, method, **params):
        """Sends a request and returns its result, or raises RpcError."""
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            for message in self._read_available(None):
                if "id" not in message:
                    self.pushes.append(message)
                elif message["id"] == self.next_id:
                    if "error" in message:
                        raise RpcError(message["error"])
                    return message["result"]

    def notify(self, method, **params):
        """Sends a notification: no reply, no round trip (the hot path)."""
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def poll_pushes(self):
        """Returns the pushes received so far without blocking."""
        self.pushes.extend(self._read_available(0))
        pushes, self.pushes = self.pushes, []
        return pushes


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else default_socket()
    print("connecting to %s" % path)
    client = Client(path)

    hello = client.call("hello", protocol={"min": 1, "max": 1}, client="client.py/1.0")
    print("hello: %s speaks protocol %d" % (hello["server"], hello["protocol"]))

    client.call("handler.register", handler=HANDLER, name="Python example", comment="docs/examples/client.py")
    for item in ITEMS:
        client.call("item.register", handler=HANDLER, item=item, name=item.capitalize())
    print("registered handler %s with items %s" % (HANDLER, ", ".join(ITEMS)))

    session = client.call("session.create", handler=HANDLER, items=ITEMS)["session"]
    print("created session %s" % session)

    stopped = set()
    stop_all = False
    for item in ITEMS:
        for step in range(1, STEPS + 1):
            # A stop requested elsewhere (`synccenter stop`, the dashboard) arrives as a push at any time.
            for push in client.poll_pushes():
                if push.get("method") == "session.cancel_requested":
                    params = push["params"]
                    print("stop requested: %s" % params)
                    if params["cancel"] == "cancel_all":
                        stop_all = True
                    elif "item" in params:
                        stopped.add(params["item"])
            if stop_all or item in stopped:
                break
            client.notify(
                "session.report_progress",
                session=session,
                item=item,
                status="updating",
                step=step,
                max_step=STEPS,
                text="copying part %d of %d" % (step, STEPS),
            )
            print("  %s: step %d/%d" % (item, step, STEPS))
        final = "canceled" if (stop_all or item in stopped) else "succeeded"
        # The final status is a request: it is durable when the reply arrives, and a refusal is visible.
        reply = client.call("session.report_progress", session=session, item=item, status=final, text="")
        print("  %s: %s (cancel in force: %s)" % (item, final, reply["cancel"]))

    event = client.call(
        "session.report_event",
        session=session,
        item=ITEMS[0],
        level="info",
        name="Backup complete",
        description="%d files copied" % (STEPS * 10),
    )["event"]
    print("reported event %s" % event)

    end = client.call("session.end", session=session)
    print("session ended: %s, %d errors, %d conflicts" % (end["status"], end["errors"], end["conflicts"]))

    events = client.call("events.list", handler=HANDLER, limit=10)
    print("%d event(s) for %s:" % (events["total"], HANDLER))
    for e in events["events"]:
        print("  %s %-7s %s: %s" % (e["time"], e["level"], e["name"], e["description"]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RpcError) as e:
        print("client.py: %s" % e, file=sys.stderr)
        sys.exit(1)
