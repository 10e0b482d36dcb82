"""Application check of an SPSE target: its tender list answers, so the application and its database work.

As SPSE's own tender page does: GET `<base>/lelang` for the authenticity token its script sets
(`d.authenticityToken = '...';`), then GET `<base>/dt/lelang` for one row with that token and
`X-Requested-With: XMLHttpRequest`; the answer must be DataTables JSON (draw, recordsTotal,
recordsFiltered, data). It runs on its own, longer interval, through the HTTP probe's transport,
runner and result type. The token is never logged or exported: the runner hides it as a secret.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from exporter.config import Target
from exporter.exposition import sample
from exporter.probes import ProbeFailure, spse_page
from exporter.probes.http import HttpResult, Observation, Session, check_status, fetch, request_headers, run_requests
from exporter.probes.kind import Health, ProbeKey, ProbeKind

if TYPE_CHECKING:  # the store the probes record into
    from exporter.metrics import Metrics

# `d.authenticityToken = '...';` as SPSE writes it; any object's name and no semicolon are tolerated.
TOKEN_RE = re.compile(r"""\.authenticityToken\s*=\s*(['"])([A-Za-z0-9_.:=+/-]{1,256})\1""")
DATATABLES_KEYS = ("draw", "recordsTotal", "recordsFiltered", "data")
REASONS = ("timeout", "dns", "connect", "tls", "http_status", "protocol", "spse_error", "no_token", "bad_data")


@dataclass(frozen=True)
class AppCheck:
    """The application check of one SPSE target, scheduled as its own job."""

    target: Target

    @property
    def interval(self) -> float:
        return self.target.spse.app_interval


def bases(url: str) -> list[str]:
    """Where the application may live, in the order to try: the target URL up to its /eproc4 segment;
    without one, the URL's own path (SPSE served at the root), then that path plus /eproc4."""
    parts = urlsplit(url)
    root = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    segments = parts.path.rstrip("/").split("/")
    if "eproc4" in segments:
        return [root + "/".join(segments[:segments.index("eproc4") + 1])]
    path = "/".join(segments)
    return [root + path, root + path + "/eproc4"]


def token_in(page: bytes) -> str | None:
    """The authenticity token the tender page's script sets, or None."""
    found = TOKEN_RE.search(page.decode("utf-8", errors="replace"))
    return found.group(2) if found else None


def _is_count(value: object) -> bool:
    """A non-negative whole number, or its ASCII digits (str.isdigit alone passes '²', which int() refuses)."""
    return (isinstance(value, int) and not isinstance(value, bool) and value >= 0) or \
        (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18)


def datatables_rows(body: bytes) -> int:
    """recordsTotal of a DataTables answer to draw 1; ProbeFailure("bad_data") for anything else."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: arrays nested too deep to parse
        kind = "HTML" if body.lstrip()[:1] == b"<" else "something that is not JSON"
        raise ProbeFailure("bad_data", f"/dt/lelang answered {kind} instead of DataTables JSON") from None
    if not isinstance(data, dict):
        raise ProbeFailure("bad_data", f"/dt/lelang answered a JSON {type(data).__name__}, not a DataTables object")
    missing = [key for key in DATATABLES_KEYS if key not in data]
    if missing:
        raise ProbeFailure("bad_data", f"/dt/lelang's JSON lacks {', '.join(missing)}")
    if not (_is_count(data["recordsTotal"]) and _is_count(data["recordsFiltered"]) and isinstance(data["data"], list)):
        raise ProbeFailure("bad_data", "/dt/lelang's recordsTotal, recordsFiltered or data are not counts and a list")
    if str(data["draw"]) != "1":
        raise ProbeFailure("bad_data", f"/dt/lelang answered draw {data['draw']!r} to draw 1")
    return int(data["recordsTotal"])


def _not_here(seen: Observation) -> bool:
    """The application is not at this base: a 404, SPSE's not-found page, a page that is not SPSE's, or a
    redirect away from /lelang (a server that sends every unknown path to its front page)."""
    page = seen.page
    return (seen.status_code == 404 or not urlsplit(seen.url).path.endswith("/lelang")
            or page is not None and (page.not_found_page or page.identity != "spse"))


def _refuse_error_page(seen: Observation, url: str) -> None:
    if seen.page and (seen.page.error_page or seen.page.not_found_page):
        raise ProbeFailure("spse_error", f"{url}: {spse_page.describe(seen.page)}")


async def _check(target: Target, secrets: list[str], seen: Observation) -> str:
    session = Session(target.ssl_context, target.timeout)  # one cookie jar: the token belongs to its session
    headers = request_headers(target)
    for base in bases(target.url):
        token = token_in(await fetch(target, session, f"{base}/lelang", "GET", headers, seen))
        if token or not _not_here(seen):
            break
    check_status(target, seen)
    _refuse_error_page(seen, f"{base}/lelang")
    if not token:
        raise ProbeFailure("no_token", f"{base}/lelang sets no authenticity token (d.authenticityToken = '...';)")
    secrets.append(token)
    query = urlencode({"draw": 1, "start": 0, "length": 1, "authenticityToken": token})
    xhr = {**headers, "X-Requested-With": "XMLHttpRequest", "Accept": "application/json", "Referer": f"{base}/lelang"}
    body = await fetch(target, session, f"{base}/dt/lelang?{query}", "GET", xhr, seen)
    check_status(target, seen)
    _refuse_error_page(seen, f"{base}/dt/lelang")
    return f"ok: {base}/dt/lelang answered DataTables JSON, recordsTotal {datatables_rows(body)}"


async def probe_spse_app(check: AppCheck) -> HttpResult:
    """Run one application check; never raises, returns by the target's timeout, never carries the token."""
    secrets = list(check.target.secrets)  # and the token, once found
    result = await run_requests(check.target, functools.partial(_check, check.target, secrets), secrets)
    return dataclasses.replace(result, url=result.url.partition("?")[0], spse=None)


def record(metrics: Metrics, owner: ProbeKey, check: AppCheck, result: HttpResult) -> None:
    """One application check's samples, counted on the check's own (longer) interval."""
    target = check.target
    counters = metrics.counters.of(owner, REASONS)
    counters.fail(result.reason)
    labels = {"target": target.name}
    metrics.exposition.update(owner, {
        "spse_app_probe_success": sample("spse_app_probe_success", labels, int(result.success)),
        "spse_app_probe_failures_total": counters.failure_samples("spse_app_probe_failures_total", labels),
        "spse_app_probe_duration_seconds": sample("spse_app_probe_duration_seconds", labels,
                                                  round(result.duration, 6)),
        **metrics.round_completed(owner, target.spse.app_interval),
    })
    metrics.history.remember(owner, {"url": result.url, **vars(result)})


PROBE_KIND = ProbeKind(
    "spse_app", probe=probe_spse_app,
    specs=lambda config: ((t.name, AppCheck(t)) for t in config.targets if t.spse and t.spse.app_check),
    record=record,
    health=lambda key, check, result: [(key, Health(result.success, result.message))],
    ready_waits=False)  # the first round may be minutes away (its long interval): readiness does not wait
