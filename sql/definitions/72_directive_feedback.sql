-- Special callback records going back to the ordering HQ department within 5 working days (Art 14).
-- Tables: directive_feedback (0014).

-- ══ functions and the triggers that call them ══

create or replace function huifang.open_directive_feedback(p_branch integer, p_directive bigint, p_ended_at timestamptz, p_because text)
    returns void
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    package_id bigint;
    directive huifang.directives;
begin
    select * into directive from huifang.directives where id = p_directive;
    if directive.executor <> 'branch' or directive.status <> 'active' then
        return;
    end if;
    insert into huifang.directive_feedback (branch_id, directive_id, department_id, ended_at, ended_because)
    values (p_branch, p_directive, directive.department_id, p_ended_at, p_because)
    on conflict (branch_id, directive_id) do nothing
    returning id into package_id;
    if package_id is not null then
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
        values (p_branch, 'directive_feedback', package_id, 'feedback_due', p_ended_at, 5,
                'Special callback records of directive ' || p_directive || ' back to HQ',
                jsonb_build_array(jsonb_build_object('role', 'ops_director', 'branchId', p_branch)),
                jsonb_build_array(jsonb_build_object('role', 'branch_manager', 'branchId', p_branch),
                                  jsonb_build_object('role', (select case kind when 'sales_trading' then 'sales_trading_hq'
                                                                                when 'risk_control' then 'risk_control_hq'
                                                                                else 'brokerage_ops_center' end
                                                              from huifang.departments where id = directive.department_id),
                                                     'departmentId', directive.department_id)));
    end if;
end
$$;
revoke execute on function huifang.open_directive_feedback(integer,bigint,timestamp with time zone,text) from public;

-- Directives whose due date has passed (Shanghai) end in every branch that had tasks; idempotent.
create or replace function huifang.end_due_directives() returns integer
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    pair record;
    n integer := 0;
begin
    if session_user::text = 'huifang_app' and not huifang.scope_system() then
        raise exception 'directives are ended by the scheduler' using errcode = '42501';
    end if;
    for pair in
        select distinct t.branch_id, d.id, d.due_on
        from huifang.directives d
        join huifang.callback_tasks t on t.directive_id = d.id
        where d.status = 'active' and d.executor = 'branch' and d.due_on < (now() at time zone 'Asia/Shanghai')::date
          -- Older directives ended long ago: every branch of theirs has its package.
          and d.due_on >= (now() at time zone 'Asia/Shanghai')::date - 90
          and not exists (select from huifang.directive_feedback f where f.branch_id = t.branch_id and f.directive_id = d.id)
    loop
        perform huifang.open_directive_feedback(pair.branch_id, pair.id,
            ((pair.due_on + 1)::timestamp at time zone 'Asia/Shanghai') - interval '1 second', 'directive_ended');
        n := n + 1;
    end loop;
    return n;
end
$$;
revoke execute on function huifang.end_due_directives() from public;
grant execute on function huifang.end_due_directives() to huifang_app;

create or replace function huifang.directive_feedback_step() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if new.state = old.state then
        raise exception 'feedback package % is % already', old.id, old.state using errcode = '55000';
    end if;
    if new.state = 'sent' then
        if old.state <> 'pending' then
            raise exception 'feedback package % was sent already', old.id using errcode = '55000';
        end if;
        if not exists (select from huifang.role_grants g where g.staff_id = huifang.scope_staff_id() and g.branch_id = new.branch_id
                       and g.role = 'ops_director' and g.revoked_at is null) then
            raise exception 'the ops director sends the branch''s special records back' using errcode = '42501',
                constraint = 'directive_feedback_sender';
        end if;
        new.sent_by := huifang.scope_staff_id();
        new.sent_at := now();
        select coalesce(array_agg(r.id order by r.id), '{}') into new.record_ids
        from huifang.records r
        where r.branch_id = new.branch_id and r.directive_id = new.directive_id and r.state in ('countersigned', 'archived')
          and not exists (select from huifang.records a where a.branch_id = r.branch_id and a.amends_id = r.id
                          and a.state in ('countersigned', 'archived'));
    elsif new.state = 'acknowledged' then
        if old.state <> 'sent' then
            raise exception 'feedback package % is acknowledged once sent', old.id using errcode = '55000';
        end if;
        if not exists (select from huifang.role_grants g where g.staff_id = huifang.scope_staff_id()
                       and g.department_id = new.department_id and g.revoked_at is null) then
            raise exception 'the ordering department acknowledges its feedback' using errcode = '42501',
                constraint = 'directive_feedback_receiver';
        end if;
        new.acknowledged_by := huifang.scope_staff_id();
        new.acknowledged_at := now();
    else
        raise exception 'a feedback package cannot go back to %', new.state using errcode = '55000';
    end if;
    return new;
end
$$;

create or replace trigger directive_feedback_step
    before update on huifang.directive_feedback
    for each row execute function huifang.directive_feedback_step();

-- From 0014_records.sql.
create or replace function huifang.directive_feedback_stop_timer() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    perform huifang.stop_clock(new.branch_id, 'directive_feedback', new.id, 'feedback sent');
    return null;
end
$$;

create or replace trigger directive_feedback_stop_timer
    after update of state on huifang.directive_feedback
    for each row when (new.state = 'sent' and old.state = 'pending')
    execute function huifang.directive_feedback_stop_timer();

-- ══ row-level security: huifang.directive_feedback ══

drop policy if exists owner_all on huifang.directive_feedback;
create policy owner_all on huifang.directive_feedback to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.directive_feedback;
create policy read_scoped on huifang.directive_feedback for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or department_id = any ((select huifang.scope_department_ids())::integer[]));

drop policy if exists step_scoped on huifang.directive_feedback;
create policy step_scoped on huifang.directive_feedback for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or department_id = any ((select huifang.scope_department_ids())::integer[]));
