-- Callback tasks (Art 4, 9, 10, 11, 12, 13): opened by new accounts, brokers, flags and directives,
-- their state machine, the performer's recusal, and the clocks they start and stop.
-- Tables: callback_tasks, callback_task_transitions, callback_attempts, client_flags, directives
-- (0009, 0010).

-- ══ functions and the triggers that call them ══

create or replace function huifang.callback_tasks_check_performer() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    performer bigint;
    introduced boolean;
begin
    foreach performer in array array_remove(array[new.assignee_staff_id,
        case when new.state = 'completed' then new.closed_by end], null) loop
        -- A client: anyone who ever referred them, not only the referrer on record now. A broker:
        -- the broker's own staff member.
        if new.client_id is not null then
            introduced := huifang.ever_referred(new.branch_id, new.client_id, performer);
        else
            introduced := exists (select from huifang.brokers b
                                  where b.branch_id = new.branch_id and b.id = new.broker_id and b.staff_id = performer);
        end if;
        if introduced then
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
    if new.assignee_staff_id is not null
       and not huifang.may_perform_task(new.assignee_staff_id, new.branch_id, new.executor_department_id) then
        -- Which of the conditions failed, roles before the status.
        if new.executor_department_id is null and not huifang.may_perform_task(new.assignee_staff_id, new.branch_id, null, false) then
            raise exception 'staff % cannot perform callbacks in branch %', new.assignee_staff_id, new.branch_id
                using errcode = '23514', constraint = 'callback_tasks_performer',
                      hint = 'assign someone holding responsible_person, front_desk or a director role in the branch';
        end if;
        if new.executor_department_id is not null
           and not huifang.may_perform_task(new.assignee_staff_id, new.branch_id, new.executor_department_id, false) then
            raise exception 'staff % is not in the call center that executes this task', new.assignee_staff_id
                using errcode = '23514', constraint = 'callback_tasks_performer';
        end if;
        raise exception 'staff % is inactive', new.assignee_staff_id
            using errcode = '23514', constraint = 'callback_tasks_performer';
    end if;
    return new;
end
$$;

create or replace trigger callback_tasks_check_performer
    before insert or update of assignee_staff_id, closed_by, state on huifang.callback_tasks
    for each row execute function huifang.callback_tasks_check_performer();

-- Art 9: the Shanghai days with a failed attempt that count towards "unreachable" — each logged no
-- later than the end of the working day after it happened, so three "days" cannot be typed in at
-- one sitting.
create or replace function huifang.task_failed_days(p_branch integer, p_task bigint) returns integer
    language plpgsql stable
    as $$
    begin
        -- Dated no later than it was logged (the skew allowed at logging does not make a day), and
        -- never more days than the sittings that logged them plus one: Saturday's, Sunday's and
        -- Monday's attempts typed in on Monday make two days, not three.
        return (select least(count(distinct (a.attempted_at at time zone 'Asia/Shanghai')::date),
                             count(distinct (a.recorded_at at time zone 'Asia/Shanghai')::date) + 1)::int
                from huifang.callback_attempts a
                where a.branch_id = p_branch and a.task_id = p_task and a.outcome <> 'reached'
                  and a.attempted_at <= a.recorded_at
                  and a.recorded_at <= huifang.workday_deadline('cn_workday', a.attempted_at, 1));
    end
    $$;
comment on function huifang.task_failed_days(integer, bigint) is
    'Distinct Shanghai days with a failed attempt on the task, counting only attempts logged by the end of the next working day';
grant execute on function huifang.task_failed_days(integer,bigint) to huifang_app;

-- Whether a staff member may hold a task now: active (unless p_active is false: the roles alone),
-- with a live performing role where the task is worked (the branch, or the call center that executes it).
create or replace function huifang.may_perform_task(
    p_staff bigint, p_branch integer, p_executor_department integer, p_active boolean default true) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select (not p_active or exists (select from huifang.staff s where s.id = p_staff and s.status = 'active'))
           and case when p_executor_department is null
                    then exists (select from huifang.role_grants g
                                 where g.staff_id = p_staff and g.branch_id = p_branch and g.revoked_at is null
                                   and g.role in ('responsible_person', 'front_desk', 'ops_director', 'marketing_director'))
                    else exists (select from huifang.role_grants g
                                 where g.staff_id = p_staff and g.department_id = p_executor_department and g.revoked_at is null
                                   and g.role = 'call_center') end
    $$;
