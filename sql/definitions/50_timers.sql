-- SLA clocks (Art 12, 14, 15, 17–19): each counted in working days, its stages (warnings, breach,
-- escalation) scheduled from the calendar, who holds it, when it stops and how long it ran.
-- Tables: timers, sla_events (partitioned by month in 0055), notifications, notification_reads,
-- open_clock_days (0005, 0018–0023), open_clock_totals (0069).

-- ══ functions and the triggers that call them ══

create or replace function huifang.timers_schedule() returns trigger
    language plpgsql
    as $$
declare
    point numeric;
    last_day date;
begin
    new.due_at := huifang.workday_deadline(new.calendar, new.started_at, new.workdays);
    new.stage_names := '{}';
    new.stage_at := '{}';
    foreach point in array (select array_agg(p order by p) from unnest(new.warning_points) p) loop
        new.stage_names := new.stage_names || ('warning_' || round(point * 100)::text);
        new.stage_at := new.stage_at || huifang.workday_fraction(new.calendar, new.started_at, new.workdays, point);
    end loop;
    new.stage_names := new.stage_names || array['breached', 'escalated'];
    new.stage_at := new.stage_at || array[
        new.due_at,
        huifang.workday_deadline(new.calendar, new.started_at, new.workdays + new.escalate_after_workdays)];
    last_day := (new.stage_at[cardinality(new.stage_at)] at time zone 'Asia/Shanghai')::date;
    new.provisional := huifang.calendar_is_provisional(
        new.calendar, (new.started_at at time zone 'Asia/Shanghai')::date, last_day);
    -- Stages already fired stay fired; the next one is the first after them.
    if new.state = 'running' then
        new.next_fire_at := new.stage_at[cardinality(new.fired_stages) + 1];
        if new.next_fire_at is null then
            new.state := 'done';
        end if;
    else
        new.next_fire_at := null;
    end if;
    return new;
end
$$;

create or replace trigger timers_schedule
    before insert or update of calendar, started_at, workdays, warning_points, escalate_after_workdays
    on huifang.timers
    for each row execute function huifang.timers_schedule();

-- Wakes sleeping workers when a timer becomes due within their polling horizon.
create or replace function huifang.timers_wake_workers() returns trigger
    language plpgsql
    as $$
begin
    if new.state = 'running' and new.next_fire_at <= now() + interval '5 seconds' then
        perform pg_notify('huifang_timers', '');
    end if;
    return null;
end
$$;

create or replace trigger timers_wake_workers
    after insert or update of next_fire_at on huifang.timers
    for each row execute function huifang.timers_wake_workers();

create or replace function huifang.timer_holder(p_kind text, p_branch integer, p_subject bigint) returns integer
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
    begin
        return case p_kind
            when 'problem' then (select department_id from huifang.problems where branch_id = p_branch and id = p_subject)
            when 'problem_forwarding' then (select department_id from huifang.problem_forwardings where branch_id = p_branch and id = p_subject)
            when 'callback_task' then (select owner_department_id from huifang.callback_tasks where branch_id = p_branch and id = p_subject)
            when 'evaluation' then (select department_id from huifang.evaluations where branch_id = p_branch and id = p_subject)
            when 'evaluation_duty' then (select department_id from huifang.evaluation_duties where branch_id = p_branch and id = p_subject)
        end;
    end
    $$;
revoke execute on function huifang.timer_holder(text,integer,bigint) from public;

