-- Who may see and do what (Art 3, 12, 13; BRIEF §2): the request's scope (staff, branches,
-- departments, action) set by the server per transaction, and the row-level security of the
-- organization itself. Every policy in the other files reads these scope_* functions.
-- Tables: branches, departments, staff, role_grants (0003, 0028).

-- ══ functions and the triggers that call them ══

create or replace function huifang.scope_staff_id() returns bigint
    language sql stable parallel safe
    as $$ select nullif(current_setting('huifang.staff_id', true), '')::bigint $$;
grant execute on function huifang.scope_staff_id() to huifang_app;

create or replace function huifang.scope_branch_ids() returns integer[]
    language sql stable parallel safe
    as $$ select coalesce(nullif(current_setting('huifang.branch_ids', true), '')::integer[], '{}') $$;
comment on function huifang.scope_branch_ids() is
    'Branches the current transaction may act in (setting huifang.branch_ids, e.g. {3,7}); empty when unset';
grant execute on function huifang.scope_branch_ids() to huifang_app;

create or replace function huifang.scope_all_branches() returns boolean
    language sql stable parallel safe
    as $$ select coalesce(current_setting('huifang.all_branches', true) = 'on', false) $$;
grant execute on function huifang.scope_all_branches() to huifang_app;

create or replace function huifang.scope_org_admin() returns boolean
    language sql stable parallel safe
    as $$ select coalesce(current_setting('huifang.org_admin', true) = 'on', false) $$;
grant execute on function huifang.scope_org_admin() to huifang_app;

-- An HQ role needs a department of the matching kind (auditor and admin: any department).
create or replace function huifang.role_grants_check_department() returns trigger
    language plpgsql
    as $$
declare
    department_kind text;
    wanted text := case new.role
        when 'sales_trading_hq' then 'sales_trading'
        when 'call_center' then 'call_center'
        when 'brokerage_ops_center' then 'brokerage_ops_center'
        when 'risk_control_hq' then 'risk_control'
        when 'functional_dept' then 'functional'
    end;
begin
    if new.department_id is null or wanted is null then
        return new;
    end if;
    select kind into department_kind from huifang.departments where id = new.department_id;
    if department_kind is distinct from wanted then
        raise exception 'role % needs a department of kind %, not %', new.role, wanted, department_kind
            using errcode = '23514', constraint = 'role_grants_department_kind';
    end if;
    return new;
end
$$;

create or replace trigger role_grants_check_department
    before insert or update of role, department_id on huifang.role_grants
    for each row execute function huifang.role_grants_check_department();

create or replace function huifang.scope_system() returns boolean
    language sql stable parallel safe
    as $$ select coalesce(current_setting('huifang.system', true) = 'on', false) $$;
comment on function huifang.scope_system() is
    'The SLA engine (timer workers, calendar recomputation): reaches every timer, event and notification';
grant execute on function huifang.scope_system() to huifang_app;

create or replace function huifang.scope_department_ids() returns integer[]
    language sql stable parallel safe
    as $$ select coalesce(nullif(current_setting('huifang.department_ids', true), '')::integer[], '{}') $$;
comment on function huifang.scope_department_ids() is
    'HQ departments whose own work the transaction reaches (a call center''s queue, S&T HQ''s directives)';
grant execute on function huifang.scope_department_ids() to huifang_app;

create or replace function huifang.scope_action() returns text
    language sql stable parallel safe
    as $$ select coalesce(current_setting('huifang.action', true), '') $$;
grant execute on function huifang.scope_action() to huifang_app;

create or replace function huifang.staff_serves_branch(p_staff_id bigint, p_branch_id integer) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.staff s where s.id = p_staff_id and s.home_branch_id = p_branch_id)
            or exists (select from huifang.role_grants g
                       where g.staff_id = p_staff_id and g.branch_id = p_branch_id and g.revoked_at is null)
    $$;
comment on function huifang.staff_serves_branch(bigint, integer) is
    'Whether a staff member belongs to a branch (home branch, or an active role there): who may refer its clients or stand behind its brokers';
revoke execute on function huifang.staff_serves_branch(bigint,integer) from public;
grant execute on function huifang.staff_serves_branch(bigint,integer) to huifang_app;

create or replace function huifang.refuse_staff_of_another_branch() returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $$
declare
    staff_column constant text := tg_argv[0];
    staff_id bigint := (to_jsonb(new) ->> staff_column)::bigint;
begin
    if not huifang.staff_serves_branch(staff_id, new.branch_id) then
        raise foreign_key_violation using
            message = format('insert or update on table "%s" violates foreign key constraint "%s_%s_fkey"',
                             tg_table_name, tg_table_name, staff_column),
            detail = format('Key (%s)=(%s) is not present in table "staff".', staff_column, staff_id),
            constraint = format('%s_%s_fkey', tg_table_name, staff_column),
            table = tg_table_name, schema = tg_table_schema;
    end if;
    return new;
