-- The working-day calendar (BRIEF §3; every deadline of Art 11–19 is counted in it): whether a day
-- works, adding and counting working days, deadlines at 24:00 Shanghai time, and loading a year.
-- Tables: calendars, calendar_years, calendar_days (numbered migrations 0002, 0007).

-- ══ functions and the triggers that call them ══

-- Raises the error for a (calendar, day) with no stored row: unknown calendar or day out of range.
create or replace function huifang.calendar_missing(cal text, d date) returns void
language plpgsql stable as $$
declare
    first_day date;
    last_day date;
begin
    if cal is null then
        raise exception 'calendar code must not be null' using errcode = '22004';
    end if;
    if not exists (select from huifang.calendars where code = cal) then
        raise exception 'unknown calendar "%"', cal using errcode = '22023',
            hint = 'known calendars: ' || (select string_agg(code, ', ' order by code) from huifang.calendars);
    end if;
    if d is null then
        raise exception 'calendar "%": date must not be null', cal using errcode = '22004';
    end if;
    select min(day), max(day) into first_day, last_day from huifang.calendar_days where calendar = cal;
    raise exception 'calendar "%": date % is outside the stored range % to %', cal, d, first_day, last_day
        using errcode = '22023';
end
$$;
grant execute on function huifang.calendar_missing(text,date) to huifang_app;

create or replace function huifang.is_workday(cal text, d date) returns boolean
language plpgsql stable as $$
declare
    result boolean;
begin
    select c.is_workday into result from huifang.calendar_days c where c.calendar = cal and c.day = d;
    if not found then
        perform huifang.calendar_missing(cal, d);
    end if;
    return result;
end
$$;
comment on function huifang.is_workday(text, date) is 'Whether d is a working day of calendar cal';
grant execute on function huifang.is_workday(text,date) to huifang_app;

create or replace function huifang.add_workdays(cal text, d date, n int) returns date
language plpgsql stable as $$
declare
    start_number int;
    start_is_workday boolean;
    target int;
    target_year int;
    result date;
begin
    if n is null or n < 0 then
        raise exception 'add_workdays: n must be 0 or more, got %', coalesce(n::text, 'null') using errcode = '22023';
    end if;
    select y.workdays_before + c.ordinal, c.is_workday into start_number, start_is_workday
    from huifang.calendar_days c
    join huifang.calendar_years y on y.calendar = c.calendar and y.year = extract(year from c.day)::int
    where c.calendar = cal and c.day = d;
    if not found then
        perform huifang.calendar_missing(cal, d);
    end if;
    -- The n-th working day after d has number number(d) + n; for n = 0 that is d itself when
    -- d is a working day, else the next working day.
    target := start_number + n + case when n = 0 and not start_is_workday then 1 else 0 end;
    -- It lies in the last year whose earlier years hold fewer working days than that.
    select y.year, target - y.workdays_before into target_year, target
    from huifang.calendar_years y
    where y.calendar = cal and y.workdays_before < target
    order by y.workdays_before desc, y.year desc
    limit 1;
    select c.day into result from huifang.calendar_days c
    where c.calendar = cal and extract(year from c.day)::int = target_year and c.ordinal = target and c.is_workday;
    if not found then
        raise exception 'calendar "%": % working day(s) after % fall past the stored range, which ends %',
            cal, n, d, (select max(c.day) from huifang.calendar_days c where c.calendar = cal)
            using errcode = '22023';
    end if;
    return result;
end
$$;
comment on function huifang.add_workdays(text, date, int) is
    'n >= 1: the n-th working day strictly after d; n = 0: d if it is a working day, else the next one';
grant execute on function huifang.add_workdays(text,date,integer) to huifang_app;

create or replace function huifang.workday_deadline(cal text, t timestamptz, n int) returns timestamptz
language sql stable as $$
    select ((huifang.add_workdays(cal, (t at time zone 'Asia/Shanghai')::date, n) + 1)::timestamp)
           at time zone 'Asia/Shanghai'
$$;
comment on function huifang.workday_deadline(text, timestamptz, int) is
    'End (next day 00:00 Asia/Shanghai) of the n-th working day after the Shanghai calendar day of t';
grant execute on function huifang.workday_deadline(text,timestamp with time zone,integer) to huifang_app;

