#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet (as root, or
# through sudo), quietly; does nothing when all are there. Used by test.sh and bench/run.sh.
#
#   scripts/debian-packages.sh redis-server haproxy
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
