-- HQ's and the auditor's task lists read every branch in deadline order. They merged each
-- branch's first page, which meant 350 sorts of a branch's every task and 17,850 rows joined to
-- their clients for a page of 50: 1.9 s at national scale, and 1.0 s for `mine=true`, which
-- walked every branch's tasks for a person who holds none there (issue 23). A page now walks one
-- of these in order and stops at 51 (11 ms and 0.4 ms); the HQ-executed tasks of every branch
-- (`queue=call_center` read by someone outside the call center) walk their own.
create index callback_tasks_by_deadline on huifang.callback_tasks (due_at, branch_id, id);
create index callback_tasks_assigned_by_deadline on huifang.callback_tasks (assignee_staff_id, due_at, branch_id, id)
    where assignee_staff_id is not null;
create index callback_tasks_hq_executed_by_deadline on huifang.callback_tasks (due_at, branch_id, id)
    where executor_department_id is not null;
