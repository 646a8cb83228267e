-- Two sources of callback tasks besides accounts and periods:
--   * client flags (Art 12.2): a client's key data is incomplete or suspect — by rule (no phone) or
--     because HQ or the branch says so; each flag gets a data-verification task at once;
--   * HQ directives (Art 10, 12.3; Art 3, 11 for the call center): purpose, questions, a due date
--     and a target list or filter; their tasks are created with the directive.

create table huifang.client_flags (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    client_id bigint not null,
    fields text[] not null check (cardinality(fields) >= 1
        and fields <@ array['name', 'id_type', 'id_number', 'phone', 'referrer', 'other']),
    reason text not null check (btrim(reason) <> ''),
    source text not null check (source in ('rule', 'hq', 'branch')),
    -- For source = 'rule': which rule, e.g. missing_phone.
    rule text check ((source = 'rule') = (rule is not null)),
    flagged_by bigint references huifang.staff,
    flagged_at timestamptz not null default now(),
    resolved_at timestamptz,
    primary key (branch_id, id),
    foreign key (branch_id, client_id) references huifang.clients (branch_id, id)
);

create index client_flags_by_client on huifang.client_flags (branch_id, client_id, flagged_at);

comment on table huifang.client_flags is 'Clients whose key data must be verified by an existing-client callback (Art 12.2)';

create function huifang.client_flags_open_tasks() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    insert into huifang.callback_tasks (branch_id, rule_code, rule_version, period, sample_window, client_id, flag_id, title,
                                        owner_role, clock_started_at, clock_workdays)
    select f.branch_id, r.code, r.version, to_char(f.flagged_at at time zone 'Asia/Shanghai', 'YYYY-MM'), 'flag:' || f.id,
           f.client_id, f.id, 'Verify client data (' || array_to_string(f.fields, ', ') || '): ' || c.client_no,
           r.owner_role, f.flagged_at, r.due_workdays
    from flagged f
    join huifang.clients c on c.branch_id = f.branch_id and c.id = f.client_id and c.status = 'open'
    cross join lateral huifang.rule_in_effect('data_verification', (f.flagged_at at time zone 'Asia/Shanghai')::date) r
    where r.code is not null;
    return null;
end
$$;

create trigger client_flags_open_tasks
    after insert on huifang.client_flags
    referencing new table as flagged
    for each statement execute function huifang.client_flags_open_tasks();

-- A flag is resolved when its verification task closes, whichever way.
create function huifang.callback_tasks_resolve_flag() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.client_flags set resolved_at = new.closed_at
    where branch_id = new.branch_id and id = new.flag_id and resolved_at is null;
    return null;
end
$$;

create trigger callback_tasks_resolve_flag
    after update of state on huifang.callback_tasks
    for each row when (new.flag_id is not null and new.state in ('completed', 'unreachable', 'cancelled'))
    execute function huifang.callback_tasks_resolve_flag();

create table huifang.directives (
    id bigint generated always as identity primary key,
    department_id integer not null references huifang.departments,
    title text not null check (btrim(title) <> ''),
    purpose text not null check (btrim(purpose) <> ''),
    -- [{"id": "q1", "text": "…"}]: the questions every callback of the directive asks.
    questions jsonb not null check (jsonb_typeof(questions) = 'array' and jsonb_array_length(questions) between 1 and 50),
    target_kind text not null check (target_kind in ('list', 'filter')),
    -- The filter, for target_kind = 'filter'; a list's members are the tasks themselves.
    target_filter jsonb check ((target_kind = 'filter') = (target_filter is not null)),
    target_count integer not null check (target_count >= 1),
    executor text not null check (executor in ('branch', 'call_center')),
    executor_department_id integer references huifang.departments,
    due_on date not null,
    status text not null default 'active' check (status in ('active', 'cancelled')),
    created_by bigint not null references huifang.staff,
    created_at timestamptz not null default now(),
    cancelled_at timestamptz,
    cancel_reason text,
    check ((executor = 'call_center') = (executor_department_id is not null)),
    check ((status = 'cancelled') = (cancelled_at is not null and cancel_reason is not null))
);

