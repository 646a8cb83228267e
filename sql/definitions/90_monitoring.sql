-- Monitoring figures kept current by triggers (Art 6, 16): per person and month, what was done,
-- returned and raised.
-- Tables: person_month_figures (0027).

-- ══ functions and the triggers that call them ══

-- PL/pgSQL: as SQL it was never inlined (to_char is only stable) and each call ran the executor,
-- 60 µs, twice in each change of a problem's figures.
create or replace function huifang.shanghai_month(p_at timestamptz) returns text
    language plpgsql immutable parallel safe
    as $$ begin return to_char(p_at at time zone 'Asia/Shanghai', 'YYYY-MM'); end $$;

-- What one task, returned record or problem adds to its person's month; `sign` -1 takes it back.
-- No row (all nulls) when it counts for nobody. The triggers and the recount share these. PL/pgSQL:
-- PostgreSQL does not inline a function in FROM that returns one row, so as SQL each call ran the
-- executor (over the default demo's 28,567 tasks: 0.38–0.44 s, 0.12–0.14 s as PL/pgSQL).
create or replace function huifang.person_month_of_task(t huifang.callback_tasks, sign integer) returns huifang.person_month_figures
    language plpgsql immutable
    as $$
    begin
        if t.state is distinct from 'completed' or t.closed_by is null then
            return null;
        end if;
        return row(t.branch_id, t.closed_by, huifang.shanghai_month(t.closed_at), sign, sign * (t.closed_at <= t.due_at)::int, 0, 0, 0, 0, 0);
    end
    $$;

create or replace function huifang.person_month_of_return(g huifang.record_signatures, performer bigint) returns huifang.person_month_figures
    language plpgsql immutable
    as $$
    begin
        if g.step is distinct from 'return' then
            return null;
        end if;
        return row(g.branch_id, performer, huifang.shanghai_month(g.signed_at), 0, 0, 1, 0, 0, 0, 0);
    end
    $$;

create or replace function huifang.person_month_of_problem(p huifang.problems, sign integer) returns huifang.person_month_figures
    language plpgsql immutable
    as $$
    begin
        return row(p.branch_id, p.raised_by, huifang.shanghai_month(p.raised_at), 0, 0, 0, sign,
               sign * (p.state = 'closed' and p.rejection_reason is null)::int, sign * (p.rejection_reason is not null)::int,
               sign * (p.state <> 'closed' and p.rejection_reason is null)::int);
    end
    $$;

-- Adds changes to the figures, summed per (branch, month, person), in key order. A key whose changes
-- cancel out is not written: a statement that moves nothing between the figures (a claim, an
-- assignment: its rows' old and new figures are the same) writes nothing.
create or replace function huifang.person_month_figures_add(p_changes huifang.person_month_figures[]) returns void
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
    begin
        insert into huifang.person_month_figures as f (branch_id, staff_id, month, callbacks_done, callbacks_on_time,
                                                       records_returned, problems_raised, problems_closed, problems_rejected,
                                                       problems_open)
        select c.branch_id, c.staff_id, c.month, sum(c.callbacks_done), sum(c.callbacks_on_time), sum(c.records_returned),
               sum(c.problems_raised), sum(c.problems_closed), sum(c.problems_rejected), sum(c.problems_open)
        from unnest(p_changes) c
        where c.staff_id is not null
        group by c.branch_id, c.month, c.staff_id
        having sum(c.callbacks_done) <> 0 or sum(c.callbacks_on_time) <> 0 or sum(c.records_returned) <> 0
               or sum(c.problems_raised) <> 0 or sum(c.problems_closed) <> 0 or sum(c.problems_rejected) <> 0
               or sum(c.problems_open) <> 0
        order by c.branch_id, c.month, c.staff_id
        on conflict (branch_id, month, staff_id) do update set
            callbacks_done = f.callbacks_done + excluded.callbacks_done,
            callbacks_on_time = f.callbacks_on_time + excluded.callbacks_on_time,
            records_returned = f.records_returned + excluded.records_returned,
            problems_raised = f.problems_raised + excluded.problems_raised,
            problems_closed = f.problems_closed + excluded.problems_closed,
            problems_rejected = f.problems_rejected + excluded.problems_rejected,
            problems_open = f.problems_open + excluded.problems_open;
    end
    $$;
revoke execute on function huifang.person_month_figures_add(huifang.person_month_figures[]) from public;

-- Each statement's transition tables, taken back (old rows) and added (new rows). A statement
-- names only the transition tables its operation has.
create or replace function huifang.callback_tasks_count_people() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if tg_op = 'INSERT' then
        perform huifang.person_month_figures_add(array(
            select c from added a, huifang.person_month_of_task(row(a.*)::huifang.callback_tasks, 1) c));
    else
        perform huifang.person_month_figures_add(array(
            select c from removed r, huifang.person_month_of_task(row(r.*)::huifang.callback_tasks, -1) c
            union all
            select c from added a, huifang.person_month_of_task(row(a.*)::huifang.callback_tasks, 1) c));
    end if;
    return null;
end
$$;
revoke execute on function huifang.callback_tasks_count_people() from public;

create or replace trigger callback_tasks_count_people_insert
    after insert on huifang.callback_tasks referencing new table as added
    for each statement execute function huifang.callback_tasks_count_people();

create or replace trigger callback_tasks_count_people_update
    after update on huifang.callback_tasks referencing old table as removed new table as added
    for each statement execute function huifang.callback_tasks_count_people();

-- Signatures are append-only: a return counts once, for the record's performer.
create or replace function huifang.record_signatures_count_people() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    -- Only a return counts (person_month_of_return): a submit, countersign or archive adds nothing,
    -- and the look-up of each signature's record is skipped.
    if not exists (select from added a where a.step = 'return') then
        return null;
    end if;
    perform huifang.person_month_figures_add(array(
        select c from added a join huifang.records x on x.branch_id = a.branch_id and x.id = a.record_id and x.created_at = a.record_created_at,
               huifang.person_month_of_return(row(a.*)::huifang.record_signatures, x.performer_staff_id) c));
    return null;
end
$$;
revoke execute on function huifang.record_signatures_count_people() from public;

create or replace trigger record_signatures_count_people
    after insert on huifang.record_signatures referencing new table as added
    for each statement execute function huifang.record_signatures_count_people();

create or replace function huifang.problems_count_people() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if tg_op = 'INSERT' then
        perform huifang.person_month_figures_add(array(
            select c from added a, huifang.person_month_of_problem(row(a.*)::huifang.problems, 1) c));
    else
        perform huifang.person_month_figures_add(array(
            select c from removed r, huifang.person_month_of_problem(row(r.*)::huifang.problems, -1) c
            union all
            select c from added a, huifang.person_month_of_problem(row(a.*)::huifang.problems, 1) c));
    end if;
    return null;
end
$$;
revoke execute on function huifang.problems_count_people() from public;

create or replace trigger problems_count_people_insert
    after insert on huifang.problems referencing new table as added
    for each statement execute function huifang.problems_count_people();

create or replace trigger problems_count_people_update
    after update on huifang.problems referencing old table as removed new table as added
    for each statement execute function huifang.problems_count_people();

-- Everything counted again from the rows themselves, with the same rules as the triggers.
create or replace function huifang.recount_person_month_figures() returns void
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    delete from huifang.person_month_figures;
    perform huifang.person_month_figures_add(array(
        select c from huifang.callback_tasks t, huifang.person_month_of_task(t, 1) c where t.state = 'completed'));
    perform huifang.person_month_figures_add(array(
        select c from huifang.record_signatures g
               join huifang.records r on r.branch_id = g.branch_id and r.id = g.record_id and r.created_at = g.record_created_at,
               huifang.person_month_of_return(g, r.performer_staff_id) c
        where g.step = 'return'));
    perform huifang.person_month_figures_add(array(select c from huifang.problems p, huifang.person_month_of_problem(p, 1) c));
end
$$;
revoke execute on function huifang.recount_person_month_figures() from public;

-- ══ row-level security: huifang.person_month_figures ══

drop policy if exists owner_all on huifang.person_month_figures;
create policy owner_all on huifang.person_month_figures to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.person_month_figures;
create policy read_scoped on huifang.person_month_figures for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
