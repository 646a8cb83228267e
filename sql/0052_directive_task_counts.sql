-- A directive's progress (its tasks by state, and how many are overdue) is shown on every
-- directive listed. It was counted from the tasks each time: a national directive's 155,084 tasks
-- for every list, 145–250 ms per page as a branch, S&T HQ or the auditor (issue 23). The states are
-- now kept per branch, directive and state by a trigger on the tasks, in the transaction that
-- moves them, like open_clock_days; the overdue figure depends on the hour, so it is counted from
-- the open tasks of the branches that have any, on an index of their deadlines.
create table huifang.directive_task_counts (
    branch_id integer not null references huifang.branches,
    directive_id bigint not null references huifang.directives,
    state text not null,
    tasks integer not null check (tasks >= 0),
    primary key (branch_id, directive_id, state)
);

comment on table huifang.directive_task_counts is
    'A directive''s callback tasks per branch and state; kept by triggers on callback_tasks';

-- A directive's rows over every branch, for HQ's list.
create index directive_task_counts_by_directive on huifang.directive_task_counts (directive_id, state);

alter table huifang.directive_task_counts enable row level security;
alter table huifang.directive_task_counts force row level security;
grant select on huifang.directive_task_counts to huifang_app;

insert into huifang.directive_task_counts (branch_id, directive_id, state, tasks)
select branch_id, directive_id, state, count(*)::int from huifang.callback_tasks
where directive_id is not null group by 1, 2, 3;

create index callback_tasks_directive_open_by_due on huifang.callback_tasks (branch_id, directive_id, due_at)
    where directive_id is not null and state in ('open', 'assigned', 'in_progress');