revoke execute on function huifang.may_perform_task(bigint,integer,integer,boolean) from public;

create or replace function huifang.callback_tasks_check_transition() returns trigger
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
        new.clock_workdays, new.created_at, new.event_id)
       is distinct from (old.rule_code, old.rule_version, old.period, old.sample_window, old.client_id, old.broker_id,
                         old.clock_started_at, old.clock_workdays, old.created_at, old.event_id) then
        raise exception 'what a task is about and its clock are fixed when it is created'
            using errcode = '23514', constraint = 'callback_tasks_fixed';
    end if;
    -- A task whose assignee may no longer hold it (left, or lost the role it needs) goes back to the
    -- queue from assigned or in progress (huifang.release_work_of, issue 19 A5); any other step is the
    -- state machine's.
    if (new.state is distinct from old.state or new.state = 'assigned' and new.assignee_staff_id is distinct from old.assignee_staff_id)
       and not exists (select from huifang.callback_task_transitions t where t.from_state = old.state and t.to_state = new.state)
       and not (new.state = 'open' and old.state in ('assigned', 'in_progress') and old.assignee_staff_id is not null
                and not huifang.may_perform_task(old.assignee_staff_id, old.branch_id, old.executor_department_id)) then
        raise exception 'a task cannot go from % to %', old.state, new.state
            using errcode = '23514', constraint = 'callback_tasks_transition';
    end if;
    if new.state = 'unreachable' and old.state <> 'unreachable' then
        failed_days := huifang.task_failed_days(new.branch_id, new.id);
        if failed_days < 3 then
            raise exception 'a task is closed as unreachable only after failed attempts on 3 different days, each logged by the end of the next working day (this one has %)', failed_days
                using errcode = '23514', constraint = 'callback_tasks_unreachable';
        end if;
    end if;
    -- When a step happened is the server's clock for a request, never the caller's word: coverage,
    -- the assessment and the monitoring compare closed_at with due_at.
    if session_user = 'huifang_app' then
        new.assigned_at := case when new.assignee_staff_id is distinct from old.assignee_staff_id then now() else old.assigned_at end;
        new.started_at := case when new.state = 'in_progress' and old.state <> 'in_progress' then now() else old.started_at end;
        new.closed_at := case when new.state in ('completed', 'unreachable', 'cancelled')
                               and old.state not in ('completed', 'unreachable', 'cancelled') then now() else old.closed_at end;
    end if;
    if new.state = 'open' then
        new.assignee_staff_id := null;
        new.assigned_at := null;
        new.assigned_by := null;
    end if;
    return new;
end
$$;

create or replace trigger callback_tasks_check_transition
    before insert or update on huifang.callback_tasks
    for each row execute function huifang.callback_tasks_check_transition();

create or replace function huifang.callback_tasks_start_timers() returns trigger
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

create or replace trigger callback_tasks_start_timers
    after insert on huifang.callback_tasks
    referencing new table as created
    for each statement execute function huifang.callback_tasks_start_timers();

-- From 0009_callback_tasks.sql.
create or replace function huifang.callback_tasks_stop_timer() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    perform huifang.stop_clock(new.branch_id, 'callback_task', new.id, 'task ' || new.state, 'task_due');
    return null;
end
$$;

create or replace trigger callback_tasks_stop_timer
    after update of state on huifang.callback_tasks
    for each row when (new.state in ('completed', 'unreachable', 'cancelled') and old.state not in ('completed', 'unreachable', 'cancelled'))
    execute function huifang.callback_tasks_stop_timer();

create or replace function huifang.timers_follow_task_due() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.callback_tasks set due_at = new.due_at
    where branch_id = new.branch_id and id = new.subject_id and due_at is distinct from new.due_at;
    return null;
end
$$;

create or replace trigger timers_follow_task_due
    after update of due_at on huifang.timers
    for each row when (new.subject_kind = 'callback_task' and new.due_at is distinct from old.due_at)
    execute function huifang.timers_follow_task_due();

