#!/usr/bin/env bash
# Starts (once) the PowerDNS the example project uses, keeping its data between runs.
# Usage: scripts/pdns-up.sh DIR API_PORT DNS_PORT. The API key is generated into DIR/api.key (mode 0600),
# which inventory/local.yml names with api_key_file. Stop it with scripts/pdns-stop.sh DIR.
set -euo pipefail
DIR=$1 API_PORT=$2 DNS_PORT=$3
mkdir -p "$DIR"
if [ -f "$DIR/pdns.pid" ] && kill -0 "$(cat "$DIR/pdns.pid")" 2>/dev/null; then exit 0; fi
umask 077
[ -s "$DIR/api.key" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/api.key"
pid=$(PDNS_KEEP_DATA=1 "$(dirname "$0")/pdns-start.sh" "$DIR" "$API_PORT" "$DNS_PORT" "$(cat "$DIR/api.key")")
echo "PowerDNS is up: API http://127.0.0.1:$API_PORT, DNS 127.0.0.1:$DNS_PORT (pid $pid)"