create index directives_by_department on huifang.directives (department_id, created_at);

comment on table huifang.directives is 'HQ directives for special or call-center callbacks; not branch data, so no branch_id';

alter table huifang.callback_tasks add foreign key (directive_id) references huifang.directives;

-- Cancelling a directive cancels its callbacks not yet done, in every branch.
create function huifang.directives_cancel_tasks() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.callback_tasks
    set state = 'cancelled', closed_at = now(), closed_by = huifang.scope_staff_id(),
        close_reason = 'directive cancelled: ' || new.cancel_reason
    where directive_id = new.id and state in ('open', 'assigned', 'in_progress');
    return null;
end
$$;

create trigger directives_cancel_tasks
    after update of status on huifang.directives
    for each row when (new.status = 'cancelled' and old.status = 'active')
    execute function huifang.directives_cancel_tasks();

alter table huifang.client_flags enable row level security;
alter table huifang.client_flags force row level security;
alter table huifang.directives enable row level security;
alter table huifang.directives force row level security;

create policy owner_all on huifang.client_flags to current_user using (true) with check (true);
create policy owner_all on huifang.directives to current_user using (true) with check (true);

create policy engine on huifang.client_flags to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));
create policy read_scoped on huifang.client_flags for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
-- The branch flags its own clients; HQ flags any branch's, only when the action is flagging.
create policy insert_scoped on huifang.client_flags for insert to huifang_app
    with check (flagged_by = (select huifang.scope_staff_id()) and (
        branch_id = any ((select huifang.scope_branch_ids())::integer[])
        or ((select huifang.scope_action()) = 'flagClients' and (select huifang.scope_all_branches()))));

-- A directive is seen by its department, by HQ readers of every branch, and by the branches it
-- gives work to; it is issued and cancelled by its own department.
create policy read_scoped on huifang.directives for select to huifang_app
    using (department_id = any ((select huifang.scope_department_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or (select huifang.scope_all_branches())
           or exists (select from huifang.callback_tasks t
                      where t.directive_id = directives.id
                        and t.branch_id = any ((select huifang.scope_branch_ids())::integer[])));
create policy write_own on huifang.directives for insert to huifang_app
    with check ((select huifang.scope_action()) = 'manageDirectives'
                and department_id = any ((select huifang.scope_department_ids())::integer[])
                and created_by = (select huifang.scope_staff_id()));
create policy update_own on huifang.directives for update to huifang_app
    using ((select huifang.scope_action()) = 'manageDirectives'
           and department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (department_id = any ((select huifang.scope_department_ids())::integer[]));

grant select on huifang.client_flags, huifang.directives to huifang_app;
grant insert (branch_id, client_id, fields, reason, source, rule, flagged_by) on huifang.client_flags to huifang_app;
grant insert (department_id, title, purpose, questions, target_kind, target_filter, target_count, executor,
              executor_department_id, due_on, created_by) on huifang.directives to huifang_app;
grant update (status, cancelled_at, cancel_reason) on huifang.directives to huifang_app;

-- The scheduler (scope system) records what it generated, as nobody in particular.
create policy engine_append on huifang.audit_events for insert to huifang_app
    with check ((select huifang.scope_system()) and actor_staff_id is null);

-- The call center phones clients (and brokers) of any branch it has been directed to: it reads
-- those, and only those, through its tasks.
create policy read_for_task on huifang.clients for select to huifang_app
    using (cardinality((select huifang.scope_department_ids())) > 0 and exists (
        select from huifang.callback_tasks t
        where t.branch_id = clients.branch_id and t.client_id = clients.id
          and t.executor_department_id = any ((select huifang.scope_department_ids())::integer[])));
create policy read_for_task on huifang.brokers for select to huifang_app
    using (cardinality((select huifang.scope_department_ids())) > 0 and exists (
        select from huifang.callback_tasks t
        where t.branch_id = brokers.branch_id and t.broker_id = brokers.id
          and t.executor_department_id = any ((select huifang.scope_department_ids())::integer[])));
