-- A record named by its id (`GET /records/{id}`, each step on it) was looked for in every year of
-- `records` (sql/0060 partitions by created_at, which the id does not name): the generic plan of
-- each such statement set up an index scan, its policies' quals and its locks in all thirteen
-- partitions, and a step sends several. On the ten-year national set a record step spent about a
-- fifth of its database CPU there.
--
-- record_keys gives each record's created_at by (branch, id): `huifang.record_created_at` reads it,
-- and a statement that compares created_at with it is pruned to one year when its plan starts.
-- Kept by a trigger on records (sql/definitions/70_records.sql). A record without a key is still
-- found, by a look-up in every year, only slower: one written with the user triggers off, a year
-- restored from an archive, or one written by a server of the previous build between this fill
-- and the new definitions (the definitions give the last day's their keys).
--
-- The key carries the record's HQ departments (fixed once the record exists, records_before_update),
-- so that a department reads the keys of its own records and no other branch's.
create table huifang.record_keys (
    branch_id integer not null references huifang.branches,
    id bigint not null,
    created_at timestamptz not null,
    hq_department_id integer,
    executor_department_id integer,
    primary key (branch_id, id)
);

comment on table huifang.record_keys is
    'Each record''s created_at (its partition column, sql/0060) by branch and id; kept by a trigger on records';

-- Filled before row-level security is forced: no policy exists yet, and an owner that does not
-- bypass row-level security could not write it afterwards.
insert into huifang.record_keys (branch_id, id, created_at, hq_department_id, executor_department_id)
select branch_id, id, created_at, hq_department_id, executor_department_id from huifang.records;

-- HQ names a record by its id alone: the API's record ids name no branch.
create index record_keys_by_id on huifang.record_keys (id) include (created_at);

alter table huifang.record_keys enable row level security;
alter table huifang.record_keys force row level security;
grant select on huifang.record_keys to huifang_app;
