"""Time zones and times as an LPSE writes them: WIB/WITA/WIT names, `YYYY-MM-DD HH:MM` input, "08:00 WITA" output."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exporter.config.zones import ZONES

# Indonesia's three zones by the names everyone uses (the config's table); the IANA names are accepted as well.
ZONE_NAMES = {name: iana for name, (_, iana) in ZONES.items()}
ABBREVIATIONS = {iana: name for name, iana in ZONE_NAMES.items()}
# Other IANA names that share the Indonesian zones (e.g. Asia/Pontianak is WIB).
ABBREVIATIONS.update({"Asia/Pontianak": "WIB"})
DEFAULT_ZONE = "Asia/Jakarta"
LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S")

DAYS = {"id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
        "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
MONTHS = {"id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
                 "Oktober", "November", "Desember"),
          "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December")}
DURATION_UNITS = {"id": ("hari", "jam", "menit", "detik"), "en": ("d", "h", "min", "s")}


def zone(name: str) -> ZoneInfo:
    """WIB, WITA, WIT or an IANA name; ValueError naming the input otherwise."""
    try:
        return ZoneInfo(ZONE_NAMES.get(name.upper(), name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: use WIB, WITA, WIT or an IANA name such as Asia/Makassar / "
                         f"zona waktu {name!r} tidak dikenal: pakai WIB, WITA, WIT atau nama IANA")


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
        raise ValueError(f"time {text!r}: use RFC 3339 (2023-04-04T08:00:00+08:00) or 'YYYY-MM-DD HH:MM' / "
                         f"waktu {text!r} tidak terbaca: tulis 'YYYY-MM-DD HH:MM' atau RFC 3339")
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
        """"08:00 WITA", or "5 April 2023 00:10 WITA" in a report over several days."""
        moment = self.local(seconds)
        clock = f"{moment:%H:%M} {abbreviation(self.tz, moment)}"
        return f"{self.short_date(seconds)} {clock}" if self.several_days else clock

    def short_date(self, seconds: float) -> str:
        moment = self.local(seconds)
        return f"{moment.day} {MONTHS[self.lang][moment.month - 1]} {moment.year}"

    def date(self, seconds: float) -> str:
        """"Selasa, 4 April 2023" / "Tuesday, 4 April 2023"."""
        return f"{DAYS[self.lang][self.local(seconds).weekday()]}, {self.short_date(seconds)}"

    def duration(self, seconds: float) -> str:
        """"14 jam 24 menit" / "14 h 24 min"; seconds only under a minute."""
        seconds = int(round(seconds))
        parts = (seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60, seconds % 60 if seconds < 60 else 0)
        text = [f"{n} {unit}" for n, unit in zip(parts, DURATION_UNITS[self.lang]) if n]
        return " ".join(text) or f"0 {DURATION_UNITS[self.lang][3]}"
