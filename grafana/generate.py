#!/usr/bin/env python3
"""Generates the Grafana dashboards in grafana/dashboards/ from this one file.

Building them in code gives every panel the same datasource variable, a unit and a description. Their
thresholds come from prometheus/mixin/thresholds.yml, the one source the alert rules are rendered from too.
After an edit run `python3 grafana/generate.py`; `--check` exits 1 when the committed JSON is stale
(tests/test_dashboards.py runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "dashboards"
sys.path.insert(0, str(OUT.parents[1] / "prometheus" / "mixin"))
import thresholds as mixin  # noqa: E402  the alerts' and dashboards' thresholds, written once

LIMITS = mixin.load()  # by alert, and the dashboards' own colours
TLS = LIMITS["SPSETLSCertExpiringSoon"]
AVAILABILITY = LIMITS["dashboards"]["availability"]
PROBE_AGE = {color: mixin.seconds(age) for color, age in LIMITS["dashboards"]["probe_age"].items()}
CLOCK_SKEW = mixin.seconds(LIMITS["SPSEServerClockSkew"]["offset"])
# A clock with fewer sources answering is one loss from unvalidated: SPSETimeSourcesAtRisk's count.
SAFE_SOURCES = LIMITS["SPSETimeSourcesAtRisk"]["sources"]
SCHEMA_VERSION = 42  # dashboard JSON version of the pinned Grafana image (13.2.3)
DATASOURCE_UID = "spse-prometheus"  # fixed in grafana/provisioning/datasources/spse.yml
DS = {"type": "prometheus", "uid": "${datasource}"}
SITE = 'site=~"$site"'
TARGET = 'site=~"$site", target=~"$target"'
TAGS = ["spse", "lpse", "spse-exporter"]

GREEN = {"mode": "absolute", "steps": [{"color": "green", "value": None}]}


def two_states(zero: str, zero_color: str, one: str, one_color: str) -> list[dict]:
    """Value mappings for a 0/1 series: its two texts (English / Indonesian) and colours."""
    return [{"type": "value", "options": {"0": {"text": zero, "color": zero_color, "index": 0},
                                          "1": {"text": one, "color": one_color, "index": 1}}}]


UP_DOWN = two_states("DOWN / GANGGUAN", "red", "UP / NORMAL", "green")
ANSWERED = two_states("NO ANSWER / TIDAK MENJAWAB", "red", "ANSWERS / MENJAWAB", "green")
SYNCED = two_states("UNSYNCHRONISED / TIDAK TERSINKRON", "red", "SYNCHRONISED / TERSINKRON", "green")
# Share of a link's checks that passed: 0 is a broken link, anything between is a partial loss.
LINK_STATE = [
    {"type": "value", "options": {
        "0": {"text": "DOWN / PUTUS", "color": "red", "index": 0},
        "1": {"text": "OK", "color": "green", "index": 2}}},
    {"type": "range", "options": {"from": 0.0001, "to": 0.9999,
                                  "result": {"text": "PARTIAL / SEBAGIAN", "color": "orange", "index": 1}}},
]
# The 4 April 2023 incident was a day of 504s: 504 gets its own dark red and a label an operator cannot miss.
STATUS_CODES = [
    {"type": "value", "options": {
        "0": {"text": "no response / tidak ada respons", "color": "purple", "index": 0},
        "200": {"text": "200 OK", "color": "green", "index": 1},
        "504": {"text": "504 GATEWAY TIMEOUT", "color": "dark-red", "index": 2}}},
    *({"type": "range", "options": {"from": low, "to": low + 99, "result": {"text": text, "color": color, "index": i}}}
      for i, (low, text, color) in enumerate([(300, "3xx redirect", "blue"), (400, "4xx client error", "orange"),
                                               (500, "5xx server error", "red")], start=3)),
]


def thresholds(base: str, *steps: tuple[float, str]) -> dict:
    return {"mode": "absolute", "steps": [{"color": base, "value": None}]
            + [{"color": color, "value": value} for value, color in steps]}


def query(expr: str, legend: str = "", instant: bool = False, table: bool = False) -> dict:
    """A Prometheus target; refIds are filled in by `panel`."""
    return {"datasource": DS, "editorMode": "code", "expr": expr, "format": "table" if table else "time_series",
            "instant": instant, "legendFormat": legend or "__auto", "range": not instant, "refId": ""}


def panel(kind: str, title: str, description: str, unit: str, targets: list[dict], options: dict,
          size: tuple[int, int], custom: dict | None = None, color: str = "palette-classic",
          mappings: list | None = None, steps: dict | None = None, overrides: list | None = None, transformations: list | None = None,
          **field) -> dict:
    defaults = {"color": {"mode": color}, "mappings": mappings or [], "thresholds": steps or GREEN, "unit": unit,
                **field}
    if custom is not None:
        defaults["custom"] = custom
    result = {"type": kind, "title": title, "description": description, "datasource": DS,
              "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
              "options": options, "targets": [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(targets)],
              "gridPos": {"w": size[0], "h": size[1]}}
    if transformations:
        result["transformations"] = transformations
    return result


def legend(calcs: tuple[str, ...] = (), show: bool = True) -> dict:
    """A legend below the plot; a table when it shows calculations (last, max, sum)."""
    return {"calcs": list(calcs), "displayMode": "table" if calcs else "list", "placement": "bottom",
            "showLegend": show}


def tooltip() -> dict:
    return {"mode": "multi", "sort": "desc", "hideZeros": True}


def stat(title, description, unit, targets, size=(6, 5), mappings=None, steps=None, text_mode="value_and_name",
         color_mode="background", **field) -> dict:
    options = {"colorMode": color_mode, "graphMode": "none", "justifyMode": "auto", "orientation": "auto",
               "percentChangeColorMode": "standard", "showPercentChange": False, "textMode": text_mode,
               "wideLayout": True, "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    return panel("stat", title, description, unit, targets, options, size, color="thresholds",
                 mappings=mappings, steps=steps, **field)


def timeseries(title, description, unit, targets, size=(12, 8), bars=False, stack=False, steps=None,
               threshold_style="off", overrides=None, calcs=("lastNotNull", "max"), **field) -> dict:
    custom = {"drawStyle": "bars" if bars else "line", "lineWidth": 1, "fillOpacity": 60 if bars else 10,
              "gradientMode": "none", "lineInterpolation": "linear", "showPoints": "never", "spanNulls": False,
              "axisPlacement": "auto", "axisBorderShow": False, "axisCenteredZero": False, "axisColorMode": "text",
              "axisLabel": "", "scaleDistribution": {"type": "linear"}, "barAlignment": 0,
              "stacking": {"group": "A", "mode": "normal" if stack else "none"},
              "hideFrom": {"legend": False, "tooltip": False, "viz": False},
              "thresholdsStyle": {"mode": threshold_style}}
    options = {"legend": legend(calcs), "tooltip": tooltip()}
    return panel("timeseries", title, description, unit, targets, options, size, custom=custom,
                 steps=steps, overrides=overrides, **field)


def timeline(title, description, unit, targets, mappings, size=(12, 7), steps=None, **field) -> dict:
    custom = {"fillOpacity": 80, "lineWidth": 0, "hideFrom": {"legend": False, "tooltip": False, "viz": False}}
    options = {"mergeValues": True, "showValue": "auto", "alignValue": "left", "rowHeight": 0.9,
               "legend": legend(show=False), "tooltip": {"mode": "single", "sort": "none"}}
    return panel("state-timeline", title, description, unit, targets, options, size, custom=custom,
                 color="thresholds", mappings=mappings, steps=steps, **field)


def table(title, description, unit, targets, size=(24, 8), transformations=None, overrides=None, sort=None) -> dict:
    custom = {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False, "filterable": True}
    options = {"showHeader": True, "frameIndex": 0, "cellHeight": "sm", "sortBy": sort or []}
    return panel("table", title, description, unit, targets, options, size, custom=custom, color="thresholds",
                 transformations=transformations, overrides=overrides)


def report_command(size=(24, 5)) -> dict:
    """A text panel with the `spse-exporter report` command for the selected site and the dashboard's time range
    (Grafana fills in the variables), to draft the Berita Acara of what the dashboard shows."""
    command = ("spse-exporter report --prometheus.url=http://127.0.0.1:9090 --site=${site:text} "
               "--from=${__from:date:iso} --to=${__to:date:iso} --format=html --output=berita-acara.html")
    content = ("Draft the incident report (Berita Acara Gangguan) and the public notice for this site and time "
               "range, on the Prometheus host / Buat draf Berita Acara dan pengumuman untuk situs dan rentang "
               f"waktu ini, di host Prometheus:\n\n```sh\n{command}\n```\n\nChoose one site / pilih satu situs. "
               "The report prints the times in the site's zone (WIB, WITA, WIT); details: README, Incident report.")
    return {"type": "text", "title": "Incident report / Berita Acara",
            "description": "The command that drafts the Berita Acara Gangguan for the dashboard's site and time range.",
            "options": {"mode": "markdown", "content": content,
                        "code": {"language": "plaintext", "showLineNumbers": False, "showMiniMap": False}},
            "gridPos": {"w": size[0], "h": size[1]}}


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"w": 24, "h": 1}}


def by_name(pattern: str, *properties: tuple[str, object]) -> dict:
    return {"matcher": {"id": "byRegexp", "options": pattern},
            "properties": [{"id": key, "value": value} for key, value in properties]}


def fixed(color: str) -> tuple[str, dict]:
    return "color", {"mode": "fixed", "fixedColor": color}


def layout(panels: list[dict]) -> list[dict]:
    """Give each panel an id and a place: left to right, wrapping at Grafana's 24 columns."""
    x = y = line_height = 0
    for number, item in enumerate(panels, start=1):
        grid = item["gridPos"]
        if x + grid["w"] > 24 or item["type"] == "row":
            x, y, line_height = 0, y + line_height, 0
        grid.update(x=x, y=y)
        item["id"] = number
        x += grid["w"]
        line_height = max(line_height, grid["h"])
    return panels


