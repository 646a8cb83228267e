-- Art 4 (issue 19 A1): the person who introduced a client never calls them back, not even after the
-- referrer is changed or cleared. Who referred each client, from when until when, who changed it
-- and why, is kept as history the request role can read and never write; the recusal checks
-- (sql/definitions/61_tasks.sql, 70_records.sql) refuse anyone who ever referred the client —
-- the staff member, or the staff member behind the referring broker at the time.

-- Written only by the triggers on clients and brokers (sql/definitions/40_clients.sql), from rows
-- whose references those tables have just checked, and never deleted: no foreign keys of its own,
-- which would re-check each reference per row and make a client import about half again as slow.
create table huifang.client_referrers (
    branch_id integer not null,
    id bigint generated always as identity,
    client_id bigint not null,
    referrer_staff_id bigint,
    referrer_broker_id bigint,
    broker_staff_id bigint,
    valid_from timestamptz not null,
    valid_until timestamptz,
    changed_by bigint,
    reason text not null check (btrim(reason) <> ''),
    ended_by bigint,
    end_reason text,
    primary key (branch_id, id),
    check (referrer_staff_id is not null or referrer_broker_id is not null),
    check ((valid_until is null) = (end_reason is null) and (valid_until is null or valid_until >= valid_from))
);

comment on table huifang.client_referrers is
    'Who referred each client, from when until when, who recorded it and why: append-only history that Art 4 recusal reads';
comment on column huifang.client_referrers.broker_staff_id is
    'The staff member behind the referring broker while this row was current';
comment on column huifang.client_referrers.valid_until is
    'Null while current; set once, when the referrer (or the staff behind the broker) changes';

-- One current row per client, and the rows recusal looks up.
create unique index client_referrers_current on huifang.client_referrers (branch_id, client_id) where valid_until is null;
create index client_referrers_by_client on huifang.client_referrers (branch_id, client_id)
    include (referrer_staff_id, broker_staff_id);
create index client_referrers_by_broker on huifang.client_referrers (branch_id, referrer_broker_id)
    where valid_until is null and referrer_broker_id is not null;

-- The referrers recorded before this history: current since the account opened.
insert into huifang.client_referrers
    (branch_id, client_id, referrer_staff_id, referrer_broker_id, broker_staff_id, valid_from, reason)
select c.branch_id, c.id, c.referrer_staff_id, c.referrer_broker_id, b.staff_id, c.opened_at,
       'on record when the history began (migration 0040)'
from huifang.clients c
left join huifang.brokers b on b.branch_id = c.branch_id and b.id = c.referrer_broker_id
where c.referrer_staff_id is not null or c.referrer_broker_id is not null;

alter table huifang.client_referrers enable row level security;
alter table huifang.client_referrers force row level security;
grant select on huifang.client_referrers to huifang_app;
