-- Closed problems by deadline: `GET /problems?state=closed` had no walk (a closed problem's clock has
-- stopped, and only running clocks and those stopped late were keyed), so HQ's and the auditor's
-- lists sorted every problem clock (130–230 ms on the national set), and a department's list read
-- every closed one to find its own. With the running clocks' keys (timers_open_problem_loops,
-- timers_held_open_by_deadline) they also walk the list of every problem, open and closed. They cover
-- what the read policy looks at, so a walk does not visit the table for rows it skips.
create index timers_closed_problem_loops on huifang.timers (due_at, branch_id, subject_id)
    include (subject_kind, clock, department_id)
    where subject_kind = 'problem' and clock = 'problem_loop' and stopped_at is not null;
create index timers_closed_problem_loops_by_department on huifang.timers (department_id, due_at, branch_id, subject_id)
    include (subject_kind, clock)
    where subject_kind = 'problem' and clock = 'problem_loop' and stopped_at is not null;

-- A branch's problems by deadline, open and closed: the keys above lead with the deadline, so a
-- branch's walk of them skipped every other branch's clocks (a small branch read the whole key).
create index timers_open_problem_loops_by_branch on huifang.timers (branch_id, due_at, subject_id)
    include (department_id, clock, stage_at)
    where subject_kind = 'problem' and stopped_at is null;
create index timers_closed_problem_loops_by_branch on huifang.timers (branch_id, due_at, subject_id)
    include (department_id, clock)
    where subject_kind = 'problem' and stopped_at is not null;

-- The problems a person raised (`GET /problems?queue=raised`): a handful among 100,000 open ones,
-- which a walk of every clock in deadline order skipped one by one (65–90 ms for HQ readers). By
-- branch and time too, with what the read policy looks at: the assessment by person counts each
-- person's problems of a month from it alone.
create index problems_by_raiser on huifang.problems (raised_by, branch_id, raised_at) include (department_id, id);
