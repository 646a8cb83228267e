-- Callback tasks: who must be called back, by when, owned by whom, performed by whom — and the
-- reproducible samples they were drawn from.
--
-- Every path that creates or changes a task meets the same rules here, in the database:
--   * recusal (Art 4): neither the client's referrer (staff, or the staff member behind the referrer
--     broker) nor a broker themself may be assigned or complete the callback;
--   * the state machine: only the transitions in callback_task_transitions, with their conditions;
--   * every task has a due timer, started with it, stopped when the task closes, and its due_at
--     follows the timer when a calendar load moves the deadline;
--   * a broker-introduced account gets its task in the transaction that opens it (any path: API,
--     import, COPY, SQL), or that records its referring broker later; a closed account's open
--     tasks are cancelled.

-- Samples ------------------------------------------------------------------------------------------

-- One draw of a sampling window (an opening day, a period, a directive, a flag). The population is
-- recorded as it was judged; the sample is the first `required` members ordered by
-- sha256(seed || ':client:' || id) (brokers: ':broker:'), after the rule's priority (dormant first).
-- Members that join a window later (a late import, a new broker) form the next draw.
create table huifang.obligation_draws (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    rule_code text not null,
    rule_version integer not null,
    period text not null,
    sample_window text not null,
    draw_no integer not null check (draw_no >= 1),
    -- The asset snapshot date the population was judged on, when it was.
    as_of date,
    seed text not null,
    population_clients bigint[] not null default '{}',
    population_brokers bigint[] not null default '{}',
    -- Clients judged dormant, ranked first (service_half_year).
    priority_clients bigint[] not null default '{}',
    population_size integer generated always as (cardinality(population_clients) + cardinality(population_brokers)) stored,
    required integer not null check (required >= 0),
    drawn_at timestamptz not null default now(),
    primary key (branch_id, id),
    unique (branch_id, rule_code, sample_window, draw_no),
    foreign key (rule_code, rule_version) references huifang.obligation_rules,
    check (required <= cardinality(population_clients) + cardinality(population_brokers))
);

comment on table huifang.obligation_draws is 'Recorded populations and seeds: an auditor re-derives every sample from these';

create function huifang.sample_key(seed text, kind text, id bigint) returns bytea
    language sql immutable parallel safe
    as $$ select sha256(convert_to(seed || ':' || kind || ':' || id::text, 'UTF8')) $$;

comment on function huifang.sample_key(text, text, bigint) is
    'The keyed hash that orders a population for sampling: sha256(seed:kind:id), kind client or broker';

-- Tasks --------------------------------------------------------------------------------------------

create table huifang.callback_tasks (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    rule_code text not null,
    rule_version integer not null,
    -- The coverage period (YYYY-MM, YYYY-Hn, YYYY) and the sampling window within it.
    period text not null,
    sample_window text not null,
    draw_id bigint,
    client_id bigint,
    broker_id bigint,
    directive_id bigint,
    flag_id bigint,
    title text not null,
    owner_role text not null,
    -- HQ work: the department that owns it and the one that executes it (the call center).
    owner_department_id integer references huifang.departments,
    executor_department_id integer references huifang.departments,
    -- The clock: `clock_workdays` working days counted from `clock_started_at`; due_at follows it.
    clock_started_at timestamptz not null,
    clock_workdays integer not null check (clock_workdays between 1 and 400),
    due_at timestamptz not null,
    state text not null default 'open'
        check (state in ('open', 'assigned', 'in_progress', 'completed', 'unreachable', 'cancelled')),
    assignee_staff_id bigint references huifang.staff,
    assigned_at timestamptz,
    assigned_by bigint references huifang.staff,
    started_at timestamptz,
    closed_at timestamptz,
    closed_by bigint references huifang.staff,
    close_reason text,
    outcome_note text,
    -- The callback record that completed it (the records issue).
    record_id bigint,
    created_at timestamptz not null default now(),
    primary key (branch_id, id),
    foreign key (branch_id, client_id) references huifang.clients (branch_id, id),
    foreign key (branch_id, broker_id) references huifang.brokers (branch_id, id),
    foreign key (branch_id, draw_id) references huifang.obligation_draws (branch_id, id),
    foreign key (rule_code, rule_version) references huifang.obligation_rules,
    check ((client_id is null) <> (broker_id is null)),
    check ((state in ('completed', 'unreachable', 'cancelled')) = (closed_at is not null)),
    check ((state in ('assigned', 'in_progress')) <= (assignee_staff_id is not null)),
    check ((state in ('unreachable', 'cancelled')) <= (close_reason is not null and btrim(close_reason) <> '')),
    check ((owner_department_id is null) = (owner_role <> 'sales_trading_hq'))
);

