-- The problem lists people open every day (issue 23) are ordered by a deadline that lives on a
-- clock: a problem's 15-working-day loop, a forwarding's 2-day answer. Sorting every open problem of
-- a queue to show 50 of them cost 1.8 s for the Brokerage Ops Center's triage queue at national
-- scale. A problem's loop clock runs exactly while it is open, a forwarding's while it waits for its
-- answer, and each carries the department that holds it; so a page walks these indexes of running
-- clocks in deadline order instead, and a queue's breached and at-risk counts come from them alone.
-- They cover what the read policies look at (kind, subject, holder): no heap visit for those either.

-- An HQ department's open problems and a functional department's open forwardings, by deadline.
create index timers_held_open_by_deadline on huifang.timers (department_id, subject_kind, due_at, branch_id, subject_id)
    include (clock, stage_at)
    where stopped_at is null and subject_kind in ('problem', 'problem_forwarding');

-- Every branch's open problems, by deadline: the auditor's and HQ's national list and counts.
create index timers_open_problem_loops on huifang.timers (due_at, branch_id, subject_id)
    include (subject_kind, clock, department_id, stage_at)
    where stopped_at is null and subject_kind = 'problem';

-- A queue's counts by state, claimed or not, without visiting the table. It holds everything the
-- triage queue's older index did, and more (raised and returned problems, the assignee).
create index problems_open_by_department on huifang.problems (department_id, state)
    include (assignee_staff_id, branch_id, id)
    where state <> 'closed';
drop index huifang.problems_hq_queue;
