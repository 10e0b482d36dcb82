#!/usr/bin/env bash
# The project's one test command: installs what the tests need on a fresh Debian 12 machine
# (run as root, or with sudo), then runs the whole suite. Safe to run again: installed parts are kept.
# It leaves running services alone: the tests start their own Prometheus, Alertmanager and peers on
# free loopback ports. A service that only runs because this script just installed its package is
# stopped and disabled again, so the host boots as before.
set -euo pipefail
cd "$(dirname "$0")/.."

# Services of the packages below that Debian starts on install.
SERVICES=(prometheus prometheus-alertmanager prometheus-blackbox-exporter prometheus-node-exporter victoria-metrics
          mtail)
active_before=()
for service in "${SERVICES[@]}"; do
  systemctl is-active --quiet "$service" 2>/dev/null && active_before+=("$service")
done

# Real third-party peers for the probe tests (dnsmasq-base, libfaketime: no service), the report's
# renderer (chromium, poppler-utils, fonts), systemd-analyze for the unit file check, VictoriaMetrics
# (victoria-metrics, vmagent, vmalert: the watcher past one Prometheus pair; vmagent in the remote-write door)
# and mtail (the door's metrics per site).
APT_PACKAGES=(prometheus prometheus-alertmanager prometheus-blackbox-exporter docker-compose iproute2 iptables
              dnsmasq-base libfaketime faketime openssl chromium poppler-utils fonts-dejavu-core systemd
              victoria-metrics mtail)
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
for service in "${SERVICES[@]}"; do
  if [[ " ${active_before[*]} " != *" $service "* ]] && systemctl is-active --quiet "$service" 2>/dev/null; then
    echo "==> systemctl disable --now $service (started by its package's install, not running before)"
    systemctl disable --now --quiet "$service" || true
  fi
done

# chronyd, ntpsec and nginx are unpacked under .cache/debs, not installed: installing chrony or ntpsec would
# replace the host's time service (they conflict) and installing nginx starts a web server on port 80. The
# tests run their own. ntpq loads libntpc from beside its Python module first.
DEBS_DIR=.cache/debs
DEBS=(chrony nginx ntpsec python3-ntp)
if [ ! -x "$DEBS_DIR/root/usr/sbin/chronyd" ] || [ ! -x "$DEBS_DIR/root/usr/sbin/nginx" ] \
   || [ ! -x "$DEBS_DIR/root/usr/sbin/ntpd" ] || [ ! -e "$DEBS_DIR/root/usr/lib/python3/dist-packages/ntp/libntpc.so" ]; then
  echo "==> apt-get download ${DEBS[*]} (unpacked into $DEBS_DIR)"
  mkdir -p "$DEBS_DIR"
  (cd "$DEBS_DIR" && apt-get download -q "${DEBS[@]}" >/dev/null 2>&1 \
     || { apt-get update -qq && apt-get download -q "${DEBS[@]}" >/dev/null; })
  for deb in "$DEBS_DIR"/*.deb; do dpkg -x "$deb" "$DEBS_DIR/root"; done
  cp "$DEBS_DIR"/root/usr/lib/x86_64-linux-gnu/ntp/libntpc.so.1 "$DEBS_DIR/root/usr/lib/python3/dist-packages/ntp/libntpc.so"
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> python3 -m venv .venv"
  python3 -m venv .venv
fi
echo "==> pip install -e .[test]"
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
# tests/integration/test_dockerfile.py runs the Dockerfile's pip install offline from these wheels: tests reach no
# address outside loopback, and a slow index cannot time them out.
echo "==> pip wheel (the image's dependencies, into .cache/wheels)"
.venv/bin/pip wheel -q --disable-pip-version-check --wheel-dir .cache/wheels . "setuptools>=64"
rm -f .cache/wheels/spse_exporter-*.whl   # the test installs the copied source, never a stale build of it
# Grafana's schema types and tsc for the dashboard check, as pinned in the lockfile; no network once installed.
if ! npm ls --prefix tests/dashboard-schema >/dev/null 2>&1; then
  echo "==> npm ci (tests/dashboard-schema)"
  npm ci --prefix tests/dashboard-schema --no-audit --no-fund --loglevel=error
fi

echo "==> pytest"
# Three test files at a time: the suite mostly waits on real Prometheus and Alertmanager clocks (12 min
# one file at a time, under 6 min like this on 2 cores). Each file keeps its own processes and ports.
exec .venv/bin/python -m pytest -n 3 --dist loadfile "$@"