def label_values(name: str, label: str, metric: str, description: str) -> dict:
    """A filter variable: the values of label `name` on `metric`, several at once or All (".*")."""
    return {"type": "query", "name": name, "label": label, "description": description, "datasource": DS,
            "query": f"label_values({metric}, {name})", "refresh": 2, "sort": 1, "regex": "",
            "includeAll": True, "multi": True, "allValue": ".*", "options": [],
            "current": {"text": ["All"], "value": ["$__all"]}, "hide": 0}


def variables() -> list[dict]:
    return [
        {"type": "datasource", "name": "datasource", "label": "Data source", "query": "prometheus", "regex": "",
         "description": "Prometheus that scrapes the SPSE exporter.", "includeAll": False, "multi": False,
         "refresh": 1, "options": [], "hide": 0, "current": {"text": "Prometheus", "value": DATASOURCE_UID}},
        label_values("site", "Site / Situs", "spse_http_probe_success",
                     "The site label Prometheus attaches to each exporter (one exporter per LPSE site)."),
        label_values("target", "SPSE target", f"spse_http_probe_success{{{SITE}}}",
                     "SPSE sites probed by the exporters of the chosen sites (targets[].name in spse.yml)."),
    ]


def annotations() -> dict:
    return {"list": [
        {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
         "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"},
        {"name": "Firing alerts / Alert aktif", "datasource": DS, "enable": True, "hide": False,
         "iconColor": "red", "target": {"expr": f'ALERTS{{alertstate="firing", {SITE}}}', "refId": "Anno",
                                        "interval": "30s"},
         "titleFormat": "{{alertname}}", "textFormat": "{{severity}} {{target}}{{group}}{{server}}",
         "tagKeys": "site,severity", "useValueForTime": False},
    ]}


