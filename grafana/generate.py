#!/usr/bin/env python3
"""Generates the Grafana dashboards in grafana/dashboards/ from this one file.

Building them in code gives every panel the same datasource variable, a unit and a description. Their
thresholds come from prometheus/mixin/thresholds.yml, the one source the alert rules are rendered from too.
After an edit run `python3 grafana/generate.py`; `--check` exits 1 when the committed JSON is stale
(tests/integration/test_dashboards.py runs it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parent / "dashboards"
sys.path.insert(0, str(OUT.parents[1] / "prometheus" / "mixin"))
import thresholds as mixin  # noqa: E402  the alerts' and dashboards' thresholds, written once
sys.path.insert(0, str(OUT.parents[1]))
from exporter import formatting  # noqa: E402  the words for codes (reasons, groups, causes), written once

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
    """Value mappings for a 0/1 series: its two texts (Indonesian / English) and colours."""
    return [{"type": "value", "options": {"0": {"text": zero, "color": zero_color, "index": 0},
                                          "1": {"text": one, "color": one_color, "index": 1}}}]


UP_DOWN = two_states("GANGGUAN / DOWN", "red", "NORMAL / UP", "green")
DOWN_UP = two_states("NORMAL / UP", "green", "GANGGUAN / DOWN", "red")  # for a series that is 1 when down
SILENT_STATE = two_states("MENGIRIM / REPORTING", "green", "DIAM / SILENT", "red")
FAILING_STATE = two_states("OK", "green", "GAGAL / FAILING", "red")
ANSWERED = two_states("TIDAK MENJAWAB / NO ANSWER", "red", "MENJAWAB / ANSWERS", "green")
SYNCED = two_states("TIDAK TERSINKRON / UNSYNCHRONISED", "red", "TERSINKRON / SYNCHRONISED", "green")
# Share of a link's checks that passed: 0 is a broken link, anything between is a partial loss.
LINK_STATE = [
    {"type": "value", "options": {
        "0": {"text": "PUTUS / DOWN", "color": "red", "index": 0},
        "1": {"text": "OK", "color": "green", "index": 2}}},
    {"type": "range", "options": {"from": 0.0001, "to": 0.9999,
                                  "result": {"text": "SEBAGIAN / PARTIAL", "color": "orange", "index": 1}}},
]
# The 4 April 2023 incident was a day of 504s: 504 gets its own dark red and a label an operator cannot miss.
STATUS_CODES = [
    {"type": "value", "options": {
        "0": {"text": "tidak ada respons / no response", "color": "purple", "index": 0},
        "200": {"text": "200 OK", "color": "green", "index": 1},
        "504": {"text": "504 waktu tunggu gateway habis / GATEWAY TIMEOUT", "color": "dark-red", "index": 2}}},
    *({"type": "range", "options": {"from": low, "to": low + 99, "result": {"text": text, "color": color, "index": i}}}
      for i, (low, text, color) in enumerate([(300, "3xx pengalihan / redirect", "blue"),
                                               (400, "4xx galat klien / client error", "orange"),
                                               (500, "5xx galat server / server error", "red")], start=3)),
]


def both(words: dict[str, str], code: str) -> str:
    """A code's words "Indonesian / English" from one of the formatter's {"id": ..., "en": ...} tables; once when
    both languages write it alike ("gateway")."""
    first, second = words["id"][code], words["en"][code]
    return first if first == second else f"{first} / {second}"


def say(indonesian: str, english: str) -> str:
    """A panel description: Indonesian first, English equal second, as two paragraphs (Grafana renders markdown)."""
    return f"{indonesian}\n\nEN: {english}"


def in_words(expr: str, label: str, words: dict[str, dict[str, str]]) -> str:
    """`expr` with a `<label>_words` label for legends: the code's words (`both`) where the formatter has them, the
    code itself otherwise. The `label` itself stays, for an engineer or a query."""
    target = f"{label}_words"
    out = f'label_replace({expr}, "{target}", "$1", "{label}", "(.*)")'
    for code in words["id"]:
        out = f'label_replace({out}, "{target}", {json.dumps(both(words, code), ensure_ascii=False)}, "{label}", "{code}")'
    return out


REASON_WORDS = formatting.REASONS
GROUP_WORDS = formatting.GROUP_WORDS
CAUSE_CODES = [*formatting.CAUSE_LINKS, "none"]  # spse:probable_cause's cause label
CAUSE_WORDS = {lang: {code: formatting.cause(code, lang) for code in CAUSE_CODES} for lang in formatting.LANGUAGES}
MERGED_CAUSE_WORDS = formatting.MERGED_CAUSE_WORDS  # watcher:site_cause's cause label
LINK_WORDS = formatting.LINKS


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
    content = ("Buat draf Berita Acara Gangguan dan pengumuman publik untuk situs dan rentang waktu ini, di host "
               f"Prometheus (pilih satu situs):\n\n```sh\n{command}\n```\n\nLaporan menuliskan waktu dalam zona "
               "waktu situs (WIB, WITA, WIT); rinciannya di README.id.md, bagian Draf Berita Acara Gangguan.\n\n"
               "EN: Draft the incident report (Berita Acara Gangguan) and the public notice for this site and time "
               "range with the command above, on the Prometheus host (choose one site). The report prints the times "
               "in the site's zone; details: README, Incident report.")
    return {"type": "text", "title": "Berita Acara Gangguan / Incident report",
            "description": say("Perintah yang menyusun draf Berita Acara Gangguan untuk situs dan rentang waktu dasbor.",
                               "The command that drafts the Berita Acara Gangguan for the dashboard's site and time "
                               "range."),
            "options": {"mode": "markdown", "content": content,
                        "code": {"language": "plaintext", "showLineNumbers": False, "showMiniMap": False}},
            "gridPos": {"w": size[0], "h": size[1]}}


def row(title: str) -> dict:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"w": 24, "h": 1}}


def js_escape(text: str) -> str:
    """`text` as a literal in a JavaScript regular expression (Grafana's byRegexp matcher)."""
    return re.sub(r"([.*+?^${}()|[\]\\/])", r"\\\1", text)


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
        {"type": "datasource", "name": "datasource", "label": "Sumber data / Data source", "query": "prometheus", "regex": "",
         "description": "Prometheus yang mengambil data exporter SPSE. / Prometheus that scrapes the SPSE exporter.", "includeAll": False, "multi": False,
         "refresh": 1, "options": [], "hide": 0, "current": {"text": "Prometheus", "value": DATASOURCE_UID}},
        label_values("site", "Situs / Site", "spse_http_probe_success",
                     "Label situs yang diberikan Prometheus pada tiap exporter (satu exporter per situs LPSE). / "
                     "The site label Prometheus attaches to each exporter (one exporter per LPSE site)."),
        label_values("target", "Target SPSE / SPSE target", f"spse_http_probe_success{{{SITE}}}",
                     "Situs SPSE yang diperiksa exporter situs terpilih (targets[].name di spse.yml). / "
                     "SPSE sites probed by the exporters of the chosen sites (targets[].name in spse.yml)."),
    ]


