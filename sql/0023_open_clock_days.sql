-- HQ's "how many overdue, where" without counting every open clock of the country each time: how
-- many clocks are open per branch, kind and deadline day (Shanghai), kept in the transaction that
-- starts, moves or stops a clock. A day before today holds only overdue clocks; today's deadlines
-- are counted from the clocks themselves, as the hour passes. So the figure is always current —
-- nothing here is cached, only summed ahead.

create table huifang.open_clock_days (
    branch_id integer not null references huifang.branches,
    subject_kind text not null,
    due_on date not null,
    open integer not null check (open >= 0),
    primary key (branch_id, subject_kind, due_on)
);

comment on table huifang.open_clock_days is
    'Open (not stopped) clocks per branch, kind and the Shanghai date of their deadline; kept by triggers on timers';

alter table huifang.open_clock_days enable row level security;
alter table huifang.open_clock_days force row level security;
create policy owner_all on huifang.open_clock_days to current_user using (true) with check (true);
create policy read_scoped on huifang.open_clock_days for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
grant select on huifang.open_clock_days to huifang_app;

-- One upsert per statement, from its transition tables, in key order (so two statements touching
-- the same days wait for each other rather than deadlock).
create function huifang.timers_count_open_days() returns trigger
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
        insert into huifang.open_clock_days as d (branch_id, subject_kind, due_on, open)
        select branch_id, subject_kind, due_on, n from delta where n > 0
        order by 1, 2, 3
        on conflict (branch_id, subject_kind, due_on) do update set open = d.open + excluded.open;
    else
        update huifang.open_clock_days d set open = d.open - r.n
        from (select branch_id, subject_kind, (due_at at time zone 'Asia/Shanghai')::date as due_on, count(*)::int as n
              from removed where stopped_at is null group by 1, 2, 3) r
        where d.branch_id = r.branch_id and d.subject_kind = r.subject_kind and d.due_on = r.due_on;
    end if;
    return null;
end
$$;

create trigger timers_count_open_days_insert
    after insert on huifang.timers referencing new table as added
    for each statement execute function huifang.timers_count_open_days();
create trigger timers_count_open_days_update
    after update on huifang.timers referencing old table as removed new table as added
    for each statement execute function huifang.timers_count_open_days();
create trigger timers_count_open_days_delete
    after delete on huifang.timers referencing old table as removed
    for each statement execute function huifang.timers_count_open_days();

revoke execute on function huifang.timers_count_open_days() from public;

insert into huifang.open_clock_days (branch_id, subject_kind, due_on, open)
select branch_id, subject_kind, (due_at at time zone 'Asia/Shanghai')::date, count(*)
from huifang.timers where stopped_at is null
group by 1, 2, 3;