def dashboard(uid: str, title: str, description: str, panels: list[dict], templating: list[dict] | None = None,
              with_annotations: bool = True) -> dict:
    notes = annotations() if with_annotations else {"list": annotations()["list"][:1]}
    return {
        "uid": uid, "title": title, "description": description, "tags": TAGS, "editable": True,
        "schemaVersion": SCHEMA_VERSION, "graphTooltip": 1, "fiscalYearStartMonth": 0, "liveNow": False,
        "refresh": "30s", "time": {"from": "now-6h", "to": "now"}, "timezone": "browser",
        "timepicker": {"refresh_intervals": ["15s", "30s", "1m", "5m", "15m"]},
        "links": [{"title": "SPSE dashboards", "type": "dashboards", "tags": ["spse"], "asDropdown": False,
                   "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False,
                   "tooltip": "", "url": ""}],
        "templating": {"list": templating or variables()}, "annotations": notes, "panels": layout(panels),
    }


def rate(metric: str, labels: str, by: str) -> str:
    return f"sum by ({by}) (increase({metric}{{{labels}}}[$__rate_interval]))"


def percentile(q: float) -> str:
    return (f"histogram_quantile({q}, sum by (site, target, le) "
            f"(rate(spse_http_probe_duration_seconds_bucket{{{TARGET}}}[$__rate_interval])))")


def http_status_timeline(size=(12, 7)) -> dict:
    return timeline(
        "HTTP status over time / Kode status HTTP",
        "Status code of each probe's final response. 504 (gateway timeout) is dark red: on 4 April 2023 the "
        "site answered 504 all day. 'no response' means the probe got no HTTP answer at all (see failures by "
        "reason). ID: Kode status HTTP tiap pemeriksaan; 504 berwarna merah tua.",
        "none", [query(f"spse_http_status_code{{{TARGET}}}", "{{site}} {{target}}")], STATUS_CODES, size)


# The reasons each kind of probe fails with (REASONS in its module under exporter/probes/; tests/test_words.py keeps
# them in step).
REASONS = {
    "SPSE": "timeout, dns, connect, tls, http_status, body_match, protocol; with spse: also spse_error, not_spse",
    "Application check": "timeout, dns, connect, tls, http_status, protocol, spse_error, no_token, bad_data",
    "NTP": "timeout, dns, connect, protocol, kod, unsynchronized, origin_mismatch",
    "Upstream": "timeout, dns, connect, tls, protocol, http_status, rcode, no_answer, origin_mismatch",
}


def failures(metric: str, labels: str, by: str, legend_format: str, what: str, size=(12, 8)) -> dict:
    return timeseries(
        f"{what} failures by reason / Kegagalan per penyebab",
        f"Failed {what} probes per reason in each interval ({REASONS[what]}). "
        "The reason says where the chain broke. ID: Jumlah kegagalan per penyebab.",
        "short", [query(rate(metric, labels, by), legend_format)], size, bars=True, stack=True, calcs=("sum",))


def clock_offset_panel(size=(12, 8)) -> dict:
    return timeseries(
        "Clock offset per time source / Selisih jam per sumber waktu",
        "Local clock offset to each NTP source (positive: local clock is behind), and their median; role spse is "
        "one of the SPSE server's own sources, reference only measures. A source that stops answering leaves a "
        "gap. ID: Selisih jam lokal terhadap tiap sumber NTP (spse: sumber server SPSE, reference: acuan) dan "
        "mediannya.",
        "s", [query(f"spse_ntp_offset_seconds{{{SITE}}} * on (instance, server) group_left (role) "
                    f"spse_clock_source_info{{{SITE}}}", "{{site}} {{server}} ({{role}})"),
              query(f"spse_clock_offset_seconds{{{SITE}}}", "{{site}} median")], size)


def upstream_checks_timeline(size=(16, 8)) -> dict:
    return timeline(
        "Upstream checks / Pemeriksaan jaringan hulu",
        "Each upstream check (tcp, dns, ntp, http) per group. gateway = your router, national = Indonesian "
        "hosts, global = international anchors. ID: Tiap pemeriksaan per grup: gateway (router lokal), "
        "national (nasional), global (internasional).",
        "none", [query(f"spse_upstream_probe_success{{{SITE}}}", "{{site}} {{group}}: {{check}}")], UP_DOWN, size)


def spse_application_panels() -> list[dict]:
    """SPSE-aware targets (`spse:`): the application check beside the front page, data age, and versions."""
    versions = f"last_over_time(spse_info{{{SITE}}}[$__range])"
    return [
        row("SPSE application and data / Aplikasi dan data SPSE"),
        timeline("Front page and application / Halaman depan dan aplikasi",
                 "Front page probe and application check (token from /lelang, one row of /dt/lelang) on one time "
                 "axis. Front page UP with the application DOWN means the application or its database fails "
                 "(SPSEApplicationDown). ID: Halaman depan dan pemeriksaan aplikasi; halaman depan UP dengan "
                 "aplikasi DOWN berarti aplikasi atau basis datanya bermasalah.",
                 "none", [query(f"spse_http_probe_success{{{TARGET}}}", "{{site}} {{target}} front page / depan"),
                          query(f"spse_app_probe_success{{{TARGET}}}", "{{site}} {{target}} application / aplikasi")],
                 UP_DOWN),
        timeseries("Data age in working hours / Umur data dalam jam kerja",
                   "Working time (Monday to Friday, 08:00 to 16:00 site time, holidays excluded) since SPSE's footer "
                   "says 'Update terakhir', and the target's spse.data_max_age (dashed): SPSEDataStale fires above "
                   "it during the site's working hours. Flat at night, on weekends and holidays. ID: Jam kerja sejak "
                   "'Update terakhir' di footer SPSE, dan batas spse.data_max_age; datar di malam hari, akhir pekan "
                   "dan hari libur.",
                   "s", [query(f"spse_data_age_working_seconds{{{TARGET}}}", "{{site}} {{target}} age / umur"),
                         query(f"spse_data_max_age_seconds{{{TARGET}}}", "{{site}} {{target}} max / batas")],
                   overrides=[by_name(".* max / batas$", fixed("red"),
                                      ("custom.lineStyle", {"fill": "dash", "dash": [10, 10]}))]),
        failures("spse_app_probe_failures_total", TARGET, "site, target, reason", "{{site}} {{target}}: {{reason}}",
                 "Application check"),
        table("SPSE version per site / Versi SPSE per situs",
              "The SPSE version each site's front page showed last in the time range (footer 'SPSE v4...'), for a "
              "national view of which sites run which version after an update. ID: Versi SPSE terakhir yang "
              "tampil di tiap situs dalam rentang waktu dasbor.",
              "none", [query(f"max by (site, target, version) ({versions})", instant=True, table=True)], size=(16, 8),
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True, "Value": True},
                  "indexByName": {"site": 0, "target": 1, "version": 2},
                  "renameByName": {"site": "site / situs", "version": "version / versi"}}}],
              sort=[{"displayName": "version / versi", "desc": False}]),
        stat("Sites per SPSE version / Situs per versi SPSE",
             "How many SPSE targets showed each version in the time range. ID: Jumlah situs per versi SPSE.",
             "short", [query(f"count by (version) ({versions})", "{{version}}", instant=True)],
             size=(8, 8), color_mode="value"),
    ]


