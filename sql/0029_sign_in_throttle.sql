-- Sign-in failures are counted per employee number, whether or not it exists, so that a lockout
-- says nothing about which numbers are real; and per source address, so that one machine cannot
-- try many numbers. Sessions get an id and the address they came from, so a person can list and
-- revoke their own, and an admin anyone's.

create table huifang.sign_in_throttle (
    subject text primary key check (subject ~ '^(employee|address):'),
    failures integer not null default 0 check (failures >= 0),
    window_started_at timestamptz not null default now(),
    locked_until timestamptz,
    -- When the row no longer matters: the end of its window or of its lockout. Expired rows are purged.
    expires_at timestamptz not null default now() + interval '15 minutes'
);

comment on table huifang.sign_in_throttle is
    'Failed sign-ins per employee number (existing or not) and per source address, with their lockouts; never readable by huifang_app';

alter table huifang.sessions
    add column id bigint generated always as identity,
    add column source_address text check (length(source_address) <= 64);
alter table huifang.sessions add constraint sessions_id unique (id);

-- Lockouts of earlier versions lived on the credential; the throttle table replaces them.
update huifang.staff_credentials set failed_attempts = 0, locked_until = null
 where failed_attempts <> 0 or locked_until is not null;

create index sign_in_throttle_expiry on huifang.sign_in_throttle (expires_at);

-- Asked before any password is checked, so a locked number or a throttled address costs no bcrypt:
-- 'throttled' or 'locked' with the seconds to wait, or 'open'. A refusal of a locked number is
-- audited whether or not the number exists (the same write either way). Purges a few expired rows.
create function huifang.sign_in_gate(p_employee_no text, p_source_address text)
    returns table (outcome text, retry_after_seconds integer)
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    address_lock timestamptz;
    employee_lock timestamptz;
    known_staff bigint;
    known_branch integer;
begin
    delete from huifang.sign_in_throttle t
     where t.subject in (select x.subject from huifang.sign_in_throttle x
                         where x.expires_at < now() order by x.expires_at limit 20);
    select locked_until into address_lock from huifang.sign_in_throttle where subject = 'address:' || p_source_address;
    if address_lock > now() then
        return query select 'throttled', ceil(extract(epoch from address_lock - now()))::integer;
        return;
    end if;
    select locked_until into employee_lock from huifang.sign_in_throttle where subject = 'employee:' || lower(btrim(p_employee_no));
    if employee_lock > now() then
        select id, home_branch_id into known_staff, known_branch from huifang.staff where employee_no = p_employee_no;
        insert into huifang.audit_events (actor_staff_id, branch_id, action, object_type, object_id, detail)
        select known_staff, known_branch, 'sign_in.refused_locked',
               case when known_staff is null then 'employee_no' else 'staff' end, coalesce(known_staff::text, 'unknown'),
               jsonb_build_object('locked_until', employee_lock, 'source_address', p_source_address);
        return query select 'locked', ceil(extract(epoch from employee_lock - now()))::integer;
        return;
    end if;
    return query select 'open', null::integer;
end
$$;

-- One sign-in attempt after the gate, known or unknown employee number alike: the same statement,
-- the same rows locked and written, the same answers. The number's and the address's rows are
-- locked before anything is decided, so concurrent guesses queue instead of each seeing "not
-- locked" (at most five guesses per lockout). Returns the outcome ('ok', 'invalid', 'inactive',
-- 'locked', 'throttled') and, for the last two, the seconds until trying again makes sense.
create function huifang.sign_in(
    p_employee_no text, p_source_address text, p_staff_id bigint, p_password_ok boolean,
    p_token_hash bytea, p_lifetime_seconds integer)
    returns table (outcome text, retry_after_seconds integer)
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    employee constant text := 'employee:' || lower(btrim(p_employee_no));
    address constant text := 'address:' || p_source_address;
    account_limit constant integer := 5;
    address_limit constant integer := 30;
    lockout constant interval := interval '15 minutes';
    employee_row huifang.sign_in_throttle;
    address_row huifang.sign_in_throttle;
    branch integer;
    result text;
