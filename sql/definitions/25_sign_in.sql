-- Signing in and out: password checks with lockout and throttling, bearer sessions stored as
-- their SHA-256, and Idempotency-Key records. Infrastructure; no article.
-- Tables: staff_credentials, sessions, sign_in_throttle, idempotency_keys (0003, 0029, 0030).

-- ══ functions and the triggers that call them ══

create or replace function huifang.sign_in_credential(p_employee_no text)
    returns table (staff_id bigint, password_hash text, active boolean, locked_until timestamptz)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select s.id, c.password_hash, s.status = 'active', c.locked_until
        from huifang.staff s join huifang.staff_credentials c on c.staff_id = s.id
        where s.employee_no = p_employee_no
    $$;
comment on function huifang.sign_in_credential(text) is
    'The bcrypt hash and lockout state for an employee number, for the server to verify a password';
revoke execute on function huifang.sign_in_credential(text) from public;
grant execute on function huifang.sign_in_credential(text) to huifang_app;

-- Records the outcome of a password check. On success (and when not locked) stores the session,
-- valid for p_lifetime_seconds by the database clock, and returns 'ok'; on failure counts it, locking the account for 15 minutes at the 5th failure in a row.
create or replace function huifang.sign_in_record(
    p_staff_id bigint, p_password_ok boolean, p_token_hash bytea, p_lifetime_seconds integer)
    returns text
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    credential huifang.staff_credentials;
    branch integer;
begin
    select * into credential from huifang.staff_credentials where staff_id = p_staff_id for update;
    if not found then
        return 'invalid';
    end if;
    select home_branch_id into branch from huifang.staff where id = p_staff_id;
    if credential.locked_until > now() then
        insert into huifang.audit_events (actor_staff_id, branch_id, action, object_type, object_id, detail)
        values (p_staff_id, branch, 'sign_in.refused_locked', 'staff', p_staff_id::text,
                jsonb_build_object('locked_until', credential.locked_until));
        return 'locked';
    end if;
    if not p_password_ok then
        if credential.failed_attempts + 1 >= 5 then
            update huifang.staff_credentials
               set failed_attempts = 0, locked_until = now() + interval '15 minutes'
             where staff_id = p_staff_id;
            insert into huifang.audit_events (actor_staff_id, branch_id, action, object_type, object_id, detail)
            values (p_staff_id, branch, 'sign_in.locked', 'staff', p_staff_id::text,
                    jsonb_build_object('failed_attempts', 5, 'locked_until', now() + interval '15 minutes'));
            return 'locked';
        end if;
        update huifang.staff_credentials set failed_attempts = failed_attempts + 1 where staff_id = p_staff_id;
        insert into huifang.audit_events (actor_staff_id, branch_id, action, object_type, object_id, detail)
        values (p_staff_id, branch, 'sign_in.failed', 'staff', p_staff_id::text,
                jsonb_build_object('failed_attempts', credential.failed_attempts + 1));
        return 'invalid';
    end if;
    if exists (select from huifang.staff where id = p_staff_id and status <> 'active') then
        return 'inactive';
    end if;
    update huifang.staff_credentials set failed_attempts = 0, locked_until = null where staff_id = p_staff_id;
    insert into huifang.sessions (token_hash, staff_id, expires_at) values (p_token_hash, p_staff_id, now() + make_interval(secs => p_lifetime_seconds));
    insert into huifang.audit_events (actor_staff_id, branch_id, action, object_type, object_id)
    values (p_staff_id, branch, 'sign_in.succeeded', 'staff', p_staff_id::text);
    return 'ok';
end
$$;
revoke execute on function huifang.sign_in_record(bigint,boolean,bytea,integer) from public;
grant execute on function huifang.sign_in_record(bigint,boolean,bytea,integer) to huifang_app;