create or replace function huifang.timers_set_holder() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    -- Null for the kinds no department holds (timer_holder's CASE has no arm for them).
    new.department_id := huifang.timer_holder(new.subject_kind, new.branch_id, new.subject_id);
    return new;
end
$$;
revoke execute on function huifang.timers_set_holder() from public;

create or replace trigger timers_set_holder
    before insert on huifang.timers
    for each row execute function huifang.timers_set_holder();

-- Working days in (start's day, stop's day], Shanghai dates, as huifang.workdays_between counts
-- them; null (never an error, which would keep a clock from stopping) when the calendar lacks a day.
create or replace function huifang.clock_workdays(p_calendar text, p_started timestamptz, p_stopped timestamptz) returns integer
    language sql stable parallel safe
    as $$
        select huifang.workday_number(p_calendar, (p_stopped at time zone 'Asia/Shanghai')::date)
             - huifang.workday_number(p_calendar, (p_started at time zone 'Asia/Shanghai')::date)
    $$;

create or replace function huifang.timers_count_workdays() returns trigger
    language plpgsql
    as $$
begin
    new.stopped_workdays := case when new.stopped_at is not null
                                 then huifang.clock_workdays(new.calendar, new.started_at, new.stopped_at) end;
    return new;
end
$$;

-- On every update, so the figure can only be the one the clock's own times give.
create or replace trigger timers_count_workdays
    before insert or update on huifang.timers
    for each row execute function huifang.timers_count_workdays();

-- A provisional year replaced by the official calendar renumbers its working days: the stopped
-- clocks that ran through it count again, in the same transaction as the load. Only a load: a later
-- year's count of earlier working days moving with it changes no clock that runs outside the year.
create or replace function huifang.calendar_years_recount_clocks() returns trigger
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
revoke execute on function huifang.calendar_years_recount_clocks() from public;

create or replace trigger calendar_years_recount_clocks
    after update of status, loaded_at on huifang.calendar_years
    for each row execute function huifang.calendar_years_recount_clocks();

-- Starting a clock, in one place, for callers that are not a workflow's trigger (the owner's tools
-- and tests; the workflows insert their clocks from their own security-definer triggers). Internal:
-- the request role may not start a clock of its choosing (0041).
create or replace function huifang.start_clock(
    p_branch integer, p_kind text, p_subject bigint, p_clock text, p_calendar text, p_started_at timestamptz,
    p_workdays integer, p_warning_points numeric[], p_title text, p_notify jsonb, p_escalate_to jsonb)
    returns table (id bigint, due_at timestamptz, provisional boolean)
    language sql
    as $$
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, calendar, started_at, workdays,
                                    warning_points, title, notify, escalate_to)
        values (p_branch, p_kind, p_subject, p_clock, p_calendar, p_started_at, p_workdays, p_warning_points, p_title,
                p_notify, p_escalate_to)
        returning id, due_at, provisional
    $$;
revoke execute on function huifang.start_clock(integer,text,bigint,text,text,timestamptz,integer,numeric[],text,jsonb,jsonb) from public;

-- Stopping a clock, in one place: any clock of the subject not yet stopped, running or done.
-- Returns how many stopped (0 when there was none, or it had stopped already). Internal: called by the
-- workflows' security-definer triggers when their work ends; a request that could call it would stop
-- any clock of its branch as met (0041).
-- PL/pgSQL, like the other functions a step's triggers call once or twice per transaction: a SQL
-- function that PostgreSQL cannot inline is planned again in every transaction that calls it, a
-- PL/pgSQL one keeps its plans for the session (docs/performance.md).
create or replace function huifang.stop_clock(p_branch integer, p_kind text, p_subject bigint, p_reason text, p_clock text default null)
    returns integer
    language plpgsql
    as $$
    declare
        stopped integer;
    begin
        update huifang.timers set state = 'stopped', stopped_at = now(), stop_reason = p_reason, next_fire_at = null
        where branch_id = p_branch and subject_kind = p_kind and subject_id = p_subject
          and (p_clock is null or clock = p_clock) and state <> 'stopped';
        get diagnostics stopped = row_count;
        return stopped;
    end
    $$;
revoke execute on function huifang.stop_clock(integer,text,bigint,text,text) from public, huifang_app;

