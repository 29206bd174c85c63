#!/bin/sh
# Starts a throwaway PowerDNS authoritative server (sqlite backend, HTTP API) on loopback.
# Usage: scripts/pdns-start.sh DIR API_PORT DNS_PORT KEY
# Prints the server's pid once the API answers. Stop it with scripts/pdns-stop.sh DIR.
# Starts from an empty database unless PDNS_KEEP_DATA=1 (then an existing DIR/pdns.sqlite3 is kept).
set -eu
if [ $# -ne 4 ]; then
    echo "usage: $0 DIR API_PORT DNS_PORT KEY" >&2
    exit 2
fi
DIR=$1 API_PORT=$2 DNS_PORT=$3 KEY=$4
SCHEMA=/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql
[ -f "$SCHEMA" ] || SCHEMA=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
[ "${PDNS_KEEP_DATA:-0}" = 1 ] || rm -f "$DIR/pdns.sqlite3"
[ -s "$DIR/pdns.sqlite3" ] || sqlite3 "$DIR/pdns.sqlite3" < "$SCHEMA"
cat > "$DIR/pdns.conf" <<CONF
launch=gsqlite3
gsqlite3-database=$DIR/pdns.sqlite3
api=yes
api-key=$KEY
webserver=yes
webserver-address=127.0.0.1
webserver-port=$API_PORT
webserver-allow-from=127.0.0.1
local-address=127.0.0.1
local-port=$DNS_PORT
daemon=no
guardian=no
socket-dir=$DIR
disable-syslog=yes
cache-ttl=0
negquery-cache-ttl=0
query-cache-ttl=0
zone-cache-refresh-interval=0
CONF
nohup pdns_server --config-dir="$DIR" >"$DIR/pdns.log" 2>&1 &
PID=$!
echo "$PID" > "$DIR/pdns.pid"
i=0
while [ $i -lt 100 ]; do
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "pdns_server exited; log follows:" >&2
        cat "$DIR/pdns.log" >&2
        exit 1
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY" "http://127.0.0.1:$API_PORT/api/v1/servers/localhost" || true)
    if [ "$code" = 200 ]; then
        echo "$PID"
        exit 0
    fi
    sleep 0.1
    i=$((i + 1))
done
echo "PowerDNS API did not answer on 127.0.0.1:$API_PORT within 10 s; log: $DIR/pdns.log" >&2
kill "$PID" 2>/dev/null || true
exit 1
