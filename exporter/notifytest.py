"""`spse-exporter notify-test`: send a test alert through the real Alertmanager and say whether it arrived.

Alertmanager has no delivery receipt, so the command reads its own counters: for each integration of
the paging receiver, `alertmanager_notification_requests_total` and `..._failed_total` on /metrics
before and after the test alert. A request that did not fail is a delivery; a failed one is reported
with what this host sees when it tries the same address. A request counts only once it returns, so an
attempt that started (`alertmanager_notifications_total`) and never returned hangs, as on a lost route.

The alert says it is a test (Bahasa Indonesia first), links to the runbook's NotificationTest section, and is
resolved as soon as the verdict is in. Its receiver (notify-test, the ops integrations with send_resolved false,
filled by alertmanager-config) never sends a "resolved" message that an operator could take for an incident's end.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from exporter import messages
from exporter.messages import Problem
from exporter.receivers import OPS_RECEIVERS, TEST_RECEIVER

# The alertmanager.yml route for alertname="NotificationTest" sends through TEST_RECEIVER; a config from before it
# existed routes the test to ops-critical.
RECEIVERS = (TEST_RECEIVER, OPS_RECEIVERS[0])
RUNBOOK_ANCHOR = "notificationtest"  # docs/runbook.md, "## NotificationTest"
# prometheus.yml's shipped runbook_base: the exporter's address through `ssh -L 10040:127.0.0.1:10040 <host>`.
DEFAULT_RUNBOOK_BASE = "http://localhost:10040"
# Per integration: requests that returned, those that failed, and notifications started (before any request).
COUNTERS = ("alertmanager_notification_requests_total", "alertmanager_notification_requests_failed_total",
            "alertmanager_notifications_total")
POLL_INTERVAL = 0.5


def counters(client: httpx.Client) -> dict[str, tuple[float, float, float]]:
    """(requests, failed requests, notifications started) per integration, from Alertmanager's /metrics."""
    totals: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(client.get("/metrics").raise_for_status().text):
        for sample in family.samples:
            if sample.name in COUNTERS:
                totals.setdefault(sample.labels["integration"], [0.0] * len(COUNTERS))[
                    COUNTERS.index(sample.name)] = sample.value
    return {name: tuple(values) for name, values in totals.items()}


def running_receivers(client: httpx.Client) -> dict[str, dict[str, list[dict]]]:
    """Each receiver's `*_configs` by integration, in the config Alertmanager is running."""
    return receivers_of(yaml.safe_load(client.get("/api/v2/status").raise_for_status().json()["config"]["original"]))


def receivers_of(config: dict) -> dict[str, dict[str, list[dict]]]:
    """Each receiver's `*_configs` by integration, in an Alertmanager config."""
    return {receiver["name"]: {key.removesuffix("_configs"): value for key, value in receiver.items()
                               if key.endswith("_configs")} for receiver in config.get("receivers", [])}


def no_integration(receivers: dict[str, dict[str, list[dict]]]) -> Problem:
    """Why the test cannot go out: nothing configured, or a hand-written ops-critical the test receiver lacks."""
    paging = receivers.get(OPS_RECEIVERS[0], {})
    if paging:
        return Problem("notify_test_receiver_empty", test=TEST_RECEIVER, receiver=OPS_RECEIVERS[0],
                       integrations=", ".join(paging))
    return Problem("notify_no_receiver", receiver=OPS_RECEIVERS[0])


def runbook_base(client: httpx.Client) -> str:
    """Prometheus' runbook_base, read off the runbook link of an alert it sent (Watchdog always fires), so the
    test links where every alert does; the shipped default when Alertmanager holds none yet."""
    for alert in client.get("/api/v2/alerts").raise_for_status().json():
        base, found, _ = alert.get("annotations", {}).get("runbook_url", "").rpartition("/runbook#")
        if found and base:
            return base
    return DEFAULT_RUNBOOK_BASE


def destination(integration: str, config: dict) -> tuple[str, int] | None:
    """Host and port the integration connects to, when the config shows them (secrets are masked)."""
    if integration == "email":
        host, _, port = config.get("smarthost", "").rpartition(":")
        return (host, int(port)) if port.isdigit() else None
    url = config.get("api_url") or config.get("url") or ""
    if integration == "telegram" and not url:
        url = "https://api.telegram.org"
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def try_connect(address: tuple[str, int], hanging: bool) -> Problem:
    """What a TCP connection from this host to `address` gives: the likely reason a delivery failed."""
    where = f"{address[0]}:{address[1]}"
    try:
        socket.create_connection(address, timeout=5).close()
    except OSError as err:
        return Problem("notify_connect_failed", address=where, detail=err.strerror or err)
    return Problem("notify_connect_hanging" if hanging else "notify_connect_answered", address=where)


