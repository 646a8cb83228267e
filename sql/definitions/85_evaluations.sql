-- HQ's yearly evaluation of each branch's callback work (Art 6, 16).
-- Tables: evaluation_criteria, evaluations, evaluation_scores, evaluation_findings (0017).

-- ══ functions and the triggers that call them ══

-- Who acts: someone of the evaluating department, holding its HQ role; the steps in order; scores
-- within the criterion's maximum; nothing changes once closed except publishing.
create or replace function huifang.evaluations_check() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    actor bigint := huifang.scope_staff_id();
    unscored text;
begin
    if not exists (select from huifang.role_grants g where g.staff_id = actor and g.department_id = new.department_id
                   and g.revoked_at is null and g.role in ('brokerage_ops_center', 'risk_control_hq', 'sales_trading_hq')) then
        raise exception 'an evaluation is made by its HQ department' using errcode = '42501', constraint = 'evaluations_actor';
    end if;
    if tg_op = 'INSERT' then
        new.state := 'open';
        new.opened_by := actor;
        new.opened_at := now();
        return new;
    end if;
    if (new.branch_id, new.department_id, new.year, new.opened_by, new.opened_at)
       is distinct from (old.branch_id, old.department_id, old.year, old.opened_by, old.opened_at) then
        raise exception 'what an evaluation is about never changes' using errcode = '55000', constraint = 'evaluations_fixed';
    end if;
    if old.state = 'open' and new.state = 'closed' then
        select string_agg(c.code, ', ' order by c.position) into unscored
        from huifang.evaluation_criteria c
        where not exists (select from huifang.evaluation_scores x
                          where x.branch_id = new.branch_id and x.evaluation_id = new.id and x.criterion = c.code);
        if unscored is not null then
            raise exception 'evaluation % lacks a score for %', new.id, unscored
                using errcode = '23514', constraint = 'evaluations_scored';
        end if;
        new.closed_by := actor;
        new.closed_at := now();
    elsif old.state = 'closed' and new.state = 'published' then
        if new.summary is null or btrim(new.summary) = '' then
            raise exception 'a published result has a summary' using errcode = '23514', constraint = 'evaluations_transition';
        end if;
        new.published_by := actor;
        new.published_at := now();
    else
        raise exception 'an evaluation that is % cannot become %', old.state, new.state
            using errcode = '23514', constraint = 'evaluations_transition';
    end if;
    return new;
end
$$;
revoke execute on function huifang.evaluations_check() from public;

create or replace trigger evaluations_check
    before insert or update on huifang.evaluations
    for each row execute function huifang.evaluations_check();

create or replace function huifang.evaluation_parts_check() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    evaluation huifang.evaluations;
    row_branch integer := case when tg_op = 'DELETE' then old.branch_id else new.branch_id end;
    row_evaluation bigint := case when tg_op = 'DELETE' then old.evaluation_id else new.evaluation_id end;
begin
    select * into evaluation from huifang.evaluations where branch_id = row_branch and id = row_evaluation;
    if not found or not exists (select from huifang.role_grants g where g.staff_id = huifang.scope_staff_id()
                   and g.department_id = evaluation.department_id and g.revoked_at is null
                   and g.role in ('brokerage_ops_center', 'risk_control_hq', 'sales_trading_hq')) then
        raise exception 'an evaluation is made by its HQ department' using errcode = '42501', constraint = 'evaluations_actor';
    end if;
    if evaluation.state <> 'open' then
        raise exception 'evaluation % is % and no longer changes', evaluation.id, evaluation.state
            using errcode = '55000', constraint = 'evaluations_fixed';
    end if;
    -- Nested, so each table's own fields are read only for that table.
    if tg_table_name = 'evaluation_scores' and tg_op <> 'DELETE' then
        if new.score > (select c.max_score from huifang.evaluation_criteria c where c.code = new.criterion) then
            raise exception 'criterion % is scored at most %', new.criterion,
                (select c.max_score from huifang.evaluation_criteria c where c.code = new.criterion)
                using errcode = '23514', constraint = 'evaluation_scores_range';
        end if;
    end if;
    if tg_table_name = 'evaluation_findings' and tg_op = 'INSERT' then
        new.recorded_by := huifang.scope_staff_id();
    end if;
    return case when tg_op = 'DELETE' then old else new end;
end
$$;
revoke execute on function huifang.evaluation_parts_check() from public;

create or replace trigger evaluation_scores_check
    before insert or update or delete on huifang.evaluation_scores
    for each row execute function huifang.evaluation_parts_check();

create or replace trigger evaluation_findings_check
    before insert or update or delete on huifang.evaluation_findings
    for each row execute function huifang.evaluation_parts_check();

