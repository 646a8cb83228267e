-- The audit trail (Art 5, 16): append-only, one hash chain per branch (0 for organization-wide).
-- Tables: audit_events (0003, 0012; partitioned by month in 0055), audit_chain_heads and
-- audit_archived_heads (0055).

-- ══ functions and the triggers that call them ══

-- The canonical content an event's hash covers; times in UTC so the session time zone never matters.
create or replace function huifang.audit_event_hash(e huifang.audit_events) returns bytea
    language plpgsql immutable
    as $$
    begin
        return sha256(convert_to(concat_ws(E'\x1f',
            e.chain::text, e.seq::text, encode(coalesce(e.prev_hash, ''::bytea), 'hex'), e.id::text,
            to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), coalesce(e.actor_staff_id::text, ''),
            coalesce(e.branch_id::text, ''), e.action, e.object_type, coalesce(e.object_id, ''), coalesce(e.reason, ''),
            e.detail::text, coalesce(e.scope::text, '')), 'UTF8'));
    end
    $$;
grant execute on function huifang.audit_event_hash(huifang.audit_events) to huifang_app;

create or replace function huifang.audit_events_chain() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    last huifang.audit_chain_heads;
begin
    new.chain := coalesce(new.branch_id, 0);
    -- The head's row lock orders a chain's appends by commit, as an advisory lock did before 0055;
    -- reading the head instead of the newest event spares a look into every monthly partition.
    insert into huifang.audit_chain_heads (chain, seq, hash, at) values (new.chain, 0, '', new.at)
        on conflict (chain) do nothing;
    select * into last from huifang.audit_chain_heads where chain = new.chain for update;
    new.seq := last.seq + 1;
    new.prev_hash := nullif(last.hash, '');
    new.scope := jsonb_strip_nulls(jsonb_build_object(
        'action', nullif(huifang.scope_action(), ''),
        'branches', nullif(huifang.scope_branch_ids(), '{}'),
        'allBranches', nullif(huifang.scope_all_branches(), false),
        'departments', nullif(huifang.scope_department_ids(), '{}'),
        'orgAdmin', nullif(huifang.scope_org_admin(), false),
        'system', nullif(huifang.scope_system(), false),
        'role', case when session_user <> 'huifang_app' then session_user::text end));
    new.hash := huifang.audit_event_hash(new);
    update huifang.audit_chain_heads set seq = new.seq, hash = new.hash, at = new.at where chain = new.chain;
    return new;
end
$$;

create or replace trigger audit_events_chain
    before insert on huifang.audit_events
    for each row execute function huifang.audit_events_chain();

-- Refuses the statement it guards with its arguments: the message, and the constraint the API maps
-- (for history that is only ever appended to; the audit trail keeps its own below).
create or replace function huifang.refuse_rewrite() returns trigger
    language plpgsql
    as $$
begin
    raise exception '%', tg_argv[0] using errcode = '55000', constraint = tg_argv[1];
end
$$;

-- Append-only for everyone but a superuser, who is exactly whom `verify` watches.
create or replace function huifang.audit_events_append_only() returns trigger
    language plpgsql
    as $$
begin
    raise exception 'the audit trail is append-only' using errcode = '55000';
end
$$;

create or replace trigger audit_events_append_only
    before update or delete on huifang.audit_events
    for each row execute function huifang.audit_events_append_only();

create or replace trigger audit_events_no_truncate
    before truncate on huifang.audit_events
    for each statement execute function huifang.audit_events_append_only();

-- ══ row-level security: huifang.audit_events ══

drop policy if exists owner_all on huifang.audit_events;
create policy owner_all on huifang.audit_events to current_user using (true) with check (true);

-- Anyone acting writes events as themselves; reading the trail is scoped like branch data.
drop policy if exists append_own on huifang.audit_events;
create policy append_own on huifang.audit_events for insert to huifang_app
    with check (actor_staff_id = (select huifang.scope_staff_id()));

drop policy if exists read_scoped on huifang.audit_events;
create policy read_scoped on huifang.audit_events for select to huifang_app
    using (
        branch_id = any ((select huifang.scope_branch_ids())::integer[])
        or (select huifang.scope_all_branches())
        or actor_staff_id = (select huifang.scope_staff_id()));

-- The scheduler (scope system) records what it generated, as nobody in particular.
drop policy if exists engine_append on huifang.audit_events;
create policy engine_append on huifang.audit_events for insert to huifang_app
    with check ((select huifang.scope_system()) and actor_staff_id is null);

-- ══ row-level security: huifang.audit_chain_heads, huifang.audit_archived_heads ══

-- A chain is a branch's (0: the organization's); its head and archived heads are read as the
-- trail is read, by those who read the branch or every branch.
drop policy if exists owner_all on huifang.audit_chain_heads;
create policy owner_all on huifang.audit_chain_heads to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.audit_chain_heads;
create policy read_scoped on huifang.audit_chain_heads for select to huifang_app
    using (chain = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));

drop policy if exists owner_all on huifang.audit_archived_heads;
create policy owner_all on huifang.audit_archived_heads to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.audit_archived_heads;
create policy read_scoped on huifang.audit_archived_heads for select to huifang_app
    using (chain = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches()));