def overview() -> dict:
    panels = [
        row("SPSE site / Situs SPSE"),
        stat("SPSE now / Status SPSE saat ini",
             "Last probe of each SPSE target: UP when it answered with a valid status and no SPSE error page. "
             "ID: Hasil pemeriksaan terakhir tiap situs SPSE.",
             "none", [query(f"spse_http_probe_success{{{TARGET}}}", "{{site}} {{target}}", instant=True)],
             mappings=UP_DOWN, steps=thresholds("red", (1, "green"))),
        stat("Availability in range / Ketersediaan",
             "Share of probes that succeeded over the dashboard's time range. ID: Persentase pemeriksaan yang "
             "berhasil dalam rentang waktu dasbor.",
             "percentunit",
             [query(f"avg_over_time(spse_http_probe_success{{{TARGET}}}[$__range])", "{{site}} {{target}}",
                    instant=True)],
             steps=thresholds("red", (AVAILABILITY["orange"], "orange"), (AVAILABILITY["green"], "green")), decimals=2,
             min=0, max=1),
        stat("Last HTTP status / Status HTTP terakhir",
             "Status code of the last probe's final response; 0 means no HTTP answer. ID: Kode status HTTP "
             "terakhir; 0 berarti tidak ada jawaban.",
             "none", [query(f"spse_http_status_code{{{TARGET}}}", "{{site}} {{target}}", instant=True)],
             mappings=STATUS_CODES, steps=thresholds("red", (200, "green"), (300, "blue"), (400, "orange"),
                                                      (500, "red"))),
        stat("TLS certificate expires in / Sertifikat TLS berakhir",
             "Time left until the certificate the SPSE site served expires (https targets only); orange under "
             f"{mixin.words(TLS['warning'], 'en')}, red under {mixin.days(TLS['critical'])} (the "
             "SPSETLSCertExpiringSoon alerts). ID: Sisa waktu sampai sertifikat TLS situs SPSE kedaluwarsa.",
             "s", [query(f"spse_tls_cert_expiry_timestamp_seconds{{{TARGET}}} - time()", "{{site}} {{target}}",
                         instant=True)],
             steps=thresholds("red", *((mixin.seconds(TLS[level]), color)
                                       for level, color in (("critical", "orange"), ("warning", "green"))))),
        timeline("SPSE up/down over time / Status SPSE dari waktu ke waktu",
                 "Each SPSE target's probe result on the time axis. ID: Hasil pemeriksaan tiap situs SPSE "
                 "sepanjang waktu.",
                 "none", [query(f"spse_http_probe_success{{{TARGET}}}", "{{site}} {{target}}")], UP_DOWN),
        http_status_timeline(),
        timeseries("Responses by status code / Respons per kode status",
                   "SPSE responses per status code in each interval; 5xx in red, 504 in dark red. ID: Jumlah "
                   "respons per kode status HTTP.",
                   "short", [query(rate("spse_http_responses_total", TARGET, "site, target, code"),
                                   "{{code}} {{site}} {{target}}")],
                   bars=True, stack=True, calcs=("sum",),
                   overrides=[by_name("^2.*", fixed("green")), by_name("^5.*", fixed("red")),
                              by_name("^504 .*", fixed("dark-red"))]),
        failures("spse_http_probe_failures_total", TARGET, "site, target, reason", "{{site}} {{target}}: {{reason}}",
                 "SPSE"),
        *spse_application_panels(),
        row("SPSE latency and server clock / Latensi dan jam server SPSE"),
        timeseries("Probe duration percentiles / Persentil durasi",
                   "Whole probe duration (redirects included) as p50, p90 and p99 over each interval. ID: "
                   "Durasi pemeriksaan (p50, p90, p99).",
                   "s", [query(percentile(0.5), "p50 {{site}} {{target}}"),
                         query(percentile(0.9), "p90 {{site}} {{target}}"),
                         query(percentile(0.99), "p99 {{site}} {{target}}")], size=(8, 8)),
        timeseries("Phase breakdown / Rincian fase",
                   "Last probe's time per phase: resolve (DNS), connect, tls, processing (server time to first "
                   "byte) and transfer. A growing 'processing' points at the SPSE server, 'connect' at the "
                   "network. ID: Waktu per fase pemeriksaan terakhir.",
                   "s", [query(f"spse_http_phase_duration_seconds{{{TARGET}}}", "{{site}} {{target}} {{phase}}")],
                   size=(8, 8), stack=True),
        timeseries("SPSE server clock skew / Selisih jam server SPSE",
                   "SPSE server's Date header minus the NTP-corrected reference time (+-0.5 s resolution); the "
                   f"dashed lines at +-{CLOCK_SKEW} s are the SPSEServerClockSkew alert's threshold. ID: Selisih "
                   "jam server SPSE terhadap waktu acuan NTP.",
                   "s", [query(f"spse_http_server_clock_offset_seconds{{{TARGET}}}", "{{site}} {{target}}")],
                   size=(8, 8), steps=thresholds("red", (-CLOCK_SKEW, "green"), (CLOCK_SKEW, "red")),
                   threshold_style="dashed"),
        row("Clock (NTP) / Jam (NTP)"),
        stat("Time sources answering / Sumber waktu yang menjawab",
             "How many of the SPSE server's own NTP sources (clock.servers) answered in the last round. 0 means "
             "SPSE cannot validate its time: the 4 April 2023 failure. ID: Jumlah sumber NTP milik server SPSE "
             "yang menjawab; 0 berarti SPSE tidak dapat memvalidasi waktunya.",
             "short", [query(f"spse_clock_sources_reachable{{{SITE}}}", "{{site}} answering", instant=True),
                       query(f"spse_clock_sources_configured{{{SITE}}}", "{{site}} configured", instant=True)],
             size=(6, 8), steps=thresholds("red", (1, "orange"), (SAFE_SOURCES, "green")),
             overrides=[by_name(".*configured$", fixed("blue"))]),
        clock_offset_panel(size=(9, 8)),
        timeline("Time sources over time / Sumber waktu dari waktu ke waktu",
                 "Whether each NTP source answered, on the time axis. ID: Apakah tiap sumber NTP menjawab.",
                 "none", [query(f"spse_ntp_probe_success{{{SITE}}}", "{{site}} {{server}}")], ANSWERED, size=(9, 8)),
        timeseries("NTP round trip / Waktu tempuh NTP",
                   "Round-trip delay of the last exchange with each NTP source. ID: Waktu tempuh pertukaran NTP.",
                   "s", [query(f"spse_ntp_rtt_seconds{{{SITE}}}", "{{site}} {{server}}")], size=(9, 7)),
        failures("spse_ntp_probe_failures_total", SITE, "site, server, reason", "{{site}} {{server}}: {{reason}}",
                 "NTP", size=(9, 7)),
        stat("SPSE host kernel clock / Jam kernel host SPSE",
             "The kernel's own verdict (adjtimex), when the exporter runs on the SPSE host with clock.host_kernel: "
             "synchronised or not, and its maximum error (grows 0.5 ms/s while nothing disciplines the clock). "
             "Empty otherwise. ID: Penilaian kernel host SPSE atas jamnya (tersinkron atau tidak) dan galat "
             "maksimumnya; kosong bila clock.host_kernel tidak aktif.",
             "none", [query(f"spse_host_clock_synchronized{{{SITE}}}", "{{site}} kernel", instant=True),
                      query(f"spse_host_clock_maximum_error_seconds{{{SITE}}}", "{{site}} max error / galat maks",
                            instant=True)],
             size=(6, 7), mappings=SYNCED,
             overrides=[by_name(".*max error.*", ("unit", "s"), ("mappings", []), fixed("blue"))]),
        row("Upstream network / Jaringan hulu"),
        timeseries("Reachable share per group / Persentase terjangkau per grup",
                   "Share of each group's checks that succeeded in the last round. National up while global "
                   "is down is the 4 April 2023 pattern. ID: Persentase pemeriksaan yang berhasil per grup.",
                   "percentunit", [query(f"spse_upstream_group_reachable_ratio{{{SITE}}}", "{{site}} {{group}}")],
                   size=(8, 8), min=0, max=1),
        upstream_checks_timeline(),
        timeseries("Upstream check duration / Durasi pemeriksaan hulu",
                   "Duration of the last run of each upstream check. ID: Durasi tiap pemeriksaan hulu.",
                   "s", [query(f"spse_upstream_probe_duration_seconds{{{SITE}}}", "{{site}} {{group}}: {{check}}")],
                   size=(12, 7)),
        failures("spse_upstream_probe_failures_total", SITE, "site, group, check, reason",
                 "{{site}} {{group}} {{check}}: {{reason}}", "Upstream", size=(12, 7)),
        row("Alerts and exporter / Alert dan exporter"),
        table("Alerts firing and pending / Alert aktif dan menunggu",
              "Alerts Prometheus evaluates now: firing ones have been sent to Alertmanager, pending ones fire "
              "if the condition lasts. See docs/runbook.md for each alert. ID: Alert yang aktif (firing) "
              "dan yang menunggu (pending).",
              "none", [query(f"ALERTS{{{SITE}}}", instant=True, table=True)], size=(12, 8),
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True, "Value": True, "__name__": True},
                  "indexByName": {"alertstate": 0, "alertname": 1, "severity": 2, "site": 3},
                  "renameByName": {"alertstate": "state", "alertname": "alert"}}}],
              overrides=[{"matcher": {"id": "byName", "options": "state"}, "properties": [
                  {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                  {"id": "mappings", "value": [{"type": "value", "options": {
                      "firing": {"color": "red", "index": 0}, "pending": {"color": "orange", "index": 1}}}]}]}],
              sort=[{"displayName": "state", "desc": False}]),
        stat("Last probe age / Umur pemeriksaan terakhir",
             "Seconds since Prometheus last saw each probe complete a round (spse_probe_rounds_total moved; to "
             "within 30s, on Prometheus' clock, so a wrong clock on the exporter's host does not show here). Far "
             "above its interval means the probe is stuck. ID: Detik sejak Prometheus terakhir melihat tiap "
             "pemeriksaan selesai (menurut jam Prometheus).",
             "s", [query(f"time() - max_over_time(timestamp(changes(spse_probe_rounds_total{{{SITE}}}[30s]) > 0)[1h:])",
                         "{{site}} {{probe}} {{name}}", instant=True)],
             size=(6, 8), steps=thresholds("green", (PROBE_AGE["orange"], "orange"), (PROBE_AGE["red"], "red")),
             color_mode="value"),
        stat("Exporter scraped / Exporter terjangkau",
             "Whether Prometheus could scrape each site's exporter. DOWN here explains empty panels above. ID: "
             "Apakah Prometheus dapat mengambil metrik exporter; DOWN menjelaskan panel yang kosong.",
             "none", [query(f'up{{job="spse-exporter", {SITE}}}', "{{site}} {{instance}}", instant=True)],
             size=(6, 8), mappings=UP_DOWN, steps=thresholds("red", (1, "green"))),
    ]
    return dashboard("spse-overview", "SPSE overview / Ringkasan SPSE",
                     "SPSE site status, clock validation and upstream network for LPSE operators.", panels)