-- Art 12.1(1): a broker-introduced account is called back, 100 %, within N working days of opening.
create or replace function huifang.clients_open_new_account_tasks() returns trigger
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

create or replace trigger clients_open_new_account_tasks
    after insert on huifang.clients
    referencing new table as opened
    for each statement execute function huifang.clients_open_new_account_tasks();

-- A referring broker recorded after the opening makes it a broker-introduced account all the same.
create or replace function huifang.clients_broker_added_task() returns trigger
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

create or replace trigger clients_broker_added_task
    after update of referrer_broker_id on huifang.clients
    for each row when (old.referrer_broker_id is null and new.referrer_broker_id is not null and new.status = 'open')
    execute function huifang.clients_broker_added_task();

-- A closed account is called back no more for its opening, its segment or its data (issue 19 A6):
-- those callbacks are cancelled. The special callbacks stay — an HQ directive's, and those that
-- confirm what the client did (client events, the closure's own confirmation among them).
create or replace function huifang.clients_cancel_tasks_on_close() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.callback_tasks t
    set state = 'cancelled', closed_at = now(), closed_by = huifang.scope_staff_id(), close_reason = 'account closed'
    from huifang.obligation_rules r
    where t.branch_id = new.branch_id and t.client_id = new.id and t.state in ('open', 'assigned', 'in_progress')
      and r.code = t.rule_code and r.version = t.rule_version and r.cadence not in ('directive', 'event');
    return null;
end
$$;

create or replace trigger clients_cancel_tasks_on_close
    after update of status on huifang.clients
    for each row when (new.status = 'closed' and old.status = 'open')
    execute function huifang.clients_cancel_tasks_on_close();

create or replace function huifang.client_flags_open_tasks() returns trigger
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

create or replace trigger client_flags_open_tasks
    after insert on huifang.client_flags
    referencing new table as flagged
    for each statement execute function huifang.client_flags_open_tasks();

-- A flag is resolved when its verification task closes, whichever way.
create or replace function huifang.callback_tasks_resolve_flag() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    update huifang.client_flags set resolved_at = new.closed_at
    where branch_id = new.branch_id and id = new.flag_id and resolved_at is null;
    return null;
end
$$;

create or replace trigger callback_tasks_resolve_flag
    after update of state on huifang.callback_tasks
    for each row when (new.flag_id is not null and new.state in ('completed', 'unreachable', 'cancelled'))
    execute function huifang.callback_tasks_resolve_flag();

-- Cancelling a directive cancels its callbacks not yet done, in every branch.
create or replace function huifang.directives_cancel_tasks() returns trigger
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

create or replace trigger directives_cancel_tasks
    after update of status on huifang.directives
    for each row when (new.status = 'cancelled' and old.status = 'active')
    execute function huifang.directives_cancel_tasks();

create or replace function huifang.callback_tasks_end_directive() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if not exists (select from huifang.callback_tasks t where t.branch_id = new.branch_id and t.directive_id = new.directive_id
                   and t.state in ('open', 'assigned', 'in_progress')) then
        perform huifang.open_directive_feedback(new.branch_id, new.directive_id, now(), 'tasks_closed');
    end if;
    return null;
end
$$;

create or replace trigger callback_tasks_end_directive
    after update of state on huifang.callback_tasks
    for each row when (new.directive_id is not null and new.state in ('completed', 'unreachable', 'cancelled')
                       and old.state not in ('completed', 'unreachable', 'cancelled'))
    execute function huifang.callback_tasks_end_directive();

-- Art 12.1(2), 13.2: a sampled task that ends cancelled (the account closed…) or unreachable is
-- replaced by the next member of its draw in the recorded order — priority, then
-- sha256(seed:kind:id) — that has no task in the window yet and is still open (active, for a
-- broker). The replacement keeps the replaced task's clock: the window's deadline does not move.
-- A census (required = population) has nobody left to draw.
create or replace function huifang.callback_tasks_draw_replacement() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    d huifang.obligation_draws;
    candidate record;
    next_kind text;
    next_id bigint;
begin
    select * into d from huifang.obligation_draws where branch_id = new.branch_id and id = new.draw_id;
    if d.id is null or d.required >= d.population_size then
        return null;
    end if;
    -- The population in sampling order (priority clients first, then by keyed hash), less the
    -- members already called in this window (one range of its unique index, hashed); the first one
    -- still open or active replaces the task. The sample is the head of that order, so a replacement
    -- comes after it: checking each member before ordering them cost two probes per member (2,392
    -- in a national branch's window) and a scan of the priority list for each.
    for candidate in
        select m.kind, m.id
        from (select 'client' as kind, unnest(d.population_clients) as id
              union all select 'broker', unnest(d.population_brokers)) m
        left join (select distinct unnest(d.priority_clients) as id) p on m.kind = 'client' and p.id = m.id
        where (m.kind, m.id) not in (
            select 'client', t.client_id from huifang.callback_tasks t
            where t.branch_id = new.branch_id and t.rule_code = new.rule_code and t.sample_window = new.sample_window
              and t.client_id is not null
            union all
            select 'broker', t.broker_id from huifang.callback_tasks t
            where t.branch_id = new.branch_id and t.rule_code = new.rule_code and t.sample_window = new.sample_window
              and t.broker_id is not null)
        order by p.id is null, huifang.sample_key(d.seed, m.kind, m.id)
    loop
        if candidate.kind = 'client' then
            continue when not exists (select from huifang.clients c
                                      where c.branch_id = new.branch_id and c.id = candidate.id and c.status = 'open');
        else
            continue when not exists (select from huifang.brokers b
                                      where b.branch_id = new.branch_id and b.id = candidate.id and b.status = 'active');
        end if;
        next_kind := candidate.kind;
        next_id := candidate.id;
        exit;
    end loop;
    if next_id is null then
        return null;
    end if;
    insert into huifang.callback_tasks (branch_id, rule_code, rule_version, period, sample_window, draw_id, client_id, broker_id,
                                        title, owner_role, owner_department_id, executor_department_id, clock_started_at,
                                        clock_workdays, replaces_task_id, replacement_reason)
    select new.branch_id, new.rule_code, new.rule_version, new.period, new.sample_window, d.id,
           case when next_kind = 'client' then next_id end, case when next_kind = 'broker' then next_id end,
           r.title || ': ' || coalesce((select c.client_no from huifang.clients c where next_kind = 'client' and c.branch_id = new.branch_id and c.id = next_id),
                                       (select b.agent_no from huifang.brokers b where next_kind = 'broker' and b.branch_id = new.branch_id and b.id = next_id)),
           new.owner_role, new.owner_department_id, new.executor_department_id, new.clock_started_at, new.clock_workdays, new.id,
           new.state || ': ' || new.close_reason
    from huifang.obligation_rules r
    where r.code = new.rule_code and r.version = new.rule_version;
    return null;
end
$$;
revoke execute on function huifang.callback_tasks_draw_replacement() from public;

create or replace trigger callback_tasks_draw_replacement
    after update of state on huifang.callback_tasks
    for each row when (new.draw_id is not null and new.state in ('cancelled', 'unreachable') and old.state is distinct from new.state)
    execute function huifang.callback_tasks_draw_replacement();

-- ══ row-level security: huifang.callback_tasks ══

drop policy if exists owner_all on huifang.callback_tasks;
create policy owner_all on huifang.callback_tasks to current_user using (true) with check (true);

-- Tasks: a branch's own; every branch for HQ readers; an HQ department's own work (the call
-- center executes, S&T HQ owns); the scheduler. HQ inserts tasks only when issuing a directive.
drop policy if exists engine on huifang.callback_tasks;
create policy engine on huifang.callback_tasks to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));