-- The SLA engine's one statement: claims up to p_limit due stages (FOR UPDATE SKIP LOCKED), records
-- each as an sla_event, writes its notifications and advances the timer, all in the caller's
-- transaction. The only way the request role (as the engine, scope system) writes a timer or an event.
create or replace function huifang.fire_due_timers(p_limit integer)
    returns table (fired integer, notified integer)
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if not huifang.scope_system() then
        raise exception 'only the SLA engine fires timers' using errcode = '42501';
    end if;
    return query
        with due as (
            select t.branch_id, t.id from huifang.timers t
            where t.state = 'running' and t.next_fire_at <= now()
            order by t.next_fire_at
            limit p_limit
            for update skip locked
        ), advanced as (
            update huifang.timers t set
                fired_stages = t.fired_stages || t.stage_names[cardinality(t.fired_stages) + 1],
                next_fire_at = t.stage_at[cardinality(t.fired_stages) + 2],
                state = case when cardinality(t.fired_stages) + 1 < cardinality(t.stage_names) then 'running' else 'done' end
            from due
            where t.branch_id = due.branch_id and t.id = due.id
            returning t.branch_id, t.id, t.subject_kind, t.subject_id, t.clock, t.title, t.notify, t.escalate_to,
                      t.fired_stages[cardinality(t.fired_stages)] as stage,
                      t.stage_at[cardinality(t.fired_stages)] as scheduled_at
        ), events as (
            insert into huifang.sla_events (branch_id, timer_id, stage, scheduled_at, subject_kind, subject_id, clock)
            select a.branch_id, a.id, a.stage, a.scheduled_at, a.subject_kind, a.subject_id, a.clock from advanced a
            -- The stage's time is part of the key since sla_events is partitioned by it (0055).
            on conflict (branch_id, timer_id, stage, scheduled_at) do nothing
            returning branch_id, timer_id, stage
        ), sent as (
            insert into huifang.notifications (
                branch_id, recipient_role, recipient_branch_id, recipient_department_id, kind, title,
                timer_id, stage, subject_kind, subject_id, scheduled_at)
            select a.branch_id, r->>'role', (r->>'branchId')::int, (r->>'departmentId')::int, 'sla',
                   a.title || ': ' || a.stage, a.id, a.stage, a.subject_kind, a.subject_id, a.scheduled_at
            from events e
            join advanced a on a.branch_id = e.branch_id and a.id = e.timer_id and a.stage = e.stage
            cross join lateral jsonb_array_elements(
                case when a.stage = 'escalated' then a.notify || a.escalate_to else a.notify end) r
            -- A recipient naming no branch or department (an HQ department this organization lacks)
            -- is skipped: one bad address must not stop every clock behind it.
            where ((r->>'branchId') is null) <> ((r->>'departmentId') is null)
            returning 1
        )
        select (select count(*) from events)::int, (select count(*) from sent)::int;
end
$$;
comment on function huifang.fire_due_timers(integer) is
    'The SLA engine (scope system): fires up to p_limit due timer stages with their events and notifications; returns (stages fired, notifications written)';
revoke execute on function huifang.fire_due_timers(integer) from public;
grant execute on function huifang.fire_due_timers(integer) to huifang_app;

create or replace function huifang.department_sees_clock(p_branch integer, p_kind text, p_subject bigint, p_holder integer)
    returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select case p_kind
            when 'problem' then p_holder = any (huifang.scope_department_ids())
                or exists (select from huifang.problem_forwardings f
                           where f.branch_id = p_branch and f.problem_id = p_subject
                             and f.department_id = any (huifang.scope_department_ids()))
            when 'problem_forwarding' then p_holder = any (huifang.scope_department_ids())
                or exists (select from huifang.problem_forwardings f
                           join huifang.problems p on p.branch_id = f.branch_id and p.id = f.problem_id
                           where f.branch_id = p_branch and f.id = p_subject
                             and p.department_id = any (huifang.scope_department_ids()))
            when 'evaluation' then p_holder = any (huifang.scope_department_ids())
            when 'evaluation_duty' then p_holder = any (huifang.scope_department_ids())
            when 'record_upload' then exists (
                select from huifang.record_upload_deliveries d
                where d.branch_id = p_branch and d.upload_id = p_subject and d.department_id = any (huifang.scope_department_ids()))
            when 'directive_feedback' then exists (
                select from huifang.directive_feedback x
                where x.branch_id = p_branch and x.id = p_subject and x.department_id = any (huifang.scope_department_ids()))
            else false
        end
    $$
cost 1000;
revoke execute on function huifang.department_sees_clock(integer,text,bigint,integer) from public;
grant execute on function huifang.department_sees_clock(integer,text,bigint,integer) to huifang_app;

