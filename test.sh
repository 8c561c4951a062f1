#!/usr/bin/env bash
# Runs the whole Switchboard test suite on a fresh Debian 12 machine with the .NET 10 SDK and
# Node 20: installs what is missing, builds, runs the .NET tests and the Node tests, and ends
# with one line "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
out="$root/test-output"
mkdir -p "$out"

# Debian packages the tests drive for real: redis-server (scale-out tests start their own on free
# loopback ports), haproxy (the two-node load-balancer sample in deploy/), chromium (the web
# app's browser tests in tests/Switchboard.Web.Tests) and systemd (systemd-analyze verifies
# deploy/switchboard.service).
"$root/scripts/debian-packages.sh" redis-server haproxy chromium systemd
command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "test.sh: Node.js 20 with npm is required" >&2; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# Playwright drives Debian's chromium; it must never download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

echo "== build"
dotnet build Switchboard.slnx -c Release -nologo -v q

status=0
echo "== .NET tests"
dotnet test Switchboard.slnx -c Release --no-build -nologo \
  --results-directory "$out/dotnet" 2>&1 | tee "$out/dotnet.log" || status=1

echo "== Node tests (official @microsoft/signalr client)"
(
  cd tests/js
  npm ci --no-audit --no-fund --loglevel=error
  SWITCHBOARD_SERVER_DLL="$root/src/Switchboard.Server/bin/Release/net10.0/Switchboard.Server.dll" node --test
) 2>&1 | tee "$out/node.log" || status=1

echo "== TypeScript client (clients/js)"
(
  cd clients/js
  npm ci --no-audit --no-fund --loglevel=error
  npm run build --silent
  SWITCHBOARD_SERVER_DLL="$root/src/Switchboard.Server/bin/Release/net10.0/Switchboard.Server.dll" node --test test/
) 2>&1 | tee "$out/jsclient.log" || status=1

# One closing line for the whole suite.
passed=0; failed=0
while read -r f p; do failed=$((failed + f)); passed=$((passed + p)); done < <(
  sed -n 's/.*Failed: *\([0-9]*\), Passed: *\([0-9]*\),.*/\1 \2/p' "$out/dotnet.log")
for log in "$out/node.log" "$out/jsclient.log"; do
  np=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
  nf=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -n 1)
  [ -n "$np" ] || status=1 # a Node run that reported nothing did not run
  passed=$((passed + ${np:-0})); failed=$((failed + ${nf:-0}))
done
[ "$passed" -gt 0 ] || status=1
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