def incident() -> dict:
    chain = [
        query(f'spse_upstream_group_reachable_ratio{{{SITE}, group="gateway"}}', "{{site}} 1 gateway (router)"),
        query(f'spse_upstream_group_reachable_ratio{{{SITE}, group="national"}}', "{{site}} 2 national (nasional)"),
        query(f'spse_upstream_group_reachable_ratio{{{SITE}, group="global"}}', "{{site}} 3 global (internasional)"),
        query(f"spse_clock_sources_reachable{{{SITE}}} / spse_clock_sources_configured{{{SITE}}}",
              "{{site}} 4 clock / jam (NTP)"),
        query(f"spse_http_probe_success{{{TARGET}}}", "{{site}} 5 SPSE {{target}}"),
    ]

    def first_down(expr: str, link: str, source_label: str = "") -> str:
        """Epoch ms of the first sample in the range where `expr` was 0, with a `link` label naming it."""
        first = f"min_over_time(timestamp({expr} == 0)[$__range:$__interval]) * 1000"
        if source_label:
            return f'label_replace({first}, "link", "{link} $1", "{source_label}", "(.+)")'
        return f'label_replace({first}, "link", "{link}", "", "")'

    first = " or ".join([
        # The gateway as the alerts read it: lost only when national and global agree (a refused check is not).
        first_down(f'spse_upstream_group_reachable_ratio{{{SITE}, group!="gateway"}}', "upstream", "group"),
        first_down(f"1 - upstream:gateway_confirmed_lost{{{SITE}}}", "upstream", "group"),
        first_down(f"spse_clock_sources_reachable{{{SITE}}}", "clock (NTP)"),
        first_down(f"spse_http_probe_success{{{TARGET}}}", "SPSE", "target"),
    ])
    panels = [
        row("Root-cause chain / Rantai penyebab: gateway -> national/global -> clock -> SPSE"),
        timeline("Root-cause chain / Rantai penyebab",
                 "One row per link, top to bottom in the order a failure travels: 1 gateway (your router), "
                 "2 national and 3 global reachability, 4 clock (share of NTP sources answering), 5 SPSE. The "
                 "highest row that turns red first is where to look. 4 April 2023: global went red, then clock, "
                 "then SPSE, while national stayed green. A gateway row red while national and global stay green "
                 "is a gateway check the router refuses (UpstreamDegraded), not the cause. ID: Satu baris per mata "
                 "rantai; baris teratas yang pertama merah adalah penyebabnya. Gateway merah sementara nasional dan "
                 "global hijau berarti pemeriksaan gateway-nya keliru, bukan penyebab.",
                 "percentunit", chain, LINK_STATE, size=(24, 9),
                 steps=thresholds("red", (0.0001, "orange"), (1, "green"))),
        stat("Probable cause now / Kemungkinan penyebab saat ini",
             "The first link of the chain lost in the last 5 minutes (recording rule spse:probable_cause): "
             "gateway_lost, national_lost, global_lost, clock_unvalidated, or none. ID: Mata rantai pertama yang "
             "putus dalam 5 menit terakhir; none berarti tidak ada.",
             "none", [query(f"spse:probable_cause{{{SITE}}}", "{{site}}: {{cause}}", instant=True)],
             size=(8, 6), text_mode="name", overrides=[by_name(".*: none$", fixed("green")),
                                                       by_name(".*_(lost|unvalidated)$", fixed("red"))]),
        table("Which link broke first / Mata rantai yang putus pertama",
              "For each link that was fully down at some point in the dashboard's time range, when that first "
              "happened; the top row broke first. A gateway row while national and global never went down is a "
              "gateway check the router refuses, not the first broken link. ID: Kapan tiap mata rantai pertama kali "
              "putus dalam rentang waktu dasbor; baris teratas putus paling awal. Gateway tanpa nasional dan global "
              "yang ikut putus berarti pemeriksaan gateway-nya keliru.",
              "dateTimeAsIso", [query(first, instant=True, table=True)], size=(16, 6),
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True, "group": True, "target": True, "instance": True, "job": True},
                  "indexByName": {"Value": 0, "link": 1, "site": 2},
                  "renameByName": {"Value": "first down / pertama putus"}}}],
              sort=[{"displayName": "first down / pertama putus", "desc": False}]),
        row("Links in detail / Rincian tiap mata rantai"),
        upstream_checks_timeline(size=(24, 8)),
        clock_offset_panel(),
        timeline("Time sources answering / Sumber waktu yang menjawab",
                 "How many NTP sources answered each round; 0 (red) means the clock cannot be validated. ID: "
                 "Jumlah sumber NTP yang menjawab; 0 berarti jam tidak dapat divalidasi.",
                 "short", [query(f"spse_clock_sources_reachable{{{SITE}}}", "{{site}} answering / menjawab")],
                 [], size=(12, 8), steps=thresholds("red", (1, "orange"), (SAFE_SOURCES, "green"))),
        http_status_timeline(size=(12, 8)),
        failures("spse_http_probe_failures_total", TARGET, "site, target, reason", "{{site}} {{target}}: {{reason}}",
                 "SPSE", size=(12, 8)),
        row("Incident report / Berita Acara Gangguan"),
        report_command(),
    ]
    return dashboard("spse-incident", "SPSE incident: root-cause chain / Rantai penyebab gangguan",
                     "Gateway, national/global reachability, clock and SPSE on one time axis: which link broke "
                     "first.", panels)


