#!/usr/bin/env bash
# Two Switchboard processes sharing one Redis, behind HAProxy (deploy/haproxy.cfg), all on this
# machine's loopback: the smallest scaled-out Switchboard, for trying it and as a model for real
# hosts (put each part on its own host and the addresses in the same settings).
#
#   apt-get install -y redis-server haproxy        # when missing
#   dotnet build src/Switchboard.Server -c Release
#   Jwt__Key=$(openssl rand -base64 48) deploy/two-nodes.sh
#
# Clients connect to http://127.0.0.1:8080 (WebSockets without negotiation need no stickiness;
# docs/scale-out.md). Ctrl-C (or SIGTERM) stops everything; if any part exits, the rest are stopped.
# Settings (environment): SWITCHBOARD_LISTEN (127.0.0.1:8080), REDIS_PORT (6390), NODE1_PORT (5081),
# NODE2_PORT (5082), SWITCHBOARD_DLL (the Release build of src/Switchboard.Server); any other
# Switchboard setting in the environment (for example Switchboard__Limits__MaxConnections) reaches
# both nodes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dll=${SWITCHBOARD_DLL:-$here/../src/Switchboard.Server/bin/Release/net10.0/Switchboard.Server.dll}
: "${Jwt__Key:?set Jwt__Key to the token signing key (at least 32 bytes), e.g. Jwt__Key=\$(openssl rand -base64 48)}"
listen=${SWITCHBOARD_LISTEN:-127.0.0.1:8080}
redis_port=${REDIS_PORT:-6390}
node_ports=("${NODE1_PORT:-5081}" "${NODE2_PORT:-5082}")
for tool in redis-server haproxy dotnet; do
  command -v "$tool" >/dev/null || { echo "two-nodes.sh: $tool is missing (apt-get install -y redis-server haproxy)" >&2; exit 1; }
done
[ -f "$dll" ] || { echo "two-nodes.sh: $dll is missing: dotnet build src/Switchboard.Server -c Release" >&2; exit 1; }

work=$(mktemp -d -t switchboard-two-nodes.XXXXXX)
pids=()
stop() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 0' INT TERM

# Redis keeps history and presence for both nodes; append-only file so a restart keeps them.
redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work" --appendonly yes --save "" \
  --protected-mode yes > "$work/redis.log" 2>&1 &
pids+=($!)

for i in 0 1; do
  ConnectionStrings__Redis="127.0.0.1:$redis_port" \
  ASPNETCORE_URLS="http://127.0.0.1:${node_ports[$i]}" \
  Switchboard__History__DataFolder="$work/node$((i + 1))" \
    dotnet "$dll" > "$work/node$((i + 1)).log" 2>&1 &
  pids+=($!)
done

SWITCHBOARD_LISTEN=$listen SWITCHBOARD_NODE1="127.0.0.1:${node_ports[0]}" SWITCHBOARD_NODE2="127.0.0.1:${node_ports[1]}" \
  haproxy -db -f "$here/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
pids+=($!)

echo "Switchboard on http://$listen: nodes 127.0.0.1:${node_ports[0]} and 127.0.0.1:${node_ports[1]}, Redis 127.0.0.1:$redis_port; logs in $work"
set +e
wait -n "${pids[@]}"
status=$?
echo "two-nodes.sh: a part exited (status $status); stopping the rest. Last lines of the logs:" >&2
tail -n 5 "$work"/*.log >&2
exit "$status"
