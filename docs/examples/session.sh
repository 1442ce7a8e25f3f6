#!/bin/sh
# A synccenter session driven from a shell with socat: one connection per message, so the session is created
# with "detach": true and outlives each connection (see docs/protocol.md, "Sessions and connections").
#
# Usage: session.sh [SOCKET]   (default: $SYNCCENTER_SOCKET, else the standard path)
set -eu

SOCK=${1:-${SYNCCENTER_SOCKET:-${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/synccenter/synccenter.sock}}}
SOCK=${SOCK:-/tmp/synccenter-$(id -u)/synccenter.sock}

# rpc METHOD PARAMS-JSON: sends one request on a fresh connection, prints the reply line, fails on an error reply.
rpc() {
    reply=$(printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s}\n' "$1" "$2" |
        socat -t 5 - UNIX-CONNECT:"$SOCK")
    echo "$1 -> $reply"
    case $reply in
    *'"error":'*) echo "session.sh: $1 failed" >&2; exit 1 ;;
    esac
}

# field NAME: the string value of "NAME" in the last reply.
field() {
    printf '%s\n' "$reply" | sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p'
}

rpc hello '{"protocol":{"min":1,"max":1},"client":"session.sh/1.0"}'
rpc handler.register '{"handler":"shell","name":"Shell example"}'
rpc item.register '{"handler":"shell","item":"home","name":"Home"}'

rpc session.create '{"handler":"shell","items":["home"],"detach":true,"lease_seconds":120}'
SESSION=$(field session)

# Each step is a new connection; the detached session survives between them.
for step in 1 2 3; do
    # ... the real work of this step goes here ...
    rpc session.report_progress '{"session":"'"$SESSION"'","item":"home","status":"updating","step":'$step',"max_step":3,"text":"step '$step' of 3"}'
    case $reply in
    *'"cancel":"none"'*) ;;
    *) echo "a stop was requested"; break ;;
    esac
done

rpc session.report_progress '{"session":"'"$SESSION"'","item":"home","status":"succeeded","step":3,"max_step":3,"text":""}'
rpc session.report_event '{"session":"'"$SESSION"'","item":"home","level":"info","name":"Home copied","description":"3 steps"}'
rpc session.end '{"session":"'"$SESSION"'"}'
rpc sessions.history '{"handler":"shell","limit":1}'
