-- Clients, brokers and their assets (Art 1, 4, 11): import checks, segments, the history of who
-- referred each client, and recusal of anyone who introduced a client.
-- Tables: brokers, clients, client_asset_snapshots (0004), client_referrers (0040).

-- ══ functions and the triggers that call them ══

-- The classification of each client with a snapshot on or before `as_of`, judged on the latest such
-- snapshot: high_net_worth (≥ 10,000,000 CNY inclusive, Art 3) and a segment for Art 13 — core (by
-- the branch's threshold or top-N rule), else dormant (no trade for the branch's dormant_after_days,
-- counting from opening when never traded), else small_medium. Runs as the caller: RLS applies.
-- Each client's segment on its latest snapshot dated on or before as_of, in the latest revision
-- recorded by known_at (null: now) — so a period judged at one moment is judged the same later,
-- whatever corrections came after.
create or replace function huifang.client_segments(as_of date, known_at timestamptz default null)
    returns table (
        branch_id integer, client_id bigint, snapshot_date date, total_assets numeric,
        last_trade_date date, high_net_worth boolean, segment text)
    language sql stable
    as $$
        with latest as (
            select distinct on (s.branch_id, s.client_id)
                   s.branch_id, s.client_id, s.as_of, s.total_assets, s.last_trade_date
            from huifang.client_asset_snapshots s
            where s.as_of <= client_segments.as_of
              and (client_segments.known_at is null or s.recorded_at <= client_segments.known_at)
            order by s.branch_id, s.client_id, s.as_of desc, s.revision desc
        ), ranked as (
            select l.*, rank() over (partition by l.branch_id order by l.total_assets desc) as assets_rank
            from latest l
        )
        select r.branch_id, r.client_id, r.as_of, r.total_assets, r.last_trade_date,
               r.total_assets >= 10000000,
               case
                   when (b.core_top_n is null and r.total_assets >= b.core_min_assets)
                     or (b.core_top_n is not null and r.assets_rank <= b.core_top_n) then 'core'
                   when coalesce(r.last_trade_date, (c.opened_at at time zone 'Asia/Shanghai')::date)
                        < client_segments.as_of - b.dormant_after_days then 'dormant'
                   else 'small_medium'
               end
        from ranked r
        join huifang.branches b on b.id = r.branch_id
        join huifang.clients c on c.branch_id = r.branch_id and c.id = r.client_id
    $$;
grant execute on function huifang.client_segments(date,timestamptz) to huifang_app;

create or replace function huifang.is_iso_date(t text) returns boolean
    language sql immutable parallel safe
    as $$
        select case
            when t !~ '^[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$' then false
            when substr(t, 6, 2)::int not between 1 and 12 then false
            when substr(t, 9, 2)::int between 1 and 28 then true
            else substr(t, 9, 2)::int between 1 and extract(day from
                     make_date(substr(t, 1, 4)::int, substr(t, 6, 2)::int, 1) + interval '1 month - 1 day')::int
        end
    $$;
comment on function huifang.is_iso_date(text) is 'Whether t is a real calendar date written YYYY-MM-DD';

-- YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][Z|±HH[:MM]]; without an offset the importing session's time
-- zone applies (Asia/Shanghai for imports).
create or replace function huifang.is_iso_timestamp(t text) returns boolean
    language sql immutable parallel safe
    as $$
        select case
            when length(t) > 35
                or t !~ '^[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]([ T][0-9][0-9]:[0-9][0-9](:[0-9][0-9](\.[0-9]+)?)?)?(Z|[+-][0-9][0-9](:?[0-9][0-9])?)?$'
                then false
            when substr(t, 6, 2)::int not between 1 and 12 then false
            when substr(t, 9, 2)::int not between 1 and 28 and not huifang.is_iso_date(substr(t, 1, 10)) then false
            when length(t) = 10 then true
            when substr(t, 12, 2)::int > 23 or substr(t, 15, 2)::int > 59 then false
            when substr(t, 17, 1) = ':' and substr(t, 18, 2)::int > 59 then false
            when strpos(substr(t, 11), '+') = 0 and strpos(substr(t, 11), '-') = 0 then true
            else (regexp_match(substr(t, 11), '[+-]([0-9][0-9])(:?[0-9][0-9])?$'))[1]::int <= 15
        end
    $$;
comment on function huifang.is_iso_timestamp(text) is 'Whether t is an ISO 8601 date or date-time that casts to timestamptz';

-- A new referrer must not be the one already calling the client back.
create or replace function huifang.clients_check_referrer_recusal() returns trigger
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