drop policy if exists read_scoped on huifang.callback_tasks;
create policy read_scoped on huifang.callback_tasks for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or owner_department_id = any ((select huifang.scope_department_ids())::integer[]));

drop policy if exists insert_directive on huifang.callback_tasks;
create policy insert_directive on huifang.callback_tasks for insert to huifang_app
    with check ((select huifang.scope_action()) = 'manageDirectives' and directive_id is not null
                and ((select huifang.scope_all_branches()) or branch_id = any ((select huifang.scope_branch_ids())::integer[])));

drop policy if exists update_scoped on huifang.callback_tasks;
create policy update_scoped on huifang.callback_tasks for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or owner_department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or owner_department_id = any ((select huifang.scope_department_ids())::integer[]));

-- An attempt is logged when the server says so, dated no later than that and no earlier than its
-- task was created (five minutes of clock skew either way). Only the owner's loads of past history
-- (imports, the demo) bring their own logging time, and may date attempts back to the task's clock.
create or replace function huifang.callback_attempts_check() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    task_began timestamptz;
begin
    if session_user = 'huifang_app' or new.recorded_at is null then
        new.recorded_at := now();
    end if;
    -- A request's attempt is no older than its task; a history load's may go back to the task's clock.
    select case when session_user = 'huifang_app' then t.created_at else least(t.created_at, t.clock_started_at) end
    into task_began
    from huifang.callback_tasks t where t.branch_id = new.branch_id and t.id = new.task_id;
    if new.attempted_at > new.recorded_at + interval '5 minutes' then
        raise exception 'an attempt cannot be dated in the future: % is after %, when it is being logged', new.attempted_at, new.recorded_at
            using errcode = '23514', constraint = 'callback_attempts_time';
    end if;
    if new.attempted_at < task_began - interval '5 minutes' then
        raise exception 'an attempt cannot be dated before its task began (%)', task_began
            using errcode = '23514', constraint = 'callback_attempts_time';
    end if;
    return new;