-- A client (or broker) is called back once per rule and window.
create unique index callback_tasks_once_per_client
    on huifang.callback_tasks (branch_id, rule_code, sample_window, client_id) where client_id is not null;
create unique index callback_tasks_once_per_broker
    on huifang.callback_tasks (branch_id, rule_code, sample_window, broker_id) where broker_id is not null;
create index callback_tasks_by_due on huifang.callback_tasks (branch_id, due_at, id)
    where state in ('open', 'assigned', 'in_progress');
create index callback_tasks_by_assignee on huifang.callback_tasks (branch_id, assignee_staff_id, due_at, id)
    where state in ('assigned', 'in_progress');
create index callback_tasks_by_period on huifang.callback_tasks (branch_id, period, rule_code);
create index callback_tasks_by_client on huifang.callback_tasks (branch_id, client_id) where client_id is not null;
create index callback_tasks_by_directive on huifang.callback_tasks (branch_id, directive_id) where directive_id is not null;
-- The call center's queue spans every branch: the one task index that leads with the department.
create index callback_tasks_executor on huifang.callback_tasks (executor_department_id, due_at, branch_id, id)
    where executor_department_id is not null and state in ('open', 'assigned', 'in_progress');

comment on table huifang.callback_tasks is 'Callbacks that must happen: one per client (or broker), rule and window';

-- The state machine (Domain.TaskTransitions lists the same pairs).
create table huifang.callback_task_transitions (
    from_state text not null,
    to_state text not null,
    primary key (from_state, to_state)
);

insert into huifang.callback_task_transitions (from_state, to_state) values
    ('open', 'assigned'), ('open', 'cancelled'),
    ('assigned', 'assigned'), ('assigned', 'open'), ('assigned', 'in_progress'), ('assigned', 'cancelled'),
    ('in_progress', 'assigned'), ('in_progress', 'completed'), ('in_progress', 'unreachable'), ('in_progress', 'cancelled');

create table huifang.callback_attempts (
    branch_id integer not null,
    task_id bigint not null,
    id bigint generated always as identity,
    attempted_at timestamptz not null,
    channel text not null check (channel in ('phone', 'sms', 'email', 'letter', 'visit', 'meeting', 'other')),
    outcome text not null check (outcome in ('reached', 'no_answer', 'busy', 'wrong_number', 'refused', 'unavailable')),
    note text,
    staff_id bigint not null references huifang.staff,
    recorded_at timestamptz not null default now(),
    primary key (branch_id, id),
    foreign key (branch_id, task_id) references huifang.callback_tasks (branch_id, id)
);

create index callback_attempts_by_task on huifang.callback_attempts (branch_id, task_id, attempted_at);

comment on table huifang.callback_attempts is 'Each try to reach the client: when, by which channel, with what outcome';

-- Who may perform a task (recusal and the executing unit) ----------------------------------------

create function huifang.callback_tasks_check_performer() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    performer bigint;
    referrer_staff bigint;
    broker_staff bigint;
