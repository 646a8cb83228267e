-- The overdue counts (`GET /monitoring/overdue`) summed every past day of open_clock_days: on the
-- national set 60,000 rows of branch × kind × day, 60–70 ms for HQ. A total of the open clocks per
-- branch and kind turns the past into the total less the days still to come (a few thousand rows),
-- and the oldest day into one probe of each branch's and kind's days.
--
-- Kept as rows added, not one row updated: the trigger on the timers appends each statement's change
-- (no writer waits for another, of any branch), and the scheduler's housekeeping folds them into
-- one row per branch and kind, counted again from open_clock_days (`huifang.recount_open_clock_totals`).
create table huifang.open_clock_totals (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    subject_kind text not null,
    open integer not null,
    primary key (branch_id, id)
);

comment on table huifang.open_clock_totals is
    'Open clocks per branch and kind: the sum of a branch''s and kind''s rows; appended by a trigger on timers, folded by the scheduler';

create index open_clock_totals_by_kind on huifang.open_clock_totals (branch_id, subject_kind) include (open);

alter table huifang.open_clock_totals enable row level security;
alter table huifang.open_clock_totals force row level security;
grant select on huifang.open_clock_totals to huifang_app;

-- Writers between this file and the definitions that keep the totals are caught by the next fold,
-- which counts from the days.
insert into huifang.open_clock_totals (branch_id, subject_kind, open)
select branch_id, subject_kind, sum(open)::int from huifang.open_clock_days group by 1, 2 having sum(open) <> 0;
