"""`spse_alertmanager_receiver_info`: which receivers of the running Alertmanager use each integration type.

Alertmanager 0.25 counts notifications per integration type only (`integration="telegram"`), so NotificationsFailing
joins this series to name the receiver(s) behind a failing type. Read from Alertmanager's /api/v2/status (the config
it runs, secrets masked) when Prometheus scrapes, at most once a minute; the last answer stays while it cannot be read.
"""

from __future__ import annotations

import logging
import threading
import time

import httpx
import yaml

from exporter.exposition import sample
from exporter.metrics import ALERTMANAGER
from exporter.receivers import integration_receivers

FAMILY = "spse_alertmanager_receiver_info"
REFRESH_SECONDS = 60.0
TIMEOUT_SECONDS = 2.0  # a scrape waits this long at most, once a minute, while Alertmanager does not answer

log = logging.getLogger(__name__)


class ReceiverInfo:
    """Keeps the (integration, receiver) series of the Alertmanager at `url` up to date in `exposition`."""

    def __init__(self, url: str, exposition):
        self.url = url.rstrip("/")
        self.exposition = exposition
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._text = ""

    def refresh(self) -> None:
        """Read Alertmanager's config if the last read is a minute old; (re)publish the last good answer."""
        with self._lock:
            if time.monotonic() - self._read_at >= REFRESH_SECONDS:
                self._read_at = time.monotonic()
                try:
                    self._text = self._read()
                # ValueError, TypeError, KeyError, AttributeError: an answer that is not Alertmanager's status JSON
                except (httpx.HTTPError, KeyError, ValueError, TypeError, AttributeError, yaml.YAMLError) as err:
                    log.warning("cannot read the receivers of Alertmanager at %s: %s", self.url,
                                err or type(err).__name__)
            self.exposition.update(ALERTMANAGER, {FAMILY: self._text})

    def _read(self) -> str:
        status = httpx.get(f"{self.url}/api/v2/status", timeout=TIMEOUT_SECONDS).raise_for_status().json()
        config = yaml.safe_load(status["config"]["original"])
        return "".join(sample(FAMILY, {"integration": integration, "receiver": receiver}, 1)
                       for integration, receivers in integration_receivers(config).items() for receiver in receivers)
