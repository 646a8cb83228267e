-- Years of history (issue 22): the audit trail and the fired SLA stages are partitioned by month
-- (UTC), so ten years stay as quick to append to and to read by month as one, and months past a
-- retention can be detached and archived (`huifang archive`) without rewriting anything.
--
-- audit_events is partitioned by `at`, sla_events by `scheduled_at` (the stage's own time, fixed
-- once fired: a stage fired twice would land in the same partition, where the unique key still
-- catches it). Keys gain the partition column, as PostgreSQL requires; `branch_id` (for the audit
-- trail `chain`, the branch or 0, never null) still leads them. A default partition takes what no
-- month holds yet; `huifang.create_history_partitions` (sql/definitions/35_history.sql, called by
-- the workers) creates the months ahead. Partitions are reached only through their parent: the
-- request role has no privilege on them, so the parent's row-level security governs every read.
--
-- The audit chain's head (last seq and hash per chain) moves to audit_chain_heads, kept by the
-- chain trigger: appending reads one row instead of the newest event of every partition, and
-- archiving keeps what the first remaining event must name (audit_archived_heads).

-- ══ audit_events ══

-- Over the old row type; sql/definitions/30_audit.sql defines it again over the new one.
drop function huifang.audit_event_hash(huifang.audit_events);

alter table huifang.audit_events rename to audit_events_unpartitioned;

create table huifang.audit_events (
    id bigint generated always as identity,
    at timestamptz not null default clock_timestamp(),
    actor_staff_id bigint references huifang.staff,
    branch_id integer references huifang.branches,
    action text not null check (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    object_type text not null,
    object_id text,
    reason text,
    detail jsonb not null default '{}',
    chain integer not null,
    seq bigint not null,
    scope jsonb,
    prev_hash bytea,
    hash bytea not null
) partition by range (at);

-- ══ sla_events ══

alter table huifang.sla_events rename to sla_events_unpartitioned;

create table huifang.sla_events (
    branch_id integer not null,
    id bigint generated always as identity,
    timer_id bigint not null,
    stage text not null,
    scheduled_at timestamptz not null,
    fired_at timestamptz not null default clock_timestamp(),
    subject_kind text not null,
    subject_id bigint not null,
    clock text not null
) partition by range (scheduled_at);

-- One partition per UTC month from the oldest row to three months ahead, and a default.
do $$
declare
    parent text;
    oldest timestamptz;
    month timestamp;
begin
    foreach parent in array array['audit_events', 'sla_events'] loop
        execute format('select min(%I) from huifang.%I', case parent when 'audit_events' then 'at' else 'scheduled_at' end,
                       parent || '_unpartitioned') into oldest;
        month := date_trunc('month', least(coalesce(oldest, now()), now()) at time zone 'UTC');
        while month < date_trunc('month', now() at time zone 'UTC') + interval '4 months' loop
            execute format(
                'create table huifang.%I partition of huifang.%I for values from (%L) to (%L)',
                parent || '_' || to_char(month, 'YYYY_MM'), parent, month || '+00', (month + interval '1 month') || '+00');
            month := month + interval '1 month';
        end loop;
        execute format('create table huifang.%I partition of huifang.%I default', parent || '_default', parent);
    end loop;
end
$$;

insert into huifang.audit_events overriding system value select * from huifang.audit_events_unpartitioned;
insert into huifang.sla_events overriding system value select * from huifang.sla_events_unpartitioned;
select setval(pg_get_serial_sequence('huifang.audit_events', 'id'), coalesce(max(id), 0) + 1, false) from huifang.audit_events;
select setval(pg_get_serial_sequence('huifang.sla_events', 'id'), coalesce(max(id), 0) + 1, false) from huifang.sla_events;

drop table huifang.audit_events_unpartitioned;
drop table huifang.sla_events_unpartitioned;

-- The names of the keys and indexes are free again: the same ones, with the partition column.
alter table huifang.audit_events add primary key (chain, seq, at);
create index audit_events_branch on huifang.audit_events (branch_id, at) where branch_id is not null;
create index audit_events_actor on huifang.audit_events (actor_staff_id, at);
create index audit_events_object on huifang.audit_events (object_type, object_id);

alter table huifang.sla_events
    add primary key (branch_id, id, scheduled_at),
    add constraint sla_events_branch_id_timer_id_stage_key unique (branch_id, timer_id, stage, scheduled_at),
    add foreign key (branch_id, timer_id) references huifang.timers (branch_id, id);

comment on table huifang.audit_events is 'Append-only trail: who did what, when, to which object, and why';
comment on column huifang.audit_events.chain is 'The chain: the branch, or 0 for organization-wide events';
comment on column huifang.audit_events.scope is 'The request scope the event was written in: action, branches, departments';
comment on table huifang.sla_events is 'Each stage of each timer, fired once: warning_NN, breached, escalated';

alter table huifang.audit_events enable row level security;
alter table huifang.audit_events force row level security;
alter table huifang.sla_events enable row level security;
alter table huifang.sla_events force row level security;
grant select, insert on huifang.audit_events to huifang_app;
grant select on huifang.sla_events to huifang_app;

-- ══ the chain's head, and what archiving removed ══

create table huifang.audit_chain_heads (
    chain integer primary key,
    seq bigint not null,
    hash bytea not null,
    at timestamptz not null
);

comment on table huifang.audit_chain_heads is
    'The last event of each audit chain (seq and hash), kept by the chain trigger; never readable by huifang_app';

insert into huifang.audit_chain_heads (chain, seq, hash, at)
select distinct on (chain) chain, seq, hash, at from huifang.audit_events order by chain, seq desc;

create table huifang.audit_archived_heads (
    chain integer not null,
    seq bigint not null,
    hash bytea not null,
    partition text not null,
    archived_at timestamptz not null default now(),
    events bigint not null,
    file text not null,
    primary key (chain, seq)
);

comment on table huifang.audit_archived_heads is
    'Per archived partition and chain, the last event archived: the first remaining event of the chain names its hash';