-- The staff member and live role grants behind a bearer token; no rows when the token is unknown,
-- expired or revoked, or its staff member is inactive.
create or replace function huifang.authenticate(p_token_hash bytea)
    returns table (
        staff_id bigint, employee_no text, name text, expires_at timestamptz,
        role text, branch_id integer, department_id integer)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select s.id, s.employee_no, s.name, x.expires_at, g.role, g.branch_id, g.department_id
        from huifang.sessions x
        join huifang.staff s on s.id = x.staff_id and s.status = 'active'
        left join huifang.role_grants g on g.staff_id = s.id and g.revoked_at is null
        where x.token_hash = p_token_hash and x.revoked_at is null and x.expires_at > now()
        order by g.role, g.branch_id, g.department_id
    $$;
revoke execute on function huifang.authenticate(bytea) from public;
grant execute on function huifang.authenticate(bytea) to huifang_app;

create or replace function huifang.sign_out(p_token_hash bytea) returns boolean
    language sql volatile security definer
    set search_path = pg_catalog, pg_temp
    as $$
        update huifang.sessions set revoked_at = now(), revoked_reason = 'logout'
        where token_hash = p_token_hash and revoked_at is null
        returning true
    $$;
revoke execute on function huifang.sign_out(bytea) from public;
grant execute on function huifang.sign_out(bytea) to huifang_app;

-- Sets a new password hash and revokes every live session of the staff member. The caller has
-- already checked the right to do so (the staff member with their current password, or an admin).
create or replace function huifang.set_password(p_staff_id bigint, p_password_hash text, p_reason text)
    returns integer
    language plpgsql volatile security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    revoked integer;
begin
    -- Defence in depth: the request role may only set its own password, or any as organization admin.
    if session_user <> current_user
       and p_staff_id is distinct from huifang.scope_staff_id() and not huifang.scope_org_admin() then
        raise exception 'not allowed to set the password of staff %', p_staff_id using errcode = '42501';
    end if;
    insert into huifang.staff_credentials (staff_id, password_hash)
    values (p_staff_id, p_password_hash)
    on conflict (staff_id) do update
        set password_hash = excluded.password_hash, password_changed_at = now(),
            failed_attempts = 0, locked_until = null;
    update huifang.sessions set revoked_at = now(), revoked_reason = p_reason
     where staff_id = p_staff_id and revoked_at is null;
    get diagnostics revoked = row_count;
    return revoked;
end
$$;
revoke execute on function huifang.set_password(bigint,text,text) from public;
grant execute on function huifang.set_password(bigint,text,text) to huifang_app;

-- The current hash, for the server to check a staff member's current password before changing it.
create or replace function huifang.password_hash_of(p_staff_id bigint) returns text
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$ select password_hash from huifang.staff_credentials where staff_id = p_staff_id $$;
revoke execute on function huifang.password_hash_of(bigint) from public;
grant execute on function huifang.password_hash_of(bigint) to huifang_app;

-- Asked before any password is checked, so a locked number or a throttled address costs no bcrypt:
-- 'throttled' or 'locked' with the seconds to wait, or 'open'. A refusal of a locked number is
-- audited whether or not the number exists (the same write either way). Purges a few expired rows.
create or replace function huifang.sign_in_gate(p_employee_no text, p_source_address text)
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
revoke execute on function huifang.sign_in_gate(text,text) from public;
grant execute on function huifang.sign_in_gate(text,text) to huifang_app;

