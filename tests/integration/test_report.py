"""`spse-exporter report` against Debian's Prometheus serving a stored history (tests/history.py):
the 4 April 2023 incident, two incidents and a blip, WIB and WIT sites, the exporter down, a day boundary."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from datetime import datetime, timedelta

import pytest
import yaml

from exporter.report import cli, plots
from tests.fakes import free_port
from tests.history import STEP, Site, at, create_blocks
from tests.stack import PrometheusProcess
from tests.support import ROOT

WITA, WIB, WIT = "Asia/Makassar", "Asia/Jakarta", "Asia/Jayapura"
CHROMIUM_BIN = "/usr/bin/chromium"


def wita(text: str) -> float:
    return at(f"2023-04-04 {text}", WITA)


def april_4() -> Site:
    """The incident: global lost at 07:52, time sources silent from 07:53, SPSE 504 from 08:00 to 22:24 WITA."""
    day_start, day_end = at("2023-04-03 23:30", WITA), at("2023-04-05 00:15", WITA)
    return Site(
        "kutaibarat", WITA, day_start, day_end,
        global_lost=[(wita("07:52"), wita("22:15"))],
        sources_lost=[(wita("07:53"), wita("22:16"))],
        spse_down=[(wita("08:00"), wita("22:24"), "504")],
        outside_down=[(wita("08:00"), wita("22:24"))],
        alerts=[("UpstreamGlobalLost", wita("07:54"), wita("22:17"), "critical"),
                ("ClockUnvalidated", wita("07:58"), wita("22:17"), "critical"),
                ("SPSEGatewayTimeout", wita("08:01"), wita("22:30"), "critical"),
                ("SPSEDown", wita("08:02"), wita("22:26"), "critical"),
                ("Watchdog", day_start, day_end, "none")],
        probable_cause=[(day_start, wita("07:52"), "none"), (wita("07:52"), wita("22:20"), "global_lost"),
                        (wita("22:20"), day_end, "none")])


def wib(text: str) -> float:
    return at(text, WIB)


def wib_site() -> Site:
    """A WIB site: two incidents (504, then 502), a single failed probe, and one over midnight."""
    return Site(
        "jakarta", WIB, wib("2023-05-01 07:30"), wib("2023-05-02 02:15"),
        spse_down=[(wib("2023-05-01 09:00"), wib("2023-05-01 09:20"), "504"),
                   (wib("2023-05-01 11:00"), wib("2023-05-01 11:00:15"), "504"),
                   (wib("2023-05-01 14:00"), wib("2023-05-01 14:30"), "502"),
                   (wib("2023-05-01 23:50"), wib("2023-05-02 00:20"), "503")])


def wit(text: str) -> float:
    return at(f"2023-06-10 {text}", WIT)


def wit_site() -> Site:
    """A WIT site as the watcher stores it (vantage="site", and its own outside probes): nothing arrived from
    10:00 to 12:00 WIT while the outside saw SPSE fail from 10:30 to 11:00; later the SPSE host's kernel lost
    its synchronisation while the time sources answered, and SPSE failed; before that SPSE showed its error page."""
    return Site("jayapura", WIT, wit("07:30"), wit("16:15"), exporter_down=[(wit("10:00"), wit("12:00"))],
                outside_down=[(wit("10:30"), wit("11:00"))], vantage="site",
                kernel_unsynchronized=[(wit("14:50"), wit("15:40"))],
                spse_down=[(wit("13:00"), wit("13:10"), "200"), (wit("15:00"), wit("15:30"), "504")])


def july_3(text: str, zone: str) -> float:
    return at(f"2023-07-03 {text}", zone)


def refused_gateway_site() -> Site:
    """A router that refuses the gateway check (TCP 53) until noon while the internet answers, and SPSE fails on
    its own (502, 10:00-10:30 WITA); at 14:00 the router dies: gateway, national and global lost, SPSE 504 until 14:40."""
    return Site("samarinda", WITA, july_3("07:30", WITA), july_3("16:15", WITA),
                gateway_lost=[(july_3("07:30", WITA), july_3("12:00", WITA)),
                              (july_3("14:00", WITA), july_3("14:40", WITA))],
                national_lost=[(july_3("14:00", WITA), july_3("14:40", WITA))],
                global_lost=[(july_3("14:00", WITA), july_3("14:40", WITA))],
                spse_down=[(july_3("10:00", WITA), july_3("10:30", WITA), "502"),
                           (july_3("14:02", WITA), july_3("14:40", WITA), "504")])


def gateway_only_site() -> Site:
    """Only a gateway group configured: its loss (09:00-09:40 WIT) counts on its own evidence."""
    return Site("sorong", WIT, july_3("07:30", WIT), july_3("11:15", WIT), groups=("gateway",),
                gateway_lost=[(july_3("09:00", WIT), july_3("09:40", WIT))],
                spse_down=[(july_3("09:05", WIT), july_3("09:40", WIT), "504")])


def bandung_site() -> Site:
    """A site whose exporter has no spse.timezone (the report falls back to WIB): SPSE does not answer in time
    from 09:00, then answers 504 from 09:25 until 09:30 WIB. Global routes drop from 10:00 to 10:05 and are
    back when SPSE answers 502 from 10:20 to 10:40."""
    return Site("bandung", None, wib("2023-08-14 07:30"), wib("2023-08-14 11:15"),
                global_lost=[(wib("2023-08-14 10:00"), wib("2023-08-14 10:05"))],
                spse_down=[(wib("2023-08-14 09:00"), wib("2023-08-14 09:25"), "0"),
                           (wib("2023-08-14 09:25"), wib("2023-08-14 09:30"), "504"),
                           (wib("2023-08-14 10:20"), wib("2023-08-14 10:40"), "502")])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Debian's Prometheus serving the stored history of the three sites (no scraping, no rules)."""
    tmp = tmp_path_factory.mktemp("report")
    port = free_port()
    # PrometheusProcess keeps its TSDB in tmp/prometheus-data-PORT: the blocks go there before it starts.
    create_blocks([april_4(), wib_site(), wit_site(), refused_gateway_site(), gateway_only_site(), bandung_site()],
                  tmp, tmp / f"prometheus-data-{port}")
    config = tmp / "prometheus.yml"
    config.write_text("global: {}\n")
    # Backfilled blocks carry no staleness markers: a lookback of one scrape interval stands in for them, so
    # that a series that stopped (a resolved alert, the clock offset) ends where it did, not 5 minutes later.
    process = PrometheusProcess(config, tmp, ["--storage.tsdb.retention.time=100y",
                                              f"--query.lookback-delta={STEP - 1}s"], port=port)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def report(prometheus, capsys, *args: str) -> str:
    """Run the report in process; return what it printed (asserting exit code 0)."""
    code = cli.main(["--prometheus.url", prometheus.url, *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def report_json(prometheus, capsys, *args: str) -> dict:
    return json.loads(report(prometheus, capsys, "--format", "json", *args))


def close_to(rfc3339: str, expected: float) -> bool:
    """Within one probe interval of `expected`."""
    return abs(datetime.fromisoformat(rfc3339).timestamp() - expected) <= STEP


def test_4_april_2023_json(prometheus, tmp_path):
    """The command itself (`spse-exporter report`), as an operator runs it: start, end, 504, global first."""
    output = tmp_path / "ba.json"
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "report", "--prometheus.url", prometheus.url, "--site", "kutaibarat",
         "--from", "2023-04-04 00:00", "--to", "2023-04-05 00:00", "--timezone", "WITA", "--format", "json",
         "--output", str(output)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    facts = json.loads(output.read_text())
    assert facts["zone"] == "WITA" and facts["timezone"] == WITA
    [incident] = facts["incidents"]
    assert close_to(incident["start"], wita("08:00")), incident["start"]
    assert close_to(incident["end"], wita("22:24")), incident["end"]
    assert incident["start"].endswith("+08:00")
    assert incident["dominant_status_code"] == "504"
    assert incident["status_codes"][0] == {"code": "504", "count": (wita("22:24") - wita("08:00")) // STEP}
    assert incident["failure_reasons"][0]["reason"] == "http_status"
    assert incident["first_broken_link"] == "global"
    chain = {link["link"]: link for link in incident["chain"]}
    assert list(chain) == ["global", "time_sources", "spse"]
    assert close_to(chain["global"]["went_down"], wita("07:52")) and close_to(chain["global"]["came_back"],
                                                                               wita("22:15"))
    assert close_to(chain["time_sources"]["went_down"], wita("07:53"))
    # the offset is measured again once the sources answer at 22:16, before SPSE recovers
    assert incident["time_sources"] == {"configured": 2, "reachable_min": 0, "unreachable": True,
                                        "offset_before_seconds": 0.012, "offset_max_abs_seconds": 0.012}
    alerts = {alert["alertname"]: alert for alert in incident["alerts"]}
    assert set(alerts) == {"UpstreamGlobalLost", "ClockUnvalidated", "SPSEGatewayTimeout", "SPSEDown"}  # no Watchdog
    assert close_to(alerts["SPSEDown"]["fired_at"], wita("08:02"))
    assert close_to(alerts["SPSEDown"]["resolved_at"], wita("22:26"))
    assert incident["recorded_probable_cause"] == "global_lost"
    assert incident["outside"]["failed_probes"] == incident["failed_probes"]  # the watcher saw it too
    assert facts["exporter_down"] == [] and facts["ignored_failures"] == []
    assert facts["links_monitored"] == ["gateway", "national", "global", "time_sources", "spse"]


def test_4_april_2023_markdown_in_indonesian(prometheus, capsys):
    text = report(prometheus, capsys, "--site", "kutaibarat", "--site-name", "LPSE Kabupaten Kutai Barat",
                  "--from", "2023-04-04 00:00", "--to", "2023-04-05 00:00", "--timezone", "WITA")
    for fact in ("BERITA ACARA GANGGUAN LAYANAN SPSE", "Nomor: [NOMOR BERITA ACARA]",
                 "## 1. Gangguan 1: Selasa, 4 April 2023, 08.00 WITA s.d. 22.24 WITA", "c. Lama gangguan: 14 jam 24 menit",
                 "ERROR 504 Gateway Timeout sebanyak 3.456 kali",
                 "g. Mata rantai pertama yang terputus: **konektivitas global (internasional)**, sejak 07.52 WITA",
                 "Sumber waktu (NTP): 0 dari 2 dapat dihubungi (jumlah terendah selama gangguan)",
                 "| 07.53 WITA | sumber waktu (NTP): terputus |", "| 08.02 WITA | Alert SPSEDown aktif |",
                 # the links that held are in the chain too: national routes worked, global ones did not
                 "| konektivitas nasional | tetap normal | – |", "| gateway (router lokal) | tetap normal | – |",
                 "Data dibaca dengan selang 15 detik.",
                 # Markdown on standard output has no file to put the plot in: it says where the plot is
                 "Grafik dimuat dalam laporan HTML (--format html) atau disimpan sebagai berkas PNG di direktori yang sama "
                 "dengan berkas --output.",
                 "SPSE juga gagal diakses dari luar, 08.00 WITA s.d. 22.24 WITA",
                 "(spse:probable_cause): konektivitas global (internasional) terputus (global_lost)",
                 "## 3. Tindakan yang telah dilakukan", "[TINDAKAN YANG TELAH DILAKUKAN]",
                 # without --letterhead: the kop surat and the signers as placeholders to fill in
                 "**[NAMA INSTANSI]**", "| Mengetahui, | Yang membuat berita acara, |",
                 "| [JABATAN, MISALNYA KEPALA LPSE] | [JABATAN] |", "| NIP. [NIP] | NIP. [NIP] |",
                 "> Layanan SPSE LPSE Kabupaten Kutai Barat mengalami gangguan pada hari Selasa, 4 April 2023, pukul "
                 "08.00 WITA sampai dengan 22.24 WITA. Selama gangguan, pengguna menerima ERROR 504 Gateway Timeout "
                 "saat membuka SPSE.",
                 "> Gangguan ini disebabkan oleh terputusnya konektivitas global (internasional) dari penyedia layanan "
                 "internet. Akibatnya, server SPSE tidak dapat memvalidasi waktunya dengan sumber waktu (NTP).",
                 "> Layanan SPSE sudah normal kembali sejak pukul 22.24 WITA."):
        assert fact in text, fact
    english = report(prometheus, capsys, "--site", "kutaibarat", "--lang", "en", "--from", "2023-04-04 00:00",
                     "--to", "2023-04-05 00:00")
    assert "pasang matplotlib" not in text  # matplotlib is installed
    assert "Incident 1: Tuesday, 4 April 2023, 08:00 WITA to 22:24 WITA" in english  # WITA: the site's spse.timezone
    assert "Duration: 14 hours 24 minutes" in english and "| Acknowledged by, | Made by, |" in english
    assert "| national connectivity | stayed up | – |" in english
    assert "The disruption was caused by the loss of global (international) connectivity" in english
    # short sentences a bidder reads at a glance (the chained sentence it replaces had 63 words)
    notice = text[text.index("> **PENGUMUMAN**"):]
    assert max(len(sentence.split()) for sentence in re.split(r"[.!?]\s", notice)) <= 25


def test_readme_quotes_the_notice_the_command_writes(prometheus, capsys):
    """The README's sample of the 4 April 2023 notice is the command's output, word for word."""
    readme = (ROOT / "README.md").read_text()
    sample = readme[readme.index("The public notice generated for 4 April 2023"):]
    quoted = re.search(r"((?:^>.*\n)+)", sample, re.MULTILINE).group(1)
    paragraphs = [" ".join(line.removeprefix(">").strip() for line in block.strip().splitlines())
                  for block in re.split(r"^>\s*$", quoted, flags=re.MULTILINE)]
    text = report(prometheus, capsys, "--site", "kutaibarat", "--site-name", "LPSE Kabupaten Kutai Barat",
                  "--from", "2023-04-04 00:00", "--to", "2023-04-05 00:00")
    notice = text[text.index("> **PENGUMUMAN**"):].splitlines()
    generated = [line.removeprefix("> ") for line in notice if line.startswith("> ")]
    assert len(paragraphs) == 6 and paragraphs == generated[:-1]  # the signature line is left out of the sample


def print_pdf(page, tmp_path):
    """Print an HTML file to PDF with headless Chromium, as an LPSE prints the report."""
    pdf = page.with_suffix(".pdf")
    subprocess.run([CHROMIUM_BIN, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'chromium'}", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                    page.as_uri()], capture_output=True, timeout=90, check=True)
    return pdf


def pdf_pages(pdf) -> list[str]:
    """The text of each page (pdftotext ends each with a form feed)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def test_html_is_one_printable_file_that_renders(prometheus, tmp_path):
    """Chromium prints the HTML to PDF: it has the facts as text and a page that is not blank."""
    page = tmp_path / "ba.html"
    assert cli.main(["--prometheus.url", prometheus.url, "--site", "kutaibarat", "--from", "2023-04-04 06:00",
                     "--to", "2023-04-05 00:00", "--format", "html", "--output", str(page)]) == 0
    html = page.read_text()
    assert html.count('src="data:image/png;base64,') == 1
    assert not re.search(r'(src|href)="(?!data:)|<script|<link', html)  # nothing to fetch: one file
    pdf = print_pdf(page, tmp_path)
    text = "".join(pdf_pages(pdf))
    assert "BERITA ACARA GANGGUAN LAYANAN SPSE" in text and "22.24 WITA" in text and "PENGUMUMAN" in text
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    from PIL import Image  # matplotlib's own dependency
    [png] = tmp_path.glob("page*.png")
    image = Image.open(png).convert("L")
    dark = sum(image.histogram()[:200])
    assert dark > 0.01 * image.width * image.height, f"{dark} dark pixels: a blank page"


def test_printed_headings_stay_with_what_they_head(prometheus, tmp_path):
    """Two incidents fill the pages so that the plot does not fit under its heading: the heading goes to the next
    page with it. No page ends on a heading, and the signature block is printed on one page."""
    from exporter.report.text import PHRASES
    page = tmp_path / "ba.html"
    assert cli.main(["--prometheus.url", prometheus.url, "--site", "bandung", "--from", "2023-08-14 08:00",
                     "--to", "2023-08-14 11:00", "--format", "html", "--output", str(page)]) == 0
    pages = pdf_pages(print_pdf(page, tmp_path))
    say = PHRASES["id"]
    headings = {say[key] for key in ("chain", "chronology", "plots", "actions", "notice_title", "blips")}
    for n, text in enumerate(pages, 1):
        last = [line.strip() for line in text.splitlines() if line.strip()][-1]
        assert last not in headings and not last.startswith("Gangguan "), f"page {n} ends on the heading {last!r}"
    [signed] = [text for text in pages if "[NAMA]" in text]
    assert "[KOTA], [TANGGAL]" in signed and "NIP. [NIP]" in signed


def test_grafana_panel_command_drafts_the_report(prometheus, tmp_path):
    """The incident dashboard's command, with its variables filled in as Grafana does (${__from:date:iso} is
    UTC with milliseconds), drafts the 4 April report."""
    board = json.loads((ROOT / "grafana" / "dashboards" / "spse-incident.json").read_text())
    [panel] = [p for p in board["panels"] if p["type"] == "text"]
    command = re.search(r"```sh\n(.+)\n```", panel["options"]["content"]).group(1)
    filled = (command.replace("${site:text}", "kutaibarat")
              .replace("${__from:date:iso}", "2023-04-04T00:00:00.000Z")
              .replace("${__to:date:iso}", "2023-04-04T16:00:00.000Z"))
    argv = shlex.split(filled)
    assert argv[:2] == ["spse-exporter", "report"]
    output = tmp_path / "berita-acara.html"
    argv = [arg.replace("http://127.0.0.1:9090", prometheus.url).replace("berita-acara.html", str(output))
            for arg in argv[2:]]
    assert cli.main(argv) == 0
    assert "Gangguan 1: Selasa, 4 April 2023, 08.00 WITA s.d. 22.24 WITA" in output.read_text()


def test_two_incidents_a_blip_and_the_flags(prometheus, capsys):
    """WIB from the site's spse.timezone; 09:00-09:20 (504) and 14:00-14:30 (502) are incidents, the one failed probe
    at 11:00 is not; the flags move both lines."""
    window = ("--site", "jakarta", "--from", "2023-05-01 08:00", "--to", "2023-05-01 16:00")
    facts = report_json(prometheus, capsys, *window)
    assert facts["zone"] == "WIB"
    first, second = facts["incidents"]
    assert first["start"] == "2023-05-01T09:00:00+07:00" and first["end"] == "2023-05-01T09:20:00+07:00"
    assert second["start"] == "2023-05-01T14:00:00+07:00" and second["end"] == "2023-05-01T14:30:00+07:00"
    assert (first["dominant_status_code"], second["dominant_status_code"]) == ("504", "502")
    assert first["first_broken_link"] == "spse"  # network and time sources fine: the application itself
    assert facts["ignored_failures"] == [{"at": "2023-05-01T11:00:00+07:00", "failed_probes": 1}]
    assert len(report_json(prometheus, capsys, *window, "--min-failed-probes", "1")["incidents"]) == 3
    [merged] = report_json(prometheus, capsys, *window, "--merge-gap", "5h")["incidents"]
    assert (merged["start"], merged["end"]) == (first["start"], second["end"])
    text = report(prometheus, capsys, *window)
    assert "Gangguan 2: Senin, 1 Mei 2023, 14.00 WIB s.d. 14.30 WIB" in text
    assert "11.00 WIB (1 pemeriksaan gagal)" in text
    assert "disebabkan oleh kendala teknis pada server atau aplikasi SPSE" in text


def test_ongoing_incident_and_markdown_plot_file(prometheus, capsys, tmp_path):
    """A window ending while SPSE fails: the incident is ongoing; Markdown written to a file links its plot."""
    window = ("--site", "jakarta", "--from", "2023-05-01 08:00", "--to", "2023-05-01 09:10")
    [incident] = report_json(prometheus, capsys, *window)["incidents"]
    assert incident["ongoing"] and incident["end"] is None and incident["duration_seconds"] is None
    assert cli.main(["--prometheus.url", prometheus.url, *window, "--output", str(tmp_path / "ba.md")]) == 0
    text = (tmp_path / "ba.md").read_text()
    assert "Gangguan 1: Senin, 1 Mei 2023, sejak 09.00 WIB (belum pulih pada akhir periode)" in text
    assert "Kami sedang menangani gangguan ini" in text
    assert "](ba.png)" in text and (tmp_path / "ba.png").read_bytes().startswith(b"\x89PNG")


def test_long_window_widens_the_step(prometheus, capsys):
    """Four days do not fit Prometheus' 11,000 points at 15 s: the step widens and the incident is still found;
    the days without stored data are no monitoring data, not an outage."""
    facts = report_json(prometheus, capsys, "--site", "kutaibarat", "--from", "2023-04-02 00:00",
                        "--to", "2023-04-06 00:00")
    assert facts["step_seconds"] == 3 * STEP
    [incident] = facts["incidents"]
    assert abs(datetime.fromisoformat(incident["start"]).timestamp() - wita("08:00")) <= 3 * STEP
    assert incident["dominant_status_code"] == "504" and incident["first_broken_link"] == "global"
    assert [gap["to"] is None for gap in facts["exporter_down"]] == [False, True]


def test_incident_already_going_when_the_data_begins(prometheus, capsys):
    """A window opening in the middle of the 504s: the start is not invented, the report says it is earlier."""
    window = ("--site", "kutaibarat", "--from", "2023-04-04 12:00", "--to", "2023-04-04 23:00")
    [incident] = report_json(prometheus, capsys, *window)["incidents"]
    assert incident["started_before_data"] and incident["start"] == "2023-04-04T11:30:00+08:00"
    assert "Mulai: sebelum 11.30 WITA (SPSE sudah gagal saat data yang dibaca dimulai" in report(prometheus, capsys,
                                                                                                 *window)


def test_readme_documents_every_json_field(prometheus, capsys):
    """The JSON is a contract: every field name the report writes is in the README's table."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("**JSON (`--format json`)**"):readme.index("*Bahasa Indonesia:* `spse-exporter report`")]

    def names(value) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {n for v in value.values() for n in names(v)}
        return {n for v in value for n in names(v)} if isinstance(value, list) else set()
    found = set()
    for site, start, end in (("kutaibarat", "2023-04-02 00:00", "2023-04-06 00:00"),
                             ("jakarta", "2023-05-01 08:00", "2023-05-01 16:00")):
        found |= names(report_json(prometheus, capsys, "--site", site, "--from", start, "--to", end))
    assert {"outside_failed_probes", "failed_probes", "came_back", "at"} <= found
    assert not {name for name in found if not re.search(rf"\b{name}\b", table)}


def test_quiet_window(prometheus, capsys):
    """Nothing failed and the data is complete: a report that says so, with no notice."""
    window = ("--site", "jakarta", "--from", "2023-05-01 16:00", "--to", "2023-05-01 20:00")
    facts = report_json(prometheus, capsys, *window)
    assert (facts["incidents"], facts["ignored_failures"], facts["exporter_down"]) == ([], [], [])
    text = report(prometheus, capsys, *window, "--lang", "en")
    assert "No SPSE service disruption was recorded in this period." in text and "ANNOUNCEMENT" not in text


def test_incident_over_midnight(prometheus, capsys):
    window = ("--site", "jakarta", "--from", "2023-05-01T22:00:00+07:00", "--to", "2023-05-02 02:00")
    [incident] = report_json(prometheus, capsys, *window)["incidents"]
    assert (incident["start"], incident["end"]) == ("2023-05-01T23:50:00+07:00", "2023-05-02T00:20:00+07:00")
    assert incident["duration_seconds"] == 1800
    text = report(prometheus, capsys, *window)
    assert "1 Mei 2023 23.50 WIB" in text and "2 Mei 2023 00.20 WIB" in text and "30 menit" in text
    # the notice names the second day, with "pukul" before its time, where it ends and where it says since when
    assert "pukul 23.50 WIB sampai dengan 2 Mei 2023 pukul 00.20 WIB" in text
    assert "Layanan SPSE sudah normal kembali sejak 2 Mei 2023 pukul 00.20 WIB." in text


def test_exporter_down_is_not_an_outage(prometheus, capsys):
    """WIT site, nothing from the exporter 10:00-12:00: no incident, and the report says nothing is known from
    inside then, and what the watcher saw."""
    window = ("--site", "jayapura", "--from", "2023-06-10 08:00", "--to", "2023-06-10 12:30")
    facts = report_json(prometheus, capsys, *window)
    assert facts["zone"] == "WIT" and facts["incidents"] == []
    assert facts["exporter_down"] == [{"from": "2023-06-10T10:00:00+09:00", "to": "2023-06-10T12:00:00+09:00",
                                       "outside_failed_probes": 30 * 60 // STEP}]
    text = report(prometheus, capsys, *window)
    assert "Tidak tercatat gangguan layanan SPSE pada periode ini." in text
    assert "10 Juni 2023 10.00 WIT s.d. 10 Juni 2023 12.00 WIT: Prometheus tidak mendapat data" in text
    assert "Dari luar (watcher), SPSE gagal diakses pada 120 pemeriksaan dalam rentang ini" in text
    assert "Sehubungan" not in text  # no notice for an outage the site's own data does not show


def test_a_window_without_any_data_is_not_called_quiet(prometheus, capsys):
    """A window before the site's data begins (e.g. 4 April 2023 asked of a fresh install): the Berita Acara
    says nothing is known, never that no disruption was recorded."""
    window = ("--site", "jakarta", "--from", "2022-05-01 08:00", "--to", "2022-05-01 16:00")
    assert report_json(prometheus, capsys, *window)["exporter_down"][0]["to"] is None
    text = report(prometheus, capsys, *window)
    assert "Sepanjang periode ini tidak ada data pemantauan dari exporter" in text
    assert "Tidak tercatat gangguan" not in text
    assert "no monitoring data from the exporter for this whole period" in report(prometheus, capsys, *window,
                                                                                 "--lang", "en")


def test_without_matplotlib_the_report_says_the_install_command_the_readme_gives(prometheus, capsys, monkeypatch):
    """The project is installed from its clone (README), not from a package index: the hint installs the clone's
    own `report` extra."""
    monkeypatch.setattr(plots, "available", lambda: False)
    text = report(prometheus, capsys, "--site", "jakarta", "--from", "2023-05-01 16:00", "--to", "2023-05-01 20:00")
    assert "Grafik tidak dibuat: pasang matplotlib (di folder spse-exporter: pip install '.[report]')." in text
    assert "pip install '.[report]'" in (ROOT / "README.md").read_text()
    assert "report" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def test_host_kernel_unsynchronized_is_the_clock_link(prometheus, capsys):
    """Sources answering but the SPSE host's kernel unsynchronised (clock.host_kernel): the clock link broke."""
    [incident] = report_json(prometheus, capsys, "--site", "jayapura", "--from", "2023-06-10 14:30",
                             "--to", "2023-06-10 16:00")["incidents"]
    assert incident["first_broken_link"] == "time_sources"
    assert incident["chain"][0]["went_down"] == "2023-06-10T14:50:00+09:00"
    assert incident["time_sources"]["reachable_min"] == 2 and incident["time_sources"]["unreachable"] is False


def test_spse_error_page(prometheus, capsys):
    """SPSE answering 200 with its error page: users saw the error page, not a status code."""
    window = ("--site", "jayapura", "--from", "2023-06-10 12:30", "--to", "2023-06-10 13:30")
    [incident] = report_json(prometheus, capsys, *window)["incidents"]
    assert incident["failure_reasons"] == [{"reason": "spse_error", "count": 10 * 60 // STEP}]
    assert incident["dominant_status_code"] == "200"
    text = report(prometheus, capsys, *window)
    assert ('Yang dialami pengguna: halaman galat SPSE ("terjadi error pada aplikasi SPSE"); 200 OK sebanyak 40 '
            'kali') in text
    assert 'Selama gangguan, pengguna menerima halaman galat SPSE ("terjadi error pada aplikasi SPSE") saat' in text


def test_refused_gateway_check_is_not_the_first_broken_link(prometheus, capsys):
    """The gateway check fails all morning while national and global answer (as UpstreamGatewayLost, one
    refused check is a wrong check, not a lost router): SPSE's own 502 is the server's, the gateway is not in
    the chain. Once national and global are lost too, the lost gateway comes first."""
    window = ("--site", "samarinda", "--from", "2023-07-03 08:00", "--to", "2023-07-03 16:00")
    refused, lost = report_json(prometheus, capsys, *window)["incidents"]
    assert refused["first_broken_link"] == "spse" and [link["link"] for link in refused["chain"]] == ["spse"]
    assert lost["first_broken_link"] == "gateway"
    assert [link["link"] for link in lost["chain"]] == ["gateway", "national", "global", "spse"]
    assert lost["chain"][0]["went_down"] == "2023-07-03T14:00:00+08:00"
    text = report(prometheus, capsys, *window)
    assert "disebabkan oleh kendala teknis pada server atau aplikasi SPSE" in text


def test_gateway_alone_counts_without_national_and_global(prometheus, capsys):
    """Neither national nor global configured: the gateway's own checks are the evidence."""
    window = ("--site", "sorong", "--from", "2023-07-03 08:00", "--to", "2023-07-03 11:00")
    facts = report_json(prometheus, capsys, *window)
    [incident] = facts["incidents"]
    assert facts["links_monitored"] == ["gateway", "time_sources", "spse"]
    assert "| konektivitas nasional | tidak dipantau | – |" in report(prometheus, capsys, *window)
    assert incident["first_broken_link"] == "gateway"
    assert incident["chain"][0] == {"link": "gateway", "went_down": "2023-07-03T09:00:00+09:00",
                                    "came_back": "2023-07-03T09:40:00+09:00", "down_before_data": False}


def test_site_without_a_zone_and_an_spse_that_does_not_answer(prometheus, capsys):
    """No spse.timezone: times in WIB. Mostly unanswered probes (timeouts), a few 504s at the end: users could
    not open SPSE, and the notice says so in a sentence that reads."""
    window = ("--site", "bandung", "--from", "2023-08-14 08:00", "--to", "2023-08-14 10:00")
    facts = report_json(prometheus, capsys, *window)
    assert (facts["timezone"], facts["zone"]) == ("Asia/Jakarta", "WIB")
    [incident] = facts["incidents"]
    assert (incident["start"], incident["end"]) == ("2023-08-14T09:00:00+07:00", "2023-08-14T09:30:00+07:00")
    assert incident["failure_reasons"] == [{"reason": "timeout", "count": 100}, {"reason": "http_status", "count": 20}]
    text = report(prometheus, capsys, *window)
    assert "Yang dialami pengguna: halaman tidak dapat dibuka; ERROR 504 Gateway Timeout sebanyak 20 kali" in text
    assert "| 09.00 WIB | SPSE mulai gagal (halaman tidak dapat dibuka) |" in text
    assert ("pukul 09.00 WIB sampai dengan 09.30 WIB. Selama gangguan, SPSE tidak dapat dibuka oleh pengguna."
            ) in text
    english = report(prometheus, capsys, *window, "--lang", "en")
    assert "from 09:00 WIB to 09:30 WIB. During the disruption, users could not open SPSE." in english


def test_the_notice_lists_the_consequences_as_one_list():
    """The router lost first, then national, global and the time sources: the consequences are one list, with EYD
    V's comma before "dan" in Indonesian, not "A dan B dan C"."""
    from exporter.report.analysis import Incident, Link
    from exporter.report.document import notice
    from exporter.report.times import Clock, zone
    start = wita("08:00")
    chain = [Link(link, start - 60, start + 3600, False) for link in ("gateway", "national", "global", "time_sources")]
    incident = Incident(start, start + 3600, 240, [("504", 240)], [("http_status", 240)], chain + [
        Link("spse", start, start + 3600, False)], 0, 2, None, None, [], None, None, 0)
    paragraphs = notice(incident, Clock(zone("WITA"), "id", False), "LPSE Contoh", "[NAMA LPSE]")
    assert ("Gangguan ini disebabkan oleh terputusnya koneksi ke gateway (router lokal) jaringan LPSE. Akibatnya, "
            "konektivitas nasional terputus, konektivitas global (internasional) terputus, dan server SPSE tidak dapat "
            "memvalidasi waktunya dengan sumber waktu (NTP).") in paragraphs
    english = notice(incident, Clock(zone("WITA"), "en", False), "LPSE Contoh", "[LPSE NAME]")
    assert any("As a result, national connectivity was lost, global (international) connectivity was lost and the "
               "SPSE server could not validate its time against its time sources (NTP)." in p for p in english)


def test_a_link_back_before_spse_failed_is_not_the_cause(prometheus, capsys):
    """Global routes lost 10:00-10:05 and back 15 minutes before SPSE's 502s: the chain shows them, but neither
    the first broken link nor the notice blames them."""
    window = ("--site", "bandung", "--from", "2023-08-14 10:00", "--to", "2023-08-14 11:00")
    [incident] = report_json(prometheus, capsys, *window)["incidents"]
    assert [link["link"] for link in incident["chain"]] == ["global", "spse"]
    assert incident["chain"][0]["came_back"] == "2023-08-14T10:05:00+07:00"
    assert incident["first_broken_link"] == "spse"
    text = report(prometheus, capsys, *window)
    assert "Mata rantai pertama yang terputus: **SPSE**, sejak 10.20 WIB" in text
    assert "disebabkan oleh kendala teknis pada server atau aplikasi SPSE" in text


@pytest.mark.parametrize("args, code, message, indonesian", [
    (("--site", "nowhere"), 2, "unknown site 'nowhere': Prometheus has data for these sites: bandung, jakarta, "
                               "jayapura, kutaibarat, samarinda, sorong",
     "situs 'nowhere' tidak dikenal; Prometheus punya data situs: bandung, jakarta"),
    (("--site", "jakarta", "--to", "2023-05-01 08:00"), 2, "empty window: --from must be before --to",
     "rentang kosong: --from harus sebelum --to"),
    (("--site", "jakarta", "--to", "yesterday"), 2, "time 'yesterday': use RFC 3339",
     "waktu 'yesterday' tidak terbaca"),
    (("--site", "jakarta", "--timezone", "Mars/Olympus"), 2, "unknown time zone 'Mars/Olympus'",
     "zona waktu 'Mars/Olympus' tidak dikenal"),
    (("--site", "jakarta", "--target", "nope"), 2, "site 'jakarta' has no target 'nope' (targets: jakarta)",
     "situs 'jakarta' tidak punya target 'nope'"),
])
def test_clear_errors(prometheus, capsys, args, code, message, indonesian):
    """Each error names what is wrong in Bahasa Indonesia, or in English with --lang en."""
    base = {"--from": "2023-05-01 08:00", "--to": "2023-05-01 16:00"}
    flags = dict(zip(args[::2], args[1::2]))
    argv = ["--prometheus.url", prometheus.url] + [x for k, v in {**base, **flags}.items() for x in (k, v)]
    assert cli.main([*argv, "--lang", "id"]) == code
    err = capsys.readouterr().err
    assert indonesian in err and message not in err, err
    assert cli.main([*argv, "--lang", "en"]) == code
    err = capsys.readouterr().err
    assert message in err and indonesian not in err, err


def test_prometheus_unreachable(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    argv = ["--prometheus.url", url, "--site", "x", "--from", "2023-05-01 08:00", "--to", "2023-05-01 09:00"]
    assert cli.main([*argv, "--lang", "id"]) == 1
    assert f"Prometheus di {url} tidak dapat dihubungi" in capsys.readouterr().err
    assert cli.main([*argv, "--lang", "en"]) == 1
    assert f"Prometheus at {url} is unreachable" in capsys.readouterr().err


@pytest.mark.parametrize("page", ["<html>not Prometheus</html>", "[1, 2, 3]", '"success"'])
def test_another_server_at_the_address_is_a_clear_error(spse, capsys, page):
    """A web page or JSON that is no API envelope (a wrong port) is named as such, not a traceback."""
    spse.page = page
    spse.set("page")
    assert cli.main(["--prometheus.url", spse.url, "--site", "x", "--from", "2023-05-01 08:00",
                     "--to", "2023-05-01 09:00", "--lang", "en"]) == 1
    assert "not a Prometheus API answer" in capsys.readouterr().err


def test_basic_auth_and_ca_file(tmp_path, ca, ca_file, capsys, start_prometheus):
    """Prometheus behind TLS and basic auth (its own web config): the right password and CA get through."""
    import bcrypt
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    hashed = bcrypt.hashpw(b"rahasia", bcrypt.gensalt(4)).decode()
    web = tmp_path / "web.yml"
    web.write_text(f"tls_server_config: {{cert_file: {tmp_path / 'cert.pem'}, key_file: {tmp_path / 'key.pem'}}}\n"
                   f"basic_auth_users: {{lpse: '{hashed}'}}\n")
    config = tmp_path / "prometheus.yml"
    config.write_text("global: {}\n")
    process = start_prometheus(config, [f"--web.config.file={web}"], wait=False)
    process.scheme = "https"
    (tmp_path / "password").write_text("rahasia\n")
    (tmp_path / "wrong").write_text("salah\n")
    argv = ["--prometheus.url", process.url, "--prometheus.username", "lpse", "--prometheus.ca-file", str(ca_file),
            "--site", "x", "--from", "2023-05-01 08:00", "--to", "2023-05-01 09:00", "--lang", "en"]

    def answered() -> bool:
        cli.main([*argv, "--prometheus.password-file", str(tmp_path / "password")])
        return "unknown site 'x'" in capsys.readouterr().err  # authenticated: the empty TSDB knows no site
    from tests.support import poll
    poll(answered, timeout=30, interval=0.2, what="Prometheus over TLS with basic auth")
    assert cli.main([*argv, "--prometheus.password-file", str(tmp_path / "wrong")]) == 1
    assert "refused the credentials (HTTP 401)" in capsys.readouterr().err
    assert cli.main(argv[:4] + argv[6:]) == 1  # no CA file: the certificate is not trusted
    assert "unreachable" in capsys.readouterr().err


def test_times_and_zones():
    from exporter.report.times import Clock, parse_time, zone
    assert parse_time("2023-04-04 08:00", zone("WITA")).isoformat() == "2023-04-04T08:00:00+08:00"
    assert parse_time("2023-04-04T00:00:00Z", zone("WIB")).timestamp() == wita("08:00")
    clock = Clock(zone("wit"), "id", False)
    assert clock.time(wita("08:00")) == "09.00 WIT" and clock.date(wita("08:00")) == "Selasa, 4 April 2023"
    assert Clock(zone("WIB"), "en", True).time(wita("08:00")) == "4 April 2023 07:00 WIB"
    assert clock.duration(14 * 3600 + 24 * 60) == "14 jam 24 menit" and clock.duration(45) == "45 detik"
    assert timedelta(seconds=int(wita("22:24") - wita("08:00"))) == timedelta(hours=14, minutes=24)


def test_letterhead_and_signers_from_the_office_file(prometheus, capsys, tmp_path):
    """The shipped example plus a logo: the kop surat heads the HTML with the logo inside the one file, and the
    signers' names and NIP replace the placeholders."""
    from PIL import Image  # matplotlib's own dependency
    Image.new("RGB", (40, 40), "navy").save(tmp_path / "logo.png")
    kop = yaml.safe_load((ROOT / "exporter/examples/kop.yml").read_text())
    kop.update(logo="logo.png", mengetahui={"jabatan": "Kepala LPSE", "nama": "Drs. Andi Saputra",
                                            "nip": "19800101 200501 1 001"})
    (tmp_path / "kop.yml").write_text(yaml.safe_dump(kop))
    page = tmp_path / "ba.html"
    assert cli.main(["--prometheus.url", prometheus.url, "--site", "kutaibarat", "--from", "2023-04-04 06:00",
                     "--to", "2023-04-05 00:00", "--format", "html", "--output", str(page),
                     "--letterhead", str(tmp_path / "kop.yml")]) == 0
    html = page.read_text()
    assert html.count('src="data:image/png;base64,') == 2  # the logo and the plot, nothing to fetch
    assert html.index("PEMERINTAH KABUPATEN KUTAI BARAT") < html.index("<h1>BERITA ACARA GANGGUAN LAYANAN SPSE")
    for fact in ("Telp. (0545) 000000", "Sendawar, [TANGGAL]", "Drs. Andi Saputra", "NIP. 19800101 200501 1 001",
                 "Pengelola Layanan LPSE", "<ol class=\"points\">"):
        assert fact in html, fact
    assert "[NAMA INSTANSI]" not in html and "[KOTA]" not in html
    text = report(prometheus, capsys, "--site", "kutaibarat", "--from", "2023-04-04 06:00", "--to",
                  "2023-04-05 00:00", "--letterhead", str(tmp_path / "kop.yml"))
    assert text.startswith("![logo](logo.png)\n\n**PEMERINTAH KABUPATEN KUTAI BARAT**")
    assert "| Kepala LPSE | Pengelola Layanan LPSE |" in text and "| Drs. Andi Saputra | [NAMA] |" in text


def test_a_language_that_does_not_exist_is_named_in_both_languages(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--prometheus.url", "http://127.0.0.1:1", "--site", "x", "--from", "2023-05-01 08:00",
                  "--to", "2023-05-01 09:00", "--lang", "jv"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown language 'jv': use id (Bahasa Indonesia) or en (English)" in err
    assert "bahasa 'jv' tidak dikenal: pakai id (bahasa Indonesia) atau en (bahasa Inggris)" in err


@pytest.mark.parametrize("content, message", [
    ("instansi: X\nalamt: Jl. Y\n", "alamt: kunci tidak dikenal (yang diizinkan: instansi, unit, alamat"),
    ("mengetahui: {nip: '1980'}\n", "mengetahui.nip: NIP terdiri atas 18 angka"),
    ("logo: missing.png\n", "logo: berkas"),
    ("logo: kop.yml\n", "bukan gambar PNG atau JPEG"),
    ("- instansi\n", "kop.yml: seharusnya berisi kunci seperti instansi"),
    ("instansi: [a, b]\n", "instansi: harus berupa teks, bukan daftar"),
])
def test_a_bad_letterhead_file_is_a_clear_error_before_anything_is_queried(capsys, tmp_path, content, message):
    (tmp_path / "kop.yml").write_text(content)
    # A closed port: the error must come from the letterhead file, before Prometheus is asked anything.
    assert cli.main(["--prometheus.url", f"http://127.0.0.1:{free_port()}", "--site", "x", "--from",
                     "2023-05-01 08:00", "--to", "2023-05-01 09:00", "--letterhead", str(tmp_path / "kop.yml"),
                     "--lang", "id"]) == 2
    err = capsys.readouterr().err
    assert message in err and "kop.yml" in err, err
