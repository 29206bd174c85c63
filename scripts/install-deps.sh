#!/usr/bin/env bash
# Installs the Debian packages otto builds and tests with. Safe to rerun: does nothing when all are present.
set -euo pipefail
pkgs=(libyaml-dev libcurl4-openssl-dev libssh2-1-dev libsqlite3-dev sqlite3 pdns-server pdns-backend-sqlite3 dnsutils python3 curl
      systemd-container debootstrap iproute2 openssh-client openssh-server)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "otto: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "otto: installing ${missing[*]}"
# Packages must not start their daemons (pdns would grab port 53): tests start their own servers.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
