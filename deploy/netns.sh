#!/usr/bin/env bash
# A multi-host Virgo mesh on one machine: N network namespaces on a bridge,
# one peer each. Usage: netns.sh up N | netns.sh down
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DENO="$ROOT/node_modules/.bin/deno"
BR=virgo-br0
case "${1:-}" in
  up)
    n=${2:-3}
    ip link add "$BR" type bridge && ip link set "$BR" up
    for i in $(seq 1 "$n"); do
      ns=virgo-ns$i
      ip netns add "$ns"
      ip link add "veth$i" type veth peer name eth0 netns "$ns"
      ip link set "veth$i" master "$BR" up
      ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
      ip -n "$ns" link set eth0 up
      ip -n "$ns" link set lo up
    done
    keys=$(mktemp -d); rmdir "$keys"
    "$DENO" run -A --config "$ROOT/deno.json" "$ROOT/runtime/cli/main.ts" init --out "$keys" > /dev/null
    echo "keys in $keys (VIRGO_TOKEN=$(cat "$keys/token"))"
    first=""
    for i in $(seq 1 "$n"); do
      data=$(mktemp -d)
      # As bin/virgo runs a peer (PEER_SEMI_SPACE_MB in runtime/constants.ts).
      args=(run -A --v8-flags=--max-semi-space-size=4 --config "$ROOT/deno.json" "$ROOT/runtime/cli/main.ts" start
        --http "10.77.0.$i:8787" --p2p "/ip4/10.77.0.$i/tcp/7878" --data "$data"
        --swarm-key "$keys/swarm.key" --token "$(cat "$keys/token")")
      # The first peer signs deploys; the others hold only the operator's public key.
      if [ -n "$first" ]; then args+=(--join "$first" --operator "$keys/operator.pub")
      else args+=(--operator-key "$keys/operator.key"); fi
      ip netns exec "virgo-ns$i" "$DENO" "${args[@]}" > "$data/out.log" 2>&1 &
      if [ -z "$first" ]; then
        for _ in $(seq 1 100); do grep -q '^Ready' "$data/out.log" && break; sleep 0.1; done
        first=$(awk '/ p2p /{print $2; exit}' "$data/out.log")
      fi
      echo "virgo-ns$i: http://10.77.0.$i:8787 (log $data/out.log)"
    done
    ;;
  down)
    for ns in $(ip netns list | awk '/^virgo-ns/{print $1}'); do
      ip netns pids "$ns" | xargs -r kill
      ip netns del "$ns"
    done
    ip link del "$BR" 2>/dev/null || true
    ;;
  *) echo "usage: $0 up N | down" >&2; exit 2 ;;
esac