def annotations() -> dict:
    return {"list": [
        {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
         "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"},
        {"name": "Alert aktif / Firing alerts", "datasource": DS, "enable": True, "hide": False,
         "iconColor": "red",
         "target": {"expr": in_words(in_words(f'ALERTS{{alertstate="firing", {SITE}}}', "severity",
                                              formatting.SEVERITY_WORDS), "group", GROUP_WORDS),
                    "refId": "Anno", "interval": "30s"},
         "titleFormat": "{{alertname}}", "textFormat": "{{severity_words}} {{target}}{{group_words}}{{server}}",
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
        "links": [{"title": "Dasbor SPSE / SPSE dashboards", "type": "dashboards", "tags": ["spse"], "asDropdown": False,
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
        "Kode status HTTP dari waktu ke waktu / HTTP status over time",
        say("Kode status HTTP respons akhir tiap pemeriksaan. 504 (waktu tunggu gateway habis) berwarna merah tua: "
            "pada 4 April 2023 situs mengembalikan galat 504 sepanjang hari. 'tidak ada respons' berarti "
            "pemeriksaan tidak mendapat jawaban HTTP sama sekali (lihat kegagalan per penyebab).",
            "Status code of each probe's final response. 504 (gateway timeout) is dark red: on 4 April 2023 the "
            "site returned 504 all day. 'no response' means the probe got no HTTP answer at all (see failures by "
            "reason)."),
        "none", [query(f"spse_http_status_code{{{TARGET}}}", "{{site}} {{target}}")], STATUS_CODES, size)


# The reasons each kind of probe fails with (REASONS in its module under exporter/probes/; tests/unit/test_words.py keeps
# them in step: importing the probes here would need their HTTP and NTP libraries), shown in the formatter's words.
REASONS = {
    "SPSE": ("timeout", "dns", "connect", "tls", "http_status", "body_match", "protocol", "spse_error", "not_spse"),
    "Application check": ("timeout", "dns", "connect", "tls", "http_status", "protocol", "spse_error", "no_token",
                          "bad_data"),
    "NTP": ("timeout", "dns", "connect", "protocol", "kod", "unsynchronized", "origin_mismatch"),
    "Upstream": ("timeout", "dns", "connect", "tls", "protocol", "http_status", "rcode", "no_answer",
                 "origin_mismatch"),
}
# What each kind of probe checks, for the failures panel's title and description.
PROBE_NAMES = {"SPSE": ("SPSE", "SPSE"), "Application check": ("aplikasi SPSE", "Application check"),
               "NTP": ("NTP", "NTP"), "Upstream": ("jaringan", "Upstream")}


def failures(metric: str, labels: str, by: str, legend_format: str, what: str, size=(12, 8)) -> dict:
    """Failed probes per reason; the legend shows the reason in words (`reason_words`), the series keep the code."""
    name_id, name_en = PROBE_NAMES[what]
    listed = {lang: "; ".join(REASON_WORDS[lang][code] for code in REASONS[what]) for lang in formatting.LANGUAGES}
    # Only this probe's reasons: a shorter query, and any other code still shows as itself.
    words = {lang: {code: REASON_WORDS[lang][code] for code in REASONS[what]} for lang in formatting.LANGUAGES}
    expr = in_words(rate(metric, labels, by), "reason", words)
    if "group" in by:
        expr = in_words(expr, "group", GROUP_WORDS)
    return timeseries(
        f"Kegagalan {name_id} per penyebab / {name_en} failures by reason",
        say(f"Jumlah pemeriksaan {name_id} yang gagal per penyebab dalam tiap selang ({listed['id']}). Penyebab "
            "menunjukkan di mana rantai putus.",
            f"Failed {name_en} probes per reason in each interval ({listed['en']}). The reason says where the chain "
            "broke."),
        "short", [query(expr, legend_format)], size, bars=True, stack=True, calcs=("sum",))


def clock_offset_panel(size=(12, 8)) -> dict:
    return timeseries(
        "Selisih jam per sumber waktu / Clock offset per time source",
        say("Selisih jam lokal terhadap tiap sumber waktu NTP (positif: jam lokal tertinggal) dan mediannya; peran "
            "spse adalah salah satu sumber waktu server SPSE sendiri, reference hanya sebagai acuan ukur. Sumber yang "
            "berhenti menjawab meninggalkan celah.",
            "Local clock offset to each NTP source (positive: local clock is behind), and their median; role spse is "
            "one of the SPSE server's own sources, reference only measures. A source that stops answering leaves a "
            "gap."),
        "s", [query(f"spse_ntp_offset_seconds{{{SITE}}} * on (instance, server) group_left (role) "
                    f"spse_clock_source_info{{{SITE}}}", "{{site}} {{server}} ({{role}})"),
              query(f"spse_clock_offset_seconds{{{SITE}}}", "{{site}} median")], size)


def upstream_checks_timeline(size=(16, 8)) -> dict:
    return timeline(
        "Pemeriksaan jaringan / Upstream checks",
        say("Tiap pemeriksaan jaringan (tcp, dns, ntp, http) per grup: gateway (router lokal), nasional (host di "
            "Indonesia), global (titik acuan internasional).",
            "Each upstream check (tcp, dns, ntp, http) per group: gateway (your router), national (Indonesian "
            "hosts), global (international anchors)."),
        "none", [query(in_words(f"spse_upstream_probe_success{{{SITE}}}", "group", GROUP_WORDS),
                       "{{site}} {{group_words}}: {{check}}")], UP_DOWN, size)


def spse_application_panels() -> list[dict]:
    """SPSE-aware targets (`spse:`): the application check beside the front page, data age, and versions."""
    versions = f"last_over_time(spse_info{{{SITE}}}[$__range])"
    return [
        row("Aplikasi dan data SPSE / SPSE application and data"),
        timeline("Halaman depan dan aplikasi / Front page and application",
                 say("Pemeriksaan halaman depan dan pemeriksaan aplikasi (token dari /lelang, satu baris dari "
                     "/dt/lelang) pada satu sumbu waktu. Halaman depan NORMAL dengan aplikasi GANGGUAN berarti "
                     "aplikasi atau basis datanya bermasalah (SPSEApplicationDown).",
                     "Front page probe and application check (token from /lelang, one row of /dt/lelang) on one "
                     "time axis. Front page UP with the application DOWN means the application or its database "
                     "fails (SPSEApplicationDown)."),
                 "none", [query(f"spse_http_probe_success{{{TARGET}}}", "{{site}} {{target}} depan / front page"),
                          query(f"spse_app_probe_success{{{TARGET}}}", "{{site}} {{target}} aplikasi / application")],
                 UP_DOWN),
        timeseries("Umur data dalam jam kerja / Data age in working hours",
                   say("Waktu kerja (Senin sampai Jumat, 08.00 sampai 16.00 waktu situs, di luar hari libur) sejak "
                       "'Update terakhir' di kaki halaman SPSE, dan batas spse.data_max_age target (garis putus-"
                       "putus): SPSEDataStale aktif di atas batas itu selama jam kerja situs. Datar pada malam hari, "
                       "akhir pekan dan hari libur.",
                       "Working time (Monday to Friday, 08:00 to 16:00 site time, holidays excluded) since SPSE's "
                       "footer says 'Update terakhir', and the target's spse.data_max_age (dashed): SPSEDataStale "
                       "fires above it during the site's working hours. Flat at night, on weekends and holidays."),
                   "s", [query(f"spse_data_age_working_seconds{{{TARGET}}}", "{{site}} {{target}} umur / age"),
                         query(f"spse_data_max_age_seconds{{{TARGET}}}", "{{site}} {{target}} batas / max")],
                   overrides=[by_name(".* batas / max$", fixed("red"),
                                      ("custom.lineStyle", {"fill": "dash", "dash": [10, 10]}))]),
        failures("spse_app_probe_failures_total", TARGET, "site, target, reason",
                 "{{site}} {{target}}: {{reason_words}}", "Application check"),
        table("Versi SPSE per situs / SPSE version per site",
              say("Versi SPSE yang terakhir tampil di halaman depan tiap situs dalam rentang waktu dasbor (kaki "
                  "halaman 'SPSE v4...'), untuk melihat secara nasional situs mana menjalankan versi mana setelah "
                  "pembaruan.",
                  "The SPSE version each site's front page showed last in the time range (footer 'SPSE v4...'), for "
                  "a national view of which sites run which version after an update."),
              "none", [query(f"max by (site, target, version) ({versions})", instant=True, table=True)], size=(16, 8),
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True, "Value": True},
                  "indexByName": {"site": 0, "target": 1, "version": 2},
                  "renameByName": {"site": "situs / site", "version": "versi / version"}}}],
              sort=[{"displayName": "versi / version", "desc": False}]),
        stat("Situs per versi SPSE / Sites per SPSE version",
             say("Jumlah target SPSE yang menampilkan tiap versi dalam rentang waktu dasbor.",
                 "How many SPSE targets showed each version in the time range."),
             "short", [query(f"count by (version) ({versions})", "{{version}}", instant=True)],
             size=(8, 8), color_mode="value"),
    ]


