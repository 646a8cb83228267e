-- SLA compliance (Art 17, 19) from the clocks alone. A clock that stops keeps how many working
-- days it ran, written in the transaction that stops it, so "share answered within 2 working days,
-- median and p90" reads one narrow index per branch and month: no join through the problem and
-- forwarding tables' policies, no calendar lookup per row. Times count from the clock's start, as
-- its deadline does.

-- Working days in (start's day, stop's day], Shanghai dates, as huifang.workdays_between counts
-- them; null (never an error, which would keep a clock from stopping) when the calendar lacks a day.
create function huifang.clock_workdays(p_calendar text, p_started timestamptz, p_stopped timestamptz) returns integer
    language sql stable parallel safe
    as $$
        select b.ordinal - a.ordinal
        from huifang.calendar_days a, huifang.calendar_days b
        where a.calendar = p_calendar and a.day = (p_started at time zone 'Asia/Shanghai')::date
          and b.calendar = p_calendar and b.day = (p_stopped at time zone 'Asia/Shanghai')::date
    $$;

alter table huifang.timers add column stopped_workdays integer;

comment on column huifang.timers.stopped_workdays is
    'Working days the clock ran (start''s day exclusive, stop''s day inclusive), set when it stops';

create function huifang.timers_count_workdays() returns trigger
    language plpgsql
    as $$
begin
    new.stopped_workdays := case when new.stopped_at is not null
                                 then huifang.clock_workdays(new.calendar, new.started_at, new.stopped_at) end;
    return new;
end
$$;

-- On every update, so the figure can only be the one the clock's own times give.
create trigger timers_count_workdays
    before insert or update on huifang.timers
    for each row execute function huifang.timers_count_workdays();

-- A provisional year replaced by the official calendar renumbers its working days: the stopped
-- clocks that ran through it count again, in the same transaction as the load.
create function huifang.calendar_years_recount_clocks() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.timers set stopped_workdays = huifang.clock_workdays(calendar, started_at, stopped_at)
    where calendar = new.calendar and stopped_at is not null
      and started_at < make_date(new.year + 1, 1, 1)::timestamp at time zone 'Asia/Shanghai'
      and stopped_at >= make_date(new.year, 1, 1)::timestamp at time zone 'Asia/Shanghai';
    return null;
end
$$;

create trigger calendar_years_recount_clocks
    after update on huifang.calendar_years
    for each row execute function huifang.calendar_years_recount_clocks();

revoke execute on function huifang.calendar_years_recount_clocks() from public;

update huifang.timers set stopped_workdays = huifang.clock_workdays(calendar, started_at, stopped_at)
where stopped_at is not null;

-- Per branch and month of the clock's start: answered forwardings, closed problems. Covering, with
-- what the read policies look at too (kind and subject), so the figures come from the index alone.
create index timers_answered_forwardings on huifang.timers (branch_id, started_at)
    include (department_id, due_at, stopped_at, stopped_workdays, subject_kind, subject_id)
    where subject_kind = 'problem_forwarding' and stop_reason = 'answered';
create index timers_closed_problems on huifang.timers (branch_id, started_at)
    include (department_id, due_at, stopped_at, stopped_workdays, subject_kind, subject_id)
    where subject_kind = 'problem' and stopped_at is not null;
