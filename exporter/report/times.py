"""Time zones as an LPSE names them (WIB/WITA/WIT), `YYYY-MM-DD HH:MM` input, and a Clock that writes a report's
times through exporter/formatting.py ("08.00 WITA")."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exporter import formatting
from exporter.config.zones import ZONES
from exporter.messages import Problem

# Indonesia's three zones by the names everyone uses (the config's table); the IANA names are accepted as well.
ZONE_NAMES = {name: iana for name, (_, iana) in ZONES.items()}
ABBREVIATIONS = {iana: name for name, iana in ZONE_NAMES.items()}
# Other IANA names that share the Indonesian zones (e.g. Asia/Pontianak is WIB).
ABBREVIATIONS.update({"Asia/Pontianak": "WIB"})
DEFAULT_ZONE = "Asia/Jakarta"
LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S")


def zone(name: str) -> ZoneInfo:
    """WIB, WITA, WIT or an IANA name; a Problem naming the input otherwise."""
    try:
        return ZoneInfo(ZONE_NAMES.get(name.upper(), name))
    except (ZoneInfoNotFoundError, ValueError):
        raise Problem("zone_unknown", value=name) from None


def zone_at_offset(seconds: float) -> tzinfo:
    """The Indonesian zone with this UTC offset (25200 is WIB), else a fixed offset."""
    name = {hours * 3600: name for name, (hours, _) in ZONES.items()}.get(int(seconds))
    return zone(name) if name else timezone(timedelta(seconds=seconds))


def parse_time(text: str, tz: tzinfo) -> datetime:
    """RFC 3339 (with an offset or Z), or `YYYY-MM-DD HH:MM` read in `tz`."""
    for fmt in LOCAL_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            pass
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise Problem("report_time_invalid", value=text)
    return value


def abbreviation(tz: tzinfo, moment: datetime) -> str:
    """WIB/WITA/WIT for the Indonesian zones, the zone's own abbreviation elsewhere."""
    return ABBREVIATIONS.get(getattr(tz, "key", ""), moment.astimezone(tz).tzname() or "")


def from_timestamp(seconds: float, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc).astimezone(tz)


class Clock:
    """Formats Unix times in one zone and language; adds the date when a report spans several days."""

    def __init__(self, tz: tzinfo, lang: str, several_days: bool):
        self.tz, self.lang, self.several_days = tz, lang, several_days

    def local(self, seconds: float) -> datetime:
        return from_timestamp(seconds, self.tz)

    def rfc3339(self, seconds: float | None) -> str | None:
        return None if seconds is None else self.local(seconds).isoformat()

    def time(self, seconds: float) -> str:
        """"08.00 WITA", or "5 April 2023 00.10 WITA" in a report over several days."""
        clock = formatting.clock_time(seconds, self.tz, self.lang, abbreviation(self.tz, self.local(seconds)))
        return f"{self.short_date(seconds)} {clock}" if self.several_days else clock

    def short_date(self, seconds: float) -> str:
        return formatting.short_date(seconds, self.tz, self.lang)

    def date(self, seconds: float) -> str:
        """"Selasa, 4 April 2023" / "Tuesday, 4 April 2023"."""
        return formatting.date(seconds, self.tz, self.lang)

    def duration(self, seconds: float) -> str:
        """"14 jam 24 menit" / "14 hours 24 minutes": whole minutes from a minute up, as an office writes it."""
        return formatting.duration(seconds if seconds < 60 else round(seconds / 60) * 60, self.lang)
