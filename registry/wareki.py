"""和暦 (Japanese era) dates and times, as the paper certificate writes them.

Dates are written 令和8年4月1日; the first year of an era is written 元年 (令和元年5月1日),
as official documents do. Times stored by the registry are naive UTC; what staff read is
Japan Standard Time (UTC+9, no daylight saving), e.g. 令和8年4月1日 10:15.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

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


# --- reading dates as people and spreadsheets write them ------------------------------

_ERA_NAMES = {"令和": "令和", "R": "令和", "平成": "平成", "H": "平成", "昭和": "昭和", "S": "昭和",
              "大正": "大正", "T": "大正", "明治": "明治", "M": "明治"}
_WAREKI = re.compile(r"^(令和|平成|昭和|大正|明治|[RHSTM])\s*(元|[0-9]{1,2})\s*[年./\-]\s*"
                     r"([0-9]{1,2})\s*[月./\-]\s*([0-9]{1,2})\s*日?$")
_SEIREKI = re.compile(r"^([0-9]{4})\s*[年./\-]\s*([0-9]{1,2})\s*[月./\-]\s*([0-9]{1,2})\s*日?$")
# Excel writes a date cell with a midnight time when asked for "日付と時刻".
_MIDNIGHT = re.compile(r"\s+0{1,2}:00(:00)?$")


def parse_date(text: str) -> dt.date:
    """A day written as ISO (2026-03-25), with slashes (2026/3/25), as 2026年3月25日, or
    in 和暦 (令和8年3月25日, 令和元年5月1日, R8.3.25); full-width digits are fine. A 和暦
    date outside its era (平成32年1月1日) is refused, not guessed at. ValueError otherwise."""
    cleaned = _MIDNIGHT.sub("", unicodedata.normalize("NFKC", text or "").strip()).upper()
    match = _WAREKI.match(cleaned)
    if match:
        return _from_era(_ERA_NAMES[match[1]], match[2], int(match[3]), int(match[4]))
    match = _SEIREKI.match(cleaned)
    if match:
        return _day(int(match[1]), int(match[2]), int(match[3]))
    raise ValueError(f"「{text}」は日付として読めません(例: 2026-03-25、令和8年3月25日)")


def _day(year: int, month: int, day: int, written: str | None = None) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{written or f'{year}年{month}月{day}日'}という日付はありません") from None


def _from_era(era: str, year_text: str, month: int, day: int) -> dt.date:
    year = 1 if year_text == "元" else int(year_text)
    starts = {name: start for start, name in ERAS}
    first_year = _MEIJI_FIRST_YEAR if era == "明治" else starts[era].year
    date = _day(first_year + year - 1, month, day, f"{era}{_year_text(year)}年{month}月{day}日")
    try:
        within = era_year(date) == (era, year)
    except ValueError:  # before 明治6年: no 和暦 date this registry reads
        within = False
    if not within:
        raise ValueError(f"{era}{_year_text(year)}年{month}月{day}日は{era}の期間にありません")
    return date