def overview() -> dict:
    panels = [
        row("Situs SPSE / SPSE site"),
        stat("Status SPSE saat ini / SPSE now",
             say("Hasil pemeriksaan terakhir tiap target SPSE: NORMAL bila situs menjawab dengan status yang sah dan "
                 "tanpa halaman galat SPSE.",
                 "Last probe of each SPSE target: UP when it answered with a valid status and no SPSE error page."),
             "none", [query(f"spse_http_probe_success{{{TARGET}}}", "{{site}} {{target}}", instant=True)],
             mappings=UP_DOWN, steps=thresholds("red", (1, "green"))),
        stat("Ketersediaan / Availability in range",
             say("Persentase pemeriksaan yang berhasil dalam rentang waktu dasbor.",
                 "Share of probes that succeeded over the dashboard's time range."),
             "percentunit",
             [query(f"avg_over_time(spse_http_probe_success{{{TARGET}}}[$__range])", "{{site}} {{target}}",
                    instant=True)],
             steps=thresholds("red", (AVAILABILITY["orange"], "orange"), (AVAILABILITY["green"], "green")), decimals=2,
             min=0, max=1),
        stat("Status HTTP terakhir / Last HTTP status",
             say("Kode status HTTP respons akhir pemeriksaan terakhir; 0 berarti tidak ada jawaban HTTP.",
                 "Status code of the last probe's final response; 0 means no HTTP answer."),
             "none", [query(f"spse_http_status_code{{{TARGET}}}", "{{site}} {{target}}", instant=True)],
             mappings=STATUS_CODES, steps=thresholds("red", (200, "green"), (300, "blue"), (400, "orange"),
                                                      (500, "red"))),
        stat("Sertifikat TLS berakhir dalam / TLS certificate expires in",
             say("Sisa waktu sampai sertifikat TLS yang dipakai situs SPSE kedaluwarsa (hanya target https); jingga "
                 f"di bawah {mixin.words(TLS['warning'], 'id')}, merah di bawah {mixin.words(TLS['critical'], 'id')} "
                 "(alert SPSETLSCertExpiringSoon).",
                 "Time left until the certificate the SPSE site served expires (https targets only); orange under "
                 f"{mixin.words(TLS['warning'], 'en')}, red under {mixin.words(TLS['critical'], 'en')} (the "
                 "SPSETLSCertExpiringSoon alerts)."),
             "s", [query(f"spse_tls_cert_expiry_timestamp_seconds{{{TARGET}}} - time()", "{{site}} {{target}}",
                         instant=True)],
             steps=thresholds("red", *((mixin.seconds(TLS[level]), color)
                                       for level, color in (("critical", "orange"), ("warning", "green"))))),
        timeline("Status SPSE dari waktu ke waktu / SPSE up/down over time",
                 say("Hasil pemeriksaan tiap target SPSE pada sumbu waktu.",
                     "Each SPSE target's probe result on the time axis."),
                 "none", [query(f"spse_http_probe_success{{{TARGET}}}", "{{site}} {{target}}")], UP_DOWN),
        http_status_timeline(),
        timeseries("Respons per kode status / Responses by status code",
                   say("Jumlah respons SPSE per kode status HTTP dalam tiap selang; 5xx merah dan 504 merah tua.",
                       "SPSE responses per status code in each interval; 5xx in red and 504 in dark red."),
                   "short", [query(rate("spse_http_responses_total", TARGET, "site, target, code"),
                                   "{{code}} {{site}} {{target}}")],
                   bars=True, stack=True, calcs=("sum",),
                   overrides=[by_name("^2.*", fixed("green")), by_name("^5.*", fixed("red")),
                              by_name("^504 .*", fixed("dark-red"))]),
        failures("spse_http_probe_failures_total", TARGET, "site, target, reason",
                 "{{site}} {{target}}: {{reason_words}}", "SPSE"),
        *spse_application_panels(),
        row("Latensi dan jam server SPSE / SPSE latency and server clock"),
        timeseries("Persentil durasi pemeriksaan / Probe duration percentiles",
                   say("Durasi seluruh pemeriksaan (termasuk pengalihan) sebagai p50, p90, dan p99 dalam tiap selang.",
                       "Whole probe duration (redirects included) as p50, p90 and p99 over each interval."),
                   "s", [query(percentile(0.5), "p50 {{site}} {{target}}"),
                         query(percentile(0.9), "p90 {{site}} {{target}}"),
                         query(percentile(0.99), "p99 {{site}} {{target}}")], size=(8, 8)),
        timeseries("Rincian fase / Phase breakdown",
                   say("Waktu per fase pemeriksaan terakhir: resolve (DNS), connect, tls, processing (waktu server "
                       "sampai bita pertama) dan transfer. 'processing' yang terus naik menunjuk ke server SPSE, "
                       "'connect' ke jaringan.",
                       "Last probe's time per phase: resolve (DNS), connect, tls, processing (server time to first "
                       "byte) and transfer. A growing 'processing' points at the SPSE server, 'connect' at the "
                       "network."),
                   "s", [query(f"spse_http_phase_duration_seconds{{{TARGET}}}", "{{site}} {{target}} {{phase}}")],
                   size=(8, 8), stack=True),
        timeseries("Selisih jam server SPSE / SPSE server clock skew",
                   say("Header Date server SPSE dikurangi waktu acuan yang dikoreksi NTP (resolusi ±0,5 detik); garis "
                       f"putus-putus pada ±{formatting.duration(CLOCK_SKEW, 'id')} adalah ambang alert "
                       "SPSEServerClockSkew.",
                       "SPSE server's Date header minus the NTP-corrected reference time (±0.5 s resolution); the "
                       f"dashed lines at ±{formatting.duration(CLOCK_SKEW, 'en')} are the SPSEServerClockSkew "
                       "alert's threshold."),
                   "s", [query(f"spse_http_server_clock_offset_seconds{{{TARGET}}}", "{{site}} {{target}}")],
                   size=(8, 8), steps=thresholds("red", (-CLOCK_SKEW, "green"), (CLOCK_SKEW, "red")),
                   threshold_style="dashed"),
        row("Jam (NTP) / Clock (NTP)"),
        stat("Sumber waktu yang menjawab / Time sources answering",
             say("Jumlah sumber waktu NTP milik server SPSE (clock.servers) yang menjawab pada putaran terakhir. 0 "
                 "berarti SPSE tidak dapat memvalidasi waktunya: gangguan 4 April 2023.",
                 "How many of the SPSE server's own NTP sources (clock.servers) answered in the last round. 0 means "
                 "SPSE cannot validate its time: the 4 April 2023 failure."),
             "short", [query(f"spse_clock_sources_reachable{{{SITE}}}", "{{site}} menjawab / answering",
                             instant=True),
                       query(f"spse_clock_sources_configured{{{SITE}}}", "{{site}} dikonfigurasi / configured",
                             instant=True)],
             size=(6, 8), steps=thresholds("red", (1, "orange"), (SAFE_SOURCES, "green")),
             overrides=[by_name(".*configured$", fixed("blue"))]),
        clock_offset_panel(size=(9, 8)),
        timeline("Sumber waktu dari waktu ke waktu / Time sources over time",
                 say("Apakah tiap sumber waktu NTP menjawab, pada sumbu waktu.",
                     "Whether each NTP source answered, on the time axis."),
                 "none", [query(f"spse_ntp_probe_success{{{SITE}}}", "{{site}} {{server}}")], ANSWERED, size=(9, 8)),
        timeseries("Waktu tempuh NTP / NTP round trip",
                   say("Waktu tempuh pertukaran terakhir dengan tiap sumber waktu NTP.",
                       "Round-trip delay of the last exchange with each NTP source."),
                   "s", [query(f"spse_ntp_rtt_seconds{{{SITE}}}", "{{site}} {{server}}")], size=(9, 7)),
        failures("spse_ntp_probe_failures_total", SITE, "site, server, reason", "{{site}} {{server}}: {{reason_words}}",
                 "NTP", size=(9, 7)),
        stat("Jam kernel host SPSE / SPSE host kernel clock",
             say("Penilaian kernel sendiri (adjtimex) bila exporter berjalan di host SPSE dengan clock.host_kernel: "
                 "tersinkron atau tidak, dan galat maksimumnya (bertambah 0,5 milidetik per detik selama tidak ada "
                 "yang mengatur jam). Kosong bila clock.host_kernel tidak aktif.",
                 "The kernel's own verdict (adjtimex), when the exporter runs on the SPSE host with "
                 "clock.host_kernel: synchronised or not, and its maximum error (grows 0.5 ms/s while nothing "
                 "disciplines the clock). Empty otherwise."),
             "none", [query(f"spse_host_clock_synchronized{{{SITE}}}", "{{site}} kernel", instant=True),
                      query(f"spse_host_clock_maximum_error_seconds{{{SITE}}}", "{{site}} galat maks / max error",
                            instant=True)],
             size=(6, 7), mappings=SYNCED,
             overrides=[by_name(".*max error.*", ("unit", "s"), ("mappings", []), fixed("blue"))]),
        row("Jaringan / Upstream network"),
        timeseries("Persentase terjangkau per grup / Reachable share per group",
                   say("Persentase pemeriksaan tiap grup jaringan yang berhasil pada putaran terakhir. Nasional "
                       "terjangkau sementara global putus adalah pola gangguan 4 April 2023.",
                       "Share of each group's checks that succeeded in the last round. National up while global is "
                       "down is the 4 April 2023 pattern."),
                   "percentunit", [query(in_words(f"spse_upstream_group_reachable_ratio{{{SITE}}}", "group",
                                                  GROUP_WORDS), "{{site}} {{group_words}}")],
                   size=(8, 8), min=0, max=1),
        upstream_checks_timeline(),
        timeseries("Durasi pemeriksaan jaringan / Upstream check duration",
                   say("Durasi putaran terakhir tiap pemeriksaan jaringan.",
                       "Duration of the last run of each upstream check."),
                   "s", [query(in_words(f"spse_upstream_probe_duration_seconds{{{SITE}}}", "group", GROUP_WORDS),
                               "{{site}} {{group_words}}: {{check}}")],
                   size=(12, 7)),
        failures("spse_upstream_probe_failures_total", SITE, "site, group, check, reason",
                 "{{site}} {{group_words}} {{check}}: {{reason_words}}", "Upstream", size=(12, 7)),
        row("Alert dan exporter / Alerts and exporter"),
        table("Alert aktif dan menunggu / Alerts firing and pending",
              say("Alert yang sedang dievaluasi Prometheus: yang aktif (firing) sudah dikirim ke Alertmanager, yang "
                  "menunggu (pending) akan aktif jika kondisinya berlanjut. Penanganan tiap alert ada di panduan "
                  "penanganan (docs/runbook.md).",
                  "Alerts Prometheus evaluates now: firing ones have been sent to Alertmanager, pending ones fire "
                  "if the condition lasts. See docs/runbook.md for each alert."),
              "none", [query(f"ALERTS{{{SITE}}}", instant=True, table=True)], size=(12, 8),
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True, "Value": True, "__name__": True},
                  "indexByName": {"alertstate": 0, "alertname": 1, "severity": 2, "site": 3},
                  "renameByName": {"alertstate": "status / state", "alertname": "alert",
                                   "severity": "tingkat / severity", "site": "situs / site"}}}],
              overrides=[{"matcher": {"id": "byName", "options": "status / state"}, "properties": [
                  {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                  {"id": "mappings", "value": [{"type": "value", "options": {
                      "firing": {"text": "aktif / firing", "color": "red", "index": 0},
                      "pending": {"text": "menunggu / pending", "color": "orange", "index": 1}}}]}]},
                  {"matcher": {"id": "byName", "options": "tingkat / severity"}, "properties": [
                      {"id": "mappings", "value": [{"type": "value", "options": {
                          code: {"text": both(formatting.SEVERITY_WORDS, code), "index": i}
                          for i, code in enumerate(formatting.SEVERITY_WORDS["id"])}}]}]}],
              sort=[{"displayName": "status / state", "desc": False}]),
        stat("Umur pemeriksaan terakhir / Last probe age",
             say("Detik sejak Prometheus terakhir melihat tiap pemeriksaan menyelesaikan satu putaran "
                 "(spse_probe_rounds_total bertambah; ketelitian 30 detik, menurut jam Prometheus, sehingga jam yang "
                 "salah di host exporter tidak tampil di sini). Jauh di atas selangnya berarti pemeriksaan macet.",
                 "Seconds since Prometheus last saw each probe complete a round (spse_probe_rounds_total moved; to "
                 "within 30s, on Prometheus' clock, so a wrong clock on the exporter's host does not show here). Far "
                 "above its interval means the probe is stuck."),
             "s", [query(f"time() - max_over_time(timestamp(changes(spse_probe_rounds_total{{{SITE}}}[30s]) > 0)[1h:])",
                         "{{site}} {{probe}} {{name}}", instant=True)],
             size=(6, 8), steps=thresholds("green", (PROBE_AGE["orange"], "orange"), (PROBE_AGE["red"], "red")),
             color_mode="value"),
        stat("Exporter terjangkau / Exporter scraped",
             say("Apakah Prometheus dapat mengambil data dari exporter tiap situs. GANGGUAN di sini menjelaskan panel "
                 "yang kosong di atas.",
                 "Whether Prometheus could scrape each site's exporter. DOWN here explains empty panels above."),
             "none", [query(f'up{{job="spse-exporter", {SITE}}}', "{{site}} {{instance}}", instant=True)],
             size=(6, 8), mappings=UP_DOWN, steps=thresholds("red", (1, "green"))),
    ]
    return dashboard("spse-overview", "Ringkasan SPSE / SPSE overview",
                     say("Status situs SPSE, validasi jam, dan jaringan untuk operator LPSE.",
                         "SPSE site status, clock validation and upstream network for LPSE operators."), panels)


