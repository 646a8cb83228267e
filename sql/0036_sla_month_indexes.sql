-- A month's SLA figures (issue 18) count what stopped in the month and what is still open past a
-- deadline that passed in it, no longer what started in it. The stops come from this index, per
-- branch, kind and month of the stop; the open clocks from timers_open_by_due (0025). Covering,
-- with what the read policies look at too (kind, subject, holder), so the figures come from the
-- indexes alone. It replaces 0019's indexes by start month, which nothing reads any more.
create index timers_stopped_by_month on huifang.timers (branch_id, subject_kind, stopped_at)
    include (department_id, due_at, stopped_workdays, stop_reason, subject_id)
    where stopped_at is not null and subject_kind in ('problem', 'problem_forwarding');

drop index huifang.timers_answered_forwardings;
drop index huifang.timers_closed_problems;
