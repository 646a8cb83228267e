#!/usr/bin/env python3
"""Generate sql/data/cn_workday_2004_2026.csv: the mainland-China working-day calendar.

Development tool only: the product never runs Python. Its output is checked in and loaded by
migration sql/0002_calendars.sql. Re-run it (and add a NEW migration) when the State Council
announces a new year:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install chinese-calendar==1.11.0
    /tmp/venv/bin/python scripts/generate_cn_calendar.py

One row per calendar day: date,is_workday,note. note is empty on ordinary days, the holiday's
name ("National Day 国庆节") on a day off of an announced holiday, and
"make-up workday 调休 (<holiday>)" on a weekend day worked instead. Weekend days adjacent to a
weekday holiday are part of the break (e.g. "6月4日至6日放假，共3天", "与周末连休") and get its
name; chinese-calendar lists those only in some years, so the script fills them in (is_workday is
unaffected). Known facts (FACTS) are asserted: where the package disagrees, fix OVERRIDES.
"""
import csv
import datetime as dt
import pathlib

import chinese_calendar
from chinese_calendar.constants import holidays, workdays

FIRST, LAST = dt.date(2004, 1, 1), dt.date(2026, 12, 31)
OUT = pathlib.Path(__file__).resolve().parent.parent / "sql" / "data" / "cn_workday_2004_2026.csv"
NAMES = {  # chinese-calendar's English name -> "English 中文" as shown to users
    "New Year's Day": "New Year's Day 元旦",
    "Spring Festival": "Spring Festival 春节",
    "Tomb-sweeping Day": "Tomb-sweeping Day 清明节",
    "Labour Day": "Labour Day 劳动节",
    "Dragon Boat Festival": "Dragon Boat Festival 端午节",
    "National Day": "National Day 国庆节",
    "Mid-autumn Festival": "Mid-autumn Festival 中秋节",
    "Anti-Fascist 70th Day": "Anti-Fascist War Victory Day 抗战胜利纪念日",
}
OVERRIDES: dict = {}  # date -> (is_workday, note), for corrections the package lacks (none needed for 1.11.0)


def span(a, b):
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


def d(s):
    return dt.date.fromisoformat(s)


# (first, last) days off and make-up days that must hold (2026 from the State Council notice).
FACTS_OFF = [("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
             ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
             ("2026-10-01", "2026-10-07"), ("2019-10-01", "2019-10-07"), ("2020-01-24", "2020-02-02")]
FACTS_ON = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
            "2019-09-29", "2019-10-12", "2020-02-03"]


def main():
    rows = {}
    for day in span(FIRST, LAST):
        working = chinese_calendar.is_workday(day)
        if day in workdays:
            note = "make-up workday 调休 (%s)" % NAMES[workdays[day]]
        elif day in holidays:
            note = NAMES[holidays[day]]
        else:
            note = ""
        rows[day] = [working, note]
    # Weekend days next to a weekday holiday (through other such weekend days) belong to that
    # break: give them its name. A holiday that itself falls on a weekend does not extend.
    for day in span(FIRST, LAST):
        if rows[day][0] or not rows[day][1] or day.weekday() > 4 or day in workdays:
            continue
        for step in (dt.timedelta(days=-1), dt.timedelta(days=1)):
            nb = day + step
            while nb in rows and nb.weekday() > 4 and not rows[nb][0] and not rows[nb][1]:
                rows[nb][1] = rows[day][1]
                nb += step
    for day, value in OVERRIDES.items():
        rows[day] = list(value)
    for a, b in FACTS_OFF:
        for day in span(d(a), d(b)):
            assert not rows[day][0] and rows[day][1], ("expected a holiday", day, rows[day])
    for s in FACTS_ON:
        assert rows[d(s)][0], ("expected a working day", s, rows[d(s)])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["date", "is_workday", "note"])
        for day in span(FIRST, LAST):
            working, note = rows[day]
            w.writerow([day.isoformat(), "true" if working else "false", note])
    print("wrote %d days to %s" % (len(rows), OUT))


if __name__ == "__main__":
    main()