def incident() -> dict:
    links = [("gateway", "gateway"), ("national", "national"), ("global", "global")]
    chain = [
        *(query(f'spse_upstream_group_reachable_ratio{{{SITE}, group="{group}"}}',
                f"{{{{site}}}} {number} {both(LINK_WORDS, link)}")
          for number, (group, link) in enumerate(links, start=1)),
        query(f"spse_clock_sources_reachable{{{SITE}}} / spse_clock_sources_configured{{{SITE}}}",
              f"{{{{site}}}} 4 {both(LINK_WORDS, 'time_sources')}"),
        query(f"spse_http_probe_success{{{TARGET}}}", "{{site}} 5 SPSE {{target}}"),
    ]

    def first_down(expr: str, link: str, source_label: str = "") -> str:
        """Epoch ms of the first sample in the range where `expr` was 0, with a `link` label naming it."""
        first = f"min_over_time(timestamp({expr} == 0)[$__range:$__interval]) * 1000"
        if source_label:
            return f'label_replace({first}, "link", "{link}$1", "{source_label}", "(.+)")'
        return f'label_replace({first}, "link", "{link}", "", "")'

    first = " or ".join([
        # The gateway as the alerts read it: lost only when national and global agree (a refused check is not).
        first_down(in_words(f'spse_upstream_group_reachable_ratio{{{SITE}, group!="gateway"}}', "group", GROUP_WORDS),
                   "", "group_words"),
        first_down(in_words(f"1 - upstream:gateway_confirmed_lost{{{SITE}}}", "group", GROUP_WORDS), "",
                   "group_words"),
        first_down(f"spse_clock_sources_reachable{{{SITE}}}", both(LINK_WORDS, "time_sources")),
        first_down(f"spse_http_probe_success{{{TARGET}}}", "SPSE ", "target"),
    ])
    panels = [
        row("Rantai penyebab / Root-cause chain: gateway → nasional/global → jam → SPSE"),
        timeline("Rantai penyebab / Root-cause chain",
                 say("Satu baris per mata rantai, dari atas ke bawah menurut urutan jalannya gangguan: 1 gateway "
                     "(router lokal), 2 konektivitas nasional dan 3 konektivitas global, 4 jam (bagian sumber waktu "
                     "NTP yang menjawab), 5 SPSE. Baris teratas yang pertama merah adalah tempat mencari penyebab. "
                     "4 April 2023: global menjadi merah, lalu jam, lalu SPSE, sementara nasional tetap hijau. Baris "
                     "gateway merah sementara nasional dan global hijau berarti router menolak pemeriksaan gateway "
                     "(UpstreamDegraded), bukan penyebab gangguan.",
                     "One row per link, top to bottom in the order a failure travels: 1 gateway (your router), "
                     "2 national and 3 global reachability, 4 clock (share of NTP sources answering), 5 SPSE. The "
                     "highest row that turns red first is where to look. 4 April 2023: global went red, then clock, "
                     "then SPSE, while national stayed green. A gateway row red while national and global stay green "
                     "is a gateway check the router refuses (UpstreamDegraded), not the cause."),
                 "percentunit", chain, LINK_STATE, size=(24, 9),
                 steps=thresholds("red", (0.0001, "orange"), (1, "green"))),
        stat("Kemungkinan penyebab saat ini / Probable cause now",
             say("Mata rantai pertama yang putus dalam 5 menit terakhir (aturan perekaman spse:probable_cause), atau "
                 "bahwa tidak ditemukan gangguan jaringan maupun sumber waktu.",
                 "The first link of the chain lost in the last 5 minutes (recording rule spse:probable_cause), or "
                 "that no network or time source fault was found."),
             "none", [query(in_words(f"spse:probable_cause{{{SITE}}}", "cause", CAUSE_WORDS),
                            "{{site}}: {{cause_words}}", instant=True)],
             size=(8, 6), text_mode="name",
             overrides=[by_name(".*", fixed("red")),
                        by_name(f".*: {js_escape(both(CAUSE_WORDS, 'none'))}$", fixed("green"))]),
        table("Mata rantai yang putus pertama / Which link broke first",
              say("Untuk tiap mata rantai yang pernah putus sepenuhnya dalam rentang waktu dasbor, kapan itu pertama "
                  "kali terjadi; baris teratas putus paling awal. Baris gateway tanpa nasional dan global yang ikut "
                  "putus berarti router menolak pemeriksaan gateway, bukan mata rantai pertama yang putus.",
                  "For each link that was fully down at some point in the dashboard's time range, when that first "
                  "happened; the top row broke first. A gateway row while national and global never went down is a "
                  "gateway check the router refuses, not the first broken link."),
              "dateTimeAsIso", [query(first, instant=True, table=True)], size=(16, 6),
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True, "group": True, "group_words": True, "target": True,
                                    "instance": True, "job": True},
                  "indexByName": {"Value": 0, "link": 1, "site": 2},
                  "renameByName": {"Value": "pertama putus / first down", "link": "mata rantai / link"}}}],
              sort=[{"displayName": "pertama putus / first down", "desc": False}]),
        row("Rincian tiap mata rantai / Links in detail"),
        upstream_checks_timeline(size=(24, 8)),
        clock_offset_panel(),
        timeline("Sumber waktu yang menjawab / Time sources answering",
                 say("Jumlah sumber waktu NTP yang menjawab tiap putaran; 0 (merah) berarti jam tidak dapat "
                     "divalidasi.",
                     "How many NTP sources answered each round; 0 (red) means the clock cannot be validated."),
                 "short", [query(f"spse_clock_sources_reachable{{{SITE}}}", "{{site}} menjawab / answering")],
                 [], size=(12, 8), steps=thresholds("red", (1, "orange"), (SAFE_SOURCES, "green"))),
        http_status_timeline(size=(12, 8)),
        failures("spse_http_probe_failures_total", TARGET, "site, target, reason",
                 "{{site}} {{target}}: {{reason_words}}", "SPSE", size=(12, 8)),
        row("Berita Acara Gangguan / Incident report"),
        report_command(),
    ]
    return dashboard("spse-incident", "Rantai penyebab gangguan / SPSE incident: root-cause chain",
                     say("Gateway, konektivitas nasional dan global, jam, dan SPSE pada satu sumbu waktu: mata rantai "
                         "mana yang putus pertama.",
                         "Gateway, national/global reachability, clock and SPSE on one time axis: which link broke "
                         "first."), panels)


