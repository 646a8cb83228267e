-- Years of history (issue 22): callback records are partitioned by the UTC year of `created_at`.
--
-- By year, not by month: a branch's record lists (its newest records, by state, by performer) read
-- every partition whose rows they may need, so ten years must stay a merge of ten partitions, not of
-- 120. The primary key becomes (branch_id, id, created_at): PostgreSQL requires the partition column
-- in every unique key of a partitioned table, and branch_id still leads it and every index.
--
-- The five tables that point at a record (callback_tasks, record_signatures, record_findings,
-- problems, client_profiles) and the amendments (records.amends_id) carry the record's created_at
-- (`record_created_at`, `amends_created_at`), so each of their foreign keys stays a real one on the
-- whole key. A trigger of each table fills it from the record (sql/definitions/70_records.sql): no
-- writer names it. The two unique rules that cannot include created_at, one signed record per task
-- (records_once_per_task) and one signed amendment per revision (records_one_amendment), are
-- checked by the record's update trigger under a lock of the task or of the amended record, with
-- the same SQLSTATE and constraint name as the unique indexes had; the indexes stay, not unique.
--
-- One partition per UTC year from the oldest record to next year, and a default;
-- `huifang.create_history_partitions` (the workers) creates next year's ahead, and `huifang archive
-- --records-before` detaches a year nothing else points at any more.

-- Over the old row type; sql/definitions/70_records.sql defines them again over the new one.
drop function huifang.record_content_hash(huifang.records);
drop function huifang.holds_record_role(bigint, text, huifang.records);
drop function huifang.check_record_recusal(huifang.records, bigint);

-- The policies that read records name the old table: the definitions create them again.
do $$
declare
    p record;
begin
    for p in
        select distinct pol.polname, c.relname
        from pg_depend d
        join pg_policy pol on d.classid = 'pg_policy'::regclass and d.objid = pol.oid
        join pg_class c on c.oid = pol.polrelid
        where d.refobjid = 'huifang.records'::regclass and c.oid <> 'huifang.records'::regclass
    loop
        execute format('drop policy %I on huifang.%I', p.polname, p.relname);
    end loop;
end
$$;

-- The keys that point at records, by name, before the table is renamed under them.
do $$
declare
    k record;
begin
    for k in
        select conname, conrelid::regclass as tab from pg_constraint
        where contype = 'f' and confrelid = 'huifang.records'::regclass and conrelid <> 'huifang.records'::regclass
    loop
        execute format('alter table %s drop constraint %I', k.tab, k.conname);
    end loop;
end
$$;

alter table huifang.records add column amends_created_at timestamptz;
update huifang.records a set amends_created_at = r.created_at
from huifang.records r where a.amends_id is not null and r.branch_id = a.branch_id and r.id = a.amends_id;

alter table huifang.records rename to records_unpartitioned;

-- The same columns, defaults, checks (by name) and column comments.
create table huifang.records (
    like huifang.records_unpartitioned including defaults including identity including constraints including comments
) partition by range (created_at);

alter table huifang.records add check ((amends_id is null) = (amends_created_at is null));

do $$
declare
    oldest timestamptz;
    year timestamp;
begin
    select min(created_at) into oldest from huifang.records_unpartitioned;
    year := date_trunc('year', least(coalesce(oldest, now()), now()) at time zone 'UTC');
    while year < date_trunc('year', now() at time zone 'UTC') + interval '2 years' loop
        execute format('create table huifang.%I partition of huifang.records for values from (%L) to (%L)',
                       'records_' || to_char(year, 'YYYY'), year || '+00', (year + interval '1 year') || '+00');
        year := year + interval '1 year';
    end loop;
    create table huifang.records_default partition of huifang.records default;
end
$$;

insert into huifang.records overriding system value select * from huifang.records_unpartitioned;
select setval(pg_get_serial_sequence('huifang.records', 'id'),
              greatest((select max(id) from huifang.records), (select last_value from huifang.records_id_seq)) + 1, false);

-- The foreign keys of records itself, as they were (the amendment's gains amends_created_at).
do $$
declare
    k record;
begin
    for k in
        select conname, pg_get_constraintdef(oid) as def from pg_constraint
        where contype = 'f' and conrelid = 'huifang.records_unpartitioned'::regclass
          and confrelid <> 'huifang.records_unpartitioned'::regclass
    loop
        execute format('alter table huifang.records add constraint %I %s', k.conname, k.def);
    end loop;
end
$$;

drop table huifang.records_unpartitioned;
alter sequence huifang.records_id_seq1 rename to records_id_seq;

-- The names are free again: the same keys and indexes, with created_at in the unique ones.
alter table huifang.records add primary key (branch_id, id, created_at);
alter table huifang.records add constraint records_branch_id_amends_id_fkey
    foreign key (branch_id, amends_id, amends_created_at) references huifang.records (branch_id, id, created_at);
-- No longer unique (the record's update trigger keeps the rules); kept for the trigger's look-up and the plans.
create index records_once_per_task on huifang.records (branch_id, task_id)
    where task_id is not null and amends_id is null and state <> 'draft';
create index records_one_amendment on huifang.records (branch_id, amends_id) where amends_id is not null and state <> 'draft';
create index records_by_client on huifang.records (branch_id, client_id, created_at) where client_id is not null;
create index records_by_state on huifang.records (branch_id, state, created_at, id);
create index records_by_performer on huifang.records (branch_id, performer_staff_id, created_at);
create index records_to_upload on huifang.records (branch_id, countersigned_at)
    where upload_id is null and state in ('countersigned', 'archived');
create index records_by_directive on huifang.records (branch_id, directive_id) where directive_id is not null;
create index records_hq_work on huifang.records (hq_department_id, branch_id, id) where hq_department_id is not null;
create index records_by_upload on huifang.records (branch_id, upload_id) where upload_id is not null;
create index records_amendments on huifang.records (branch_id, amends_id, id) where amends_id is not null;
create index records_awaiting_branch_signature on huifang.records (branch_id, id) where state = 'submitted';
create index records_awaiting_hq_signature on huifang.records (hq_department_id, id)
    where state = 'submitted' and hq_department_id is not null;
create index records_executed_by on huifang.records (executor_department_id, id) where executor_department_id is not null;
create index records_routed_to on huifang.records (hq_department_id, id) where hq_department_id is not null;

-- Each partition's index is named after its parent's, with the year (records_by_state_2026): plans
-- name the partitions' indexes, and the plan tests look for the parent's name.
do $$
declare
    x record;
begin
    for x in
        select c.relname as child, p.relname as parent, t.relname as part
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        join pg_class p on p.oid = i.inhparent and p.relkind = 'I'
        join pg_index ix on ix.indexrelid = c.oid
        join pg_class t on t.oid = ix.indrelid
        where t.oid in (select inhrelid from pg_inherits where inhparent = 'huifang.records'::regclass)
    loop
        execute format('alter index huifang.%I rename to %I', x.child, x.parent || substr(x.part, length('records') + 1));
    end loop;
end
$$;

comment on table huifang.records is
    'Callback records (Art 5): answers on a form version, signed by the performer and a leader; partitioned by UTC year of created_at';
comment on column huifang.records.amends_created_at is 'The amended record''s created_at: its foreign key names the whole key';

alter table huifang.records enable row level security;
alter table huifang.records force row level security;
grant select on huifang.records to huifang_app;
grant insert (branch_id, form_code, form_version, amends_id, amendment_reason, task_id, client_id, answers,
              profile_form_code, profile_form_version, profile_answers)
    on huifang.records to huifang_app;
grant update (form_version, answers, profile_form_code, profile_form_version, profile_answers, state, return_reason)
    on huifang.records to huifang_app;

-- ══ what points at a record carries its created_at ══

do $$
declare
    t text;
begin
    foreach t in array array['callback_tasks', 'record_signatures', 'record_findings', 'problems', 'client_profiles'] loop
        execute format('alter table huifang.%I add column record_created_at timestamptz', t);
        -- Their triggers guard the rows' history (no update of a signature, a task's fixed columns…):
        -- this one fill is not such a change.
        execute format('alter table huifang.%I disable trigger user', t);
        execute format(
            'update huifang.%I x set record_created_at = r.created_at from huifang.records r '
            'where x.record_id is not null and r.branch_id = x.branch_id and r.id = x.record_id', t);
        execute format('alter table huifang.%I enable trigger user', t);
        execute format('comment on column huifang.%I.record_created_at is %L', t,
                       'The record''s created_at (filled from the record): the foreign key names the record''s whole key');
        if t in ('record_signatures', 'record_findings', 'client_profiles') then
            execute format('alter table huifang.%I alter column record_created_at set not null', t);
        else
            execute format('alter table huifang.%I add constraint %I check ((record_id is null) = (record_created_at is null))',
                           t, t || '_record_created_at');
        end if;
        execute format(
            'alter table huifang.%I add constraint %I foreign key (branch_id, record_id, record_created_at) '
            'references huifang.records (branch_id, id, created_at)', t, t || '_branch_id_record_id_fkey');
    end loop;
end
$$;
