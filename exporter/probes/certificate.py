"""The notAfter of a DER certificate, read with the standard library: the one field the HTTP probe reports.

`cryptography.x509` did this for 8-9 MiB of resident memory (its Rust binding and OpenSSL copy), a fifth of
the exporter's fixed cost (docs/benchmarks.md); X.509 puts notAfter at a fixed place that a few DER steps reach.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

SEQUENCE, INTEGER, EXPLICIT_0, UTC_TIME, GENERALIZED_TIME = 0x30, 0x02, 0xA0, 0x17, 0x18
# DER times are UTC, to the second, ending in Z (RFC 5280 4.1.2.5)
TIME_FORMATS = {UTC_TIME: re.compile(rb"(\d{2})(\d{10})Z"), GENERALIZED_TIME: re.compile(rb"(\d{4})(\d{10})Z")}


def _element(der: bytes, pos: int, tag: int) -> tuple[int, int]:
    """Start and end of the contents of the element at `pos`, which must have `tag`; ValueError otherwise."""
    if pos + 2 > len(der) or der[pos] != tag:
        raise ValueError(f"expected DER tag {tag:#x} at {pos}")
    length, pos = der[pos + 1], pos + 2
    if length & 0x80:  # long form: the next 1-4 bytes hold the length
        size = length & 0x7F
        if not 1 <= size <= 4 or pos + size > len(der):
            raise ValueError(f"bad DER length at {pos}")
        length, pos = int.from_bytes(der[pos:pos + size], "big"), pos + size
    if pos + length > len(der):
        raise ValueError(f"DER element at {pos} runs past the end")
    return pos, pos + length


def _time(der: bytes, pos: int) -> float:
    for tag, pattern in TIME_FORMATS.items():
        if pos < len(der) and der[pos] == tag:
            start, end = _element(der, pos, tag)
            match = pattern.fullmatch(der[start:end])
            if not match:
                raise ValueError(f"bad certificate time {der[start:end]!r}")
            year = int(match[1])
            if tag == UTC_TIME:  # two digits: 1950-2049
                year += 1900 if year >= 50 else 2000
            rest = match[2]
            return datetime(year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8]), int(rest[8:10]),
                            tzinfo=timezone.utc).timestamp()
    raise ValueError(f"expected a certificate time at {pos}")


def not_after(der: bytes) -> float:
    """The certificate's notAfter as a Unix time; ValueError for bytes that are no X.509 certificate."""
    certificate, _ = _element(der, 0, SEQUENCE)
    pos, _ = _element(der, certificate, SEQUENCE)  # tbsCertificate
    if pos < len(der) and der[pos] == EXPLICIT_0:  # version, absent in v1 certificates
        pos = _element(der, pos, EXPLICIT_0)[1]
    pos = _element(der, pos, INTEGER)[1]  # serialNumber
    pos = _element(der, pos, SEQUENCE)[1]  # signature algorithm
    pos = _element(der, pos, SEQUENCE)[1]  # issuer
    validity, _ = _element(der, pos, SEQUENCE)
    not_before_tag = der[validity] if validity < len(der) else None
    if not_before_tag not in TIME_FORMATS:
        raise ValueError(f"expected a certificate time at {validity}")
    return _time(der, _element(der, validity, not_before_tag)[1])
