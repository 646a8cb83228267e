-- Extends a national set (`huifang demo --records …`, history of 2021–2025 without tasks) to ten
-- years, as docs/performance.md measured it: 2.5 copies of each history record five years back and
-- 1.5 in its own year, each moved back by up to 120 days, with their signatures, and 20,000 audit
-- events a month from 2016. Written with the triggers off, as the demo writes history: the copies
-- count in no kept figure, and the audit events are no verifiable chain (their seq starts at 10^7).
-- For measurement only, on a scratch copy; about 11 minutes on a 2-core machine.
--
--   psql -h DATA_DIR -U postgres huifang -v ON_ERROR_STOP=1 -f scripts/ten-years.sql
\timing on
set session_replication_role = replica;
set synchronous_commit = off;
set maintenance_work_mem = '512MB';
select huifang.create_record_partitions('2016-01-01', '2016-12-31');
create unlogged table ten_year_copies as
select r.id as source_id, k, r.id + k * 2000000 as new_id,
       greatest(timestamptz '2016-01-01 00:00+00',
                r.created_at - case when k in (1, 2, 4) then interval '5 years' else interval '0' end
                             - make_interval(days => (abs(hashint8(r.id * 8 + k)) % 120)::int)) - r.created_at as delta
from huifang.records r
cross join generate_series(1, 5) k
where r.task_id is null and r.created_at < '2026-01-01'
  and (k <= 3 or (k = 4 and abs(hashint8(r.id)) % 2 = 1) or (k = 5 and abs(hashint8(r.id)) % 2 = 0));
insert into huifang.records (branch_id, id, form_code, form_version, revision, amends_id, amendment_reason, task_id, client_id, broker_id,
    directive_id, performer_staff_id, leader_role, archiver_role, hq_department_id, executor_department_id, answers, profile_form_code,
    profile_form_version, profile_answers, state, return_reason, created_at, updated_at, submitted_at, countersigned_at, countersigned_by,
    archived_at, archived_by, upload_id, amends_created_at)
overriding system value
select r.branch_id, c.new_id, r.form_code, r.form_version, r.revision, r.amends_id, r.amendment_reason, r.task_id, r.client_id, r.broker_id,
    r.directive_id, r.performer_staff_id, r.leader_role, r.archiver_role, r.hq_department_id, r.executor_department_id, r.answers,
    r.profile_form_code, r.profile_form_version, r.profile_answers, r.state, r.return_reason, r.created_at + c.delta, r.updated_at + c.delta,
    r.submitted_at + c.delta, r.countersigned_at + c.delta, r.countersigned_by, r.archived_at + c.delta, r.archived_by, r.upload_id,
    r.amends_created_at
from ten_year_copies c join huifang.records r on r.id = c.source_id and r.created_at < '2026-01-01'
order by r.created_at + c.delta;
-- The copies' keys (sql/0072): the replica role kept the records' trigger from writing them.
insert into huifang.record_keys (branch_id, id, created_at, hq_department_id, executor_department_id)
select r.branch_id, c.new_id, r.created_at + c.delta, r.hq_department_id, r.executor_department_id
from ten_year_copies c join huifang.records r on r.id = c.source_id and r.created_at < '2026-01-01';
insert into huifang.record_signatures (branch_id, id, record_id, step, signer_staff_id, signer_role, signed_at, content_sha256, record_created_at)
overriding system value
select g.branch_id, g.id + c.k * 4000000, c.new_id, g.step, g.signer_staff_id, g.signer_role, g.signed_at + c.delta, g.content_sha256,
       g.record_created_at + c.delta
from ten_year_copies c join huifang.record_signatures g on g.record_id = c.source_id;
select setval(pg_get_serial_sequence('huifang.records', 'id'), (select max(id) from huifang.records));
select setval(pg_get_serial_sequence('huifang.record_signatures', 'id'), (select max(id) from huifang.record_signatures));
drop table ten_year_copies;

select huifang.create_history_partitions(0, '2016-01-01');
create temporary table branch_actor as
select distinct on (g.branch_id) g.branch_id, g.staff_id from huifang.role_grants g
where g.branch_id is not null and g.revoked_at is null order by g.branch_id, g.staff_id;
insert into huifang.audit_events (at, actor_staff_id, branch_id, action, object_type, object_id, detail, chain, seq, hash)
select m + make_interval(secs => (i * 2591.0 / 20000.0 * 1000)::int / 1000.0),
       a.staff_id, a.branch_id, 'record.submit', 'record', (i * 7919 % 5000000)::text, '{}'::jsonb,
       a.branch_id, 10000000 + (extract(epoch from m)::bigint / 60) * 100 + i / 350, sha256(int8send(i::bigint + extract(epoch from m)::bigint))
from generate_series(timestamptz '2016-01-01 00:00+00', timestamptz '2026-11-01 00:00+00', interval '1 month') m
cross join generate_series(0, 19999) i
join branch_actor a on a.branch_id = 1 + (i % (select count(*) from huifang.branches))::int;
vacuum (analyze) huifang.records, huifang.record_signatures, huifang.audit_events;
select tableoid::regclass, count(*) from huifang.records group by 1 order by 1;