WATCHER_RULES = OUT.parents[1] / "prometheus" / "watcher" / "rules" / "watcher.yml"


def silent_after() -> int:
    """Seconds without a sample from a site before watcher:site_silent (and SiteSilent) call it silent: the window
    of the rule's `unless ... count_over_time(up{...}[window])`, read from the rule file so the text follows it."""
    rules = [rule for group in yaml.safe_load(WATCHER_RULES.read_text(encoding="utf-8"))["groups"]
             for rule in group["rules"] if rule.get("record") == "watcher:site_silent"]
    match = re.search(r"unless\b[^\n]*?count_over_time\(up\{[^}]*\}\[(\w+)\]\)", rules[0]["expr"]) \
        if len(rules) == 1 else None
    if not match:
        raise SystemExit(f"{WATCHER_RULES}: watcher:site_silent's window not found; update silent_after()")
    return mixin.seconds(match.group(1))


def silent_for(lang: str) -> str:
    return formatting.duration(silent_after(), lang)


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
    column = "Terburuk / Worst"
    panels = [
        row("Setiap situs, dari dalam dan dari luar / Every site, inside and outside"),
        table("Situs, terburuk di atas / Sites, worst first",
              say("Satu baris per situs yang diawasi: SPSE dilihat dari luar (pemeriksaan watcher) dan dari dalam "
                  "(pemeriksaan situs sendiri, dikirim lewat remote_write), apakah situs mengirim data, apakah "
                  "notifikasinya keluar, dan penyebab gabungannya (watcher:site_cause: uplink_cut, site_silent, path, "
                  "mata rantai yang putus seperti global_lost, application, none). Yang terburuk di atas.",
                  "One row per watched site: SPSE seen from outside (the watcher's probe) and from inside (the "
                  "site's own, remote-written), whether the site reports, whether its notifications get out, and "
                  "the merged cause (watcher:site_cause: uplink_cut, site_silent, path, a lost link such as "
                  "global_lost, application, none). Worst first."),
              "none", [query(worst, instant=True, table=True), query(outside, instant=True, table=True),
                       query(inside, instant=True, table=True), query(silent, instant=True, table=True),
                       query(failing, instant=True, table=True),
                       query(in_words(f"watcher:site_cause{{{SITE}}}", "cause", MERGED_CAUSE_WORDS), instant=True,
                             table=True)],
              size=(24, 10),
              transformations=[
                  {"id": "joinByField", "options": {"byField": "site", "mode": "outer"}},
                  {"id": "organize", "options": {
                      "excludeByName": {"Time": True, "__name__": True, "Value #F": True, "cause": True,
                                        **{f"Time {n}": True for n in range(1, 7)}},
                      "indexByName": {"site": 0, "Value #A": 1, "Value #B": 2, "Value #C": 3, "Value #D": 4,
                                      "Value #E": 5, "cause_words": 6},
                      "renameByName": {"site": "situs / site", "Value #A": column, "Value #B": "luar / outside",
                                       "Value #C": "dalam / inside", "Value #D": "diam / silent",
                                       "Value #E": "notifikasi / notifications",
                                       "cause_words": "penyebab / cause"}}}],
              overrides=[by_name("^(luar|dalam) .*", ("mappings", UP_DOWN)),
                         by_name("^diam .*", ("mappings", SILENT_STATE)),
                         by_name("^notifikasi .*", ("mappings", FAILING_STATE))],
              sort=[{"displayName": column, "desc": True}]),
        timeline("SPSE dari luar / SPSE from outside",
                 say("Pemeriksaan watcher atas URL SPSE publik tiap situs. Merah di sini tetapi hijau dari dalam: "
                     "masalah routing atau DNS antara situs dan luar.",
                     "The watcher's probe of each site's public SPSE URL. Red here and green inside: routing or DNS "
                     "between the site and the outside."),
                 "none", [query(outside, "{{site}}")], UP_DOWN),
        timeline("SPSE dari dalam / SPSE from inside",
                 say("Pemeriksaan SPSE oleh tiap situs sendiri, sebagaimana dikirim lewat remote_write. Merah di kedua "
                     "sisi: aplikasinya, atau mata rantai yang putus yang disebut situs (rantai 4 April 2023: "
                     "global_lost).",
                     "Each site's own probe of SPSE, as it remote-writes it. Red on both sides: the application, or a "
                     "lost link the site names (the 4 April 2023 chain: global_lost)."),
                 "none", [query(inside, "{{site}}")], UP_DOWN),
        timeline("Situs mengirim data / Site reporting",
                 say(f"DIAM bila watcher tidak menerima apa pun dari situs selama {silent_for('id')} (SiteSilent): "
                     "jalur internet situs terputus, atau Prometheus situs mati.",
                     f"SILENT when the watcher has received nothing from the site for {silent_for('en')} "
                     "(SiteSilent): its uplink is cut, or its Prometheus is down."),
                 "none", [query(silent, "{{site}}")], SILENT_STATE, steps=thresholds("green", (1, "red"))),
        timeline("Notifikasi situs / Site notifications",
                 say("GAGAL selama Alertmanager situs tidak dapat mengirim notifikasi (SiteNotificationsFailing): "
                     "watcher lalu meneruskan alert kritis situs itu.",
                     "FAILING while the site's Alertmanager cannot deliver (SiteNotificationsFailing): the watcher "
                     "then forwards the site's critical alerts."),
                 "none", [query(failing, "{{site}}")], FAILING_STATE, steps=thresholds("green", (1, "red"))),
    ]
    return dashboard("spse-watcher", "Semua situs, dari dalam dan luar / SPSE watcher: every site, inside and outside",
                     say("Pandangan gabungan watcher atas setiap situs: pemeriksaan dari luar, pandangan situs sendiri, "
                         "apakah situs mengirim data dan apakah notifikasinya keluar, yang terburuk di atas.",
                         "The watcher's merged view of every site: outside probe, the site's own view, whether it "
                         "reports and whether its notifications get out, worst first."), panels)


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
        label_values("province", "Provinsi / Province", "watcher:site_info",
                     "Provinsi yang disebut remote_write tiap situs (prometheus/remote-write.yml); All juga "
                     "menampilkan situs yang belum pernah mengirim data. / The province each site's remote_write "
                     "names (prometheus/remote-write.yml). All also shows sites that have never written."),
        label_values("timezone", "Zona waktu / Time zone", 'watcher:site_info{province=~"$province"}',
                     "WIB, WITA, atau WIT, sebagaimana disebut remote_write tiap situs. / WIB, WITA or WIT, as each "
                     "site's remote_write names it."),
    ]


