-- Loading a year's official schedule renumbered every later working day: about 25,000 rows per
-- calendar once 0038 stored years to 2100, half a second on an idle machine and past the request's
-- statement timeout on a busy one. It could also fail outright: a make-up working weekend took the
-- ordinal of the working day before it and the unique (calendar, ordinal) index refused the row.
-- A day's ordinal now counts working days from 1 January of its own year, and each year keeps the
-- working days of every stored year before it, so loading a year renumbers that year's days and
-- shifts one number per later year.

alter table huifang.calendar_years add column workdays_before int;

-- Nothing here changes a clock's count: the recount trigger would only rewrite every stopped clock.
alter table huifang.calendar_years disable trigger calendar_years_recount_clocks;

-- A non-working day carries the count of the working day before it, so 31 December holds the
-- count of everything up to the end of its year.
update huifang.calendar_years y
set workdays_before = coalesce(
    (select d.ordinal from huifang.calendar_days d where d.calendar = y.calendar and d.day = make_date(y.year - 1, 12, 31)), 0);

alter table huifang.calendar_years enable trigger calendar_years_recount_clocks;

alter table huifang.calendar_years alter column workdays_before set not null;
alter table huifang.calendar_years add constraint calendar_years_workdays_before_check check (workdays_before >= 0);

comment on column huifang.calendar_years.workdays_before is
    'Working days of the calendar''s stored years before this one; plus a day''s ordinal, the working days from the first stored day';

drop index huifang.calendar_days_workday_ordinal;

update huifang.calendar_days d set ordinal = d.ordinal - y.workdays_before
from huifang.calendar_years y
where y.calendar = d.calendar and y.year = extract(year from d.day)::int;

comment on column huifang.calendar_days.ordinal is
    'Working days from 1 January of the day''s year up to and including this day';

create unique index calendar_days_workday_ordinal
    on huifang.calendar_days (calendar, (extract(year from day)::int), ordinal) where is_workday;

-- Which year holds the n-th working day of a calendar.
create index calendar_years_by_workdays_before on huifang.calendar_years (calendar, workdays_before, year);
