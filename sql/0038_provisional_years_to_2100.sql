-- Issue 19 A4: the stored calendar ended in 2030, so any clock whose escalation fell after the last
-- stored day made its insert fail. Every calendar now stores 2031–2100 as provisional years
-- (Monday to Friday, no holidays, flagged), as 0002 stored 2027–2030: is_workday, add_workdays,
-- workdays_between and workday_deadline answer for any date up to 2100, and a year's official
-- schedule replaces its provisional one when loaded (huifang.load_calendar_year).

insert into huifang.calendar_days (calendar, day, is_workday, note, ordinal)
select c.code, g.day::date, extract(isodow from g.day) < 6, null,
       c.last_ordinal + (count(*) filter (where extract(isodow from g.day) < 6) over (partition by c.code order by g.day))::int
from (select calendar as code, max(ordinal) as last_ordinal from huifang.calendar_days group by calendar) c
cross join generate_series(date '2031-01-01', date '2100-12-31', interval '1 day') as g(day);

insert into huifang.calendar_years (calendar, year, status, source)
select c.code, y, 'provisional', 'not yet announced: Monday to Friday, no holidays'
from huifang.calendars c cross join generate_series(2031, 2100) as y;
