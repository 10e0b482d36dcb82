"""HTTP(S) probe of an SPSE site: status, body checks, phases, TLS expiry and the server's clock.

Every probe opens a fresh connection (DNS, connect and TLS are measured each time, as a
user meets them), follows redirects up to a limit, reads at most `body_size_limit` bytes
and ends by its deadline whatever the peer does.
"""

from __future__ import annotations

import email.utils
import functools
import re
import ssl
import time
import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from typing import TYPE_CHECKING, Awaitable, Callable, Iterable
from urllib.parse import urljoin, urlsplit

import httpx

from exporter import __version__
from exporter.config import Target
from exporter.config.network import check_url
from exporter.messages import Problem
from exporter.exposition import sample
from exporter.probes import ProbeFailure, ProbeResult, certificate, spse_page
from exporter.probes.kind import Health, ProbeKey, ProbeKind
from exporter.probes.resolve import resolve
from exporter.probes.runner import guarded
from exporter.probes.transport import FreshConnectionTransport
from exporter.workhours import is_working_time, working_seconds

if TYPE_CHECKING:  # the store the probes record into
    from exporter.metrics import Metrics

PHASES = ("resolve", "connect", "tls", "processing", "transfer")
HTTP_REASONS = ("timeout", "dns", "connect", "tls", "http_status", "body_match", "protocol")
SPSE_REASONS = ("spse_error", "not_spse")  # front-page reasons of targets with `spse:` on
# Codes whose counters exist from the start, so increase() sees the first 5xx, not only the second.
PREINITIALISED_CODES = ("500", "502", "503", "504", "5xx")
# Statuses in IANA's registry (as Python lists it) keep their own `code` label; any other only its class,
# so a peer inventing statuses adds at most five series per target.
REGISTERED_CODES = frozenset(HTTPStatus)
REDIRECT_CODES = (301, 302, 303, 307, 308)
USER_AGENT = f"spse-exporter/{__version__}"


@dataclass
class Observation:
    """What one probe saw, filled in as it goes so that a failure keeps what was learnt."""

    phases: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    stage: str = "resolve"  # resolve, connect, tls, http: where a failure happened
    status_code: int = 0
    date_offset: float | None = None
    cert_expiry: float | None = None
    response_size: int = 0
    redirects: int = 0
    ip_version: int = 0
    url: str = ""
    location: str = ""
    cookies: list[str] = field(default_factory=list)  # names of the cookies the last response set
    page: spse_page.SpsePage | None = None  # SPSE targets: what the final page said about itself


@dataclass(frozen=True)
class HttpResult(ProbeResult):
    status_code: int
    phases: dict[str, float]
    date_offset: float | None  # server Date header minus the local clock, seconds
    cert_expiry: float | None
    response_size: int
    redirects: int
    ip_version: int
    url: str
    spse: spse_page.SpsePage | None = None


class _Tracer:
    """Turns the transport's trace events into phase durations and the failure stage."""

    def __init__(self, seen: Observation):
        self.seen = seen
        self.started: dict[str, float] = {}
        self.request_sent = 0.0
        self.headers_wall_time = 0.0

    async def __call__(self, event: str, info: dict) -> None:
        now = time.monotonic()
        step, _, edge = event.rpartition(".")
        if edge == "started":
            self.started[step] = now
            if step == "connection.connect_tcp":
                self.seen.stage = "connect"
            elif step == "connection.start_tls":
                self.seen.stage = "tls"
            elif step == "http11.send_request":
                self.seen.stage = "http"
            return
        if edge != "complete":
            return
        began = self.started.get(step, now)
        if step == "connection.connect_tcp":
            self.seen.phases["connect"] += now - began
        elif step == "connection.start_tls":
            self.seen.phases["tls"] += now - began
        elif step == "http11.send_request":
            self.request_sent = now
        elif step == "http11.receive_response_headers":
            self.seen.phases["processing"] += now - (self.request_sent or began)
            self.headers_wall_time = time.time()


