-- A month's callbacks completed, records sent back and problems raised per branch and person, as
-- the assessment export (Art 19) counts them and huifang.recount_person_month_figures checks them:
-- each read by month as a range of its own time, so the planner reads only that month's rows, and
-- row-level security's checks run on those alone (its per-row subqueries on records would
-- otherwise run over the branch's whole history).

-- Covering, with the columns the read policies look at too, so the figures come from the index.
create index callback_tasks_completed_by_month on huifang.callback_tasks (branch_id, closed_at)
    include (closed_by, due_at, executor_department_id, owner_department_id) where state = 'completed';
create index record_signatures_returns_by_month on huifang.record_signatures (branch_id, signed_at)
    include (record_id) where step = 'return';
create index problems_by_raised on huifang.problems (branch_id, raised_at)
    include (raised_by, state, rejection_reason, id, department_id);