def notification(run_id: str, runbook: str, ends: datetime) -> dict:
    """The test alert: says it is a test (Bahasa Indonesia first in the message), and that no "resolved" message
    follows."""
    return {
        "labels": {"alertname": "NotificationTest", "severity": "critical", "site": "notify-test", "run": run_id},
        "annotations": {
            # "English / Indonesian" as the rules write them; the template shows the Indonesian half first.
            "summary": "TEST: a test notification from spse-exporter, not an incident / "
                       "UJI: notifikasi uji dari spse-exporter, bukan gangguan",
            "description": "Sent by the spse-exporter notify-test command to check that notifications reach you. No "
                           "action is needed, and no RESOLVED message follows. / Dikirim oleh perintah spse-exporter "
                           "notify-test untuk memastikan notifikasi sampai kepada Anda. Tidak perlu tindakan apa pun, "
                           "dan tidak akan ada pesan pemulihan.",
            "runbook_url": f"{runbook.rstrip('/')}/runbook#{RUNBOOK_ANCHOR}",
        },
        "startsAt": datetime.now(timezone.utc).isoformat(), "endsAt": ends.isoformat(),
    }


def check(url: str, timeout: float, runbook: str | None = None) -> tuple[bool, list[Problem]]:
    """Send one test alert through Alertmanager at `url`, then resolve it; (delivered by every integration,
    report lines). `runbook`: the base of the runbook link (default: Prometheus' runbook_base)."""
    with httpx.Client(base_url=url.rstrip("/"), timeout=10) as client:
        receivers = running_receivers(client)
        configs = receivers.get(next((name for name in RECEIVERS if name in receivers), RECEIVERS[0]), {})
        if not configs:
            return False, [no_integration(receivers)]
        before = counters(client)
        # Firing long enough for a retry of a slow delivery; resolved below once the verdict is in.
        alert = notification(uuid.uuid4().hex[:12], runbook or runbook_base(client),
                             ends=datetime.now(timezone.utc) + timedelta(seconds=timeout + 300))
        client.post("/api/v2/alerts", json=[alert]).raise_for_status()
        try:
            outcome = await_outcome(client, configs, before, timeout)
        finally:  # the test is over: no active NotificationTest lingers in Alertmanager's UI
            client.post("/api/v2/alerts", json=[{**alert, "endsAt": datetime.now(timezone.utc).isoformat()}])
        after = counters(client)
    return report(configs, outcome, before, after, timeout)


def await_outcome(client: httpx.Client, configs: dict[str, list[dict]],
                  before: dict[str, tuple[float, float, float]], timeout: float) -> dict[str, str]:
    """"delivered" or "failed" per integration whose request returned within `timeout`."""
    outcome: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(outcome) < len(configs) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
        after = counters(client)
        for name in configs.keys() - outcome.keys():
            (ok0, failed0, _), (ok1, failed1, _) = before.get(name, (0, 0, 0)), after.get(name, (0, 0, 0))
            if ok1 - failed1 > ok0 - failed0:
                outcome[name] = "delivered"
            elif failed1 > failed0:
                outcome[name] = "failed"
    return outcome


def report(configs: dict[str, list[dict]], outcome: dict[str, str], before: dict[str, tuple[float, float, float]],
           after: dict[str, tuple[float, float, float]], timeout: float) -> tuple[bool, list[Problem]]:
    """(delivered by every integration, one line per integration with the reason when not)."""
    started = {name for name in configs if after.get(name, (0, 0, 0))[2] > before.get(name, (0, 0, 0))[2]}
    lines = []
    for name, entries in configs.items():
        result = outcome.get(name)
        if result == "delivered":
            lines.append(Problem("notify_delivered_by", integration=name))
            continue
        hanging = result is None and name in started
        attempt = (Problem("notify_attempt_failed") if result == "failed" else
                   Problem("notify_attempt_unanswered" if hanging else "notify_no_attempt", duration=timeout))
        address = destination(name, entries[0])
        if address:
            lines.append(Problem("notify_not_delivered_by_connect", integration=name, attempt=attempt,
                                 connect=try_connect(address, hanging)))
        else:
            lines.append(Problem("notify_not_delivered_by", integration=name, attempt=attempt))
    return all(outcome.get(name) == "delivered" for name in configs), lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="spse-exporter notify-test",
        description="Send a test notification through Alertmanager and report whether it was delivered "
                    "(exit 0) or not (exit 1).")
    parser.add_argument("--alertmanager.url", dest="url", default="http://127.0.0.1:9093",
                        help="Alertmanager's address (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for the delivery (default %(default)s)")
    parser.add_argument("--runbook.base", dest="runbook", default=None,
                        help="where operators open the exporter, for the message's runbook link (default: the "
                             "runbook_base of Prometheus' alerts in Alertmanager, else " + DEFAULT_RUNBOOK_BASE + ")")
    messages.language_argument(parser)
    args = parser.parse_args(argv)
    lang = messages.resolve_language(parser, args)
    try:
        delivered, lines = check(args.url, args.timeout, args.runbook)
    # ValueError, TypeError, AttributeError: an answer that is not Alertmanager's JSON (a wrong port's web page)
    except (httpx.HTTPError, KeyError, ValueError, TypeError, AttributeError, yaml.YAMLError) as err:
        delivered, lines = False, [Problem("notify_alertmanager_unusable", url=args.url,
                                           detail=err or type(err).__name__)]
    print(f"notify-test: {messages.render('notify_delivered' if delivered else 'notify_not_delivered', lang)}")
    for line in lines:
        print(f"  {line.render(lang)}")
    return 0 if delivered else 1