end
$$;

create or replace trigger clients_referrer_of_the_branch
    before insert or update of referrer_staff_id, branch_id on huifang.clients
    for each row when (new.referrer_staff_id is not null)
    execute function huifang.refuse_staff_of_another_branch('referrer_staff_id');

create or replace trigger brokers_staff_of_the_branch
    before insert or update of staff_id, branch_id on huifang.brokers
    for each row when (new.staff_id is not null)
    execute function huifang.refuse_staff_of_another_branch('staff_id');

-- Issue 19 A5: the work a person holds goes back to its queue as soon as they may no longer hold it —
-- deactivated, or a grant it depended on revoked or changed — in the transaction of that change, so no
-- code path can forget it: open tasks (assigned, in progress) back to the branch's or call center's
-- queue, claimed problems back to unclaimed, acknowledged forwardings back to received. Whoever holds
-- each queue is notified (the outbox, huifang.notify_handoff) and each branch touched gets one audit
-- event 'staff.work_released'. What the person may still hold elsewhere stays theirs.
create or replace function huifang.release_work_of(p_staff bigint, p_cause text, p_grant bigint default null) returns integer
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    item record;
    kinds text[] := '{}';
    branches integer[] := '{}';
    ids bigint[] := '{}';
begin
    for item in
        update huifang.callback_tasks t set state = 'open'
        where t.assignee_staff_id = p_staff and t.state in ('assigned', 'in_progress')
          and not huifang.may_perform_task(p_staff, t.branch_id, t.executor_department_id)
        returning t.branch_id, t.id, t.owner_role, t.executor_department_id
    loop
        -- The branch's owning role, or the call center that executes it.
        perform huifang.notify_handoff(item.branch_id,
                                       case when item.executor_department_id is null then item.owner_role else 'call_center' end,
                                       case when item.executor_department_id is null then item.branch_id end,
                                       item.executor_department_id,
                                       'Task ' || item.id || ' is back in the queue: its assignee left (' || p_cause || ')',
                                       'callback_task', item.id);
        kinds := kinds || 'tasks'::text; branches := branches || item.branch_id; ids := ids || item.id;
    end loop;
    for item in
        update huifang.problems p set last_action = 'release'
        where p.assignee_staff_id = p_staff and p.state <> 'closed'
          and not huifang.may_work_for_department(p_staff, p.department_id)
        returning p.branch_id, p.id, p.department_id
    loop
        perform huifang.notify_handoff(item.branch_id, huifang.triage_role(item.department_id), null, item.department_id,
                                       'Problem ' || item.id || ' is unclaimed again: its assignee left (' || p_cause || ')',
                                       'problem', item.id);
        kinds := kinds || 'problems'::text; branches := branches || item.branch_id; ids := ids || item.id;
    end loop;
    for item in
        update huifang.problem_forwardings f set state = 'received'
        where f.acknowledged_by = p_staff and f.state = 'acknowledged'
          and not huifang.may_work_for_department(p_staff, f.department_id, 'functional_dept')
        returning f.branch_id, f.id, f.problem_id, f.department_id
    loop
        perform huifang.notify_handoff(item.branch_id, 'functional_dept', null, item.department_id,
                                       'Problem ' || item.problem_id || ': the forwarding is unclaimed again, its acknowledger left ('
                                           || p_cause || ')',
                                       'problem_forwarding', item.id);
        kinds := kinds || 'forwardings'::text; branches := branches || item.branch_id; ids := ids || item.id;
    end loop;
    insert into huifang.audit_events (actor_staff_id, branch_id, action, object_type, object_id, reason, detail)
    select huifang.scope_staff_id(), x.branch_id, 'staff.work_released', 'staff', p_staff::text, p_cause,
           jsonb_strip_nulls(jsonb_build_object(
               'grant_id', p_grant,
               'tasks', jsonb_agg(x.id order by x.id) filter (where x.kind = 'tasks'),
               'problems', jsonb_agg(x.id order by x.id) filter (where x.kind = 'problems'),
               'forwardings', jsonb_agg(x.id order by x.id) filter (where x.kind = 'forwardings')))
    from unnest(kinds, branches, ids) as x(kind, branch_id, id)
    group by x.branch_id
    order by x.branch_id;
    return cardinality(ids);
end
$$;
comment on function huifang.release_work_of(bigint, text, bigint) is
    'Puts back in their queues the tasks, problems and forwardings a staff member may no longer hold, notifying and auditing it; run by the triggers on staff and role_grants';
revoke execute on function huifang.release_work_of(bigint,text,bigint) from public;

create or replace function huifang.staff_release_work() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    perform huifang.release_work_of(new.id, 'staff member ' || new.id || ' is ' || new.status);
    return null;
