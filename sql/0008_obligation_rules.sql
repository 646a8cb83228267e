-- Callback obligations as data (Articles 3, 4, 11, 12, 13): one row per rule version. A change is a
-- new version effective from a date; versions are never edited or deleted, so any task can name
-- the exact rule it was created under.
--
-- Also: the scope settings the obligation policies read (the HQ departments of the grants that
-- permit the action, and the action itself), period labels, and longer timers for yearly periods.

create function huifang.scope_department_ids() returns integer[]
    language sql stable parallel safe
    as $$ select coalesce(nullif(current_setting('huifang.department_ids', true), '')::integer[], '{}') $$;

create function huifang.scope_action() returns text
    language sql stable parallel safe
    as $$ select coalesce(current_setting('huifang.action', true), '') $$;

comment on function huifang.scope_department_ids() is
    'HQ departments whose own work the transaction reaches (a call center''s queue, S&T HQ''s directives)';

-- The scheduler (scope system) reads the organization chart to know which branches and
-- departments own the work it generates.
create policy engine_read on huifang.branches for select to huifang_app using ((select huifang.scope_system()));
create policy engine_read on huifang.departments for select to huifang_app using ((select huifang.scope_system()));

-- A year has up to ~255 working days; yearly callback periods run on one timer.
alter table huifang.timers drop constraint timers_workdays_check;
alter table huifang.timers add constraint timers_workdays_check check (workdays between 1 and 400);

-- Periods: 'YYYY-MM', 'YYYY-H1' / 'YYYY-H2', 'YYYY', and an opening day 'YYYY-MM-DD'.
create function huifang.period_range(label text) returns daterange
    language plpgsql immutable
    as $$
declare
    y int;
begin
    if label ~ '^\d{4}-\d{2}-\d{2}$' then
        return daterange(label::date, label::date, '[]');
    elsif label ~ '^\d{4}-(0[1-9]|1[0-2])$' then
        return daterange((label || '-01')::date, ((label || '-01')::date + interval '1 month')::date, '[)');
    elsif label ~ '^\d{4}-H[12]$' then
        y := substr(label, 1, 4)::int;
        return case substr(label, 7, 1)
            when '1' then daterange(make_date(y, 1, 1), make_date(y, 7, 1), '[)')
            else daterange(make_date(y, 7, 1), make_date(y + 1, 1, 1), '[)') end;
    elsif label ~ '^\d{4}$' then
        return daterange(make_date(label::int, 1, 1), make_date(label::int + 1, 1, 1), '[)');
    end if;
    raise exception 'period "%" is not YYYY-MM, YYYY-H1, YYYY-H2, YYYY or YYYY-MM-DD', label using errcode = '22023';
end
$$;

create table huifang.obligation_rules (
    code text not null check (code in (
        'new_account_broker', 'new_account_ordinary', 'st_annual', 'core_monthly', 'service_half_year',
        'data_verification', 'special')),
    version integer not null check (version >= 1),
    effective_from date not null,
    title text not null,
    articles text not null,
    -- For the auditor: who is in the population, in words.
    population text not null,
    coverage_percent numeric(5, 2) not null check (coverage_percent > 0 and coverage_percent <= 100),
    -- When a sampled rule's window is judged: one opening day, a month, a half-year, a year; or per
    -- flag / per directive.
    cadence text not null check (cadence in ('opening_day', 'month', 'half_year', 'year', 'flag', 'directive')),
    -- Working days from the event (opening, flag); null: the end of the period or the directive's date.
    due_workdays integer check (due_workdays between 1 and 60),
    owner_role text not null check (owner_role in ('ops_director', 'marketing_director', 'sales_trading_hq')),
    executor text not null check (executor in ('branch', 'call_center')),
    record_form text not null check (record_form in ('new_account', 'existing_client', 'special', 'service')),
    published_by bigint references huifang.staff,
    published_at timestamptz not null default now(),
    note text,
    primary key (code, version),
    unique (code, effective_from),
    check ((cadence in ('opening_day', 'flag')) = (due_workdays is not null)),
    -- The regulation's floors: a version may ask for more, never less.
    constraint obligation_rules_floor check (case code
        when 'new_account_ordinary' then coverage_percent >= 30 and cadence = 'opening_day' and due_workdays <= 5
        when 'service_half_year' then coverage_percent >= 20 and cadence = 'half_year'
        when 'new_account_broker' then coverage_percent = 100 and cadence = 'opening_day' and due_workdays <= 5
        when 'st_annual' then coverage_percent = 100 and cadence = 'year'
        when 'core_monthly' then coverage_percent = 100 and cadence = 'month'
        when 'data_verification' then coverage_percent = 100 and cadence = 'flag'
        when 'special' then coverage_percent = 100 and cadence = 'directive'
    end)
);