create or replace trigger clients_check_referrer_recusal
    before update of referrer_staff_id, referrer_broker_id on huifang.clients
    for each row execute function huifang.clients_check_referrer_recusal();

-- Why a referrer is recorded or changes: the transaction's reason (huifang.reason), else p_fallback.
-- A request changing a referrer must give one (p_required), so the history says why someone stopped
-- being the referrer; the owner's own maintenance falls back to naming itself.
create or replace function huifang.referrer_change_reason(p_fallback text, p_required boolean) returns text
    language plpgsql stable
    as $$
declare
    why text := nullif(btrim(current_setting('huifang.reason', true)), '');
begin
    if why is null and p_required and session_user = 'huifang_app' then
        raise exception 'changing who referred a client needs a reason (Art 4: the history keeps it)'
            using errcode = '23514', constraint = 'client_referrers_reason',
                  hint = 'set huifang.reason for the transaction; over HTTP, give referrerReason';
    end if;
    return coalesce(why, p_fallback);
end
$$;
revoke execute on function huifang.referrer_change_reason(text,boolean) from public;

-- Referrer history (Art 4): the referrer an account opens with, and every change or clearing after,
-- each ending the row before it — with who changed it and why, and an audit event of old and new.
create or replace function huifang.clients_record_referrers() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    why text;
begin
    if tg_op = 'INSERT' then
        why := huifang.referrer_change_reason('recorded with the account', false);
        insert into huifang.client_referrers
            (branch_id, client_id, referrer_staff_id, referrer_broker_id, broker_staff_id, valid_from, changed_by, reason)
        select n.branch_id, n.id, n.referrer_staff_id, n.referrer_broker_id, b.staff_id, least(n.opened_at, now()),
               huifang.scope_staff_id(), why
        from inserted_clients n
        left join huifang.brokers b on b.branch_id = n.branch_id and b.id = n.referrer_broker_id
        where n.referrer_staff_id is not null or n.referrer_broker_id is not null;
        return null;
    end if;

    if not exists (
        select from updated_clients n join previous_clients o on o.branch_id = n.branch_id and o.id = n.id
        where (o.referrer_staff_id, o.referrer_broker_id) is distinct from (n.referrer_staff_id, n.referrer_broker_id)) then
        return null;
    end if;
    why := huifang.referrer_change_reason('changed directly in the database by ' || session_user, true);

    -- Audited first, while the row being ended still names the staff behind the old broker.
    insert into huifang.audit_events (actor_staff_id, branch_id, action, object_type, object_id, reason, detail)
    select huifang.scope_staff_id(), n.branch_id, 'client.referrer_changed', 'client', n.id::text, why,
           jsonb_build_object(
               'old', jsonb_build_object('staffId', o.referrer_staff_id, 'brokerId', o.referrer_broker_id, 'brokerStaffId', r.broker_staff_id),
               'new', jsonb_build_object('staffId', n.referrer_staff_id, 'brokerId', n.referrer_broker_id, 'brokerStaffId', b.staff_id))
    from updated_clients n
    join previous_clients o on o.branch_id = n.branch_id and o.id = n.id
    left join huifang.client_referrers r on r.branch_id = n.branch_id and r.client_id = n.id and r.valid_until is null
    left join huifang.brokers b on b.branch_id = n.branch_id and b.id = n.referrer_broker_id
    where (o.referrer_staff_id, o.referrer_broker_id) is distinct from (n.referrer_staff_id, n.referrer_broker_id)
    order by n.branch_id, n.id;

    update huifang.client_referrers r
    set valid_until = greatest(now(), r.valid_from), ended_by = huifang.scope_staff_id(), end_reason = why
    from updated_clients n
    join previous_clients o on o.branch_id = n.branch_id and o.id = n.id
    where r.branch_id = n.branch_id and r.client_id = n.id and r.valid_until is null
      and (o.referrer_staff_id, o.referrer_broker_id) is distinct from (n.referrer_staff_id, n.referrer_broker_id);

    insert into huifang.client_referrers
        (branch_id, client_id, referrer_staff_id, referrer_broker_id, broker_staff_id, valid_from, changed_by, reason)
    select n.branch_id, n.id, n.referrer_staff_id, n.referrer_broker_id, b.staff_id, now(), huifang.scope_staff_id(), why
    from updated_clients n
    join previous_clients o on o.branch_id = n.branch_id and o.id = n.id
    left join huifang.brokers b on b.branch_id = n.branch_id and b.id = n.referrer_broker_id
    where (o.referrer_staff_id, o.referrer_broker_id) is distinct from (n.referrer_staff_id, n.referrer_broker_id)
      and (n.referrer_staff_id is not null or n.referrer_broker_id is not null);
    return null;
