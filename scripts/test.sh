#!/usr/bin/env bash
# The project's one test command: installs what the tests need on a fresh Debian 12 machine
# (run as root, or with sudo), then runs the whole suite. Safe to run again: installed parts are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(prometheus prometheus-alertmanager prometheus-blackbox-exporter docker-compose iproute2 iptables)
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# Node.js (for the dashboard schema check) may already come from elsewhere, as it does on some images.
command -v npm >/dev/null || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's packages start services on install on some systems; the tests start their own.
for service in prometheus prometheus-alertmanager prometheus-blackbox-exporter prometheus-node-exporter; do
  systemctl stop "$service" >/dev/null 2>&1 || true
done

if [ ! -x .venv/bin/python ]; then
  echo "==> python3 -m venv .venv"
  python3 -m venv .venv
fi
echo "==> pip install -e .[test]"
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
# Grafana's schema types and tsc for the dashboard check, as pinned in the lockfile; no network once installed.
if ! npm ls --prefix tests/dashboard-schema >/dev/null 2>&1; then
  echo "==> npm ci (tests/dashboard-schema)"
  npm ci --prefix tests/dashboard-schema --no-audit --no-fund --loglevel=error
fi

echo "==> pytest"
exec .venv/bin/python -m pytest "$@"
