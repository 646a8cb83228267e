-- Years of history (issue 22): the monthly partitions of audit_events and sla_events (0055) and
-- the yearly ones of records (0060).

-- ══ functions ══

-- Creates the UTC months from `p_from` (default: this month) to `p_months_ahead` months ahead that
-- have no partition yet, and the UTC years of records from `p_from`'s year to next year (or the
-- year the last month falls in, if later); returns how many it created. The workers call it every round, so a month
-- exists before its first row. Security definer: the partitions belong to the owner, and the
-- request role gets no privilege on them (it reads through the parent, under its policies). Only
-- the engine's scope (huifang.system) may call it as huifang_app.
--
-- A month whose rows already went to the default partition (the workers were down for months) is
-- left to the default, with a warning: moving rows out of the append-only trail is not this
-- function's to do.
create or replace function huifang.create_history_partitions(p_months_ahead integer, p_from date default null) returns integer
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    parent text;
    month timestamp;
    name text;
    created integer := 0;
begin
    if session_user::text = 'huifang_app' and not huifang.scope_system() then
        raise exception 'only the workers create partitions' using errcode = '42501';
    end if;
    foreach parent in array array['audit_events', 'sla_events'] loop
        month := date_trunc('month', coalesce(p_from::timestamp, now() at time zone 'UTC'));
        while month < date_trunc('month', now() at time zone 'UTC') + make_interval(months => p_months_ahead + 1) loop
            name := parent || '_' || to_char(month, 'YYYY_MM');
            if to_regclass('huifang.' || name) is null then
                begin
                    execute format(
                        'create table huifang.%I partition of huifang.%I for values from (%L) to (%L)',
                        name, parent, month || '+00', (month + interval '1 month') || '+00');
                    created := created + 1;
                exception when check_violation then
                    raise warning 'huifang.%: rows of % are in the default partition; the month keeps them there', parent, to_char(month, 'YYYY-MM');
                end;
            end if;
            month := month + interval '1 month';
        end loop;
    end loop;
    return created + huifang.create_record_partitions(p_from, (month - interval '1 month')::date);
end
$$;
revoke execute on function huifang.create_history_partitions(integer, date) from public;
grant execute on function huifang.create_history_partitions(integer, date) to huifang_app;

-- Creates the UTC years of records from `p_from`'s (default: this year) to next year's, or to
-- `p_until`'s if later, that have no partition yet; returns how many it created. A year whose rows
-- already went to the default partition is left there, with a warning. Called by
-- create_history_partitions, and by whoever loads records of earlier years (the demo's history).
create or replace function huifang.create_record_partitions(p_from date default null, p_until date default null) returns integer
    language plpgsql security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    year timestamp;
    name text;
    ix record;
    created integer := 0;
begin
    if session_user::text = 'huifang_app' and not huifang.scope_system() then
        raise exception 'only the workers create partitions' using errcode = '42501';
    end if;
    year := date_trunc('year', coalesce(p_from::timestamp, now() at time zone 'UTC'));
    while year <= greatest(date_trunc('year', now() at time zone 'UTC') + interval '1 year', date_trunc('year', p_until::timestamp)) loop
        name := 'records_' || to_char(year, 'YYYY');
        if to_regclass('huifang.' || name) is null then
            begin
                execute format('create table huifang.%I partition of huifang.records for values from (%L) to (%L)',
                               name, year || '+00', (year + interval '1 year') || '+00');
                -- Its indexes are named after the parent's, with the year (as 0060 named the first ones).
                for ix in
                    select c.relname as child, p.relname as parent
                    from pg_index x
                    join pg_class c on c.oid = x.indexrelid
                    join pg_inherits i on i.inhrelid = c.oid
                    join pg_class p on p.oid = i.inhparent
                    where x.indrelid = ('huifang.' || name)::regclass
                loop
                    execute format('alter index huifang.%I rename to %I', ix.child, ix.parent || '_' || to_char(year, 'YYYY'));
                end loop;
                created := created + 1;
            exception when check_violation then
                raise warning 'huifang.records: rows of % are in the default partition; the year keeps them there', to_char(year, 'YYYY');
            end;
        end if;
        year := year + interval '1 year';
    end loop;
    return created;
end
$$;
revoke execute on function huifang.create_record_partitions(date, date) from public;
grant execute on function huifang.create_record_partitions(date, date) to huifang_app;
