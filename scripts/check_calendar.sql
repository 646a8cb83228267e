-- Assertions on the working-day calendars of sql/0002_calendars.sql.
-- Run against a migrated database:  psql -v ON_ERROR_STOP=1 -f scripts/check_calendar.sql
-- Any failed assertion stops the script with an error; success prints "calendar checks passed".

\set ON_ERROR_STOP 1

do $$
declare
    c text;
    msg text;
begin
    -- Shape of the stored data.
    assert (select count(*) from huifang.calendar_days where calendar = 'cn_workday') = date '2030-12-31' - date '2004-01-01' + 1;
    assert (select count(*) from huifang.calendar_days where calendar = 'sse_trading') = date '2030-12-31' - date '2004-01-01' + 1;
    assert (select count(*) from huifang.calendar_years where status = 'official') = 2 * 23;
    assert (select count(*) from huifang.calendar_years where status = 'provisional') = 2 * 4;
    assert not exists (select from huifang.calendar_days where is_workday and ordinal is null);
    assert (select max(ordinal) from huifang.calendar_days where calendar = 'cn_workday')
         = (select count(*) from huifang.calendar_days where calendar = 'cn_workday' and is_workday);
    assert to_regclass('huifang.calendar_import') is null;  -- staging table dropped

    -- Working days per year: 2026 has 261 weekdays, 19 of them holidays, and 6 make-up weekend days.
    assert huifang.workdays_between('cn_workday', '2025-12-31', '2026-12-31') = 248;
    assert huifang.workdays_between('sse_trading', '2025-12-31', '2026-12-31') = 242;

    -- 2026 holidays and make-up days (State Council notice).
    assert (select count(*) from huifang.calendar_days where calendar = 'cn_workday' and not is_workday and note is not null
            and day in (select generate_series(date '2026-01-01', date '2026-01-03', '1 day')::date
                        union all select generate_series(date '2026-02-15', date '2026-02-23', '1 day')::date
                        union all select generate_series(date '2026-04-04', date '2026-04-06', '1 day')::date
                        union all select generate_series(date '2026-05-01', date '2026-05-05', '1 day')::date
                        union all select generate_series(date '2026-06-19', date '2026-06-21', '1 day')::date
                        union all select generate_series(date '2026-09-25', date '2026-09-27', '1 day')::date
                        union all select generate_series(date '2026-10-01', date '2026-10-07', '1 day')::date)) = 33;
    assert (select array_agg(day order by day) from huifang.calendar_days
            where calendar = 'cn_workday' and is_workday and extract(isodow from day) >= 6 and day between '2026-01-01' and '2026-12-31')
         = array[date '2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'];
    assert not exists (select from huifang.calendar_days
            where calendar = 'sse_trading' and is_workday and extract(isodow from day) >= 6);

    -- National Day 2026: 1–7 Oct off, Sat 10 Oct worked (not traded).
    foreach c in array array['cn_workday', 'sse_trading'] loop
        for i in 1..7 loop
            assert not huifang.is_workday(c, make_date(2026, 10, i)), format('%s 2026-10-%s', c, i);
        end loop;
        assert huifang.is_workday(c, '2026-10-08');
        assert huifang.is_workday(c, '2026-09-30');
    end loop;
    assert huifang.is_workday('cn_workday', '2026-10-10');
    assert not huifang.is_workday('sse_trading', '2026-10-10');
    assert (select note from huifang.calendar_days where calendar = 'cn_workday' and day = '2026-10-03') = 'National Day 国庆节';
    assert (select note from huifang.calendar_days where calendar = 'cn_workday' and day = '2026-10-10')
         = 'make-up workday 调休 (National Day 国庆节)';
    assert huifang.add_workdays('cn_workday', '2026-09-30', 1) = '2026-10-08';
    assert huifang.add_workdays('cn_workday', '2026-09-30', 3) = '2026-10-10';
    assert huifang.add_workdays('cn_workday', '2026-09-30', 5) = '2026-10-13';
    assert huifang.add_workdays('sse_trading', '2026-09-30', 5) = '2026-10-14';

    -- Spring Festival 2026: 15–23 Feb off, Sat 14 Feb and Sat 28 Feb worked.
    assert not huifang.is_workday('cn_workday', '2026-02-15');
    assert not huifang.is_workday('cn_workday', '2026-02-23');
    assert huifang.is_workday('cn_workday', '2026-02-14');
    assert huifang.is_workday('cn_workday', '2026-02-28');
    assert not huifang.is_workday('sse_trading', '2026-02-14');
    assert huifang.add_workdays('cn_workday', '2026-02-13', 1) = '2026-02-14';
    assert huifang.add_workdays('cn_workday', '2026-02-14', 1) = '2026-02-24';
    assert huifang.add_workdays('sse_trading', '2026-02-13', 1) = '2026-02-24';
    assert huifang.workdays_between('cn_workday', '2026-02-13', '2026-02-28') = 6;
    assert huifang.workdays_between('sse_trading', '2026-02-13', '2026-02-28') = 4;
    assert (select note from huifang.calendar_days where calendar = 'sse_trading' and day = '2026-02-17') = 'Spring Festival 春节';

    -- A make-up Sunday: 4 Jan 2026 is worked but not traded.
    assert huifang.is_workday('cn_workday', '2026-01-04');
    assert not huifang.is_workday('sse_trading', '2026-01-04');

    -- Crossing the year boundary (1–3 Jan 2026 off).
    assert huifang.add_workdays('cn_workday', '2025-12-30', 1) = '2025-12-31';
    assert huifang.add_workdays('cn_workday', '2025-12-30', 2) = '2026-01-04';
    assert huifang.add_workdays('cn_workday', '2025-12-30', 3) = '2026-01-05';
    assert huifang.add_workdays('sse_trading', '2025-12-30', 2) = '2026-01-05';
    assert huifang.workdays_between('cn_workday', '2025-12-30', '2026-01-05') = 3;

    -- Counting from a holiday, and n = 0.
    assert huifang.add_workdays('cn_workday', '2026-10-03', 0) = '2026-10-08';
    assert huifang.add_workdays('cn_workday', '2026-10-03', 1) = '2026-10-08';
    assert huifang.add_workdays('cn_workday', '2026-10-03', 2) = '2026-10-09';
    assert huifang.add_workdays('cn_workday', '2026-09-30', 0) = '2026-09-30';
    assert huifang.add_workdays('cn_workday', '2004-01-01', 0) = '2004-01-02';  -- first stored day is a holiday

    -- Deadlines (end of the working day = 00:00 Asia/Shanghai of the next calendar day).
    -- Received Wed 30 Sep 16:00: day 1 = Thu 8 Oct, day 2 = Fri 9 Oct.
    assert huifang.workday_deadline('cn_workday', '2026-09-30 16:00+08', 2) = '2026-10-10 00:00+08';
    -- The Shanghai date counts, not the UTC one: 2026-09-30 17:00Z is 1 Oct 01:00 in Shanghai.
    assert huifang.workday_deadline('cn_workday', '2026-09-30 17:00Z', 2) = '2026-10-10 00:00+08';
    assert huifang.workday_deadline('cn_workday', '2026-09-29 15:59Z', 2) = '2026-10-09 00:00+08';
    -- A raise on Tue 29 Sep 2026 with 15 working days: end of Mon 26 Oct.
    assert huifang.add_workdays('cn_workday', '2026-09-29', 15) = '2026-10-26';
    assert huifang.workday_deadline('cn_workday', '2026-09-29 10:00+08', 15) = '2026-10-27 00:00+08';
    -- September's upload within the first 10 working days of October: end of Tue 20 Oct.
    assert huifang.add_workdays('cn_workday', '2026-09-30', 10) = '2026-10-20';
    assert huifang.workday_deadline('cn_workday', '2026-10-01 00:00+08', 10) = '2026-10-21 00:00+08';
    -- October's upload within the first 10 working days of November: end of Fri 13 Nov.
    assert huifang.add_workdays('cn_workday', '2026-10-31', 10) = '2026-11-13';

    -- workdays_between: (a, b], negative when b < a.
    assert huifang.workdays_between('cn_workday', '2026-09-30', '2026-10-13') = 5;
    assert huifang.workdays_between('cn_workday', '2026-10-13', '2026-09-30') = -5;
    assert huifang.workdays_between('cn_workday', '2026-10-13', '2026-10-13') = 0;
    assert huifang.workdays_between('cn_workday', '2026-10-01', '2026-10-07') = 0;
    assert huifang.workdays_between('cn_workday', '2026-10-03', '2026-10-08') = 1;

    -- Other years.
    assert huifang.is_workday('cn_workday', '2024-02-09');       -- 除夕 2024: official working day,
    assert not huifang.is_workday('sse_trading', '2024-02-09');  -- but the exchanges closed
    assert huifang.add_workdays('sse_trading', '2024-02-08', 1) = '2024-02-19';
    assert huifang.is_workday('cn_workday', '2019-09-29') and huifang.is_workday('cn_workday', '2019-10-12');
    assert huifang.add_workdays('cn_workday', '2019-09-30', 1) = '2019-10-08';
    assert huifang.add_workdays('cn_workday', '2020-01-23', 1) = '2020-02-03';  -- 2020 Spring Festival extended to 2 Feb
    assert not huifang.is_workday('cn_workday', '2015-09-03') and not huifang.is_workday('cn_workday', '2015-09-04');
    assert huifang.is_workday('cn_workday', '2015-09-06');
    assert (select note from huifang.calendar_days where calendar = 'cn_workday' and day = '2015-09-03')
         = 'Anti-Fascist War Victory Day 抗战胜利纪念日';

    -- Provisional years (2027–2030): Monday to Friday, flagged.
    assert not huifang.calendar_is_provisional('cn_workday', '2026-01-01', '2026-12-31');
    assert huifang.calendar_is_provisional('cn_workday', '2026-12-20', '2027-01-10');
    assert huifang.calendar_is_provisional('sse_trading', '2027-01-10', '2026-12-20');
    assert huifang.add_workdays('cn_workday', '2026-12-31', 1) = '2027-01-01';
    assert huifang.add_workdays('cn_workday', '2030-12-30', 1) = '2030-12-31';

    -- Errors: unknown calendar, dates or results outside the stored range, n < 0. Never NULL.
    begin
        perform huifang.add_workdays('nope', '2026-01-05', 1);
        raise exception 'no error for an unknown calendar';
    exception when sqlstate '22023' then
        get stacked diagnostics msg = message_text;
        assert msg like '%unknown calendar "nope"%', msg;
    end;
    begin
        perform huifang.is_workday('nope', '2026-01-05');
        raise exception 'no error for an unknown calendar';
    exception when sqlstate '22023' then null;
    end;
    begin
        perform huifang.is_workday('cn_workday', '2003-12-31');
        raise exception 'no error before the stored range';
    exception when sqlstate '22023' then
        get stacked diagnostics msg = message_text;
        assert msg like '%2003-12-31%2004-01-01 to 2030-12-31%', msg;
    end;
    begin
        perform huifang.add_workdays('sse_trading', '2031-01-01', 0);
        raise exception 'no error after the stored range';
    exception when sqlstate '22023' then null;
    end;
    begin
        perform huifang.add_workdays('cn_workday', '2030-12-30', 5);
        raise exception 'no error for a result after the stored range';
    exception when sqlstate '22023' then
        get stacked diagnostics msg = message_text;
        assert msg like '%2030-12-31%', msg;
    end;
    begin
        perform huifang.workday_deadline('cn_workday', '2030-12-31 12:00+08', 1);
        raise exception 'no error for a deadline after the stored range';
    exception when sqlstate '22023' then null;
    end;
    begin
        perform huifang.workdays_between('cn_workday', '2026-01-05', '2031-01-01');
        raise exception 'no error for workdays_between past the stored range';
    exception when sqlstate '22023' then null;
    end;
    begin
        perform huifang.workdays_between('nope', '2026-01-05', '2026-01-06');
        raise exception 'no error for workdays_between on an unknown calendar';
    exception when sqlstate '22023' then null;
    end;
    begin
        perform huifang.calendar_is_provisional('cn_workday', '2003-06-01', '2026-01-06');
        raise exception 'no error for calendar_is_provisional before the stored range';
    exception when sqlstate '22023' then null;
    end;
    begin
        perform huifang.calendar_is_provisional('nope', '2026-01-05', '2026-01-06');
        raise exception 'no error for calendar_is_provisional on an unknown calendar';
    exception when sqlstate '22023' then null;
    end;
    begin
        perform huifang.add_workdays('cn_workday', '2026-01-05', -1);
        raise exception 'no error for n < 0';
    exception when sqlstate '22023' then
        get stacked diagnostics msg = message_text;
        assert msg like '%n must be 0 or more%', msg;
    end;
    begin
        perform huifang.add_workdays('cn_workday', null, 1);
        raise exception 'no error for a null date';
    exception when sqlstate '22004' then null;
    end;

    -- The application role reads and calls, never writes.
    assert has_table_privilege('huifang_app', 'huifang.calendar_days', 'select');
    assert not has_table_privilege('huifang_app', 'huifang.calendar_days', 'insert');
    assert not has_table_privilege('huifang_app', 'huifang.calendar_years', 'update');
    assert not has_table_privilege('huifang_app', 'huifang.calendars', 'delete');
    assert has_function_privilege('huifang_app', 'huifang.add_workdays(text, date, int)', 'execute');
    assert has_function_privilege('huifang_app', 'huifang.workday_deadline(text, timestamptz, int)', 'execute');

    raise notice 'calendar checks passed';
end
$$;
