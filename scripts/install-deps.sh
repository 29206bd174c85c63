#!/usr/bin/env bash
# Installs the Debian packages otto builds and tests with. Safe to rerun: does nothing when all are present.
set -euo pipefail
pkgs=(libyaml-dev postgresql-15 postgresql-client-15 faketime libcurl4-openssl-dev libssh2-1-dev libsqlite3-dev sqlite3 pdns-server pdns-backend-sqlite3 dnsutils python3 curl
      systemd-container debootstrap iproute2 openssh-client openssh-server wrk etcd-server openssl chromium nginx wget haproxy socat)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Python tools the tests run (moto_server for AWS, openapi-core to check the fake DigitalOcean against the official
# spec, schemathesis to check `otto serve` against its own OpenAPI document), in a venv of the project's own so the
# system's Python is left alone.
python_deps() {
  local venv=.venv stamp=.venv/.otto-requirements
  local want="moto[server]==5.2.5 openapi-core==0.19.5 schemathesis==4.32.5"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  echo "otto: setting up $venv ($want)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check $want
  echo "$want" > "$stamp"
}
trap 'python_deps' EXIT
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "otto: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "otto: installing ${missing[*]}"
# Packages must not start their daemons (pdns would grab port 53, nginx port 80, haproxy its admin socket): tests start
# their own servers.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f "$policy"; python_deps' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