end
$$;
revoke execute on function huifang.callback_attempts_check() from public;

create or replace trigger callback_attempts_check
    before insert on huifang.callback_attempts
    for each row execute function huifang.callback_attempts_check();

create or replace trigger callback_attempts_append_only
    before update or delete on huifang.callback_attempts
    for each row
    execute function huifang.refuse_rewrite(
        'callback attempts are a log: log another attempt instead', 'callback_attempts_append_only');

create or replace trigger callback_attempts_no_truncate
    before truncate on huifang.callback_attempts
    for each statement
    execute function huifang.refuse_rewrite(
        'callback attempts are a log: log another attempt instead', 'callback_attempts_append_only');

-- Art 9: a client nobody could reach may have a wrong phone number on file: the unreachable task
-- flags the client's phone for verification (which opens its verification task), unless the task
-- was itself a verification or the phone is flagged already.
create or replace function huifang.callback_tasks_flag_unreachable() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if new.client_id is null or new.flag_id is not null or exists (
        select from huifang.client_flags f
        where f.branch_id = new.branch_id and f.client_id = new.client_id and f.resolved_at is null and 'phone' = any (f.fields)) then
        return null;
    end if;
    insert into huifang.client_flags (branch_id, client_id, fields, reason, source, rule, flagged_by)
    values (new.branch_id, new.client_id, '{phone}',
            format('unreachable on callback task %s: failed attempts on %s days; the phone on file may be wrong',
                   new.id, huifang.task_failed_days(new.branch_id, new.id)),
            'rule', 'unreachable', new.closed_by);
    return null;
end
$$;
revoke execute on function huifang.callback_tasks_flag_unreachable() from public;

create or replace trigger callback_tasks_flag_unreachable
    after update of state on huifang.callback_tasks
    for each row when (new.state = 'unreachable' and old.state <> 'unreachable')
    execute function huifang.callback_tasks_flag_unreachable();

-- ══ row-level security: huifang.callback_attempts ══

drop policy if exists owner_all on huifang.callback_attempts;
create policy owner_all on huifang.callback_attempts to current_user using (true) with check (true);

-- Attempts follow their task: whoever can see or work the task sees or logs its attempts.
drop policy if exists follows_task on huifang.callback_attempts;
create policy follows_task on huifang.callback_attempts to huifang_app
    using (exists (select from huifang.callback_tasks t where t.branch_id = callback_attempts.branch_id and t.id = callback_attempts.task_id))
    with check (staff_id = (select huifang.scope_staff_id())
                and exists (select from huifang.callback_tasks t
                            where t.branch_id = callback_attempts.branch_id and t.id = callback_attempts.task_id
                              and t.assignee_staff_id = (select huifang.scope_staff_id())));

-- ══ row-level security: huifang.client_flags ══

drop policy if exists owner_all on huifang.client_flags;
create policy owner_all on huifang.client_flags to current_user using (true) with check (true);

