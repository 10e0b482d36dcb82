#!/usr/bin/env bash
# Install spse-exporter without Docker on Debian 12, next to Debian's `prometheus` and `prometheus-alertmanager`:
# the exporter in a venv at /opt/spse-exporter, prometheus.yml (generated from prometheus/prometheus.yml with
# loopback addresses), rules, templates and the alertmanager.yml rendered from .env under /etc/prometheus/, the
# exporter's config under /etc/spse-exporter/, and systemd units and drop-ins (contrib/systemd/) that set
# --web.external-url from .env. Run it again after editing .env, config/ or prometheus/: it installs the same
# files, keeps a copy of a file edited in place (FILE.bak) and of Debian's own configs (FILE.orig).
#
#   sudo bash scripts/install-native.sh [--env-file .env] [--lang id|en] [--root DIR]
#
# --root installs under DIR instead of / (for tests and image builds) and then starts nothing. Everything is
# checked before any config is written: a bad .env, config or secret changes no installed config.
#
# Memasang spse-exporter tanpa Docker di Debian 12 bersama paket Prometheus dan Alertmanager dari Debian.
set -euo pipefail

CLONE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=/
ENV_FILE=$CLONE/.env
LANG_CHOICE=${SPSE_LANG:-id}   # --lang wins; the same variable every spse-exporter command reads
PYTHON=${PYTHON:-python3}

say() {  # say INDONESIAN ENGLISH: one line in the operator's language
    if [ "$LANG_CHOICE" = en ]; then printf '%s\n' "$2"; else printf '%s\n' "$1"; fi
}
fail() {  # fail INDONESIAN ENGLISH: the problem and its fix, then exit 2 with no config installed
    say "install-native: $1" "install-native: $2" >&2
    say "Tidak ada konfigurasi yang dipasang atau diubah." "No config was installed or changed." >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
        --root) ROOT=${2:?--root DIR}; shift 2 ;;
        --root=*) ROOT=${1#*=}; shift ;;
        --env-file) ENV_FILE=${2:?--env-file FILE}; shift 2 ;;
        --env-file=*) ENV_FILE=${1#*=}; shift ;;
        --lang) LANG_CHOICE=${2:-}; shift 2 || shift ;;
        --lang=*) LANG_CHOICE=${1#*=}; shift ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) fail "opsi tidak dikenal: $1 (lihat --help)" "unknown option: $1 (see --help)" ;;
    esac
done
case $LANG_CHOICE in
    id|en) ;;
    *) echo "install-native: bahasa '$LANG_CHOICE' tidak dikenal: pakai --lang id (Bahasa Indonesia) atau --lang en" \
            "/ unknown language '$LANG_CHOICE': use --lang id (Indonesian) or --lang en (English)" >&2
       exit 2 ;;
esac
ROOT=$(realpath -m "$ROOT")
R=${ROOT%/}   # prefix of every installed path; empty for /

# --- What this host must have -----------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "jalankan sebagai root: sudo bash scripts/install-native.sh" \
                           "run it as root: sudo bash scripts/install-native.sh"
for binary in /usr/bin/prometheus /usr/bin/prometheus-alertmanager /usr/bin/promtool /usr/bin/amtool; do
    [ -x "$binary" ] || fail "$binary tidak ada: sudo apt-get install --no-install-recommends prometheus prometheus-alertmanager" \
                             "$binary is missing: sudo apt-get install --no-install-recommends prometheus prometheus-alertmanager"
done
getent group prometheus >/dev/null || fail "grup prometheus tidak ada: pasang paket prometheus dari Debian lebih dulu" \
                                           "group prometheus is missing: install Debian's prometheus package first"
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || fail "Python tanpa venv: sudo apt-get install python3-venv" \
                                                          "Python has no venv: sudo apt-get install python3-venv"