comment on table huifang.obligation_rules is
    'Who must be called back, how often, at what coverage, by when and owned by whom; versioned, never edited';

insert into huifang.obligation_rules
    (code, version, effective_from, title, articles, population, coverage_percent, cadence, due_workdays,
     owner_role, executor, record_form, note)
values
    ('new_account_broker', 1, '2026-01-01', 'New account, broker-introduced', 'Art 4, 12.1(1)',
     'every client introduced by a broker (证券经纪人), at account opening', 100, 'opening_day', 5,
     'ops_director', 'branch', 'new_account', 'created in the transaction that opens the account'),
    ('new_account_ordinary', 1, '2026-01-01', 'New account, ordinary (sampled)', 'Art 4, 12.1(2)',
     'the other clients whose account opened on the branch''s opening day', 30, 'opening_day', 5,
     'ops_director', 'branch', 'new_account', 'sampled once the opening day is over'),
    ('st_annual', 1, '2026-01-01', 'S&T HQ annual callback', 'Art 3, 11',
     'the branch''s active brokers, and clients with total assets ≥ 10,000,000.00 CNY on the last snapshot before the year',
     100, 'year', null, 'sales_trading_hq', 'call_center', 'service', 'executed by the call center'),
    ('core_monthly', 1, '2026-01-01', 'Core clients, monthly', 'Art 13.1',
     'the branch''s open core clients (branch threshold or top N by assets) on the last snapshot before the month',
     100, 'month', null, 'marketing_director', 'branch', 'service', null),
    ('service_half_year', 1, '2026-01-01', 'Small/medium and dormant clients, half-yearly (sampled)', 'Art 13.2',
     'the branch''s open non-core clients on the last snapshot before the half-year, dormant ones sampled first',
     20, 'half_year', null, 'marketing_director', 'branch', 'service', null),
    ('data_verification', 1, '2026-01-01', 'Existing-client data verification', 'Art 12.2',
     'clients flagged for incomplete or suspect key fields, by rule (no phone) or by HQ', 100, 'flag', 10,
     'ops_director', 'branch', 'existing_client', null),
    ('special', 1, '2026-01-01', 'Special callback (HQ directive)', 'Art 10, 12.3, 14',
     'the client list or filter of an HQ directive', 100, 'directive', null,
     'ops_director', 'branch', 'special', 'call-center directives are executed by the call center instead');

-- Versions are history: a new one must be the next number, start after the latest and not in the
-- past; nothing is ever updated or deleted.
create function huifang.obligation_rules_append_only() returns trigger
    language plpgsql
    as $$
declare
    latest huifang.obligation_rules;
begin
    if tg_op <> 'INSERT' then
        raise exception 'obligation rule versions are history and cannot be changed; publish a new version'
            using errcode = '55000';
    end if;
    select * into latest from huifang.obligation_rules where code = new.code order by version desc limit 1;
    if new.version is distinct from coalesce(latest.version, 0) + 1 then
        raise exception 'the next version of rule % is %', new.code, coalesce(latest.version, 0) + 1
            using errcode = '23514', constraint = 'obligation_rules_next_version';
    end if;
    if new.effective_from <= latest.effective_from
       or new.effective_from < (now() at time zone 'Asia/Shanghai')::date then
        raise exception 'a new version of rule % must take effect after % and not before today', new.code, latest.effective_from
            using errcode = '23514', constraint = 'obligation_rules_effective_from';
    end if;
    -- What a rule is (its cadence, owner, executor, form) is fixed; versions change numbers.
    if (new.cadence, new.owner_role, new.executor, new.record_form)
       is distinct from (latest.cadence, latest.owner_role, latest.executor, latest.record_form) then
        raise exception 'a version of rule % keeps its cadence, owner, executor and form', new.code
            using errcode = '23514', constraint = 'obligation_rules_same_kind';
    end if;
    return new;
end
$$;

create trigger obligation_rules_append_only
    before insert or update or delete on huifang.obligation_rules
    for each row execute function huifang.obligation_rules_append_only();
create trigger obligation_rules_no_truncate
    before truncate on huifang.obligation_rules
    for each statement execute function huifang.obligation_rules_append_only();

-- The version of a rule in effect on a day; no row before the first version.
create function huifang.rule_in_effect(rule text, d date) returns huifang.obligation_rules
    language sql stable
    as $$
        select * from huifang.obligation_rules where code = rule and effective_from <= d order by version desc limit 1
    $$;

grant select, insert on huifang.obligation_rules to huifang_app;
grant execute on function huifang.scope_department_ids(), huifang.scope_action(), huifang.period_range(text),
    huifang.rule_in_effect(text, date) to huifang_app;
