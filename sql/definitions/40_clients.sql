-- Clients, brokers and their assets (Art 1, 4, 11): import checks, segments, and recusal of the
-- person who introduced a client.
-- Tables: brokers, clients, client_asset_snapshots (0004).

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

create or replace function huifang.client_asset_snapshots_append_only() returns trigger
    language plpgsql
    as $$
begin
    raise exception 'asset snapshots are history: record a correction as a new revision'
        using errcode = '55000', constraint = 'client_asset_snapshots_append_only';
end
$$;

create or replace trigger client_asset_snapshots_append_only
    before update or delete on huifang.client_asset_snapshots
    for each row execute function huifang.client_asset_snapshots_append_only();

create or replace trigger client_asset_snapshots_no_truncate
    before truncate on huifang.client_asset_snapshots
    for each statement execute function huifang.client_asset_snapshots_append_only();

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

