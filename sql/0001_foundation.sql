-- Foundation: the schema every object lives in, and the role requests run as.
--
-- huifang_app owns nothing and cannot bypass row-level security; the owner (the role running
-- migrations) keeps every object. Roles are cluster-wide, so create it only once per cluster.
do $$
begin
    if not exists (select from pg_roles where rolname = 'huifang_app') then
        create role huifang_app login nosuperuser nocreatedb nocreaterole noinherit nobypassrls noreplication;
    end if;
end
$$;

comment on schema huifang is 'Huifang: client-callback compliance (回访)';

revoke all on schema huifang from public;
grant usage on schema huifang to huifang_app;

-- /health compares the applied migrations with the ones the running build ships.
grant select on huifang.schema_migrations to huifang_app;
