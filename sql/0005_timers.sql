-- SLA timers: every deadline is a row, fired by workers that claim due rows with FOR UPDATE SKIP
-- LOCKED and write the effect (an sla_events row, notifications) in the same transaction.
--
-- A timer counts `workdays` working days of `calendar` from `started_at` (BRIEF §3: day 1 is the
-- first working day after the Shanghai date of the start; the deadline is the end of day N). Its
-- stages, in order: a warning at each of `warning_points` (fractions of the allowed working time),
-- `breached` at the deadline, `escalated` `escalate_after_workdays` working days after it. The
-- schedule is computed here, from the calendar, whenever the inputs change — which is how loading
-- an official year moves every open deadline that depends on it.
--
-- The SLA engine acts with the scope `huifang.system = on` (see huifang.scope_system()).

create function huifang.scope_system() returns boolean
    language sql stable parallel safe
    as $$ select coalesce(current_setting('huifang.system', true) = 'on', false) $$;

comment on function huifang.scope_system() is
    'The SLA engine (timer workers, calendar recomputation): reaches every timer, event and notification';

-- The instant at which fraction p of n working days counted from t has elapsed: the end of working
-- day k = floor(p·n) when p·n is whole, else the share p·n − k into working day k + 1.
create function huifang.workday_fraction(cal text, t timestamptz, n int, p numeric) returns timestamptz
    language sql stable
    as $$
        select case
            when p * n = floor(p * n) and p * n >= 1 then huifang.workday_deadline(cal, t, floor(p * n)::int)
            else ((huifang.add_workdays(cal, (t at time zone 'Asia/Shanghai')::date, floor(p * n)::int + 1)::timestamp
                   + (p * n - floor(p * n)) * interval '1 day') at time zone 'Asia/Shanghai')
        end
    $$;

create table huifang.timers (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    -- What the clock is about, e.g. ('problem', 42) with clock 'problem_loop'.
    subject_kind text not null check (subject_kind ~ '^[a-z][a-z_]*$'),
    subject_id bigint not null,
    clock text not null check (clock ~ '^[a-z][a-z0-9_]*$'),
    calendar text not null default 'cn_workday' references huifang.calendars,
    started_at timestamptz not null,
    workdays integer not null check (workdays between 1 and 250),
    warning_points numeric[] not null default '{0.5,0.75}'
        check (cardinality(warning_points) <= 5 and 0 < all (warning_points) and 1 > all (warning_points)),
    escalate_after_workdays integer not null default 1 check (escalate_after_workdays between 1 and 30),
    -- Recipients: [{"role": "ops_director", "branchId": 3}, {"role": "functional_dept", "departmentId": 7}].
    notify jsonb not null default '[]' check (jsonb_typeof(notify) = 'array'),
    escalate_to jsonb not null default '[]' check (jsonb_typeof(escalate_to) = 'array'),
    title text not null,
    -- Computed by the trigger below, never by hand.
    due_at timestamptz not null,
    stage_names text[] not null,
    stage_at timestamptz[] not null,
    provisional boolean not null,
    fired_stages text[] not null default '{}',
    next_fire_at timestamptz,
    state text not null default 'running' check (state in ('running', 'stopped', 'done')),
    stopped_at timestamptz,
    stop_reason text,
    created_at timestamptz not null default now(),
    primary key (branch_id, id),
    unique (branch_id, subject_kind, subject_id, clock),
    check ((state = 'running') = (next_fire_at is not null)),
    check ((state = 'stopped') = (stopped_at is not null))
);

-- Workers take the earliest due timers of all branches. This is the one index that cannot lead with
-- branch_id: on a cluster distributed by branch_id it is simply per shard.
create index timers_due on huifang.timers (next_fire_at) where state = 'running';
create index timers_by_calendar on huifang.timers (branch_id, calendar, started_at) where state = 'running';

comment on table huifang.timers is 'SLA clocks counted in working days; stages fire exactly once';

create function huifang.timers_schedule() returns trigger
    language plpgsql
    as $$
declare
    point numeric;
    last_day date;
begin
    new.due_at := huifang.workday_deadline(new.calendar, new.started_at, new.workdays);
    new.stage_names := '{}';
    new.stage_at := '{}';
    foreach point in array (select array_agg(p order by p) from unnest(new.warning_points) p) loop
        new.stage_names := new.stage_names || ('warning_' || round(point * 100)::text);
        new.stage_at := new.stage_at || huifang.workday_fraction(new.calendar, new.started_at, new.workdays, point);
    end loop;
    new.stage_names := new.stage_names || array['breached', 'escalated'];
    new.stage_at := new.stage_at || array[
        new.due_at,
        huifang.workday_deadline(new.calendar, new.started_at, new.workdays + new.escalate_after_workdays)];
    last_day := (new.stage_at[cardinality(new.stage_at)] at time zone 'Asia/Shanghai')::date;
    new.provisional := huifang.calendar_is_provisional(
        new.calendar, (new.started_at at time zone 'Asia/Shanghai')::date, last_day);
    -- Stages already fired stay fired; the next one is the first after them.
    if new.state = 'running' then
        new.next_fire_at := new.stage_at[cardinality(new.fired_stages) + 1];
        if new.next_fire_at is null then
            new.state := 'done';
        end if;
    else
        new.next_fire_at := null;
    end if;
    return new;