def _classify(err: BaseException, stage: str) -> ProbeFailure:
    """Map a transport error to a failure reason, using where the probe was when it broke."""
    chain, cause = [], err
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if isinstance(err, httpx.TimeoutException):
        return ProbeFailure("timeout", f"timed out in {stage}: {err}")
    if any(isinstance(e, (ssl.SSLError, ssl.CertificateError)) for e in chain) or stage == "tls":
        return ProbeFailure("tls", f"TLS failed: {err}")
    if stage in ("resolve", "connect"):
        return ProbeFailure("connect", f"cannot connect: {err or type(err).__name__}")
    return ProbeFailure("protocol", f"bad response: {err or type(err).__name__}")


async def _read_page(response: httpx.Response, limit: int, seen: Observation) -> bytes:
    """The body, with gzip/deflate undone as it arrives (which `Accept-Encoding: identity` should prevent).

    `limit` holds for the page, compressed or not: a page of `limit` bytes passes even when its
    compressed copy is longer, and one byte more fails either way."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    decoder = zlib.decompressobj(wbits=47) if encoding in ("gzip", "x-gzip", "deflate") else None
    page = bytearray()
    async for chunk in response.aiter_raw():
        seen.response_size += len(chunk)
        if decoder and decoder.eof:
            continue  # bytes after the compressed stream's end: not page, and not kept in unused_data either
        try:  # one byte past the limit at most: enough to know the page is too long
            page += decoder.decompress(chunk, limit + 1 - len(page)) if decoder else chunk
        except zlib.error as err:
            raise ProbeFailure("protocol", f"cannot decode {encoding} body: {err}") from None
        if len(page) > limit:
            raise ProbeFailure("protocol", f"body is larger than body_size_limit ({limit} bytes)")
    return bytes(page)


def _cert_expiry(response: httpx.Response) -> float | None:
    """notAfter of the certificate the server presented, verified or not: blackbox_exporter reports it
    under insecure_skip_verify too, and self-signed LPSE sites need the expiry alert most."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None  # the leaf
    if not der:
        return None
    try:
        return certificate.not_after(der)
    except ValueError:  # a certificate too broken to read: no expiry, the probe itself goes on
        return None


def _date_offset(response: httpx.Response, wall_time: float) -> float | None:
    header = response.headers.get("date")
    if not header or not wall_time:
        return None
    try:
        server_date = email.utils.parsedate_to_datetime(header)
        # The asctime form has no zone and means GMT, as every HTTP-date does; naive, it would read as local time.
        server_time = server_date.replace(tzinfo=server_date.tzinfo or timezone.utc).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # Date has whole seconds: the server's clock was somewhere in [date, date + 1).
    return server_time + 0.5 - wall_time


class Session:
    """What one probe's requests share: fresh-connection transport, timeouts, and a cookie jar
    that lives as long as the probe (cookies set before a redirect go with the next hop)."""

    def __init__(self, ssl_context: ssl.SSLContext | None, timeout: float):
        self.transport = FreshConnectionTransport(ssl_context)  # a target's, for every hop
        self.timeouts = httpx.Timeout(timeout).as_dict()
        self.cookies = httpx.Cookies()


# httpx parses and checks a request's URL and headers in Python, a tenth of a probe's own Python time
# (docs/benchmarks.md); a target sends the same ones every interval. Both are immutable (a request copies the headers).
@functools.lru_cache(maxsize=4096)
def _parsed_url(url: str) -> httpx.URL:
    return httpx.URL(url)


@functools.lru_cache(maxsize=4096)
def _parsed_headers(host: str, headers: tuple[tuple[str, str], ...]) -> httpx.Headers:
    return httpx.Headers({"Host": host, **dict(headers)})


