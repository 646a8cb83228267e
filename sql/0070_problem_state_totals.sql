-- A problem queue's counts (`GET /problems/counts`) counted every open problem in reach by state:
-- 103,000 for the auditor and HQ's branch queue, 70,000 for the Ops Center's triage queue on the
-- national set, 70–100 ms. The open problems are now kept per branch, department, state and
-- holder, as rows a trigger on the problems appends (no writer waits for
-- another) and the scheduler folds into one per key, counted again from the problems
-- (`huifang.recount_problem_state_totals`), as open_clock_totals (0069) does for the clocks.
create table huifang.problem_state_totals (
    branch_id integer not null references huifang.branches,
    id bigint generated always as identity,
    department_id integer references huifang.departments,
    state text not null,
    assignee_staff_id bigint references huifang.staff,
    problems integer not null,
    primary key (branch_id, id)
);

comment on table huifang.problem_state_totals is
    'Open problems per branch, department, state and holder: the sum of a key''s rows; appended by a trigger on problems, folded by the scheduler';

-- A department's rows over every branch, for its triage queue's counts.
create index problem_state_totals_by_department on huifang.problem_state_totals (department_id, state) include (assignee_staff_id, problems);

alter table huifang.problem_state_totals enable row level security;
alter table huifang.problem_state_totals force row level security;
grant select on huifang.problem_state_totals to huifang_app;

-- Writers between this file and the definitions that keep the totals are caught by the next fold.
insert into huifang.problem_state_totals (branch_id, department_id, state, assignee_staff_id, problems)
select branch_id, department_id, state, assignee_staff_id, count(*)::int
from huifang.problems where state <> 'closed' group by 1, 2, 3, 4;