def national() -> dict:
    """Every LPSE on one page for a national team: worst first, filtered by province and time zone, each row
    linking to the site's own dashboards (the watcher's Grafana has them, with the site's remote-written series)."""
    silent, outside, inside = "watcher:site_silent", "watcher:outside_down", "watcher:inside_down"
    inside_known = f"({inside} or on (site) {silent} * 0)"  # a site that never wrote has no inside view
    failing = ('(count by (site) (watcher:notifications_failing{vantage="site"}) > bool 0) '
               f"or on (site) {silent} * 0")
    # Worst first: silent, down from outside, SPSE down at the site, notifications failing (, host time at risk).
    states = [(silent, "diam / silent"), (outside, "luar / outside"), (inside_known, "di situs / SPSE at the site"),
              (failing, "notifikasi / notifications")]
    if HOST_TIME_AT_RISK:
        states.append((f"({HOST_TIME_AT_RISK} or on (site) {silent} * 0)", "jam host / host time"))
    worst = " + on (site) ".join(f"{2 ** (len(states) - 1 - i)} * {expr}" for i, (expr, _) in enumerate(states))
    column = "Terburuk / Worst"
    refs = [chr(ord("B") + i) for i in range(len(states))]
    cause_ref, info_ref = chr(ord(refs[-1]) + 1), chr(ord(refs[-1]) + 2)
    site_links = [
        {"title": "Ringkasan situs / Site overview", "url": "/d/spse-overview?var-site=${__value.raw}&${__url_time_range}"},
        {"title": "Rantai penyebab / Root-cause chain", "url": "/d/spse-incident?var-site=${__value.raw}&${__url_time_range}"},
        {"title": "Dalam dan luar / Inside and outside", "url": "/d/spse-watcher?var-site=${__value.raw}&${__url_time_range}"},
    ]

    def count(title: str, description: str, expr: str, red_from: float = 1) -> dict:
        return stat(title, description, "none", [query(f"{expr} or vector(0)", instant=True)], size=(24 // 5, 4),
                    steps=thresholds("green", (red_from, "red")), text_mode="value")

    panels = [
        row("Saat ini / Now"),
        stat("Situs diawasi / Sites watched",
             say("Situs pada provinsi dan zona waktu terpilih yang diperiksa watcher dari luar.",
                 "Sites of the chosen provinces and time zones that the watcher probes from outside."),
             "none", [query(f"count({chosen(outside)}) or vector(0)", instant=True)], size=(4, 4), text_mode="value"),
        count("Diam / Silent",
              say(f"Situs yang tidak mengirim data selama {silent_for('id')} (SiteSilent): jalur internetnya terputus, "
                  "atau Prometheus situs mati.",
                  f"Sites that have sent nothing for {silent_for('en')} (SiteSilent): uplink cut, or the site's "
                  "Prometheus down."), f"sum({chosen(silent)})"),
        count("Gangguan dari luar / Down from outside",
              say("Situs yang SPSE publiknya gagal diperiksa dari watcher.",
                  "Sites whose public SPSE fails from the watcher."), f"sum({chosen(outside)})"),
        count("SPSE gangguan di situs / SPSE down at the site",
              say("Situs yang pemeriksaannya sendiri melihat SPSE gagal.", "Sites whose own probe sees SPSE fail."),
              f"sum({chosen(inside)})"),
        count("Notifikasi gagal / Notifications failing",
              say("Situs yang Alertmanager-nya tidak dapat mengirim notifikasi (SiteNotificationsFailing); watcher "
                  "meneruskan alert kritisnya.",
                  "Sites whose Alertmanager cannot deliver (SiteNotificationsFailing); the watcher forwards their "
                  "critical alerts."), f'count({chosen(failing)} == 1)'),
        row("Setiap LPSE, terburuk di atas / Every LPSE, worst first"),
        table("Situs, terburuk di atas / Sites, worst first",
              say("Satu baris per situs: diam, SPSE gangguan dari luar, SPSE gangguan di situs, notifikasi gagal, "
                  "menurut urutan bobot itu, dan kemungkinan penyebabnya (watcher:site_cause: uplink_cut, "
                  "site_silent, path, mata rantai yang putus seperti global_lost, application, none). Klik nama situs "
                  "untuk membuka dasbornya. Provinsi dan zona waktu berasal dari remote_write situs; situs yang belum "
                  "pernah mengirim data tidak memilikinya.",
                  "One row per site: silent, SPSE down from outside, SPSE down at the site, notifications failing, "
                  "in that order of weight, and the probable cause (watcher:site_cause: uplink_cut, site_silent, "
                  "path, a lost link such as global_lost, application, none). Click a site for its own dashboards. "
                  "Province and time zone come from the site's remote_write; a site that has never written has "
                  "none."),
              "none", [query(chosen(worst), instant=True, table=True),
                       *(query(chosen(expr), instant=True, table=True) for expr, _ in states),
                       query(chosen(in_words("watcher:site_cause", "cause", MERGED_CAUSE_WORDS)), instant=True,
                             table=True),
                       query(CHOSEN, instant=True, table=True)],
              size=(24, 20),
              transformations=[
                  {"id": "joinByField", "options": {"byField": "site", "mode": "outer"}},
                  {"id": "organize", "options": {
                      "excludeByName": {"Time": True, "__name__": True, f"Value #{cause_ref}": True,
                                        f"Value #{info_ref}": True, "cause": True,
                                        **{f"Time {n}": True for n in range(1, len(states) + 4)}},
                      "indexByName": {"site": 0, "Value #A": 1, "cause_words": 2,
                                      **{f"Value #{ref}": 3 + i for i, ref in enumerate(refs)},
                                      "province": 3 + len(refs), "timezone": 4 + len(refs)},
                      "renameByName": {"Value #A": column, "cause_words": "penyebab / cause", "province": "provinsi / province",
                                       "timezone": "zona waktu / time zone",
                                       **{f"Value #{ref}": title for ref, (_, title) in zip(refs, states)}}}}],
              overrides=[{"matcher": {"id": "byName", "options": "site"}, "properties": [{"id": "links", "value": site_links}]},
                         by_name("^diam .*", ("mappings", SILENT_STATE)),
                         by_name("^(luar|di situs|jam host) .*", ("mappings", DOWN_UP)),
                         by_name("^notifikasi .*", ("mappings", FAILING_STATE)),
                         by_name(f"^{column}$", ("custom.cellOptions", {"type": "color-background"}),
                                 ("thresholds", thresholds("green", (1, "orange"), (2 ** (len(states) - 2), "red"))))],
              sort=[{"displayName": column, "desc": True}]),
        row("Dari waktu ke waktu / Over time"),
        timeseries("Situs per kemungkinan penyebab / Sites per probable cause",
                   say("Jumlah situs terpilih yang dijelaskan tiap penyebab dari waktu ke waktu (watcher:site_cause, "
                       "dihitung oleh aturan watcher:sites_by_cause:count per provinsi dan zona waktu); "
                       f"{formatting.WATCHER_CAUSES['id']['none']} berarti SPSE dapat diakses dari luar.",
                       "How many of the chosen sites each cause explained over time (watcher:site_cause, counted by "
                       "the rule watcher:sites_by_cause:count per province and time zone); "
                       f"{formatting.WATCHER_CAUSES['en']['none']} means SPSE answers from outside."),
                   "short", [query(in_words('sum by (cause) (watcher:sites_by_cause:count{province=~"$province", '
                                            'timezone=~"$timezone"})', "cause", MERGED_CAUSE_WORDS),
                                   "{{cause_words}}")],
                   size=(24, 8), bars=True, stack=True,
                   overrides=[by_name(f"^{js_escape(both(MERGED_CAUSE_WORDS, 'none'))}$", fixed("green"))]),
    ]
    return dashboard("spse-national", "Nasional: setiap LPSE / SPSE national: every LPSE",
                     say("Setiap LPSE yang diawasi dalam satu halaman, yang terburuk di atas, menurut provinsi dan zona "
                         "waktu, untuk tim nasional.",
                         "Every watched LPSE on one page, worst first, by province and time zone, for national "
                         "teams."),
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