-- One upsert per statement, from its transition tables, in key order (so two statements touching
-- the same days wait for each other rather than deadlock).
create or replace function huifang.timers_count_open_days() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    -- Each statement names only the transition tables its operation has.
    if tg_op = 'INSERT' then
        insert into huifang.open_clock_days as d (branch_id, subject_kind, due_on, open)
        select branch_id, subject_kind, (due_at at time zone 'Asia/Shanghai')::date, count(*)::int
        from added where stopped_at is null
        group by 1, 2, 3 order by 1, 2, 3
        on conflict (branch_id, subject_kind, due_on) do update set open = d.open + excluded.open;
        insert into huifang.open_clock_totals (branch_id, subject_kind, open)
        select branch_id, subject_kind, count(*)::int from added where stopped_at is null group by 1, 2;
    elsif tg_op = 'UPDATE' then
        -- Decrements update the days they leave (a CHECK would refuse a negative row proposed to an
        -- upsert before its conflict is seen); increments are upserted into the days they enter.
        with delta as (
            select branch_id, subject_kind, due_on, sum(n)::int as n
            from (select branch_id, subject_kind, (due_at at time zone 'Asia/Shanghai')::date as due_on, -1 as n
                  from removed where stopped_at is null
                  union all
                  select branch_id, subject_kind, (due_at at time zone 'Asia/Shanghai')::date, 1
                  from added where stopped_at is null) u
            group by 1, 2, 3 having sum(n) <> 0
        ), decremented as (
            update huifang.open_clock_days d set open = d.open + x.n
            from delta x
            where x.n < 0 and d.branch_id = x.branch_id and d.subject_kind = x.subject_kind and d.due_on = x.due_on
        )
        , incremented as (
            insert into huifang.open_clock_days as d (branch_id, subject_kind, due_on, open)
            select branch_id, subject_kind, due_on, n from delta where n > 0
            order by 1, 2, 3
            on conflict (branch_id, subject_kind, due_on) do update set open = d.open + excluded.open
        )
        insert into huifang.open_clock_totals (branch_id, subject_kind, open)
        select branch_id, subject_kind, sum(n)::int from delta group by 1, 2 having sum(n) <> 0;
    else
        update huifang.open_clock_days d set open = d.open - r.n
        from (select branch_id, subject_kind, (due_at at time zone 'Asia/Shanghai')::date as due_on, count(*)::int as n
              from removed where stopped_at is null group by 1, 2, 3) r
        where d.branch_id = r.branch_id and d.subject_kind = r.subject_kind and d.due_on = r.due_on;
        insert into huifang.open_clock_totals (branch_id, subject_kind, open)
        select branch_id, subject_kind, -count(*)::int from removed where stopped_at is null group by 1, 2;
    end if;
    return null;
end
$$;
revoke execute on function huifang.timers_count_open_days() from public;

create or replace trigger timers_count_open_days_insert
    after insert on huifang.timers referencing new table as added
    for each statement execute function huifang.timers_count_open_days();

create or replace trigger timers_count_open_days_update
    after update on huifang.timers referencing old table as removed new table as added
    for each statement execute function huifang.timers_count_open_days();

create or replace trigger timers_count_open_days_delete
    after delete on huifang.timers referencing old table as removed
    for each statement execute function huifang.timers_count_open_days();

-- ══ row-level security: huifang.timers ══

drop policy if exists owner_all on huifang.timers;
create policy owner_all on huifang.timers to current_user using (true) with check (true);

-- The engine reads the timers (when the next one is due); it writes them only through
-- huifang.fire_due_timers. Nothing else the request role does writes a timer: the workflows start and
-- stop their clocks in their security-definer triggers, a calendar load moves them in
-- huifang.load_calendar_year, and 0041 revoked every direct write.
drop policy if exists engine on huifang.timers;
create policy engine on huifang.timers for select to huifang_app using ((select huifang.scope_system()));

drop policy if exists read_scoped on huifang.timers;
create policy read_scoped on huifang.timers for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

drop policy if exists write_scoped on huifang.timers;
drop policy if exists update_scoped on huifang.timers;

drop policy if exists read_held on huifang.timers;
-- The holder's own clocks first, as a plain expression: a department's queue of 50,000 open problems
-- must not call a function per row to learn what the clock's own department column says.
create policy read_held on huifang.timers for select to huifang_app
    using (cardinality((select huifang.scope_department_ids())) > 0
           and ((subject_kind in ('problem', 'problem_forwarding', 'evaluation', 'evaluation_duty')
                 and department_id = any ((select huifang.scope_department_ids())::integer[]))
                or huifang.department_sees_clock(branch_id, subject_kind, subject_id, department_id)));

-- ══ row-level security: huifang.sla_events ══

