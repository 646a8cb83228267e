-- HQ's and the auditor's task lists filtered by state walk every branch's tasks by deadline
-- (callback_tasks_by_deadline, 0049) and skip the others. On the national set, where 81 of 1.3 M
-- tasks are closed, `?state=closed` walked them all (660–710 ms); in a brokerage's tenth year,
-- where nearly every task is closed, `?state=open` would walk nine years of closed tasks before the
-- first open one. Each half now has its own walk.
create index callback_tasks_open_by_deadline on huifang.callback_tasks (due_at, branch_id, id)
    where state in ('open', 'assigned', 'in_progress');
create index callback_tasks_closed_by_deadline on huifang.callback_tasks (due_at, branch_id, id)
    where state in ('completed', 'unreachable', 'cancelled');
