"""Prometheus text exposition, rendered incrementally.

Each probe result is turned into text once, when it arrives, and stored per metric
family and owner (a target, a time source, a group). A scrape only joins the stored
fragments, so `/metrics` costs milliseconds even with a thousand targets. The page is
not cached: with many targets a result lands between any two scrapes.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from exporter.probes.key import ProbeKey

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib's gzip wrapper
GZIP_BATCH = 64 * 1024  # characters joined and compressed at a time


@dataclass(frozen=True)
class Family:
    name: str
    type: str  # gauge, counter, histogram
    help: str

    @property
    def header(self) -> str:
        help_text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        return f"# HELP {self.name} {help_text}\n# TYPE {self.name} {self.type}\n"


def format_value(value: float) -> str:
    """Format a sample value the way Go's Prometheus clients do."""
    if type(value) is int and -10**15 < value < 10**15:  # counts and codes: most samples, so first
        return str(value)
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def escape_label(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:  # rare: tested first, as a probe writes 40 labels a round
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def labels_text(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join([f'{key}="{escape_label(value if type(value) is str else str(value))}"'
                           for key, value in labels.items()]) + "}"


def sample(name: str, labels: dict[str, str], value: float) -> str:
    return f"{name}{labels_text(labels)} {format_value(value)}\n"


class Exposition:
    """Holds rendered fragments per (family, owner) and joins them on scrape."""

    def __init__(self, families: list[Family]):
        self._families = list(families)
        self._fragments: dict[str, dict[ProbeKey, str]] = {f.name: {} for f in families}
        self._lock = threading.Lock()
        self.extra = None  # optional callable returning bytes appended to every page

    def update(self, owner: ProbeKey, fragments: dict[str, str]) -> None:
        """Replace every fragment of `owner` with `fragments` (family name -> text)."""
        with self._lock:
            for name, by_owner in self._fragments.items():
                text = fragments.get(name)
                if text:
                    by_owner[owner] = text
                else:
                    by_owner.pop(owner, None)

    def patch(self, owner: ProbeKey, fragments: dict[str, str]) -> None:
        """Replace only these families' fragments of `owner`; its other families stay as they are."""
        with self._lock:
            for name, text in fragments.items():
                self._fragments[name][owner] = text

    def drop(self, owner: ProbeKey) -> None:
        self.update(owner, {})

    def owners(self) -> set[ProbeKey]:
        with self._lock:
            return {owner for by_owner in self._fragments.values() for owner in by_owner}

    def _pieces(self) -> list[str]:
        """The page's pieces in order: taken under the lock, references to the stored text, not a copy of it."""
        with self._lock:
            pieces = []
            for family in self._families:
                by_owner = self._fragments[family.name]
                if by_owner:
                    pieces.append(family.header)
                    pieces.extend(by_owner.values())
        return pieces

    def render(self) -> bytes:
        return "".join(self._pieces()).encode() + (self.extra() if self.extra else b"")

    def gzip_chunks(self) -> Iterator[bytes]:
        """The page gzip-compressed (level 1) as it is joined, a batch of pieces at a time, as of the first chunk.
        The whole page is never held: at a thousand targets its 2.8 MB of text, joined, encoded and copied on
        every scrape, cost megabytes of resident memory that the allocator kept (docs/benchmarks.md)."""
        compressor = zlib.compressobj(1, zlib.DEFLATED, GZIP_WBITS)
        batch, size = [], 0
        for piece in self._pieces():
            batch.append(piece)
            size += len(piece)
            if size >= GZIP_BATCH:
                yield compressor.compress("".join(batch).encode())
                batch, size = [], 0
        yield compressor.compress("".join(batch).encode())
        if self.extra:
            yield compressor.compress(self.extra())
        yield compressor.flush()
