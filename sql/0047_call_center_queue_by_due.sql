-- The call center's queue (`GET /tasks?queue=call_center`, every state unless one is asked for) is
-- ordered by due time across every branch. The executor index of 0009 holds open tasks only, so the
-- default queue read every callback task of the country: 1.5M rows to show 50 at national scale
-- (issue 23). This one holds them all, so a page walks it in due order.
create index callback_tasks_executed_by on huifang.callback_tasks (executor_department_id, due_at, branch_id, id)
    where executor_department_id is not null;