async def send(session: Session, url: str, method: str, headers: dict[str, str],
               seen: Observation, *, ip_protocol: str = "ip4", fallback: bool = True,
               server_name: str | None = None, body_limit: int | None = None) -> bytes:
    """One request on a fresh connection, resolving the host ourselves so DNS time is measured.

    Returns the body (up to `body_limit` bytes; nothing when `body_limit` is None).
    """
    parts = urlsplit(url)
    seen.url, seen.stage = url, "resolve"
    seen.status_code = 0  # until this hop's response arrives: a redirect's status must not stand for it
    began = time.monotonic()
    address, seen.ip_version = await resolve(parts.hostname, ip_protocol, fallback)
    seen.phases["resolve"] += time.monotonic() - began
    host_header = parts.netloc.rpartition("@")[2]
    tracer = _Tracer(seen)
    # The URL keeps the site's name (cookies belong to it, not to the address it resolved to this time);
    # the transport connects to `address`.
    request = httpx.Request(
        method, _parsed_url(url), headers=_parsed_headers(host_header, tuple(headers.items())),
        extensions={"trace": tracer, "address": address, "sni_hostname": server_name or parts.hostname,
                    "timeout": session.timeouts},
    )
    if session.cookies:  # building the cookie header costs even with an empty jar
        session.cookies.set_cookie_header(request)
    try:
        response = await session.transport.handle_async_request(request)
    except httpx.HTTPError as err:
        raise _classify(err, seen.stage) from None
    try:
        response.request = request
        if "set-cookie" in response.headers:
            session.cookies.extract_cookies(response)
        if not 100 <= response.status_code <= 599:  # h11 takes any three digits; HTTP defines 1xx to 5xx
            raise ProbeFailure("protocol", f"status {response.status_code} is not an HTTP status (100-599)")
        seen.status_code = response.status_code
        seen.location = response.headers.get("location", "")
        seen.cookies = [cookie.partition("=")[0].strip() for cookie in response.headers.get_list("set-cookie")]
        seen.cert_expiry = _cert_expiry(response) or seen.cert_expiry
        seen.date_offset = _date_offset(response, tracer.headers_wall_time)
        if body_limit is None:
            return b""
        transfer_began, seen.response_size = time.monotonic(), 0
        body = await _read_page(response, body_limit, seen)
        seen.phases["transfer"] += time.monotonic() - transfer_began
        return body
    except httpx.HTTPError as err:
        raise _classify(err, "http") from None
    finally:
        await response.aclose()


# Outside ASCII, re.IGNORECASE lets only these match ASCII letters: İ and ı as i, ſ as s, the Kelvin
# sign as k (tests/unit/probes/test_http.py checks every code point). İ is also the one character whose
# lowercase is two characters long.
FOLDS_TO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")
REGEX_SYNTAX = frozenset(".^$*+?{}[]\\|()")


@functools.lru_cache(maxsize=256)
def ascii_phrase(pattern: re.Pattern) -> str | None:
    """The lowercased text of a pattern written as `(?i)` and plain ASCII words, else None."""
    text = pattern.pattern
    if pattern.flags != re.IGNORECASE | re.UNICODE or not text.startswith("(?i)"):
        return None
    phrase = text[len("(?i)"):]
    if not phrase.isascii() or REGEX_SYNTAX & set(phrase):
        return None
    return phrase.lower()


def lowered_for_phrases(text: str) -> str | None:
    """`text` lowercased, or None where lowercasing would not match as re's case folding does."""
    return None if any(c in text for c in FOLDS_TO_ASCII) else text.lower()


def body_matches(pattern: re.Pattern, text: str, lowered: str | None) -> bool:
    """`pattern.search(text)`, answered for a case-insensitive ASCII phrase such as SPSE's error text
    by a substring search of `lowered_for_phrases(text)`: the same answer, ten times faster."""
    phrase = ascii_phrase(pattern)
    if phrase is None or lowered is None:
        return pattern.search(text) is not None
    return phrase in lowered


def _check_body(target: Target, body: bytes) -> None:
    patterns = target.fail_if_body_matches + target.fail_if_body_not_matches
    if not patterns:
        return
    text = body.decode("utf-8", errors="replace")
    lowered = lowered_for_phrases(text) if any(ascii_phrase(pattern) for pattern in patterns) else None
    for pattern in target.fail_if_body_matches:
        if body_matches(pattern, text, lowered):
            raise ProbeFailure("body_match", f"body matches {pattern.pattern!r}")
    for pattern in target.fail_if_body_not_matches:
        if not body_matches(pattern, text, lowered):
            raise ProbeFailure("body_match", f"body does not match {pattern.pattern!r}")


