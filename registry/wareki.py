"""和暦 (Japanese era) dates and times, as the paper certificate writes them.

Dates are written 令和8年4月1日; the first year of an era is written 元年 (令和元年5月1日),
as official documents do. Times stored by the registry are naive UTC; what staff read is
Japan Standard Time (UTC+9, no daylight saving), e.g. 令和8年4月1日 10:15.
"""
from __future__ import annotations

import datetime as dt

JST = dt.timezone(dt.timedelta(hours=9), "JST")

# (first day, name), newest first. Before 明治6年 (the solar calendar) there is no 和暦
# date to write in the Gregorian calendar; such a day is written in 西暦 instead.
ERAS = [
    (dt.date(2019, 5, 1), "令和"),
    (dt.date(1989, 1, 8), "平成"),
    (dt.date(1926, 12, 25), "昭和"),
    (dt.date(1912, 7, 30), "大正"),
    (dt.date(1873, 1, 1), "明治"),
]
_MEIJI_FIRST_YEAR = 1868


def era_year(day: dt.date) -> tuple[str, int]:
    """('令和', 8) for 2026-04-01."""
    for start, name in ERAS:
        if day >= start:
            first_year = _MEIJI_FIRST_YEAR if name == "明治" else start.year
            return name, day.year - first_year + 1
    raise ValueError(f"{day.isoformat()} is before the dates this registry writes in 和暦")


def _year_text(year: int) -> str:
    return "元" if year == 1 else str(year)


def wareki_date(day: dt.date | str) -> str:
    """令和8年4月1日 (accepts a date or an ISO ``YYYY-MM-DD`` string)."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    if isinstance(day, dt.datetime):
        day = day.date()
    try:
        name, year = era_year(day)
    except ValueError:  # a signed document may hold any real date: show it, never fail
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{name}{_year_text(year)}年{day.month}月{day.day}日"


def to_jst(moment: dt.datetime) -> dt.datetime:
    """A registry time (naive UTC, or aware) in Japan Standard Time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(JST)


def wareki_datetime(moment: dt.datetime) -> str:
    """令和8年4月1日 10:15 (JST), how 電子保証発行日時 is written."""
    local = to_jst(moment)
    return f"{wareki_date(local.date())} {local.hour:02d}:{local.minute:02d}"


def wareki_datetime_long(moment: dt.datetime) -> str:
    """令和8年4月1日 10時15分 (JST), for sentences such as 「…時点の状態」."""
    local = to_jst(moment)
    return f"{wareki_date(local.date())} {local.hour}時{local.minute:02d}分"


def jst_date(moment: dt.datetime) -> dt.date:
    """The calendar day in Japan of a registry time."""
    return to_jst(moment).date()


def jst_day_start_utc(day: dt.date) -> dt.datetime:
    """The naive-UTC moment at which ``day`` begins in Japan (for date-range searches)."""
    return (dt.datetime.combine(day, dt.time(), tzinfo=JST)
            .astimezone(dt.timezone.utc).replace(tzinfo=None))
