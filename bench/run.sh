#!/usr/bin/env bash
# The side-by-side benchmark in one command: builds the servers and the tool in Release, installs
# what the run needs (Debian's wrk and redis-server, the Socket.IO peer's npm packages) when missing, runs
# `Switchboard.Bench compare` and writes docs/benchmarks.md (its side-by-side section), the raw
# JSON and the SVG plots under docs/benchmarks/. Everything runs on 127.0.0.1.
#
#   bench/run.sh                       # the full comparison (about 50 minutes on 2 cores)
#   bench/run.sh --quick --no-docs     # a short validation run that writes no docs
#   bench/run.sh --scenarios fanout --servers switchboard plain-signalr --runs 1
# Any option is passed on to `compare` (see `compare --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the run drives for real: wrk (HTTP publish) and redis-server (two processes).
scripts/debian-packages.sh wrk redis-server
command -v dotnet >/dev/null || { echo "bench/run.sh: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
command -v node >/dev/null || { echo "bench/run.sh: Node.js 20 with npm is required" >&2; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

echo "== build (Release)"
dotnet build bench/Switchboard.Bench/Switchboard.Bench.csproj -c Release -nologo -v q
(cd bench/peers/socketio && npm ci --no-audit --no-fund --loglevel=error)

# As many open files as this shell may have: every connection is a file in the generator and
# in the server (the hard limit is the ceiling; raising it needs root outside a container).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== compare"
exec dotnet bench/Switchboard.Bench/bin/Release/net10.0/Switchboard.Bench.dll compare "$@"
