"""An SPSE site's working hours: Monday to Friday, 08:00 to 16:00 in the site's zone, except the config's holidays.

SPSE's data changes on working days only, so its age is counted in working time, and SPSEDataStale is gated on the
same hours; both come from here (spse_data_age_working_seconds, spse_site_working_time), nowhere else.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Callable

WORKDAYS = frozenset(range(5))  # date.weekday(): Monday 0 to Friday 4
DAY_START, DAY_END = time(8), time(16)
# A footer years old (or with a bogus year) is counted over this many days at most: bounded work per probe.
LOOKBACK = timedelta(days=366)


def is_working_day(day: date, is_holiday: Callable[[date], bool]) -> bool:
    return day.weekday() in WORKDAYS and not is_holiday(day)


def is_working_time(moment: float, zone: tzinfo, is_holiday: Callable[[date], bool]) -> bool:
    """Whether the Unix time `moment` falls in the working hours of a site in `zone`."""
    local = datetime.fromtimestamp(moment, zone)
    return is_working_day(local.date(), is_holiday) and DAY_START <= local.time() < DAY_END


def working_seconds(start: float, end: float, zone: tzinfo, is_holiday: Callable[[date], bool]) -> float:
    """Working seconds from Unix time `start` to `end` at a site in `zone`; 0 when `end` is not after `start`."""
    start = max(start, end - LOOKBACK.total_seconds())
    if end <= start:
        return 0.0
    total, day, last = 0.0, datetime.fromtimestamp(start, zone).date(), datetime.fromtimestamp(end, zone).date()
    while day <= last:
        if is_working_day(day, is_holiday):
            opens = datetime.combine(day, DAY_START, zone).timestamp()
            closes = datetime.combine(day, DAY_END, zone).timestamp()
            total += max(0.0, min(closes, end) - max(opens, start))
        day += timedelta(days=1)
    return total
