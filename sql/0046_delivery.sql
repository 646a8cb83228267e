-- Delivery of the notifications outbox to external channels (issue 21): webhooks (generic, WeCom and
-- DingTalk robots) and e-mail, chosen per HQ department or per branch role, with every attempt
-- recorded, retries for a bounded time, then a dead delivery an admin can retry; and the daily digest
-- of what is due today and overdue, composed once per working day.
--
-- Channels, deliveries and digests belong to whom they are addressed to (a branch role or an HQ
-- department) rather than to the branch a notification is about: a department's channel receives
-- every branch's notifications. Like role_grants they are keyed by id, small next to the branch data,
-- and on a cluster distributed by branch_id they would be reference tables.
-- Functions, triggers and policies: sql/definitions/95_delivery.sql.

create table huifang.delivery_channels (
    id bigint generated always as identity primary key,
    -- Addressed to a role in a branch, or to an HQ department (whatever role is addressed there).
    branch_id integer references huifang.branches,
    role text check (role in ('responsible_person', 'ops_director', 'marketing_director', 'front_desk', 'branch_manager')),
    department_id integer references huifang.departments,
    kind text not null check (kind in ('webhook', 'wecom', 'dingtalk', 'email')),
    name text not null check (length(name) between 1 and 100),
    url text check (length(url) <= 2000),
    -- The webhook's HMAC key, or DingTalk's signing secret; the request role never reads it back.
    secret text check (length(secret) between 16 and 200),
    -- What the request role may know of the secret.
    has_secret boolean generated always as (secret is not null) stored,
    addresses text[] check (cardinality(addresses) between 1 and 20),
    notification_kinds text[] not null
        check (cardinality(notification_kinds) >= 1
               and notification_kinds <@ array['warning', 'breach', 'escalation', 'handoff', 'digest']),
    enabled boolean not null default true,
    created_at timestamptz not null default now(),
    created_by bigint references huifang.staff,
    updated_at timestamptz not null default now(),
    removed_at timestamptz,
    constraint delivery_channels_owner check ((branch_id is null) <> (department_id is null) and (branch_id is null) = (role is null)),
    constraint delivery_channels_target check (case kind when 'email' then addresses is not null and url is null
                                                          else url is not null and addresses is null end),
    constraint delivery_channels_secret check (kind <> 'webhook' or secret is not null),
    -- The digest goes to departments and to branch leaders (issue 21), not to every branch role.
    constraint delivery_channels_digest check (
        not ('digest' = any (notification_kinds)) or department_id is not null
        or role in ('ops_director', 'marketing_director', 'branch_manager'))
);

create index delivery_channels_branch on huifang.delivery_channels (branch_id, role) where removed_at is null;
create index delivery_channels_department on huifang.delivery_channels (department_id) where removed_at is null;

comment on table huifang.delivery_channels is
    'Where notifications go outside Huifang: a webhook, WeCom or DingTalk robot, or e-mail, per branch role or HQ department';

-- Hosts an admin lets webhooks reach over plain http, or at private, loopback or link-local addresses.
create table huifang.delivery_allowed_hosts (
    host text primary key check (host = lower(host) and length(host) between 1 and 253),
    allow_http boolean not null default false,
    allow_private boolean not null default false,
    reason text not null check (length(reason) between 4 and 500),
    created_at timestamptz not null default now(),
    created_by bigint references huifang.staff,
    check (allow_http or allow_private)
);

comment on table huifang.delivery_allowed_hosts is
    'Exceptions to the webhook safety rules (https only, public addresses only), per host, set by an admin';

-- One message per department and branch leader per working day; the day row is the claim that
-- makes it once, with any number of workers.
create table huifang.delivery_digest_days (
    day date primary key,
    composed_at timestamptz not null default clock_timestamp()
);

comment on table huifang.delivery_digest_days is 'The working days whose 08:30 digest has been composed (once each)';

create table huifang.delivery_digests (
    id bigint generated always as identity primary key,
    day date not null references huifang.delivery_digest_days,
    recipient_role text,
    recipient_branch_id integer references huifang.branches,
    recipient_department_id integer references huifang.departments,
    due_today integer not null,
    overdue integer not null,
    -- The first items, due first: [{"subjectKind", "subjectId", "branchId", "branchCode", "clock", "dueAt", "overdue"}].
    items jsonb not null check (jsonb_typeof(items) = 'array'),
    check ((recipient_branch_id is null) <> (recipient_department_id is null))
);

