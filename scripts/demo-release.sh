#!/usr/bin/env bash
# `make demo-release`: on the running demo (`make demo`), deploys version 1.1.0 of the hello app blue-green and rolls
# it back with `otto rollback`, while otto-loadgen sends requests through the load balancer the whole time and prints,
# each second, how they went and which version answered. sites/demo.yml is changed for the deploy and put back.
set -euo pipefail
OTTO=${OTTO:-.build/release/otto}
LOADGEN=${LOADGEN:-.build/release/otto-loadgen}
FLAGS=${OTTO_FLAGS:-}
SITE=sites/demo.yml

lb=$("$OTTO" state show 'machine.demo.lb[0]' $FLAGS | sed -n 's/^ *ipv4 = "\(.*\)"$/\1/p')
if [ -z "$lb" ]; then echo "the demo is not up: run \`make demo\` first" >&2; exit 1; fi
serving=$(curl -s -m 5 "http://$lb:8080/version" || true)
if [ -z "$serving" ]; then echo "the hello app does not answer on http://$lb:8080/version: run \`make demo\` first" >&2; exit 1; fi

backup=$(mktemp)
cp "$SITE" "$backup"
fifo=$(mktemp -u); mkfifo "$fifo"
report=$(mktemp)
load_pid=
cleanup() {
  cp "$backup" "$SITE"; rm -f "$backup" "$fifo"
  if [ -n "$load_pid" ]; then exec 3>&- 2>/dev/null || true; wait "$load_pid" 2>/dev/null || true; fi
  rm -f "$report"
}
trap cleanup EXIT

echo "Requests flow to http://$lb:8080/version at 50/s; each second: outcomes and the version that answered."
"$LOADGEN" --rate 50 --connections 8 --progress --until-stdin-closes "http://$lb:8080/version" <"$fifo" >"$report" &
load_pid=$!
exec 3>"$fifo"
sleep 2

echo; echo "== version 1.1.0, blue-green (otto apply) =="
sed -i 's/^    version: "1.0.0"$/    version: "1.1.0"/' "$SITE"
"$OTTO" apply --auto-approve --target app.demo.hello $FLAGS
sleep 2

echo; echo "== otto rollback hello =="
"$OTTO" rollback hello --auto-approve $FLAGS
sleep 2

echo; echo "== sites/demo.yml back at 1.0.0: the hold of the rollback ends, nothing else to do =="
cp "$backup" "$SITE"
"$OTTO" release hello 1.0.0 --auto-approve $FLAGS
sleep 1

exec 3>&-
wait "$load_pid"; load_pid=
echo
"$OTTO" releases hello $FLAGS
