#!/usr/bin/env bash
# Starts (once) the PowerDNS the example project uses, keeping its data between runs.
# Usage: scripts/pdns-up.sh DIR API_PORT DNS_PORT. The API key is generated into DIR/api.key (mode 0600),
# which inventory/local.yml names with api_key_file. Stop it with scripts/pdns-stop.sh DIR.
set -euo pipefail
DIR=$1 API_PORT=$2 DNS_PORT=$3
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ -f "$DIR/pdns.pid" ] && kill -0 "$(cat "$DIR/pdns.pid")" 2>/dev/null; then exit 0; fi
umask 077
[ -s "$DIR/api.key" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/api.key"
KEY=$(cat "$DIR/api.key")
SCHEMA=/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql
[ -f "$SCHEMA" ] || SCHEMA=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
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
CONF
nohup pdns_server --config-dir="$DIR" >"$DIR/pdns.log" 2>&1 &
echo $! > "$DIR/pdns.pid"
for _ in $(seq 100); do
  if curl -fs -o /dev/null -H "X-API-Key: $KEY" "http://127.0.0.1:$API_PORT/api/v1/servers/localhost"; then
    echo "PowerDNS is up: API http://127.0.0.1:$API_PORT, DNS 127.0.0.1:$DNS_PORT (pid $(cat "$DIR/pdns.pid"))"
    exit 0
  fi
  kill -0 "$(cat "$DIR/pdns.pid")" 2>/dev/null || { echo "pdns_server exited; log:" >&2; cat "$DIR/pdns.log" >&2; exit 1; }
  sleep 0.1
done
echo "PowerDNS did not answer on 127.0.0.1:$API_PORT within 10 s; see $DIR/pdns.log" >&2
exit 1
