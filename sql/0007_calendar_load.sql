-- Loading a year's official schedule into a calendar: replaces its days, renumbers the working-day
-- ordinals from that year on, marks the year official, recomputes every running timer whose
-- counting passes through the year, and writes one audit event listing the changed days and the
-- deadlines that moved — all in the caller's transaction.
--
-- SECURITY DEFINER, because requests cannot write calendars or other branches' timers; it checks
-- that a request calling it acts as organization admin.

create function huifang.load_calendar_year(
    cal text, y int, p_days date[], p_workdays boolean[], p_notes text[], p_source text)
    returns table (changed_days int, moved_timers int, audit_event_id bigint)
    language plpgsql volatile security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    first_day date := make_date(y, 1, 1);
    last_day date := make_date(y, 12, 31);
    base int;
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

    -- The days whose status or note changes.
    with incoming as (
        select d, w, nullif(n, '') as n from unnest(p_days, p_workdays, p_notes) as x (d, w, n)
    ), updated as (
        update huifang.calendar_days c set is_workday = i.w, note = i.n
        from incoming i
        where c.calendar = cal and c.day = i.d and (c.is_workday, c.note) is distinct from (i.w, i.n)
        returning c.day, c.is_workday
    )
    select coalesce(jsonb_agg(jsonb_build_object('day', day, 'workday', is_workday) order by day), '[]') into changed from updated;

    -- Renumber from the year on, through negatives so the unique (calendar, ordinal) index never
    -- sees two working days with the same number midway.
    select coalesce(max(ordinal), 0) into base from huifang.calendar_days where calendar = cal and day < first_day;
    update huifang.calendar_days set ordinal = -ordinal - 1 where calendar = cal and day >= first_day;
    update huifang.calendar_days c set ordinal = x.ordinal
    from (
        select day, (base + count(*) filter (where is_workday) over (order by day))::int as ordinal
        from huifang.calendar_days where calendar = cal and day >= first_day
    ) x
    where c.calendar = cal and c.day = x.day;

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

revoke all on function huifang.load_calendar_year(text, int, date[], boolean[], text[], text) from public;
grant execute on function huifang.load_calendar_year(text, int, date[], boolean[], text[], text) to huifang_app;
