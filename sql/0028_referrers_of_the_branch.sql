-- A client's referrer, and the staff member behind a broker, work for that client's or broker's
-- branch. A foreign key alone let a branch name another branch's staff member — one its row-level
-- security hides from it — and a missing id answered differently, so ids could be probed. The
-- refusal uses the foreign key's own SQLSTATE and constraint name: another branch's staff member
-- and a staff member who does not exist are the same answer, whatever path writes.

create function huifang.staff_serves_branch(p_staff_id bigint, p_branch_id integer) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
        select exists (select from huifang.staff s where s.id = p_staff_id and s.home_branch_id = p_branch_id)
            or exists (select from huifang.role_grants g
                       where g.staff_id = p_staff_id and g.branch_id = p_branch_id and g.revoked_at is null)
    $$;

comment on function huifang.staff_serves_branch(bigint, integer) is
    'Whether a staff member belongs to a branch (home branch, or an active role there): who may refer its clients or stand behind its brokers';

create function huifang.refuse_staff_of_another_branch() returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $$
declare
    staff_column constant text := tg_argv[0];
    staff_id bigint := (to_jsonb(new) ->> staff_column)::bigint;
begin
    if not huifang.staff_serves_branch(staff_id, new.branch_id) then
        raise foreign_key_violation using
            message = format('insert or update on table "%s" violates foreign key constraint "%s_%s_fkey"',
                             tg_table_name, tg_table_name, staff_column),
            detail = format('Key (%s)=(%s) is not present in table "staff".', staff_column, staff_id),
            constraint = format('%s_%s_fkey', tg_table_name, staff_column),
            table = tg_table_name, schema = tg_table_schema;
    end if;
    return new;
end
$$;

create trigger clients_referrer_of_the_branch
    before insert or update of referrer_staff_id, branch_id on huifang.clients
    for each row when (new.referrer_staff_id is not null)
    execute function huifang.refuse_staff_of_another_branch('referrer_staff_id');

create trigger brokers_staff_of_the_branch
    before insert or update of staff_id, branch_id on huifang.brokers
    for each row when (new.staff_id is not null)
    execute function huifang.refuse_staff_of_another_branch('staff_id');

revoke all on function huifang.staff_serves_branch(bigint, integer) from public;
grant execute on function huifang.staff_serves_branch(bigint, integer) to huifang_app;