-- Working days from the calendar's first stored day up to and including d; null when d is not stored.
-- PL/pgSQL: as SQL (never inlined, for its FROM) it was planned again in each transaction, 0.25 ms
-- per call on a step's path; lists calling it per row got no slower (docs/performance.md).
create or replace function huifang.workday_number(cal text, d date) returns int
language plpgsql stable parallel safe as $$
begin
    return (select y.workdays_before + c.ordinal
            from huifang.calendar_days c
            join huifang.calendar_years y on y.calendar = c.calendar and y.year = extract(year from c.day)::int
            where c.calendar = cal and c.day = d);
end
$$;
comment on function huifang.workday_number(text, date) is
    'Working days of calendar cal from its first stored day up to and including d; null when d is not stored';
grant execute on function huifang.workday_number(text,date) to huifang_app;

create or replace function huifang.workdays_between(cal text, a date, b date) returns int
language plpgsql stable as $$
declare
    number_a int := huifang.workday_number(cal, a);
    number_b int := huifang.workday_number(cal, b);
begin
    if number_a is null then
        perform huifang.calendar_missing(cal, a);
    end if;
    if number_b is null then
        perform huifang.calendar_missing(cal, b);
    end if;
    return number_b - number_a;
end
$$;
comment on function huifang.workdays_between(text, date, date) is
    'Working days in (a, b]; negative (minus those in (b, a]) when b < a';
grant execute on function huifang.workdays_between(text,date,date) to huifang_app;

create or replace function huifang.calendar_is_provisional(cal text, a date, b date) returns boolean
language plpgsql stable as $$
declare
    first_day date := least(a, b);
    last_day date := greatest(a, b);
begin
    if a is null or not exists (select from huifang.calendar_days c where c.calendar = cal and c.day = a) then
        perform huifang.calendar_missing(cal, a);
    end if;
    if b is null or not exists (select from huifang.calendar_days c where c.calendar = cal and c.day = b) then
        perform huifang.calendar_missing(cal, b);
    end if;
    return exists (
        select from huifang.calendar_years y
        where y.calendar = cal and y.status = 'provisional'
          and y.year between extract(year from first_day) and extract(year from last_day));
end
$$;
comment on function huifang.calendar_is_provisional(text, date, date) is
    'Whether any day between a and b (inclusive, either order) lies in a provisional year of calendar cal';
grant execute on function huifang.calendar_is_provisional(text,date,date) to huifang_app;

-- The instant at which fraction p of n working days counted from t has elapsed: the end of working
-- day k = floor(p·n) when p·n is whole, else the share p·n − k into working day k + 1.
create or replace function huifang.workday_fraction(cal text, t timestamptz, n int, p numeric) returns timestamptz
    language sql stable
    as $$
        select case
            when p * n = floor(p * n) and p * n >= 1 then huifang.workday_deadline(cal, t, floor(p * n)::int)
            else ((huifang.add_workdays(cal, (t at time zone 'Asia/Shanghai')::date, floor(p * n)::int + 1)::timestamp
                   + (p * n - floor(p * n)) * interval '1 day') at time zone 'Asia/Shanghai')
        end
    $$;
grant execute on function huifang.workday_fraction(text,timestamp with time zone,integer,numeric) to huifang_app;

create or replace function huifang.load_calendar_year(
    cal text, y int, p_days date[], p_workdays boolean[], p_notes text[], p_source text)
    returns table (changed_days int, moved_timers int, audit_event_id bigint)
    language plpgsql volatile security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    first_day date := make_date(y, 1, 1);
    last_day date := make_date(y, 12, 31);
    workdays_before_load int;
    workdays_after_load int;
    changed jsonb;
    moved jsonb;
    event bigint;
