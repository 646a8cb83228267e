-- The breached problems (`GET /problems?breached=true`, the auditor's list) are the loops still
-- running past their 15-day deadline, walked on timers_open_problem_loops, and those stopped after
-- it, which had no walk of their own: the list read every problem clock and sorted the breached half
-- (50,641 of 127,241 on the national set, 500 ms). A stopped clock stays stopped, so this set only grows.
create index timers_problem_loops_stopped_late on huifang.timers (due_at, branch_id, subject_id)
    where subject_kind = 'problem' and clock = 'problem_loop' and stopped_at > due_at;