create unique index delivery_digests_once
    on huifang.delivery_digests (day, coalesce(recipient_branch_id, 0), coalesce(recipient_department_id, 0), coalesce(recipient_role, ''));

comment on table huifang.delivery_digests is 'The daily digest of one department or branch leader: counts and the first items';

create table huifang.deliveries (
    id bigint generated always as identity primary key,
    channel_id bigint not null references huifang.delivery_channels,
    notification_branch_id integer,
    notification_id bigint,
    digest_id bigint references huifang.delivery_digests,
    kind text not null check (kind in ('warning', 'breach', 'escalation', 'handoff', 'digest')),
    state text not null default 'pending' check (state in ('pending', 'delivered', 'dead', 'cancelled')),
    attempts integer not null default 0,
    created_at timestamptz not null default clock_timestamp(),
    -- Retries stop this long after it: set at creation and again when an admin retries a dead one.
    pending_since timestamptz not null default clock_timestamp(),
    next_attempt_at timestamptz default clock_timestamp(),
    delivered_at timestamptz,
    dead_at timestamptz,
    last_status integer,
    last_error text check (length(last_error) <= 500),
    foreign key (notification_branch_id, notification_id) references huifang.notifications (branch_id, id),
    unique (channel_id, notification_branch_id, notification_id),
    unique (channel_id, digest_id),
    check ((notification_id is null) <> (digest_id is null)),
    check ((notification_id is null) = (notification_branch_id is null)),
    check ((state = 'pending') = (next_attempt_at is not null)),
    check ((state = 'delivered') = (delivered_at is not null)),
    check (state <> 'dead' or dead_at is not null)
);

create index deliveries_due on huifang.deliveries (next_attempt_at) where state = 'pending';
create index deliveries_by_channel on huifang.deliveries (channel_id, state, id);
create index deliveries_dead on huifang.deliveries (id) where state = 'dead';

comment on table huifang.deliveries is
    'The outbox fanned out: one row per notification (or digest) and matching channel, delivered at least once';

create table huifang.delivery_attempts (
    delivery_id bigint not null references huifang.deliveries,
    attempt integer not null check (attempt >= 1),
    started_at timestamptz not null,
    latency_ms integer not null check (latency_ms >= 0),
    outcome text not null check (outcome in ('delivered', 'failed', 'refused')),
    status_code integer,
    error text check (length(error) <= 500),
    -- Never the whole response: the first characters, enough to see what the receiver said.
    response_excerpt text check (length(response_excerpt) <= 200),
    primary key (delivery_id, attempt)
);

comment on table huifang.delivery_attempts is 'Every attempt of every delivery: outcome, response code, latency, a short excerpt';

alter table huifang.delivery_channels enable row level security;
alter table huifang.delivery_channels force row level security;
alter table huifang.delivery_allowed_hosts enable row level security;
alter table huifang.delivery_allowed_hosts force row level security;
alter table huifang.delivery_digest_days enable row level security;
alter table huifang.delivery_digest_days force row level security;
alter table huifang.delivery_digests enable row level security;
alter table huifang.delivery_digests force row level security;
alter table huifang.deliveries enable row level security;
alter table huifang.deliveries force row level security;
alter table huifang.delivery_attempts enable row level security;
alter table huifang.delivery_attempts force row level security;

-- The secret is written, never read back by the request role (the engine reads it through
-- huifang.delivery_channel_secret).
grant select (id, branch_id, role, department_id, kind, name, url, has_secret, addresses, notification_kinds, enabled,
              created_at, created_by, updated_at, removed_at) on huifang.delivery_channels to huifang_app;
grant insert (branch_id, role, department_id, kind, name, url, secret, addresses, notification_kinds, enabled, created_by)
    on huifang.delivery_channels to huifang_app;
grant update (name, url, secret, addresses, notification_kinds, enabled, updated_at, removed_at)
    on huifang.delivery_channels to huifang_app;
grant select, insert, update (allow_http, allow_private, reason), delete on huifang.delivery_allowed_hosts to huifang_app;
grant select on huifang.delivery_digests, huifang.delivery_digest_days to huifang_app;
grant select, update (state, attempts, pending_since, next_attempt_at, delivered_at, dead_at, last_status, last_error)
    on huifang.deliveries to huifang_app;
grant select, insert on huifang.delivery_attempts to huifang_app;
