"""`spse-exporter report`: draft the Berita Acara Gangguan and the public notice from a Prometheus."""

from __future__ import annotations

import argparse
import sys
from datetime import tzinfo
from pathlib import Path

from exporter import messages
from exporter.config import parse_duration
from exporter.report import document, plots, render
from exporter.report.analysis import Collector, ReportError, quote
from exporter.report.letterhead import Letterhead, LetterheadError, load
from exporter.report.prom import Prometheus, PrometheusError
from exporter.report.text import PHRASES
from exporter.report.times import DEFAULT_ZONE, Clock, parse_time, zone, zone_at_offset


def duration(value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="spse-exporter report",
        description="Draft the incident report (Berita Acara Gangguan) and the public notice for one site and "
                    "time window from the series Prometheus stored.")
    parser.add_argument("--prometheus.url", dest="url", required=True, help="e.g. http://127.0.0.1:9090")
    parser.add_argument("--prometheus.username", dest="username", help="basic auth user")
    parser.add_argument("--prometheus.password-file", dest="password_file", help="file holding the basic auth password")
    parser.add_argument("--prometheus.ca-file", dest="ca_file", help="CA bundle to verify an https Prometheus with")
    parser.add_argument("--site", required=True, help="value of the site label (the scrape target's)")
    parser.add_argument("--site-name", help="name written in the report, e.g. 'LPSE Kabupaten Kutai Barat' "
                                            "(default: the site label)")
    parser.add_argument("--target", help="the exporter target to report on, when the site has several")
    parser.add_argument("--from", dest="start", required=True, help="RFC 3339, or 'YYYY-MM-DD HH:MM' in the zone")
    parser.add_argument("--to", dest="end", required=True, help="RFC 3339, or 'YYYY-MM-DD HH:MM' in the zone")
    parser.add_argument("--timezone", help="WIB, WITA, WIT or an IANA name (default: the site's spse.timezone "
                                           f"as its exporter reports it, else {DEFAULT_ZONE})")
    parser.add_argument("--letterhead", help="YAML file with the letterhead (kop surat) and the signers: instansi, "
                                             "unit, alamat, telepon, surel, laman, kota, logo, pembuat and "
                                             "mengetahui (jabatan, nama, nip); see exporter/examples/kop.yml")
    messages.language_argument(parser)
    parser.add_argument("--format", choices=("md", "html", "json"), default="md")
    parser.add_argument("--output", help="file to write (default: standard output); with md, the plot is "
                                         "written next to it as FILE.png")
    parser.add_argument("--merge-gap", type=duration, default=300.0,
                        help="failures separated by less than this are one incident (default 5m)")
    parser.add_argument("--min-failed-probes", type=int, default=2,
                        help="fewer failed probes in a row are a blip, not an incident (default 2)")
    parser.add_argument("--step", type=duration, default=15.0,
                        help="query resolution; the probe interval (default 15s), widened for long windows")
    args = parser.parse_args(argv)
    messages.resolve_language(parser, args)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.min_failed_probes < 1:
        return fail(messages.render("report_min_failed_probes", args.lang), 2)
    password = None
    if args.password_file:
        try:
            password = Path(args.password_file).read_text().strip()
        except OSError as err:
            return fail(messages.render("report_password_unreadable", args.lang, {"detail": err}), 2)
    try:
        head = load(args.letterhead) if args.letterhead else Letterhead()
    except LetterheadError as err:
        return fail(err.render(args.lang), 2)
    try:
        prom = Prometheus(args.url, args.username, password, args.ca_file)
    except OSError as err:  # an unreadable or invalid CA file
        return fail(messages.render("report_ca_unreadable", args.lang, {"detail": err}), 2)
    try:
        return write(args, prom, head)
    except PrometheusError as err:
        return fail(err.render(args.lang), 1)
    except (ReportError, ValueError) as err:
        return fail(err.render(args.lang) if isinstance(err, messages.Problem) else str(err), 2)
    except OSError as err:  # the --output file or its plot
        return fail(messages.render("report_unwritable", args.lang, {"detail": err}), 1)
    finally:
        prom.close()


def write(args: argparse.Namespace, prom: Prometheus, head: Letterhead) -> int:
    tz = zone(args.timezone) if args.timezone else site_zone(prom, args)
    start, end = parse_time(args.start, tz).timestamp(), parse_time(args.end, tz).timestamp()
    report = Collector(prom, args.site, args.target, start, end, args.step, args.merge_gap,
                       args.min_failed_probes).collect()
    day = Clock(tz, args.lang, False)
    clock = Clock(tz, args.lang, several_days=day.short_date(start) != day.short_date(end - 1))
    if args.format == "json":
        output = render.json_report(report, clock)
    else:
        # Markdown on standard output has nowhere to put the plot.
        wanted = args.format == "html" or args.output
        plot = plots.render(report, clock) if wanted and plots.available() else None
        blocks = document.build(report, clock, args.site_name or args.site, plot, head)
        if args.format == "html":
            output = render.html_page(blocks, f"{PHRASES[args.lang]['title']} — {args.site_name or args.site}",
                                      args.lang)
        else:
            image = None
            if plot and args.output:
                image_path = Path(args.output).with_suffix(".png")
                image_path.write_bytes(plot)
                image = image_path.name
            output = render.markdown(blocks, image)
    if args.output:
        Path(args.output).write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    return 0


def site_zone(prom: Prometheus, args: argparse.Namespace) -> tzinfo:
    """The zone of the site's exporter config (`spse_site_utc_offset_seconds`) around the window, else WIB."""
    default = zone(DEFAULT_ZONE)
    start, end = parse_time(args.start, default).timestamp(), parse_time(args.end, default).timestamp()
    lookback = int(max(end - start, 0) + 2 * 86400)  # the times may still move by a few hours
    found = prom.query(f"max(last_over_time(spse_site_utc_offset_seconds{{site={quote(args.site)}}}[{lookback}s]))",
                       end + 86400)
    return zone_at_offset(float(found[0]["value"][1])) if found else default


def fail(message: str, code: int) -> int:
    print(f"spse-exporter report: {message}", file=sys.stderr)
    return code