end
$$;
revoke execute on function huifang.staff_release_work() from public;

create or replace trigger staff_release_work
    after update of status on huifang.staff
    for each row when (new.status <> 'active' and old.status = 'active')
    execute function huifang.staff_release_work();

-- Any change of a grant that can take a role away (revoked, or its role or place changed; deleted by
-- the owner): whatever its holder may no longer hold goes back.
create or replace function huifang.role_grants_release_work() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    perform huifang.release_work_of(old.staff_id,
        'role ' || old.role || ' (grant ' || old.id || ') ' || case when tg_op = 'DELETE' then 'deleted'
                                                                   when new.revoked_at is not null then 'revoked' else 'changed' end,
        old.id);
    return null;
end
$$;
revoke execute on function huifang.role_grants_release_work() from public;

create or replace trigger role_grants_release_work
    after update of revoked_at, role, staff_id, branch_id, department_id or delete on huifang.role_grants
    for each row execute function huifang.role_grants_release_work();

-- ══ row-level security: huifang.branches ══

drop policy if exists owner_all on huifang.branches;
create policy owner_all on huifang.branches to current_user using (true) with check (true);

-- The organization chart is readable by every signed-in request; only organization admins change it.
drop policy if exists read_all on huifang.branches;
create policy read_all on huifang.branches for select to huifang_app
    using ((select huifang.scope_staff_id()) is not null);

drop policy if exists admin_insert on huifang.branches;
create policy admin_insert on huifang.branches for insert to huifang_app
    with check ((select huifang.scope_org_admin()));

drop policy if exists admin_update on huifang.branches;
create policy admin_update on huifang.branches for update to huifang_app
    using ((select huifang.scope_org_admin())) with check ((select huifang.scope_org_admin()));

-- The scheduler (scope system) reads the organization chart to know which branches and
-- departments own the work it generates.
drop policy if exists engine_read on huifang.branches;
create policy engine_read on huifang.branches for select to huifang_app using ((select huifang.scope_system()));

-- ══ row-level security: huifang.departments ══

drop policy if exists owner_all on huifang.departments;
create policy owner_all on huifang.departments to current_user using (true) with check (true);

drop policy if exists read_all on huifang.departments;
create policy read_all on huifang.departments for select to huifang_app
    using ((select huifang.scope_staff_id()) is not null);

drop policy if exists admin_insert on huifang.departments;
create policy admin_insert on huifang.departments for insert to huifang_app
    with check ((select huifang.scope_org_admin()));

drop policy if exists admin_update on huifang.departments;
create policy admin_update on huifang.departments for update to huifang_app
    using ((select huifang.scope_org_admin())) with check ((select huifang.scope_org_admin()));

drop policy if exists engine_read on huifang.departments;
create policy engine_read on huifang.departments for select to huifang_app using ((select huifang.scope_system()));

-- ══ row-level security: huifang.staff ══

drop policy if exists owner_all on huifang.staff;
create policy owner_all on huifang.staff to current_user using (true) with check (true);

-- Branch staff are visible in their branch; HQ staff to everyone signed in; all of them to HQ readers.
drop policy if exists read_scoped on huifang.staff;
create policy read_scoped on huifang.staff for select to huifang_app
    using (
        home_branch_id = any ((select huifang.scope_branch_ids())::integer[])
        or (home_department_id is not null and (select huifang.scope_staff_id()) is not null)
        or id = (select huifang.scope_staff_id())
        or (select huifang.scope_all_branches())
        or (select huifang.scope_org_admin()));

drop policy if exists admin_insert on huifang.staff;
create policy admin_insert on huifang.staff for insert to huifang_app
    with check ((select huifang.scope_org_admin()));

drop policy if exists admin_update on huifang.staff;
create policy admin_update on huifang.staff for update to huifang_app
    using ((select huifang.scope_org_admin())) with check ((select huifang.scope_org_admin()));

-- ══ row-level security: huifang.role_grants ══

drop policy if exists owner_all on huifang.role_grants;
create policy owner_all on huifang.role_grants to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.role_grants;
create policy read_scoped on huifang.role_grants for select to huifang_app
    using (
        staff_id = (select huifang.scope_staff_id())
        or branch_id = any ((select huifang.scope_branch_ids())::integer[])
        or (select huifang.scope_all_branches())
        or (select huifang.scope_org_admin()));

drop policy if exists admin_insert on huifang.role_grants;
create policy admin_insert on huifang.role_grants for insert to huifang_app
    with check ((select huifang.scope_org_admin()));

drop policy if exists admin_update on huifang.role_grants;
create policy admin_update on huifang.role_grants for update to huifang_app
    using ((select huifang.scope_org_admin())) with check ((select huifang.scope_org_admin()));
