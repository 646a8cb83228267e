-- Monthly upload of countersigned records to head office (Art 15), routed to the receiving
-- departments, with the first-10-working-days clock.
-- Tables: record_uploads, record_upload_deliveries (0014, 0024).

-- ══ functions and the triggers that call them ══

create or replace function huifang.record_upload_deliveries_acknowledge() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if old.acknowledged_at is not null then
        raise exception 'this delivery was acknowledged already' using errcode = '55000', constraint = 'record_uploads_acknowledged';
    end if;
    if (new.branch_id, new.upload_id, new.department_id, new.content, new.record_ids)
       is distinct from (old.branch_id, old.upload_id, old.department_id, old.content, old.record_ids) then
        raise exception 'what was delivered never changes' using errcode = '55000';
    end if;
    new.acknowledged_at := now();
    new.acknowledged_by := huifang.scope_staff_id();
    return new;
end
$$;

create or replace trigger record_upload_deliveries_acknowledge
    before update on huifang.record_upload_deliveries
    for each row execute function huifang.record_upload_deliveries_acknowledge();

create or replace function huifang.month_upload_started_at(month text) returns timestamptz
    language sql immutable
    as $$ select ((to_date(month, 'YYYY-MM') + interval '1 month')::timestamp at time zone 'Asia/Shanghai') - interval '1 second' $$;
comment on function huifang.month_upload_started_at(text) is
    'The last instant of the month (Asia/Shanghai): its upload is due by the end of the 10th working day after';
grant execute on function huifang.month_upload_started_at(text) to huifang_app;

-- Opens the pending upload of `month` for every active branch, with its timer; idempotent.
create or replace function huifang.open_record_uploads(p_month text) returns integer
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    opened integer;
begin
    if p_month !~ '^\d{4}-(0[1-9]|1[0-2])$' then
        raise exception 'a month is YYYY-MM, not %', p_month using errcode = '22023';
    end if;
    if session_user::text = 'huifang_app' and not huifang.scope_system() then
        raise exception 'uploads are opened by the scheduler' using errcode = '42501';
    end if;
    if huifang.month_upload_started_at(p_month) > now() then
        raise exception 'the upload of % opens when the month has ended', p_month using errcode = '22023';
    end if;
    with opened_uploads as (
        insert into huifang.record_uploads (branch_id, month)
        select b.id, p_month from huifang.branches b where b.status = 'active'
        on conflict (branch_id, month) do nothing
        returning branch_id, id
    ), timers as (
        insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
        select u.branch_id, 'record_upload', u.id, 'upload_due', huifang.month_upload_started_at(p_month), 10,
               'Upload of ' || p_month || '''s callback records',
               jsonb_build_array(jsonb_build_object('role', 'ops_director', 'branchId', u.branch_id)),
               jsonb_build_array(jsonb_build_object('role', 'branch_manager', 'branchId', u.branch_id),
                                 jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                                     (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active')))
        from opened_uploads u
        returning 1
    )
    select count(*) into opened from timers;
    return opened;
end
$$;
revoke execute on function huifang.open_record_uploads(text) from public;
grant execute on function huifang.open_record_uploads(text) to huifang_app;

-- Submitting an upload: every countersigned record of the month or before not yet uploaded goes,
-- routed by kind; its clock stops.
create or replace function huifang.record_uploads_submit() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    month_end timestamptz := huifang.month_upload_started_at(new.month) + interval '1 second';
begin
    if old.state = 'submitted' then
        raise exception 'upload % was submitted already', old.id using errcode = '55000', constraint = 'record_uploads_submitted';
    end if;
    if not exists (select from huifang.role_grants g where g.staff_id = huifang.scope_staff_id() and g.branch_id = new.branch_id
                   and g.role = 'ops_director' and g.revoked_at is null) then
        raise exception 'the ops director submits the branch''s upload' using errcode = '42501', constraint = 'record_uploads_submitter';
    end if;
    new.submitted_by := huifang.scope_staff_id();
    new.submitted_at := now();
    update huifang.records r set upload_id = new.id
    where r.branch_id = new.branch_id and r.upload_id is null and r.state in ('countersigned', 'archived')
      and r.countersigned_at < month_end;
    get diagnostics new.record_count = row_count;
    return new;
end
$$;

create or replace trigger record_uploads_submit
    before update of state on huifang.record_uploads
    for each row when (new.state = 'submitted')
    execute function huifang.record_uploads_submit();

-- From 0014_records.sql.
create or replace function huifang.record_uploads_route() returns trigger
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
begin
    insert into huifang.record_upload_deliveries (branch_id, upload_id, department_id, content, record_ids)
    select new.branch_id, new.id, d.department_id, d.content,
           coalesce((select array_agg(r.id order by r.id) from huifang.records r
                     where r.branch_id = new.branch_id and r.upload_id = new.id
                       and (r.form_code = 'service') = (d.content = 'service')), '{}')
    from (select min(id) as department_id, kind from huifang.departments
          where status = 'active' and kind in ('brokerage_ops_center', 'risk_control', 'sales_trading') group by kind) dk
    cross join lateral (select dk.department_id, case dk.kind when 'sales_trading' then 'service' else 'compliance' end as content) d;
    perform huifang.stop_clock(new.branch_id, 'record_upload', new.id, 'upload submitted');
    return null;
end
$$;

create or replace trigger record_uploads_route
    after update of state on huifang.record_uploads
    for each row when (new.state = 'submitted' and old.state = 'pending')
    execute function huifang.record_uploads_route();

create or replace function huifang.department_received_upload(p_branch integer, p_upload bigint) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.record_upload_deliveries d
                       where d.branch_id = p_branch and d.upload_id = p_upload
                         and d.department_id = any (huifang.scope_department_ids()))
    $$
cost 1000;
revoke execute on function huifang.department_received_upload(integer,bigint) from public;
grant execute on function huifang.department_received_upload(integer,bigint) to huifang_app;

-- ══ row-level security: huifang.record_uploads ══

drop policy if exists owner_all on huifang.record_uploads;
create policy owner_all on huifang.record_uploads to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.record_uploads;
create policy read_scoped on huifang.record_uploads for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or (cardinality((select huifang.scope_department_ids())) > 0 and huifang.department_received_upload(branch_id, id)));

drop policy if exists submit_own on huifang.record_uploads;
create policy submit_own on huifang.record_uploads for update to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]))
    with check (branch_id = any ((select huifang.scope_branch_ids())::integer[]));

-- ══ row-level security: huifang.record_upload_deliveries ══

drop policy if exists owner_all on huifang.record_upload_deliveries;
create policy owner_all on huifang.record_upload_deliveries to current_user using (true) with check (true);

drop policy if exists read_scoped on huifang.record_upload_deliveries;
create policy read_scoped on huifang.record_upload_deliveries for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or department_id = any ((select huifang.scope_department_ids())::integer[]));

drop policy if exists acknowledge_own on huifang.record_upload_deliveries;
create policy acknowledge_own on huifang.record_upload_deliveries for update to huifang_app
    using (department_id = any ((select huifang.scope_department_ids())::integer[]))
    with check (department_id = any ((select huifang.scope_department_ids())::integer[]));
