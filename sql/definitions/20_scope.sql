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