def watcher() -> dict:
    """The watcher's view (docker-compose.watcher.yml): every site from inside and from outside, worst first."""
    outside = f'min by (site) (spse_http_probe_success{{vantage="outside", {SITE}}})'
    inside = f'min by (site) (spse_http_probe_success{{vantage="site", {SITE}}})'
    silent = f"watcher:site_silent{{{SITE}}}"
    failing = (f'(count by (site) (watcher:notifications_failing{{vantage="site", {SITE}}}) > bool 0) '
               f"or on (site) {silent} * 0")
    # Worst first: silent 8, down from outside 4, down inside 2, notifications failing 1.
    worst = (f"8 * {silent} + on (site) 4 * watcher:outside_down{{{SITE}}} "
             f"+ on (site) 2 * (watcher:inside_down{{{SITE}}} or on (site) {silent} * 0) + on (site) ({failing})")
    column = "Worst / Terburuk"
    failing_state = two_states("OK", "green", "FAILING / GAGAL", "red")
    silent_state = two_states("REPORTING / MENGIRIM", "green", "SILENT / DIAM", "red")
    panels = [
        row("Every site, inside and outside / Setiap situs, dari dalam dan dari luar"),
        table("Sites, worst first / Situs, terburuk di atas",
              "One row per watched site: SPSE seen from outside (the watcher's probe) and from inside (the site's "
              "own, remote-written), whether the site reports, whether its notifications get out, and the merged "
              "cause (watcher:site_cause: uplink_cut, site_silent, path, a lost link such as global_lost, "
              "application, none). ID: Satu baris per situs; yang terburuk di atas.",
              "none", [query(worst, instant=True, table=True), query(outside, instant=True, table=True),
                       query(inside, instant=True, table=True), query(silent, instant=True, table=True),
                       query(failing, instant=True, table=True),
                       query(f"watcher:site_cause{{{SITE}}}", instant=True, table=True)],
              size=(24, 10),
              transformations=[
                  {"id": "joinByField", "options": {"byField": "site", "mode": "outer"}},
                  {"id": "organize", "options": {
                      "excludeByName": {"Time": True, "__name__": True, "Value #F": True,
                                        **{f"Time {n}": True for n in range(1, 7)}},
                      "indexByName": {"site": 0, "Value #A": 1, "Value #B": 2, "Value #C": 3, "Value #D": 4,
                                      "Value #E": 5, "cause": 6},
                      "renameByName": {"Value #A": column, "Value #B": "outside / luar", "Value #C": "inside / dalam",
                                       "Value #D": "silent / diam", "Value #E": "notifications / notifikasi",
                                       "cause": "cause / penyebab"}}}],
              overrides=[by_name("^(outside|inside).*", ("mappings", UP_DOWN)),
                         by_name("^silent.*", ("mappings", silent_state)),
                         by_name("^notifications.*", ("mappings", failing_state))],
              sort=[{"displayName": column, "desc": True}]),
        timeline("SPSE from outside / SPSE dari luar",
                 "The watcher's probe of each site's public SPSE URL. Red here and green inside: routing or DNS "
                 "between the site and the outside. ID: Pemeriksaan URL publik tiap situs dari watcher.",
                 "none", [query(outside, "{{site}}")], UP_DOWN),
        timeline("SPSE from inside / SPSE dari dalam",
                 "Each site's own probe of SPSE, as it remote-writes it. Red on both sides: the application, or a "
                 "lost link the site names (the 4 April 2023 chain: global_lost). ID: Pemeriksaan SPSE dari dalam "
                 "tiap situs.",
                 "none", [query(inside, "{{site}}")], UP_DOWN),
        timeline("Site reporting / Situs mengirim data",
                 "SILENT when the watcher has received nothing from the site for 2 minutes (SiteSilent): its uplink "
                 "is cut, or its Prometheus is down. ID: DIAM jika watcher tidak menerima data situs selama 2 menit.",
                 "none", [query(silent, "{{site}}")], silent_state, steps=thresholds("green", (1, "red"))),
        timeline("Site notifications / Notifikasi situs",
                 "FAILING while the site's Alertmanager cannot deliver (SiteNotificationsFailing): the watcher "
                 "then forwards the site's critical alerts. ID: GAGAL selama Alertmanager situs tidak dapat "
                 "mengirim notifikasi; watcher meneruskan alert kritis situs.",
                 "none", [query(failing, "{{site}}")], failing_state, steps=thresholds("green", (1, "red"))),
    ]
    return dashboard("spse-watcher", "SPSE watcher: every site, inside and outside / Semua situs, dari dalam dan luar",
                     "The watcher's merged view of every site: outside probe, the site's own view, whether it reports "
                     "and whether its notifications get out, worst first.", panels)


