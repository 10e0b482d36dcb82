"""Prometheus remote write 1.0 for the load generator: a WriteRequest, hand-encoded, snappy-compressed.

The protobuf is three messages (prompb/types.proto): WriteRequest{1: repeated TimeSeries},
TimeSeries{1: repeated Label, 2: repeated Sample}, Label{1: name, 2: value}, Sample{1: double value,
2: int64 timestamp ms}. A series' labels never change, so each series is encoded once up to its
sample and a send only appends value and timestamp. Snappy (block format, as remote write asks) comes
from cramjam: a maintained Rust wheel with no system library, which python-snappy itself now wraps.
"""

from __future__ import annotations

import struct

import cramjam

HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
           "X-Prometheus-Remote-Write-Version": "0.1.0", "User-Agent": "spse-bench-national-load"}
_DOUBLE = struct.Struct("<d")


def varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def length_delimited(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def encode_labels(labels: dict[str, str]) -> bytes:
    """The Label messages of one series, sorted by name as remote write requires."""
    return b"".join(length_delimited(1, length_delimited(1, name.encode()) + length_delimited(2, value.encode()))
                    for name, value in sorted(labels.items()))


class Series:
    """One series' TimeSeries message up to its sample's value: encoded once, reused by every send."""

    __slots__ = ("head", "timestamp_size")

    def __init__(self, labels: dict[str, str], timestamp_size: int):
        encoded = encode_labels(labels)
        sample_size = 1 + 8 + 1 + timestamp_size  # tag, double, tag, varint of the timestamp
        body_size = len(encoded) + 1 + len(varint(sample_size)) + sample_size
        self.head = (b"\x0a" + varint(body_size) + encoded + b"\x12" + varint(sample_size) + b"\x09")
        self.timestamp_size = timestamp_size


def timestamp_size(ms: int) -> int:
    return len(varint(ms))


def write_request(series: list[Series], values: list[float], ms: int) -> bytes:
    """A WriteRequest with one sample per series, all at `ms` (as one scrape or rule evaluation writes them)."""
    stamp = b"\x10" + varint(ms)
    if any(s.timestamp_size != len(stamp) - 1 for s in series):
        raise ValueError("timestamp varint size changed; rebuild the series")
    pack = _DOUBLE.pack
    return b"".join([part for s, value in zip(series, values) for part in (s.head, pack(value), stamp)])


def compress(body: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(body))