def request_headers(target: Target) -> dict[str, str]:
    return {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **dict(target.headers)}


async def fetch(target: Target, session: Session, url: str, method: str, headers: dict[str, str],
                seen: Observation) -> bytes:
    """`url` with the target's settings, following up to its limit of redirects; the final body."""
    read_body, hops, requested = method != "HEAD", 0, [url]
    while True:
        body = await send(session, url, method, headers, seen,
                          ip_protocol=target.ip_protocol, fallback=target.ip_protocol_fallback,
                          server_name=target.tls.server_name,
                          body_limit=target.body_size_limit if read_body else None)
        if seen.status_code not in REDIRECT_CODES or target.max_redirects == 0:
            break
        if hops >= target.max_redirects:
            raise ProbeFailure("protocol", f"more than {target.max_redirects} redirects (last to {url})")
        url = _redirect_url(url, seen)
        requested.append(url)
        seen.redirects += 1
        hops += 1
    if target.spse and read_body:
        seen.page = spse_page.analyse(body, target.spse.zone, requested, seen.cookies)  # a portal may echo URLs
    return body


def _redirect_url(url: str, seen: Observation) -> str:
    """The absolute URL a redirect's Location names; ProbeFailure("protocol") for one no request can go to."""
    try:
        if not seen.location:
            raise ValueError("no Location")
        parts = check_url(urlsplit(urljoin(url, seen.location)).geturl(), ("http", "https"),
                          Problem("redirect_scheme"), None)
    except ValueError:  # also a bad port or an unclosed [ of an IPv6 address
        raise ProbeFailure("protocol", f"redirect {seen.status_code} without a usable Location") from None
    return parts.geturl()


def check_status(target: Target, seen: Observation) -> None:
    if not target.status_is_valid(seen.status_code):
        note = spse_page.describe(seen.page)
        raise ProbeFailure("http_status", f"status {seen.status_code} is not valid" + (f" ({note})" if note else ""))


async def _follow(target: Target, seen: Observation) -> None:
    session = Session(target.ssl_context, target.timeout)
    body = await fetch(target, session, target.url, target.method, request_headers(target), seen)
    check_status(target, seen)
    if seen.page:
        spse_page.check(seen.page)
    _check_body(target, body)


async def run_requests(target: Target, steps: Callable[[Observation], Awaitable[str | None]],
                       secrets: Iterable[str] | None = None) -> HttpResult:
    """Run a probe's requests through the shared runner by the target's timeout; the result keeps what was
    observed before any failure. `steps` may return the message of a success. `secrets` (default: the
    target's) stay out of the failure message and the log."""
    seen = Observation()
    message, reason, failure, duration = await guarded(
        target.timeout, steps(seen), target.url,
        lambda: ("timeout", f"no complete answer within {target.timeout:g}s (stuck in {seen.stage})"),
        target.secrets if secrets is None else secrets)
    return HttpResult(
        success=not reason, reason=reason, message=failure or message or "ok", duration=duration,
        status_code=seen.status_code, phases=seen.phases, date_offset=seen.date_offset,
        cert_expiry=seen.cert_expiry, response_size=seen.response_size, redirects=seen.redirects,
        ip_version=seen.ip_version, url=seen.url, spse=seen.page,
    )


async def probe_http(target: Target) -> HttpResult:
    """Probe one SPSE target; never raises, always returns by the target's timeout."""
    return await run_requests(target, functools.partial(_follow, target))


def code_label(status: int, valid: tuple[int, ...]) -> str:
    """The `code` label of a response: "504" for a registered or configured valid status, else "5xx"."""
    return str(status) if status in REGISTERED_CODES or status in valid else f"{status // 100}xx"