-- One sign-in attempt after the gate, known or unknown employee number alike: the same statement,
-- the same rows locked and written, the same answers. The number's and the address's rows are
-- locked before anything is decided, so concurrent guesses queue instead of each seeing "not
-- locked" (at most five guesses per lockout). Returns the outcome ('ok', 'invalid', 'inactive',
-- 'locked', 'throttled') and, for the last two, the seconds until trying again makes sense.
create or replace function huifang.sign_in(
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
revoke execute on function huifang.sign_in(text,text,bigint,boolean,bytea,integer) from public;
grant execute on function huifang.sign_in(text,text,bigint,boolean,bytea,integer) to huifang_app;

-- The live sessions of a staff member: their own, or anyone's for an organization admin.
create or replace function huifang.sessions_of(p_staff_id bigint, p_current_token_hash bytea)
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
revoke execute on function huifang.sessions_of(bigint,bytea) from public;
grant execute on function huifang.sessions_of(bigint,bytea) to huifang_app;

-- Revokes one live session: one's own ('logout'), or anyone's as an organization admin ('admin').
-- Returns its staff member, or null when there is no such live session the caller may revoke.
create or replace function huifang.revoke_session(p_session_id bigint) returns bigint
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
revoke execute on function huifang.revoke_session(bigint) from public;
grant execute on function huifang.revoke_session(bigint) to huifang_app;

-- How long a key is remembered: the one place that says so.
create or replace function huifang.idempotency_key_lifetime() returns interval
    language sql immutable
    as $$ select interval '24 hours' $$;
grant execute on function huifang.idempotency_key_lifetime() to huifang_app;

-- Forgets keys older than a day, for every staff member at once (row-level security would limit
-- huifang_app to one); the scheduler calls it each round. Returns how many it forgot.
create or replace function huifang.purge_idempotency_keys()
    returns bigint
    language sql security definer
    set search_path = pg_catalog, pg_temp
    as $$
        with purged as (
            delete from huifang.idempotency_keys where created_at < now() - huifang.idempotency_key_lifetime() returning 1
        )
        select count(*) from purged
    $$;
comment on function huifang.purge_idempotency_keys() is 'Deletes Idempotency-Key records older than 24 hours';
grant execute on function huifang.purge_idempotency_keys() to huifang_app;

-- ══ row-level security: huifang.idempotency_keys ══

drop policy if exists owner_all on huifang.idempotency_keys;
create policy owner_all on huifang.idempotency_keys to current_user using (true) with check (true);

-- A request sees and writes only the keys of the staff member it runs for.
drop policy if exists own_keys on huifang.idempotency_keys;
create policy own_keys on huifang.idempotency_keys to huifang_app
    using (staff_id = (select huifang.scope_staff_id()))
    with check (staff_id = (select huifang.scope_staff_id()));

-- What a server remembers of a session between requests (issue 23): the grants as they were, by
-- digest. A request's first statement checks the session is still live and its grants unchanged
-- (huifang.check_session, sent with BEGIN and the scope in one round trip), so a remembered
-- principal is never used a moment after its session ended or its grants changed.
create or replace function huifang.grants_digest(p_staff bigint) returns text
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
    begin
        return (select md5(coalesce(string_agg(g.role || ':' || coalesce(g.branch_id::text, '') || ':' || coalesce(g.department_id::text, ''),
                                       ',' order by g.role, g.branch_id, g.department_id), ''))
        from huifang.role_grants g
        where g.staff_id = p_staff and g.revoked_at is null);
    end
    $$;
revoke execute on function huifang.grants_digest(bigint) from public;
grant execute on function huifang.grants_digest(bigint) to huifang_app;

create or replace function huifang.check_session(p_token_hash bytea, p_staff bigint, p_grants_digest text) returns boolean
    language plpgsql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if not exists (select from huifang.sessions x join huifang.staff s on s.id = x.staff_id and s.status = 'active'
                   where x.token_hash = p_token_hash and x.staff_id = p_staff and x.revoked_at is null and x.expires_at > now()) then
        raise exception 'the session has ended' using errcode = '28000', constraint = 'session_ended';
    end if;
    if huifang.grants_digest(p_staff) is distinct from p_grants_digest then
        raise exception 'the roles of the session changed' using errcode = '28000', constraint = 'session_grants_changed';
    end if;
    return true;
end
$$;
revoke execute on function huifang.check_session(bytea, bigint, text) from public;
grant execute on function huifang.check_session(bytea, bigint, text) to huifang_app;
