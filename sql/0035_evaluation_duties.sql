-- Art 16: the Brokerage Ops Center, Risk Control HQ and S&T HQ each evaluate every branch at
-- least once per calendar year. One duty per department, branch and year, each with a clock due at
-- 24:00 of the year's last working day (sql/definitions/85_evaluations.sql opens them and stops
-- them when an evaluation of that year closes).

create table huifang.evaluation_duties (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    department_id integer not null references huifang.departments,
    year integer not null check (year between 2000 and 2100),
    created_at timestamptz not null default now(),
    primary key (branch_id, id),
    unique (branch_id, department_id, year)
);
comment on table huifang.evaluation_duties is
    'Art 16: each evaluating HQ department owes every branch an evaluation per calendar year; one clock each';

alter table huifang.evaluation_duties enable row level security;
alter table huifang.evaluation_duties force row level security;
grant select on huifang.evaluation_duties to huifang_app;

-- A year's duty clock counts the whole year's working days (about 250).
alter table huifang.timers drop constraint timers_workdays_check;
alter table huifang.timers add constraint timers_workdays_check check (workdays between 1 and 400);
