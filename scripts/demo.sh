#!/usr/bin/env bash
# The README's first command: builds synccenter, starts the daemon on its embedded SQLite store in a demo
# directory, wraps a command as a sync session, shows it live with `synccenter watch`, lists the Sync
# Results, and stops the daemon gracefully. Run it twice: the results of the first run are still there.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${SYNCCENTER_DEMO_DIR:-/tmp/synccenter-demo}
mkdir -p "$demo"
chmod 700 "$demo"
export SYNCCENTER_SOCKET="$demo/run/synccenter.sock" SYNCCENTER_DATA_DIR="$demo/data"

sc=${CARGO_TARGET_DIR:-target}/release/synccenter
if [ ! -x "$sc" ]; then
  echo "Building synccenter (release). The first build takes a few minutes (about 5 on two cores); later runs reuse it." >&2
fi
cargo build --release --quiet --bin synccenter

"$sc" daemon 2>"$demo/daemon.log" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  "$sc" status >/dev/null 2>&1 && break
  kill -0 $daemon 2>/dev/null || { cat "$demo/daemon.log"; exit 1; }
  sleep 0.1
done
"$sc" status

"$sc" register demo --name "Demo sync" --capability supports_concurrent_sessions --item files=Files --item photos=Photos
# A sync that ends well, and one that fails, both wrapped by `synccenter run`; `watch` shows them live.
"$sc" run demo files -- sh -c 'for i in 1 2 3; do sleep 1; done' &
ok=$!
"$sc" run demo photos -- sh -c 'sleep 2; echo "photos: target not mounted" >&2; exit 3' &
bad=$!
sleep 0.3
"$sc" watch --exit-when-idle
wait $ok || true
wait $bad || true

echo
"$sc" handlers
echo
"$sc" results --limit 5
echo
echo "daemon log: $demo/daemon.log; store: $demo/data/synccenter.sqlite"
