#!/usr/bin/env bash
# Shows the demo working: resolves demo.test through the demo's PowerDNS, then sends a few requests through the
# load balancer and prints which web machine served each one.
set -euo pipefail
DNS_PORT=${1:-5300}
lb=$(dig @127.0.0.1 -p "$DNS_PORT" +short demo.test A | head -n1)
if [ -z "$lb" ]; then echo "demo.test does not resolve yet (dig @127.0.0.1 -p $DNS_PORT demo.test)" >&2; exit 1; fi
echo
echo "The site: http://demo.test/ -> load balancer $lb (DNS: dig @127.0.0.1 -p $DNS_PORT demo.test)"
echo "Try: curl -H 'Host: demo.test' http://$lb/"
echo
for i in 1 2 3 4 5 6; do
  served=$(curl -s -m 5 -H 'Host: demo.test' "http://$lb/" | sed -n 's/.*Served by <b>\([^<]*\)<.*/\1/p')
  echo "request $i: served by ${served:-(no answer)}"
done