def _spse_page_fragments(target: Target, result: HttpResult) -> dict[str, str]:
    """What an SPSE target's front page said about itself, and the settings the SPSE rules compare it with."""
    labels, page = {"target": target.name}, result.spse
    spse = target.spse
    now = datetime.now(spse.zone)  # the zone's wall time now: right across a DST change
    fragments = {
        "spse_data_max_age_seconds": sample("spse_data_max_age_seconds", labels, spse.data_max_age),
        "spse_site_working_time": sample("spse_site_working_time", labels,
                                         int(is_working_time(now.timestamp(), spse.zone, spse.is_holiday))),
        "spse_site_utc_offset_seconds": sample("spse_site_utc_offset_seconds", labels, now.utcoffset().total_seconds()),
        "spse_site_holiday": sample("spse_site_holiday", labels, int(spse.is_holiday(now.date()))),
    }
    if page and page.version:
        fragments["spse_info"] = sample("spse_info", {**labels, "version": page.version}, 1)
    if page and page.data_updated_at is not None:
        fragments["spse_data_last_update_timestamp_seconds"] = sample(
            "spse_data_last_update_timestamp_seconds", labels, page.data_updated_at)
        fragments["spse_data_age_working_seconds"] = sample("spse_data_age_working_seconds", labels, round(
            working_seconds(page.data_updated_at, now.timestamp(), spse.zone, spse.is_holiday), 3))
    return fragments


def record(metrics: Metrics, owner: ProbeKey, target: Target, result: HttpResult) -> None:
    """One round's samples: status, code and reason counters, the duration histogram, phases, the SPSE page."""
    codes = tuple(dict.fromkeys((*map(str, target.valid_status_codes or (200,)), *PREINITIALISED_CODES)))
    counters = metrics.counters.of(owner, HTTP_REASONS + SPSE_REASONS if target.spse else HTTP_REASONS, codes)
    counters.observe(result.duration)
    if result.status_code:
        code = code_label(result.status_code, target.valid_status_codes)
        counters.codes[code] = counters.codes.get(code, 0) + 1
    counters.fail(result.reason)
    labels = {"target": target.name}
    fragments = {
        "spse_http_probe_success": sample("spse_http_probe_success", labels, int(result.success)),
        "spse_http_status_code": sample("spse_http_status_code", labels, result.status_code),
        "spse_http_responses_total": "".join(
            sample("spse_http_responses_total", {**labels, "code": code}, count)
            for code, count in sorted(counters.codes.items())),  # three characters each: "2xx" after "299"
        "spse_http_probe_failures_total": counters.failure_samples("spse_http_probe_failures_total", labels),
        "spse_http_probe_duration_seconds": counters.histogram("spse_http_probe_duration_seconds", labels),
        "spse_http_phase_duration_seconds": "".join(
            sample("spse_http_phase_duration_seconds", {**labels, "phase": phase}, round(result.phases[phase], 6))
            for phase in PHASES),
        "spse_http_response_size_bytes": sample("spse_http_response_size_bytes", labels, result.response_size),
        "spse_http_redirects": sample("spse_http_redirects", labels, result.redirects),
        "spse_http_ip_protocol": sample("spse_http_ip_protocol", labels, result.ip_version),
        **metrics.round_completed(owner, target.interval),
    }
    if target.spse:
        fragments.update(_spse_page_fragments(target, result))
    if result.date_offset is not None and metrics.clock_offset is not None:  # no answering source: no reference
        offset = result.date_offset - metrics.clock_offset
        fragments["spse_http_server_clock_offset_seconds"] = sample(
            "spse_http_server_clock_offset_seconds", labels, round(offset, 3))
    if result.cert_expiry is not None:
        fragments["spse_tls_cert_expiry_timestamp_seconds"] = sample(
            "spse_tls_cert_expiry_timestamp_seconds", labels, result.cert_expiry)
    metrics.exposition.update(owner, fragments)
    last = {"url": target.url, **vars(result)}  # shallow: asdict's deep copy costs per probe
    if result.spse:
        last["spse"] = asdict(result.spse)
    metrics.history.remember(owner, last)


def _health(key: ProbeKey, target: Target, result: HttpResult) -> list[tuple[ProbeKey, Health]]:
    why = f"{result.reason} {result.status_code}" if result.reason == "http_status" else result.reason
    return [(key, Health(result.success, f"{why}: {result.message}", (why,)))]


PROBE_KIND = ProbeKind(
    "http", specs=lambda config: ((target.name, target) for target in config.targets), probe=probe_http,
    record=record, health=_health)
