-- Monitoring (Art 6, 16, 19): what is overdue or at risk is read from the clocks themselves. A
-- clock is open until it is stopped (a "done" clock has fired every stage and is still open).

create index timers_open_by_due on huifang.timers (branch_id, due_at) include (subject_kind, subject_id, clock)
    where stopped_at is null;
