-- A branch's people in a month (Art 19): callbacks done and on time, records sent back, problems
-- raised and how they stand, kept per branch, person and month (Shanghai) in the transaction that
-- changes them. The people report then reads a row per person instead of every task, signature and
-- problem of the month — and row-level security checks those few rows, not hundreds.
--
-- Loaders that write history with the workflow triggers off (the demo, some tests) call
-- huifang.recount_person_month_figures() afterwards.

create table huifang.person_month_figures (
    branch_id integer not null references huifang.branches,
    staff_id bigint not null references huifang.staff,
    month text not null check (month ~ '^\d{4}-(0[1-9]|1[0-2])$'),
    callbacks_done integer not null default 0,
    callbacks_on_time integer not null default 0,
    records_returned integer not null default 0,
    problems_raised integer not null default 0,
    problems_closed integer not null default 0,
    problems_rejected integer not null default 0,
    problems_open integer not null default 0,
    primary key (branch_id, month, staff_id)
);

comment on table huifang.person_month_figures is
    'Per branch, person and Shanghai month: callbacks done (on time), records returned, problems raised by outcome; kept by triggers';

alter table huifang.person_month_figures enable row level security;
alter table huifang.person_month_figures force row level security;
create policy owner_all on huifang.person_month_figures to current_user using (true) with check (true);
create policy read_scoped on huifang.person_month_figures for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
grant select on huifang.person_month_figures to huifang_app;

create function huifang.shanghai_month(p_at timestamptz) returns text
    language sql immutable parallel safe
    as $$ select to_char(p_at at time zone 'Asia/Shanghai', 'YYYY-MM') $$;

-- Adds one statement's changes, (branch, person, month) with the seven deltas, in key order.
create function huifang.person_month_figures_add(
    p_branch integer[], p_staff bigint[], p_month text[], p_done integer[], p_on_time integer[], p_returned integer[],
    p_raised integer[], p_closed integer[], p_rejected integer[], p_open integer[]) returns void
    language sql security definer
    set search_path = pg_catalog, pg_temp
    as $$
        insert into huifang.person_month_figures as f (branch_id, staff_id, month, callbacks_done, callbacks_on_time,
                                                       records_returned, problems_raised, problems_closed, problems_rejected,
                                                       problems_open)
        select d.b, d.s, d.m, sum(d.done), sum(d.on_time), sum(d.returned), sum(d.raised), sum(d.closed), sum(d.rejected), sum(d.open)
        from unnest(p_branch, p_staff, p_month, p_done, p_on_time, p_returned, p_raised, p_closed, p_rejected, p_open)
             as d(b, s, m, done, on_time, returned, raised, closed, rejected, open)
        where d.s is not null
        group by d.b, d.m, d.s
        having sum(abs(d.done)) + sum(abs(d.on_time)) + sum(abs(d.returned)) + sum(abs(d.raised)) + sum(abs(d.closed))
               + sum(abs(d.rejected)) + sum(abs(d.open)) > 0
        order by d.b, d.m, d.s
        on conflict (branch_id, month, staff_id) do update set
            callbacks_done = f.callbacks_done + excluded.callbacks_done,
            callbacks_on_time = f.callbacks_on_time + excluded.callbacks_on_time,
            records_returned = f.records_returned + excluded.records_returned,
            problems_raised = f.problems_raised + excluded.problems_raised,
            problems_closed = f.problems_closed + excluded.problems_closed,
            problems_rejected = f.problems_rejected + excluded.problems_rejected,
            problems_open = f.problems_open + excluded.problems_open
    $$;

-- Callbacks: a completed task counts for whoever closed it, in the month they did.
create function huifang.callback_tasks_count_people() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    r record;
begin
    if tg_op = 'INSERT' then
        select array_agg(branch_id) b, array_agg(closed_by) s, array_agg(huifang.shanghai_month(closed_at)) m,
               array_agg(1) done, array_agg((closed_at <= due_at)::int) on_time into r
        from added where state = 'completed' and closed_by is not null;
    else
        select array_agg(x.branch_id) b, array_agg(x.closed_by) s, array_agg(huifang.shanghai_month(x.closed_at)) m,
               array_agg(x.sign) done, array_agg(x.sign * (x.closed_at <= x.due_at)::int) on_time into r
        from (select branch_id, closed_by, closed_at, due_at, -1 as sign from removed where state = 'completed' and closed_by is not null
              union all
              select branch_id, closed_by, closed_at, due_at, 1 from added where state = 'completed' and closed_by is not null) x;
    end if;
    if r.b is not null then
        perform huifang.person_month_figures_add(
            r.b, r.s, r.m, r.done, r.on_time, array_fill(0, array[cardinality(r.b)]), array_fill(0, array[cardinality(r.b)]),
            array_fill(0, array[cardinality(r.b)]), array_fill(0, array[cardinality(r.b)]), array_fill(0, array[cardinality(r.b)]));
    end if;
    return null;
end
$$;

create trigger callback_tasks_count_people_insert
    after insert on huifang.callback_tasks referencing new table as added
    for each statement execute function huifang.callback_tasks_count_people();
