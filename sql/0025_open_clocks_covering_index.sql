-- A branch's open clocks in deadline order, covering what the overdue page picks by and what the
-- clocks' read policies look at (kind, subject, holder): HQ's page over every branch reads this
-- index alone and fetches the hundred clocks it shows, not every branch's first hundred.
create index timers_open_by_due_covering on huifang.timers (branch_id, due_at)
    include (id, subject_kind, subject_id, department_id) where stopped_at is null;
drop index huifang.timers_open_by_due;
alter index huifang.timers_open_by_due_covering rename to timers_open_by_due;