begin
    if session_user <> current_user and not huifang.scope_org_admin() then
        raise exception 'loading a calendar needs the admin role' using errcode = '42501';
    end if;
    if not exists (select from huifang.calendars where code = cal) then
        raise exception 'unknown calendar "%"', cal using errcode = '22023';
    end if;
    if not exists (select from huifang.calendar_years where calendar = cal and year = y) then
        raise exception 'calendar "%" does not store year %; it holds % to %', cal, y,
            (select min(year) from huifang.calendar_years where calendar = cal),
            (select max(year) from huifang.calendar_years where calendar = cal)
            using errcode = '22023';
    end if;
    if cardinality(p_days) is distinct from cardinality(p_workdays) or cardinality(p_days) is distinct from cardinality(p_notes) then
        raise exception 'days, workdays and notes must be arrays of the same length' using errcode = '22023';
    end if;
    if (select count(distinct d) from unnest(p_days) d where d between first_day and last_day) <> last_day - first_day + 1
       or cardinality(p_days) <> last_day - first_day + 1 then
        raise exception 'the schedule of % must list every day from % to % exactly once (got % rows)',
            y, first_day, last_day, cardinality(p_days) using errcode = '22023';
    end if;

    -- The days whose status or note changes, read before they change.
    select coalesce(jsonb_agg(jsonb_build_object('day', i.d, 'workday', i.w) order by i.d), '[]') into changed
    from unnest(p_days, p_workdays, p_notes) as i (d, w, n)
    join huifang.calendar_days c on c.calendar = cal and c.day = i.d
    where (c.is_workday, c.note) is distinct from (i.w, nullif(i.n, ''));

    select count(*) filter (where is_workday) into workdays_before_load
    from huifang.calendar_days where calendar = cal and day between first_day and last_day;

    -- Every day of the year takes its new status and a number of its own below zero, so the unique
    -- ordinal index never sees two working days of the year with one number midway (a make-up
    -- weekend day would otherwise share the number of the working day before it); then the year is
    -- numbered from 1 January. Later years keep their numbers: only their count of earlier working
    -- days moves.
    update huifang.calendar_days c set is_workday = i.w, note = nullif(i.n, ''), ordinal = -(i.d - first_day) - 1
    from unnest(p_days, p_workdays, p_notes) as i (d, w, n)
    where c.calendar = cal and c.day = i.d;
    update huifang.calendar_days c set ordinal = x.ordinal
    from (
        select day, (count(*) filter (where is_workday) over (order by day))::int as ordinal
        from huifang.calendar_days where calendar = cal and day between first_day and last_day
    ) x
    where c.calendar = cal and c.day = x.day;

    select count(*) filter (where is_workday) into workdays_after_load
    from huifang.calendar_days where calendar = cal and day between first_day and last_day;
    update huifang.calendar_years set workdays_before = workdays_before + workdays_after_load - workdays_before_load
    where calendar = cal and year > y and workdays_after_load <> workdays_before_load;

    -- Last, so the recount of stopped clocks (trigger calendar_years_recount_clocks) sees the new numbers.
    update huifang.calendar_years set status = 'official', source = p_source, loaded_at = now()
    where calendar = cal and year = y;

    -- Setting started_at to itself runs the schedule trigger: new deadline, stages and provisional flag.
    with affected as (
        select branch_id, id, due_at from huifang.timers
        where state = 'running' and calendar = cal
          and (started_at at time zone 'Asia/Shanghai')::date <= last_day
          and stage_at[cardinality(stage_at)] >= first_day::timestamp at time zone 'Asia/Shanghai'
        for update
    ), recomputed as (
        update huifang.timers t set started_at = t.started_at
        from affected a where t.branch_id = a.branch_id and t.id = a.id
        returning t.branch_id, t.id, t.subject_kind, t.subject_id, t.clock, a.due_at as old_due, t.due_at as new_due
    )
    select coalesce(jsonb_agg(jsonb_build_object(
               'branch_id', branch_id, 'timer_id', id, 'subject', subject_kind || ':' || subject_id, 'clock', clock,
               'old_due', old_due, 'new_due', new_due) order by branch_id, id) filter (where old_due <> new_due), '[]')
    into moved from recomputed;

    insert into huifang.audit_events (actor_staff_id, action, object_type, object_id, reason, detail)
    values (huifang.scope_staff_id(), 'calendar.loaded', 'calendar', cal || ':' || y, p_source,
            jsonb_build_object('changed_days', changed, 'moved_deadlines', moved))
    returning id into event;

    return query select jsonb_array_length(changed), jsonb_array_length(moved), event;
end
$$;
revoke execute on function huifang.load_calendar_year(text,integer,date[],boolean[],text[],text) from public;
grant execute on function huifang.load_calendar_year(text,integer,date[],boolean[],text[],text) to huifang_app;
