-- Idempotency-Key (issue 17): a POST repeated with the same key returns the first response instead
-- of doing it again. The key row is written in the transaction of the effect, so an effect and its
-- key commit together or not at all; the response is added right after. Keys are per staff member
-- and live 24 hours.

create table huifang.idempotency_keys (
    staff_id bigint not null references huifang.staff,
    key text not null check (length(key) between 1 and 255),
    -- SHA-256 of method, path and body: the same key with another request is refused.
    request_hash bytea not null check (length(request_hash) = 32),
    created_at timestamptz not null default now(),
    -- The first response, once it is known (null: the effect committed, the response is not stored yet).
    status integer check (status between 100 and 599),
    headers jsonb,
    body bytea,
    primary key (staff_id, key)
);

create index idempotency_keys_expiry on huifang.idempotency_keys (created_at);

comment on table huifang.idempotency_keys is 'Idempotency-Key of POST requests: the request''s hash and first response, per staff member, for 24 hours';

alter table huifang.idempotency_keys enable row level security;
alter table huifang.idempotency_keys force row level security;
create policy owner_all on huifang.idempotency_keys to current_user using (true) with check (true);
-- A request sees and writes only the keys of the staff member it runs for.
create policy own_keys on huifang.idempotency_keys to huifang_app
    using (staff_id = (select huifang.scope_staff_id()))
    with check (staff_id = (select huifang.scope_staff_id()));

grant select, insert, update, delete on huifang.idempotency_keys to huifang_app;

-- How long a key is remembered: the one place that says so.
create function huifang.idempotency_key_lifetime() returns interval
    language sql immutable
    as $$ select interval '24 hours' $$;

grant execute on function huifang.idempotency_key_lifetime() to huifang_app;

-- Forgets keys older than a day, for every staff member at once (row-level security would limit
-- huifang_app to one); the scheduler calls it each round. Returns how many it forgot.
create function huifang.purge_idempotency_keys()
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