end
$$;

create trigger timers_schedule
    before insert or update of calendar, started_at, workdays, warning_points, escalate_after_workdays
    on huifang.timers
    for each row execute function huifang.timers_schedule();

-- Wakes sleeping workers when a timer becomes due within their polling horizon.
create function huifang.timers_wake_workers() returns trigger
    language plpgsql
    as $$
begin
    if new.state = 'running' and new.next_fire_at <= now() + interval '5 seconds' then
        perform pg_notify('huifang_timers', '');
    end if;
    return null;
end
$$;

create trigger timers_wake_workers
    after insert or update of next_fire_at on huifang.timers
    for each row execute function huifang.timers_wake_workers();

create table huifang.sla_events (
    branch_id integer not null,
    id bigint generated always as identity,
    timer_id bigint not null,
    stage text not null,
    scheduled_at timestamptz not null,
    fired_at timestamptz not null default clock_timestamp(),
    subject_kind text not null,
    subject_id bigint not null,
    clock text not null,
    primary key (branch_id, id),
    unique (branch_id, timer_id, stage),
    foreign key (branch_id, timer_id) references huifang.timers (branch_id, id)
);

comment on table huifang.sla_events is 'Each stage of each timer, fired once: warning_NN, breached, escalated';

create table huifang.notifications (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    created_at timestamptz not null default clock_timestamp(),
    recipient_role text not null,
    recipient_branch_id integer references huifang.branches,
    recipient_department_id integer references huifang.departments,
    kind text not null check (kind in ('sla')),
    title text not null,
    timer_id bigint,
    stage text,
    subject_kind text,
    subject_id bigint,
    scheduled_at timestamptz,
    -- Outbox: when an external channel (mail, SMS, IM) has taken it.
    delivered_at timestamptz,
    primary key (branch_id, id),
    check ((recipient_branch_id is null) <> (recipient_department_id is null))
);

create index notifications_to_branch on huifang.notifications (branch_id, recipient_branch_id, recipient_role, id);
create index notifications_to_department on huifang.notifications (branch_id, recipient_department_id, recipient_role, id);

comment on table huifang.notifications is 'Messages to a role in a branch or department; also the outbox for external delivery';

create table huifang.notification_reads (
    branch_id integer not null,
    notification_id bigint not null,
    staff_id bigint not null references huifang.staff,
    read_at timestamptz not null default now(),
    primary key (branch_id, notification_id, staff_id),
    foreign key (branch_id, notification_id) references huifang.notifications (branch_id, id)
);

-- Row-level security ------------------------------------------------------------------------------

alter table huifang.timers enable row level security;
alter table huifang.timers force row level security;
alter table huifang.sla_events enable row level security;
alter table huifang.sla_events force row level security;
alter table huifang.notifications enable row level security;
alter table huifang.notifications force row level security;
alter table huifang.notification_reads enable row level security;
alter table huifang.notification_reads force row level security;

create policy owner_all on huifang.timers to current_user using (true) with check (true);
create policy owner_all on huifang.sla_events to current_user using (true) with check (true);
create policy owner_all on huifang.notifications to current_user using (true) with check (true);
create policy owner_all on huifang.notification_reads to current_user using (true) with check (true);

create policy engine on huifang.timers to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));
create policy read_scoped on huifang.timers for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
-- Branch workflows start and stop their own clocks (in the transaction of the state change).
create policy write_scoped on huifang.timers for insert to huifang_app
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[]));
create policy update_scoped on huifang.timers for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[]));

create policy engine on huifang.sla_events to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));
create policy read_scoped on huifang.sla_events for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

create policy engine on huifang.notifications to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));
-- A notification is for whoever holds its role where it is addressed, now.
create policy addressed on huifang.notifications for select to huifang_app
    using (exists (
        select from huifang.role_grants g
        where g.staff_id = (select huifang.scope_staff_id()) and g.revoked_at is null
          and g.role = notifications.recipient_role
          and (g.branch_id = notifications.recipient_branch_id or g.department_id = notifications.recipient_department_id)));

create policy own on huifang.notification_reads to huifang_app
    using (staff_id = (select huifang.scope_staff_id())) with check (staff_id = (select huifang.scope_staff_id()));

grant select, insert, update on huifang.timers to huifang_app;
grant select, insert on huifang.sla_events to huifang_app;
grant select, insert, update (delivered_at) on huifang.notifications to huifang_app;
grant select, insert on huifang.notification_reads to huifang_app;
grant execute on function huifang.scope_system(), huifang.workday_fraction(text, timestamptz, int, numeric) to huifang_app;
