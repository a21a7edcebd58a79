"""和暦 dates and times as the paper certificate writes them."""
import datetime as dt

import pytest

from registry.certificates.presentation import certificate_title, period, yen
from registry.wareki import (era_year, jst_date, jst_day_start_utc, to_jst, wareki_date,
                             wareki_datetime, wareki_datetime_long)


@pytest.mark.parametrize("day, written", [
    (dt.date(2026, 4, 1), "令和8年4月1日"),
    (dt.date(2026, 12, 25), "令和8年12月25日"),
    (dt.date(2020, 1, 1), "令和2年1月1日"),
    (dt.date(2019, 5, 1), "令和元年5月1日"),      # first day of 令和
    (dt.date(2019, 4, 30), "平成31年4月30日"),    # last day of 平成
    (dt.date(1989, 1, 8), "平成元年1月8日"),
    (dt.date(1989, 1, 7), "昭和64年1月7日"),
    (dt.date(1926, 12, 25), "昭和元年12月25日"),
    (dt.date(1926, 12, 24), "大正15年12月24日"),
])
def test_dates_are_written_in_the_era_of_the_day(day, written):
    assert wareki_date(day) == written


def test_iso_strings_and_datetimes_are_accepted():
    assert wareki_date("2027-01-29") == "令和9年1月29日"
    assert wareki_date(dt.datetime(2026, 3, 2, 23, 59)) == "令和8年3月2日"


def test_era_year():
    assert era_year(dt.date(2026, 4, 1)) == ("令和", 8)
    assert era_year(dt.date(2019, 4, 30)) == ("平成", 31)
    with pytest.raises(ValueError):
        era_year(dt.date(1800, 1, 1))


def test_times_are_shown_in_japan_standard_time():
    arrived = dt.datetime(2026, 4, 1, 1, 15, 42)  # naive UTC, as the registry stores it
    assert wareki_datetime(arrived) == "令和8年4月1日 10:15"
    assert wareki_datetime_long(arrived) == "令和8年4月1日 10時15分"
    assert to_jst(arrived).utcoffset() == dt.timedelta(hours=9)


def test_the_japanese_day_can_differ_from_the_utc_day():
    late_utc = dt.datetime(2026, 3, 31, 15, 30)
    assert wareki_datetime(late_utc) == "令和8年4月1日 00:30"
    assert jst_date(late_utc) == dt.date(2026, 4, 1)
    # The 令和 boundary is a Japanese day too.
    assert wareki_datetime(dt.datetime(2019, 4, 30, 15, 0)) == "令和元年5月1日 00:00"
    assert wareki_datetime(dt.datetime(2019, 4, 30, 14, 59)) == "平成31年4月30日 23:59"


def test_day_start_in_japan_as_utc():
    assert jst_day_start_utc(dt.date(2026, 4, 1)) == dt.datetime(2026, 3, 31, 15, 0)


def test_amounts_periods_and_titles():
    assert yen(20_000_000) == "20,000,000円"
    assert yen(999) == "999円"
    assert period("2026-04-01", "2026-12-25") == "令和8年4月1日 ～ 令和8年12月25日"
    assert certificate_title("advance_payment") == "保証証書(前払金保証)"
    assert certificate_title("contract") == "保証証書(契約保証)"
    assert certificate_title("intermediate_advance_payment") == "保証証書(中間前払金保証)"


def test_a_day_before_the_solar_calendar_is_written_in_seireki():
    """Ingest accepts any real date; the page must still show it, not fail."""
    assert wareki_date("1850-01-01") == "1850年1月1日"
    assert wareki_date("1873-01-01") == "明治6年1月1日"