# --- Secrets: owned by root and readable by nobody else ----------------------------------------------------------
check_private() {  # check_private FILE: a secret the installer reads as root; anyone else must not read or change it
    local file=$1 owner mode
    owner=$(stat -L -c %u "$file") mode=$(stat -L -c %a "$file")
    if [ "$owner" != 0 ] || (( 8#$mode & 8#027 )); then
        fail "$file berisi rahasia tetapi milik $(stat -L -c %U "$file") dengan mode 0$mode: pengguna lain dapat membaca atau mengubahnya. Perbaiki: sudo chown root:root $file && sudo chmod 600 $file" \
             "$file holds secrets but is owned by $(stat -L -c %U "$file") with mode 0$mode: other users can read or change it. Fix: sudo chown root:root $file && sudo chmod 600 $file"
    fi
}

[ -f "$ENV_FILE" ] || fail "$ENV_FILE tidak ada. Buat dari contoh: cp .env.example .env, isi penerima notifikasi (TELEGRAM_BOT_TOKEN dan TELEGRAM_CHAT_ID, SMTP_*, atau WEBHOOK_URL) dan alamat publik (*_EXTERNAL_URL), lalu sudo chown root:root .env && sudo chmod 600 .env" \
                           "$ENV_FILE does not exist. Make it from the example: cp .env.example .env, fill in the receivers (TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID, SMTP_* or WEBHOOK_URL) and the public addresses (*_EXTERNAL_URL), then sudo chown root:root .env && sudo chmod 600 .env"
ENV_FILE=$(realpath "$ENV_FILE")
check_private "$ENV_FILE"

# --- Settings from .env, read as docker compose reads it (exporter/envfile.py); the environment wins --------------
SETTINGS=(SPSE_CONFIG_FILE PROMETHEUS_EXTERNAL_URL ALERTMANAGER_EXTERNAL_URL EXPORTER_EXTERNAL_URL PROMETHEUS_RETENTION)
settings=$(PYTHONPATH=$CLONE SPSE_LANG=$LANG_CHOICE "$PYTHON" - "$ENV_FILE" "${SETTINGS[@]}" <<'PY'
import os, shlex, sys
from pathlib import Path
from exporter import envfile
try:
    in_file = envfile.read(Path(sys.argv[1]))
except envfile.EnvFileError as err:
    sys.exit(err.render(os.environ["SPSE_LANG"]))
values = {**in_file, **os.environ}
known = {*in_file, *envfile.read(Path(os.environ["PYTHONPATH"]) / ".env.example", environ={})}
for name in sys.argv[2:]:
    print(f"{name}={shlex.quote(values.get(name, ''))}")
# NAME_FILE settings: receiver secrets kept in files
print("SECRET_SETTINGS=(" + " ".join(shlex.quote(f"{name}={values[name]}") for name in sorted(known)
                                     if name.endswith("_FILE") and name != "SPSE_CONFIG_FILE" and values.get(name)) + ")")
PY
) || fail "perbaiki baris .env yang disebut di atas, lalu jalankan skrip ini lagi" \
          "fix the .env line named above, then run this script again"
eval "$settings"
: "${PROMETHEUS_EXTERNAL_URL:=http://localhost:9090}" "${ALERTMANAGER_EXTERNAL_URL:=http://localhost:9093}"
: "${EXPORTER_EXTERNAL_URL:=http://localhost:10040}" "${PROMETHEUS_RETENTION:=30d}"

for name in PROMETHEUS_EXTERNAL_URL ALERTMANAGER_EXTERNAL_URL EXPORTER_EXTERNAL_URL; do
    url=${!name}
    host=$(printf '%s' "$url" | sed -nE 's#^https?://(\[[^]]+\]|[^]/:?#@[:space:]]+)(:[0-9]+)?(/[^[:space:]]*)?$#\1#p')
    [ -n "$host" ] || fail "$name=$url bukan alamat http:// atau https://. Isi dengan alamat yang dibuka operator di peramban, misalnya http://pantau.lpse.contoh.example:9093" \
                           "$name=$url is not an http:// or https:// address. Set the address operators open in their browser, e.g. http://pantau.lpse.contoh.example:9093"
    case $host in exporter|prometheus|alertmanager|grafana)
        fail "$name=$url memakai nama host yang hanya ada di dalam docker compose: isi dengan alamat yang dibuka operator di peramban" \
             "$name=$url names a host that exists only inside docker compose: set the address operators open in their browser" ;;
    esac
done
[[ $PROMETHEUS_RETENTION =~ ^([0-9]+(ms|s|m|h|d|w|y))+$ ]] \
    || fail "PROMETHEUS_RETENTION=$PROMETHEUS_RETENTION bukan durasi Prometheus, misalnya 30d" \
            "PROMETHEUS_RETENTION=$PROMETHEUS_RETENTION is not a Prometheus duration, e.g. 30d"

# Compose mounts ./secrets at /run/secrets: the same .env names the files there.
native_path() { case $1 in /run/secrets/*) printf '%s/secrets/%s' "$CLONE" "${1#/run/secrets/}" ;; /*) printf '%s' "$1" ;; *) printf '%s/%s' "$CLONE" "$1" ;; esac; }
SECRET_OVERRIDES=()   # the same settings with the files' paths on this host, for alertmanager-config
for setting in "${SECRET_SETTINGS[@]}"; do
    file=$(native_path "${setting#*=}")
    [ -f "$file" ] || fail "$file tidak ada (${setting%%=*} di .env): simpan rahasianya di sana seperti contoh di secrets/README.md, atau kosongkan ${setting%%=*}" \
                           "$file does not exist (${setting%%=*} in .env): put the secret there as secrets/README.md shows, or empty ${setting%%=*}"
    check_private "$file"
    SECRET_OVERRIDES+=("${setting%%=*}=$file")
done

[ -n "$SPSE_CONFIG_FILE" ] || SPSE_CONFIG_FILE=./config/spse.yml
CONFIG=$(cd "$CLONE" && realpath -m "$SPSE_CONFIG_FILE")
[ -f "$CONFIG" ] || fail "konfigurasi exporter $CONFIG tidak ada: mkdir -p config && cp exporter/examples/spse.yml config/spse.yml, lalu isi situs Anda (SPSE_CONFIG_FILE di .env)" \
                         "exporter config $CONFIG does not exist: mkdir -p config && cp exporter/examples/spse.yml config/spse.yml, then set your site (SPSE_CONFIG_FILE in .env)"

# --- The exporter's venv: pip runs only when the source changed --------------------------------------------------
VENV=$R/opt/spse-exporter
stamp=$(cd "$CLONE" && find exporter pyproject.toml -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ "$(cat "$VENV/.spse-source" 2>/dev/null)" != "$stamp" ]; then
    say "==> venv $VENV (pip install)" "==> venv $VENV (pip install)"
    "$PYTHON" -m venv "$VENV"
    # pip builds in the source tree: a build/ left from an older run would bring back modules since removed
    rm -rf "$CLONE/build"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$CLONE"
    echo "$stamp" > "$VENV/.spse-source"
fi
EXPORTER=$VENV/bin/spse-exporter

"$EXPORTER" --config.file="$CONFIG" --check-config >/dev/null \
    || fail "konfigurasi exporter $CONFIG tidak valid (lihat di atas)" "exporter config $CONFIG is invalid (see above)"

# --- Staged: every file checked by the binaries that read it ------------------------------------------------------
STAGE=$(mktemp -d)   # 0700: the rendered alertmanager.yml holds secrets
trap 'rm -rf "$STAGE"' EXIT
mkdir "$STAGE/prometheus"
cp -r "$CLONE/prometheus/rules" "$CLONE/prometheus/templates" "$STAGE/prometheus/"
# The native prometheus.yml: the compose one with the compose hosts on loopback and runbook_base from .env; comments kept.
"$VENV/bin/python" - "$CLONE/prometheus/prometheus.yml" "$STAGE/prometheus/prometheus.yml" "$EXPORTER_EXTERNAL_URL" <<'PY' \
    || fail "prometheus/prometheus.yml tidak dapat diubah ke alamat lokal (lihat di atas)" \
            "prometheus/prometheus.yml cannot be turned to local addresses (see above)"
import json, re, sys
import yaml
source, output, runbook_base = sys.argv[1:]
COMPOSE_HOSTS = {"exporter": "127.0.0.1", "alertmanager": "127.0.0.1", "prometheus": "127.0.0.1",
                 "localhost": "127.0.0.1"}
text = open(source, encoding="utf-8").read()
text = re.sub(r"'(exporter|alertmanager|prometheus|localhost):(\d+)'", lambda m: f"'{COMPOSE_HOSTS[m[1]]}:{m[2]}'", text)
text, found = re.subn(r"^(\s*runbook_base:).*$", lambda m: f"{m[1]} {json.dumps(runbook_base)}", text, flags=re.M)
if found != 1:
    sys.exit(f"{source}: expected one runbook_base line, found {found}")
header = ("# Generated by scripts/install-native.sh from the clone's prometheus/prometheus.yml: edit that file and run\n"
          "# the script again. Dibuat oleh scripts/install-native.sh; ubah berkas di clone, lalu jalankan ulang.\n")
config = yaml.safe_load(text)
targets = [target for job in config["scrape_configs"] for static in job.get("static_configs", [])
           for target in static["targets"]]
targets += [target for manager in config["alerting"]["alertmanagers"] for static in manager["static_configs"]
            for target in static["targets"]]
compose_only = [target for target in targets if target.split(":")[0] in {"exporter", "alertmanager", "grafana"}]
if compose_only:
    sys.exit(f"{source}: {', '.join(compose_only)}: host names that exist only inside docker compose")
open(output, "w", encoding="utf-8").write(header + text)
PY
# Alertmanager's templates at their installed path, so the rendered file names them absolutely.
sed 's#^\(\s*- \)templates/\*\.tmpl#\1/etc/prometheus/templates/*.tmpl#' "$CLONE/prometheus/alertmanager.yml" \
    > "$STAGE/alertmanager.in.yml"
grep -q '^\s*- /etc/prometheus/templates/\*\.tmpl' "$STAGE/alertmanager.in.yml" \
    || fail "prometheus/alertmanager.yml tidak memuat templates/*.tmpl" "prometheus/alertmanager.yml lacks templates/*.tmpl"
(cd "$CLONE" && env "${SECRET_OVERRIDES[@]}" "$EXPORTER" alertmanager-config "$STAGE/alertmanager.in.yml" \
    "$STAGE/prometheus/alertmanager.yml" --env-file "$ENV_FILE" --lang "$LANG_CHOICE" 2> "$STAGE/alertmanager-config.log") \
    || { cat "$STAGE/alertmanager-config.log" >&2
         fail "perbaiki pengaturan penerima di $ENV_FILE yang disebut di atas, lalu jalankan skrip ini lagi" \
              "fix the receiver settings in $ENV_FILE named above, then run this script again"; }
grep -Ev '^(WARNING|PERINGATAN):' "$STAGE/alertmanager-config.log" | sed "s#$STAGE/prometheus/#$R/etc/prometheus/#" >&2 || true
if grep -Eq '^(WARNING|PERINGATAN):' "$STAGE/alertmanager-config.log"; then
    say "PERINGATAN: belum ada penerima notifikasi; alert hanya tampil di Alertmanager. Isi TELEGRAM_BOT_TOKEN dan TELEGRAM_CHAT_ID (atau SMTP_*, WEBHOOK_URL) di $ENV_FILE, lalu jalankan skrip ini lagi." \
        "WARNING: no notification receiver yet; alerts show in Alertmanager only. Set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID (or SMTP_*, WEBHOOK_URL) in $ENV_FILE, then run this script again." >&2
fi
promtool check config "$STAGE/prometheus/prometheus.yml" > "$STAGE/promtool.log" 2>&1 \
    || { cat "$STAGE/promtool.log" >&2; fail "prometheus.yml atau aturan tidak valid (lihat di atas)" "prometheus.yml or the rules are invalid (see above)"; }
sed "s#/etc/prometheus/templates/#$STAGE/prometheus/templates/#" "$STAGE/prometheus/alertmanager.yml" > "$STAGE/amtool.yml"
amtool check-config "$STAGE/amtool.yml" > "$STAGE/amtool.log" 2>&1 \
    || { cat "$STAGE/amtool.log" >&2; fail "alertmanager.yml tidak valid (lihat di atas)" "alertmanager.yml is invalid (see above)"; }
printf '%s\n' "# Written by scripts/install-native.sh from .env; read by the systemd drop-ins of prometheus and" \
    "# prometheus-alertmanager (no secrets here). Ditulis dari .env oleh scripts/install-native.sh." \
    "PROMETHEUS_EXTERNAL_URL=$PROMETHEUS_EXTERNAL_URL" "ALERTMANAGER_EXTERNAL_URL=$ALERTMANAGER_EXTERNAL_URL" \
    "PROMETHEUS_RETENTION=$PROMETHEUS_RETENTION" > "$STAGE/native.env"

# --- Installed ---------------------------------------------------------------------------------------------------
RECORDS=$R/var/lib/spse-exporter/installed   # what this script wrote, to tell an operator's edit from it
place() {  # place SOURCE TARGET MODE [GROUP]: install, keeping a file this script did not write (FILE.orig, once) and
           # an edit made in place since the last run (FILE.bak)
    local source=$1 target=$2 mode=$3 group=${4:-root} record=$RECORDS${2#"$R"}
    if [ -f "$target" ] && ! cmp -s "$source" "$target"; then
        if [ ! -f "$record" ]; then
            [ -e "$target.orig" ] || cp -p "$target" "$target.orig"
            say "    $target yang sudah ada disimpan sebagai $target.orig" "    the existing $target kept as $target.orig"
        elif ! cmp -s "$target" "$record"; then
            cp -p "$target" "$target.bak"
            say "    $target diubah langsung; salinannya: $target.bak" "    $target was edited in place; copy kept: $target.bak"
        fi
    fi
    install -D -o root -g "$group" -m "$mode" "$source" "$target"
    install -D -o root -g root -m 0600 "$source" "$record"   # root only: it may hold secrets
}
install -d -m 0700 "$RECORDS"
say "==> $R/etc/prometheus, $R/etc/spse-exporter, $R/etc/systemd/system" "==> $R/etc/prometheus, $R/etc/spse-exporter, $R/etc/systemd/system"
ETC=$R/etc/prometheus
place "$STAGE/prometheus/prometheus.yml" "$ETC/prometheus.yml" 0644
place "$STAGE/prometheus/alertmanager.yml" "$ETC/alertmanager.yml" 0640 prometheus
for dir in rules templates; do  # the clone's set exactly: a rule removed there stops firing here
    rm -rf "$ETC/$dir.new" && install -d -m 0755 "$ETC/$dir.new"
    install -m 0644 "$STAGE/prometheus/$dir"/* "$ETC/$dir.new/"
    rm -rf "$ETC/$dir" && mv "$ETC/$dir.new" "$ETC/$dir"
done
# Only Prometheus reads secrets at run time: a site's remote write to a watcher (prometheus/remote-write.yml names
# secrets/watcher_password and, with a CA of your own, secrets/watcher_ca.pem, relative to prometheus.yml).
for file in "$CLONE"/secrets/watcher_*; do
    [ ! -f "$file" ] || install -D -o root -g prometheus -m 0640 "$file" "$ETC/secrets/$(basename "$file")"
done
place "$CONFIG" "$R/etc/spse-exporter/spse.yml" 0644   # the exporter's user is a throwaway one (DynamicUser)
place "$STAGE/native.env" "$R/etc/spse-exporter/native.env" 0644
UNITS=$R/etc/systemd/system
place "$CLONE/contrib/systemd/spse-exporter.service" "$UNITS/spse-exporter.service" 0644
for dropin in spse-exporter.service.d/alertmanager.conf prometheus.service.d/spse-exporter.conf \
              prometheus-alertmanager.service.d/spse-exporter.conf; do
    place "$CLONE/contrib/systemd/$dropin" "$UNITS/$dropin" 0644
done

SERVICES="prometheus-alertmanager spse-exporter prometheus"
if [ -z "$R" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --quiet $SERVICES
    systemctl restart $SERVICES
    say "==> systemd: $SERVICES berjalan" "==> systemd: $SERVICES running"
else
    say "==> systemd tidak dijalankan (--root atau tanpa systemd); nanti: systemctl daemon-reload && systemctl enable --now $SERVICES" \
        "==> systemd not started (--root or no systemd); later: systemctl daemon-reload && systemctl enable --now $SERVICES"
fi
say "Selesai. Tunggu sekitar 1 menit, lalu kirim notifikasi uji (tercetak DELIVERED / TERKIRIM):" \
    "Done. Wait about 1 minute, then send a test notification (prints DELIVERED / TERKIRIM):"
echo "/opt/spse-exporter/bin/spse-exporter notify-test --runbook.base=$EXPORTER_EXTERNAL_URL"
