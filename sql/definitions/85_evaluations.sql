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
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
        values (new.branch_id, 'evaluation', new.id, 'evaluation_publish', new.closed_at, 10,
                'Publish the ' || new.year || ' evaluation of branch ' || (select code from huifang.branches where id = new.branch_id),
                jsonb_build_array(jsonb_build_object('role', huifang.triage_role(new.department_id), 'departmentId', new.department_id)),
                jsonb_build_array(jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                    (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active'))));
    elsif new.state = 'published' then
        update huifang.timers set state = 'stopped', stopped_at = now(), stop_reason = 'published', next_fire_at = null
        where branch_id = new.branch_id and subject_kind = 'evaluation' and subject_id = new.id and state <> 'stopped';
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