# The filter of the national dashboard: the sites of the chosen provinces and time zones (watcher:site_info,
# from the labels each site's remote_write adds). With both on All (".*"), also the sites the watcher probes
# that have never written: their watcher:site_info has no province, which only ".*" matches.
CHOSEN = 'watcher:site_info{province=~"$province", timezone=~"$timezone"}'
# Host time at risk (the prevention work: the SPSE host's own clock about to be unvalidated) joins the worst-first
# order and gets a column once a per-site series of it exists, 1 at risk, else 0: name it here, e.g.
# "watcher:host_time_at_risk". Until then no query names it (a query of a missing series only shows empty).
HOST_TIME_AT_RISK: str | None = None


def chosen(expr: str) -> str:
    return f"({expr}) and on (site) {CHOSEN}"


def region_variables() -> list[dict]:
    return [
        variables()[0],
        label_values("province", "Province / Provinsi", "watcher:site_info",
               "The province each site's remote_write names (prometheus/remote-write.yml). All also shows sites "
               "that have never written."),
        label_values("timezone", "Time zone / Zona waktu", 'watcher:site_info{province=~"$province"}',
               "WIB, WITA or WIT, as each site's remote_write names it."),
    ]


def national() -> dict:
    """Every LPSE on one page for a national team: worst first, filtered by province and time zone, each row
    linking to the site's own dashboards (the watcher's Grafana has them, with the site's remote-written series)."""
    silent, outside, inside = "watcher:site_silent", "watcher:outside_down", "watcher:inside_down"
    inside_known = f"({inside} or on (site) {silent} * 0)"  # a site that never wrote has no inside view
    failing = ('(count by (site) (watcher:notifications_failing{vantage="site"}) > bool 0) '
               f"or on (site) {silent} * 0")
    # Worst first: silent, down from outside, SPSE down at the site, notifications failing (, host time at risk).
    states = [(silent, "silent / diam"), (outside, "outside / luar"), (inside_known, "SPSE at the site / di situs"),
              (failing, "notifications / notifikasi")]
    if HOST_TIME_AT_RISK:
        states.append((f"({HOST_TIME_AT_RISK} or on (site) {silent} * 0)", "host time / jam host"))
    worst = " + on (site) ".join(f"{2 ** (len(states) - 1 - i)} * {expr}" for i, (expr, _) in enumerate(states))
    column = "Worst / Terburuk"
    refs = [chr(ord("B") + i) for i in range(len(states))]
    cause_ref, info_ref = chr(ord(refs[-1]) + 1), chr(ord(refs[-1]) + 2)
    silent_state = two_states("REPORTING / MENGIRIM", "green", "SILENT / DIAM", "red")
    down_state = two_states("UP / NORMAL", "green", "DOWN / GANGGUAN", "red")
    failing_state = two_states("OK", "green", "FAILING / GAGAL", "red")
    site_links = [
        {"title": "Site overview / Ringkasan situs", "url": "/d/spse-overview?var-site=${__value.raw}&${__url_time_range}"},
        {"title": "Root-cause chain / Rantai penyebab", "url": "/d/spse-incident?var-site=${__value.raw}&${__url_time_range}"},
        {"title": "Inside and outside / Dalam dan luar", "url": "/d/spse-watcher?var-site=${__value.raw}&${__url_time_range}"},
    ]

    def count(title: str, description: str, expr: str, red_from: float = 1) -> dict:
        return stat(title, description, "none", [query(f"{expr} or vector(0)", instant=True)], size=(24 // 5, 4),
                    steps=thresholds("green", (red_from, "red")), text_mode="value")

    panels = [
        row("Now / Saat ini"),
        stat("Sites watched / Situs diawasi",
             "Sites of the chosen provinces and time zones that the watcher probes from outside. ID: Situs pada "
             "provinsi dan zona waktu terpilih yang diperiksa watcher dari luar.",
             "none", [query(f"count({chosen(outside)}) or vector(0)", instant=True)], size=(4, 4), text_mode="value"),
        count("Silent / Diam", "Sites that have sent nothing for 2 minutes (SiteSilent): uplink cut, or the site's "
              "Prometheus down. ID: Situs yang tidak mengirim data selama 2 menit.", f"sum({chosen(silent)})"),
        count("Down from outside / Gangguan dari luar", "Sites whose public SPSE fails from the watcher. ID: Situs yang "
              "SPSE-nya gagal diakses dari watcher.", f"sum({chosen(outside)})"),
        count("SPSE down at the site / SPSE gangguan di situs", "Sites whose own probe sees SPSE fail. ID: Situs yang "
              "pemeriksaannya sendiri melihat SPSE gagal.", f"sum({chosen(inside)})"),
        count("Notifications failing / Notifikasi gagal", "Sites whose Alertmanager cannot deliver "
              "(SiteNotificationsFailing); the watcher forwards their critical alerts. ID: Situs yang Alertmanager-nya "
              "gagal mengirim notifikasi.", f'count({chosen(failing)} == 1)'),
        row("Every LPSE, worst first / Setiap LPSE, terburuk di atas"),
        table("Sites, worst first / Situs, terburuk di atas",
              "One row per site: silent, SPSE down from outside, SPSE down at the site, notifications failing, in "
              "that order of weight, and the probable cause (watcher:site_cause: uplink_cut, site_silent, path, a "
              "lost link such as global_lost, application, none). Click a site for its own dashboards. Province and "
              "time zone come from the site's remote_write; a site that has never written has none. ID: Satu baris "
              "per situs, terburuk di atas, dengan kemungkinan penyebabnya; klik nama situs untuk dasbornya.",
              "none", [query(chosen(worst), instant=True, table=True),
                       *(query(chosen(expr), instant=True, table=True) for expr, _ in states),
                       query(chosen("watcher:site_cause"), instant=True, table=True),
                       query(CHOSEN, instant=True, table=True)],
              size=(24, 20),
              transformations=[
                  {"id": "joinByField", "options": {"byField": "site", "mode": "outer"}},
                  {"id": "organize", "options": {
                      "excludeByName": {"Time": True, "__name__": True, f"Value #{cause_ref}": True,
                                        f"Value #{info_ref}": True,
                                        **{f"Time {n}": True for n in range(1, len(states) + 4)}},
                      "indexByName": {"site": 0, "Value #A": 1, "cause": 2,
                                      **{f"Value #{ref}": 3 + i for i, ref in enumerate(refs)},
                                      "province": 3 + len(refs), "timezone": 4 + len(refs)},
                      "renameByName": {"Value #A": column, "cause": "cause / penyebab", "province": "province / provinsi",
                                       "timezone": "time zone / zona waktu",
                                       **{f"Value #{ref}": title for ref, (_, title) in zip(refs, states)}}}}],
              overrides=[{"matcher": {"id": "byName", "options": "site"}, "properties": [{"id": "links", "value": site_links}]},
                         by_name("^silent.*", ("mappings", silent_state)),
                         by_name("^(outside|SPSE at|host time).*", ("mappings", down_state)),
                         by_name("^notifications.*", ("mappings", failing_state)),
                         by_name(f"^{column}$", ("custom.cellOptions", {"type": "color-background"}),
                                 ("thresholds", thresholds("green", (1, "orange"), (2 ** (len(states) - 2), "red"))))],
              sort=[{"displayName": column, "desc": True}]),
        row("Over time / Dari waktu ke waktu"),
        timeseries("Sites per probable cause / Situs per kemungkinan penyebab",
                   "How many of the chosen sites each cause explained over time (watcher:site_cause, counted by the "
                   "rule watcher:sites_by_cause:count per province and time zone); none is healthy. ID: Jumlah situs "
                   "per kemungkinan penyebab dari waktu ke waktu; none berarti sehat.",
                   "short", [query('sum by (cause) (watcher:sites_by_cause:count{province=~"$province", '
                                   'timezone=~"$timezone"})', "{{cause}}")],
                   size=(24, 8), bars=True, stack=True, overrides=[by_name("^none$", fixed("green"))]),
    ]
    return dashboard("spse-national", "SPSE national: every LPSE / Nasional: setiap LPSE",
                     "Every watched LPSE on one page, worst first, by province and time zone, for national teams.",
                     panels, templating=region_variables(), with_annotations=False)


DASHBOARDS = {"spse-overview.json": overview, "spse-incident.json": incident, "spse-watcher.json": watcher,
              "spse-national.json": national}


def render() -> dict[str, str]:
    return {name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if grafana/dashboards/ differs from this code")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)}; run python3 grafana/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