begin
    select home_branch_id into branch from huifang.staff where id = p_staff_id;
    insert into huifang.sign_in_throttle (subject)
    select s from unnest(array[employee, address]) s where s is not null
    on conflict (subject) do nothing;
    select * into employee_row from huifang.sign_in_throttle where subject = employee for update;
    select * into address_row from huifang.sign_in_throttle where subject = address for update;
    if address_row.locked_until > now() then
        return query select 'throttled', ceil(extract(epoch from address_row.locked_until - now()))::integer;
        return;
    end if;
    if employee_row.locked_until > now() then
        return query select 'locked', ceil(extract(epoch from employee_row.locked_until - now()))::integer;
        return;
    end if;

    if p_staff_id is null or not p_password_ok then
        -- Count the failure against the number and the address; a window older than the lockout starts afresh.
        update huifang.sign_in_throttle t
           set failures = case when t.window_started_at < now() - lockout then 1 else t.failures + 1 end,
               window_started_at = case when t.window_started_at < now() - lockout then now() else t.window_started_at end,
               expires_at = case when t.window_started_at < now() - lockout then now() else t.window_started_at end + lockout
         where t.subject in (employee, address);
        update huifang.sign_in_throttle
           set locked_until = now() + lockout, failures = 0, window_started_at = now(), expires_at = now() + lockout
         where (subject = employee and failures >= account_limit) or (subject = address and failures >= address_limit);
        select * into employee_row from huifang.sign_in_throttle where subject = employee;
        -- An unknown number is not written down: people type their password into the wrong field.
        insert into huifang.audit_events (actor_staff_id, branch_id, action, object_type, object_id, detail)
        values (p_staff_id, branch, case when employee_row.locked_until > now() then 'sign_in.locked' else 'sign_in.failed' end,
                case when p_staff_id is null then 'employee_no' else 'staff' end, coalesce(p_staff_id::text, 'unknown'),
                jsonb_build_object('source_address', p_source_address));
        if employee_row.locked_until > now() then
            return query select 'locked', ceil(extract(epoch from employee_row.locked_until - now()))::integer;
        else
            return query select 'invalid', null::integer;
        end if;
        return;
    end if;

    result := huifang.sign_in_record(p_staff_id, true, p_token_hash, p_lifetime_seconds);
    if result = 'ok' then
        delete from huifang.sign_in_throttle where subject = employee;
        update huifang.sessions set source_address = p_source_address where token_hash = p_token_hash;
    end if;
    return query select result, null::integer;
end
$$;

comment on function huifang.sign_in(text, text, bigint, boolean, bytea, integer) is
    'One sign-in attempt: throttles per source address, locks per employee number (known or not), records the session on success';

-- The live sessions of a staff member: their own, or anyone's for an organization admin.
create function huifang.sessions_of(p_staff_id bigint, p_current_token_hash bytea)
    returns table (id bigint, created_at timestamptz, expires_at timestamptz, source_address text, current boolean)
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if p_staff_id is distinct from huifang.scope_staff_id() and not huifang.scope_org_admin() then
        raise exception 'not allowed to list the sessions of staff %', p_staff_id using errcode = '42501';
    end if;
    return query
        select x.id, x.created_at, x.expires_at, x.source_address, x.token_hash = p_current_token_hash
        from huifang.sessions x
        where x.staff_id = p_staff_id and x.revoked_at is null and x.expires_at > now()
        order by x.created_at desc, x.id desc;
end
$$;

-- Revokes one live session: one's own ('logout'), or anyone's as an organization admin ('admin').
-- Returns its staff member, or null when there is no such live session the caller may revoke.
create function huifang.revoke_session(p_session_id bigint) returns bigint
    language plpgsql volatile security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    owner bigint;
begin
    update huifang.sessions x
       set revoked_at = now(),
           revoked_reason = case when x.staff_id = huifang.scope_staff_id() then 'logout' else 'admin' end
     where x.id = p_session_id and x.revoked_at is null and x.expires_at > now()
       and (x.staff_id = huifang.scope_staff_id() or huifang.scope_org_admin())
    returning x.staff_id into owner;
    return owner;
end
$$;

revoke all on function huifang.sign_in(text, text, bigint, boolean, bytea, integer), huifang.sign_in_gate(text, text),
    huifang.sessions_of(bigint, bytea), huifang.revoke_session(bigint) from public;
grant execute on function huifang.sign_in(text, text, bigint, boolean, bytea, integer), huifang.sign_in_gate(text, text),
    huifang.sessions_of(bigint, bytea), huifang.revoke_session(bigint) to huifang_app;
