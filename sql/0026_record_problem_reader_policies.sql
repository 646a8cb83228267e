-- What HQ and functional departments read of records, signatures and problems, as function calls
-- (as 0022 and 0024 did for clocks and uploads). Each policy's subquery went into every request's
-- plan on these tables, a branch reader's too, whose executor set them all up for nothing: most of
-- what row-level security cost a branch's people figures. Who sees what is unchanged:
--   records:     an upload delivered to the department, or special feedback addressed to it, carries it;
--   signatures:  follow their record (its branch, every branch for HQ readers, or the department's
--                own callbacks, or the record delivered to it);
--   problems:    forwarded to the department.

create function huifang.department_received_record(p_branch integer, p_upload bigint, p_record bigint) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.record_upload_deliveries d
                       where d.branch_id = p_branch and d.upload_id = p_upload and p_record = any (d.record_ids)
                         and d.department_id = any (huifang.scope_department_ids()))
            or exists (select from huifang.directive_feedback f
                       where f.branch_id = p_branch and p_record = any (f.record_ids)
                         and f.department_id = any (huifang.scope_department_ids()))
    $$;

create function huifang.department_sees_record(p_branch integer, p_record bigint) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.records r
                       where r.branch_id = p_branch and r.id = p_record
                         and (r.hq_department_id = any (huifang.scope_department_ids())
                              or r.executor_department_id = any (huifang.scope_department_ids())
                              or huifang.department_received_record(r.branch_id, r.upload_id, r.id)))
    $$;

create function huifang.problem_forwarded_to_department(p_branch integer, p_problem bigint) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.problem_forwardings f
                       where f.branch_id = p_branch and f.problem_id = p_problem
                         and f.department_id = any (huifang.scope_department_ids()))
    $$;

-- Evaluated after every cheaper condition of a query.
alter function huifang.department_received_record(integer, bigint, bigint) cost 1000;
alter function huifang.department_sees_record(integer, bigint) cost 1000;
alter function huifang.problem_forwarded_to_department(integer, bigint) cost 1000;

drop policy read_delivered on huifang.records;
create policy read_delivered on huifang.records for select to huifang_app
    using (cardinality((select huifang.scope_department_ids())) > 0
           and huifang.department_received_record(branch_id, upload_id, id));

drop policy follows_record on huifang.record_signatures;
create policy follows_record on huifang.record_signatures for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or (cardinality((select huifang.scope_department_ids())) > 0 and huifang.department_sees_record(branch_id, record_id)));

drop policy read_scoped on huifang.problems;
create policy read_scoped on huifang.problems for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or department_id = any ((select huifang.scope_department_ids())::integer[])
           or (cardinality((select huifang.scope_department_ids())) > 0 and huifang.problem_forwarded_to_department(branch_id, id)));

revoke execute on function huifang.department_received_record(integer, bigint, bigint), huifang.department_sees_record(integer, bigint),
    huifang.problem_forwarded_to_department(integer, bigint) from public;
grant execute on function huifang.department_received_record(integer, bigint, bigint), huifang.department_sees_record(integer, bigint),
    huifang.problem_forwarded_to_department(integer, bigint) to huifang_app;