end
$$;
revoke execute on function huifang.clients_record_referrers() from public;

create or replace trigger clients_record_referrers_on_insert
    after insert on huifang.clients
    referencing new table as inserted_clients
    for each statement execute function huifang.clients_record_referrers();

create or replace trigger clients_record_referrers_on_update
    after update on huifang.clients
    referencing old table as previous_clients new table as updated_clients
    for each statement execute function huifang.clients_record_referrers();

-- A referring broker's staff member changing: for each client the broker refers, the new person
-- behind the broker is a referrer from now on, and the one before stays one in the history.
create or replace function huifang.brokers_record_referrer_staff() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    why text := huifang.referrer_change_reason('the staff member behind broker ' || new.id || ' changed', false);
begin
    -- One statement: each current row is ended before its successor goes in, so the one-current-row
    -- index never sees two.
    with ended as (
        update huifang.client_referrers r
        set valid_until = greatest(now(), r.valid_from), ended_by = huifang.scope_staff_id(), end_reason = why
        where r.branch_id = new.branch_id and r.referrer_broker_id = new.id and r.valid_until is null
        returning r.branch_id, r.client_id, r.referrer_staff_id, r.referrer_broker_id
    )
    insert into huifang.client_referrers
        (branch_id, client_id, referrer_staff_id, referrer_broker_id, broker_staff_id, valid_from, changed_by, reason)
    select e.branch_id, e.client_id, e.referrer_staff_id, e.referrer_broker_id, new.staff_id, now(), huifang.scope_staff_id(), why
    from ended e;
    return null;
end
$$;
revoke execute on function huifang.brokers_record_referrer_staff() from public;

create or replace trigger brokers_record_referrer_staff
    after update of staff_id on huifang.brokers
    for each row when (new.staff_id is distinct from old.staff_id)
    execute function huifang.brokers_record_referrer_staff();

-- The history is written once: a row may only be ended, once; none is deleted.
create or replace function huifang.client_referrers_append_only() returns trigger
    language plpgsql
    as $$
begin
    if tg_op = 'UPDATE' and old.valid_until is null and new.valid_until is not null
       and (new.branch_id, new.id, new.client_id, new.referrer_staff_id, new.referrer_broker_id, new.broker_staff_id,
            new.valid_from, new.changed_by, new.reason)
           is not distinct from (old.branch_id, old.id, old.client_id, old.referrer_staff_id, old.referrer_broker_id,
                                 old.broker_staff_id, old.valid_from, old.changed_by, old.reason) then
        return new;
    end if;
    raise exception 'the referrer history is append-only: a row is only ever ended, once'
        using errcode = '55000', constraint = 'client_referrers_append_only';
end
$$;

create or replace trigger client_referrers_append_only
    before update or delete on huifang.client_referrers
    for each row execute function huifang.client_referrers_append_only();

create or replace trigger client_referrers_no_truncate
    before truncate on huifang.client_referrers
    for each statement execute function huifang.client_referrers_append_only();

-- Art 4: whether a staff member ever referred the client — as its referrer, or as the staff member
-- behind its referring broker at the time — whatever the client's referrer is now. For the recusal
-- checks only: not granted to the request role, which could otherwise probe another branch's clients.
create or replace function huifang.ever_referred(p_branch integer, p_client bigint, p_staff bigint) returns boolean
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
    begin
        return exists (
            select from huifang.client_referrers r
            where r.branch_id = p_branch and r.client_id = p_client
              and p_staff in (r.referrer_staff_id, r.broker_staff_id));
    end
    $$;
comment on function huifang.ever_referred(integer, bigint, bigint) is
    'Whether staff p_staff ever referred client p_client of branch p_branch, directly or behind its broker (Art 4 recusal)';
revoke execute on function huifang.ever_referred(integer,bigint,bigint) from public;

create or replace function huifang.brokers_check_staff_recusal() returns trigger
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

create or replace trigger brokers_check_staff_recusal
    before update of staff_id on huifang.brokers
    for each row when (new.staff_id is not null) execute function huifang.brokers_check_staff_recusal();

