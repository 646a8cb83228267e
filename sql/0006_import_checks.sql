-- Checks for text from CSV imports, so a whole file is validated in one set-based pass and a bad
-- value is reported by line and column instead of aborting the statement with a cast error.
-- Written as inlinable SQL with cheap paths first: they run once per value of million-row files.

create function huifang.is_iso_date(t text) returns boolean
    language sql immutable parallel safe
    as $$
        select case
            when t !~ '^[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$' then false
            when substr(t, 6, 2)::int not between 1 and 12 then false
            when substr(t, 9, 2)::int between 1 and 28 then true
            else substr(t, 9, 2)::int between 1 and extract(day from
                     make_date(substr(t, 1, 4)::int, substr(t, 6, 2)::int, 1) + interval '1 month - 1 day')::int
        end
    $$;

comment on function huifang.is_iso_date(text) is 'Whether t is a real calendar date written YYYY-MM-DD';

-- YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][Z|±HH[:MM]]; without an offset the importing session's time
-- zone applies (Asia/Shanghai for imports).
create function huifang.is_iso_timestamp(t text) returns boolean
    language sql immutable parallel safe
    as $$
        select case
            when length(t) > 35
                or t !~ '^[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]([ T][0-9][0-9]:[0-9][0-9](:[0-9][0-9](\.[0-9]+)?)?)?(Z|[+-][0-9][0-9](:?[0-9][0-9])?)?$'
                then false
            when substr(t, 6, 2)::int not between 1 and 12 then false
            when substr(t, 9, 2)::int not between 1 and 28 and not huifang.is_iso_date(substr(t, 1, 10)) then false
            when length(t) = 10 then true
            when substr(t, 12, 2)::int > 23 or substr(t, 15, 2)::int > 59 then false
            when substr(t, 17, 1) = ':' and substr(t, 18, 2)::int > 59 then false
            when strpos(substr(t, 11), '+') = 0 and strpos(substr(t, 11), '-') = 0 then true
            else (regexp_match(substr(t, 11), '[+-]([0-9][0-9])(:?[0-9][0-9])?$'))[1]::int <= 15
        end
    $$;

comment on function huifang.is_iso_timestamp(text) is 'Whether t is an ISO 8601 date or date-time that casts to timestamptz';