begin
    foreach performer in array array_remove(array[new.assignee_staff_id,
        case when new.state = 'completed' then new.closed_by end], null) loop
        if new.client_id is not null then
            select c.referrer_staff_id, b.staff_id into referrer_staff, broker_staff
            from huifang.clients c
            left join huifang.brokers b on b.branch_id = c.branch_id and b.id = c.referrer_broker_id
            where c.branch_id = new.branch_id and c.id = new.client_id;
        else
            select null, b.staff_id into referrer_staff, broker_staff
            from huifang.brokers b where b.branch_id = new.branch_id and b.id = new.broker_id;
        end if;
        if performer = referrer_staff or performer = broker_staff then
            raise exception 'recusal (Art 4): staff % introduced this % and may not call them back', performer,
                case when new.client_id is not null then 'client' else 'broker' end
                using errcode = '23514', constraint = 'callback_tasks_recusal',
                      detail = format('task %s of branch %s', new.id, new.branch_id);
        end if;
    end loop;
    if tg_op = 'UPDATE' then
        if new.assignee_staff_id is not distinct from old.assignee_staff_id then
            return new;
        end if;
    end if;
    if new.assignee_staff_id is not null then
        if new.executor_department_id is null and not exists (
            select from huifang.role_grants g
            where g.staff_id = new.assignee_staff_id and g.branch_id = new.branch_id and g.revoked_at is null
              and g.role in ('responsible_person', 'front_desk', 'ops_director', 'marketing_director')) then
            raise exception 'staff % cannot perform callbacks in branch %', new.assignee_staff_id, new.branch_id
                using errcode = '23514', constraint = 'callback_tasks_performer',
                      hint = 'assign someone holding responsible_person, front_desk or a director role in the branch';
        end if;
        if new.executor_department_id is not null and not exists (
            select from huifang.role_grants g
            where g.staff_id = new.assignee_staff_id and g.department_id = new.executor_department_id
              and g.revoked_at is null and g.role = 'call_center') then
            raise exception 'staff % is not in the call center that executes this task', new.assignee_staff_id
                using errcode = '23514', constraint = 'callback_tasks_performer';
        end if;
        if not exists (select from huifang.staff s where s.id = new.assignee_staff_id and s.status = 'active') then
            raise exception 'staff % is inactive', new.assignee_staff_id
                using errcode = '23514', constraint = 'callback_tasks_performer';
        end if;
    end if;
    return new;
end
$$;

create trigger callback_tasks_check_performer
    before insert or update of assignee_staff_id, closed_by, state on huifang.callback_tasks
    for each row execute function huifang.callback_tasks_check_performer();

-- The state machine --------------------------------------------------------------------------------

create function huifang.callback_tasks_check_transition() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    failed_days int;
begin
    if tg_op = 'INSERT' then
        if new.state <> 'open' then
            raise exception 'a task starts open' using errcode = '23514', constraint = 'callback_tasks_transition';
        end if;
        new.due_at := huifang.workday_deadline('cn_workday', new.clock_started_at, new.clock_workdays);
        return new;
    end if;
    if (new.rule_code, new.rule_version, new.period, new.sample_window, new.client_id, new.broker_id, new.clock_started_at,
        new.clock_workdays, new.created_at)
       is distinct from (old.rule_code, old.rule_version, old.period, old.sample_window, old.client_id, old.broker_id,
                         old.clock_started_at, old.clock_workdays, old.created_at) then
        raise exception 'what a task is about and its clock are fixed when it is created'
            using errcode = '23514', constraint = 'callback_tasks_fixed';
    end if;
    if new.state is distinct from old.state or new.state = 'assigned' and new.assignee_staff_id is distinct from old.assignee_staff_id then
        if not exists (select from huifang.callback_task_transitions t where t.from_state = old.state and t.to_state = new.state) then
            raise exception 'a task cannot go from % to %', old.state, new.state
                using errcode = '23514', constraint = 'callback_tasks_transition';
        end if;
    end if;
    if new.state = 'unreachable' and old.state <> 'unreachable' then
        select count(distinct (a.attempted_at at time zone 'Asia/Shanghai')::date) into failed_days
        from huifang.callback_attempts a
        where a.branch_id = new.branch_id and a.task_id = new.id and a.outcome <> 'reached';
        if failed_days < 3 then
            raise exception 'a task is closed as unreachable only after failed attempts on 3 different days (this one has %)', failed_days
                using errcode = '23514', constraint = 'callback_tasks_unreachable';
        end if;
    end if;
    if new.state = 'open' then
        new.assignee_staff_id := null;
        new.assigned_at := null;
        new.assigned_by := null;
    end if;
    return new;
end
$$;

create trigger callback_tasks_check_transition
    before insert or update on huifang.callback_tasks
    for each row execute function huifang.callback_tasks_check_transition();

-- Timers: started with the tasks, stopped when they close, followed when they move ---------------

create function huifang.callback_tasks_start_timers() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
    select t.branch_id, 'callback_task', t.id, 'task_due', t.clock_started_at, t.clock_workdays, t.title,
           case when t.executor_department_id is null
                then jsonb_build_array(jsonb_build_object('role', t.owner_role, 'branchId', t.branch_id))
                else jsonb_build_array(jsonb_build_object('role', 'call_center', 'departmentId', t.executor_department_id)) end,
           case when t.owner_department_id is null
                then jsonb_build_array(jsonb_build_object('role', 'branch_manager', 'branchId', t.branch_id))
                else jsonb_build_array(jsonb_build_object('role', 'sales_trading_hq', 'departmentId', t.owner_department_id)) end
    from created t;
    return null;
