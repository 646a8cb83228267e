-- The audit trail becomes tamper-evident (留痕, BRIEF §5): each event is numbered within its chain
-- (one chain per branch, one for organization-wide events), stores the hash of the chain's
-- previous event, and its own hash over its canonical content. Changing, inserting or deleting an
-- event in the middle breaks the links after it; `huifang audit verify` finds the first broken one.
--
-- Appending takes a transaction-level advisory lock on the chain, so a branch's events are
-- chained in commit order; the lock is held from the audit insert (the last step of a change) to
-- commit. Every event also records the scope it was written in.

alter table huifang.audit_events
    add column chain integer,
    add column seq bigint,
    add column scope jsonb,
    add column prev_hash bytea,
    add column hash bytea;

comment on column huifang.audit_events.chain is 'The chain: the branch, or 0 for organization-wide events';
comment on column huifang.audit_events.scope is 'The request scope the event was written in: action, branches, departments';

-- The canonical content an event's hash covers; times in UTC so the session time zone never matters.
create function huifang.audit_event_hash(e huifang.audit_events) returns bytea
    language sql immutable
    as $$
        select sha256(convert_to(concat_ws(E'\x1f',
            e.chain::text, e.seq::text, encode(coalesce(e.prev_hash, ''::bytea), 'hex'), e.id::text,
            to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), coalesce(e.actor_staff_id::text, ''),
            coalesce(e.branch_id::text, ''), e.action, e.object_type, coalesce(e.object_id, ''), coalesce(e.reason, ''),
            e.detail::text, coalesce(e.scope::text, '')), 'UTF8'))
    $$;

-- Chain the events already there, in id order.
do $$
declare
    e huifang.audit_events;
    previous bytea;
    last_chain integer := null;
    n bigint;
begin
    for e in select * from huifang.audit_events order by coalesce(branch_id, 0), id loop
        if last_chain is distinct from coalesce(e.branch_id, 0) then
            previous := null;
            n := 0;
            last_chain := coalesce(e.branch_id, 0);
        end if;
        n := n + 1;
        e.chain := last_chain;
        e.seq := n;
        e.prev_hash := previous;
        e.hash := huifang.audit_event_hash(e);
        update huifang.audit_events set chain = e.chain, seq = e.seq, prev_hash = e.prev_hash, hash = e.hash where id = e.id;
        previous := e.hash;
    end loop;
end
$$;

alter table huifang.audit_events
    alter column chain set not null,
    alter column seq set not null,
    alter column hash set not null,
    add constraint audit_events_chain_seq unique (chain, seq);

create function huifang.audit_events_chain() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    last huifang.audit_events;
begin
    new.chain := coalesce(new.branch_id, 0);
    perform pg_advisory_xact_lock(hashtext('huifang.audit_events'), new.chain);
    select * into last from huifang.audit_events where chain = new.chain order by seq desc limit 1;
    new.seq := coalesce(last.seq, 0) + 1;
    new.prev_hash := last.hash;
    new.scope := jsonb_strip_nulls(jsonb_build_object(
        'action', nullif(huifang.scope_action(), ''),
        'branches', nullif(huifang.scope_branch_ids(), '{}'),
        'allBranches', nullif(huifang.scope_all_branches(), false),
        'departments', nullif(huifang.scope_department_ids(), '{}'),
        'orgAdmin', nullif(huifang.scope_org_admin(), false),
        'system', nullif(huifang.scope_system(), false),
        'role', case when session_user <> 'huifang_app' then session_user::text end));
    new.hash := huifang.audit_event_hash(new);
    return new;
end
$$;

create trigger audit_events_chain
    before insert on huifang.audit_events
    for each row execute function huifang.audit_events_chain();

-- Append-only for everyone but a superuser, who is exactly whom `verify` watches.
create function huifang.audit_events_append_only() returns trigger
    language plpgsql
    as $$
begin
    raise exception 'the audit trail is append-only' using errcode = '55000';
end
$$;

create trigger audit_events_append_only
    before update or delete on huifang.audit_events
    for each row execute function huifang.audit_events_append_only();
create trigger audit_events_no_truncate
    before truncate on huifang.audit_events
    for each statement execute function huifang.audit_events_append_only();

grant execute on function huifang.audit_event_hash(huifang.audit_events) to huifang_app;
