"""Write a report as Markdown, one self-contained printable HTML file, or JSON (the contract in the README)."""

from __future__ import annotations

import base64
import html
import json
import re

from exporter.report.analysis import Report
from exporter.report.document import Block
from exporter.report.times import Clock, abbreviation

SCHEMA = "spse-exporter/report/v1"
BOLD_RE = re.compile(r"\*\*(.+?)\*\*")
LETTERS = "abcdefghijklmnopqrstuvwxyz"  # the sub-points of a numbered point, as office documents letter them

CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "DejaVu Serif", Georgia, serif; font-size: 11pt; line-height: 1.4; color: #111;
       max-width: 180mm; margin: 0 auto; }
h1 { font-size: 14pt; text-align: center; margin-bottom: 0; }
h1 + p { text-align: center; margin-top: 2pt; }
h2 { font-size: 12pt; margin-top: 14pt; } h3 { font-size: 11pt; }
h1, h2, h3 { break-after: avoid; }  /* a heading prints on the page of what it heads */
tr, img, .signature, .notice { break-inside: avoid; }
table { border-collapse: collapse; width: 100%; font-size: 10pt; }
th, td { border: 1px solid #444; padding: 2pt 5pt; text-align: left; vertical-align: top; }
th { background: #eee; }
img { width: 100%; }
.kop { display: flex; align-items: center; border-bottom: 3px double #000; padding-bottom: 4pt; margin-bottom: 10pt; }
.kop img { width: auto; height: 22mm; margin-right: 8pt; }
.kop div { flex: 1; text-align: center; }
.kop .agency { font-size: 14pt; font-weight: bold; } .kop .unit { font-size: 13pt; font-weight: bold; }
.kop .contact { font-size: 9pt; }
ol.points { list-style-type: lower-alpha; }
table.signatures { margin-top: 18pt; font-size: 11pt; }
table.signatures td { border: 0; width: 50%; white-space: pre-line; text-align: center; }
.notice { border: 1px solid #444; padding: 6pt 10pt; }
.break { break-before: page; border: 0; }
"""


def markdown(blocks: list[Block], image_path: str | None = None) -> str:
    """Markdown; the plot is linked as `image_path`, the PNG the caller wrote next to the file."""
    out = []
    for block in blocks:
        kind, content = block.kind, block.content
        if kind == "letterhead":
            logo = f"![logo]({content['logo'][2]})\n\n" if content["logo"] else ""
            agency, unit, contact = content["lines"]
            out.append(f"{logo}**{agency}**  \n**{unit}**  \n{contact}\n\n***")
        elif kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + content)
        elif kind == "p":
            out.append(content)
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in content))
        elif kind == "points":
            out.append("\n".join(f"{letter}. {item}" for letter, item in zip(LETTERS, content)).replace("\n", "  \n"))
        elif kind == "table":
            lines = ["| " + " | ".join(block.header) + " |", "|" + "---|" * len(block.header)]
            lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in content]
            out.append("\n".join(lines))
        elif kind == "image":
            out.append(f"![{content[1]}]({image_path})")
        elif kind == "notice":
            out.append("\n>\n".join(f"> {paragraph}" for paragraph in content))
        elif kind == "signatures":
            left, right = content
            rows = [f"| {a or '&nbsp;'} | {b or '&nbsp;'} |" for a, b in zip(left, right)]
            out.append("\n".join([rows[0], "|---|---|", *rows[1:]]))
        elif kind == "rule":
            out.append("---")
    return "\n\n".join(out) + "\n"


def inline(value: str) -> str:
    return BOLD_RE.sub(r"<strong>\1</strong>", html.escape(str(value)))


def html_page(blocks: list[Block], title: str, lang: str) -> str:
    """One HTML file with its CSS and the plot (a base64 PNG) inside: it prints and mails as it is."""
    body = []
    for block in blocks:
        kind, content = block.kind, block.content
        if kind == "letterhead":
            logo = content["logo"]
            image = f'<img alt="logo" src="data:{logo[1]};base64,{base64.b64encode(logo[0]).decode()}">' if logo else ""
            agency, unit, contact = (html.escape(line) for line in content["lines"])
            body.append(f'<header class="kop">{image}<div><div class="agency">{agency}</div>'
                        f'<div class="unit">{unit}</div><div class="contact">{contact}</div></div></header>')
        elif kind in ("h1", "h2", "h3", "p"):
            body.append(f"<{kind}>{inline(content)}</{kind}>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{inline(item)}</li>" for item in content) + "</ul>")
        elif kind == "points":
            body.append('<ol class="points">' + "".join(f"<li>{inline(item)}</li>" for item in content) + "</ol>")
        elif kind == "table":
            head = "".join(f"<th>{inline(h)}</th>" for h in block.header)
            rows = "".join("<tr>" + "".join(f"<td>{inline(v)}</td>" for v in row) + "</tr>" for row in content)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "image":
            png, alt = content
            body.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">')
        elif kind == "notice":
            body.append('<div class="notice">' + "".join(f"<p>{inline(p)}</p>" for p in content) + "</div>")
        elif kind == "signatures":
            cells = "".join(f"<td>{inline(chr(10).join(column))}</td>" for column in content)
            body.append(f'<table class="signatures"><tr>{cells}</tr></table>')
        elif kind == "rule":
            body.append('<hr class="break">')
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def json_report(report: Report, clock: Clock) -> str:
    """The facts, machine-readable; every field is documented in the README (a contract like the metrics)."""
    at = clock.rfc3339
    incidents = []
    for i in report.incidents:
        incidents.append({
            "start": at(i.start),
            "end": at(i.end),
            "ongoing": i.end is None,
            "started_before_data": i.started_before_data,
            "duration_seconds": None if i.end is None else i.end - i.start,
            "failed_probes": i.failed_probes,
            "status_codes": [{"code": code, "count": count} for code, count in i.status_codes],
            "dominant_status_code": i.dominant_status_code,
            "failure_reasons": [{"reason": reason, "count": count} for reason, count in i.failure_reasons],
            "first_broken_link": i.first_broken_link,
            "chain": [{"link": link.link, "went_down": at(link.went_down), "came_back": at(link.came_back),
                       "down_before_data": link.down_before_data} for link in i.chain],
            "time_sources": {
                "configured": i.sources_configured,
                "reachable_min": i.sources_reachable_min,
                "unreachable": i.sources_reachable_min == 0 if i.sources_reachable_min is not None else None,
                "offset_before_seconds": i.offset_before,
                "offset_max_abs_seconds": i.offset_max_abs,
            },
            "alerts": [{"alertname": a.alertname, "fired_at": at(a.fired_at), "resolved_at": at(a.resolved_at)}
                       for a in i.alerts],
            "recorded_probable_cause": i.recorded_cause,
            "outside": None if i.outside is None else {
                "failed_probes": i.outside.failed_probes, "failing_from": at(i.outside.failing_from),
                "failing_to": at(i.outside.failing_to)},
            "no_data_seconds": i.no_data_seconds,
        })
    document = {
        "schema": SCHEMA,
        "site": report.site,
        "target": report.target,
        "timezone": getattr(clock.tz, "key", str(clock.tz)),
        "zone": abbreviation(clock.tz, clock.local(report.window_start)),
        "window": {"from": at(report.window_start), "to": at(report.window_end)},
        "step_seconds": report.step,
        "rule": {"merge_gap_seconds": report.merge_gap, "min_failed_probes": report.min_failed},
        "links_monitored": report.links_monitored,
        "incidents": incidents,
        "ignored_failures": [{"at": at(t), "failed_probes": n} for t, n in report.blips],
        "exporter_down": [{"from": at(gap.start), "to": at(gap.end), "outside_failed_probes": gap.outside_failed_probes}
                          for gap in report.exporter_down],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