drop policy if exists owner_all on huifang.sla_events;
create policy owner_all on huifang.sla_events to current_user using (true) with check (true);

drop policy if exists engine on huifang.sla_events;
create policy engine on huifang.sla_events for select to huifang_app using ((select huifang.scope_system()));

drop policy if exists read_scoped on huifang.sla_events;
create policy read_scoped on huifang.sla_events for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

-- ══ row-level security: huifang.notifications ══

drop policy if exists owner_all on huifang.notifications;
create policy owner_all on huifang.notifications to current_user using (true) with check (true);

drop policy if exists engine on huifang.notifications;
create policy engine on huifang.notifications to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));

-- A notification is for whoever holds its role where it is addressed, now.
drop policy if exists addressed on huifang.notifications;
create policy addressed on huifang.notifications for select to huifang_app
    using (exists (
        select from huifang.role_grants g
        where g.staff_id = (select huifang.scope_staff_id()) and g.revoked_at is null
          and g.role = notifications.recipient_role
          and (g.branch_id = notifications.recipient_branch_id or g.department_id = notifications.recipient_department_id)));

-- ══ row-level security: huifang.notification_reads ══

drop policy if exists owner_all on huifang.notification_reads;
create policy owner_all on huifang.notification_reads to current_user using (true) with check (true);

drop policy if exists own on huifang.notification_reads;
create policy own on huifang.notification_reads to huifang_app
    using (staff_id = (select huifang.scope_staff_id())) with check (staff_id = (select huifang.scope_staff_id()));

-- A day whose clocks have all stopped keeps its row at 0; past days' empty rows are only read
-- over (HQ's overdue counts read every branch's past days: 42,000 empty rows at national scale).
-- The scheduler deletes them now and then. Safe against the triggers: a decrement only touches a
-- day that still counts its clock (never an empty row), and an increment of a day being deleted
-- waits for the row and then inserts it again (insert … on conflict).
create or replace function huifang.purge_empty_clock_days()
    returns bigint
    language sql security definer
    set search_path = pg_catalog, pg_temp
    as $$
        with purged as (
            delete from huifang.open_clock_days
            where open = 0 and due_on < (now() at time zone 'Asia/Shanghai')::date
            returning 1
        )
        select count(*) from purged
    $$;
comment on function huifang.purge_empty_clock_days() is 'Deletes the past days of open_clock_days that count no open clock';
revoke execute on function huifang.purge_empty_clock_days() from public;
grant execute on function huifang.purge_empty_clock_days() to huifang_app;

-- Folds the rows the trigger appended to open_clock_totals into one per branch and kind, counted
-- again from open_clock_days (so a change the trigger did not see is mended too). One statement
-- reads the days and the rows it replaces in one snapshot; a writer committing meanwhile appends a
-- row this statement neither sees nor deletes. One fold at a time: two would each add their count.
create or replace function huifang.recount_open_clock_totals()
    returns bigint
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    folded bigint;
begin
    if not pg_try_advisory_xact_lock(hashtext('huifang.recount_open_clock_totals')) then
        return 0;
    end if;
    with gone as (
        delete from huifang.open_clock_totals returning 1
    ), counted as (
        insert into huifang.open_clock_totals (branch_id, subject_kind, open)
        select branch_id, subject_kind, sum(open)::int from huifang.open_clock_days group by 1, 2 having sum(open) <> 0
        returning 1
    )
    select (select count(*) from gone) into folded;
    return folded;
end
$$;
comment on function huifang.recount_open_clock_totals() is
    'Replaces the rows of open_clock_totals by one per branch and kind, counted from open_clock_days; how many rows it folded';
revoke execute on function huifang.recount_open_clock_totals() from public;
grant execute on function huifang.recount_open_clock_totals() to huifang_app;

-- ══ row-level security: huifang.open_clock_totals ══

drop policy if exists owner_all on huifang.open_clock_totals;
create policy owner_all on huifang.open_clock_totals to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.open_clock_totals;
create policy read_scoped on huifang.open_clock_totals for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

-- ══ row-level security: huifang.open_clock_days ══

drop policy if exists owner_all on huifang.open_clock_days;
create policy owner_all on huifang.open_clock_days to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.open_clock_days;
create policy read_scoped on huifang.open_clock_days for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
