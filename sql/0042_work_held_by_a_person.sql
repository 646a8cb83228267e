-- Issue 19 A5: deactivating a staff member or revoking (changing) a role grant puts the work they may
-- no longer hold back in its queue, in the same transaction (huifang.release_work_of, run by triggers
-- on staff and role_grants in sql/definitions/20_scope.sql). These indexes find one person's open work
-- across branches without reading every branch's tasks, problems and forwardings: like the HQ queues
-- (problems_hq_queue), they lead with who holds the work, and stay small (open work only).
create index callback_tasks_held_by on huifang.callback_tasks (assignee_staff_id, branch_id, id)
    where state in ('assigned', 'in_progress');
create index problems_held_by on huifang.problems (assignee_staff_id, branch_id, id)
    where assignee_staff_id is not null and state <> 'closed';
create index problem_forwardings_acknowledged_by on huifang.problem_forwardings (acknowledged_by, branch_id, id)
    where state = 'acknowledged';
