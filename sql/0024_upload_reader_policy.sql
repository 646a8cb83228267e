-- The departments an upload was delivered to read it through one function call (as the clocks'
-- departments do since 0022), not through a subquery every request's plan on record_uploads carried.

create function huifang.department_received_upload(p_branch integer, p_upload bigint) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.record_upload_deliveries d
                       where d.branch_id = p_branch and d.upload_id = p_upload
                         and d.department_id = any (huifang.scope_department_ids()))
    $$;

alter function huifang.department_received_upload(integer, bigint) cost 1000;

drop policy read_scoped on huifang.record_uploads;
create policy read_scoped on huifang.record_uploads for select to huifang_app
    using (branch_id = any ((select huifang.scope_branch_ids())::integer[]) or (select huifang.scope_all_branches())
           or (cardinality((select huifang.scope_department_ids())) > 0 and huifang.department_received_upload(branch_id, id)));

revoke execute on function huifang.department_received_upload(integer, bigint) from public;
grant execute on function huifang.department_received_upload(integer, bigint) to huifang_app;
