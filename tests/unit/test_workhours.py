"""Working time at an SPSE site (exporter/workhours.py): the data's age SPSEDataStale compares with spse.data_max_age."""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from exporter.config import INDONESIAN_ZONES, SpseConfig
from exporter.workhours import LOOKBACK, is_working_time, working_seconds

WIB, WITA, WIT = (INDONESIAN_ZONES[name] for name in ("WIB", "WITA", "WIT"))
HOUR = 3600
NO_HOLIDAYS = SpseConfig().is_holiday
# 27 November 2026 is a Friday; 30 November a Monday.


def at(day: int, hour: int, minute: int = 0, zone=WITA, month: int = 11) -> float:
    return datetime(2026, month, day, hour, minute, tzinfo=zone).timestamp()


def holidays(*ranges: tuple[str, str]):
    return SpseConfig(holidays=tuple((date.fromisoformat(a), date.fromisoformat(b)) for a, b in ranges)).is_holiday


@pytest.mark.parametrize("start, end, expected", [
    (at(27, 16), at(30, 8, 30), 30 * 60),  # Friday's close to Monday 08:30: the weekend does not age the data
    (at(27, 8), at(30, 8, 30), 8 * HOUR + 30 * 60),  # no update since Friday's opening: over a working day
    (at(30, 10, 15), at(30, 13, 45), 3.5 * HOUR),  # within one working day
    (at(30, 15), at(1, 9, month=12), 2 * HOUR),  # across midnight: 15-16 on Monday, 08-09 on Tuesday
    (at(30, 20), at(1, 7, month=12), 0),  # a night only
    (at(28, 10), at(30, 9), HOUR),  # updated on a Saturday: Monday 08-09 counts
    (at(28, 10), at(29, 23), 0),  # Saturday to Sunday night
    (at(27, 17), at(30, 7, 59), 0),  # Friday evening to just before Monday's opening
    (at(30, 8), at(7, 8, month=12), 5 * 8 * HOUR),  # a whole week: five working days
    (at(30, 12), at(30, 11), 0),  # "Update terakhir" in the future (a wrong zone): not negative
])
def test_working_seconds(start, end, expected):
    assert working_seconds(start, end, WITA, NO_HOLIDAYS) == expected


def test_holidays_do_not_count():
    """Christmas (a date) and a range of cuti bersama count like a weekend, on the site's dates."""
    christmas = holidays(("2026-12-25", "2026-12-25"))
    assert working_seconds(at(24, 16, month=12), at(28, 9, month=12), WITA, christmas) == HOUR
    assert working_seconds(at(24, 16, month=12), at(28, 9, month=12), WITA, NO_HOLIDAYS) == 9 * HOUR
    week = holidays(("2026-11-30", "2026-12-02"))  # Monday to Wednesday, both ends included
    assert working_seconds(at(27, 15), at(3, 8, 30, month=12), WITA, week) == 1.5 * HOUR
    assert working_seconds(at(30, 9), at(2, 15, month=12), WITA, week) == 0  # updated on a holiday, still one


def test_the_hours_are_the_sites_own():
    """One pair of instants, three zones: Monday 00:00 to 08:30 UTC is 07:00-15:30 WIB, 08:00-16:30 WITA and
    09:00-17:30 WIT. An IANA name means the same zone."""
    start, end = (datetime(2026, 11, 30, h, m, tzinfo=ZoneInfo("UTC")).timestamp() for h, m in ((0, 0), (8, 30)))
    assert [working_seconds(start, end, zone, NO_HOLIDAYS) for zone in (WIB, WITA, WIT)] == \
        [7.5 * HOUR, 8 * HOUR, 7 * HOUR]
    assert working_seconds(start, end, ZoneInfo("Asia/Makassar"), NO_HOLIDAYS) == 8 * HOUR


def test_a_footer_years_old_is_counted_over_a_year_at_most_and_quickly():
    end = at(30, 12)
    began = time.perf_counter()
    assert working_seconds(-62135596800.0, end, WIB, NO_HOLIDAYS) == \
        working_seconds(end - LOOKBACK.total_seconds(), end, WIB, NO_HOLIDAYS) > 250 * 8 * HOUR  # year 1
    assert time.perf_counter() - began < 0.5


@pytest.mark.parametrize("moment, zone, is_holiday, expected", [
    (at(30, 8), WITA, NO_HOLIDAYS, True),
    (at(30, 15, 59), WITA, NO_HOLIDAYS, True),
    (at(30, 16), WITA, NO_HOLIDAYS, False),  # closing time is out
    (at(30, 7, 59), WITA, NO_HOLIDAYS, False),
    (at(28, 10), WITA, NO_HOLIDAYS, False),  # Saturday
    (at(30, 10), WITA, holidays(("2026-11-30", "2026-11-30")), False),
    (at(30, 8, zone=WITA), WIB, NO_HOLIDAYS, False),  # 08:00 WITA is 07:00 WIB
    (at(30, 15, 30, zone=WITA), WIT, NO_HOLIDAYS, False),  # 15:30 WITA is 16:30 WIT
])
def test_is_working_time(moment, zone, is_holiday, expected):
    assert is_working_time(moment, zone, is_holiday) is expected