drop policy if exists engine on huifang.client_flags;
create policy engine on huifang.client_flags to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));

drop policy if exists read_scoped on huifang.client_flags;
create policy read_scoped on huifang.client_flags for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

-- The branch flags its own clients; HQ flags any branch's, only when the action is flagging.
drop policy if exists insert_scoped on huifang.client_flags;
create policy insert_scoped on huifang.client_flags for insert to huifang_app
    with check (flagged_by = (select huifang.scope_staff_id()) and (
        branch_id = any ((select huifang.scope_branch_ids())::integer[])
        or ((select huifang.scope_action()) = 'flagClients' and (select huifang.scope_all_branches()))));

-- ══ row-level security: huifang.directives ══

drop policy if exists owner_all on huifang.directives;
create policy owner_all on huifang.directives to current_user using (true) with check (true);

-- A directive is seen by its department, by HQ readers of every branch, and by the branches it
-- gives work to; it is issued and cancelled by its own department.
drop policy if exists read_scoped on huifang.directives;
create policy read_scoped on huifang.directives for select to huifang_app
    using (department_id = any ((select huifang.scope_department_ids())::integer[])
           or executor_department_id = any ((select huifang.scope_department_ids())::integer[])
           or (select huifang.scope_all_branches())
           or exists (select from huifang.callback_tasks t
                      where t.directive_id = directives.id
                        and t.branch_id = any ((select huifang.scope_branch_ids())::integer[])));

drop policy if exists write_own on huifang.directives;
create policy write_own on huifang.directives for insert to huifang_app
    with check ((select huifang.scope_action()) = 'manageDirectives'
                and department_id = any ((select huifang.scope_department_ids())::integer[])
                and created_by = (select huifang.scope_staff_id()));