end
$$;

create trigger callback_tasks_start_timers
    after insert on huifang.callback_tasks
    referencing new table as created
    for each statement execute function huifang.callback_tasks_start_timers();

create function huifang.callback_tasks_stop_timer() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.timers set state = 'stopped', stopped_at = now(), stop_reason = 'task ' || new.state, next_fire_at = null
    where branch_id = new.branch_id and subject_kind = 'callback_task' and subject_id = new.id and clock = 'task_due'
      and state = 'running';
    return null;
end
$$;

create trigger callback_tasks_stop_timer
    after update of state on huifang.callback_tasks
    for each row when (new.state in ('completed', 'unreachable', 'cancelled') and old.state not in ('completed', 'unreachable', 'cancelled'))
    execute function huifang.callback_tasks_stop_timer();

create function huifang.timers_follow_task_due() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.callback_tasks set due_at = new.due_at
    where branch_id = new.branch_id and id = new.subject_id and due_at is distinct from new.due_at;
    return null;
end
$$;

create trigger timers_follow_task_due
    after update of due_at on huifang.timers
    for each row when (new.subject_kind = 'callback_task' and new.due_at is distinct from old.due_at)
    execute function huifang.timers_follow_task_due();

-- Account events -----------------------------------------------------------------------------------

-- Art 12.1(1): a broker-introduced account is called back, 100 %, within N working days of opening.
create function huifang.clients_open_new_account_tasks() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    insert into huifang.callback_tasks (branch_id, rule_code, rule_version, period, sample_window, client_id, title,
                                        owner_role, clock_started_at, clock_workdays)
    select o.branch_id, r.code, r.version, to_char(o.opened_at at time zone 'Asia/Shanghai', 'YYYY-MM'),
           to_char(o.opened_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD'), o.id,
           'New-account callback: ' || o.client_no, r.owner_role, o.opened_at, r.due_workdays
    from opened o
    cross join lateral huifang.rule_in_effect('new_account_broker', (o.opened_at at time zone 'Asia/Shanghai')::date) r
    where o.referrer_broker_id is not null and o.status = 'open' and r.code is not null
    on conflict do nothing;
    return null;
end
$$;

create trigger clients_open_new_account_tasks
    after insert on huifang.clients
    referencing new table as opened
    for each statement execute function huifang.clients_open_new_account_tasks();

-- A referring broker recorded after the opening makes it a broker-introduced account all the same.
create function huifang.clients_broker_added_task() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    insert into huifang.callback_tasks (branch_id, rule_code, rule_version, period, sample_window, client_id, title,
                                        owner_role, clock_started_at, clock_workdays)
    select new.branch_id, r.code, r.version, to_char(new.opened_at at time zone 'Asia/Shanghai', 'YYYY-MM'),
           to_char(new.opened_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD'), new.id,
           'New-account callback: ' || new.client_no, r.owner_role, new.opened_at, r.due_workdays
    from huifang.rule_in_effect('new_account_broker', (new.opened_at at time zone 'Asia/Shanghai')::date) r
    where r.code is not null
    on conflict do nothing;
    return null;
end
$$;

create trigger clients_broker_added_task
    after update of referrer_broker_id on huifang.clients
    for each row when (old.referrer_broker_id is null and new.referrer_broker_id is not null and new.status = 'open')
    execute function huifang.clients_broker_added_task();

create function huifang.clients_cancel_tasks_on_close() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.callback_tasks
    set state = 'cancelled', closed_at = now(), closed_by = huifang.scope_staff_id(), close_reason = 'account closed'
    where branch_id = new.branch_id and client_id = new.id and state in ('open', 'assigned', 'in_progress');
    return null;
end
$$;

create trigger clients_cancel_tasks_on_close
    after update of status on huifang.clients
    for each row when (new.status = 'closed' and old.status = 'open')
    execute function huifang.clients_cancel_tasks_on_close();

-- A new referrer must not be the one already calling the client back.
create function huifang.clients_check_referrer_recusal() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    clash bigint;
begin
    select t.id into clash
    from huifang.callback_tasks t
    left join huifang.brokers b on b.branch_id = new.branch_id and b.id = new.referrer_broker_id
    where t.branch_id = new.branch_id and t.client_id = new.id and t.state in ('assigned', 'in_progress')
      and (t.assignee_staff_id = new.referrer_staff_id or t.assignee_staff_id = b.staff_id)
    limit 1;
    if clash is not null then
        raise exception 'recusal (Art 4): the new referrer is assigned to call this client back (task %); reassign it first', clash
            using errcode = '23514', constraint = 'callback_tasks_recusal';
    end if;
    return new;
end
$$;

create trigger clients_check_referrer_recusal
    before update of referrer_staff_id, referrer_broker_id on huifang.clients
    for each row execute function huifang.clients_check_referrer_recusal();

create function huifang.brokers_check_staff_recusal() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    clash bigint;
begin
    select t.id into clash
    from huifang.callback_tasks t
    left join huifang.clients c on c.branch_id = t.branch_id and c.id = t.client_id
    where t.branch_id = new.branch_id and t.state in ('assigned', 'in_progress') and t.assignee_staff_id = new.staff_id
      and (t.broker_id = new.id or c.referrer_broker_id = new.id)
    limit 1;
    if clash is not null then
        raise exception 'recusal (Art 4): staff % is assigned to call back a client of this broker (task %); reassign it first',
            new.staff_id, clash using errcode = '23514', constraint = 'callback_tasks_recusal';
    end if;
    return new;
end
$$;

create trigger brokers_check_staff_recusal
    before update of staff_id on huifang.brokers
    for each row when (new.staff_id is not null) execute function huifang.brokers_check_staff_recusal();

-- Row-level security -------------------------------------------------------------------------------

alter table huifang.obligation_draws enable row level security;
alter table huifang.obligation_draws force row level security;
alter table huifang.callback_tasks enable row level security;
alter table huifang.callback_tasks force row level security;
alter table huifang.callback_attempts enable row level security;
alter table huifang.callback_attempts force row level security;

create policy owner_all on huifang.obligation_draws to current_user using (true) with check (true);
create policy owner_all on huifang.callback_tasks to current_user using (true) with check (true);
create policy owner_all on huifang.callback_attempts to current_user using (true) with check (true);

create policy engine on huifang.obligation_draws to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));
create policy read_scoped on huifang.obligation_draws for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