-- Closing starts the 10-working-day publishing clock; publishing stops it.
create or replace function huifang.evaluations_clock() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if new.state = 'closed' then
        perform huifang.stop_clock(new.branch_id, 'evaluation_duty', d.id, 'evaluated', 'evaluation_due')
        from huifang.evaluation_duties d
        where d.branch_id = new.branch_id and d.department_id = new.department_id and d.year = new.year;
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
        values (new.branch_id, 'evaluation', new.id, 'evaluation_publish', new.closed_at, 10,
                'Publish the ' || new.year || ' evaluation of branch ' || (select code from huifang.branches where id = new.branch_id),
                jsonb_build_array(jsonb_build_object('role', huifang.triage_role(new.department_id), 'departmentId', new.department_id)),
                jsonb_build_array(jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                    (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active'))));
    elsif new.state = 'published' then
        perform huifang.stop_clock(new.branch_id, 'evaluation', new.id, 'published');
        perform huifang.notify_handoff(new.branch_id, 'branch_manager', new.branch_id, null,
                                       'The ' || new.year || ' evaluation of your branch is published', 'evaluation', new.id);
    end if;
    return null;
end
$$;
revoke execute on function huifang.evaluations_clock() from public;

create or replace trigger evaluations_clock
    after update of state on huifang.evaluations
    for each row when (new.state is distinct from old.state)
    execute function huifang.evaluations_clock();

-- Art 16: a duty per evaluating department (Ops Center, Risk Control HQ, S&T HQ) and active branch
-- for `p_year`, each with a clock due at 24:00 of the year's last working day (counted, as every
-- deadline, in working days after the start: here from the last day of the year before). Run by
-- the obligation generator; idempotent, so a branch opened mid-year gets its duties on the next run.
create or replace function huifang.open_evaluation_duties(p_year integer) returns integer
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    opened integer;
    -- Every duty of the year is due after the same number of working days.
    workdays integer := huifang.workdays_between('cn_workday', make_date(p_year - 1, 12, 31), make_date(p_year, 12, 31));
begin
    with duties as (
        insert into huifang.evaluation_duties (branch_id, department_id, year)
        select b.id, d.id, p_year
        from huifang.branches b
        cross join huifang.departments d
        where b.status = 'active' and d.status = 'active' and d.kind in ('brokerage_ops_center', 'risk_control', 'sales_trading')
        on conflict do nothing
        returning branch_id, id, department_id
    ), clocks as (
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
        select u.branch_id, 'evaluation_duty', u.id, 'evaluation_due',
               (make_date(p_year - 1, 12, 31) + time '12:00') at time zone 'Asia/Shanghai',
               workdays,
               'Evaluate the ' || p_year || ' callback work of branch ' || b.code || ' (' || d.code || ')',
               jsonb_build_array(jsonb_build_object('role', huifang.triage_role(u.department_id), 'departmentId', u.department_id)),
               jsonb_build_array(jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                   (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active')))
        from duties u
        join huifang.branches b on b.id = u.branch_id
        join huifang.departments d on d.id = u.department_id
        returning 1
    )
    select count(*) into opened from clocks;
    return opened;
end
$$;
revoke execute on function huifang.open_evaluation_duties(integer) from public;
grant execute on function huifang.open_evaluation_duties(integer) to huifang_app;

-- ══ row-level security: huifang.evaluations ══

drop policy if exists owner_all on huifang.evaluations;
create policy owner_all on huifang.evaluations to current_user using (true) with check (true);

-- The evaluating department its own; auditors all; the branch its published results.
drop policy if exists read_scoped on huifang.evaluations;
create policy read_scoped on huifang.evaluations for select to huifang_app
    using (department_id = any ((select huifang.scope_department_ids())::integer[]) or (select huifang.scope_all_branches())
           or (state = 'published' and branch_id = any ((select huifang.scope_branch_ids())::integer[])));

drop policy if exists write_own on huifang.evaluations;
create policy write_own on huifang.evaluations for insert to huifang_app
    with check (department_id = any ((select huifang.scope_department_ids())::integer[]));

drop policy if exists step_own on huifang.evaluations;
create policy step_own on huifang.evaluations for update to huifang_app
    using (department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (department_id = any ((select huifang.scope_department_ids())::integer[]));

-- ══ row-level security: huifang.evaluation_scores ══

drop policy if exists owner_all on huifang.evaluation_scores;
create policy owner_all on huifang.evaluation_scores to current_user using (true) with check (true);

drop policy if exists follows_evaluation on huifang.evaluation_scores;
create policy follows_evaluation on huifang.evaluation_scores for select to huifang_app
    using (exists (select from huifang.evaluations e where e.branch_id = evaluation_scores.branch_id and e.id = evaluation_scores.evaluation_id));

drop policy if exists write_own on huifang.evaluation_scores;
create policy write_own on huifang.evaluation_scores to huifang_app
    using (exists (select from huifang.evaluations e where e.branch_id = evaluation_scores.branch_id and e.id = evaluation_scores.evaluation_id
                   and e.department_id = any ((select huifang.scope_department_ids())::integer[])))
    with check (exists (select from huifang.evaluations e where e.branch_id = evaluation_scores.branch_id
                        and e.id = evaluation_scores.evaluation_id
                        and e.department_id = any ((select huifang.scope_department_ids())::integer[])));

-- ══ row-level security: huifang.evaluation_findings ══

drop policy if exists owner_all on huifang.evaluation_findings;
create policy owner_all on huifang.evaluation_findings to current_user using (true) with check (true);

drop policy if exists follows_evaluation on huifang.evaluation_findings;
create policy follows_evaluation on huifang.evaluation_findings for select to huifang_app
    using (exists (select from huifang.evaluations e where e.branch_id = evaluation_findings.branch_id and e.id = evaluation_findings.evaluation_id));

drop policy if exists write_own on huifang.evaluation_findings;
create policy write_own on huifang.evaluation_findings for insert to huifang_app
    with check (exists (select from huifang.evaluations e where e.branch_id = evaluation_findings.branch_id
                        and e.id = evaluation_findings.evaluation_id
                        and e.department_id = any ((select huifang.scope_department_ids())::integer[])));

-- ══ row-level security: huifang.evaluation_duties ══

drop policy if exists owner_all on huifang.evaluation_duties;
create policy owner_all on huifang.evaluation_duties to current_user using (true) with check (true);

-- The department that owes it, HQ readers of every branch, and the branch itself.
drop policy if exists read_scoped on huifang.evaluation_duties;
create policy read_scoped on huifang.evaluation_duties for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or department_id = any ((select huifang.scope_department_ids())::integer[]));
