#!/bin/sh
# Stops a PowerDNS server started by scripts/pdns-start.sh DIR (by its recorded pid).
# Usage: scripts/pdns-stop.sh DIR
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$1
if [ -f "$DIR/pdns.pid" ]; then
    PID=$(cat "$DIR/pdns.pid")
    if kill "$PID" 2>/dev/null; then
        i=0
        while kill -0 "$PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$PID" 2>/dev/null || true
    fi
    rm -f "$DIR/pdns.pid"
fi