-- Tasks: a branch's own; every branch for HQ readers; an HQ department's own work (the call
-- center executes, S&T HQ owns); the scheduler. HQ inserts tasks only when issuing a directive.
create policy engine on huifang.callback_tasks to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));
create policy read_scoped on huifang.callback_tasks for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or owner_department_id = any ((select huifang.scope_department_ids())::integer[]));
create policy insert_directive on huifang.callback_tasks for insert to huifang_app
    with check ((select huifang.scope_action()) = 'manageDirectives' and directive_id is not null
                and ((select huifang.scope_all_branches()) or branch_id = any ((select huifang.scope_branch_ids())::integer[])));
create policy update_scoped on huifang.callback_tasks for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or owner_department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or owner_department_id = any ((select huifang.scope_department_ids())::integer[]));

-- Attempts follow their task: whoever can see or work the task sees or logs its attempts.
create policy follows_task on huifang.callback_attempts to huifang_app
    using (exists (select from huifang.callback_tasks t where t.branch_id = callback_attempts.branch_id and t.id = callback_attempts.task_id))
    with check (staff_id = (select huifang.scope_staff_id())
                and exists (select from huifang.callback_tasks t
                            where t.branch_id = callback_attempts.branch_id and t.id = callback_attempts.task_id
                              and t.assignee_staff_id = (select huifang.scope_staff_id())));

grant select, insert on huifang.obligation_draws to huifang_app;
grant select on huifang.callback_tasks, huifang.callback_task_transitions to huifang_app;
grant insert (branch_id, rule_code, rule_version, period, sample_window, draw_id, client_id, broker_id, directive_id, flag_id,
              title, owner_role, owner_department_id, executor_department_id, clock_started_at, clock_workdays)
    on huifang.callback_tasks to huifang_app;
grant update (state, assignee_staff_id, assigned_at, assigned_by, started_at, closed_at, closed_by, close_reason,
              outcome_note, record_id)
    on huifang.callback_tasks to huifang_app;
grant select, insert on huifang.callback_attempts to huifang_app;
grant execute on function huifang.sample_key(text, text, bigint) to huifang_app;
