-- Art 10, 12.3 (issue 19 B): the core system reports what happens to a client — a large asset
-- movement, an account closure, a password reset (清密), a new business opened, a change of agent —
-- and the callbacks the HQ departments require for them follow in the same transaction. Which
-- kinds require one, above which amount or share of the client's assets, by when, by whom and on
-- which form are event rules: obligation rules of cadence 'event', versioned like the others and
-- held to 100 % coverage. Closing an account (by event or by hand) now cancels only the callbacks it
-- makes pointless (issue 19 A6): not the special callbacks that confirm what happened.

alter table huifang.obligation_rules drop constraint obligation_rules_code_check;
alter table huifang.obligation_rules add constraint obligation_rules_code_check check (code in (
    'new_account_broker', 'new_account_ordinary', 'st_annual', 'core_monthly', 'service_half_year',
    'data_verification', 'special',
    'event_large_asset_movement', 'event_account_closure', 'event_password_reset', 'event_new_business', 'event_agent_change'));

alter table huifang.obligation_rules drop constraint obligation_rules_cadence_check;
alter table huifang.obligation_rules add constraint obligation_rules_cadence_check
    check (cadence in ('opening_day', 'month', 'half_year', 'year', 'flag', 'directive', 'event'));

alter table huifang.obligation_rules drop constraint obligation_rules_check;
alter table huifang.obligation_rules add constraint obligation_rules_due_workdays_by_cadence
    check ((cadence in ('opening_day', 'flag', 'event')) = (due_workdays is not null));

alter table huifang.obligation_rules
    add column event_kind text check (event_kind in (
        'large_asset_movement', 'account_closure', 'password_reset', 'new_business', 'agent_change')),
    -- A movement qualifies when its amount reaches min_amount, or min_share of the client's total
    -- assets on the last snapshot before it; either threshold may be absent, not both.
    add column min_amount numeric(18, 2) check (min_amount > 0),
    add column min_share numeric(5, 4) check (min_share > 0 and min_share <= 1),
    add constraint obligation_rules_event_kind check ((cadence = 'event') = (event_kind is not null)
        and (event_kind is not distinct from 'large_asset_movement') = (min_amount is not null or min_share is not null));

alter table huifang.obligation_rules drop constraint obligation_rules_floor;
alter table huifang.obligation_rules add constraint obligation_rules_floor check (case
    when code = 'new_account_ordinary' then coverage_percent >= 30 and cadence = 'opening_day' and due_workdays <= 5
    when code = 'service_half_year' then coverage_percent >= 20 and cadence = 'half_year'
    when code = 'new_account_broker' then coverage_percent = 100 and cadence = 'opening_day' and due_workdays <= 5
    when code = 'st_annual' then coverage_percent = 100 and cadence = 'year'
    when code = 'core_monthly' then coverage_percent = 100 and cadence = 'month'
    when code = 'data_verification' then coverage_percent = 100 and cadence = 'flag'
    when code = 'special' then coverage_percent = 100 and cadence = 'directive'
    -- Every event rule: each qualifying event gets its callback.
    when code like 'event\_%' then coverage_percent = 100 and cadence = 'event' and code = 'event_' || event_kind
    else false
end);

comment on column huifang.obligation_rules.event_kind is 'For cadence event: the kind of client event the rule calls back';
comment on column huifang.obligation_rules.min_amount is 'large_asset_movement: the amount (CNY) from which a movement qualifies';
comment on column huifang.obligation_rules.min_share is
    'large_asset_movement: the share of the client''s last snapshot assets from which a movement qualifies';

-- The first versions, in force since the regulation's start; the append-only trigger keeps new
-- versions out of the past, so it stands aside for these as 0008 did for the first rules.
alter table huifang.obligation_rules disable trigger obligation_rules_append_only;
insert into huifang.obligation_rules
    (code, version, effective_from, title, articles, population, coverage_percent, cadence, due_workdays,
     owner_role, executor, record_form, event_kind, min_amount, min_share, note)
values
    ('event_large_asset_movement', 1, '2026-01-01', 'Special callback: large asset movement', 'Art 10, 12.3',
     'every movement of at least 1,000,000.00 CNY or half of the client''s assets on the last snapshot before it',
     100, 'event', 3, 'ops_director', 'call_center', 'special', 'large_asset_movement', 1000000, 0.5,
     'Risk Control HQ: confirm the client ordered it'),
    ('event_account_closure', 1, '2026-01-01', 'Special callback: account closure', 'Art 10, 12.3',
     'every account closure the core system reports', 100, 'event', 3, 'ops_director', 'branch', 'special',
     'account_closure', null, null, 'confirms the closure; the closure cancels only the callbacks it makes pointless'),
    ('event_password_reset', 1, '2026-01-01', 'Special callback: password reset (清密)', 'Art 10, 12.3',
     'every password reset', 100, 'event', 2, 'ops_director', 'call_center', 'special', 'password_reset', null, null, null),
    ('event_new_business', 1, '2026-01-01', 'Special callback: new business opened', 'Art 10, 12.3',
     'every new business (margin, options, STAR market …) opened', 100, 'event', 5, 'ops_director', 'branch', 'special',
     'new_business', null, null, null),
    ('event_agent_change', 1, '2026-01-01', 'Special callback: principal–agent relationship', 'Art 10, 12.3',
     'every agent appointed, changed or removed', 100, 'event', 5, 'ops_director', 'branch', 'special',
     'agent_change', null, null, null);
alter table huifang.obligation_rules enable trigger obligation_rules_append_only;

create table huifang.client_events (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    external_id text not null check (external_id ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$'),
    client_id bigint not null,
    kind text not null check (kind in ('large_asset_movement', 'account_closure', 'password_reset', 'new_business', 'agent_change')),
    occurred_at timestamptz not null,
    amount numeric(18, 2) check (amount > 0),
    detail jsonb not null default '{}' check (jsonb_typeof(detail) = 'object' and length(detail::text) <= 8000),
    source text not null check (source in ('api', 'import')),
    received_at timestamptz not null default now(),
    received_by bigint references huifang.staff,
    -- As judged when received (huifang.client_events_judge): the rule version in effect on the day
    -- it occurred, whether it requires a callback, and why.
    rule_code text,
    rule_version integer,
    qualifies boolean not null default false,
    judgement text not null default '',
    primary key (branch_id, id),
    unique (branch_id, external_id),
    foreign key (branch_id, client_id) references huifang.clients (branch_id, id),
    foreign key (rule_code, rule_version) references huifang.obligation_rules,
    check ((kind = 'large_asset_movement') = (amount is not null))
);

comment on table huifang.client_events is
    'What the core system reports of a client (Art 10); each qualifying event gets its special callback, once';

create index client_events_by_client on huifang.client_events (branch_id, client_id, occurred_at);
create index client_events_qualifying_by_month on huifang.client_events (branch_id, occurred_at)
    include (rule_code) where qualifies;

alter table huifang.callback_tasks add column event_id bigint;
alter table huifang.callback_tasks add constraint callback_tasks_event_fkey
    foreign key (branch_id, event_id) references huifang.client_events (branch_id, id);
create index callback_tasks_by_event on huifang.callback_tasks (branch_id, event_id) where event_id is not null;

alter table huifang.client_events enable row level security;
alter table huifang.client_events force row level security;
grant select on huifang.client_events to huifang_app;
grant insert (branch_id, external_id, client_id, kind, occurred_at, amount, detail, source, received_by)
    on huifang.client_events to huifang_app;
