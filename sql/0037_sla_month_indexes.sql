-- A month's SLA figures (issue 18) count the clocks that stopped in the month and those still open
-- whose deadline passed in it, no longer what started in it. Both are one range of this index per
-- branch and kind: a clock falls in the month of its stop or, while it runs, of its deadline (the
-- query leaves out those not yet due). A CASE, not coalesce: under row-level security only a
-- leakproof expression may bound an index scan, and PostgreSQL counts a CASE of columns as one, a
-- coalesce not. Covering, with what the read policies look at too (kind, subject, holder), so the
-- figures come from the index alone. It replaces 0019's indexes by start month, which nothing reads
-- any more.
create index timers_sla_by_month on huifang.timers
    (branch_id, subject_kind, (case when stopped_at is null then due_at else stopped_at end))
    include (department_id, due_at, stopped_at, stopped_workdays, stop_reason, subject_id)
    where subject_kind in ('problem', 'problem_forwarding');

drop index huifang.timers_answered_forwardings;
drop index huifang.timers_closed_problems;
