-- Client events (Art 10, 12.3; issue 19 B): judged against the event rule in effect on the day they
-- occurred, and each qualifying one opens its special callback in the same transaction; an account
-- closure also closes the account, which cancels only the callbacks it makes pointless.
-- Tables: client_events, the event rules in obligation_rules (numbered migration 0043).

-- ══ functions and the triggers that call them ══

-- Which rule judges the event, whether it requires a callback, and why — in words an auditor reads.
create or replace function huifang.client_events_judge() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    rule huifang.obligation_rules;
    assets numeric;
    share_floor numeric;
begin
    new.received_at := now();
    if new.occurred_at > new.received_at + interval '5 minutes' then
        raise exception 'event %: it cannot have occurred after it was received (%)', new.external_id, new.occurred_at
            using errcode = '23514', constraint = 'client_events_occurred_at';
    end if;
    rule := huifang.rule_in_effect('event_' || new.kind, (new.occurred_at at time zone 'Asia/Shanghai')::date);
    if rule.code is null then
        new.qualifies := false;
        new.judgement := 'no event rule for ' || new.kind || ' in effect on that day';
        return new;
    end if;
    new.rule_code := rule.code;
    new.rule_version := rule.version;
    if new.kind <> 'large_asset_movement' then
        new.qualifies := true;
        new.judgement := 'every ' || replace(new.kind, '_', ' ') || ' is called back (' || rule.code || ' v' || rule.version || ')';
        return new;
    end if;
    select s.total_assets into assets
    from huifang.client_asset_snapshots s
    where s.branch_id = new.branch_id and s.client_id = new.client_id
      and s.as_of < (new.occurred_at at time zone 'Asia/Shanghai')::date
    order by s.as_of desc, s.revision desc limit 1;
    share_floor := case when rule.min_share is not null and assets is not null then round(rule.min_share * greatest(assets, 0), 2) end;
    if rule.min_amount is not null and new.amount >= rule.min_amount then
        new.qualifies := true;
        new.judgement := format('%s CNY reaches the rule''s %s CNY', new.amount, rule.min_amount);
    elsif share_floor = 0 then
        new.qualifies := true;
        new.judgement := format('%s CNY moved on an account that held %s CNY on the last snapshot', new.amount, assets);
    elsif share_floor is not null and new.amount >= share_floor then
        new.qualifies := true;
        new.judgement := format('%s CNY reaches %s%% of the %s CNY on the last snapshot', new.amount,
                                round(rule.min_share * 100, 2), assets);
    else
        new.qualifies := false;
        new.judgement := format('%s CNY is below %s', new.amount, concat_ws(' and ',
            case when rule.min_amount is not null then rule.min_amount || ' CNY' end,
            case when share_floor is not null then share_floor || ' CNY (' || round(rule.min_share * 100, 2) || '% of assets)' end,
            case when rule.min_share is not null and share_floor is null then 'a share of assets (no snapshot before it)' end));
    end if;
    return new;
end
$$;
revoke execute on function huifang.client_events_judge() from public;

create or replace trigger client_events_judge
    before insert on huifang.client_events
    for each row execute function huifang.client_events_judge();

-- Each qualifying event's callback, once (its window is the event), on the rule's clock from the
-- moment it occurred; call-center rules go to the call center. An account closure closes the account.
create or replace function huifang.client_events_open_tasks() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    insert into huifang.callback_tasks (branch_id, rule_code, rule_version, period, sample_window, client_id, event_id, title,
                                        owner_role, executor_department_id, clock_started_at, clock_workdays)
    select e.branch_id, r.code, r.version, to_char(e.occurred_at at time zone 'Asia/Shanghai', 'YYYY-MM'), 'event:' || e.id,
           e.client_id, e.id, r.title || ': ' || c.client_no, r.owner_role,
           case when r.executor = 'call_center' then
               (select d.id from huifang.departments d where d.kind = 'call_center' and d.status = 'active' order by d.id limit 1) end,
           e.occurred_at, r.due_workdays
    from received e
    join huifang.obligation_rules r on r.code = e.rule_code and r.version = e.rule_version
    join huifang.clients c on c.branch_id = e.branch_id and c.id = e.client_id
    where e.qualifies
    on conflict do nothing;

    update huifang.clients c set status = 'closed', closed_at = greatest(e.occurred_at, c.opened_at), updated_at = now()
    from received e
    where e.kind = 'account_closure' and c.branch_id = e.branch_id and c.id = e.client_id and c.status = 'open';
    return null;
end
$$;
revoke execute on function huifang.client_events_open_tasks() from public;

create or replace trigger client_events_open_tasks
    after insert on huifang.client_events
    referencing new table as received
    for each statement execute function huifang.client_events_open_tasks();

-- Events are what happened: never changed nor removed.
create or replace trigger client_events_append_only
    before update or delete on huifang.client_events
    for each row
    execute function huifang.refuse_rewrite(
        'client events are history: report a new event instead', 'client_events_append_only');

create or replace trigger client_events_no_truncate
    before truncate on huifang.client_events
    for each statement
    execute function huifang.refuse_rewrite(
        'client events are history: report a new event instead', 'client_events_append_only');

-- ══ row-level security: huifang.client_events ══

drop policy if exists owner_all on huifang.client_events;
create policy owner_all on huifang.client_events to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.client_events;
create policy read_scoped on huifang.client_events for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

-- Events come from the core system's feed, which the Brokerage Ops Center runs: only a request made
-- for reporting events by someone who reaches every branch. A branch does not report (it could take
-- an external id first and make the core system's event a "duplicate").
drop policy if exists insert_scoped on huifang.client_events;
create policy insert_scoped on huifang.client_events for insert to huifang_app
    with check (received_by = (select huifang.scope_staff_id())
                and (select huifang.scope_action()) = 'submitClientEvents' and (select huifang.scope_all_branches()));
