-- Callback obligations (Art 11–13): the versioned rules, their periods, and the seeded sample key
-- an auditor re-derives every draw from.
-- Tables: obligation_rules, obligation_draws (0008, 0009).

-- ══ functions and the triggers that call them ══

-- Periods: 'YYYY-MM', 'YYYY-H1' / 'YYYY-H2', 'YYYY', and an opening day 'YYYY-MM-DD'.
create or replace function huifang.period_range(label text) returns daterange
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
grant execute on function huifang.period_range(text) to huifang_app;

-- Versions are history: a new one must be the next number, start after the latest and not in the
-- past; nothing is ever updated or deleted.
create or replace function huifang.obligation_rules_append_only() returns trigger
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
    -- What a rule is (its cadence, owner, executor, form, event kind) is fixed; versions change numbers.
    if (new.cadence, new.owner_role, new.executor, new.record_form, new.event_kind)
       is distinct from (latest.cadence, latest.owner_role, latest.executor, latest.record_form, latest.event_kind) then
        raise exception 'a version of rule % keeps its cadence, owner, executor, form and event kind', new.code
            using errcode = '23514', constraint = 'obligation_rules_same_kind';
    end if;
    -- Who published it and when are the request's, never the caller's word.
    new.published_at := now();
    if session_user = 'huifang_app' then
        new.published_by := huifang.scope_staff_id();
    end if;
    return new;
end
$$;

create or replace trigger obligation_rules_append_only
    before insert or update or delete on huifang.obligation_rules
    for each row execute function huifang.obligation_rules_append_only();

create or replace trigger obligation_rules_no_truncate
    before truncate on huifang.obligation_rules
    for each statement execute function huifang.obligation_rules_append_only();

-- The version of a rule in effect on a day; no row before the first version.
create or replace function huifang.rule_in_effect(rule text, d date) returns huifang.obligation_rules
    language sql stable
    as $$
        select * from huifang.obligation_rules where code = rule and effective_from <= d order by version desc limit 1
    $$;
grant execute on function huifang.rule_in_effect(text,date) to huifang_app;

-- PL/pgSQL, not SQL: convert_to is only stable, so the planner never inlines the SQL function, and
-- the SQL function executor cost 3.4–4.5 µs a call against 2 µs here (100,000 calls in psql). A
-- window's population is ordered by it on every draw, replacement and task explanation.
create or replace function huifang.sample_key(seed text, kind text, id bigint) returns bytea
    language plpgsql immutable parallel safe
    as $$ begin return sha256(convert_to(seed || ':' || kind || ':' || id::text, 'UTF8')); end $$;
comment on function huifang.sample_key(text, text, bigint) is
    'The keyed hash that orders a population for sampling: sha256(seed:kind:id), kind client or broker';
grant execute on function huifang.sample_key(text,text,bigint) to huifang_app;

-- ══ row-level security: huifang.obligation_rules ══

drop policy if exists owner_all on huifang.obligation_rules;
create policy owner_all on huifang.obligation_rules to current_user using (true) with check (true);

drop policy if exists read_all on huifang.obligation_rules;
create policy read_all on huifang.obligation_rules for select to huifang_app using (true);

-- The sampling and periodic rules are the Brokerage Ops Center's; the event rules (Art 10) also
-- Risk Control HQ's — each only in a request made for that action by a member of the department.
drop policy if exists publish_scoped on huifang.obligation_rules;
create policy publish_scoped on huifang.obligation_rules for insert to huifang_app
    with check (exists (
        select from huifang.departments d
        where d.id = any ((select huifang.scope_department_ids())::integer[])
          and case when obligation_rules.code like 'event\_%'
                   then (select huifang.scope_action()) = 'manageEventRules' and d.kind in ('brokerage_ops_center', 'risk_control')
                   else (select huifang.scope_action()) = 'manageRules' and d.kind = 'brokerage_ops_center' end));

-- ══ row-level security: huifang.obligation_draws ══

drop policy if exists owner_all on huifang.obligation_draws;
create policy owner_all on huifang.obligation_draws to current_user using (true) with check (true);

drop policy if exists engine on huifang.obligation_draws;
create policy engine on huifang.obligation_draws to huifang_app
    using ((select huifang.scope_system())) with check ((select huifang.scope_system()));

drop policy if exists read_scoped on huifang.obligation_draws;
create policy read_scoped on huifang.obligation_draws for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
