-- Years of history (issue 22): the monthly partitions of audit_events and sla_events (0055).

-- ══ functions ══

-- Creates the UTC months from `p_from` (default: this month) to `p_months_ahead` months ahead that
-- have no partition yet; returns how many it created. The workers call it every round, so a month
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
    return created;
end
$$;
revoke execute on function huifang.create_history_partitions(integer, date) from public;
grant execute on function huifang.create_history_partitions(integer, date) to huifang_app;