-- Snapshots are history: the same figures again are not written; other figures for a client and
-- date already recorded are the next revision, with a reason, audited. Who and when are the
-- database's to say.
create or replace function huifang.client_asset_snapshots_revise() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    previous huifang.client_asset_snapshots;
begin
    select * into previous from huifang.client_asset_snapshots s
    where s.branch_id = new.branch_id and s.client_id = new.client_id and s.as_of = new.as_of
    order by s.revision desc limit 1
    for update;
    new.recorded_at := now();
    new.recorded_by := huifang.scope_staff_id();
    if previous.revision is null then
        new.revision := 1;
        new.correction_reason := null;
        return new;
    end if;
    if (previous.total_assets, previous.last_trade_date) is not distinct from (new.total_assets, new.last_trade_date) then
        return null;
    end if;
    if new.correction_reason is null or btrim(new.correction_reason) = '' then
        raise exception 'client % has a snapshot of % already; a correction needs a reason', new.client_id, new.as_of
            using errcode = '23514', constraint = 'client_asset_snapshots_correction';
    end if;
    new.revision := previous.revision + 1;
    insert into huifang.audit_events (actor_staff_id, branch_id, action, object_type, object_id, reason, detail)
    values (new.recorded_by, new.branch_id, 'asset_snapshot.corrected', 'client', new.client_id::text, new.correction_reason,
            jsonb_build_object('as_of', new.as_of, 'revision', new.revision,
                               'total_assets', jsonb_build_array(previous.total_assets, new.total_assets),
                               'last_trade_date', jsonb_build_array(previous.last_trade_date, new.last_trade_date)));
    return new;
end
$$;
revoke execute on function huifang.client_asset_snapshots_revise() from public;

create or replace trigger client_asset_snapshots_revise
    before insert on huifang.client_asset_snapshots
    for each row execute function huifang.client_asset_snapshots_revise();

create or replace trigger client_asset_snapshots_append_only
    before update or delete on huifang.client_asset_snapshots
    for each row
    execute function huifang.refuse_rewrite(
        'asset snapshots are history: record a correction as a new revision', 'client_asset_snapshots_append_only');

create or replace trigger client_asset_snapshots_no_truncate
    before truncate on huifang.client_asset_snapshots
    for each statement
    execute function huifang.refuse_rewrite(
        'asset snapshots are history: record a correction as a new revision', 'client_asset_snapshots_append_only');

-- ══ row-level security: huifang.brokers ══

drop policy if exists owner_all on huifang.brokers;
create policy owner_all on huifang.brokers to current_user using (true) with check (true);

-- Reads: the branches in scope, or every branch for an HQ function that needs it. Writes: only the
-- branches in scope — HQ never writes a branch's rows, and an admin's scope holds no branch.
drop policy if exists read_scoped on huifang.brokers;
create policy read_scoped on huifang.brokers for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

drop policy if exists insert_scoped on huifang.brokers;
create policy insert_scoped on huifang.brokers for insert to huifang_app
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[]));

drop policy if exists update_scoped on huifang.brokers;
create policy update_scoped on huifang.brokers for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[]));

drop policy if exists read_for_task on huifang.brokers;
create policy read_for_task on huifang.brokers for select to huifang_app
    using (cardinality((select huifang.scope_department_ids())) > 0 and exists (
        select from huifang.callback_tasks t
        where t.branch_id = brokers.branch_id and t.broker_id = brokers.id
          and t.executor_department_id = any ((select huifang.scope_department_ids())::integer[])));

-- ══ row-level security: huifang.clients ══

drop policy if exists owner_all on huifang.clients;
create policy owner_all on huifang.clients to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.clients;
create policy read_scoped on huifang.clients for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

drop policy if exists insert_scoped on huifang.clients;
create policy insert_scoped on huifang.clients for insert to huifang_app
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[]));

drop policy if exists update_scoped on huifang.clients;
create policy update_scoped on huifang.clients for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[]));

-- The call center phones clients (and brokers) of any branch it has been directed to: it reads
-- those, and only those, through its tasks.
drop policy if exists read_for_task on huifang.clients;
create policy read_for_task on huifang.clients for select to huifang_app
    using (cardinality((select huifang.scope_department_ids())) > 0 and exists (
        select from huifang.callback_tasks t
        where t.branch_id = clients.branch_id and t.client_id = clients.id
          and t.executor_department_id = any ((select huifang.scope_department_ids())::integer[])));

-- ══ row-level security: huifang.client_asset_snapshots ══

drop policy if exists owner_all on huifang.client_asset_snapshots;
create policy owner_all on huifang.client_asset_snapshots to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.client_asset_snapshots;
create policy read_scoped on huifang.client_asset_snapshots for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

drop policy if exists insert_scoped on huifang.client_asset_snapshots;
create policy insert_scoped on huifang.client_asset_snapshots for insert to huifang_app
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[]));


-- ══ row-level security: huifang.client_referrers ══

drop policy if exists owner_all on huifang.client_referrers;
create policy owner_all on huifang.client_referrers to current_user using (true) with check (true);

-- Read with the clients; written only by the triggers above (the request role holds select alone).
drop policy if exists read_scoped on huifang.client_referrers;
create policy read_scoped on huifang.client_referrers for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