create trigger callback_tasks_count_people_update
    after update on huifang.callback_tasks referencing old table as removed new table as added
    for each statement execute function huifang.callback_tasks_count_people();

-- A record sent back counts for its performer, in the month it was returned (signatures are
-- append-only).
create function huifang.record_signatures_count_people() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    r record;
begin
    select array_agg(a.branch_id) b, array_agg(x.performer_staff_id) s, array_agg(huifang.shanghai_month(a.signed_at)) m into r
    from added a join huifang.records x on x.branch_id = a.branch_id and x.id = a.record_id
    where a.step = 'return';
    if r.b is not null then
        perform huifang.person_month_figures_add(
            r.b, r.s, r.m, array_fill(0, array[cardinality(r.b)]), array_fill(0, array[cardinality(r.b)]),
            array_fill(1, array[cardinality(r.b)]), array_fill(0, array[cardinality(r.b)]), array_fill(0, array[cardinality(r.b)]),
            array_fill(0, array[cardinality(r.b)]), array_fill(0, array[cardinality(r.b)]));
    end if;
    return null;
end
$$;

create trigger record_signatures_count_people
    after insert on huifang.record_signatures referencing new table as added
    for each statement execute function huifang.record_signatures_count_people();

-- Problems count for who raised them, in the month they were raised: closed, rejected or open.
create function huifang.problems_count_people() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    r record;
begin
    if tg_op = 'INSERT' then
        select array_agg(branch_id) b, array_agg(raised_by) s, array_agg(huifang.shanghai_month(raised_at)) m,
               array_agg(1) raised, array_agg((state = 'closed' and rejection_reason is null)::int) closed,
               array_agg((rejection_reason is not null)::int) rejected,
               array_agg((state <> 'closed' and rejection_reason is null)::int) open into r
        from added;
    else
        select array_agg(x.branch_id) b, array_agg(x.raised_by) s, array_agg(huifang.shanghai_month(x.raised_at)) m,
               array_agg(x.sign) raised, array_agg(x.sign * (x.state = 'closed' and x.rejection_reason is null)::int) closed,
               array_agg(x.sign * (x.rejection_reason is not null)::int) rejected,
               array_agg(x.sign * (x.state <> 'closed' and x.rejection_reason is null)::int) open into r
        from (select branch_id, raised_by, raised_at, state, rejection_reason, -1 as sign from removed
              union all
              select branch_id, raised_by, raised_at, state, rejection_reason, 1 from added) x;
    end if;
    if r.b is not null then
        perform huifang.person_month_figures_add(
            r.b, r.s, r.m, array_fill(0, array[cardinality(r.b)]), array_fill(0, array[cardinality(r.b)]),
            array_fill(0, array[cardinality(r.b)]), r.raised, r.closed, r.rejected, r.open);
    end if;
    return null;
end
$$;

create trigger problems_count_people_insert
    after insert on huifang.problems referencing new table as added
    for each statement execute function huifang.problems_count_people();
create trigger problems_count_people_update
    after update on huifang.problems referencing old table as removed new table as added
    for each statement execute function huifang.problems_count_people();

-- Everything counted again from the rows themselves.
create function huifang.recount_person_month_figures() returns void
    language sql security definer
    set search_path = pg_catalog, pg_temp
    as $$
        delete from huifang.person_month_figures;
        insert into huifang.person_month_figures (branch_id, staff_id, month, callbacks_done, callbacks_on_time, records_returned,
                                                  problems_raised, problems_closed, problems_rejected, problems_open)
        select branch_id, staff_id, month, sum(done), sum(on_time), sum(returned), sum(raised), sum(closed), sum(rejected), sum(open)
        from (
            select branch_id, closed_by as staff_id, huifang.shanghai_month(closed_at) as month, 1 as done,
                   (closed_at <= due_at)::int as on_time, 0 as returned, 0 as raised, 0 as closed, 0 as rejected, 0 as open
            from huifang.callback_tasks where state = 'completed' and closed_by is not null
            union all
            select g.branch_id, r.performer_staff_id, huifang.shanghai_month(g.signed_at), 0, 0, 1, 0, 0, 0, 0
            from huifang.record_signatures g join huifang.records r on r.branch_id = g.branch_id and r.id = g.record_id
            where g.step = 'return'
            union all
            select branch_id, raised_by, huifang.shanghai_month(raised_at), 0, 0, 0, 1,
                   (state = 'closed' and rejection_reason is null)::int, (rejection_reason is not null)::int,
                   (state <> 'closed' and rejection_reason is null)::int
            from huifang.problems
        ) x
        group by branch_id, month, staff_id
    $$;

revoke execute on function huifang.person_month_figures_add(integer[], bigint[], text[], integer[], integer[], integer[], integer[],
    integer[], integer[], integer[]), huifang.callback_tasks_count_people(), huifang.record_signatures_count_people(),
    huifang.problems_count_people(), huifang.recount_person_month_figures() from public;

select huifang.recount_person_month_figures();
