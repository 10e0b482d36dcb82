"""Indonesia's time zones by the names everyone uses: the one table the config and the report read."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta, timezone, tzinfo
from typing import Any

from exporter.messages import Problem

# Each name's UTC offset in hours and its IANA zone; none has daylight saving time.
ZONES = {"WIB": (7, "Asia/Jakarta"), "WITA": (8, "Asia/Makassar"), "WIT": (9, "Asia/Jayapura")}
INDONESIAN_ZONES = {name: timezone(timedelta(hours=hours), name) for name, (hours, _) in ZONES.items()}


def parse_zone(name: Any) -> tzinfo:
    """WIB, WITA, WIT or an IANA zone name such as Asia/Makassar; raise a Problem otherwise."""
    if not isinstance(name, str) or not name:
        raise Problem("zone_not_string")
    if name.upper() in INDONESIAN_ZONES:
        return INDONESIAN_ZONES[name.upper()]
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: e.g. a name too long for a file
        raise Problem("zone_unknown", value=name[:64]) from None