drop policy if exists update_own on huifang.directives;
create policy update_own on huifang.directives for update to huifang_app
    using ((select huifang.scope_action()) = 'manageDirectives'
           and department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (department_id = any ((select huifang.scope_department_ids())::integer[]));

-- ══ kept counts: huifang.directive_task_counts ══

-- One upsert per statement, from its transition tables, in key order (so two statements touching
-- the same counts wait for each other rather than deadlock); decrements update the rows they
-- leave, increments are upserted into the rows they enter, as open_clock_days is kept.
create or replace function huifang.callback_tasks_count_directive_states() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if tg_op = 'INSERT' then
        insert into huifang.directive_task_counts as c (branch_id, directive_id, state, tasks)
        select branch_id, directive_id, state, count(*)::int from added where directive_id is not null
        group by 1, 2, 3 order by 1, 2, 3
        on conflict (branch_id, directive_id, state) do update set tasks = c.tasks + excluded.tasks;
    elsif tg_op = 'UPDATE' then
        with delta as (
            select branch_id, directive_id, state, sum(n)::int as n
            from (select branch_id, directive_id, state, -1 as n from removed where directive_id is not null
                  union all
                  select branch_id, directive_id, state, 1 from added where directive_id is not null) u
            group by 1, 2, 3 having sum(n) <> 0
        ), decremented as (
            update huifang.directive_task_counts c set tasks = c.tasks + x.n
            from delta x
            where x.n < 0 and c.branch_id = x.branch_id and c.directive_id = x.directive_id and c.state = x.state
        )
        insert into huifang.directive_task_counts as c (branch_id, directive_id, state, tasks)
        select branch_id, directive_id, state, n from delta where n > 0
        order by 1, 2, 3
        on conflict (branch_id, directive_id, state) do update set tasks = c.tasks + excluded.tasks;
    else
        update huifang.directive_task_counts c set tasks = c.tasks - r.n
        from (select branch_id, directive_id, state, count(*)::int as n from removed where directive_id is not null
              group by 1, 2, 3) r
        where c.branch_id = r.branch_id and c.directive_id = r.directive_id and c.state = r.state;
    end if;
    return null;
end
$$;
revoke execute on function huifang.callback_tasks_count_directive_states() from public;

create or replace trigger callback_tasks_count_directive_states_insert
    after insert on huifang.callback_tasks referencing new table as added
    for each statement execute function huifang.callback_tasks_count_directive_states();

create or replace trigger callback_tasks_count_directive_states_update
    after update on huifang.callback_tasks referencing old table as removed new table as added
    for each statement execute function huifang.callback_tasks_count_directive_states();

create or replace trigger callback_tasks_count_directive_states_delete
    after delete on huifang.callback_tasks referencing old table as removed
    for each statement execute function huifang.callback_tasks_count_directive_states();

-- ══ kept counts: huifang.coverage_task_counts ══

-- How coverage counts a task (BRIEF §3): called back when completed, on time when by its deadline,
-- and only once its record is countersigned (Art 5, 12); unreachable and cancelled apart; open,
-- assigned and in progress are open, overdue or not by the hour of the report.
create or replace function huifang.coverage_standing(state text, closed_at timestamptz, due_at timestamptz, countersigned_at timestamptz)
    returns text
    language sql immutable parallel safe
    as $$
    select case when state = 'completed' and countersigned_at is not null then (case when closed_at <= due_at then 'on_time' else 'late' end)
                when state = 'completed' then 'awaiting'
                when state in ('unreachable', 'cancelled') then state
                else 'open' end
    $$;

-- A task's standing now: a completed task's record is read from its own year's partition.
create or replace function huifang.task_coverage_standing(t huifang.callback_tasks) returns text
    language sql stable
    as $$
    select huifang.coverage_standing(t.state, t.closed_at, t.due_at,
               case when t.state = 'completed' then (
                   select r.countersigned_at from huifang.records r
                   where r.branch_id = t.branch_id and r.id = t.record_id and r.created_at = t.record_created_at) end)
    $$;

-- As directive_task_counts are kept: one statement's rows, decrements onto the rows they leave,
-- increments upserted in key order. The standing a changed task leaves is read with its record as
-- it is now: a record's countersignature moves its task by the trigger below, in its own statement.
create or replace function huifang.callback_tasks_count_coverage() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if tg_op = 'INSERT' then
        insert into huifang.coverage_task_counts as c (branch_id, period, rule_code, standing, due_at, tasks)
        select a.branch_id, a.period, a.rule_code, huifang.task_coverage_standing(a), a.due_at, count(*)::int from added a
        group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5
        on conflict (branch_id, period, rule_code, standing, due_at) do update set tasks = c.tasks + excluded.tasks;
    elsif tg_op = 'UPDATE' then
        with delta as (
            select branch_id, period, rule_code, standing, due_at, sum(n)::int as n
            from (select r.branch_id, r.period, r.rule_code, huifang.task_coverage_standing(r) as standing, r.due_at, -1 as n from removed r
                  union all
                  select a.branch_id, a.period, a.rule_code, huifang.task_coverage_standing(a), a.due_at, 1 from added a) u
            group by 1, 2, 3, 4, 5 having sum(n) <> 0
        ), decremented as (
            update huifang.coverage_task_counts c set tasks = c.tasks + x.n
            from delta x
            where x.n < 0 and c.branch_id = x.branch_id and c.period = x.period and c.rule_code = x.rule_code
              and c.standing = x.standing and c.due_at = x.due_at
        )
        insert into huifang.coverage_task_counts as c (branch_id, period, rule_code, standing, due_at, tasks)
        select branch_id, period, rule_code, standing, due_at, n from delta where n > 0
        order by 1, 2, 3, 4, 5
        on conflict (branch_id, period, rule_code, standing, due_at) do update set tasks = c.tasks + excluded.tasks;
    else
        update huifang.coverage_task_counts c set tasks = c.tasks - x.n
        from (select r.branch_id, r.period, r.rule_code, huifang.task_coverage_standing(r) as standing, r.due_at, count(*)::int as n
              from removed r group by 1, 2, 3, 4, 5) x
        where c.branch_id = x.branch_id and c.period = x.period and c.rule_code = x.rule_code
          and c.standing = x.standing and c.due_at = x.due_at;
    end if;
    return null;
end
$$;
revoke execute on function huifang.callback_tasks_count_coverage() from public;

create or replace trigger callback_tasks_count_coverage_insert
    after insert on huifang.callback_tasks referencing new table as added
    for each statement execute function huifang.callback_tasks_count_coverage();

create or replace trigger callback_tasks_count_coverage_update
    after update on huifang.callback_tasks referencing old table as removed new table as added
    for each statement execute function huifang.callback_tasks_count_coverage();

create or replace trigger callback_tasks_count_coverage_delete
    after delete on huifang.callback_tasks referencing old table as removed
    for each statement execute function huifang.callback_tasks_count_coverage();

-- A record countersigned (or no longer) moves the completed task it completed between awaiting and
-- on time or late. The task is the record's own (records_after_step completes `task_id` with it).
create or replace function huifang.records_count_coverage() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    with task as (
        select t.branch_id, t.period, t.rule_code, t.due_at,
               huifang.coverage_standing(t.state, t.closed_at, t.due_at, old.countersigned_at) as leaves,
               huifang.coverage_standing(t.state, t.closed_at, t.due_at, new.countersigned_at) as enters
        from huifang.callback_tasks t
        where t.branch_id = new.branch_id and t.id = new.task_id and t.record_id = new.id and t.state = 'completed'
    ), decremented as (
        update huifang.coverage_task_counts c set tasks = c.tasks - 1
        from task x
        where x.leaves <> x.enters and c.branch_id = x.branch_id and c.period = x.period and c.rule_code = x.rule_code
          and c.standing = x.leaves and c.due_at = x.due_at
    )
    insert into huifang.coverage_task_counts as c (branch_id, period, rule_code, standing, due_at, tasks)
    select branch_id, period, rule_code, enters, due_at, 1 from task where leaves <> enters
    on conflict (branch_id, period, rule_code, standing, due_at) do update set tasks = c.tasks + 1;
    return null;
end
$$;
revoke execute on function huifang.records_count_coverage() from public;

create or replace trigger records_count_coverage
    after update on huifang.records
    -- Not `update of countersigned_at`: the record's own before trigger sets it, which a column list misses.
    for each row when (old.countersigned_at is distinct from new.countersigned_at and new.task_id is not null)
    execute function huifang.records_count_coverage();

-- ══ row-level security: huifang.coverage_task_counts ══

drop policy if exists owner_all on huifang.coverage_task_counts;
create policy owner_all on huifang.coverage_task_counts to current_user using (true) with check (true);

-- Read as coverage reads the tasks: a branch's own, HQ readers of every branch.
drop policy if exists read_scoped on huifang.coverage_task_counts;
create policy read_scoped on huifang.coverage_task_counts for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

-- ══ row-level security: huifang.directive_task_counts ══

drop policy if exists owner_all on huifang.directive_task_counts;
create policy owner_all on huifang.directive_task_counts to current_user using (true) with check (true);

-- Read as the directive's tasks and targets are: the branch's own, HQ readers of every branch, the
-- issuing and executing departments.
drop policy if exists read_scoped on huifang.directive_task_counts;
create policy read_scoped on huifang.directive_task_counts for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or exists (select from huifang.directives d
                      where d.id = directive_task_counts.directive_id
                        and (d.department_id = any ((select huifang.scope_department_ids())::integer[])
                             or d.executor_department_id = any ((select huifang.scope_department_ids())::integer[]))));

-- ══ row-level security: huifang.directive_targets ══

drop policy if exists owner_all on huifang.directive_targets;
create policy owner_all on huifang.directive_targets to current_user using (true) with check (true);

-- Targets are read as the directive's tasks are: the branch's own, HQ readers of every branch, the
-- issuing and executing departments; written as the directive's tasks are, when it is issued (the
-- directive, inserted in the same statement, is not yet visible to a policy).
drop policy if exists read_scoped on huifang.directive_targets;
create policy read_scoped on huifang.directive_targets for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or exists (select from huifang.directives d
                      where d.id = directive_targets.directive_id
                        and (d.department_id = any ((select huifang.scope_department_ids())::integer[])
                             or d.executor_department_id = any ((select huifang.scope_department_ids())::integer[]))));

drop policy if exists insert_directive on huifang.directive_targets;
create policy insert_directive on huifang.directive_targets for insert to huifang_app
    with check ((select huifang.scope_action()) = 'manageDirectives'
                and ((select huifang.scope_all_branches()) or branch_id = any ((select huifang.scope_branch_ids())::integer[])));
